//! [`MemoryBus`]: events kept in memory, with the failures `PutEvents` can have, injectable.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{Bus, Event, PublishError};

/// A failure the next publishes will have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusFault {
    /// The call fails (unreachable, throttled, 5xx).
    Unavailable,
    /// The call succeeds but refuses every entry (`FailedEntryCount`).
    Refused,
    /// The call takes this long, then succeeds.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct State {
    published: Vec<Event>,
    calls: usize,
    faults: Vec<BusFault>,
    down: bool,
}

/// Events kept in memory. Clones share the events.
#[derive(Debug, Clone, Default)]
pub struct MemoryBus(Arc<Mutex<State>>);

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every event accepted so far, in order.
    pub fn published(&self) -> Vec<Event> {
        self.lock().published.clone()
    }

    /// How many publish calls were made (accepted or not).
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Every publish fails ([`BusFault::Unavailable`]) while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The next publish calls fail with `faults`, one each, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = BusFault>) {
        self.lock().faults.extend(faults);
    }
}

impl Bus for MemoryBus {
    fn publish<'a>(&'a self, events: &'a [Event]) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let fault = {
                let mut state = self.lock();
                state.calls += 1;
                if state.down {
                    Some(BusFault::Unavailable)
                } else {
                    (!state.faults.is_empty()).then(|| state.faults.remove(0))
                }
            };
            match fault {
                Some(BusFault::Unavailable) => return Err(PublishError::Unavailable("injected".to_owned())),
                Some(BusFault::Refused) => {
                    return Err(PublishError::Refused {
                        failed: events.len(),
                        total: events.len(),
                        code: "InternalFailure".to_owned(),
                    });
                }
                Some(BusFault::Slow(delay)) => tokio::time::sleep(delay).await,
                None => {}
            }
            self.lock().published.extend_from_slice(events);
            Ok(())
        })
    }
}
