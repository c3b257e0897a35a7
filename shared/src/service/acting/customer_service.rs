//! Customer-service messages sent as the account. An idempotency key makes a repeated request
//! return the first one's result instead of sending again: the key is claimed once, the result
//! kept under it for a day with a fingerprint of the message, and a request that finds the claim
//! but no result is still running. The same key with another message is refused, never answered
//! with the first message's result (a caller reusing keys would believe the second one sent).

use serde_json::{Value, json};

use super::{ActError, Caller, Unusable, checked_key, usable_media_id};
use crate::media::{Kind, is_handle};
use crate::message::CustomMessage;
use crate::service::records::{CustomSendResult, Record, SendRefused};
use crate::service::{Acting, ActingStore};
use crate::store::{AuthorizerRecord, MarkerKey, MediaStore};
use crate::wechat::ApiError;

/// How long a request's result is kept under its idempotency key.
pub const IDEMPOTENCY_SECS: i64 = 24 * 3600;

impl<S: ActingStore + MediaStore> Acting<'_, S> {
    /// Sends a customer-service message as the account; with `idempotency_key`, a repeated
    /// request (same caller, account and key) gets the first one's result and sends nothing.
    ///
    /// # Errors
    /// [`ActError`]; a replayed failure is the first one's.
    pub async fn send_custom_message(
        &self,
        caller: &Caller,
        appid: &str,
        request: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ActError> {
        let message = CustomMessage::from_request(request).map_err(ActError::Invalid)?;
        let record = self.account_for(caller, appid).await?;
        let Some(key) = idempotency_key else {
            return self.send_checked(caller, record, &message).await;
        };
        checked_key(key)?;
        let stored = MarkerKey::idempotency(appid, caller.key(), key);
        let fingerprint = fingerprint(&message);
        if let Some(first) = self.store.recall(&stored, self.now()).await? {
            return replay(&first, &fingerprint);
        }
        if !self
            .store
            .remember_once(&MarkerKey::idempotency_claim(appid, caller.key(), key), IDEMPOTENCY_SECS, self.now())
            .await?
        {
            // Claimed by another request: finished by now, or still running.
            return match self.store.recall(&stored, self.now()).await? {
                Some(first) => replay(&first, &fingerprint),
                None => Err(ActError::InProgress),
            };
        }
        // A caller over its limit leaves the claim with "failed" kept, so the key's retry is told
        // to use a new one.
        let result = self.send_checked(caller, record, &message).await;
        let mut kept = CustomSendResult { fingerprint: Some(fingerprint), ..CustomSendResult::default() };
        match &result {
            Ok(answer) => kept.ok = Some(answer.clone()),
            Err(ActError::Refused(err)) => {
                kept.refused = Some(SendRefused { errcode: err.errcode(), call: err.call().to_owned() });
            }
            Err(ActError::OutcomeUnknown) => kept.unknown = true,
            // Nothing reached WeChat: the claim stays, the caller may retry with a new key.
            Err(_) => kept.failed = true,
        }
        if let Err(err) = self.store.remember_value(&stored, &kept.to_json(), IDEMPOTENCY_SECS, self.now()).await {
            tracing::warn!(authorizer = %appid, error = %err, "idempotency result not kept: a repeat gets 409");
        }
        result
    }

    /// Sends a checked message, counted against the caller's sends first (a replay never gets
    /// here, so it spends nothing).
    async fn send_checked(
        &self,
        caller: &Caller,
        record: AuthorizerRecord,
        message: &CustomMessage,
    ) -> Result<Value, ActError> {
        let appid = record.authorizer_appid.clone();
        let message = &self.with_media_resolved(&appid, message.clone()).await?;
        self.spend(crate::service::SENDS, caller.key()).await?;
        self.with_account_token(
            record,
            true,
            |token| async move { self.wechat.send_custom(&token, message.body()).await },
        )
        .await?;
        tracing::info!(authorizer = %appid, msgtype = %message.msgtype, "customer-service message sent");
        Ok(json!({"sent": true, "msgtype": message.msgtype}))
    }
}

