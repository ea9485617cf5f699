//! Retention in the redb state store: expired outcomes are found through the time index (oldest first, no scan),
//! removed in bounded batches, and the file is compacted so its size follows what is kept.
//!
//! Outcomes written before the time index existed (record version 1) are indexed once, at the first open, as if
//! recorded then: they expire one retention period after the upgrade.

use redb::{Durability, ReadableTable};

use super::outcome_record::recorded_at_ms;
use super::redb_store::{OUTCOME_TIMES, OUTCOMES, err};
use super::{RedbOutcomeStore, StoreError};

/// The marker, in the checkpoints table, that every outcome is in the time index.
const TIMES_INDEXED: &str = "outcome_times_indexed";
const CHECKPOINTS: redb::TableDefinition<&str, i64> = redb::TableDefinition::new("checkpoints");

impl RedbOutcomeStore {
    /// Puts outcomes without a recorded time (version 1) into the time index, once.
    pub(super) fn index_untimed_outcomes(&self) -> Result<(), StoreError> {
        let txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        {
            let mut marks = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| err("open table")(e.to_string()))?;
            if marks
                .get(TIMES_INDEXED)
                .map_err(|e| err("read")(e.to_string()))?
                .is_some()
            {
                return Ok(());
            }
            let now = super::now_ms();
            let outcomes = txn
                .open_table(OUTCOMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            let mut times = txn
                .open_table(OUTCOME_TIMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            for entry in outcomes.iter().map_err(|e| err("scan")(e.to_string()))? {
                let (id, value) = entry.map_err(|e| err("scan")(e.to_string()))?;
                if recorded_at_ms(value.value()).is_none() {
                    times
                        .insert((now, id.value()), ())
                        .map_err(|e| err("insert")(e.to_string()))?;
                }
            }
            marks
                .insert(TIMES_INDEXED, 1)
                .map_err(|e| err("insert")(e.to_string()))?;
        }
        txn.commit().map_err(|e| err("commit")(e.to_string()))
    }

    /// Removes up to `limit` outcomes recorded before `cutoff_ms`, oldest first, in one write transaction.
    pub(super) fn remove_expired(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        // Not synced: a removal lost in a crash is simply made again by the next sweep.
        txn.set_durability(Durability::None)
            .map_err(|e| err("set durability")(e.to_string()))?;
        let removed = {
            let mut times = txn
                .open_table(OUTCOME_TIMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            let mut outcomes = txn
                .open_table(OUTCOMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            let expired: Vec<(u64, String)> = times
                .range(..(cutoff_ms, ""))
                .map_err(|e| err("scan")(e.to_string()))?
                .take(limit)
                .map(|entry| {
                    entry
                        .map(|(key, _)| {
                            let (at, id) = key.value();
                            (at, id.to_owned())
                        })
                        .map_err(|e| err("scan")(e.to_string()))
                })
                .collect::<Result<_, _>>()?;
            for (at, id) in &expired {
                times
                    .remove((*at, id.as_str()))
                    .map_err(|e| err("remove")(e.to_string()))?;
                // An outcome put again later has a newer time entry of its own: keep it.
                let current = outcomes
                    .get(id.as_str())
                    .map_err(|e| err("read")(e.to_string()))?
                    .map(|v| recorded_at_ms(v.value()));
                if matches!(current, Some(None)) || current == Some(Some(*at)) {
                    outcomes
                        .remove(id.as_str())
                        .map_err(|e| err("remove")(e.to_string()))?;
                }
            }
            expired.len()
        };
        txn.commit().map_err(|e| err("commit")(e.to_string()))?;
        Ok(removed)
    }

    /// Compacts the file: pending outcomes are written (synced) first; every other operation waits meanwhile.
    pub(super) fn compact_file(&self) -> Result<bool, StoreError> {
        use super::OutcomeStore;
        self.flush()?;
        let mut db = self.db_exclusive();
        match db.compact() {
            Ok(done) => Ok(done),
            // A read still open elsewhere: not now, the next sweep tries again.
            Err(redb::CompactionError::TransactionInProgress) => Ok(false),
            Err(e) => Err(StoreError::new(format!("compact: {e}"))),
        }
    }
}
