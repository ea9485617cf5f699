//! Sweeping expired outcomes: every outcome recorded more than `state.outcome_retention` ago is removed, in batches
//! so no single write holds the store long, and the store is compacted when that freed a large part of it, so its
//! size follows what is kept. The run history's entries expire with them, by the same cutoff. The gateway runs a
//! sweep every `state.sweep_every` on a blocking thread.

use std::time::{Duration, Instant};

use super::{OutcomeStore, StoreError};

/// Outcomes removed per write transaction.
const BATCH: usize = 10_000;

/// What one sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub removed: usize,
    /// Run-history entries removed.
    pub history_removed: usize,
    /// Outcomes still kept.
    pub kept: u64,
    pub compacted: bool,
    pub took: Duration,
}

/// Removes outcomes recorded before `now_ms - retention`; compacts when the removed ones were at least as many as
/// those kept, i.e. the file is at least twice what it holds. Compacting takes the store exclusively and, on a
/// large file, for seconds, during which no outcome can be recorded: under steady traffic each sweep frees a slice
/// of the window, the freed pages are reused by the next writes and the file stays the size of what is kept, so
/// only a real drop (a burst that expired, traffic that fell) is worth that wait.
pub fn sweep_expired(
    store: &dyn OutcomeStore,
    retention: Duration,
    now_ms: u64,
) -> Result<SweepReport, StoreError> {
    let started = Instant::now();
    let cutoff = now_ms.saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
    let mut removed = 0;
    loop {
        let batch = store.remove_recorded_before(cutoff, BATCH)?;
        removed += batch;
        if batch < BATCH {
            break;
        }
    }
    let mut history_removed = 0;
    loop {
        let batch = store.remove_history_before(cutoff, BATCH)?;
        history_removed += batch;
        if batch < BATCH {
            break;
        }
    }
    let kept = store.count()?;
    let compacted = removed > 0 && removed as u64 >= kept && store.compact()?;
    Ok(SweepReport {
        removed,
        history_removed,
        kept,
        compacted,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded_egress::EncodedEgress;
    use crate::outcome_store::RedbOutcomeStore;

    fn egress(id: &str) -> Vec<EncodedEgress> {
        vec![EncodedEgress {
            routing_key: "ContractMessage".into(),
            message_id: format!("m-{id}"),
            request_id: Some(id.into()),
            body: vec![b'x'; 2000],
        }]
    }

    #[test]
    fn a_sweep_of_a_slice_of_a_steady_window_does_not_compact() {
        // Compacting would stop every write for as long as it takes; freeing a sixth of the window is not worth it.
        let dir = tempfile::tempdir().unwrap();
        let store = RedbOutcomeStore::open(&dir.path().join("s.redb")).unwrap();
        for i in 0..2_000 {
            store.put(&format!("old{i}"), &egress("old")).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        let cutoff = crate::outcome_store::now_ms();
        std::thread::sleep(Duration::from_millis(5));
        for i in 0..10_000 {
            store.put(&format!("new{i}"), &egress("new")).unwrap();
        }
        let report = sweep_expired(&store, Duration::ZERO, cutoff).unwrap();
        assert_eq!(report.removed, 2_000);
        assert_eq!(report.kept, 10_000);
        assert!(!report.compacted, "{report:?}");
    }

    #[test]
    fn the_file_shrinks_once_everything_expired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let store = RedbOutcomeStore::open(&path).unwrap();
        for i in 0..20_000 {
            store
                .put(&format!("r{i}"), &egress(&format!("r{i}")))
                .unwrap();
        }
        store.flush().unwrap();
        let full = std::fs::metadata(&path).unwrap().len();
        let report =
            sweep_expired(&store, Duration::ZERO, crate::outcome_store::now_ms() + 1).unwrap();
        assert_eq!(report.removed, 20_000);
        assert!(report.compacted, "{report:?}");
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after * 4 < full, "{full} bytes before, {after} after");
        drop(store);
        let reopened = RedbOutcomeStore::open(&path).unwrap();
        assert_eq!(reopened.count().unwrap(), 0);
    }

    #[test]
    fn outcomes_from_before_the_time_index_expire_one_retention_after_the_upgrade() {
        use redb::{ReadableDatabase, TableDefinition};
        const OUTCOMES: TableDefinition<&str, &[u8]> = TableDefinition::new("outcomes");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        {
            // A store as the previous version wrote it: version-1 records, no time index.
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut table = txn.open_table(OUTCOMES).unwrap();
                let mut v1 = vec![1u8];
                v1.extend_from_slice(&super::super::outcome_record::encode(&egress("v1"), 0)[9..]);
                table.insert("v1", v1.as_slice()).unwrap();
            }
            txn.commit().unwrap();
            let _ = db.begin_read().unwrap();
        }
        let opened_at = crate::outcome_store::now_ms();
        let store = RedbOutcomeStore::open(&path).unwrap();
        assert_eq!(store.get("v1").unwrap(), Some(egress("v1")), "still read");
        let day = Duration::from_secs(86_400);
        assert_eq!(sweep_expired(&store, day, opened_at).unwrap().removed, 0);
        assert_eq!(
            sweep_expired(&store, day, opened_at + 86_400_000 + 60_000)
                .unwrap()
                .removed,
            1
        );
    }
}
