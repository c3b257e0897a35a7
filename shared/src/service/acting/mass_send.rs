//! Mass sends (群发) to the account's followers: everyone, a tag, or a list of OpenIDs, with an
//! article from the draft box (`mpnews`), a text, an image, a voice message or a video; and a
//! preview to one follower first. Every rule WeChat applies and the platform can know is checked
//! before anything leaves, the offending field named: the message's shape, the media (permanent
//! material of this account), the draft, the tag (this account's), the list (2 to 10,000), and
//! the account's mass-send allowance
//! (<https://developers.weixin.qq.com/doc/service/guide/product/message/Batch_Sends.html>):
//!
//! - a subscription account (订阅号) may mass send once a day;
//! - a service account's (服务号) followers each receive at most 4 a month, and a send to
//!   everyone reaches every follower, so a fifth send to everyone in a month would reach nobody:
//!   the platform refuses it. Sends to a tag or a list are let through (WeChat filters the
//!   followers over their four; `MASSSENDJOBFINISH`'s `filter_count` says how many remained).
//!
//! A send is never repeated by the platform: it needs an `Idempotency-Key`, made into WeChat's
//! `clientmsgid`; the same key again answers the first send (kept), and after a lost answer it
//! reaches WeChat, which refuses a `clientmsgid` it has seen within 24 hours (45065), so nobody
//! gets it twice. The budget is counted once per key, before WeChat is asked (a lost answer
//! still counts). The result arrives as `MASSSENDJOBFINISH`, kept by event-callback and on the
//! bus as `mp.event.masssendjobfinish`. If the account's admin switched on 群发保护, WeChat holds
//! the send until an admin confirms it within 30 minutes.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ActError, Caller, usable_media_id};
use crate::input::{self, Text};
use crate::media::{Kind, Lifetime, is_handle};
use crate::message::MAX_TEXT_CHARS;
use crate::service::records::{MassFinished, MassSent, Record};
use crate::service::{ActingStore, Publishing};
use crate::store::{FollowerStore, MarkerKey, MediaStore};

/// The permission set mass sends need.
const MASS_SETS: &[i64] = &[7];
const MASS_WHAT: &str = "群发与通知, mass sends and publishing";
/// OpenIDs in one `mass/send` (WeChat: 2 to 10,000).
pub const MAX_MASS_OPENIDS: usize = 10_000;
/// Sends to everyone a service account's followers may receive a month.
pub const SERVICE_SENDS_A_MONTH: u64 = 4;
/// Mass sends a subscription account may make a day.
pub const SUBSCRIPTION_SENDS_A_DAY: u64 = 1;
/// How long the platform keeps a mass send's records.
const MASS_RECORD_SECS: i64 = 30 * 24 * 3600;

/// Who a mass send is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every follower (`is_to_all`).
    All,
    /// The followers with a tag of the account.
    Tag(i64),
    /// These followers (2 to [`MAX_MASS_OPENIDS`]).
    OpenIds(Vec<String>),
}

/// What a mass send (or a preview) carries: WeChat's `msgtype` and its object, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassMessage {
    msgtype: String,
    /// The object (`{"media_id"}` or `{"content"}`), media handles not yet resolved.
    object: Map<String, Value>,
    ignore_reprint: bool,
}

impl MassMessage {
    /// A preview's body: the follower who gets it (`openid`) and the message.
    ///
    /// # Errors
    /// What is wrong, the field named.
    pub fn preview_from_value(body: &Value) -> Result<(String, Self), String> {
        let mut input: MassInput = input::from_value(body)?;
        let openid = input.openid.take().ok_or("openid is missing: the follower who gets the preview")?;
        Ok((openid.into_string(), Self::from_input(input)?))
    }

