//! Per-identity limits, kept in the table: what one dashboard user or one backend may do in a
//! window, so that no tenant can spend what all of them share: the component's daily
//! `pre_auth_code` quota, WeChat's send capacity, the platform's own throughput. API Gateway's
//! throttles are per route and shared by everyone; these are per caller.
//!
//! Each limit counts in fixed windows (one atomic `UpdateItem` per counted action, the window in
//! the key, so a counter expires with its window): at a window's edge a caller may get up to twice
//! the allowance within one window's length, which is what a fixed window trades for one write.

use super::Platform;
use crate::crypto::signature;
use crate::store::{MarkerKey, MarkerStore, StoreError};

/// What one identity may do in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What is counted, as answers and logs name it.
    pub name: &'static str,
    /// How many per window.
    pub max: u64,
    /// The window, in seconds.
    pub window_secs: i64,
}

/// `pre_auth_code`s one dashboard user may have minted (each opened start link or authorization
/// page mints one): the component's daily quota for `api_create_preauthcode` is shared by every
/// tenant of the platform.
pub const PRE_AUTH_CODES: Limit = Limit { name: "pre_auth_code", max: 20, window_secs: 600 };
/// Customer-service and template messages one caller may send (WeChat's own per-account limits
/// still apply on top).
pub const SENDS: Limit = Limit { name: "send", max: 1200, window_secs: 60 };
/// Web-authorization starts one caller may mint.
pub const WEB_STARTS: Limit = Limit { name: "web_start", max: 600, window_secs: 60 };
/// Web-authorization tickets one caller may redeem (tickets found; a miss stores nothing).
pub const WEB_REDEMPTIONS: Limit = Limit { name: "web_ticket", max: 600, window_secs: 60 };

/// Every limit, as documented (`docs/contract.md`, "Limits").
pub const LIMITS: [Limit; 4] = [PRE_AUTH_CODES, SENDS, WEB_STARTS, WEB_REDEMPTIONS];

/// A caller over a limit: nothing was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{limit}: at most {max} per {window_secs} s for one caller; again in {retry_after} s")]
pub struct Limited {
    /// The limit's name.
    pub limit: &'static str,
    /// Its allowance per window.
    pub max: u64,
    /// Its window.
    pub window_secs: i64,
    /// Seconds until the window ends.
    pub retry_after: i64,
}

/// Why an action could not be counted: over the limit, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    /// Over the limit.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// The store failed (nothing is done without its count).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<S: MarkerStore> Platform<S> {
    /// Counts one of `identity`'s `limit`: `Ok` while within it.
    ///
    /// # Errors
    /// [`SpendError::Limited`] over the limit (the count stays spent: retrying early does not
    /// help); [`SpendError::Store`].
    pub(super) async fn spend(&self, limit: Limit, identity: &str) -> Result<(), SpendError> {
        let now = self.now();
        let window = now.div_euclid(limit.window_secs);
        let key = MarkerKey::rate(limit.name, &signature(&[identity]), window);
        let count = self.store.count(&key, limit.window_secs * 2, now).await?;
        if count <= limit.max {
            return Ok(());
        }
        let retry_after = (window + 1) * limit.window_secs - now;
        tracing::warn!(limit = limit.name, max = limit.max, window_secs = limit.window_secs, "caller over a limit");
        Err(Limited { limit: limit.name, max: limit.max, window_secs: limit.window_secs, retry_after }.into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::store::MemoryStore;

    /// A platform over the memory store on a clock the test moves (milliseconds).
    fn platform() -> (Platform<MemoryStore>, Arc<AtomicI64>) {
        let now = Arc::new(AtomicI64::new(1_000_040_000));
        let clock = Arc::clone(&now);
        (Platform::for_tests(Arc::new(move || clock.load(Ordering::SeqCst))), now)
    }

    #[tokio::test]
    async fn a_caller_gets_its_allowance_per_window_and_no_more_and_others_are_not_touched() {
        let (platform, now) = platform();
        let limit = Limit { name: "test", max: 2, window_secs: 60 };
        // 1,000,040 s is 20 s into a 60 s window (1,000,020 is 16,667 × 60).
        for _ in 0..2 {
            platform.spend(limit, "alice").await.expect("within the allowance");
        }
        match platform.spend(limit, "alice").await {
            Err(SpendError::Limited(limited)) => {
                assert_eq!((limited.limit, limited.max, limited.retry_after), ("test", 2, 40))
            }
            other => panic!("{other:?}"),
        }
        // The refusal stays spent: asking again early does not help.
        assert!(matches!(platform.spend(limit, "alice").await, Err(SpendError::Limited(_))));
        // Another caller has its own count.
        platform.spend(limit, "bob").await.expect("bob's own allowance");
        // The next window starts again.
        now.fetch_add(40_000, Ordering::SeqCst);
        platform.spend(limit, "alice").await.expect("a new window");
    }
}
