//! The store suite on the in-memory adapter.

mod store {
    pub(crate) mod suite;
}

use shared::store::MemoryStore;
use std::sync::Arc;

store_suite!(async { Arc::new(MemoryStore::new()) });
