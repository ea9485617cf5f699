//! The PostgreSQL state store (`state.backend: postgres`): the redb store's contract on a database several gateway
//! instances can share.
//!
//! Write-behind as in redb: `put` and `record_history` keep their rows in memory (where `get` and `history_entry`
//! find them), and `flush` writes everything put since the last flush in ONE transaction (one multi-row upsert per
//! table), so the gateway pays one round trip and one commit per batch of acks, not one per message. A put that was
//! not flushed is lost in a crash, exactly like an unsynced redb commit; the gateway never acks before the flush.
//! Should rows pile up without a flush, they are written at [`WRITE_BEHIND_LIMIT`] like redb's.
//!
//! Every database call runs on the store's own thread and runtime (`postgres_thread.rs`), waited for like a redb
//! fsync. The pool connects lazily, and the first call that gets a connection applies the migrations
//! (`postgres_schema.rs`), so opening never fails because PostgreSQL is down: the calls fail instead, with errors
//! marked `unavailable` (`postgres_errors.rs`), and [`OutcomeStore::probe`] tells the gateway when the server answers
//! again.
//!
//! `compact` runs a plain `VACUUM` of the outcome and history tables: the space of removed rows becomes reusable and
//! empty pages at a table's end go back to the operating system, without the exclusive lock `VACUUM FULL` would take
//! (PostgreSQL's autovacuum does the same on its own schedule).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::sync::OnceCell;

use super::history_entry::HistoryEntry;
use super::outcome_record::{OutcomeRecord, decode, encode, recorded_at_ms};
use super::postgres_errors::{from_db, from_pool};
use super::postgres_schema::migrate;
use super::postgres_thread::StoreThread;
use super::request_history::MAX_HISTORY_ENTRIES;
use super::write_behind::{Batch, HistoryBatch, WriteBehind};
use super::{OutcomeStore, StoreError};
use crate::config::StatePostgresConfig;
use crate::encoded_egress::EncodedEgress;

/// Rows held in memory before they are written without waiting for a flush.
pub const WRITE_BEHIND_LIMIT: usize = 4096;
const OBSERVER_CHECKPOINT: &str = "observer";
/// How long one call may wait beyond the connect timeout before the server counts as unavailable.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// What the store's thread works with.
pub(super) struct Backend {
    pool: Pool,
    /// Set once the migrations are applied (by this process or another).
    schema: OnceCell<()>,
    /// The most run-history entries kept.
    pub(super) history_limit: u64,
    /// History entries written since the bound was last enforced (see `postgres_history.rs`).
    pub(super) history_written: AtomicU64,
}

impl Backend {
    /// A pooled connection to a migrated database.
    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        let mut client = self.pool.get().await.map_err(from_pool)?;
        self.schema
            .get_or_try_init(|| async { migrate(&mut client).await.map(|_| ()) })
            .await?;
        Ok(client)
    }
}

/// Outcomes, history, attempts and the checkpoint in PostgreSQL.
pub struct PostgresOutcomeStore {
    pub(super) backend: Arc<Backend>,
    write_behind: WriteBehind,
    call_timeout: Duration,
    /// Last, so the pool's connections are closed before the thread that drives them stops.
    thread: StoreThread,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl PostgresOutcomeStore {
    /// A store on the configured database. Connects lazily: PostgreSQL being down is not an error here (the password
    /// file being unreadable is).
    pub fn open(settings: &StatePostgresConfig) -> Result<Self, StoreError> {
        let pg_config = settings
            .tokio_postgres_config()
            .map_err(|e| StoreError::new(e.to_string()))?;
        let connect_timeout = settings.connect_timeout.0;
        let manager = Manager::from_config(
            pg_config,
            tokio_postgres::NoTls,
            ManagerConfig {
                // A connection the server closed is found closed and replaced; one still open is used as it is.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(connect_timeout))
            .wait_timeout(Some(connect_timeout + ANSWER_TIMEOUT))
            .build()
            .map_err(|e| StoreError::new(format!("cannot build the PostgreSQL pool: {e}")))?;
        Ok(Self {
            backend: Arc::new(Backend {
                pool,
                schema: OnceCell::new(),
                history_limit: MAX_HISTORY_ENTRIES,
                history_written: AtomicU64::new(0),
            }),
            write_behind: WriteBehind::default(),
            call_timeout: connect_timeout + ANSWER_TIMEOUT,
            thread: StoreThread::start()?,
        })
    }

    /// The same store keeping at most `limit` history entries.
    #[cfg(test)]
    pub(super) fn with_history_limit(mut self, limit: u64) -> Self {
        if let Some(backend) = Arc::get_mut(&mut self.backend) {
            backend.history_limit = limit;
        }
        self
    }

    /// Runs one operation against the database on the store's thread and waits for it.
    pub(super) fn run<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Backend>) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.thread
            .call(self.call_timeout, operation(Arc::clone(&self.backend)))
    }

    /// Writes every pending row in one transaction (the upserts are idempotent, so a commit whose answer was lost
    /// is harmless to repeat).
    fn write_pending(&self) -> Result<(), StoreError> {
        self.write_behind.write(
            || false,
            |batch, history| {
                let (batch, history) = (Arc::clone(batch), Arc::clone(history));
                self.run(
                    move |backend| async move { commit_batch(&backend, &batch, &history).await },
                )
            },
        )
    }

    /// Keeps run-history entries for the next write, like outcomes.
    pub(super) fn put_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        if self.write_behind.put_history(entries) >= WRITE_BEHIND_LIMIT {
            self.write_pending()?;
        }
        Ok(())
    }