    /// The message of a body: `msgtype` and its object (`mpnews: {media_id}` of a draft,
    /// `text: {content}`, `image`/`voice`/`mpvideo: {media_id}`, a media handle or WeChat's id),
    /// and `send_ignore_reprint` for an article.
    fn from_input(input: MassInput) -> Result<Self, String> {
        let msgtype = input.msgtype.name();
        let bodies = [
            ("mpnews", input.mpnews.is_some()),
            ("text", input.text.is_some()),
            ("image", input.image.is_some()),
            ("voice", input.voice.is_some()),
            ("mpvideo", input.mpvideo.is_some()),
        ];
        if let Some((other, _)) = bodies.iter().find(|(body, present)| *present && *body != msgtype) {
            return Err(format!("{other}: not a field of a {msgtype} send"));
        }
        let object = match input.msgtype {
            MassType::Text => {
                let Some(Content { content }) = input.text else {
                    return Err("text is missing: {\"content\": …}".into());
                };
                if content.chars().count() > MAX_TEXT_CHARS {
                    return Err(format!("text.content is longer than {MAX_TEXT_CHARS} characters"));
                }
                one("content", content.into_string())
            }
            kind => {
                let media = match kind {
                    MassType::Mpnews => input.mpnews,
                    MassType::Image => input.image,
                    MassType::Voice => input.voice,
                    _ => input.mpvideo,
                };
                let Some(MediaRef { media_id }) = media else {
                    return Err(format!("{msgtype} is missing: {{\"media_id\": …}}"));
                };
                if !media_id.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(format!("{msgtype}.media_id: a media handle or WeChat's media_id"));
                }
                one("media_id", media_id.into_string())
            }
        };
        let ignore_reprint = match input.send_ignore_reprint {
            Some(_) if input.msgtype != MassType::Mpnews => {
                return Err("send_ignore_reprint: for an mpnews send only".into());
            }
            flag => flag.unwrap_or(false),
        };
        Ok(Self { msgtype: msgtype.to_owned(), object, ignore_reprint })
    }
}

/// `{name: value}`.
fn one(name: &str, value: String) -> Map<String, Value> {
    Map::from_iter([(name.to_owned(), Value::String(value))])
}

/// A mass send (or a preview) as a caller writes it: WeChat's `msgtype` and the object of that
/// name, with who it is for (`to`, a send) or the follower who previews it (`openid`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MassInput {
    #[serde(default, deserialize_with = "input::present")]
    to: Option<ToInput>,
    #[serde(default, deserialize_with = "input::present")]
    openid: Option<Text<128>>,
    msgtype: MassType,
    #[serde(default, deserialize_with = "input::present")]
    mpnews: Option<MediaRef>,
    #[serde(default, deserialize_with = "input::present")]
    text: Option<Content>,
    #[serde(default, deserialize_with = "input::present")]
    image: Option<MediaRef>,
    #[serde(default, deserialize_with = "input::present")]
    voice: Option<MediaRef>,
    #[serde(default, deserialize_with = "input::present")]
    mpvideo: Option<MediaRef>,
    #[serde(default, deserialize_with = "input::present")]
    send_ignore_reprint: Option<bool>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum MassType {
    Mpnews,
    Text,
    Image,
    Voice,
    Mpvideo,
}

impl MassType {
    fn name(self) -> &'static str {
        match self {
            Self::Mpnews => "mpnews",
            Self::Text => "text",
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Mpvideo => "mpvideo",
        }
    }
}

/// `{"media_id"}`: a draft's (`mpnews`), or a media handle or WeChat's id of permanent material.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaRef {
    media_id: Text<128>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Content {
    content: Text<0>,
}

/// `{"all": true}`, `{"tag_id": N}` or `{"openids": [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToInput {
    #[serde(default, deserialize_with = "input::present")]
    all: Option<bool>,
    #[serde(default, deserialize_with = "input::present")]
    tag_id: Option<i64>,
    #[serde(default, deserialize_with = "input::present")]
    openids: Option<Vec<Text<128>>>,
}

/// A mass send a caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassRequest {
    /// Who.
    pub to: Audience,
    /// What.
    pub message: MassMessage,
}

