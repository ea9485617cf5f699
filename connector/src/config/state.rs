//! `state:` — which state store the gateway keeps its outcomes, run history, redelivery counts and observer
//! checkpoint in (redb, a file of one machine; or PostgreSQL, which several instances share), and its retention.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{HumanDuration, StatePostgresConfig};

/// The state store: where it lives and its retention.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Where outcomes, the run history, redelivery counts and the observer checkpoint are kept: `redb` (a file in
    /// `state_dir`, for one instance) or `postgres` (shared, `state.postgres`).
    pub backend: StateBackend,
    /// The PostgreSQL state store; required with `backend: postgres`.
    pub postgres: Option<StatePostgresConfig>,
    /// Outcomes older than this are removed (a re-sent request older than that is processed as new, and the
    /// ledger's deduplication, if it still remembers the command, answers it).
    pub outcome_retention: HumanDuration,
    /// How often expired outcomes are removed (and the file compacted when that freed much of it).
    pub sweep_every: HumanDuration,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            backend: StateBackend::default(),
            postgres: None,
            // The common ledger deduplication window (Canton's default maximum deduplication duration is 7 days).
            outcome_retention: HumanDuration(std::time::Duration::from_secs(7 * 86_400)),
            sweep_every: HumanDuration(std::time::Duration::from_secs(3600)),
        }
    }
}

/// Which state store the gateway keeps its state in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// `<state_dir>/outcomes.redb`: one file, one instance.
    #[default]
    Redb,
    /// A PostgreSQL database (`state.postgres`), which several instances can share.
    Postgres,
}

impl StateConfig {
    /// The PostgreSQL settings when the backend is PostgreSQL.
    pub fn postgres_backend(&self) -> Option<&StatePostgresConfig> {
        match self.backend {
            StateBackend::Postgres => self.postgres.as_ref(),
            StateBackend::Redb => None,
        }
    }

    pub(super) fn invalid_setting(&self, ledger_in_memory: bool) -> Option<(String, String)> {
        match (self.backend, &self.postgres) {
            (StateBackend::Postgres, None) => Some((
                "state.postgres".to_owned(),
                "`state.backend: postgres` needs `state.postgres` (expected at least `url: \
                 postgres://user@host:port/database`)"
                    .to_owned(),
            )),
            (StateBackend::Postgres, Some(_)) if ledger_in_memory => Some((
                "state.backend".to_owned(),
                "`postgres` keeps state that would outlive the in-memory ledger it describes \
                 (ledger.embedded.in_memory: true keeps the state in memory too); expected `redb`, or a durable \
                 ledger"
                    .to_owned(),
            )),
            (_, Some(postgres)) => postgres.invalid_setting(),
            (_, None) => None,
        }
    }
}
