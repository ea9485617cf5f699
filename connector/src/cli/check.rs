//! `connector check`: load, validate and compile a config without starting anything long-lived, with the rules for
//! running beside other instances that `run` applies; against a Daml ledger, also ask the participant whether it
//! knows every mapped template.

use std::path::Path;

use daml_ledger::DamlLedger;
use ledger_port::{ErrorClass, RejectionReason};

use crate::config::{Config, LedgerChoice, check_instance_rules};
use crate::embedded_catalog::template_catalog;
use crate::mapping::WorkflowMapping;

/// Validates the config at `path`; returns a one-paragraph summary on success.
pub async fn check(path: &Path) -> anyhow::Result<String> {
    let config = Config::load(path)?;
    check_instance_rules(&config)?;
    let mapping = WorkflowMapping::compile(&config.workflows)?;
    let functions: usize = mapping.workflows().map(|w| w.functions.len()).sum();
    let ledger = match config.ledger_choice()? {
        LedgerChoice::Embedded(_) => {
            template_catalog(&config.workflows, &mapping)?;
            match config.embedded_journal() {
                Some(journal) => format!("embedded (journal {})", journal.display()),
                None => "embedded (in memory, with the gateway's state)".to_owned(),
            }
        }
        LedgerChoice::Daml(settings) => {
            let ledger = DamlLedger::connect(&settings, config.reading_parties())?;
            check_templates(&ledger, &mapping, &settings.shown_url()).await?;
            format!(
                "daml ({} as user {:?}, every mapped template known to it)",
                settings.shown_url(),
                settings.user_id
            )
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

/// Asks the participant about each workflow's template; lists every one it does not know, by workflow path.
/// A participant that cannot be asked (down, credentials refused) fails the check with that reason instead.
async fn check_templates(
    ledger: &DamlLedger,
    mapping: &WorkflowMapping,
    url: &str,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for workflow in mapping.workflows() {
        match ledger.check_template(&workflow.template).await {
            Ok(()) => {}
            Err(e)
                if e.class == ErrorClass::Permanent
                    && matches!(
                        e.reason,
                        RejectionReason::NotFound | RejectionReason::InvalidArgument
                    ) =>
            {
                problems.push(format!(
                    "workflows.{}.template: \"{}\" is not known to the ledger ({})",
                    workflow.name, workflow.template, e.message
                ));
            }
            Err(e) => {
                anyhow::bail!(
                    "cannot check the mapped templates against the Daml ledger at {url}: {}",
                    e.message
                );
            }
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok(())
}
