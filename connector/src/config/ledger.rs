//! The `ledger:` section: which ledger the gateway talks to (the embedded one, durable in `state_dir` by default,
//! or a Daml participant), checked so that exactly one is chosen and its settings are usable.

use std::path::PathBuf;

use daml_ledger::DamlSettings;
use embedded_ledger::{CompactionPolicy, FaultPlan};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{ConfigError, HumanDuration};

/// Which ledger the gateway talks to: `embedded` (the default, durable in `state_dir`) or `daml` (a participant's
/// Ledger API); at most one of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// The schema's copy of `choice`'s first rule: not both.
#[schemars(extend("not" = {
    "required": ["embedded", "daml"],
    "properties": { "embedded": { "type": "object" }, "daml": { "type": "object" } }
}))]
pub struct LedgerConfig {
    #[serde(default)]
    pub embedded: Option<EmbeddedConfig>,
    #[serde(default)]
    pub daml: Option<DamlSettings>,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            embedded: Some(EmbeddedConfig::default()),
            daml: None,
        }
    }
}

/// The embedded ledger: durable by default (its journal in `state_dir`), in memory only when asked for.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// The schema's copy of `choice`'s rule that `in_memory: true` and `journal` exclude each other.
#[schemars(extend("not" = {
    "required": ["in_memory", "journal"],
    "properties": { "in_memory": { "const": true }, "journal": { "type": "string" } }
}))]
pub struct EmbeddedConfig {
    /// The journal file; defaults to `<state_dir>/ledger.journal` for the gateway and the sandbox.
    #[serde(default)]
    pub journal: Option<PathBuf>,
    /// A throwaway ledger in memory; then the gateway keeps its outcome store and observer checkpoint in memory too,
    /// so nothing it remembers can outlive the ledger it describes.
    #[serde(default)]
    pub in_memory: bool,
    /// Injected ledger faults, for testing how the gateway copes (never set this in production).
    #[serde(default)]
    pub faults: Option<FaultPlan>,
    /// Compact the journal by itself once it holds more than this many transactions per active contract (`0`: only
    /// with `connector compact`).
    #[serde(default = "default_compact_factor")]
    #[schemars(range(min = 0.0))]
    pub compact_when_history_exceeds: f64,
    /// ...and at least this many transactions could be pruned.
    #[serde(default = "default_compact_min_transactions")]
    pub compact_min_transactions: u64,
    /// Compaction keeps the transactions this recent whole, so a command redelivered within it still gets its
    /// original transaction back.
    #[serde(default = "default_deduplication_window")]
    pub deduplication_window: HumanDuration,
}

fn default_compact_factor() -> f64 {
    CompactionPolicy::default().history_factor
}

fn default_compact_min_transactions() -> u64 {
    CompactionPolicy::default().min_transactions
}

fn default_deduplication_window() -> HumanDuration {
    HumanDuration(CompactionPolicy::default().deduplication_window)
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            journal: None,
            in_memory: false,
            faults: None,
            compact_when_history_exceeds: default_compact_factor(),
            compact_min_transactions: default_compact_min_transactions(),
            deduplication_window: default_deduplication_window(),
        }
    }
}

impl EmbeddedConfig {
    /// The journal's compaction policy (automatic unless `compact_when_history_exceeds` is 0).
    pub fn compaction_policy(&self) -> CompactionPolicy {
        CompactionPolicy {
            history_factor: self.compact_when_history_exceeds,
            min_transactions: self.compact_min_transactions,
            deduplication_window: self.deduplication_window.0,
        }
    }
}

/// Which ledger is configured, after validation.
#[derive(Debug, Clone)]
pub enum LedgerChoice {
    Embedded(EmbeddedConfig),
    Daml(DamlSettings),
}

impl LedgerConfig {
    /// The configured ledger, validated.
    pub fn choice(&self) -> Result<LedgerChoice, ConfigError> {
        match (&self.embedded, &self.daml) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                "ledger",
                "expected one of `embedded` or `daml`, not both",
            )),
            (_, Some(daml)) => {
                daml.validate()
                    .map_err(|e| ConfigError::invalid(e.path, e.message))?;
                Ok(LedgerChoice::Daml(daml.clone()))
            }
            (embedded, None) => {
                let embedded = embedded.clone().unwrap_or_default();
                if embedded.in_memory && embedded.journal.is_some() {
                    return Err(ConfigError::invalid(
                        "ledger.embedded",
                        "`in_memory: true` and `journal` exclude each other (expected one of them)",
                    ));
                }
                let factor = embedded.compact_when_history_exceeds;
                if !factor.is_finite() || factor < 0.0 {
                    return Err(ConfigError::invalid(
                        "ledger.embedded.compact_when_history_exceeds",
                        format!(
                            "{factor} is not a usable factor (expected a number of transactions per active \
                             contract, at least 0; 0 turns automatic compaction off)"
                        ),
                    ));
                }
                Ok(LedgerChoice::Embedded(embedded))
            }
        }
    }
}
