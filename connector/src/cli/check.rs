//! `connector check`: load, validate and compile a config without starting anything long-lived.

use std::path::Path;

use crate::config::{Config, LedgerChoice};
use crate::mapping::{WorkflowMapping, template_catalog};

/// Validates the config at `path`; returns a one-paragraph summary on success.
pub async fn check(path: &Path) -> anyhow::Result<String> {
    let config = Config::load(path)?;
    let mapping = WorkflowMapping::compile(&config.workflows)?;
    let functions: usize = mapping.workflows().map(|w| w.functions.len()).sum();
    let ledger = match config.ledger_choice()? {
        LedgerChoice::Embedded(embedded) => {
            template_catalog(&config.workflows, &mapping)?;
            match embedded.journal {
                Some(journal) => format!("embedded (journal {})", journal.display()),
                None => "embedded (in memory)".to_owned(),
            }
        }
    };
    Ok(format!(
        "{}: OK — {} workflow(s), {} function(s), ledger {ledger}, party {:?}, ordering {:?}",
        path.display(),
        mapping.workflows().count(),
        functions,
        config.party,
        config.ordering
    ))
}
