//! The outcome store: each requestId's egress, recorded before it is published, so a redelivered request is
//! answered from here and never touches the ledger twice.
//!
//! `put` may be cheap and not yet durable; `flush` makes everything put so far durable. The gateway flushes before it
//! acks deliveries, which gives one fsync per batch of acks instead of one per message.
//!
//! Two durable backends keep the same contract (`contract_tests.rs` runs every test on each): redb, a file for one
//! instance (`redb_*.rs`), and PostgreSQL, shared by several (`postgres_*.rs`); `open.rs` picks the one a config
//! names. A store that may be out of reach (PostgreSQL) says so in its errors ([`StoreError::unavailable`]).
//!
//! Beside the outcomes it keeps the run history (`request_history.rs`): one entry per requestId saying what became of
//! it, written in the same batches and swept by the same retention.

#[cfg(test)]
mod contract_tests;
mod delivery_attempts;
mod history_entry;
mod memory;
mod memory_history;
mod open;
mod outcome_record;
mod postgres_attempts;
mod postgres_errors;
mod postgres_history;
mod postgres_schema;
mod postgres_store;
mod postgres_thread;
mod redb_attempts;
mod redb_history;
mod redb_retention;
mod redb_store;
mod request_history;
mod retention;
mod write_behind;

pub use delivery_attempts::{DeliveryAttempts, DeliveryKey, delivery_key};
pub use history_entry::{HistoryEntry, MAX_NAME_BYTES, RequestOutcome};
pub use memory::MemoryOutcomeStore;
pub use open::{REDB_FILE, StateLocation, StateStore, open_state_store, state_location};
pub use outcome_record::OutcomeRecord;
pub use postgres_store::PostgresOutcomeStore;
pub use redb_store::RedbOutcomeStore;
pub use request_history::{
    DEFAULT_LIST_LIMIT, HistoryPage, HistoryQuery, MAX_HISTORY_ENTRIES, MAX_LIST_LIMIT,
    RequestHistory, StatusFilter,
};
pub use retention::{SweepReport, sweep_expired};

use crate::encoded_egress::EncodedEgress;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("outcome store: {message}")]
pub struct StoreError {
    pub message: String,
    /// The store could not be reached (a database server down or unreachable): the same call may succeed later,
    /// so the gateway pauses and waits for it rather than stopping. A local file's failure (a full disk) is not.
    pub unavailable: bool,
}

impl StoreError {
    /// A failure that trying again will not mend by itself.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }

    /// The store is out of reach for now (see [`StoreError::unavailable`]).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }
}

/// Where outcomes are kept, with the run history beside them.
pub trait OutcomeStore: RequestHistory + Send + Sync {
    /// The recorded outcome of a request.
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError>;
    /// The recorded outcome of a request with the time it was recorded, when the store knows it.
    fn recorded(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        Ok(self.get(request_id)?.map(|egress| OutcomeRecord {
            recorded_at_ms: None,
            egress,
        }))
    }
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
    /// Whether the store can be used now: for a database server, that it answers and its schema is in place. A
    /// local store always can.
    fn probe(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Now, in unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