impl MassRequest {
    /// The request of a body: `to` (`{"all": true}`, `{"tag_id": N}` or `{"openids": [...]}`) and
    /// the message (as a preview's, [`MassMessage::preview_from_value`]).
    ///
    /// # Errors
    /// What is wrong, the field named.
    pub fn from_value(body: &Value) -> Result<Self, String> {
        let mut input: MassInput = input::from_value(body)?;
        if input.openid.is_some() {
            return Err("openid: not a field of a mass send (a preview's: …/broadcasts/preview)".into());
        }
        let Some(to) = input.to.take() else {
            return Err("to is missing: {\"all\": true}, {\"tag_id\": N} or {\"openids\": [...]}".into());
        };
        let to = match (to.all, to.tag_id, to.openids) {
            (Some(true), None, None) => Audience::All,
            (None, Some(tag), None) if tag >= 0 => Audience::Tag(tag),
            (None, Some(_), None) => return Err("to.tag_id: a tag id of the account".into()),
            (None, None, Some(list)) => {
                let mut openids: Vec<String> = list.into_iter().map(Text::into_string).collect();
                openids.sort();
                openids.dedup();
                if openids.len() < 2 || openids.len() > MAX_MASS_OPENIDS {
                    return Err(format!(
                        "to.openids: 2 to {MAX_MASS_OPENIDS} different OpenIDs (WeChat's rule; send one follower a customer-service message)"
                    ));
                }
                Audience::OpenIds(openids)
            }
            _ => return Err("to: exactly one of {\"all\": true}, {\"tag_id\": N}, {\"openids\": [...]}".into()),
        };
        Ok(Self { to, message: MassMessage::from_input(input)? })
    }

    /// What identifies the send whatever the request's formatting: the SHA-1 of its audience and
    /// message rebuilt field by field (keys sorted, OpenIDs sorted and distinct), so a key used
    /// again for another send is told apart from a retry.
    pub fn fingerprint(&self) -> String {
        let to = match &self.to {
            Audience::All => json!({"all": true}),
            Audience::Tag(tag) => json!({"tag_id": tag}),
            Audience::OpenIds(openids) => json!({"openids": openids}),
        };
        let message = &self.message;
        let canonical = json!({"to": to, "msgtype": message.msgtype, "object": message.object, "ignore_reprint": message.ignore_reprint});
        crate::crypto::signature(&[&canonical.to_string()])
    }
}

/// What a mass send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassOutcome {
    /// WeChat's `msg_id`.
    pub msg_id: String,
    /// WeChat's `msg_data_id`, for an article.
    pub msg_data_id: Option<String>,
    /// True when this key's send was made before (its first answer, given again).
    pub existing: bool,
}

