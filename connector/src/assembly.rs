//! Assembles a processor from a config: the mapping, the ledger, the linear id index. Shared by `process`, `test`,
//! `run` and `sandbox`, so they all run the same code on the same config.

use std::sync::Arc;

use ledger_port::Clock;
use message_schema::egress::LedgerInfo;

use crate::config::Config;
use crate::ledger_factory::{EmbeddedStorage, LedgerOpenError, OpenedLedger, open_ledger};
use crate::mapping::WorkflowMapping;
use crate::outcome_store::OutcomeStore;
use crate::processor::{Processor, ProcessorSettings};

/// A ready processor and the ledger under it.
pub struct Assembly {
    pub processor: Arc<Processor>,
    pub opened: OpenedLedger,
    /// The offset of the active contract set the index was loaded from.
    pub index_offset: i64,
}

/// Why assembly failed.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    #[error(transparent)]
    Ledger(#[from] LedgerOpenError),
    #[error("cannot load the active contracts from the ledger: {0}")]
    Index(ledger_port::LedgerError),
}

/// Compiles the mapping, opens the ledger and loads the index.
pub async fn assemble(
    config: &Config,
    clock: Clock,
    outcomes: Arc<dyn OutcomeStore>,
    storage: EmbeddedStorage,
) -> Result<Assembly, AssemblyError> {
    let mapping =
        Arc::new(WorkflowMapping::compile(&config.workflows).map_err(LedgerOpenError::Config)?);
    let opened = open_ledger(config, &mapping, clock, storage).await?;
    let settings = ProcessorSettings {
        party: config.party.clone(),
        allowed_request_parties: config.allowed_request_parties().map(<[String]>::to_vec),
        parties_by_amqp_user: config.parties_by_amqp_user().cloned(),
        retry: config.retry.clone(),
        info: LedgerInfo {
            ledger_type: opened.ledger.ledger_type().to_owned(),
            platform_version: opened.platform_version,
            connection_id: config.connection_id,
        },
        limits: config.limits,
        faults: config.faults.clone(),
    };
    let processor = Arc::new(Processor::new(
        opened.ledger.clone(),
        mapping,
        outcomes,
        settings,
    ));
    let started = std::time::Instant::now();
    let index_offset = processor.load_index().await.map_err(AssemblyError::Index)?;
    tracing::info!(
        lineages = processor.index().read().map(|i| i.len()).unwrap_or(0),
        offset = index_offset,
        took_ms = started.elapsed().as_millis() as u64,
        "contract index loaded from the active contracts"
    );
    Ok(Assembly {
        processor,
        opened,
        index_offset,
    })
}