    /// A history entry not written yet.
    pub(super) fn pending_history(&self, request_id: &str) -> Option<HistoryEntry> {
        self.write_behind.history_entry(request_id)
    }

    fn recorded_bytes(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        let bytes = match self.write_behind.outcome(request_id) {
            Some(bytes) => Some(bytes.to_vec()),
            None => {
                let id = request_id.to_owned();
                self.run(move |backend| async move {
                    let client = backend.client().await?;
                    let row = client
                        .query_opt("SELECT body FROM outcomes WHERE request_id = $1", &[&id])
                        .await
                        .map_err(|e| from_db("read an outcome", e))?;
                    Ok(row.map(|row| row.get::<_, Vec<u8>>(0)))
                })?
            }
        };
        match bytes {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).ok_or_else(|| {
                StoreError::new(format!("stored outcome of {request_id:?} is corrupt"))
            }),
        }
    }
}

/// One batch of outcomes and history entries, in one transaction.
async fn commit_batch(
    backend: &Backend,
    batch: &Batch,
    history: &HistoryBatch,
) -> Result<(), StoreError> {
    let mut client = backend.client().await?;
    let txn = client
        .transaction()
        .await
        .map_err(|e| from_db("begin a flush", e))?;
    if !batch.is_empty() {
        let mut ids = Vec::with_capacity(batch.len());
        let mut times = Vec::with_capacity(batch.len());
        let mut bodies = Vec::with_capacity(batch.len());
        for (request_id, bytes) in batch {
            ids.push(request_id.as_str());
            // Every record this build writes carries its time (version 2).
            times.push(to_i64(recorded_at_ms(bytes).unwrap_or_else(super::now_ms)));
            bodies.push(bytes.as_slice());
        }
        txn.execute(
            "INSERT INTO outcomes (request_id, recorded_at_ms, body)
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::bytea[])
             ON CONFLICT (request_id) DO UPDATE
             SET recorded_at_ms = EXCLUDED.recorded_at_ms, body = EXCLUDED.body",
            &[&ids, &times, &bodies],
        )
        .await
        .map_err(|e| from_db("write outcomes", e))?;
    }
    super::postgres_history::write_history(backend, &txn, history).await?;
    txn.commit().await.map_err(|e| from_db("commit a flush", e))
}

impl OutcomeStore for PostgresOutcomeStore {
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        Ok(self.recorded_bytes(request_id)?.map(|r| r.egress))
    }

    fn recorded(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        self.recorded_bytes(request_id)
    }

    fn put(&self, request_id: &str, egress: &[EncodedEgress]) -> Result<(), StoreError> {
        let bytes = Arc::new(encode(egress, super::now_ms()));
        if self.write_behind.put(request_id, bytes) >= WRITE_BEHIND_LIMIT {
            self.write_pending()?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.write_pending()
    }

    fn count(&self) -> Result<u64, StoreError> {
        // Exact once nothing is pending.
        self.write_pending()?;
        self.run(|backend| async move {
            let client = backend.client().await?;
            let row = client
                .query_one("SELECT count(*) FROM outcomes", &[])
                .await
                .map_err(|e| from_db("count outcomes", e))?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        self.run(|backend| async move {
            let client = backend.client().await?;
            let row = client
                .query_opt(
                    "SELECT value FROM checkpoints WHERE name = $1",
                    &[&OBSERVER_CHECKPOINT],
                )
                .await
                .map_err(|e| from_db("read the observer checkpoint", e))?;
            Ok(row.map(|row| row.get::<_, i64>(0)))
        })
    }

    fn set_checkpoint(&self, offset: i64) -> Result<(), StoreError> {
        self.run(move |backend| async move {
            let client = backend.client().await?;
            client
                .execute(
                    // Shared by every instance: a deposed leader's late save must not move it back behind the new
                    // leader's, which would make the next failover republish more than one batch.
                    "INSERT INTO checkpoints (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = GREATEST(checkpoints.value, EXCLUDED.value)",
                    &[&OBSERVER_CHECKPOINT, &offset],
                )
                .await
                .map_err(|e| from_db("write the observer checkpoint", e))?;
            Ok(())
        })
    }

    fn remove_recorded_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let (cutoff, limit) = (to_i64(cutoff_ms), i64::try_from(limit).unwrap_or(i64::MAX));
        self.run(move |backend| async move {
            let client = backend.client().await?;
            // An outcome put again later has the newer time in its row, so it is not among these.
            let removed = client
                .execute(
                    "DELETE FROM outcomes WHERE request_id IN (
                         SELECT request_id FROM outcomes WHERE recorded_at_ms < $1
                         ORDER BY recorded_at_ms, request_id LIMIT $2)",
                    &[&cutoff, &limit],
                )
                .await
                .map_err(|e| from_db("remove expired outcomes", e))?;
            Ok(usize::try_from(removed).unwrap_or(usize::MAX))
        })
    }

    fn compact(&self) -> Result<bool, StoreError> {
        self.flush()?;
        self.run(|backend| async move {
            let client = backend.client().await?;
            client
                .batch_execute("VACUUM outcomes, request_history")
                .await
                .map_err(|e| from_db("vacuum", e))?;
            Ok(true)
        })
    }

    fn probe(&self) -> Result<(), StoreError> {
        self.run(|backend| async move {
            let client = backend.client().await?;
            client
                .batch_execute("SELECT 1")
                .await
                .map_err(|e| from_db("probe", e))
        })
    }
}

impl Drop for PostgresOutcomeStore {
    fn drop(&mut self) {
        // The connections' tasks run on the store's thread: closing the pool first lets them end cleanly.
        self.backend.pool.close();
    }
}
