//! The run history of the in-memory store (`connector process`, tests, an in-memory gateway): the same rules as the
//! redb tables (one entry per requestId, newest first, the bound on entries, removal by time), in two maps.

use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;

use super::history_entry::HistoryEntry;
use super::request_history::{HistoryPage, HistoryQuery, MAX_HISTORY_ENTRIES, RequestHistory};
use super::{MemoryOutcomeStore, StoreError};

/// Entries by requestId, and their (time, requestId) keys in time order with the index code.
#[derive(Debug)]
pub struct MemoryHistory {
    entries: HashMap<String, HistoryEntry>,
    times: BTreeMap<(u64, String), u16>,
    limit: u64,
}

impl Default for MemoryHistory {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            times: BTreeMap::new(),
            limit: MAX_HISTORY_ENTRIES,
        }
    }
}

impl MemoryHistory {
    fn insert(&mut self, entry: HistoryEntry) {
        if let Some(earlier) = self.entries.get(&entry.request_id) {
            self.times
                .remove(&(earlier.processed_at_ms, entry.request_id.clone()));
        }
        self.times.insert(
            (entry.processed_at_ms, entry.request_id.clone()),
            entry.index_code(),
        );
        self.entries.insert(entry.request_id.clone(), entry);
        while self.times.len() as u64 > self.limit {
            self.remove_oldest();
        }
    }

    fn remove_oldest(&mut self) -> Option<u64> {
        let ((at, id), _) = self.times.pop_first()?;
        self.entries.remove(&id);
        Some(at)
    }
}

impl MemoryOutcomeStore {
    fn history(&self) -> MutexGuard<'_, MemoryHistory> {
        // A poisoned lock only means a panic elsewhere while a plain map was edited; the maps are still usable.
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The same store keeping at most `limit` history entries.
    #[cfg(test)]
    pub(super) fn with_history_limit(self, limit: u64) -> Self {
        self.history().limit = limit;
        self
    }
}

impl RequestHistory for MemoryOutcomeStore {
    fn record_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        let mut history = self.history();
        for entry in entries {
            history.insert(entry);
        }
        Ok(())
    }

    fn history_entry(&self, request_id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        Ok(self.history().entries.get(request_id).cloned())
    }

    fn recent_history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let history = self.history();
        let since = query.since_ms.unwrap_or(0);
        let mut page = HistoryPage::default();
        for ((_, id), code) in history.times.range((since, String::new())..).rev() {
            if !query.matches_code(*code) {
                continue;
            }
            let Some(entry) = history.entries.get(id) else {
                continue;
            };
            if page.entries.len() == query.limit {
                page.truncated = true;
                break;
            }
            page.entries.push(entry.clone());
        }
        Ok(page)
    }

    fn remove_history_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut history = self.history();
        let mut removed = 0;
        while removed < limit
            && history
                .times
                .first_key_value()
                .is_some_and(|((at, _), _)| *at < cutoff_ms)
        {
            history.remove_oldest();
            removed += 1;
        }
        Ok(removed)
    }

    fn history_len(&self) -> Result<u64, StoreError> {
        Ok(self.history().times.len() as u64)
    }
}
