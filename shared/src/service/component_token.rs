//! Getting the component access token, refreshing it under a lease so that one caller at a time
//! calls WeChat while every other caller reads the stored token or waits briefly.
//!
//! WeChat counts `api_component_token` calls against a daily quota and invalidates the previous
//! token shortly after issuing a new one, so a stampede of Lambdas refreshing at once both burns
//! quota and breaks each other's tokens. The lease is a DynamoDB item with an expiry: a holder
//! that crashes simply lets it run out.

use std::future::Future;
use std::time::{Duration, Instant};

use super::Platform;
use crate::secret::{Secret, random_bytes};
use crate::service::ComponentStore;
use crate::store::{ComponentToken, ComponentTokenStore, LeaseName, StoreError, Timestamp};
use crate::wechat::{ApiError, ErrorKind, IssuedToken};

/// How eagerly and how patiently to refresh.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Refresh when the token expires within this many seconds (WeChat suggests ~10 minutes early).
    pub margin: i64,
    /// How long a lease lasts; longer than one refresh call can take.
    pub lease_secs: i64,
    /// Pause between reads while another caller holds the lease.
    pub poll: Duration,
    /// Give up waiting for another caller's refresh after this long (inside WeChat's 5 s).
    pub max_wait: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self { margin: 600, lease_secs: 15, poll: Duration::from_millis(100), max_wait: Duration::from_millis(2500) }
    }
}

/// Why no token could be produced.
#[derive(Debug, thiserror::Error)]
pub enum TokenError<E> {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The refresh itself (the WeChat call) failed.
    #[error("refresh failed: {0}")]
    Refresh(E),
    /// Another caller held the lease for longer than `max_wait` and no usable token exists.
    #[error("another caller is refreshing the token")]
    Busy,
}

