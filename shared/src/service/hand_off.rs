//! Publishing what a push or an account change says: at least once, with a stable id, and not
//! again for a retry the store can tell apart.
//!
//! One hand-off is a strongly consistent read of the marker ("was this published?"), one
//! `PutEvents`, and one conditional write of the marker. The marker is written only *after* the
//! bus accepted the events, so every failure leaves a state WeChat's retry repairs:
//!
//! | what fails | what happens | the retry |
//! |---|---|---|
//! | the marker read | published anyway (same id) | marker present: not published again |
//! | `PutEvents` (error, `FailedEntryCount`, timeout) | `Err`: the push is answered 503 | publishes |
//! | the marker write | answered as published | published again, same id |
//! | the status write of a `TEMPLATESENDJOBFINISH` push | 503 (the status is data) | published again, same id, and stored |
//!
//! A consumer therefore sees each push at least once and deduplicates on `id` (`docs/events.md`).
//! Each store step is bounded ([`MARKER_READ_BUDGET`], [`MARKER_WRITE_BUDGET`]) and the bus has
//! its own timeouts, so a slow dependency costs a push at most about 3.6 s of WeChat's 5.

use std::time::Duration;

use super::Platform;
use crate::bus::{Event, PublishError};
use crate::store::{MarkerKey, MarkerStore, StoreError};

/// How long a handed-off push is remembered. WeChat retries a push three times within about
/// 15 seconds; a quarter of an hour also covers a late manual replay.
pub(super) const HANDED_OFF_SECS: i64 = 900;

/// The longest the marker read may take before the push is published without knowing.
pub const MARKER_READ_BUDGET: Duration = Duration::from_millis(600);

/// The longest the marker write may take before the push is answered without it.
pub const MARKER_WRITE_BUDGET: Duration = Duration::from_millis(1000);

/// How long a template message's record (and its delivery status) is kept.
pub(super) const TEMPLATE_RECORD_SECS: i64 = 30 * 24 * 3600;

/// What records that a push was handed off.
pub(super) enum Ledger<'a> {
    /// The plain marker, for most pushes.
    Marker(&'a MarkerKey),
    /// A job-finish push (`TEMPLATESENDJOBFINISH`, `PUBLISHJOBFINISH`): the job's result, which
    /// is the marker (so this push, too, costs one read and one write).
    Finished {
        /// The record's key.
        key: MarkerKey,
        /// The result as JSON, kept [`TEMPLATE_RECORD_SECS`].
        record: String,
    },
}

/// Whether this delivery was the one that handed the events off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// This delivery published them (or the store could not tell, and it published them again).
    First,
    /// They were published before: a retry, answered alike, with no side effect.
    Retry,
}

impl<S: MarkerStore> Platform<S> {
    /// Publishes `events` unless `marker` says they were, then records that they were.
    ///
    /// # Errors
    /// [`PublishError`] when the bus did not accept them all: nothing is recorded, and the caller
    /// answers so that the sender retries.
    pub(super) async fn hand_off(&self, marker: &MarkerKey, events: &[Event]) -> Result<Delivery, PublishError> {
        self.hand_off_to(&Ledger::Marker(marker), events).await
    }

    /// [`Platform::hand_off`] recorded in `ledger`.
    ///
    /// # Errors
    /// As [`Platform::hand_off`].
    pub(super) async fn hand_off_to(&self, ledger: &Ledger<'_>, events: &[Event]) -> Result<Delivery, PublishError> {
        match tokio::time::timeout(MARKER_READ_BUDGET, self.ledger_seen(ledger)).await {
            Ok(Ok(true)) => return Ok(Delivery::Retry),
            Ok(Ok(false)) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "hand-off marker unreadable; publishing (a consumer may see this id twice)");
            }
            Err(_) => {
                tracing::warn!(
                    budget_ms = MARKER_READ_BUDGET.as_millis(),
                    "hand-off marker read too slow; publishing (a consumer may see this id twice)"
                );
            }
        }
        self.bus.publish(events).await?;
        let written = tokio::time::timeout(MARKER_WRITE_BUDGET, self.ledger_write(ledger)).await;
        if let Ledger::Finished { .. } = ledger
            && !matches!(written, Ok(Ok(_)))
        {
            // Here the record is data, not bookkeeping: without it the result would be lost.
            // WeChat retries the push; the retry publishes again (same id) and records it.
            tracing::error!("a job's result not stored; WeChat will retry the push");
            return Err(PublishError::Unavailable("the job's result was not stored".to_owned()));
        }
        match written {
            Ok(Ok(true)) => Ok(Delivery::First),
            // A concurrent delivery of the same push published too (same id) and recorded first.
            Ok(Ok(false)) => Ok(Delivery::Retry),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "published, but the hand-off marker was not written: a retry would publish again (same id)");
                Ok(Delivery::First)
            }
            Err(_) => {
                tracing::warn!(
                    budget_ms = MARKER_WRITE_BUDGET.as_millis(),
                    "published, but the hand-off marker write was too slow: a retry would publish again (same id)"
                );
                Ok(Delivery::First)
            }
        }
    }
}

impl<S: MarkerStore> Platform<S> {
    /// Whether `ledger` says the push was handed off.
    async fn ledger_seen(&self, ledger: &Ledger<'_>) -> Result<bool, StoreError> {
        match ledger {
            Ledger::Marker(marker) => self.store.seen(marker, self.now()).await,
            Ledger::Finished { key, .. } => Ok(self.store.recall(key, self.now()).await?.is_some()),
        }
    }

    /// Records the hand-off in `ledger`: true when this delivery recorded it first.
    async fn ledger_write(&self, ledger: &Ledger<'_>) -> Result<bool, StoreError> {
        match ledger {
            Ledger::Marker(marker) => self.store.remember_once(marker, HANDED_OFF_SECS, self.now()).await,
            Ledger::Finished { key, record } => {
                self.store.remember_value(key, record, TEMPLATE_RECORD_SECS, self.now()).await?;
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bus::{BusFault, MemoryBus};
    use crate::store::MemoryStore;

    fn platform(bus: &MemoryBus) -> Platform<MemoryStore> {
        Platform::for_tests(Arc::new(|| 1_700_000_000_000)).with_bus(Arc::new(bus.clone()))
    }

    fn event(id: &str) -> Event {
        Event { detail_type: "mp.message.text", id: id.to_owned(), detail: format!(r#"{{"id":"{id}"}}"#) }
    }

    /// Once per push: the first delivery publishes and records, a retry publishes nothing; a bus
    /// that refuses leaves nothing recorded, so WeChat's retry publishes (the same id).
    #[tokio::test]
    async fn a_push_is_handed_off_once_and_a_refused_hand_off_is_left_for_the_retry() {
        let bus = MemoryBus::new();
        let platform = platform(&bus);
        let marker = MarkerKey::push("wxaaaaaaaaaaaaaaaa", "m1");
        assert!(matches!(platform.hand_off(&marker, &[event("e1")]).await, Ok(Delivery::First)));
        assert!(matches!(platform.hand_off(&marker, &[event("e1")]).await, Ok(Delivery::Retry)));
        assert_eq!(bus.published().iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1"]);

        let other = MarkerKey::push("wxaaaaaaaaaaaaaaaa", "m2");
        bus.fail_next([BusFault::Unavailable]);
        assert!(platform.hand_off(&other, &[event("e2")]).await.is_err());
        assert!(matches!(platform.hand_off(&other, &[event("e2")]).await, Ok(Delivery::First)));
        assert_eq!(bus.published().iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1", "e2"]);
    }
}
