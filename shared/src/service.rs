//! The business steps the functions call, written against the store ports and the WeChat client.
//!
//! - [`Platform::component_token`]: read the stored token; refresh it from the newest verify
//!   ticket under the store's lease when it expires within the margin.
//! - [`Platform::with_component_token`]: run a call with the token; on 40001/40014/42001 refresh
//!   (only if the rejected token is still the stored one) and retry once.
//! - [`Platform::create_pre_auth_code`]: a fresh, single-use code per authorization link.
//! - [`Platform::authorize`]: auth_code → `api_query_auth` → `api_get_authorizer_info` → one
//!   store write. The refresh token is persisted even when the profile cannot be fetched.
//! - [`Platform::refresh_authorizer`]: `api_authorizer_token` under a per-account lease, the
//!   returned refresh token persisted; on 61023 recovery through `api_get_authorizer_list`, then
//!   `needs_reauthorization`.

use std::future::Future;
use std::sync::Arc;

use crate::secret::Secret;
use crate::store::component::{RefreshPolicy, TokenError, holder_id, token_or_refresh, unix_now_ms};
use crate::store::{
    AuthorizerProfile, AuthorizerRecord, AuthorizerStatus, NewAuthorization, StoreError, Timestamp, TokenRefresh,
    TokenStore,
};
use crate::wechat::{ApiError, ErrorKind, IssuedToken, WeChatClient};

/// Why a business step failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No `component_verify_ticket` has been stored yet: nothing can call WeChat until one arrives
    /// (up to 10 minutes after the platform goes live).
    #[error("no component_verify_ticket has arrived yet")]
    NoTicket,
    /// WeChat refused or failed.
    #[error(transparent)]
    WeChat(#[from] ApiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another caller held the component-token lease for too long.
    #[error("another caller is refreshing the component token")]
    Busy,
    /// `api_query_auth` returned no access or refresh token (the account granted no API set).
    #[error("authorization of {0} returned no tokens")]
    NoTokens(String),
}

impl From<TokenError<ServiceError>> for ServiceError {
    fn from(err: TokenError<ServiceError>) -> Self {
        match err {
            TokenError::Store(err) => Self::Store(err),
            TokenError::Refresh(err) => err,
            TokenError::Busy => Self::Busy,
        }
    }
}

/// How an authorization code was completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// This call exchanged the code and stored the account.
    Completed(AuthorizerRecord),
    /// The code had already been exchanged by the other path (the `authorized` push or the
    /// browser callback): nothing to redo; the owner was bound when one was given.
    AlreadyCompleted(AuthorizerRecord),
}

impl Authorization {
    /// The stored account.
    pub fn record(&self) -> &AuthorizerRecord {
        match self {
            Self::Completed(record) | Self::AlreadyCompleted(record) => record,
        }
    }
}

/// How long the code → account mapping is kept (codes live 10 minutes).
const AUTH_CODE_MEMORY_SECS: i64 = 3600;

fn auth_code_key(code: &Secret) -> String {
    format!("authcode|{}", crate::crypto::signature(&[code.expose()]))
}

/// What happened to one authorizer in a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// New tokens stored.
    Refreshed(AuthorizerRecord),
    /// The refresh token was refused (61023) but the one from `api_get_authorizer_list` worked.
    Recovered(AuthorizerRecord),
    /// Its token is not due (another run refreshed it first).
    NotDue,
    /// Another run holds this account's lease, or wrote first.
    Busy,
    /// Not authorized any more (revoked, needs re-authorization, unknown).
    NotAuthorized,
    /// 61023 and no working refresh token could be recovered: marked `needs_reauthorization`.
    NeedsReauthorization(AuthorizerRecord),
}

