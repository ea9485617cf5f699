//! The PostgreSQL state store's tables, created and upgraded by numbered migrations applied when the store is first
//! used.
//!
//! Each migration runs in its own transaction, which first takes a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`), so instances starting at once against one database apply each migration exactly once:
//! the second waits for the first to commit, then sees the version recorded in `schema_migrations` and skips it.
//! A database already migrated past what this build knows is refused (an older binary must not write to tables it
//! does not understand).
//!
//! The tables mirror the redb store's: `outcomes` (requestId → the `outcome_record.rs` bytes, with the time they were
//! recorded indexed for retention), `request_history` (one row per requestId, indexed by time for listings,
//! retention and the entry bound), `delivery_attempts` and `checkpoints`. Request ids are `COLLATE "C"` so ties
//! in time are broken by bytes, as redb and the in-memory store break them.

use tokio_postgres::Client;

use super::StoreError;
use super::postgres_errors::from_db;

/// The advisory lock key every migrating instance takes (an arbitrary constant: "connector state" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_6e6e_7374_6174;

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "outcomes, run history, delivery attempts, checkpoints",
    r#"
    CREATE TABLE outcomes (
        request_id TEXT COLLATE "C" PRIMARY KEY,
        recorded_at_ms BIGINT NOT NULL,
        body BYTEA NOT NULL
    );
    CREATE INDEX outcomes_by_time ON outcomes (recorded_at_ms, request_id);
    CREATE TABLE request_history (
        request_id TEXT COLLATE "C" PRIMARY KEY,
        processed_at_ms BIGINT NOT NULL,
        index_code INTEGER NOT NULL,
        entry BYTEA NOT NULL
    );
    CREATE INDEX request_history_by_time ON request_history (processed_at_ms, request_id);
    CREATE TABLE delivery_attempts (
        delivery_key BYTEA PRIMARY KEY,
        attempts INTEGER NOT NULL
    );
    CREATE TABLE checkpoints (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    "#,
)];

/// The newest schema version this build knows.
pub(super) fn latest_version() -> i32 {
    MIGRATIONS.last().map(|(v, _, _)| *v).unwrap_or(0)
}

/// Applies every migration the database does not have yet; returns how many this call applied.
pub(super) async fn migrate(client: &mut Client) -> Result<usize, StoreError> {
    let mut applied = 0;
    for (version, name, sql) in MIGRATIONS {
        let txn = client
            .transaction()
            .await
            .map_err(|e| from_db("migration: begin", e))?;
        txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| from_db("migration: lock", e))?;
        txn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(|e| from_db("migration: schema_migrations", e))?;
        let newest: Option<i32> = txn
            .query_one("SELECT max(version) FROM schema_migrations", &[])
            .await
            .map_err(|e| from_db("migration: read versions", e))?
            .get(0);
        if let Some(newest) = newest
            && newest > latest_version()
        {
            return Err(StoreError::new(format!(
                "the state database is at schema version {newest}, newer than this connector knows ({}): run \
                 the newer connector, or point state.postgres.url at another database",
                latest_version()
            )));
        }
        let present = txn
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await
            .map_err(|e| from_db("migration: read versions", e))?
            .is_some();
        if !present {
            txn.batch_execute(sql)
                .await
                .map_err(|e| from_db(&format!("migration {version} ({name})"), e))?;
            txn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .map_err(|e| from_db("migration: record version", e))?;
            applied += 1;
        }
        txn.commit()
            .await
            .map_err(|e| from_db(&format!("migration {version}: commit"), e))?;
        if !present {
            tracing::info!(version, name, "state database migrated");
        }
    }
    Ok(applied)
}
