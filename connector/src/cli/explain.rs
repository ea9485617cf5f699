//! `connector explain`: for each ingress message, what the gateway would do — workflow, template, create or choice,
//! every argument after conversion, the acting party and why, the guards the embedded ledger evaluates — or the
//! Failure it would get, without a ledger of the config's.
//!
//! Offline nothing says whether a contract exists, so each message is explained against an in-memory embedded ledger
//! that starts empty and then processes the message, as `connector process` would (same processor, same clock): an
//! action on a lineage created earlier in the same input is explained against its current state, guards evaluated;
//! any other lineage is unknown here (4040), whatever a live ledger holds. The explanation is the processor's own
//! plan ([`crate::processor::Processor::plan`]) and the embedded ledger's own interpreter, so it cannot drift from
//! what runs. `explanation.rs` builds one message's explanation, `human.rs` prints it for a person.

mod arguments;
mod explanation;
mod human;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::assembly::assemble;
use crate::cli::parse_clock;
use crate::config::{Config, EmbeddedConfig, LedgerConfig};
use crate::embedded_catalog::template_catalog;
use crate::ledger_factory::EmbeddedStorage;
use crate::mapping::WorkflowMapping;
use crate::outcome_store::MemoryOutcomeStore;
use crate::processor::{Disposition, Sender};
use explanation::{Explainer, Explanation};

/// What `explain` reads and how it prints.
pub struct ExplainOptions {
    pub config: PathBuf,
    pub input: Option<PathBuf>,
    /// RFC 3339: fixes the explain ledger's clock, as `process --clock` does.
    pub clock: Option<String>,
    /// The AMQP user_id every message is explained as, as `process --amqp-user`.
    pub amqp_user: Option<String>,
    /// One JSON object per message instead of text.
    pub json: bool,
}

/// Explains every message of the input to `out`. Returns the number of messages explained.
pub async fn explain(options: &ExplainOptions, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut config = Config::load(&options.config)?;
    let daml_ledger = config.ledger.daml.is_some();
    // Never the configured ledger (a journal would be written to, a participant asked): an empty one in memory.
    config.ledger = LedgerConfig {
        embedded: Some(EmbeddedConfig {
            in_memory: true,
            ..EmbeddedConfig::default()
        }),
        daml: None,
    };
    // Injected test faults would make the plan say one thing and the processor do another.
    config.faults = None;
    let clock = parse_clock(options.clock.as_deref())?;
    let mapping = WorkflowMapping::compile(&config.workflows)?;
    let catalog = template_catalog(&config.workflows, &mapping)?;
    let assembly = assemble(
        &config,
        clock,
        Arc::new(MemoryOutcomeStore::new()),
        EmbeddedStorage::ExplicitJournalOnly,
    )
    .await?;
    let explainer = Explainer {
        config: &config,
        catalog: &catalog,
        processor: &assembly.processor,
        daml_ledger,
    };
    let reader: Box<dyn BufRead> = match &options.input {
        None => Box::new(std::io::stdin().lock()),
        Some(path) if path.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("cannot open input {}", path.display()))?,
        )),
    };
    let sender = Sender {
        amqp_user_id: options.amqp_user.clone(),
        redelivered: true,
    };
    // requestId → the input line that first used it: a repeat is answered from that line's recorded outcome.
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut count = 0;
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.context("cannot read input")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        count += 1;
        let line_number = index as u64 + 1;
        let explanation: Explanation = explainer.explain(&line, line_number, &sender, &mut seen);
        if options.json {
            serde_json::to_writer(&mut *out, &explanation)?;
            out.write_all(b"\n")?;
        } else {
            human::write(out, &explanation)?;
        }
        // The message then runs, so the next one is explained on the state it leaves.
        let processed = assembly.processor.process_from(&line, &sender).await;
        if let Disposition::Halted { reason }
        | Disposition::Abandoned { reason }
        | Disposition::StorageFailed { reason } = &processed.disposition
        {
            anyhow::bail!("explaining stopped at input line {line_number}: {reason}");
        }
    }
    out.flush()?;
    Ok(count)
}
