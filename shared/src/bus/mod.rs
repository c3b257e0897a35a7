//! The hand-off: every follower message and account change, published as one event on an
//! EventBridge bus so that any number of business services can act on it (`docs/events.md` is
//! the contract; `docs/events/*.schema.json` its schemas).
//!
//! - `detail.rs`: the events themselves, built from a push or an account change (pure);
//! - `json.rs`: the little JSON writer they are built with (one allocation per event);
//! - `eventbridge.rs`: [`EventBridgeBus`], `PutEvents` with bounded timeouts;
//! - `memory.rs`: [`MemoryBus`], for tests and for runs without AWS, with injectable faults.
//!
//! The delivery promise is *at least once with a stable id*: an event's `id` is derived from what
//! WeChat sent (the push's own dedup key), so a retried push, republished after a failure,
//! carries the same id and a consumer deduplicates on it.

mod detail;
mod eventbridge;
mod json;
mod memory;

pub use self::detail::{
    AccountChange, AccountEvent, MAX_DETAIL_BYTES, MAX_XML_BYTES, MediaRenewed, detail_type, event_id, follower_event,
    follower_event_keyed,
};
pub use self::eventbridge::EventBridgeBus;
pub use self::memory::{BusFault, MemoryBus};

use futures_util::future::BoxFuture;

/// The EventBridge `Source` of every event this platform publishes.
pub const SOURCE: &str = "wechat.platform";

/// The version of the event contract, in every detail as `version`. It changes only when a field
/// changes meaning or goes away; new fields keep the version.
pub const CONTRACT_VERSION: u32 = 1;

/// One event, ready for `PutEvents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// EventBridge's `DetailType` (`mp.message.text`, `account.authorized`, …).
    pub detail_type: &'static str,
    /// The stable id, also the detail's `id`.
    pub id: String,
    /// The detail, a JSON object.
    pub detail: String,
}

/// Why events were not (all) published. Each is retried by the caller's caller: the push is
/// answered with a 5xx, so WeChat delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No bus is configured (`EVENT_BUS_NAME` is unset): nothing can be handed off.
    #[error("no event bus is configured (EVENT_BUS_NAME is unset)")]
    NotConfigured,
    /// The call failed, timed out or was throttled.
    #[error("PutEvents failed: {0}")]
    Unavailable(String),
    /// EventBridge accepted the call but refused some entries (`FailedEntryCount`).
    #[error("PutEvents refused {failed} of {total} entries (first: {code})")]
    Refused {
        /// How many entries failed.
        failed: usize,
        /// How many were sent.
        total: usize,
        /// The first entry's `ErrorCode`.
        code: String,
    },
}

/// Where events go. One call per push or account change, never more than ten events (the
/// `PutEvents` limit).
pub trait Bus: Send + Sync {
    /// Publishes `events`, all or nothing as far as the caller can tell: an `Err` means at least
    /// one was not accepted and the caller must arrange a retry of all of them (consumers
    /// deduplicate on the stable id).
    fn publish<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), PublishError>>;
}

/// The bus when `EVENT_BUS_NAME` is unset: every publish fails, loudly, so a push is retried
/// rather than handed to no one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBus;

impl Bus for NoBus {
    fn publish<'a>(&'a self, _: &'a [Event]) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async { Err(PublishError::NotConfigured) })
    }
}
