//! Acting as an account: its access token lent to trusted backends (one central service, so no
//! backend refreshes authorizer tokens itself and races the others into 40001), and
//! customer-service messages sent as it.
//!
//! Sending safely: a token close to expiry is refreshed first (under the account's lease, so any
//! number of callers cause one refresh); 40001/42001 mean WeChat did not send, so the token is
//! refreshed and the send tried once more; a timeout or a dropped connection is never retried
//! (the message may have gone out), it is reported as an unknown outcome. An idempotency key
//! makes a repeated request return the first one's result instead of sending again.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CallError, Platform, RefreshOutcome};
use crate::message::CustomMessage;
use crate::secret::Secret;
use crate::store::{AuthorizerRecord, AuthorizerStatus, MarkerKey, StoreError, Timestamp, TokenStore};
use crate::wechat::{ApiError, ErrorKind};

/// A lent token is valid for at least this long (seconds); one closer to expiry is refreshed first.
pub const LEND_MARGIN_SECS: i64 = 5 * 60;

/// How long a request's result is kept under its idempotency key.
pub const IDEMPOTENCY_SECS: i64 = 24 * 3600;

/// How long a caller waits for another caller's refresh of the same account.
const REFRESH_WAIT: Duration = Duration::from_millis(2000);

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A dashboard user: acts only on the accounts they own.
    Dashboard(String),
    /// A backend authorized by IAM (the API Gateway route's `AWS_IAM`): acts on any account.
    Backend(String),
}

impl Caller {
    /// Who it is, as recorded with what it does (`bound_by`, `updated_by`).
    pub fn name(&self) -> &str {
        self.key()
    }

    fn key(&self) -> &str {
        match self {
            Self::Dashboard(user) | Self::Backend(user) => user,
        }
    }
}

/// An access token lent to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LentToken {
    /// `authorizer_access_token`.
    pub access_token: Secret,
    /// When it stops working (Unix seconds).
    pub expires_at: Timestamp,
}

/// Why acting as the account failed. Each maps to one dashboard code (`web.rs`).
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// No such account, or not the caller's (the same answer: the caller learns nothing of
    /// accounts that are not theirs).
    #[error("no such account")]
    NotFound,
    /// The admin revoked the authorization.
    #[error("the account revoked the authorization")]
    Revoked,
    /// The refresh token is gone: the admin must authorize again.
    #[error("the account must be authorized again")]
    NeedsReauthorization,
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The same idempotency key is being used by a request still running.
    #[error("a request with this Idempotency-Key is still running")]
    InProgress,
    /// WeChat refused the message (it was not sent).
    #[error(transparent)]
    Refused(ApiError),
    /// No answer from WeChat after the message left: it may or may not have been sent.
    #[error("WeChat did not answer; the message may have been sent")]
    OutcomeUnknown,
    /// Getting a token failed (the store, WeChat, the component token).
    #[error(transparent)]
    Token(#[from] CallError),
}

impl From<StoreError> for ActError {
    fn from(err: StoreError) -> Self {
        Self::Token(CallError::Store(err))
    }
}

impl<S: TokenStore> Platform<S> {
    /// The account, if `caller` may see it (a dashboard user only their own), whatever its status.
    pub(super) async fn owned_account(&self, caller: &Caller, appid: &str) -> Result<AuthorizerRecord, ActError> {
        let record = self.store.authorizer(appid).await?.ok_or(ActError::NotFound)?;
        if let Caller::Dashboard(user) = caller
            && record.owner != *user
        {
            return Err(ActError::NotFound);
        }
        Ok(record)
    }

    /// The account `caller` may act on: theirs, and still authorized.
    pub(super) async fn account_for(&self, caller: &Caller, appid: &str) -> Result<AuthorizerRecord, ActError> {
        let record = self.owned_account(caller, appid).await?;
        match record.status {
            AuthorizerStatus::Authorized => Ok(record),
            AuthorizerStatus::Revoked => Err(ActError::Revoked),
            AuthorizerStatus::NeedsReauthorization => Err(ActError::NeedsReauthorization),
        }
    }

    /// The account's access token, valid for at least [`LEND_MARGIN_SECS`] (refreshed first under
    /// the account's lease when closer to expiry; concurrent callers wait for that one refresh).
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn lend_token(&self, caller: &Caller, appid: &str) -> Result<LentToken, ActError> {
        let record = self.account_for(caller, appid).await?;
        let token = self.fresh_token(record, LEND_MARGIN_SECS).await?;
        tracing::info!(authorizer = %appid, caller = caller.key(), expires_at = token.expires_at, "access token lent");
        Ok(token)
    }

