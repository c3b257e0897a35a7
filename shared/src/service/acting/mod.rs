//! Acting as an account: who may act on which account, and a WeChat call made with the account's
//! access token. Each use case built on it has its own file:
//!
//! | use case | file |
//! |---|---|
//! | the token lent to trusted backends | `lending.rs` |
//! | customer-service messages, with idempotency keys | `customer_service.rs` |
//! | the account's templates and template messages | `templates.rs` |
//! | media (素材): staged uploads to WeChat, the account's media, WeChat's permanent library | `media.rs` |
//! | temporary media in use, uploaded again before WeChat forgets them | `renewal.rs` |
//! | the account's custom menu: read back, checked and published, deleted | `menus.rs` |
//!
//! Calling safely: a token close to expiry is refreshed first (under the account's lease, so any
//! number of callers cause one refresh); 40001/42001 mean WeChat did nothing, so the token is
//! refreshed and the call made once more; a send that got no answer is never retried (the message
//! may have gone out), it is reported as an unknown outcome.

mod customer_service;
mod drafts;
mod jssdk;
mod lending;
mod mass_send;
mod media;
mod menus;
mod publishing;
mod qrcodes;
mod quota;
mod renewal;
mod tags;
mod templates;

pub use self::customer_service::IDEMPOTENCY_SECS;
pub use self::drafts::MAX_DRAFT_PAGE;
pub use self::jssdk::JsConfig;
pub use self::lending::{LEND_MARGIN_SECS, LentToken};
pub use self::mass_send::{
    Audience, MAX_MASS_OPENIDS, MassMessage, MassOutcome, MassRequest, SERVICE_SENDS_A_MONTH, SUBSCRIPTION_SENDS_A_DAY,
};
pub use self::media::{Begun, MAX_MEDIA_PAGE, NewMedium, UPLOAD_URL_SECS, kept_key, staging_key};
pub(crate) use self::media::{Unusable, usable_media_id};
pub use self::menus::{KeyLink, MenuState};
pub use self::publishing::{PUBLICATION_RECORD_SECS, publish_status_name};
pub use self::qrcodes::{
    MAX_QR_DAYS, MAX_QR_EXPIRE_SECS, NewQrCode, QrCodeFigures, Scene, SceneRules, qr_code_id, qr_day,
};
pub use self::quota::QUOTA_RESETS_PER_MONTH;
pub use self::renewal::{RENEW_AHEAD_SECS, RenewalReport};
pub use self::tags::{MAX_TAG_NAME_BYTES, MAX_TAGGED_PER_REQUEST, MAX_TAGS};

use std::time::Duration;

