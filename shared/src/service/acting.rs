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
    /// The account `caller` may act on.
    async fn account_for(&self, caller: &Caller, appid: &str) -> Result<AuthorizerRecord, ActError> {
        let record = self.store.authorizer(appid).await?.ok_or(ActError::NotFound)?;
        if let Caller::Dashboard(user) = caller
            && record.owner != *user
        {
            return Err(ActError::NotFound);
        }
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
        if key.is_empty() || key.len() > 128 {
            return Err(ActError::Invalid("Idempotency-Key must be 1 to 128 characters".to_owned()));
        }
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
        let token = self.fresh_token(record, 60).await?;
        match self.wechat.send_custom(&token.access_token, message.body()).await {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::TokenInvalid => {
                // WeChat refused the token, so nothing was sent: refresh (unless another caller
                // already did) and try once more.
                tracing::warn!(authorizer = %appid, errcode = err.errcode(), "token refused; refreshing and sending once more");
                let current = self.store.authorizer(&appid).await?.ok_or(ActError::NotFound)?;
                let margin = if current.access_token == token.access_token { i64::MAX / 4 } else { 60 };
                let token = self.fresh_token(current, margin).await?;
                self.wechat
                    .send_custom(&token.access_token, message.body())
                    .await
                    .map_err(|e| sent_error(&appid, e))?;
            }
            Err(err) => return Err(sent_error(&appid, err)),
        }
        tracing::info!(authorizer = %appid, msgtype = %message.msgtype, "customer-service message sent");
        Ok(json!({"sent": true, "msgtype": message.msgtype}))
    }
}

/// A send that failed: refused by WeChat (not sent), or no answer (maybe sent).
fn sent_error(appid: &str, err: ApiError) -> ActError {
    match err.kind() {
        ErrorKind::Transport | ErrorKind::Http5xx | ErrorKind::Decode => {
            tracing::error!(authorizer = %appid, error = %err, "customer-service send: no usable answer; not retried (it may have been sent)");
            ActError::OutcomeUnknown
        }
        _ => {
            tracing::warn!(authorizer = %appid, errcode = err.errcode(), "customer-service send refused");
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
