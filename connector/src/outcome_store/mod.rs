//! The outcome store: each requestId's egress, recorded before it is published, so a redelivered request is
//! answered from here and never touches the ledger twice.
//!
//! `put` may be cheap and not yet durable; `flush` makes everything put so far durable. The gateway flushes before it
//! acks deliveries, which gives one fsync per batch of acks instead of one per message.

mod delivery_attempts;
mod memory;
mod outcome_record;
mod redb_attempts;
mod redb_retention;
mod redb_store;
mod retention;

pub use delivery_attempts::{DeliveryAttempts, DeliveryKey, delivery_key};
pub use memory::MemoryOutcomeStore;
pub use redb_store::RedbOutcomeStore;
pub use retention::{SweepReport, sweep_expired};

use crate::encoded_egress::EncodedEgress;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("outcome store: {0}")]
pub struct StoreError(pub String);

/// Where outcomes are kept.
pub trait OutcomeStore: Send + Sync {
    /// The recorded outcome of a request.
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError>;
    /// Records a request's outcome (durable after the next `flush`).
    fn put(&self, request_id: &str, egress: &[EncodedEgress]) -> Result<(), StoreError>;
    /// Makes every recorded outcome durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Number of outcomes recorded.
    fn count(&self) -> Result<u64, StoreError>;
    /// The ledger observer's checkpoint: the last offset whose egress the broker confirmed.
    fn checkpoint(&self) -> Result<Option<i64>, StoreError>;
    /// Records the observer's checkpoint durably.
    fn set_checkpoint(&self, offset: i64) -> Result<(), StoreError>;
    /// Removes up to `limit` outcomes recorded before `cutoff_ms` (unix milliseconds), oldest first; returns how
    /// many. A removal may become durable only with the next flush (a crash just leaves it for the next sweep).
    fn remove_recorded_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError>;
    /// Gives the space of removed outcomes back (the file shrinks); false when that cannot be done now.
    fn compact(&self) -> Result<bool, StoreError>;
}

/// Now, in unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