impl<S: ActingStore + MediaStore> Acting<'_, S> {
    /// `message` with each media field that names one of the platform's handles (instead of a
    /// WeChat `media_id`) replaced by the medium's current `media_id`.
    ///
    /// # Errors
    /// [`ActError::NoMedium`] not the account's; [`ActError::NotUploaded`] never completed;
    /// [`ActError::MediumExpired`] a temporary medium past its 3 days.
    async fn with_media_resolved(&self, appid: &str, mut message: CustomMessage) -> Result<CustomMessage, ActError> {
        for (field, value) in message.media_fields() {
            if !is_handle(&value) {
                continue;
            }
            let medium = self.store.medium(appid, &value).await?;
            let fits = fitting_kinds(&message.msgtype, field);
            let media_id = usable_media_id(medium.as_ref(), fits, self.now()).map_err(|why| match why {
                Unusable::Kind(kind) => {
                    let wanted: Vec<&str> = fits.iter().map(|k| k.as_str()).collect();
                    ActError::Invalid(format!(
                        "{}.{field}: a medium of type {kind}, where WeChat takes {}",
                        message.msgtype,
                        if wanted.is_empty() { "none of the platform's media".to_owned() } else { wanted.join(" or ") }
                    ))
                }
                other => other.into(),
            })?;
            if medium.is_some_and(|m| m.lifetime == crate::media::Lifetime::Temporary)
                && let Err(err) = self.store.medium_used(appid, &value, self.now()).await
            {
                // The send goes; the medium may just not be renewed for this use.
                tracing::warn!(authorizer = %appid, handle = %value, error = %err, "medium use not recorded");
            }
            message = message.with_media(field, &media_id);
        }
        Ok(message)
    }
}

/// The kinds of media WeChat takes in `msgtype`'s `field` (none: that field names something else,
/// an article or a card).
fn fitting_kinds(msgtype: &str, field: &str) -> &'static [Kind] {
    match (msgtype, field) {
        ("image", "media_id") => &[Kind::Image],
        ("voice", "media_id") => &[Kind::Voice],
        ("video", "media_id") => &[Kind::Video],
        (_, "thumb_media_id") => &[Kind::Thumb, Kind::Image],
        _ => &[],
    }
}

/// What identifies a message whatever the request's formatting: the SHA-1 of the body sent to
/// WeChat (rebuilt field by field from the request, so the same message has the same body).
fn fingerprint(message: &CustomMessage) -> String {
    crate::crypto::signature(&[&message.body().to_string()])
}

/// The first request's result, again, if the request is the first one's message.
fn replay(kept: &str, fingerprint: &str) -> Result<Value, ActError> {
    let kept = CustomSendResult::read(Some(kept)).unwrap_or_default();
    // Results kept before fingerprints were (a day at most) have none and replay as they did.
    if kept.fingerprint.is_some_and(|first| first != fingerprint) {
        return Err(ActError::KeyReused);
    }
    if let Some(answer) = kept.ok {
        return Ok(answer);
    }
    if let Some(refused) = kept.refused {
        let errcode = refused.errcode.unwrap_or(-1);
        return Err(ActError::Refused(ApiError::replayed("message/custom/send", errcode)));
    }
    if kept.unknown {
        return Err(ActError::OutcomeUnknown);
    }
    Err(ActError::Invalid(
        "a request with this Idempotency-Key failed before reaching WeChat; use a new key".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_request_gets_the_first_ones_result() {
        let replay = |kept: &str| replay(kept, "f1");
        assert_eq!(
            replay(r#"{"ok":{"sent":true,"msgtype":"text"},"message":"f1"}"#).unwrap(),
            json!({"sent": true, "msgtype": "text"})
        );
        match replay(r#"{"refused":{"errcode":45015,"call":"message/custom/send"}}"#) {
            Err(ActError::Refused(err)) => assert_eq!(err.errcode(), Some(45015)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(replay(r#"{"unknown":true,"message":"f1"}"#), Err(ActError::OutcomeUnknown)));
        // Nothing reached WeChat the first time, or the record is unreadable: a new key is needed.
        for kept in [r#"{"failed":true}"#, "not json"] {
            assert!(matches!(replay(kept), Err(ActError::Invalid(m)) if m.contains("use a new key")), "{kept}");
        }
    }

    #[test]
    fn the_same_key_with_another_message_is_refused_whatever_the_first_result() {
        for kept in [r#"{"ok":{"sent":true},"message":"f1"}"#, r#"{"unknown":true,"message":"f1"}"#] {
            assert!(matches!(replay(kept, "f2"), Err(ActError::KeyReused)), "{kept}");
        }
        let message = |content: &str| {
            CustomMessage::from_request(
                &json!({"touser": "o1", "msgtype": "text", "text": {"content": content}, "extra": 1}),
            )
            .unwrap()
        };
        assert_eq!(fingerprint(&message("a")), fingerprint(&message("a")));
        assert_ne!(fingerprint(&message("a")), fingerprint(&message("b")));
        // What WeChat does not read is not the message: fields in another order, unknown fields.
        let reordered =
            CustomMessage::from_request(&json!({"text": {"content": "a"}, "msgtype": "text", "touser": "o1"})).unwrap();
        assert_eq!(fingerprint(&reordered), fingerprint(&message("a")));
    }

    #[test]
    fn an_idempotency_key_is_1_to_128_characters() {
        assert!(checked_key("order-42").is_ok());
        assert!(checked_key(&"k".repeat(128)).is_ok());
        assert!(matches!(checked_key(""), Err(ActError::Invalid(_))));
        assert!(matches!(checked_key(&"k".repeat(129)), Err(ActError::Invalid(_))));
    }
}
