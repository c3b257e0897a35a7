//! Authorization: a single-use `auth_code` becomes a stored account, whichever of its two paths
//! comes first (the admin's browser at auth-callback, the `authorized` push at ticket-receiver),
//! and the account lands with the dashboard user who started it.
//!
//! The sequence (`docs/architecture.md`, "auth-callback" and "ticket-receiver"):
//! 1. `api_query_auth` with the code (component token; 61009/61010 = used or expired);
//! 2. one conditional write of the tokens: the refresh token cannot be fetched again, so it is
//!    stored before anything slow or fallible; a newer stored refresh token wins; a new account
//!    is unclaimed, an existing one keeps its owner;
//! 3. the code is remembered for an hour (which account it authorized), for the other path;
//! 4. `api_get_authorizer_info`, best effort, stored conditionally on the version of step 2.
//!
//! When the code turns out used and neither path stored it (WeChat consumed it but the answer
//! was lost, the write failed, the function timed out), the account is recovered from
//! `api_get_authorizer_list`, which lists its current refresh token: no authorization is lost.
//!
//! Ownership: the authoritative binding is the user a `pre_auth_code` was issued to, which the
//! `authorized` push names (`service/ticket.rs`); the browser's signed state only *claims* an
//! unclaimed account, so a leaked code with someone else's state cannot move an account.

use std::time::Duration;

use super::{CallError, Onboarding};
use crate::auth_state::StateError;
use crate::secret::Secret;
use crate::service::ComponentStore;
use crate::store::{
    AuthorizerProfile, AuthorizerRecord, AuthorizerStore, MarkerKey, MarkerStore, NewAuthorization, StoreError,
    Timestamp,
};
use crate::wechat::{ApiError, AuthorizerTokens, ErrorKind};

/// The longest a state may live: a pre_auth_code lives at most 30 minutes.
const MAX_STATE_SECS: i64 = 1800;
/// How long one path waits for the other to finish the same authorization.
const OTHER_PATH_WAIT: Duration = Duration::from_millis(1500);

/// How long the code → account mapping is kept (codes live 10 minutes).
const AUTH_CODE_MEMORY_SECS: i64 = 3600;

/// How an authorization code was completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// This call exchanged the code and stored the account.
    Completed(AuthorizerRecord),
    /// The code had already been exchanged by the other path (the `authorized` push or the
    /// browser callback): nothing to redo.
    AlreadyCompleted(AuthorizerRecord),
    /// The code was used but nothing stored (an answer lost, a failed write, a timeout): the
    /// account was recovered from `api_get_authorizer_list`.
    Recovered(AuthorizerRecord),
}

impl Completion {
    /// The stored account.
    pub fn record(&self) -> &AuthorizerRecord {
        match self {
            Self::Completed(record) | Self::AlreadyCompleted(record) | Self::Recovered(record) => record,
        }
    }
}

/// Why an authorization code could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationError {
    /// WeChat says the code is used or expired (61009 / 61010), and we never completed it.
    #[error("authorization code used or expired: {0}")]
    CodeInvalid(ApiError),
    /// `api_query_auth` returned no access or refresh token (the account granted no API set).
    #[error("authorization of {0} returned no tokens")]
    NoTokens(String),
    /// The component token or WeChat's answer failed.
    #[error(transparent)]
    Call(CallError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthorizationError {
    fn from_call(err: CallError) -> Self {
        match err {
            CallError::WeChat(err) if err.kind() == ErrorKind::AuthCodeInvalid => Self::CodeInvalid(err),
            CallError::Store(err) => Self::Store(err),
            other => Self::Call(other),
        }
    }
}

/// Why the admin's browser could not complete an authorization at auth-callback.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The state is past its expiry.
    #[error("the authorization state has expired")]
    StateExpired,
    /// The state is not one we signed.
    #[error("the authorization state is not ours")]
    StateInvalid,
    /// The state was already used once.
    #[error("the authorization state was already used")]
    StateUsed,
    /// The state was already used, and its code authorized this user's account (the page was
    /// reloaded, perhaps after an attempt whose answer from WeChat was lost and that WeChat's
    /// `authorized` push completed since).
    #[error("the authorization state was already used; its account is authorized")]
    AlreadyAuthorized(Box<AuthorizerRecord>),
    /// No usable `auth_code` came with it.
    #[error("no authorization code")]
    NoCode,
    /// The account is managed by another dashboard user; this state cannot take it.
    #[error("the account belongs to another user")]
    OwnedByAnother,
    /// Completing the code failed.
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
}