impl<S: ActingStore + FollowerStore + MediaStore> Publishing<'_, S> {
    /// The message's object for WeChat: a media handle of the account's permanent material
    /// becomes its `media_id` (mass sends take permanent material), a draft is checked to exist.
    async fn mass_object(
        &self,
        appid: &str,
        record: &crate::store::AuthorizerRecord,
        message: &MassMessage,
    ) -> Result<Value, ActError> {
        let mut object = message.object.clone();
        let Some(media_id) = object.get("media_id").and_then(Value::as_str).map(str::to_owned) else {
            return Ok(Value::Object(object));
        };
        if message.msgtype == "mpnews" {
            // The draft must be there: 40007 now rather than after the day's send is counted.
            self.with_account_token(record.clone(), false, |token| {
                let media_id = media_id.clone();
                async move { self.wechat.draft(&token, &media_id).await }
            })
            .await
            .map_err(|err| match err {
                ActError::Refused(e) if e.errcode() == Some(40007) => {
                    ActError::Invalid("mpnews.media_id: no such draft in the account's draft box".into())
                }
                other => other,
            })?;
        } else if is_handle(&media_id) {
            let kind = match message.msgtype.as_str() {
                "image" => Kind::Image,
                "voice" => Kind::Voice,
                _ => Kind::Video,
            };
            let medium = self.store.medium(appid, &media_id).await?;
            if medium.as_ref().is_some_and(|m| m.lifetime != Lifetime::Permanent) {
                return Err(ActError::Invalid(format!(
                    "{}.media_id: a temporary medium; a mass send takes permanent material",
                    message.msgtype
                )));
            }
            let resolved = usable_media_id(medium.as_ref(), &[kind], self.now())?;
            object.insert("media_id".into(), json!(resolved));
        }
        Ok(Value::Object(object))
    }

    /// Sends `message` to one follower as a preview of a mass send (WeChat's `mass/preview`).
    ///
    /// # Errors
    /// The account's states; the message; WeChat's refusal (43004: not a follower).
    pub async fn mass_preview(
        &self,
        caller: &Caller,
        appid: &str,
        openid: &str,
        message: &MassMessage,
    ) -> Result<(), ActError> {
        if openid.is_empty() || openid.len() > 128 {
            return Err(ActError::Invalid("openid: the follower who gets the preview".into()));
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MASS_SETS, MASS_WHAT)?;
        let object = self.mass_object(appid, &record, message).await?;
        let body = json!({"touser": openid, "msgtype": message.msgtype, message.msgtype.as_str(): object});
        self.with_account_token(record, true, |token| {
            let body = &body;
            async move { self.wechat.mass_preview(&token, body).await }
        })
        .await?;
        tracing::info!(authorizer = %appid, msgtype = %message.msgtype, "mass send previewed");
        Ok(())
    }

    /// Sends a mass message under the caller's idempotency `key`.
    ///
    /// # Errors
    /// [`ActError::Invalid`] for what the platform refuses before WeChat (the field named, the
    /// account's allowance); [`ActError::KeyReused`] when the key's send within the day was
    /// another one; the account's states; WeChat's refusal (45065: the key's send was made and
    /// its answer lost); [`ActError::OutcomeUnknown`] when WeChat did not answer.
    pub async fn mass_send(
        &self,
        caller: &Caller,
        appid: &str,
        key: &str,
        request: &MassRequest,
    ) -> Result<MassOutcome, ActError> {
        if key.is_empty() || key.len() > 128 {
            return Err(ActError::Invalid("Idempotency-Key: 1 to 128 characters, one per mass send".into()));
        }
        let clientmsgid: String = crate::crypto::signature(&[caller.name(), "\n", key]).chars().take(32).collect();
        let now = self.now();
        let fingerprint = request.fingerprint();
        let kept = self.store.recall(&MarkerKey::mass_by_client(appid, &clientmsgid), now).await?;
        if let Some(kept) = MassSent::read(kept.as_deref()) {
            // The key's first send was another one: nothing is sent, and its ids are not given
            // as this request's (records kept before fingerprints were have none, a day at most).
            if kept.request.is_some_and(|first| first != fingerprint) {
                return Err(ActError::KeyReused);
            }
            return Ok(MassOutcome { msg_id: kept.msg_id, msg_data_id: kept.msg_data_id, existing: true });
        }
        let record = self.account_for(caller, appid).await?;
        super::require_sets(&record, MASS_SETS, MASS_WHAT)?;
        if let Audience::Tag(tag) = request.to {
            let tags = self.tags_at_wechat(record.clone()).await?;
            if !tags.iter().any(|t| t.id == tag) {
                return Err(ActError::Invalid(format!("to.tag_id: the account has no tag {tag}")));
            }
        }
        let object = self.mass_object(appid, &record, &request.message).await?;
        self.spend_mass_budget(appid, &record, &request.to, &clientmsgid).await?;
        let msgtype = request.message.msgtype.as_str();
        let mut body = json!({"msgtype": msgtype, msgtype: object, "clientmsgid": clientmsgid});
        match &request.to {
            Audience::All => body["filter"] = json!({"is_to_all": true}),
            Audience::Tag(tag) => body["filter"] = json!({"is_to_all": false, "tag_id": tag}),
            Audience::OpenIds(openids) => body["touser"] = json!(openids),
        }
        if msgtype == "mpnews" {
            body["send_ignore_reprint"] = json!(u8::from(request.message.ignore_reprint));
        }
        let sent = self
            .with_account_token(record, true, |token| {
                let body = &body;
                async move { self.wechat.mass_send(&token, body).await }
            })
            .await?;
        let to = match &request.to {
            Audience::All => json!({"all": true}),
            Audience::Tag(tag) => json!({"tag_id": tag}),
            Audience::OpenIds(openids) => json!({"openids": openids.len()}),
        };
        let kept = MassSent {
            msg_id: sent.msg_id.clone(),
            msg_data_id: sent.msg_data_id.clone(),
            to,
            msgtype: msgtype.to_owned(),
            sent_at: now,
            request: Some(fingerprint),
        }
        .to_json();
        for key in [MarkerKey::mass_by_client(appid, &clientmsgid), MarkerKey::mass_message(appid, &sent.msg_id)] {
            if let Err(err) = self.store.remember_value(&key, &kept, MASS_RECORD_SECS, now).await {
                tracing::warn!(authorizer = %appid, msg_id = %sent.msg_id, error = %err, "mass send made; a record of it not stored");
            }
        }
        tracing::info!(authorizer = %appid, msg_id = %sent.msg_id, msgtype, "mass send made");
        Ok(MassOutcome { msg_id: sent.msg_id, msg_data_id: sent.msg_data_id, existing: false })
    }

    /// Counts the send against the account's allowance, once per `clientmsgid`, before WeChat is
    /// asked; refuses one over it.
    async fn spend_mass_budget(
        &self,
        appid: &str,
        record: &crate::store::AuthorizerRecord,
        to: &Audience,
        clientmsgid: &str,
    ) -> Result<(), ActError> {
        let now = self.now();
        let day = crate::clock::china_day(now);
        let (period, allowed, what) = match (record.profile.service_type, to) {
            (Some(0 | 1), _) => (
                format!("day{day}"),
                SUBSCRIPTION_SENDS_A_DAY,
                "a subscription account (订阅号) may mass send once a day (China time); today's is made",
            ),
            (Some(2), Audience::All) => {
                let (year, month, _) = crate::clock::civil_date(day);
                (
                    format!("month{year}{month:02}"),
                    SERVICE_SENDS_A_MONTH,
                    "a service account's (服务号) followers receive at most 4 mass sends a month, and this month's 4 to everyone are made: a fifth would reach nobody",
                )
            }
            _ => return Ok(()),
        };
        if !self.store.remember_once(&MarkerKey::mass_counted(appid, clientmsgid), 2 * 86_400, now).await? {
            return Ok(());
        }
        let used = self.store.count(&MarkerKey::mass_budget(appid, &period), 40 * 86_400, now).await?;
        if used > allowed {
            tracing::warn!(authorizer = %appid, used, allowed, "mass send refused: over the account's allowance");
            return Err(ActError::Invalid(format!("{what} (WeChat's rule; nothing was sent)")));
        }
        Ok(())
    }

    /// A mass send: what the platform kept (the send, and the result WeChat pushed), or WeChat's
    /// state of it (`mass/get`) while no result came.
    ///
    /// # Errors
    /// The account's states; WeChat's refusal.
    pub async fn mass_send_result(&self, caller: &Caller, appid: &str, msg_id: &str) -> Result<Value, ActError> {
        if msg_id.is_empty() || msg_id.len() > 32 || !msg_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ActError::Invalid("msg_id: WeChat's number".into()));
        }
        let record = self.account_for(caller, appid).await?;
        let now = self.now();
        let sent = MassSent::read(self.store.recall(&MarkerKey::mass_message(appid, msg_id), now).await?.as_deref());
        let finished =
            MassFinished::read(self.store.recall(&MarkerKey::mass_finished(appid, msg_id), now).await?.as_deref());
        let mut out = json!({"msg_id": msg_id});
        if let Some(object) = out.as_object_mut() {
            object.extend(sent.map(|s| s.fields()).unwrap_or_default());
            object.extend(finished.as_ref().map(Record::fields).unwrap_or_default());
        }
        if finished.is_some() {
            out["source"] = json!("push");
        } else {
            super::require_sets(&record, MASS_SETS, MASS_WHAT)?;
            let state = self
                .with_account_token(record, false, |token| async move { self.wechat.mass_status(&token, msg_id).await })
                .await?;
            out["msg_status"] = json!(state.msg_status);
            out["source"] = json!("wechat");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_known_again_whatever_its_formatting_and_told_apart_from_another() {
        let request = |body: Value| MassRequest::from_value(&body).unwrap().fingerprint();
        let list = |a: &str, b: &str| json!({"to": {"openids": [a, b, a]}, "msgtype": "text", "text": {"content": "周末活动"}});
        assert_eq!(request(list("o_1", "o_2")), request(list("o_2", "o_1")));
        assert_ne!(request(list("o_1", "o_2")), request(list("o_1", "o_3")));
        let article = |to: Value, ignore: bool| json!({"to": to, "msgtype": "mpnews", "mpnews": {"media_id": "m1"}, "send_ignore_reprint": ignore});
        let all = request(article(json!({"all": true}), false));
        assert_eq!(all, request(json!({"mpnews": {"media_id": "m1"}, "msgtype": "mpnews", "to": {"all": true}})));
        assert_ne!(all, request(article(json!({"tag_id": 2}), false)));
        assert_ne!(all, request(article(json!({"all": true}), true)));
        assert_ne!(all, request(json!({"to": {"all": true}, "msgtype": "text", "text": {"content": "m1"}})));
    }

    #[test]
    fn a_bad_mass_send_names_its_field() {
        let text = json!({"msgtype": "text", "text": {"content": "周末活动"}});
        let with = |changes: Value| {
            let mut body = json!({"to": {"all": true}, "msgtype": "text", "text": {"content": "周末活动"}});
            for (name, value) in changes.as_object().unwrap() {
                if value.is_null() {
                    body.as_object_mut().unwrap().remove(name);
                } else {
                    body[name] = value.clone();
                }
            }
            body
        };
        let cases = [
            (with(json!({"to": null})), "to is missing"),
            (with(json!({"to": {"all": true, "tag_id": 1}})), "to: exactly one of"),
            (with(json!({"to": {"tag_id": -1}})), "to.tag_id: a tag id of the account"),
            (with(json!({"to": {"openids": ["o_1", "o_1"]}})), "to.openids: 2 to 10000 different OpenIDs"),
            (with(json!({"to": {"openids": ["o_1", ""]}})), "to.openids[1] is empty"),
            (with(json!({"to": {"everyone": true}})), "to: unknown field \"everyone\""),
            (with(json!({"msgtype": "news"})), "msgtype must be one of mpnews, text, image, voice, mpvideo"),
            (with(json!({"text": {"content": " "}})), "text.content is empty"),
            (with(json!({"text": {"content": "字".repeat(2049)}})), "text.content is longer than 2048 characters"),
            (with(json!({"text": null, "image": {"media_id": "m"}})), "image: not a field of a text send"),
            (with(json!({"msgtype": "image", "text": null})), "image is missing"),
            (
                with(json!({"msgtype": "image", "text": null, "image": {"media_id": "m 1"}})),
                "image.media_id: a media handle",
            ),
            (with(json!({"send_ignore_reprint": true})), "send_ignore_reprint: for an mpnews send only"),
            (with(json!({"openid": "o_1"})), "openid: not a field of a mass send"),
            (with(json!({"color": "red"})), "unknown field \"color\""),
        ];
        for (body, says) in cases {
            let err = MassRequest::from_value(&body).unwrap_err();
            assert!(err.contains(says), "{body}: {err}");
        }
        // A preview names its follower instead of an audience.
        let mut preview = text.clone();
        preview["openid"] = json!("o_1");
        let mut sent = text.clone();
        sent["to"] = json!({"all": true});
        assert_eq!(
            MassMessage::preview_from_value(&preview).unwrap(),
            ("o_1".to_owned(), MassRequest::from_value(&sent).unwrap().message)
        );
        assert!(MassMessage::preview_from_value(&text).unwrap_err().starts_with("openid is missing"));
    }

    #[tokio::test]
    async fn a_mass_send_goes_out_once_per_key_and_another_message_under_the_key_never() {
        use crate::service::testing::{ACCOUNT, backend, world};
        let w = world().await;
        let publishing = w.platform.publishing();
        let text = |content: &str| {
            MassRequest::from_value(&json!({"to": {"all": true}, "msgtype": "text", "text": {"content": content}}))
                .expect("a mass send")
        };

        let sent = publishing.mass_send(&backend(), ACCOUNT, "spring-sale", &text("春季促销")).await.expect("sent");
        assert!(!sent.existing && !sent.msg_id.is_empty(), "{sent:?}");
        assert_eq!(w.standin.mass_send_count(ACCOUNT), 1);

        // The caller's retry after a lost answer: the same send, not a second one.
        let again = publishing.mass_send(&backend(), ACCOUNT, "spring-sale", &text("春季促销")).await.expect("known");
        assert!(again.existing && again.msg_id == sent.msg_id, "{again:?}");
        // Another message under the same key is a mistake, not a retry: refused, nothing sent.
        let reused = publishing.mass_send(&backend(), ACCOUNT, "spring-sale", &text("夏季促销")).await;
        assert!(matches!(reused, Err(ActError::KeyReused)), "{reused:?}");
        assert_eq!(w.standin.mass_send_count(ACCOUNT), 1, "one send reached WeChat");
    }
}
