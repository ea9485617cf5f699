//! The backends the contract suite runs on: each gives a fresh place to keep state (a temporary directory, a
//! database of its own) and opens stores on it, again and again, as a restarted gateway would.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::StatePostgresConfig;
use crate::outcome_store::{
    DeliveryAttempts, MemoryOutcomeStore, OutcomeStore, PostgresOutcomeStore, RedbOutcomeStore,
};

/// A store of some backend, as the suite uses it.
pub trait Store: OutcomeStore + DeliveryAttempts {}
impl<T: OutcomeStore + DeliveryAttempts> Store for T {}

/// One backend's fresh state, and how stores are opened on it.
pub trait Backend {
    /// A fresh, empty place.
    fn fresh() -> Self;
    /// A store on it: for a durable backend, what a restarted gateway would find.
    fn open(&self) -> Box<dyn Store>;
    /// A store keeping at most `limit` history entries.
    fn open_with_history_limit(&self, limit: u64) -> Box<dyn Store>;
}

pub struct Memory;

impl Backend for Memory {
    fn fresh() -> Self {
        Memory
    }
    fn open(&self) -> Box<dyn Store> {
        Box::new(MemoryOutcomeStore::new())
    }
    fn open_with_history_limit(&self, limit: u64) -> Box<dyn Store> {
        Box::new(MemoryOutcomeStore::new().with_history_limit(limit))
    }
}

pub struct Redb(tempfile::TempDir);

impl Backend for Redb {
    fn fresh() -> Self {
        Redb(tempfile::tempdir().expect("a temporary directory"))
    }
    fn open(&self) -> Box<dyn Store> {
        Box::new(RedbOutcomeStore::open(&self.0.path().join("state.redb")).expect("redb opens"))
    }
    fn open_with_history_limit(&self, limit: u64) -> Box<dyn Store> {
        Box::new(
            RedbOutcomeStore::open(&self.0.path().join("state.redb"))
                .expect("redb opens")
                .with_history_limit(limit),
        )
    }
}

/// The server the tests use: `CONNECTOR_TEST_POSTGRES` (a `postgres://` URL of a user that may create databases),
/// by default the local server with trust authentication.
pub fn server_url() -> String {
    std::env::var("CONNECTOR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own for one test (`connector_test_<pid>_<n>_<random>`), dropped when the test ends, so tests
/// never share state.
pub struct Postgres {
    pub database: String,
}

impl Postgres {
    /// The store's settings for this database.
    pub fn settings(&self) -> StatePostgresConfig {
        settings_for(&self.url())
    }

    pub fn url(&self) -> String {
        let server = server_url();
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
        format!("{base}/{}", self.database)
    }
}

/// Store settings for a URL.
pub fn settings_for(url: &str) -> StatePostgresConfig {
    let yaml = format!("url: {url}\nconnect_timeout: 2s\npool_size: 4\n");
    let value: serde_json::Value = serde_saphyr::from_str(&yaml).expect("settings yaml");
    serde_json::from_value(value).expect("settings")
}

/// Runs SQL on the server's maintenance database (outside any runtime: the suite's tests are plain tests).
pub fn admin(sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
            .await
            .expect("the test PostgreSQL server at CONNECTOR_TEST_POSTGRES (default 127.0.0.1:5432) answers");
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.expect(sql);
        drop(client);
        let _ = driver.await;
    });
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Backend for Postgres {
    fn fresh() -> Self {
        let database = format!(
            "connector_test_{}_{}_{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        admin(&format!("CREATE DATABASE {database}"));
        Postgres { database }
    }
    fn open(&self) -> Box<dyn Store> {
        Box::new(PostgresOutcomeStore::open(&self.settings()).expect("the store opens"))
    }
    fn open_with_history_limit(&self, limit: u64) -> Box<dyn Store> {
        Box::new(
            PostgresOutcomeStore::open(&self.settings())
                .expect("the store opens")
                .with_history_limit(limit),
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        ));
    }
}