/// A lease holder id, unique per call: two concurrent calls in one process must not mistake
/// each other's lease for their own.
pub(crate) fn holder_id() -> String {
    random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns a component token valid for at least `policy.margin` seconds, refreshing it with
/// `refresh` (which returns the new token and its `expires_in`) when needed.
///
/// `stale`: a token the caller saw WeChat reject (40001 / 42001). It is refreshed only if it is
/// still the stored one, so a rejection seen by many callers at once leads to one refresh.
///
/// # Errors
/// [`TokenError::Store`], [`TokenError::Refresh`], or [`TokenError::Busy`] when another caller
/// holds the lease past `max_wait` and the stored token is unusable.
pub async fn token_or_refresh<S, C, F, Fut, E>(
    store: &S,
    clock: C,
    holder: &str,
    policy: &RefreshPolicy,
    stale: Option<&Secret>,
    refresh: F,
) -> Result<ComponentToken, TokenError<E>>
where
    S: ComponentTokenStore,
    C: Fn() -> Timestamp,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(Secret, i64), E>>,
{
    let deadline = Instant::now() + policy.max_wait;
    loop {
        let now = clock();
        let current = store.component_token().await?;
        if let Some(token) = current.as_ref().filter(|t| usable(t, now, policy.margin, stale)) {
            return Ok(token.clone());
        }
        if store.acquire_lease(&LeaseName::component_token(), holder, now + policy.lease_secs, now).await? {
            let outcome = refresh_under_lease(store, &clock, policy, stale, &refresh).await;
            if let Err(err) = store.release_lease(&LeaseName::component_token(), holder).await {
                tracing::warn!(error = %err, "could not release the component token lease; it will expire");
            }
            match outcome {
                // Someone wrote a token although we held the lease (ours had expired): use theirs.
                Err(TokenError::Store(StoreError::ConditionFailed)) => continue,
                other => return other,
            }
        }
        // Another caller is refreshing: a token that still works beats waiting.
        if let Some(token) = current.filter(|t| usable(t, now, 0, stale)) {
            return Ok(token);
        }
        if Instant::now() >= deadline {
            return Err(TokenError::Busy);
        }
        tokio::time::sleep(policy.poll).await;
    }
}

/// A token still valid `margin` seconds from `now` that is not the one a caller saw rejected.
fn usable(token: &ComponentToken, now: Timestamp, margin: i64, stale: Option<&Secret>) -> bool {
    token.expires_at - margin > now && stale.is_none_or(|bad| *bad != token.token)
}

async fn refresh_under_lease<S, C, F, Fut, E>(
    store: &S,
    clock: &C,
    policy: &RefreshPolicy,
    stale: Option<&Secret>,
    refresh: &F,
) -> Result<ComponentToken, TokenError<E>>
where
    S: ComponentTokenStore,
    C: Fn() -> Timestamp,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(Secret, i64), E>>,
{
    // Re-read under the lease: the previous holder may have just stored a fresh token.
    let current = store.component_token().await?;
    let now = clock();
    if let Some(token) = current.as_ref().filter(|t| usable(t, now, policy.margin, stale)) {
        return Ok(token.clone());
    }
    let (token, expires_in) = refresh().await.map_err(TokenError::Refresh)?;
    let stored = store.put_component_token(&token, now + expires_in, current.map(|t| t.version), now).await?;
    Ok(stored)
}

/// Why a WeChat call made with the component token failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No `component_verify_ticket` has been stored yet: nothing can call WeChat until one arrives
    /// (up to 10 minutes after the platform goes live).
    #[error("no component_verify_ticket has arrived yet")]
    NoTicket,
    /// Another caller held the component-token lease for too long.
    #[error("another caller is refreshing the component token")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// WeChat refused or failed (the token refresh or the call itself).
    #[error(transparent)]
    WeChat(#[from] ApiError),
    /// An account change was not handed off to the bus (it is retried: `refresh.rs`).
    #[error(transparent)]
    Bus(#[from] crate::bus::PublishError),
}

impl From<TokenError<CallError>> for CallError {
    fn from(err: TokenError<CallError>) -> Self {
        match err {
            TokenError::Store(err) => Self::Store(err),
            TokenError::Refresh(err) => err,
            TokenError::Busy => Self::Busy,
        }
    }
}

impl CallError {
    /// WeChat's answer, when WeChat is what failed.
    pub fn wechat(&self) -> Option<&ApiError> {
        match self {
            Self::WeChat(err) => Some(err),
            _ => None,
        }
    }
}

impl<S: ComponentStore> Platform<S> {
    /// A component access token valid for at least the policy's margin: the stored one, or one
    /// refreshed from the newest verify ticket under the store's lease. `stale`: a token WeChat
    /// just rejected.
    ///
    /// # Errors
    /// [`CallError::NoTicket`] before the first ticket; WeChat, store and lease failures.
    pub async fn component_token(&self, stale: Option<&Secret>) -> Result<Secret, CallError> {
        let refresh = || async {
            let ticket = self.store.verify_ticket().await?.ok_or(CallError::NoTicket)?;
            let issued = self.wechat.component_token(&ticket.ticket).await?;
            tracing::info!(expires_in = issued.expires_in, "component_access_token refreshed");
            Ok::<_, CallError>((issued.token, issued.expires_in))
        };
        let clock = || self.now();
        let token = token_or_refresh(&self.store, clock, &holder_id(), &self.policy, stale, refresh).await?;
        Ok(token.token)
    }

    /// The stored component token's version, if any (the refresher reports whether its run
    /// refreshed the token).
    pub(crate) async fn component_token_version(&self) -> Option<u64> {
        self.store.component_token().await.ok().flatten().map(|t| t.version)
    }

    /// Runs `call` with the component token; when WeChat says the token is invalid or expired,
    /// refreshes it (once across all callers) and retries once.
    ///
    /// # Errors
    /// As [`Platform::component_token`], or the call's own error.
    pub(crate) async fn with_component_token<T, F, Fut>(&self, call: F) -> Result<T, CallError>
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
    /// As `Platform::with_component_token`.
    pub async fn create_pre_auth_code(&self) -> Result<IssuedToken, CallError> {
        self.with_component_token(|token| async move { self.wechat.create_pre_auth_code(&token).await }).await
    }
}

#[cfg(test)]
mod tests {
    use futures_util::future::join_all;

    use super::CallError;
    use crate::service::testing::world;

    #[tokio::test]
    async fn the_component_token_is_made_once_for_many_callers_and_again_only_when_wechat_rejects_it() {
        let w = world().await;
        // world() authorized an account: the token exists already.
        let made = w.standin.calls("api_component_token");
        assert_eq!(made, 1);
        let tokens = join_all((0..10).map(|_| w.platform.component_token(None))).await;
        let tokens: Vec<String> = tokens.into_iter().map(|t| t.expect("a token").expose().to_owned()).collect();
        assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
        assert_eq!(w.standin.calls("api_component_token"), made, "the kept one, still fresh");

        // WeChat rejected it (rotated early, say): one refresh, whoever else reports the same token.
        let stale = crate::secret::Secret::new(tokens[0].clone());
        let fresh = join_all((0..5).map(|_| w.platform.component_token(Some(&stale)))).await;
        let fresh: Vec<String> = fresh.into_iter().map(|t| t.expect("a token").expose().to_owned()).collect();
        assert!(fresh.iter().all(|t| *t == fresh[0] && *t != tokens[0]), "one new token");
        assert_eq!(w.standin.calls("api_component_token"), made + 1, "refreshed once");
    }

    #[tokio::test]
    async fn no_token_is_made_before_wechat_pushed_a_ticket() {
        let platform = crate::service::Platform::for_tests(std::sync::Arc::new(|| 1_800_000_000_000));
        assert!(matches!(platform.component_token(None).await, Err(CallError::NoTicket)));
    }
}
