//! The snapshot record that opens a version-2 journal: what the transactions before it left behind, so the journal
//! need not keep them.
//!
//! A compacted journal holds this record, then the transactions it *retains* from before the snapshot (in offset
//! order, with gaps), then every later transaction. Replay takes the active contract set from the snapshot rather
//! than from the retained transactions (a retained transaction may have created contracts archived by one that was
//! not retained); the retained transactions are there to be read: the contracts' created events, the answers to
//! redelivered commands inside the deduplication window, and the history readers may still ask for.

use serde::{Deserialize, Serialize};

/// The snapshot record's payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The ledger end the snapshot was taken at: the active set is as of this offset, and the next transaction in
    /// the journal after the retained ones is `offset + 1`. 0 for a journal that never was compacted.
    pub offset: i64,
    /// The earliest `begin_exclusive` an update stream may start from: every transaction after it is in the
    /// journal. Earlier ones were pruned.
    pub readable_from: i64,
    /// How many transaction records before `offset` follow this record.
    pub retained: u64,
    /// The active contracts as of `offset`: contract id, the offset of its creating transaction (one of the
    /// retained ones), the created event's index in it.
    pub active: Vec<(String, i64, u32)>,
}
