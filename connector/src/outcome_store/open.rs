//! Which state store a config asks for, opened in one place: the gateway and every CLI command that reads the
//! gateway's state go through [`open_state_store`], so they can never disagree about where the state is.
//!
//! - `ledger.embedded.in_memory: true`: in memory (nothing the gateway remembers may outlive its ledger);
//! - `state.backend: redb` (the default): `<state_dir>/outcomes.redb`;
//! - `state.backend: postgres`: the database `state.postgres.url` names. Opening does not connect (PostgreSQL may be
//!   down at start; the gateway waits for it through [`OutcomeStore::probe`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::{
    DeliveryAttempts, MemoryOutcomeStore, OutcomeStore, PostgresOutcomeStore, RedbOutcomeStore,
    StoreError,
};
use crate::config::Config;

/// The redb store's file under `state_dir`.
pub const REDB_FILE: &str = "outcomes.redb";

/// Where a config keeps its state, for messages and for commands that only read an existing store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    Memory,
    Redb(PathBuf),
    /// The URL as it may be shown (no password).
    Postgres(String),
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Memory => write!(f, "memory"),
            StateLocation::Redb(path) => write!(f, "{}", path.display()),
            StateLocation::Postgres(url) => write!(f, "PostgreSQL {url}"),
        }
    }
}

/// Where `config` keeps the gateway's state.
pub fn state_location(config: &Config) -> StateLocation {
    if !config.state_is_durable() {
        return StateLocation::Memory;
    }
    match config.state.postgres_backend() {
        Some(postgres) => StateLocation::Postgres(postgres.shown_url()),
        None => StateLocation::Redb(config.state_dir.join(REDB_FILE)),
    }
}

/// One state store seen as the outcome store and as the delivery-attempt counter.
pub type StateStore = (Arc<dyn OutcomeStore>, Arc<dyn DeliveryAttempts>);

/// The state store `config` asks for, as the outcome store and the delivery-attempt counter (one object).
pub fn open_state_store(config: &Config) -> Result<StateStore, StoreError> {
    if !config.state_is_durable() {
        let state = Arc::new(MemoryOutcomeStore::new());
        return Ok((state.clone(), state));
    }
    match config.state.postgres_backend() {
        Some(postgres) => {
            let state = Arc::new(PostgresOutcomeStore::open(postgres)?);
            Ok((state.clone(), state))
        }
        None => {
            let state = Arc::new(RedbOutcomeStore::open(&config.state_dir.join(REDB_FILE))?);
            Ok((state.clone(), state))
        }
    }
}
