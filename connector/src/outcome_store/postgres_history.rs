//! The run history in the PostgreSQL state store: one `request_history` row per requestId (a later processing of
//! it replaces the row), written in the outcomes' flush transaction (`postgres_store.rs` calls [`write_history`]),
//! listed newest first through the time index with the outcome filters in the query, swept by retention.
//!
//! The entry bound ([`MAX_HISTORY_ENTRIES`](super::MAX_HISTORY_ENTRIES)) is enforced by deleting everything older
//! than the newest `limit` entries. Finding that edge walks `limit` index entries, so a flush does it only once
//! a hundredth of the bound has been written since the last time (every flush for a bound under 100): the table may
//! run over the bound by that much between two trims, and several instances sharing it trim it alike.

use std::sync::atomic::Ordering;

use deadpool_postgres::Transaction;

use super::history_entry::HistoryEntry;
use super::postgres_errors::from_db;
use super::postgres_store::Backend;
use super::request_history::{HistoryPage, HistoryQuery, RequestHistory, StatusFilter};
use super::{PostgresOutcomeStore, StoreError};

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Writes `entries` in the flush's transaction, then trims the table to its bound when due.
pub(super) async fn write_history(
    backend: &Backend,
    txn: &Transaction<'_>,
    entries: &std::collections::HashMap<String, HistoryEntry>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(entries.len());
    let mut times = Vec::with_capacity(entries.len());
    let mut codes = Vec::with_capacity(entries.len());
    let mut encoded = Vec::with_capacity(entries.len());
    for (request_id, entry) in entries {
        ids.push(request_id.as_str());
        times.push(to_i64(entry.processed_at_ms));
        codes.push(i32::from(entry.index_code()));
        encoded.push(entry.encode());
    }
    txn.execute(
        "INSERT INTO request_history (request_id, processed_at_ms, index_code, entry)
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int4[], $4::bytea[])
         ON CONFLICT (request_id) DO UPDATE SET processed_at_ms = EXCLUDED.processed_at_ms,
             index_code = EXCLUDED.index_code, entry = EXCLUDED.entry",
        &[&ids, &times, &codes, &encoded],
    )
    .await
    .map_err(|e| from_db("write the run history", e))?;
    let written = backend
        .history_written
        .fetch_add(entries.len() as u64, Ordering::Relaxed)
        + entries.len() as u64;
    if written >= backend.history_limit / 100 {
        backend.history_written.store(0, Ordering::Relaxed);
        txn.execute(
            "DELETE FROM request_history WHERE (processed_at_ms, request_id) <= (
                 SELECT processed_at_ms, request_id FROM request_history
                 ORDER BY processed_at_ms DESC, request_id DESC OFFSET $1 LIMIT 1)",
            &[&to_i64(backend.history_limit)],
        )
        .await
        .map_err(|e| from_db("trim the run history", e))?;
    }
    Ok(())
}

fn decode(request_id: &str, bytes: &[u8]) -> Result<HistoryEntry, StoreError> {
    HistoryEntry::decode(bytes)
        .ok_or_else(|| StoreError::new(format!("history entry of {request_id:?} is corrupt")))
}

impl RequestHistory for PostgresOutcomeStore {
    fn record_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        self.put_history(entries)
    }

    fn history_entry(&self, request_id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        if let Some(entry) = self.pending_history(request_id) {
            return Ok(Some(entry));
        }
        let id = request_id.to_owned();
        let bytes = self.run(move |backend| async move {
            let client = backend.client().await?;
            let row = client
                .query_opt(
                    "SELECT entry FROM request_history WHERE request_id = $1",
                    &[&id],
                )
                .await
                .map_err(|e| from_db("read a history entry", e))?;
            Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
        })?;
        bytes.map(|bytes| decode(request_id, &bytes)).transpose()
    }

    fn recent_history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        // `code` 0 names no Failure: nothing matches (as `HistoryQuery::matches_code` says).
        if query.code == Some(0) {
            return Ok(HistoryPage::default());
        }
        let status = match query.status {
            None => "",
            Some(StatusFilter::Committed) => " AND index_code = 0",
            Some(StatusFilter::Failure) => " AND index_code <> 0",
        };
        let code = if query.code.is_some() {
            " AND index_code = $3"
        } else {
            " AND $3::int4 IS NULL"
        };
        let sql = format!(
            "SELECT request_id, entry FROM request_history WHERE processed_at_ms >= $1{status}{code}
             ORDER BY processed_at_ms DESC, request_id DESC LIMIT $2"
        );
        let since = to_i64(query.since_ms.unwrap_or(0));
        let limit = query.limit;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let code_value = query.code.map(i32::from);
        let rows = self.run(move |backend| async move {
            let client = backend.client().await?;
            let rows = client
                .query(&sql, &[&since, &fetch, &code_value])
                .await
                .map_err(|e| from_db("list the run history", e))?;
            Ok(rows
                .into_iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, Vec<u8>>(1)))
                .collect::<Vec<_>>())
        })?;
        let mut page = HistoryPage {
            truncated: rows.len() > limit,
            entries: Vec::with_capacity(rows.len().min(limit)),
        };
        for (request_id, bytes) in rows.into_iter().take(limit) {
            page.entries.push(decode(&request_id, &bytes)?);
        }
        Ok(page)
    }

    fn remove_history_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let (cutoff, limit) = (to_i64(cutoff_ms), i64::try_from(limit).unwrap_or(i64::MAX));
        self.run(move |backend| async move {
            let client = backend.client().await?;
            let removed = client
                .execute(
                    "DELETE FROM request_history WHERE request_id IN (
                         SELECT request_id FROM request_history WHERE processed_at_ms < $1
                         ORDER BY processed_at_ms, request_id LIMIT $2)",
                    &[&cutoff, &limit],
                )
                .await
                .map_err(|e| from_db("remove expired history entries", e))?;
            Ok(usize::try_from(removed).unwrap_or(usize::MAX))
        })
    }

    fn history_len(&self) -> Result<u64, StoreError> {
        self.run(|backend| async move {
            let client = backend.client().await?;
            let row = client
                .query_one("SELECT count(*) FROM request_history", &[])
                .await
                .map_err(|e| from_db("count history entries", e))?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }
}
