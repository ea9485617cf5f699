//! `connector compact`: compacts the embedded ledger's journal offline, the same compaction the gateway runs by
//! itself when `ledger.embedded.compact_when_history_exceeds` says so (see the `embedded-ledger` crate's
//! `compaction` module).
//!
//! It refuses to run while a gateway or sandbox has the journal open: opening the ledger takes the journal's lock.
//! It keeps what the gateway's observer has not published yet: the observer checkpoint in `state_dir` is the
//! floor, so the gateway resumes where it stopped; the ledger's identity file (`<journal>.id`) is left as it is.

use std::path::Path;

use anyhow::Context as _;
use ledger_port::Clock;

use crate::config::{Config, LedgerChoice, ObserveMode};
use crate::ledger_factory::{EmbeddedStorage, open_ledger};
use crate::mapping::WorkflowMapping;
use crate::outcome_store::{StateLocation, open_state_store, state_location};

/// Compacts the journal the config at `path` names; returns a one-line summary.
pub async fn compact(path: &Path) -> anyhow::Result<String> {
    let config = Config::load(path)?;
    if !matches!(config.ledger_choice()?, LedgerChoice::Embedded(_)) {
        anyhow::bail!(
            "{}: ledger: `connector compact` compacts the embedded ledger's journal; expected `ledger.embedded` (or no \
             `ledger` key), not a Daml participant (which prunes its own history)",
            path.display()
        );
    }
    let Some(journal) = config.embedded_journal() else {
        anyhow::bail!(
            "{}: ledger.embedded.in_memory is true: an in-memory ledger has no journal to compact",
            path.display()
        );
    };
    if !journal.exists() {
        anyhow::bail!(
            "journal {} does not exist (expected the file ledger.embedded.journal names, or ledger.journal in \
             state_dir): nothing to compact",
            journal.display()
        );
    }
    let floor = observer_checkpoint(&config)?;
    let mapping = WorkflowMapping::compile(&config.workflows)?;
    let opened = open_ledger(&config, &mapping, Clock::System, EmbeddedStorage::Durable).await?;
    let ledger = opened
        .embedded
        .context("the configured ledger is not the embedded one")?;
    if let Some(floor) = floor {
        ledger.set_compaction_floor(std::sync::Arc::new(move || floor));
    }
    let report = ledger.compact().await?;
    Ok(format!(
        "journal {}: compacted at offset {} (updates readable after offset {}): {} transaction(s) kept for {} \
         active contract(s) and the deduplication window; {} bytes -> {} bytes",
        journal.display(),
        report.snapshot_offset,
        report.readable_from,
        report.retained,
        report.active_contracts,
        report.bytes_before,
        report.bytes_after
    ))
}

/// The gateway observer's checkpoint in `state_dir`, when there is an observer and it has one: compaction must
/// keep every transaction after it.
fn observer_checkpoint(config: &Config) -> anyhow::Result<Option<i64>> {
    if config.observe == ObserveMode::Off || !config.state_is_durable() {
        return Ok(None);
    }
    let location = state_location(config);
    if let StateLocation::Redb(file) = &location
        && !file.exists()
    {
        return Ok(None);
    }
    let (outcomes, _) = open_state_store(config)
        .with_context(|| format!("cannot open the state store ({location})"))?;
    outcomes
        .checkpoint()
        .with_context(|| format!("cannot read the observer checkpoint from {location}"))
}