    /// `record`'s token if valid for `margin` more seconds, else a refreshed one.
    async fn fresh_token(&self, record: AuthorizerRecord, margin: i64) -> Result<LentToken, ActError> {
        if record.expires_at - margin > self.now() {
            return Ok(LentToken { access_token: record.access_token, expires_at: record.expires_at });
        }
        let appid = record.authorizer_appid.clone();
        let started = std::time::Instant::now();
        loop {
            match self.refresh_authorizer(&appid, margin).await? {
                RefreshOutcome::Refreshed(r) | RefreshOutcome::Recovered(r) => {
                    return Ok(LentToken { access_token: r.access_token, expires_at: r.expires_at });
                }
                RefreshOutcome::NeedsReauthorization(_) => return Err(ActError::NeedsReauthorization),
                RefreshOutcome::Revoked(_) => return Err(ActError::Revoked),
                RefreshOutcome::NotAuthorized => return Err(ActError::NotFound),
                // Another caller refreshed, or is refreshing: read what it stored.
                RefreshOutcome::NotDue | RefreshOutcome::Busy => {
                    let current = self.store.authorizer(&appid).await?.ok_or(ActError::NotFound)?;
                    if current.expires_at - margin > self.now() {
                        return Ok(LentToken { access_token: current.access_token, expires_at: current.expires_at });
                    }
                    if started.elapsed() > REFRESH_WAIT {
                        return Err(ActError::Token(CallError::Busy));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

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
            return self.send_checked(record, &message).await;
        };
        checked_key(key)?;
        let stored = MarkerKey::idempotency(appid, caller.key(), key);
        if let Some(first) = self.store.recall(&stored, self.now()).await? {
            return replay(&first);
        }
        if !self
            .store
            .remember_once(&MarkerKey::idempotency_claim(appid, caller.key(), key), IDEMPOTENCY_SECS, self.now())
            .await?
        {
            // Claimed by another request: finished by now, or still running.
            return match self.store.recall(&stored, self.now()).await? {
                Some(first) => replay(&first),
                None => Err(ActError::InProgress),
            };
        }
        let result = self.send_checked(record, &message).await;
        let kept = match &result {
            Ok(answer) => json!({"ok": answer}),
            Err(ActError::Refused(err)) => json!({"refused": {"errcode": err.errcode(), "call": err.call()}}),
            Err(ActError::OutcomeUnknown) => json!({"unknown": true}),
            // Nothing reached WeChat: the claim stays, the caller may retry with a new key.
            Err(_) => json!({"failed": true}),
        };
        if let Err(err) = self.store.remember_value(&stored, &kept.to_string(), IDEMPOTENCY_SECS, self.now()).await {
            tracing::warn!(authorizer = %appid, error = %err, "idempotency result not kept: a repeat gets 409");
        }
        result
    }

    async fn send_checked(&self, record: AuthorizerRecord, message: &CustomMessage) -> Result<Value, ActError> {
        let appid = record.authorizer_appid.clone();
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

impl<S: TokenStore> Platform<S> {
    /// A call made with the account's token; 40001/42001 (nothing done) refresh it and call once more.
    pub(super) async fn with_account_token<T, F, Fut>(
        &self,
        record: AuthorizerRecord,
        sends: bool,
        call: F,
    ) -> Result<T, ActError>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let appid = record.authorizer_appid.clone();
        // A send without an answer may have happened; a read or a setting is simply not done.
        let failed = |e: ApiError| {
            if sends || e.errcode().is_some() { sent_error(&appid, e) } else { ActError::Token(CallError::WeChat(e)) }
        };
        let token = self.fresh_token(record, 60).await?;
        match call(token.access_token.clone()).await {
            Err(err) if err.kind() == ErrorKind::TokenInvalid => {
                // WeChat refused the token, so nothing was done: refresh (unless another caller
                // already did) and try once more.
                tracing::warn!(authorizer = %appid, errcode = err.errcode(), call = err.call(), "token refused; refreshing and calling once more");
                let current = self.store.authorizer(&appid).await?.ok_or(ActError::NotFound)?;
                let margin = if current.access_token == token.access_token { i64::MAX / 4 } else { 60 };
                let token = self.fresh_token(current, margin).await?;
                call(token.access_token).await.map_err(failed)
            }
            other => other.map_err(failed),
        }
    }

    /// The account's templates, as WeChat lists them.
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn templates_of(&self, caller: &Caller, appid: &str) -> Result<Vec<Value>, ActError> {
        let record = self.account_for(caller, appid).await?;
        self.with_account_token(record, false, |token| async move { self.wechat.private_templates(&token).await }).await
    }

    /// Adds a template of WeChat's library to the account; its id for this account.
    ///
    /// # Errors
    /// [`ActError`]; [`ActError::Invalid`] for a request without `template_id_short`.
    pub async fn add_template(&self, caller: &Caller, appid: &str, request: &Value) -> Result<Value, ActError> {
        let short = request
            .get("template_id_short")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty() && s.len() <= 64)
            .ok_or_else(|| ActError::Invalid("template_id_short (the library template's id) is required".to_owned()))?;
        let keywords: Vec<String> = match request.get("keyword_name_list") {
            None => Vec::new(),
            Some(Value::Array(list)) if list.len() <= 10 && list.iter().all(Value::is_string) => {
                list.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            Some(_) => {
                return Err(ActError::Invalid("keyword_name_list must be a list of at most 10 names".to_owned()));
            }
        };
        let record = self.account_for(caller, appid).await?;
        let keywords = &keywords;
        let template_id = self
            .with_account_token(record, false, |token| async move {
                self.wechat.add_template(&token, short, keywords).await
            })
            .await?;
        tracing::info!(authorizer = %appid, template_id_short = short, "template added");
        Ok(json!({"template_id": template_id}))
    }

    /// Sends a template message as the account and keeps its record (30 days), whose status the
    /// `TEMPLATESENDJOBFINISH` push fills in. The idempotency key doubles as WeChat's
    /// `client_msg_id`, so even a request whose answer was lost is not delivered twice by WeChat
    /// within its 10 minutes.
    ///
    /// # Errors
    /// [`ActError`].
    pub async fn send_template_message(
        &self,
        caller: &Caller,
        appid: &str,
        request: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ActError> {
        let mut body = template_body(request).map_err(ActError::Invalid)?;
        if let Some(key) = idempotency_key {
            checked_key(key)?;
            if body.get("client_msg_id").is_none() {
                body["client_msg_id"] = json!(crate::crypto::signature(&[caller.key(), "\n", key])[..32]);
            }
        }
        let record = self.account_for(caller, appid).await?;
        let body = &body;
        let msgid = self
            .with_account_token(record, true, |token| async move { self.wechat.send_template(&token, body).await })
            .await?;
        let kept = json!({
            "msgid": msgid, "touser": body["touser"], "template_id": body["template_id"],
            "sent_at": self.now(), "status": "sent", "sent_by": caller.key(),
        });
        let key = MarkerKey::template_message(appid, &msgid);
        if let Err(err) =
            self.store.remember_value(&key, &kept.to_string(), super::hand_off::TEMPLATE_RECORD_SECS, self.now()).await
        {
            tracing::warn!(authorizer = %appid, error = %err, "template message sent but its record not kept");
        }
        tracing::info!(authorizer = %appid, msgid = %msgid, "template message sent");
        Ok(json!({"msgid": msgid, "status": "sent"}))
    }

    /// A template message's record: to whom, which template, its delivery status.
    ///
    /// # Errors
    /// [`ActError::NotFound`] for a message this platform does not know (or another user's account).
    pub async fn template_message(&self, caller: &Caller, appid: &str, msgid: &str) -> Result<Value, ActError> {
        if msgid.is_empty() || msgid.len() > 32 || !msgid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ActError::Invalid("msgid must be WeChat's number".to_owned()));
        }
        // Owner-scoped like everything else; a revoked account's history stays readable.
        self.owned_account(caller, appid).await?;
        let now = self.now();
        let sent = self.store.recall(&MarkerKey::template_message(appid, msgid), now).await?;
        let finished = self.store.recall(&MarkerKey::template_finished(appid, msgid), now).await?;
        if sent.is_none() && finished.is_none() {
            return Err(ActError::NotFound);
        }
        let parse =
            |v: Option<String>| v.and_then(|v| serde_json::from_str::<Value>(&v).ok()).unwrap_or_else(|| json!({}));
        // What the send recorded, then what WeChat's push said (a message sent elsewhere has only that).
        let mut kept = parse(sent);
        if let (Some(object), Value::Object(finished)) = (kept.as_object_mut(), parse(finished)) {
            object.extend(finished);
            object.remove("sent_by");
            object.insert("msgid".to_owned(), json!(msgid));
            object.entry("status").or_insert(json!("sent"));
        }
        Ok(kept)
    }
}

/// A template message request checked: `touser`, `template_id`, `data` (`{key: {value}}`),
/// optional `url`, `miniprogram{appid, pagepath}` and `client_msg_id`; only these are sent.
fn template_body(request: &Value) -> Result<Value, String> {
    let object = request.as_object().ok_or("the body must be a JSON object")?;
    let text = |name: &str, max: usize| -> Result<String, String> {
        let value = object.get(name).and_then(Value::as_str).ok_or_else(|| format!("{name} must be a string"))?;
        if value.trim().is_empty() || value.len() > max {
            return Err(format!("{name} must be 1 to {max} bytes"));
        }
        Ok(value.to_owned())
    };
    let mut body = json!({"touser": text("touser", 128)?, "template_id": text("template_id", 128)?});
    let data = object.get("data").and_then(Value::as_object).ok_or("data must be an object of {keyword: {value}}")?;
    if data.is_empty() || data.len() > 20 {
        return Err("data must hold 1 to 20 keywords".to_owned());
    }
    let mut checked = serde_json::Map::new();
    for (keyword, field) in data {
        let value = field
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("data.{keyword}.value must be a string"))?;
        if value.len() > 1024 {
            return Err(format!("data.{keyword}.value is longer than 1024 bytes"));
        }
        checked.insert(keyword.clone(), json!({"value": value}));
    }
    body["data"] = Value::Object(checked);
    if object.contains_key("url") {
        let url = text("url", 1024)?;
        let parsed = url::Url::parse(&url).map_err(|_| "url must be an absolute URL".to_owned())?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err("url must be http or https".to_owned());
        }
        body["url"] = json!(url);
    }
    if let Some(mini) = object.get("miniprogram") {
        let appid = mini
            .get("appid")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .ok_or("miniprogram.appid is required")?;
        let mut out = json!({"appid": appid});
        if let Some(path) = mini.get("pagepath").and_then(Value::as_str) {
            out["pagepath"] = json!(path);
        }
        body["miniprogram"] = out;
    }
    if object.contains_key("client_msg_id") {
        body["client_msg_id"] = json!(text("client_msg_id", 64)?);
    }
    Ok(body)
}

/// An `Idempotency-Key` this platform keeps: 1 to 128 characters.
fn checked_key(key: &str) -> Result<(), ActError> {
    if key.is_empty() || key.len() > 128 {
        return Err(ActError::Invalid("Idempotency-Key must be 1 to 128 characters".to_owned()));
    }
    Ok(())
}

/// A send that failed: refused by WeChat (not sent), or no answer (maybe sent).
fn sent_error(appid: &str, err: ApiError) -> ActError {
    match err.kind() {
        ErrorKind::Transport | ErrorKind::Http5xx | ErrorKind::Decode => {
            tracing::error!(authorizer = %appid, call = err.call(), error = %err, "no usable answer to a send; not retried (it may have been sent)");
            ActError::OutcomeUnknown
        }
        _ => {
            tracing::warn!(authorizer = %appid, call = err.call(), errcode = err.errcode(), "WeChat refused");
            ActError::Refused(err)
        }
    }
}

/// The first request's result, again.
fn replay(kept: &str) -> Result<Value, ActError> {
    let kept: Value = serde_json::from_str(kept).unwrap_or(Value::Null);
    if let Some(answer) = kept.get("ok") {
        return Ok(answer.clone());
    }
    if let Some(refused) = kept.get("refused") {
        let errcode = refused["errcode"].as_i64().unwrap_or(-1);
        return Err(ActError::Refused(ApiError::replayed("message/custom/send", errcode)));
    }
    if kept.get("unknown").is_some() {
        return Err(ActError::OutcomeUnknown);
    }
    Err(ActError::Invalid(
        "a request with this Idempotency-Key failed before reaching WeChat; use a new key".to_owned(),
    ))
}
