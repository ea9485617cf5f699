//! The `compaction-bench` binary: start-up time and peak memory of opening an embedded ledger journal with long
//! history and a small active set, before and after compaction, with the journal's size each time.
//!
//! It builds the journal through the ledger's own API (creates, then rounds of moves that archive each contract and
//! create its next version, so history grows and the active set does not), then measures each open in a child
//! process of its own (`--open`), so its peak RSS (`VmHWM`) is the open's alone, compacts in another child
//! (`--compact`), and opens again. Output: a table and one JSON line.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;
use embedded_ledger::{ChoiceKind, ChoiceSpec, EmbeddedLedger, TemplateCatalog, TemplateSpec};
use ledger_port::{
    Clock, Command as LedgerCommand, Event, Ledger, LedgerValue, Record, Submission, TemplateId,
};

/// Flags.
#[derive(Debug, Parser)]
#[command(name = "compaction-bench")]
struct Options {
    /// Where the journal is built (kept between runs: an existing journal with the right size is reused).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Transactions of history.
    #[arg(long, default_value = "1000000")]
    history: u64,
    /// Active contracts (created first; the rest of history moves them).
    #[arg(long, default_value = "10000")]
    active: u64,
    /// Child mode: open this journal, print one JSON line (milliseconds, end, active), exit.
    #[arg(long, hide = true)]
    open: Option<PathBuf>,
    /// Child mode: compact this journal (deduplication window 0), print the report, exit.
    #[arg(long, hide = true)]
    compact: Option<PathBuf>,
}

const TEMPLATE: &str = "Bench:Thing";

fn catalog() -> Result<TemplateCatalog, String> {
    let id = TemplateId::parse(TEMPLATE).map_err(|e| format!("template id {TEMPLATE}: {e}"))?;
    Ok(TemplateCatalog {
        templates: vec![TemplateSpec {
            id,
            ensure: vec![],
            choices: vec![ChoiceSpec {
                name: "Move".into(),
                kind: ChoiceKind::Consuming,
                when: vec![],
                controllers: vec![],
                assert: vec![],
                set_fields: vec![],
                rules: vec![],
            }],
        }],
    })
}

fn submission(command_id: String, command: LedgerCommand) -> Submission {
    Submission {
        command_id,
        act_as: vec!["Op".into()],
        command,
    }
}

fn created_id(tx: &ledger_port::Transaction) -> Option<String> {
    tx.events.iter().rev().find_map(|e| match e {
        Event::Created(c) => Some(c.contract_id.clone()),
        _ => None,
    })
}

async fn open(journal: &Path) -> Result<EmbeddedLedger, String> {
    EmbeddedLedger::open(journal, catalog()?, Clock::Fixed(0))
        .await
        .map(|(ledger, _)| ledger)
        .map_err(|e| e.to_string())
}

