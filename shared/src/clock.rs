//! Time as the platform counts it. A module of its own, below everything else, because every
//! layer stamps things (the store's records, signed states, the WeChat client's token expiry)
//! and none of them should import another layer for an integer type.

use std::sync::Arc;

/// Unix time in seconds.
pub type Timestamp = i64;

/// Clock used by the services, in Unix **milliseconds** (refresh tokens are ordered by when
/// WeChat's answer arrived, finer than seconds); tests inject one that can be advanced.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock, Unix milliseconds.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
