//! The durable outcome store, a redb database under `state_dir`.
//!
//! Write-behind: `put` keeps the outcome in memory (where `get` finds it), and `flush` writes every outcome put since
//! the last one in a single write transaction committed with `Durability::Immediate`. So the gateway pays one redb
//! commit and one fsync per batch of acks, not a commit per request. A put that is not flushed is lost in a crash
//! exactly as an unsynced commit would be; the gateway never acks before the flush. Should outcomes pile up without a
//! flush (a long offline run), they are written without a sync every [`WRITE_BEHIND_LIMIT`] puts, bounding memory.
//! Outcomes are encoded as in `outcome_record.rs`, with the time they were recorded; a second table orders them by
//! that time, so expired ones are found without a scan (`redb_retention.rs`). The run history's entries ride in the
//! same batches and transactions (`redb_history.rs`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// redb's page cache. Its default ceiling is 1 GiB, which a long-running gateway would fill with pages of outcomes it
/// will rarely read again (they serve redeliveries); 32 MiB holds the B-tree's interior pages many times over.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

use redb::{Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::history_entry::HistoryEntry;
use super::outcome_record::{OutcomeRecord, decode, encode, recorded_at_ms};
use super::redb_history::{HISTORY, HISTORY_TIMES, write_history};
use super::request_history::MAX_HISTORY_ENTRIES;
use super::write_behind::{Batch, HistoryBatch, WriteBehind};
use super::{OutcomeStore, StoreError};
use crate::encoded_egress::EncodedEgress;

pub(super) const OUTCOMES: TableDefinition<&str, &[u8]> = TableDefinition::new("outcomes");
/// (recorded at, unix ms; request id) → (): the outcomes in the order they expire.
pub(super) const OUTCOME_TIMES: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("outcome_times");
const CHECKPOINTS: TableDefinition<&str, i64> = TableDefinition::new("checkpoints");
/// Delivery key → attempts begun without being settled (see `delivery_attempts.rs`).
pub(super) const ATTEMPTS: TableDefinition<&[u8], u32> = TableDefinition::new("delivery_attempts");
const OBSERVER_CHECKPOINT: &str = "observer";
/// Outcomes held in memory before they are written without waiting for a flush.
pub const WRITE_BEHIND_LIMIT: usize = 4096;

/// Outcomes in a redb file.
pub struct RedbOutcomeStore {
    /// Shared by every operation; taken exclusively only to compact the file.
    db: RwLock<Database>,
    write_behind: WriteBehind,
    /// Outcomes were committed without a sync since the last durable commit (read and set only by a write, which
    /// holds the write-behind's one writer).
    unsynced: AtomicBool,
    /// The most run-history entries kept ([`MAX_HISTORY_ENTRIES`]; smaller in tests).
    history_limit: u64,
}

pub(super) fn err(context: &str) -> impl Fn(String) -> StoreError + '_ {
    move |e| StoreError::new(format!("{context}: {e}"))
}

impl RedbOutcomeStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::new(format!(
                    "cannot create state directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| {
                StoreError::new(format!("cannot open outcome store {}: {e}", path.display()))
            })?;
        let txn = db.begin_write().map_err(|e| err("begin")(e.to_string()))?;
        txn.open_table(OUTCOMES)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(CHECKPOINTS)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(ATTEMPTS)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(OUTCOME_TIMES)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(HISTORY)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.open_table(HISTORY_TIMES)
            .map_err(|e| err("create table")(e.to_string()))?;
        txn.commit().map_err(|e| err("commit")(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The file's name must survive a crash as well as its contents.
            crate::ledger_identity::sync_directory(dir)
                .map_err(|e| StoreError::new(format!("cannot sync {}: {e}", dir.display())))?;
        }
        let store = Self {
            db: RwLock::new(db),
            write_behind: WriteBehind::default(),
            unsynced: AtomicBool::new(false),
            history_limit: MAX_HISTORY_ENTRIES,
        };
        store.index_untimed_outcomes()?;
        Ok(store)
    }

    /// The database, for one operation.
    pub(super) fn db(&self) -> RwLockReadGuard<'_, Database> {
        // A poisoned lock only means a panic elsewhere while it was held; the database itself is consistent.
        self.db.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The database, exclusively (to compact it).
    pub(super) fn db_exclusive(&self) -> std::sync::RwLockWriteGuard<'_, Database> {
        self.db.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every pending outcome in one transaction; a `durable` one (fsynced) also makes earlier unsynced
    /// commits durable.
    fn write_pending(&self, durable: bool) -> Result<(), StoreError> {
        self.write_behind.write(
            || durable && self.unsynced.load(Ordering::Acquire),
            |batch, history| {
                self.commit_batch(batch, history, durable)?;
                self.unsynced.store(!durable, Ordering::Release);
                Ok(())
            },
        )
    }

    fn commit_batch(
        &self,
        batch: &Batch,
        history: &HistoryBatch,
        durable: bool,
    ) -> Result<(), StoreError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        txn.set_durability(durability)
            .map_err(|e| err("set durability")(e.to_string()))?;
        {
            let mut table = txn
                .open_table(OUTCOMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            let mut times = txn
                .open_table(OUTCOME_TIMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            for (request_id, bytes) in batch {
                table
                    .insert(request_id.as_str(), bytes.as_slice())
                    .map_err(|e| err("insert")(e.to_string()))?;
                if let Some(at) = recorded_at_ms(bytes) {
                    times
                        .insert((at, request_id.as_str()), ())
                        .map_err(|e| err("insert")(e.to_string()))?;
                }
            }
        }
        write_history(&txn, history, self.history_limit)?;
        txn.commit().map_err(|e| err("commit")(e.to_string()))
    }

    /// Keeps run-history entries for the next write, like outcomes (written unsynced should they pile up).
    pub(super) fn put_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        if self.write_behind.put_history(entries) >= WRITE_BEHIND_LIMIT {
            self.write_pending(false)?;
        }
        Ok(())
    }

    /// A history entry not written yet.
    pub(super) fn pending_history(&self, request_id: &str) -> Option<HistoryEntry> {
        self.write_behind.history_entry(request_id)
    }

    /// The same store keeping at most `limit` history entries, to see the bound at work without 100,000 of them.
    #[cfg(test)]
    pub(super) fn with_history_limit(mut self, limit: u64) -> Self {
        self.history_limit = limit;
        self
    }

    /// A recorded outcome with its time, from memory or the file.
    fn recorded_bytes(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        if let Some(bytes) = self.write_behind.outcome(request_id) {
            return decode(&bytes).map(Some).ok_or_else(|| {
                StoreError::new(format!("pending outcome of {request_id:?} is corrupt"))
            });
        }
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(OUTCOMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        let Some(value) = table
            .get(request_id)
            .map_err(|e| err("read")(e.to_string()))?
        else {
            return Ok(None);
        };
        decode(value.value())
            .map(Some)
            .ok_or_else(|| StoreError::new(format!("stored outcome of {request_id:?} is corrupt")))
    }
}