/// Builds the history: `active` creates, then moves of every contract in turn, pipelined a round at a time (group
/// commit shares the fsyncs).
async fn build(journal: &Path, history: u64, active: u64) -> Result<(), String> {
    let ledger = open(journal).await?;
    let template = TemplateId::parse(TEMPLATE).map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(active as usize);
    let mut pending = Vec::new();
    for i in 0..active {
        let command = LedgerCommand::Create {
            template_id: template.clone(),
            arguments: Record::new()
                .with("linearId", LedgerValue::Text(format!("thing-{i}")))
                .with("reading", LedgerValue::Int64(i as i64)),
        };
        pending.push(
            ledger
                .sequence(submission(format!("c{i}"), command))
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    for p in pending.drain(..) {
        let tx = p.committed().await.map_err(|e| e.to_string())?;
        ids.push(created_id(&tx).ok_or("a create without a created event")?);
    }
    let mut done = active;
    let mut round = 0;
    while done < history {
        let this_round = (history - done).min(active) as usize;
        for (i, id) in ids.iter().enumerate().take(this_round) {
            let command = LedgerCommand::Exercise {
                template_id: template.clone(),
                contract_id: id.clone(),
                choice: "Move".into(),
                argument: LedgerValue::Record(Record::new()),
            };
            pending.push(
                ledger
                    .sequence(submission(format!("m{round}-{i}"), command))
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        for (slot, p) in pending.drain(..).enumerate() {
            let tx = p.committed().await.map_err(|e| e.to_string())?;
            ids[slot] = created_id(&tx).ok_or("a move without a created event")?;
        }
        done += this_round as u64;
        round += 1;
    }
    Ok(())
}

/// Runs this binary as a child with `flag journal`; returns its stdout line and its peak RSS.
fn child(flag: &str, journal: &Path) -> Result<(serde_json::Value, u64), String> {
    let me = std::env::current_exe().map_err(|e| format!("this binary's path: {e}"))?;
    let out = Command::new(me)
        .arg(flag)
        .arg(journal)
        .output()
        .map_err(|e| format!("running {flag}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{flag} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("{flag} printed {text:?}, expected one JSON line: {e}"))?;
    let peak = value["peak_rss_bytes"].as_u64().unwrap_or(0);
    Ok((value, peak))
}

/// `VmHWM` of this process, in bytes.
fn own_peak_rss() -> u64 {
    gateway_bench::proc_stats::read(std::process::id()).map_or(0, |s| s.peak_rss_bytes)
}

async fn child_open(journal: &Path) -> Result<(), String> {
    let started = Instant::now();
    let ledger = open(journal).await?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let end = ledger.ledger_end().await.map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({
            "open_ms": millis,
            "ledger_end": end,
            "active": ledger.active_count(),
            "peak_rss_bytes": own_peak_rss(),
        })
    );
    Ok(())
}

async fn child_compact(journal: &Path) -> Result<(), String> {
    let ledger = open(journal).await?;
    ledger.set_deduplication_window(std::time::Duration::ZERO);
    let started = Instant::now();
    let report = ledger.compact().await.map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({
            "compact_ms": started.elapsed().as_secs_f64() * 1000.0,
            "retained": report.retained,
            "bytes_before": report.bytes_before,
            "bytes_after": report.bytes_after,
            "peak_rss_bytes": own_peak_rss(),
        })
    );
    Ok(())
}

async fn run(options: Options) -> Result<(), String> {
    if let Some(journal) = &options.open {
        return child_open(journal).await;
    }
    if let Some(journal) = &options.compact {
        return child_compact(journal).await;
    }
    let scratch;
    let dir = match &options.dir {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
            scratch.path().to_owned()
        }
    };
    let journal = dir.join(format!(
        "history-{}-active-{}.journal",
        options.history, options.active
    ));
    if !journal.exists() {
        let started = Instant::now();
        build(&journal, options.history, options.active).await?;
        eprintln!(
            "built {} in {:.1} s",
            journal.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let working = dir.join("working.journal");
    std::fs::copy(&journal, &working).map_err(|e| format!("copy {}: {e}", journal.display()))?;
    let size_before = size(&working);
    let (before, rss_before) = child("--open", &working)?;
    let (compacted, _) = child("--compact", &working)?;
    let size_after = size(&working);
    let (after, rss_after) = child("--open", &working)?;
    println!("| journal | size | open | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| {} transactions, {} active, uncompacted | {:.1} MiB | {:.0} ms | {:.1} MiB |",
        options.history,
        options.active,
        size_before as f64 / 1048576.0,
        before["open_ms"].as_f64().unwrap_or(0.0),
        rss_before as f64 / 1048576.0
    );
    println!(
        "| same, compacted ({:.0} ms to compact) | {:.1} MiB | {:.0} ms | {:.1} MiB |",
        compacted["compact_ms"].as_f64().unwrap_or(0.0),
        size_after as f64 / 1048576.0,
        after["open_ms"].as_f64().unwrap_or(0.0),
        rss_after as f64 / 1048576.0
    );
    println!(
        "{}",
        serde_json::json!({
            "history": options.history,
            "active": options.active,
            "before": { "bytes": size_before, "open": before },
            "compaction": compacted,
            "after": { "bytes": size_after, "open": after },
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("compaction-bench failed: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compaction-bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
