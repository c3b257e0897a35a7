//! Authorization: a single-use `auth_code` becomes a stored account, whichever of its two paths
//! comes first (the admin's browser at auth-callback, the `authorized` push at ticket-receiver),
//! and the signed, single-use state binds it to the dashboard user who started it.
//!
//! The sequence (`docs/architecture.md`, "auth-callback" and "ticket-receiver"):
//! 1. `api_query_auth` with the code (component token; 61009/61010 = used or expired);
//! 2. one conditional write of the tokens and the owner: the refresh token cannot be fetched
//!    again, so it is stored before anything slow or fallible; a newer stored refresh token wins;
//! 3. the code is remembered for an hour (which account it authorized), for the other path;
//! 4. `api_get_authorizer_info`, best effort, stored conditionally on the version of step 2.
//!
//! The path that finds the code used waits briefly for the other to remember it, then answers
//! with the stored account ([`Completion::AlreadyCompleted`]), binding the owner when it has one.

use super::Platform;
use crate::auth_state::StateError;
use crate::secret::Secret;
use crate::store::{AuthorizerProfile, AuthorizerRecord, MarkerKey, NewAuthorization, StoreError, TokenStore};
use crate::wechat::{ApiError, ErrorKind};

use super::CallError;

/// How long the code → account mapping is kept (codes live 10 minutes).
const AUTH_CODE_MEMORY_SECS: i64 = 3600;

/// How an authorization code was completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// This call exchanged the code and stored the account.
    Completed(AuthorizerRecord),
    /// The code had already been exchanged by the other path (the `authorized` push or the
    /// browser callback): nothing to redo; the owner was bound when one was given.
    AlreadyCompleted(AuthorizerRecord),
}

impl Completion {
    /// The stored account.
    pub fn record(&self) -> &AuthorizerRecord {
        match self {
            Self::Completed(record) | Self::AlreadyCompleted(record) => record,
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
    /// No usable `auth_code` came with it.
    #[error("no authorization code")]
    NoCode,
    /// Completing the code failed.
    #[error(transparent)]
    Authorization(#[from] AuthorizationError),
}

impl<S: TokenStore> Platform<S> {
    /// The admin's browser came back with `state` and `code`: the state is verified (ours, not
    /// expired, not used) before WeChat is called, the code completed for the state's user, and
    /// the state marked used.
    ///
    /// # Errors
    /// [`CallbackError`]: the state's problems first, then the code's.
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
        let state_key = MarkerKey::auth_state(&claims.nonce);
        if self.store.recall(&state_key, now).await.map_err(AuthorizationError::Store)?.is_some() {
            return Err(CallbackError::StateUsed);
        }
        let code = code.ok_or(CallbackError::NoCode)?;
        let completed = self.complete_authorization(&code, Some(&claims.user)).await?;
        let record = completed.record().clone();
        let ttl = (claims.expires_at - now).max(60);
        if let Err(err) = self.store.remember_value(&state_key, &record.authorizer_appid, ttl, now).await {
            tracing::warn!(error = %err, "could not mark the state used; the code is single-use anyway");
        }
        tracing::info!(authorizer = %record.authorizer_appid, user = %claims.user, "authorized");
        Ok(record)
    }

    /// Completes an authorization from its single-use `auth_code`: tokens from `api_query_auth`,
    /// the profile from `api_get_authorizer_info`, one store write. A failing profile fetch does
    /// not lose the tokens: they are stored without it.
    ///
    /// # Errors
    /// 61009/61010 (used or expired code) as [`AuthorizationError::CodeInvalid`]; store
    /// failures; [`AuthorizationError::NoTokens`].
    pub async fn authorize(
        &self,
        auth_code: &Secret,
        owner: Option<&str>,
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
            owner: owner.map(str::to_owned),
        };
        let record = match self.store.save_authorization(&authorization, issued_at).await {
            Ok(record) => record,
            Err(StoreError::ConditionFailed) => {
                // The store already holds a refresh token WeChat handed out later (a refresh or
                // another authorization answered while ours was in flight): ours must not
                // overwrite it, but the authorization itself happened. Carry on with the stored
                // record rather than failing a push WeChat would retry or telling the admin the
                // code was used.
                tracing::info!(authorizer = %appid, "a newer refresh token is already stored; keeping it");
                self.stored_for(&appid, owner).await?
            }
            Err(err) => return Err(err.into()),
        };
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

    /// The stored record of an account another write already authorized, bound to `owner` when
    /// the authorization carried one (the dashboard user whose link it was).
    async fn stored_for(&self, appid: &str, owner: Option<&str>) -> Result<AuthorizerRecord, StoreError> {
        match owner {
            Some(owner) => self.store.set_owner(appid, owner, self.now()).await,
            None => self.store.authorizer(appid).await?.ok_or(StoreError::NotFound),
        }
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

    /// [`Platform::authorize`], idempotent across the two paths that carry the same code (the
    /// browser callback and the `authorized` push): whichever comes first completes the
    /// authorization; for the other, a used code is not an error but
    /// [`Completion::AlreadyCompleted`], with `owner` bound when given.
    ///
    /// # Errors
    /// As [`Platform::authorize`]; 61009/61010 only when the code was never completed by us.
    pub async fn complete_authorization(
        &self,
        auth_code: &Secret,
        owner: Option<&str>,
    ) -> Result<Completion, AuthorizationError> {
        match self.authorize(auth_code, owner).await {
            Ok(record) => Ok(Completion::Completed(record)),
            Err(AuthorizationError::CodeInvalid(err)) => {
                // The other path may be storing the account right now: wait for it briefly.
                for _ in 0..10 {
                    if let Some(appid) = self.store.recall(&MarkerKey::auth_code(auth_code), self.now()).await? {
                        let mut record = self.stored_for(&appid, owner).await?;
                        if record.profile == AuthorizerProfile::default() {
                            // The other path stored the tokens and is still (or failed) fetching
                            // the profile; the admin's page should name the account.
                            record = self.attach_profile(record, Vec::new()).await;
                        }
                        return Ok(Completion::AlreadyCompleted(record));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
                Err(AuthorizationError::CodeInvalid(err))
            }
            Err(err) => Err(err),
        }
    }
}
