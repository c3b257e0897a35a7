//! Getting the component access token, refreshing it under a lease so that one caller at a time
//! calls WeChat while every other caller reads the stored token or waits briefly.
//!
//! WeChat counts `api_component_token` calls against a daily quota and invalidates the previous
//! token shortly after issuing a new one, so a stampede of Lambdas refreshing at once both burns
//! quota and breaks each other's tokens. The lease is a DynamoDB item with an expiry: a holder
//! that crashes simply lets it run out.

use std::future::Future;
use std::time::{Duration, Instant};

use super::{ComponentToken, ComponentTokenStore, StoreError, Timestamp};
use crate::secret::Secret;

/// The lease that serialises component token refreshes.
pub const LEASE: &str = "component_token";

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

/// A fresh id for a lease holder: one per invocation, so a retried Lambda never mistakes another
/// invocation's lease for its own.
pub fn holder_id() -> String {
    let mut bytes = [0u8; 8];
    // On the (theoretical) failure of the OS RNG, fall back to time and process id: uniqueness,
    // not secrecy, is what matters here.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes =
            (u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0) ^ u64::from(std::process::id())).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        if store.acquire_lease(LEASE, holder, now + policy.lease_secs, now).await? {
            let outcome = refresh_under_lease(store, &clock, policy, stale, &refresh).await;
            if let Err(err) = store.release_lease(LEASE, holder).await {
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

/// Seconds since the Unix epoch, from the system clock.
pub fn unix_now() -> Timestamp {
    unix_now_ms().div_euclid(1000)
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