use super::{CallError, Platform, RefreshOutcome};
use crate::secret::Secret;
use crate::service::ActingStore;
use crate::store::{AuthorizerRecord, AuthorizerStatus, DocumentKind, StoreError};
use crate::wechat::{ApiError, ErrorKind};

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
    /// The caller is over one of its limits (nothing done).
    #[error(transparent)]
    Limited(crate::service::Limited),
    /// The idempotency key was used for another message (nothing sent).
    #[error("this Idempotency-Key was used for another message")]
    KeyReused,
    /// WeChat refused the message (it was not sent).
    #[error(transparent)]
    Refused(ApiError),
    /// No answer from WeChat after the message left: it may or may not have been sent.
    #[error("WeChat did not answer; the message may have been sent")]
    OutcomeUnknown,
    /// Getting a token failed (the store, WeChat, the component token).
    #[error(transparent)]
    Token(#[from] CallError),
    /// No such medium on the account.
    #[error("no such medium on this account")]
    NoMedium,
    /// Nothing was uploaded to the medium's upload URL (yet).
    #[error("the file has not been uploaded to its upload URL yet")]
    NotUploaded,
    /// The uploaded file is not the one declared (nothing kept by WeChat).
    #[error("{0}")]
    NotAsDeclared(String),
    /// A temporary medium past its 3 days: WeChat no longer knows it.
    #[error("the temporary medium expired")]
    MediumExpired,
    /// Another request is doing the same thing now (a medium's completion, a menu's publication);
    /// names what is running.
    #[error("{0}")]
    Running(&'static str),
    /// The admin did not grant the permission set the API needs (WeChat would answer 61007):
    /// refused before anything is sent.
    #[error("the admin did not grant permission set {} ({what}) when authorizing: authorize the account again with it; nothing was sent to WeChat", sets.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or "))]
    NotGranted {
        /// The sets, any of which would do.
        sets: &'static [i64],
        /// What they are for.
        what: &'static str,
    },
    /// No such QR code on the account (or, for its image, a temporary one that expired).
    #[error("no such QR code on this account")]
    NoQrCode,
    /// The staging bucket failed.
    #[error("the staging bucket failed: {0}")]
    Staging(String),
}

/// Whether `openid` could be an OpenID (WeChat's are 28 URL-safe Base64 characters; the check
/// only keeps what cannot be one, and anything that would change a request's meaning, out).
pub(crate) fn plausible_openid(openid: &str) -> bool {
    (1..=64).contains(&openid.len()) && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why replacing one of the account's versioned documents (reply rules, the menu) failed.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The reply rules are wrong; names the rule.
    #[error(transparent)]
    Invalid(crate::rules::RuleError),
    /// The request did not say which version it replaces (`If-Match`).
    #[error("say which version you replace: If-Match: \"<version>\" (\"0\" when the account has no {} yet)", noun(*.0))]
    VersionRequired(DocumentKind),
    /// Someone saved another version since the caller read theirs.
    #[error("the {} changed since version {expected}: now version {current}; read {} again and redo the change", noun(*kind), pronoun(*kind))]
    Changed {
        /// Which document.
        kind: DocumentKind,
        /// The version the caller replaces.
        expected: u64,
        /// The version stored now.
        current: u64,
    },
    /// The account, the store, WeChat (a menu is published before it is kept).
    #[error(transparent)]
    Act(#[from] ActError),
}

/// How the messages name a document.
fn noun(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::ReplyRules => "rules",
        DocumentKind::Menu => "menu",
    }
}

fn pronoun(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::ReplyRules => "them",
        DocumentKind::Menu => "it",
    }
}

impl From<StoreError> for DocumentError {
    fn from(err: StoreError) -> Self {
        Self::Act(err.into())
    }
}

impl From<crate::service::SpendError> for ActError {
    fn from(err: crate::service::SpendError) -> Self {
        match err {
            crate::service::SpendError::Limited(limited) => Self::Limited(limited),
            crate::service::SpendError::Store(err) => err.into(),
        }
    }
}

impl From<StoreError> for ActError {
    fn from(err: StoreError) -> Self {
        Self::Token(CallError::Store(err))
    }
}