/// Clock used by the services, in Unix **milliseconds** (refresh tokens are ordered by when
/// WeChat's answer arrived, finer than seconds); tests inject one that can be advanced.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The store, the WeChat client and the policies, built once per cold start.
pub struct Platform<S> {
    /// The token store.
    pub store: S,
    /// The WeChat API client.
    pub wechat: WeChatClient,
    /// How eagerly the component token is refreshed.
    pub policy: RefreshPolicy,
    clock: Clock,
}

impl<S: TokenStore> Platform<S> {
    /// A platform on the system clock.
    pub fn new(store: S, wechat: WeChatClient) -> Self {
        Self::with_clock(store, wechat, Arc::new(unix_now_ms))
    }

    /// A platform on an injected clock.
    pub fn with_clock(store: S, wechat: WeChatClient, clock: Clock) -> Self {
        Self { store, wechat, policy: RefreshPolicy::default(), clock }
    }

    /// Now, by this platform's clock, in seconds.
    pub fn now(&self) -> Timestamp {
        self.now_ms().div_euclid(1000)
    }

    /// Now, by this platform's clock, in milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// A component access token valid for at least the policy's margin. `stale`: a token WeChat
    /// just rejected.
    ///
    /// # Errors
    /// [`ServiceError::NoTicket`] before the first ticket; WeChat, store and lease failures.
    pub async fn component_token(&self, stale: Option<&Secret>) -> Result<Secret, ServiceError> {
        let refresh = || async {
            let ticket = self.store.verify_ticket().await?.ok_or(ServiceError::NoTicket)?;
            let issued = self.wechat.component_token(&ticket.ticket).await?;
            tracing::info!(expires_in = issued.expires_in, "component_access_token refreshed");
            Ok::<_, ServiceError>((issued.token, issued.expires_in))
        };
        let clock = || self.now();
        // A holder id per call, not per process: two concurrent calls in one process must not
        // mistake each other's lease for their own.
        let holder = holder_id();
        let token = token_or_refresh(&self.store, clock, &holder, &self.policy, stale, refresh).await?;
        Ok(token.token)
    }

