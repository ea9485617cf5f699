//! Every committed transaction, read back from where the ledger keeps it: the journal file of the embedded ledger,
//! or, on Daml, the sandbox's Ledger API (as any other reader of the participant would), so the harnesses count
//! ledger effects from the ledger itself, not from what the gateway says it did.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ledger_port::{Ledger, UpdateFilter};

use super::Sandbox;

/// The transactions from the start to the ledger end, in offset order. With no `sandbox`, the embedded ledger of
/// `config`'s mapping is opened on `journal` (the gateway must have stopped).
pub async fn ledger_transactions(
    journal: &std::path::Path,
    config: &std::path::Path,
    sandbox: Option<&Sandbox>,
) -> Vec<ledger_port::Transaction> {
    let ledger: Arc<dyn Ledger> = match sandbox {
        None => {
            let config = connector::config::Config::load(config).expect("the harness config loads");
            let mapping = connector::mapping::WorkflowMapping::compile(&config.workflows)
                .expect("the example mapping compiles");
            let catalog =
                connector::embedded_catalog::template_catalog(&config.workflows, &mapping)
                    .expect("the example's template catalog");
            let (ledger, _) =
                embedded_ledger::EmbeddedLedger::open(journal, catalog, ledger_port::Clock::System)
                    .await
                    .expect("the journal opens");
            Arc::new(ledger)
        }
        Some(sandbox) => {
            let settings = daml_ledger::DamlSettings::new(sandbox.url(), "gateway");
            let parties = ["Operator", "Device01", "Carrier", "Retailer", "Auditor"];
            Arc::new(
                daml_ledger::DamlLedger::connect(
                    &settings,
                    parties.iter().map(|p| p.to_string()).collect(),
                )
                .expect("the sandbox's Ledger API answers"),
            )
        }
    };
    let end = ledger.ledger_end().await.expect("the ledger end");
    let mut stream = ledger
        .updates(0, &UpdateFilter::default())
        .await
        .expect("the update stream");
    let mut out = Vec::new();
    while out
        .last()
        .is_none_or(|tx: &ledger_port::Transaction| tx.offset < end)
    {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(tx))) => out.push(tx),
            _ => break,
        }
    }
    out
}
