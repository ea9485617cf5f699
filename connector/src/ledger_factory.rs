//! Builds the configured ledger: the embedded one (in memory or journaled) with the mapping's template catalog, or
//! a Daml participant over gRPC.
//!
//! The gateway and the sandbox keep an embedded ledger durable by default (journal in `state_dir`); the offline
//! commands (`process`, `test`) keep it in memory unless the config names a `journal` explicitly, so trying a mapping
//! never touches a gateway's ledger.

use std::sync::Arc;

use daml_ledger::DamlLedger;
use embedded_ledger::EmbeddedLedger;
use ledger_port::{Clock, Ledger};

use crate::config::{Config, ConfigError, LedgerChoice};
use crate::mapping::{WorkflowMapping, template_catalog};

/// Why the ledger could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LedgerOpenError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("embedded ledger journal: {0}")]
    Journal(String),
    /// The Daml settings name a file that cannot be used (TLS material, token): fix the config, retrying won't help.
    #[error(transparent)]
    Daml(#[from] daml_ledger::SettingsError),
}

/// Where an embedded ledger lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedStorage {
    /// The gateway's and the sandbox's: the journal in `state_dir` unless configured elsewhere or `in_memory`.
    Durable,
    /// The offline commands': in memory unless a `journal` is configured explicitly.
    ExplicitJournalOnly,
}

/// The opened ledger, with the embedded one's concrete handle when that is what it is.
pub struct OpenedLedger {
    pub ledger: Arc<dyn Ledger>,
    pub embedded: Option<Arc<EmbeddedLedger>>,
    /// A short human note on recovery (journal replayed, tail cut), for the log.
    pub recovery_note: Option<String>,
    /// `platformVersion` written into egress.
    pub platform_version: u32,
    /// The embedded ledger's identity (from its journal's id file); none in memory or on Daml.
    pub embedded_id: Option<String>,
    /// The Daml adapter's concrete handle, when that is the ledger.
    pub daml: Option<Arc<DamlLedger>>,
}

/// Opens the ledger the config names.
pub async fn open_ledger(
    config: &Config,
    mapping: &WorkflowMapping,
    clock: Clock,
    storage: EmbeddedStorage,
) -> Result<OpenedLedger, LedgerOpenError> {
    match config.ledger_choice()? {
        LedgerChoice::Embedded(embedded) => {
            let catalog = template_catalog(&config.workflows, mapping)?;
            let journal = match storage {
                EmbeddedStorage::Durable => config.embedded_journal(),
                EmbeddedStorage::ExplicitJournalOnly => embedded.journal.clone(),
            };
            let embedded_id = match &journal {
                Some(path) => Some(
                    crate::ledger_identity::embedded_ledger_id(path)
                        .map_err(|e| LedgerOpenError::Journal(e.to_string()))?,
                ),
                None => None,
            };
            let (ledger, recovery_note) = match &journal {
                None => (EmbeddedLedger::in_memory(catalog, clock), None),
                Some(path) => {
                    let started = std::time::Instant::now();
                    let (ledger, report) = EmbeddedLedger::open(path, catalog, clock)
                        .await
                        .map_err(|e| LedgerOpenError::Journal(e.to_string()))?;
                    let took = started.elapsed().as_millis();
                    let note = match &report.truncated_tail {
                        Some(tail) => format!(
                            "journal {}: replayed {} transactions in {took} ms; cut a torn tail: {tail:?}",
                            path.display(),
                            report.transactions
                        ),
                        None => format!(
                            "journal {}: replayed {} transactions in {took} ms",
                            path.display(),
                            report.transactions
                        ),
                    };
                    (ledger, Some(note))
                }
            };
            if let Some(plan) = &embedded.faults {
                ledger.set_fault_plan(plan.clone());
            }
            ledger.set_compaction_policy(Some(embedded.compaction_policy()));
            let ledger = Arc::new(ledger);
            Ok(OpenedLedger {
                ledger: ledger.clone(),
                embedded: Some(ledger),
                recovery_note,
                platform_version: 1,
                embedded_id,
                daml: None,
            })
        }
        LedgerChoice::Daml(settings) => {
            // Connects lazily: a participant that is down shows up as transient errors on the first calls.
            let ledger = Arc::new(DamlLedger::connect(&settings, config.reading_parties())?);
            Ok(OpenedLedger {
                ledger: ledger.clone(),
                embedded: None,
                recovery_note: None,
                platform_version: 1,
                embedded_id: None,
                daml: Some(ledger),
            })
        }
    }
}