impl OutcomeStore for RedbOutcomeStore {
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        Ok(self.recorded_bytes(request_id)?.map(|r| r.egress))
    }

    fn recorded(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        self.recorded_bytes(request_id)
    }

    fn put(&self, request_id: &str, egress: &[EncodedEgress]) -> Result<(), StoreError> {
        let bytes = Arc::new(encode(egress, super::now_ms()));
        if self.write_behind.put(request_id, bytes) >= WRITE_BEHIND_LIMIT {
            self.write_pending(false)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.write_pending(true)
    }

    fn count(&self) -> Result<u64, StoreError> {
        // Counting in the database is exact once nothing is pending.
        self.write_pending(false)?;
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(OUTCOMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        table.len().map_err(|e| err("count")(e.to_string()))
    }

    fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let table = txn
            .open_table(CHECKPOINTS)
            .map_err(|e| err("open table")(e.to_string()))?;
        let value = table
            .get(OBSERVER_CHECKPOINT)
            .map_err(|e| err("read")(e.to_string()))?;
        Ok(value.map(|v| v.value()))
    }

    fn remove_recorded_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        self.remove_expired(cutoff_ms, limit)
    }

    fn compact(&self) -> Result<bool, StoreError> {
        self.compact_file()
    }

    fn set_checkpoint(&self, offset: i64) -> Result<(), StoreError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| err("set durability")(e.to_string()))?;
        {
            let mut table = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| err("open table")(e.to_string()))?;
            table
                .insert(OBSERVER_CHECKPOINT, offset)
                .map_err(|e| err("insert")(e.to_string()))?;
        }
        txn.commit().map_err(|e| err("commit")(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<EncodedEgress> {
        vec![
            EncodedEgress {
                routing_key: "CreateContractUpdate".into(),
                message_id: "abc".into(),
                request_id: Some("r1".into()),
                body: br#"{"a":"b"}"#.to_vec(),
            },
            EncodedEgress {
                routing_key: "Failure".into(),
                message_id: "def".into(),
                request_id: None,
                body: vec![],
            },
        ]
    }

    #[test]
    fn puts_are_answered_from_memory_and_written_in_one_batch_at_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = RedbOutcomeStore::open(&path).unwrap();
            store.put("r1", &sample()).unwrap();
            store.put("r2", &sample()[..1]).unwrap();
            assert_eq!(
                store.get("r1").unwrap().unwrap(),
                sample(),
                "visible before the flush"
            );
            assert_eq!(store.write_behind.waiting(), 2, "nothing written per put");
            store.flush().unwrap();
            assert!(store.write_behind.waiting() == 0);
            assert!(!store.unsynced.load(Ordering::Acquire));
            store.put("r3", &sample()).unwrap();
        }
        let store = RedbOutcomeStore::open(&path).unwrap();
        assert_eq!(store.get("r2").unwrap().unwrap(), sample()[..1].to_vec());
        assert_eq!(
            store.get("r3").unwrap(),
            None,
            "not flushed: gone after a restart, like an unsynced commit"
        );
        assert_eq!(store.count().unwrap(), 2);
    }

    #[test]
    fn outcomes_piling_up_without_a_flush_are_written_unsynced_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbOutcomeStore::open(&dir.path().join("state.redb")).unwrap();
        for i in 0..WRITE_BEHIND_LIMIT - 1 {
            store.put(&format!("r{i}"), &sample()).unwrap();
        }
        assert_eq!(store.write_behind.waiting(), WRITE_BEHIND_LIMIT - 1);
        store.put("last", &sample()).unwrap();
        assert!(store.write_behind.waiting() == 0, "written at the limit");
        assert!(store.unsynced.load(Ordering::Acquire), "without a sync");
        assert_eq!(store.get("r7").unwrap().unwrap(), sample());
        store.flush().unwrap();
        assert!(
            !store.unsynced.load(Ordering::Acquire),
            "the flush syncs them"
        );
        assert_eq!(store.count().unwrap(), WRITE_BEHIND_LIMIT as u64);
    }
}
