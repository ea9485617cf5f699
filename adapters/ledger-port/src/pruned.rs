//! The error for reading history a ledger no longer has: a Daml participant answers it after pruning, the embedded
//! ledger after compacting its journal. It names the offset asked for and the earliest one still available, so a
//! reader can say what happened and where it could start instead.

use serde::{Deserialize, Serialize};

use crate::{LedgerError, RejectionReason};

/// The Daml error id for it (gRPC `FAILED_PRECONDITION`).
pub const PRUNED_DATA_ACCESSED: &str = "PARTICIPANT_PRUNED_DATA_ACCESSED";

/// A read asked for history before the earliest available offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error(
    "offset {requested} precedes the pruned offset {earliest}: the ledger no longer has the transactions up to \
     {earliest} (its history was pruned or its journal compacted); read from offset {earliest} or later, or start \
     from the active contracts"
)]
pub struct PrunedOffset {
    /// The offset asked for (a `begin_exclusive`, or a transaction's offset).
    pub requested: i64,
    /// The earliest `begin_exclusive` still served.
    pub earliest: i64,
}

impl From<PrunedOffset> for LedgerError {
    fn from(pruned: PrunedOffset) -> Self {
        let mut error = LedgerError::permanent(RejectionReason::Rejected, pruned.to_string())
            .with_ledger_error(PRUNED_DATA_ACCESSED);
        error.pruned = Some(pruned);
        error
    }
}

impl LedgerError {
    /// Whether this is a pruned-history error, from this process's ledger (typed) or a remote one (by its id).
    pub fn is_pruned(&self) -> bool {
        self.pruned.is_some() || self.ledger_error.as_deref() == Some(PRUNED_DATA_ACCESSED)
    }
}