impl<S: ActingStore> Platform<S> {
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
            if e.errcode() == Some(45009) {
                tracing::warn!(authorizer = %appid, call = e.call(), "the account's daily quota for this API is spent");
                crate::metrics::emit(crate::metrics::Metric::AccountQuotaSpent, 1);
            }
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
                self.note_tokens(&appid, &[&token.access_token]);
                let token = self.fresh_token(current, margin).await?;
                self.note_tokens(&appid, &[&token.access_token]);
                call(token.access_token).await.map_err(failed)
            }
            other => {
                self.note_tokens(&appid, &[&token.access_token]);
                other.map_err(failed)
            }
        }
    }

    /// Remembers that the account's calls were made with `tokens`, for [`Platform::settle_usage`].
    fn note_tokens(&self, appid: &str, tokens: &[&Secret]) {
        let mut used = self.used_tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let list = used.entry(appid.to_owned()).or_default();
        for token in tokens {
            if !list.iter().any(|t| t.expose() == token.expose()) {
                list.push((*token).clone());
            }
        }
    }

    /// Ends a request for the account: its WeChat calls are counted when it `succeeded` (one
    /// write), and forgotten when it did not (a refused request stores nothing; whether WeChat
    /// counts refused calls is not published). Function crates call it once per request.
    pub async fn settle_usage(&self, appid: &str, succeeded: bool) {
        let tokens = self.used_tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(appid);
        let Some(tokens) = tokens else { return };
        let refs: Vec<&Secret> = tokens.iter().collect();
        self.meter_calls(appid, &refs, succeeded).await;
    }

    /// Counts for the account the WeChat calls just made with its `tokens` when the use case
    /// succeeded (`done`): one write per use case (none for a push, which calls nothing), so the
    /// owner sees what the platform spent of the account's quota. A use case that failed writes
    /// nothing (a refused request stores nothing; whether WeChat counts refused calls is not
    /// published). A write that fails only leaves a figure short: logged, never an error.
    pub(super) async fn meter_calls(&self, appid: &str, tokens: &[&Secret], done: bool) {
        let mut counted: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for call in self.wechat.take_usage(tokens) {
            *counted.entry(call).or_default() += 1;
        }
        if counted.is_empty() || !done {
            return;
        }
        let calls: Vec<(&str, u64)> = counted.into_iter().collect();
        tracing::info!(authorizer = %appid, calls = ?calls, "API use counted");
        if let Err(err) = self.store.meter(appid, qrcodes::qr_day(self.now()), &calls).await {
            tracing::warn!(authorizer = %appid, error = %err, "API use not counted");
        }
    }

    /// `record`'s token if valid for `margin` more seconds, else a refreshed one.
    async fn fresh_token(&self, record: AuthorizerRecord, margin: i64) -> Result<LentToken, ActError> {
        if record.expires_at - margin > self.now() {
            return Ok(LentToken { access_token: record.access_token, expires_at: record.expires_at });
        }
        let appid = record.authorizer_appid.clone();
        let started = std::time::Instant::now();
        loop {
            match self.onboarding().refresh_authorizer(&appid, margin).await? {
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

/// Refuses locally what WeChat would refuse with 61007: the account's stored permission sets
/// (`func_info`, from its authorization) lack all of `sets`. An account whose sets are not
/// known (none stored) is let through to WeChat.
pub(super) fn require_sets(
    record: &AuthorizerRecord,
    sets: &'static [i64],
    what: &'static str,
) -> Result<(), ActError> {
    let granted = &record.profile.func_info;
    if granted.is_empty() || sets.iter().any(|set| granted.contains(set)) {
        Ok(())
    } else {
        Err(ActError::NotGranted { sets, what })
    }
}

#[cfg(test)]
mod tests {
    use super::{ActError, Caller};
    use crate::service::testing::{ACCOUNT, backend, world};
    use crate::store::AuthorizerStore;

    #[tokio::test]
    async fn a_dashboard_user_acts_on_their_own_accounts_only_and_a_rejected_token_is_renewed_once() {
        let w = world().await;
        w.platform.store.set_owner(ACCOUNT, "alice", w.standin.now()).await.expect("owned");
        let followers = w.platform.followers();
        let reads = w.standin.calls("tags_get");
        assert!(followers.tags(&Caller::Dashboard("alice".into()), ACCOUNT).await.is_ok());
        let bob = followers.tags(&Caller::Dashboard("bob".into()), ACCOUNT).await;
        assert!(matches!(bob, Err(ActError::NotFound)), "another user's account is no account: {bob:?}");
        assert!(followers.tags(&backend(), ACCOUNT).await.is_ok(), "a backend acts on any account");
        assert_eq!(w.standin.calls("tags_get"), reads + 2, "bob's request reached nothing");

        // WeChat says the token is not valid (40001): one refresh, the call made once more.
        let refreshes = w.standin.calls("api_authorizer_token");
        w.standin.inject_fault("tags_get", wechat_standin::Fault::Errcode(40001), 1);
        assert!(followers.tags(&backend(), ACCOUNT).await.is_ok());
        assert_eq!(w.standin.calls("api_authorizer_token"), refreshes + 1);
        assert_eq!(w.standin.calls("tags_get"), reads + 4, "the refused call and its repeat");
    }
}