impl<S: ComponentStore + AuthorizerStore + MarkerStore> Onboarding<'_, S> {
    /// The admin's browser came back with `state` and `code`. The state is verified (ours, within
    /// its lifetime) and consumed with one conditional write **before** WeChat is called (one
    /// state, one attempt); then the code is completed and the account claimed for the state's
    /// user, unless another user owns it.
    ///
    /// # Errors
    /// [`CallbackError`]: the state's problems first, then the code's, then ownership.
    pub async fn complete_from_callback(
        &self,
        state: &str,
        code: Option<Secret>,
    ) -> Result<AuthorizerRecord, CallbackError> {
        let now = self.now();
        let claims = self.signer.verify(state, now).map_err(|err| match err {
            StateError::Expired => CallbackError::StateExpired,
            StateError::Malformed | StateError::Forged => CallbackError::StateInvalid,
        })?;
        if claims.expires_at - now > MAX_STATE_SECS {
            return Err(CallbackError::StateInvalid);
        }
        let code = code.ok_or(CallbackError::NoCode)?;
        let ttl = (claims.expires_at - now).max(60);
        if !self
            .store
            .remember_once(&MarkerKey::auth_state(&claims.nonce), ttl, now)
            .await
            .map_err(AuthorizationError::Store)?
        {
            return Err(match self.authorized_by(&code, &claims.user).await {
                Some(record) => CallbackError::AlreadyAuthorized(Box::new(record)),
                None => CallbackError::StateUsed,
            });
        }
        let record = self.complete_authorization(&code, None).await?.record().clone();
        let record = self.claim_for(&record.authorizer_appid, &claims.user).await?;
        tracing::info!(authorizer = %record.authorizer_appid, user = %claims.user, "authorized");
        Ok(record)
    }

    /// The account `code` authorized, if we stored it and it is `user`'s (best effort: `None`
    /// when the store cannot say).
    async fn authorized_by(&self, code: &Secret, user: &str) -> Option<AuthorizerRecord> {
        let appid = self.store.recall(&MarkerKey::auth_code(code), self.now()).await.ok()??;
        self.store.authorizer(&appid).await.ok()?.filter(|record| record.owner == user)
    }

    /// Claims the account for `user`. When another user owns it, the `authorized` push (whose
    /// `pre_auth_code` binding is authoritative) may be moving it to `user` right now: wait for it
    /// briefly before refusing.
    async fn claim_for(&self, appid: &str, user: &str) -> Result<AuthorizerRecord, CallbackError> {
        let deadline = tokio::time::Instant::now() + OTHER_PATH_WAIT;
        loop {
            match self.store.claim_owner(appid, user, self.now()).await {
                Ok(record) => return Ok(record),
                Err(StoreError::ConditionFailed) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                Err(StoreError::ConditionFailed) => {
                    tracing::warn!(authorizer = %appid, user, "account owned by another user; not reassigned");
                    return Err(CallbackError::OwnedByAnother);
                }
                Err(err) => return Err(AuthorizationError::Store(err).into()),
            }
        }
    }

    /// Completes an authorization from its single-use `auth_code`: tokens from `api_query_auth`,
    /// the profile from `api_get_authorizer_info`, one store write. A failing profile fetch does
    /// not lose the tokens: they are stored without it.
    ///
    /// # Errors
    /// 61009/61010 (used or expired code) as [`AuthorizationError::CodeInvalid`]; store
    /// failures; [`AuthorizationError::NoTokens`].
    pub async fn authorize(&self, auth_code: &Secret) -> Result<AuthorizerRecord, AuthorizationError> {
        self.authorize_at(auth_code, None).await
    }

    /// [`Onboarding::authorize`], recording `wechat_time` (the `authorized` push's `CreateTime`)
    /// as when the authorization happened, so that revocations are ordered by WeChat's clock.
    async fn authorize_at(
        &self,
        auth_code: &Secret,
        wechat_time: Option<Timestamp>,
    ) -> Result<AuthorizerRecord, AuthorizationError> {
        let info = self
            .with_component_token(|token| async move { self.wechat.query_auth(&token, auth_code).await })
            .await
            .map_err(AuthorizationError::from_call)?;
        let received_ms = self.now_ms();
        let issued_at = received_ms.div_euclid(1000);
        let appid = info.authorizer_appid.clone();
        let (Some(access_token), Some(refresh_token)) = (info.access_token, info.refresh_token) else {
            return Err(AuthorizationError::NoTokens(appid));
        };
        // The refresh token came from a single-use code and cannot be fetched again: store it
        // (and remember the code for the other path) before anything slow or fallible.
        let authorization = NewAuthorization {
            authorizer_appid: appid.clone(),
            access_token,
            expires_at: issued_at + info.expires_in,
            refresh_token,
            received_ms,
            authorized_at: wechat_time.unwrap_or(issued_at),
        };
        let record = self.save_or_keep_newer(&authorization).await?;
        self.store
            .remember_value(
                &MarkerKey::auth_code(auth_code),
                &record.authorizer_appid,
                AUTH_CODE_MEMORY_SECS,
                issued_at,
            )
            .await?;
        Ok(self.attach_profile(record, info.func_info).await)
    }

    /// Stores an authorization; when the store already holds a refresh token WeChat handed out
    /// later (a refresh or another authorization answered while ours was in flight), ours must
    /// not overwrite it, but the authorization itself happened: the stored record stands.
    async fn save_or_keep_newer(&self, authorization: &NewAuthorization) -> Result<AuthorizerRecord, StoreError> {
        let now = authorization.received_ms.div_euclid(1000);
        match self.store.save_authorization(authorization, now).await {
            Err(StoreError::ConditionFailed) => {
                tracing::info!(authorizer = %authorization.authorizer_appid, "a newer refresh token is already stored; keeping it");
                self.store.authorizer(&authorization.authorizer_appid).await?.ok_or(StoreError::NotFound)
            }
            other => other,
        }
    }

    /// An authorization from `api_authorizer_token`'s answer to `refresh_token` (WeChat's new
    /// refresh token when it returned one), received now.
    pub(super) fn authorization_from(
        &self,
        appid: &str,
        tokens: AuthorizerTokens,
        refresh_token: Secret,
        authorized_at: Option<Timestamp>,
    ) -> NewAuthorization {
        let received_ms = self.now_ms();
        NewAuthorization {
            authorizer_appid: appid.to_owned(),
            access_token: tokens.access_token,
            expires_at: received_ms.div_euclid(1000) + tokens.expires_in,
            refresh_token: tokens.refresh_token.unwrap_or(refresh_token),
            received_ms,
            authorized_at: authorized_at.unwrap_or(received_ms.div_euclid(1000)),
        }
    }

    /// The code was used but nothing stored it: WeChat lists the account with its current
    /// refresh token (`api_get_authorizer_list`); exchange it for tokens and store the account.
    /// `None` when WeChat does not list the account (not authorized any more).
    async fn recover_authorization(
        &self,
        appid: &str,
        wechat_time: Option<Timestamp>,
    ) -> Result<Option<AuthorizerRecord>, AuthorizationError> {
        tracing::warn!(authorizer = %appid, "authorization code used but nothing stored; recovering from api_get_authorizer_list");
        let Some(refresh_token) = self.find_listed_refresh_token(appid).await.map_err(AuthorizationError::from_call)?
        else {
            tracing::warn!(authorizer = %appid, "WeChat does not list the account: nothing to recover");
            return Ok(None);
        };
        let tokens = self
            .with_component_token(|token| {
                let refresh_token = refresh_token.clone();
                async move { self.wechat.authorizer_token(&token, appid, &refresh_token).await }
            })
            .await
            .map_err(AuthorizationError::from_call)?;
        let authorization = self.authorization_from(appid, tokens, refresh_token, wechat_time);
        let record = self.save_or_keep_newer(&authorization).await?;
        Ok(Some(self.attach_profile(record, Vec::new()).await))
    }

    /// Fetches the account's profile and stores it on `record` (conditional on its version).
    /// Best effort: the tokens are already stored, so a failure is logged and `record` returned.
    async fn attach_profile(&self, record: AuthorizerRecord, granted: Vec<i64>) -> AuthorizerRecord {
        let appid = record.authorizer_appid.clone();
        let profile = self
            .with_component_token(|token| {
                let appid = appid.clone();
                async move { self.wechat.authorizer_info(&token, &appid).await }
            })
            .await;
        match profile {
            Ok(mut profile) => {
                if profile.func_info.is_empty() {
                    profile.func_info = granted;
                }
                match self.store.update_profile(&appid, &profile, record.version, self.now()).await {
                    Ok(updated) => updated,
                    Err(err) => {
                        // Written meanwhile (a refresh, the other path): the tokens are stored;
                        // the profile follows with the next authorization.
                        tracing::warn!(authorizer = %appid, error = %err, "profile not stored");
                        record
                    }
                }
            }
            Err(err) => {
                tracing::warn!(authorizer = %appid, error = %err, "profile unavailable; tokens stored without it");
                record
            }
        }
    }

    /// [`Onboarding::authorize`], idempotent across the two paths that carry the same code (the
    /// browser callback and the `authorized` push): whichever comes first completes the
    /// authorization; for the other, a used code is not an error but
    /// [`Completion::AlreadyCompleted`]. When the code is used and neither path stored it, and
    /// the caller knows the account (`pushed`: the push names it, with WeChat's time), the
    /// account is recovered ([`Completion::Recovered`]).
    ///
    /// # Errors
    /// As [`Onboarding::authorize`]; 61009/61010 only when the code was never completed by us and
    /// cannot be recovered.
    pub async fn complete_authorization(
        &self,
        auth_code: &Secret,
        pushed: Option<(&str, Timestamp)>,
    ) -> Result<Completion, AuthorizationError> {
        let wechat_time = pushed.map(|(_, time)| time);
        let err = match self.authorize_at(auth_code, wechat_time).await {
            Ok(record) => return Ok(Completion::Completed(record)),
            Err(AuthorizationError::CodeInvalid(err)) => err,
            Err(err) => return Err(err),
        };
        // The other path may be storing the account right now: wait for it briefly.
        let deadline = tokio::time::Instant::now() + OTHER_PATH_WAIT;
        loop {
            if let Some(appid) = self.store.recall(&MarkerKey::auth_code(auth_code), self.now()).await? {
                let mut record = self.store.authorizer(&appid).await?.ok_or(StoreError::NotFound)?;
                if record.profile == AuthorizerProfile::default() {
                    // The other path stored the tokens and is still (or failed) fetching the
                    // profile; the admin's page should name the account.
                    record = self.attach_profile(record, Vec::new()).await;
                }
                return Ok(Completion::AlreadyCompleted(record));
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        match pushed {
            Some((appid, _)) => match self.recover_authorization(appid, wechat_time).await? {
                Some(record) => {
                    // So that the admin's reloaded callback page can say the account is authorized.
                    self.store
                        .remember_value(&MarkerKey::auth_code(auth_code), appid, AUTH_CODE_MEMORY_SECS, self.now())
                        .await?;
                    Ok(Completion::Recovered(record))
                }
                None => Err(AuthorizationError::CodeInvalid(err)),
            },
            None => Err(AuthorizationError::CodeInvalid(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AuthorizationError, Completion};
    use crate::secret::Secret;
    use crate::service::testing::{ACCOUNT, world};
    use crate::store::AuthorizerStore;

    #[tokio::test]
    async fn a_code_is_exchanged_once_and_the_refresh_token_wechat_issued_is_kept() {
        let w = world().await;
        let onboarding = w.platform.onboarding();
        // The admin authorizes again: WeChat issues a new refresh token (the old one stops working).
        let (code, _) = w.standin.authorize_quietly(ACCOUNT, None).expect("authorized at WeChat");
        let first = onboarding.complete_authorization(&Secret::new(code.clone()), None).await.expect("completed");
        assert!(matches!(first, Completion::Completed(_)), "{first:?}");
        let kept = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert_eq!(Some(kept.refresh_token.expose().to_owned()), w.standin.refresh_token_of(ACCOUNT));

        // The other path (the push, the browser) brings the same code: nothing redone.
        let exchanges = w.standin.calls("api_query_auth");
        let second = onboarding.complete_authorization(&Secret::new(code), None).await.expect("known");
        assert!(matches!(second, Completion::AlreadyCompleted(ref r) if r.authorizer_appid == ACCOUNT), "{second:?}");
        assert_eq!(w.standin.calls("api_query_auth"), exchanges + 1, "WeChat refused the used code once");
        let again = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert_eq!(again.refresh_token.expose(), kept.refresh_token.expose(), "the kept token untouched");
    }

    #[tokio::test]
    async fn a_code_wechat_never_issued_is_refused_and_stores_nothing() {
        let w = world().await;
        let before = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        let refused =
            w.platform.onboarding().complete_authorization(&Secret::new("queryauthcode@@@unknown"), None).await;
        assert!(matches!(refused, Err(AuthorizationError::CodeInvalid(_))), "{refused:?}");
        let after = w.platform.store.authorizer(ACCOUNT).await.expect("read").expect("kept");
        assert_eq!(after.refresh_token.expose(), before.refresh_token.expose());
    }
}
