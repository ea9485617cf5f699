//! `connector process`: the processor offline, JSON Lines in, egress JSON Lines out.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ledger_port::Clock;

use crate::assembly::assemble;
use crate::config::{Config, LedgerChoice};
use crate::ledger_factory::EmbeddedStorage;
use crate::outcome_store::{MemoryOutcomeStore, OutcomeStore, open_state_store, state_location};
use crate::processor::Sender;

/// What `process` reads and how.
pub struct ProcessOptions {
    pub config: PathBuf,
    pub input: Option<PathBuf>,
    /// RFC 3339: fixes the embedded ledger's clock.
    pub clock: Option<String>,
    /// The AMQP user_id every message is processed as (none: messages carry no user_id).
    pub amqp_user: Option<String>,
}

/// Parses `--clock`.
pub fn parse_clock(clock: Option<&str>) -> anyhow::Result<Clock> {
    match clock {
        None => Ok(Clock::System),
        Some(text) => message_schema::time::parse_timestamp_rfc3339(text)
            .map(Clock::Fixed)
            .with_context(|| {
                format!("--clock {text:?}: expected an RFC 3339 time such as 2026-11-24T10:00:00Z")
            }),
    }
}

/// Runs the input through the processor, writing egress lines to `out`. Returns the number of input messages.
pub async fn process(options: &ProcessOptions, out: &mut dyn Write) -> anyhow::Result<u64> {
    let config = Config::load(&options.config)?;
    let clock = parse_clock(options.clock.as_deref())?;
    // With a durable ledger the outcomes must be durable too, or a rerun after a crash could act twice.
    let durable = match config.ledger_choice()? {
        LedgerChoice::Embedded(embedded) => embedded.journal.is_some(),
        LedgerChoice::Daml(_) => true,
    };
    let outcomes: Arc<dyn OutcomeStore> = if durable {
        // The gateway's own state store (redb in state_dir, or `state.backend: postgres`).
        open_state_store(&config)
            .with_context(|| format!("cannot open the state store ({})", state_location(&config)))?
            .0
    } else {
        Arc::new(MemoryOutcomeStore::new())
    };
    let assembly = assemble(
        &config,
        clock,
        outcomes.clone(),
        EmbeddedStorage::ExplicitJournalOnly,
    )
    .await?;
    if let Some(note) = &assembly.opened.recovery_note {
        tracing::info!("{note}");
    }
    let reader: Box<dyn BufRead> = match &options.input {
        None => Box::new(std::io::stdin().lock()),
        Some(path) if path.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("cannot open input {}", path.display()))?,
        )),
    };
    // A file may repeat a request processed in an earlier run, as a broker redelivery would.
    let sender = Sender {
        amqp_user_id: options.amqp_user.clone(),
        redelivered: true,
    };
    let mut count = 0;
    for line in reader.split(b'\n') {
        let line = line.context("cannot read input")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        count += 1;
        let processed = assembly.processor.process_from(&line, &sender).await;
        if let crate::processor::Disposition::Halted { reason }
        | crate::processor::Disposition::Abandoned { reason }
        | crate::processor::Disposition::StorageFailed { reason } = &processed.disposition
        {
            anyhow::bail!("processing stopped at input message {count}: {reason}");
        }
        for egress in &processed.egress {
            out.write_all(&egress.body)?;
            out.write_all(b"\n")?;
        }
    }
    outcomes.flush()?;
    out.flush()?;
    Ok(count)
}
