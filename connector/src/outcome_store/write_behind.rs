//! The write-behind buffer of the durable stores (redb and PostgreSQL): outcomes and run-history entries put since
//! the last write wait here, where lookups find them, until one write takes them all and commits them in one
//! transaction. While that write runs, its batch is still answered from here; should it fail, the batch waits for
//! the next write (a newer put of the same request wins). One write at a time, so a batch taken later never
//! commits before an earlier one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::StoreError;
use super::history_entry::HistoryEntry;

/// Encoded outcomes by request id.
pub(super) type Batch = HashMap<String, Arc<Vec<u8>>>;
/// Run-history entries by request id.
pub(super) type HistoryBatch = HashMap<String, HistoryEntry>;

/// What waits to be written, and the one writer.
#[derive(Default)]
pub(super) struct WriteBehind {
    pending: Mutex<Pending>,
    writer: Mutex<()>,
}

#[derive(Default)]
struct Pending {
    /// Put since the current (or last) write took its batch.
    waiting: Batch,
    /// The batch being written: still answered from here until its commit is done.
    writing: Arc<Batch>,
    history_waiting: HistoryBatch,
    history_writing: Arc<HistoryBatch>,
}

impl WriteBehind {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A poisoned lock only means a panic elsewhere while a plain map was edited; the maps are still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps an encoded outcome; returns how many outcomes now wait.
    pub(super) fn put(&self, request_id: &str, bytes: Arc<Vec<u8>>) -> usize {
        let mut pending = self.pending();
        pending.waiting.insert(request_id.to_owned(), bytes);
        pending.waiting.len()
    }

    /// Keeps run-history entries; returns how many entries now wait.
    pub(super) fn put_history(&self, entries: Vec<HistoryEntry>) -> usize {
        let mut pending = self.pending();
        for entry in entries {
            pending
                .history_waiting
                .insert(entry.request_id.clone(), entry);
        }
        pending.history_waiting.len()
    }

    /// An outcome not written yet.
    pub(super) fn outcome(&self, request_id: &str) -> Option<Arc<Vec<u8>>> {
        let pending = self.pending();
        pending
            .waiting
            .get(request_id)
            .or_else(|| pending.writing.get(request_id))
            .cloned()
    }

    /// A history entry not written yet.
    pub(super) fn history_entry(&self, request_id: &str) -> Option<HistoryEntry> {
        let pending = self.pending();
        pending
            .history_waiting
            .get(request_id)
            .or_else(|| pending.history_writing.get(request_id))
            .cloned()
    }

    /// Outcomes waiting for the next write.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.pending().waiting.len()
    }

    /// Takes everything waiting and commits it with `commit`, holding the one writer throughout. With nothing
    /// waiting it commits only when `commit_anyway` (asked while holding the writer) says so.
    pub(super) fn write(
        &self,
        commit_anyway: impl FnOnce() -> bool,
        commit: impl FnOnce(&Arc<Batch>, &Arc<HistoryBatch>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (batch, history) = {
            let mut pending = self.pending();
            if pending.waiting.is_empty() && pending.history_waiting.is_empty() && !commit_anyway()
            {
                return Ok(());
            }
            pending.writing = Arc::new(std::mem::take(&mut pending.waiting));
            pending.history_writing = Arc::new(std::mem::take(&mut pending.history_waiting));
            (
                Arc::clone(&pending.writing),
                Arc::clone(&pending.history_writing),
            )
        };
        let written = commit(&batch, &history);
        let mut pending = self.pending();
        pending.writing = Arc::default();
        pending.history_writing = Arc::default();
        if written.is_err() {
            // Kept for the next try; a newer put of the same request wins.
            for (request_id, bytes) in batch.iter() {
                pending
                    .waiting
                    .entry(request_id.clone())
                    .or_insert_with(|| Arc::clone(bytes));
            }
            for (request_id, entry) in history.iter() {
                pending
                    .history_waiting
                    .entry(request_id.clone())
                    .or_insert_with(|| entry.clone());
            }
        }
        written
    }
}