    /// Runs `call` with the component token; when WeChat says the token is invalid or expired,
    /// refreshes it (once across all callers) and retries once.
    ///
    /// # Errors
    /// As [`Platform::component_token`], or the call's own error.
    pub async fn with_component_token<T, F, Fut>(&self, call: F) -> Result<T, ServiceError>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.component_token(None).await?;
        match call(token.clone()).await {
            Err(err) if err.kind() == ErrorKind::TokenInvalid => {
                tracing::warn!(call = err.call(), errcode = err.errcode(), "component token rejected; refreshing once");
                let token = self.component_token(Some(&token)).await?;
                Ok(call(token).await?)
            }
            other => Ok(other?),
        }
    }

    /// A fresh pre-authorization code (they are single-use: one per link or page view).
    ///
    /// # Errors
    /// As [`Platform::with_component_token`].
    pub async fn create_pre_auth_code(&self) -> Result<IssuedToken, ServiceError> {
        self.with_component_token(|token| async move { self.wechat.create_pre_auth_code(&token).await }).await
    }

    /// Completes an authorization from its single-use `auth_code`: tokens from `api_query_auth`,
    /// the profile from `api_get_authorizer_info`, one store write. A failing profile fetch does
    /// not lose the tokens: they are stored without it.
    ///
    /// # Errors
    /// 61009/61010 (used or expired code) as [`ServiceError::WeChat`]; store failures;
    /// [`ServiceError::NoTokens`].
    pub async fn authorize(&self, auth_code: &Secret, owner: Option<&str>) -> Result<AuthorizerRecord, ServiceError> {
        let info =
            self.with_component_token(|token| async move { self.wechat.query_auth(&token, auth_code).await }).await?;
        let received_ms = self.now_ms();
        let issued_at = received_ms.div_euclid(1000);
        let appid = info.authorizer_appid.clone();
        let (Some(access_token), Some(refresh_token)) = (info.access_token, info.refresh_token) else {
            return Err(ServiceError::NoTokens(appid));
        };
        // The refresh token came from a single-use code and cannot be fetched again: store it
        // (and remember the code for the other path) before anything slow or fallible.
        let authorization = NewAuthorization {
            authorizer_appid: appid.clone(),
            access_token,
            expires_at: issued_at + info.expires_in,
            refresh_token,
            received_ms,
            profile: None,
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
            .remember_value(&auth_code_key(auth_code), &record.authorizer_appid, AUTH_CODE_MEMORY_SECS, issued_at)
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
    /// [`Authorization::AlreadyCompleted`], with `owner` bound when given.
    ///
    /// # Errors
    /// As [`Platform::authorize`]; 61009/61010 only when the code was never completed by us.
    pub async fn complete_authorization(
        &self,
        auth_code: &Secret,
        owner: Option<&str>,
    ) -> Result<Authorization, ServiceError> {
        match self.authorize(auth_code, owner).await {
            Ok(record) => Ok(Authorization::Completed(record)),
            Err(ServiceError::WeChat(err)) if err.kind() == ErrorKind::AuthCodeInvalid => {
                // The other path may be storing the account right now: wait for it briefly.
                for _ in 0..10 {
                    if let Some(appid) = self.store.recall(&auth_code_key(auth_code), self.now()).await? {
                        let mut record = self.stored_for(&appid, owner).await?;
                        if record.profile == AuthorizerProfile::default() {
                            // The other path stored the tokens and is still (or failed) fetching
                            // the profile; the admin's page should name the account.
                            record = self.attach_profile(record, Vec::new()).await;
                        }
                        return Ok(Authorization::AlreadyCompleted(record));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
                Err(ServiceError::WeChat(err))
            }
            Err(err) => Err(err),
        }
    }

    /// Refreshes one authorizer's access token if it expires within `margin` seconds, under a
    /// per-account lease so concurrent runs never spend the same refresh token twice.
    ///
    /// # Errors
    /// Store failures and WeChat failures other than 61023 (which has its own outcome).
    pub async fn refresh_authorizer(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, ServiceError> {
        let now = self.now();
        let lease = format!("authorizer#{appid}");
        let holder = holder_id();
        if !self.store.acquire_lease(&lease, &holder, now + 30, now).await? {
            return Ok(RefreshOutcome::Busy);
        }
        let outcome = self.refresh_leased(appid, margin).await;
        if let Err(err) = self.store.release_lease(&lease, &holder).await {
            tracing::warn!(authorizer = %appid, error = %err, "could not release the refresh lease; it will expire");
        }
        outcome
    }

    async fn refresh_leased(&self, appid: &str, margin: i64) -> Result<RefreshOutcome, ServiceError> {
        let Some(record) = self.store.authorizer(appid).await? else {
            return Ok(RefreshOutcome::NotAuthorized);
        };
        if record.status != AuthorizerStatus::Authorized {
            return Ok(RefreshOutcome::NotAuthorized);
        }
        if record.expires_at - margin > self.now() {
            return Ok(RefreshOutcome::NotDue);
        }
        let refreshed = self
            .with_component_token(|token| {
                let refresh_token = record.refresh_token.clone();
                async move { self.wechat.authorizer_token(&token, appid, &refresh_token).await }
            })
            .await;
        match refreshed {
            Ok(tokens) => {
                Ok(self.store_tokens(&record, tokens).await?.map_or(RefreshOutcome::Busy, RefreshOutcome::Refreshed))
            }
            Err(ServiceError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {
                self.recover(&record).await
            }
            Err(err) => Err(err),
        }
    }

    /// 61023: WeChat's staff advise re-reading the refresh token from `api_get_authorizer_list`.
    async fn recover(&self, record: &AuthorizerRecord) -> Result<RefreshOutcome, ServiceError> {
        let appid = record.authorizer_appid.as_str();
        tracing::warn!(authorizer = %appid, "refresh token refused (61023); trying api_get_authorizer_list");
        let listed = self.find_listed_refresh_token(appid).await?;
        if let Some(refresh_token) = listed.filter(|t| *t != record.refresh_token) {
            let retried = self
                .with_component_token(|token| {
                    let refresh_token = refresh_token.clone();
                    async move { self.wechat.authorizer_token(&token, appid, &refresh_token).await }
                })
                .await;
            match retried {
                Ok(mut tokens) => {
                    tokens.refresh_token = tokens.refresh_token.or(Some(refresh_token));
                    return Ok(self
                        .store_tokens(record, tokens)
                        .await?
                        .map_or(RefreshOutcome::Busy, RefreshOutcome::Recovered));
                }
                Err(ServiceError::WeChat(err)) if err.kind() == ErrorKind::RefreshTokenInvalid => {}
                Err(err) => return Err(err),
            }
        }
        match self.store.mark_needs_reauthorization(appid, record.version, self.now()).await {
            Ok(marked) => {
                tracing::error!(authorizer = %appid, "refresh token unrecoverable: the admin must authorize again");
                Ok(RefreshOutcome::NeedsReauthorization(marked))
            }
            Err(StoreError::ConditionFailed) => Ok(RefreshOutcome::Busy),
            Err(err) => Err(err.into()),
        }
    }

    async fn find_listed_refresh_token(&self, appid: &str) -> Result<Option<Secret>, ServiceError> {
        const PAGE: u32 = 500;
        let mut offset = 0;
        loop {
            let page = self
                .with_component_token(|token| async move { self.wechat.authorizer_list(&token, offset, PAGE).await })
                .await?;
            if let Some(row) = page.list.iter().find(|row| row.authorizer_appid == appid) {
                return Ok(row.refresh_token.clone());
            }
            let fetched = u32::try_from(page.list.len()).unwrap_or(u32::MAX);
            offset = offset.saturating_add(fetched);
            if fetched == 0 || i64::from(offset) >= page.total_count {
                return Ok(None);
            }
        }
    }

    /// Stores refreshed tokens, retrying when the version moved on under us but our tokens are
    /// still the newest: an unrelated write (profile, owner), or — when WeChat returned a refresh
    /// token — a re-authorization answered before our refresh (often carrying the very token we
    /// just spent; WeChat may have rotated it, and the new one must not be dropped). The store's
    /// condition refuses any token received before the stored one, so the retry cannot regress.
    /// `None` when the account was revoked, or re-authorized with newer tokens, meanwhile.
    async fn store_tokens(
        &self,
        record: &AuthorizerRecord,
        tokens: crate::wechat::AuthorizerTokens,
    ) -> Result<Option<AuthorizerRecord>, StoreError> {
        let received_ms = self.now_ms();
        let now = received_ms.div_euclid(1000);
        let mut refresh = TokenRefresh {
            authorizer_appid: record.authorizer_appid.clone(),
            expected_version: record.version,
            access_token: tokens.access_token,
            expires_at: now + tokens.expires_in,
            refresh_token: tokens.refresh_token,
            received_ms,
        };
        for _ in 0..3 {
            match self.store.update_tokens(&refresh, now).await {
                Ok(stored) => return Ok(Some(stored)),
                Err(StoreError::ConditionFailed) => {
                    let Some(current) = self.store.authorizer(&record.authorizer_appid).await? else {
                        return Ok(None);
                    };
                    let ours_newest = current.status == AuthorizerStatus::Authorized
                        && if refresh.refresh_token.is_some() {
                            current.refresh_token_received_ms <= received_ms
                        } else {
                            current.refresh_token == record.refresh_token
                                && current.refresh_token_received_ms == record.refresh_token_received_ms
                        };
                    if !ours_newest {
                        return Ok(None);
                    }
                    refresh.expected_version = current.version;
                }
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }
}
