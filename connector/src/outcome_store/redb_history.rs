//! The run history in the redb state store: two tables beside the outcomes, written in the outcomes' own write-behind
//! batch (`redb_store.rs` calls [`write_history`] inside the batch's transaction), so the history adds no commit and
//! no fsync.
//!
//! `request_history` maps a requestId to its encoded entry; `request_history_times` orders the entries by the time
//! they were processed, with the index code (0 for Committed, else the error code) as its value, so a filtered
//! listing walks the index newest first and decodes only the entries it returns, and retention and the entry bound
//! find the oldest entries without a scan.

use std::collections::HashMap;

use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::history_entry::HistoryEntry;
use super::redb_store::err;
use super::request_history::{HistoryPage, HistoryQuery, RequestHistory};
use super::{RedbOutcomeStore, StoreError};

/// requestId → encoded [`HistoryEntry`].
pub(super) const HISTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("request_history");
/// (processed at, unix ms; requestId) → index code.
pub(super) const HISTORY_TIMES: TableDefinition<(u64, &str), u16> =
    TableDefinition::new("request_history_times");

/// Writes `entries` in the caller's transaction, each replacing its requestId's earlier entry, then drops the oldest
/// entries past `max_entries`.
pub(super) fn write_history(
    txn: &WriteTransaction,
    entries: &HashMap<String, HistoryEntry>,
    max_entries: u64,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut history = txn
        .open_table(HISTORY)
        .map_err(|e| err("open table")(e.to_string()))?;
    let mut times = txn
        .open_table(HISTORY_TIMES)
        .map_err(|e| err("open table")(e.to_string()))?;
    for (request_id, entry) in entries {
        let earlier = history
            .insert(request_id.as_str(), entry.encode().as_slice())
            .map_err(|e| err("insert")(e.to_string()))?
            .and_then(|old| HistoryEntry::decode(old.value()));
        if let Some(earlier) = earlier {
            times
                .remove((earlier.processed_at_ms, request_id.as_str()))
                .map_err(|e| err("remove")(e.to_string()))?;
        }
        times
            .insert(
                (entry.processed_at_ms, request_id.as_str()),
                entry.index_code(),
            )
            .map_err(|e| err("insert")(e.to_string()))?;
    }
    let len = times.len().map_err(|e| err("count")(e.to_string()))?;
    if len > max_entries {
        let excess = usize::try_from(len - max_entries).unwrap_or(usize::MAX);
        let oldest = oldest_keys(&times, None, excess)?;
        remove_entries(&mut history, &mut times, &oldest)?;
    }
    Ok(())
}

type Times<'t> = redb::Table<'t, (u64, &'static str), u16>;
type Entries<'t> = redb::Table<'t, &'static str, &'static [u8]>;

/// Up to `limit` time keys, oldest first, processed before `before_ms` when given.
fn oldest_keys(
    times: &Times<'_>,
    before_ms: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, String)>, StoreError> {
    let range = match before_ms {
        Some(cutoff) => times.range(..(cutoff, "")),
        None => times.range::<(u64, &str)>(..),
    }
    .map_err(|e| err("scan")(e.to_string()))?;
    range
        .take(limit)
        .map(|entry| {
            entry
                .map(|(key, _)| {
                    let (at, id) = key.value();
                    (at, id.to_owned())
                })
                .map_err(|e| err("scan")(e.to_string()))
        })
        .collect()
}

/// Removes the time keys, and each entry still at that time (a newer entry of the same requestId has its own key).
fn remove_entries(
    history: &mut Entries<'_>,
    times: &mut Times<'_>,
    keys: &[(u64, String)],
) -> Result<(), StoreError> {
    for (at, id) in keys {
        times
            .remove((*at, id.as_str()))
            .map_err(|e| err("remove")(e.to_string()))?;
        let current = history
            .get(id.as_str())
            .map_err(|e| err("read")(e.to_string()))?
            .map(|v| HistoryEntry::decode(v.value()).map(|e| e.processed_at_ms));
        if matches!(current, Some(None)) || current == Some(Some(*at)) {
            history
                .remove(id.as_str())
                .map_err(|e| err("remove")(e.to_string()))?;
        }
    }
    Ok(())
}

impl RequestHistory for RedbOutcomeStore {
    fn record_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        self.put_history(entries)
    }

    fn history_entry(&self, request_id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        if let Some(entry) = self.pending_history(request_id) {
            return Ok(Some(entry));
        }
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let history = txn
            .open_table(HISTORY)
            .map_err(|e| err("open table")(e.to_string()))?;
        let Some(value) = history
            .get(request_id)
            .map_err(|e| err("read")(e.to_string()))?
        else {
            return Ok(None);
        };
        HistoryEntry::decode(value.value())
            .map(Some)
            .ok_or_else(|| StoreError::new(format!("history entry of {request_id:?} is corrupt")))
    }

    fn recent_history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let history = txn
            .open_table(HISTORY)
            .map_err(|e| err("open table")(e.to_string()))?;
        let times = txn
            .open_table(HISTORY_TIMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        let since = query.since_ms.unwrap_or(0);
        let mut page = HistoryPage::default();
        for key in times
            .range((since, "")..)
            .map_err(|e| err("scan")(e.to_string()))?
            .rev()
        {
            let (key, code) = key.map_err(|e| err("scan")(e.to_string()))?;
            if !query.matches_code(code.value()) {
                continue;
            }
            let (at, id) = key.value();
            let entry = history
                .get(id)
                .map_err(|e| err("read")(e.to_string()))?
                .and_then(|v| HistoryEntry::decode(v.value()))
                .filter(|entry| entry.processed_at_ms == at);
            let Some(entry) = entry else { continue };
            if page.entries.len() == query.limit {
                page.truncated = true;
                break;
            }
            page.entries.push(entry);
        }
        Ok(page)
    }

    fn remove_history_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        // Not synced, like the outcomes' removal: one lost in a crash is made again by the next sweep.
        txn.set_durability(redb::Durability::None)
            .map_err(|e| err("set durability")(e.to_string()))?;
        let removed = {
            let mut history = txn
                .open_table(HISTORY)
                .map_err(|e| err("open table")(e.to_string()))?;
            let mut times = txn
                .open_table(HISTORY_TIMES)
                .map_err(|e| err("open table")(e.to_string()))?;
            let expired = oldest_keys(&times, Some(cutoff_ms), limit)?;
            remove_entries(&mut history, &mut times, &expired)?;
            expired.len()
        };
        txn.commit().map_err(|e| err("commit")(e.to_string()))?;
        Ok(removed)
    }

    fn history_len(&self) -> Result<u64, StoreError> {
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| err("begin read")(e.to_string()))?;
        let times = txn
            .open_table(HISTORY_TIMES)
            .map_err(|e| err("open table")(e.to_string()))?;
        times.len().map_err(|e| err("count")(e.to_string()))
    }
}
