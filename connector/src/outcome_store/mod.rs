//! The outcome store: each requestId's egress, recorded before it is published, so a redelivered request is
//! answered from here and never touches the ledger twice.
//!
//! `put` may be cheap and not yet durable; `flush` makes everything put so far durable. The gateway flushes before it
//! acks deliveries, which gives one fsync per batch of acks instead of one per message.

mod delivery_attempts;
mod memory;
mod redb_attempts;
mod redb_store;

pub use delivery_attempts::{DeliveryAttempts, DeliveryKey, delivery_key};
pub use memory::MemoryOutcomeStore;
pub use redb_store::RedbOutcomeStore;

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
}
