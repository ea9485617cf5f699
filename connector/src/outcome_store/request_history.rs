//! The run history the state store keeps beside the outcomes: one entry per requestId (a later processing of the
//! same requestId replaces it), listed newest first, filtered by outcome, error code and time.
//!
//! Bounded twice: entries expire with the outcomes (`state.outcome_retention`, the same sweep), and the store keeps
//! at most [`MAX_HISTORY_ENTRIES`], dropping the oldest when a write goes past it. Entries are written behind like
//! outcomes: durable with the store's next `flush`, in the same write transaction, so the history costs no fsync of
//! its own.

use super::StoreError;
use super::history_entry::HistoryEntry;

/// The most entries the history keeps; the oldest go first.
pub const MAX_HISTORY_ENTRIES: u64 = 100_000;
/// Entries a listing returns when it names no limit.
pub const DEFAULT_LIST_LIMIT: usize = 50;
/// The largest limit a listing may ask for.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Which outcomes a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Committed,
    /// Every Failure, dead-lettered or recorded.
    Failure,
}

/// What a listing asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub status: Option<StatusFilter>,
    pub code: Option<u16>,
    /// Only entries processed at or after this (unix milliseconds).
    pub since_ms: Option<u64>,
    pub limit: usize,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        Self {
            status: None,
            code: None,
            since_ms: None,
            limit: DEFAULT_LIST_LIMIT,
        }
    }
}

impl HistoryQuery {
    /// Whether an entry with this index code (0 = Committed, else the error code) matches the outcome filters.
    pub fn matches_code(&self, index_code: u16) -> bool {
        let status_ok = match self.status {
            None => true,
            Some(StatusFilter::Committed) => index_code == 0,
            Some(StatusFilter::Failure) => index_code != 0,
        };
        status_ok && self.code.is_none_or(|code| code == index_code && code != 0)
    }
}

/// A listing's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// More entries matched than the limit let through.
    pub truncated: bool,
}

/// The run history of a state store.
pub trait RequestHistory {
    /// Records entries (each replacing any earlier entry of its requestId); durable with the store's next flush.
    fn record_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError>;
    /// The entry of one requestId.
    fn history_entry(&self, request_id: &str) -> Result<Option<HistoryEntry>, StoreError>;
    /// Recent entries, newest first.
    fn recent_history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;
    /// Removes up to `limit` entries processed before `cutoff_ms`, oldest first; returns how many.
    fn remove_history_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError>;
    /// Number of entries kept.
    fn history_len(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_committed_failures_and_codes() {
        let failures = HistoryQuery {
            status: Some(StatusFilter::Failure),
            ..HistoryQuery::default()
        };
        assert!(failures.matches_code(4090) && failures.matches_code(5030));
        assert!(!failures.matches_code(0));
        let committed = HistoryQuery {
            status: Some(StatusFilter::Committed),
            ..HistoryQuery::default()
        };
        assert!(committed.matches_code(0) && !committed.matches_code(4090));
        let conflict = HistoryQuery {
            code: Some(4090),
            ..HistoryQuery::default()
        };
        assert!(conflict.matches_code(4090) && !conflict.matches_code(4040));
        assert!(!conflict.matches_code(0));
        let contradiction = HistoryQuery {
            status: Some(StatusFilter::Committed),
            code: Some(4090),
            ..HistoryQuery::default()
        };
        assert!(!contradiction.matches_code(0) && !contradiction.matches_code(4090));
    }
}
