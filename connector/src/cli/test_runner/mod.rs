//! `connector test`: YAML test cases for a workflow mapping, like Benthos config tests.
//!
//! A test file names a config (a path relative to the file, or inline) and cases; each case sends its input
//! messages through a fresh in-memory embedded ledger and compares the egress with the expected list, using
//! placeholders for generated values. The file format is documented in the README ("Testing your mapping").

mod matcher;
mod test_file;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::assembly::assemble;
use crate::config::{Config, LedgerConfig};
use crate::outcome_store::MemoryOutcomeStore;
use crate::processor::Disposition;

pub use matcher::{Bindings, match_value};
pub use test_file::{TestCase, TestFile};

/// The outcome of running test files.
#[derive(Debug, Default)]
pub struct TestReport {
    pub passed: usize,
    pub failed: usize,
    /// Human-readable report, one line per case plus diffs for failures.
    pub output: String,
}

/// Runs every case of every file.
pub async fn run_test_files(files: &[impl AsRef<Path>]) -> anyhow::Result<TestReport> {
    let mut report = TestReport::default();
    for file in files {
        let file = file.as_ref();
        let test_file = TestFile::load(file)?;
        let config = test_file.config(file)?;
        let clock = crate::cli::parse_clock(Some(&test_file.clock))?;
        for case in &test_file.cases {
            match run_case(&config, clock, case).await {
                Ok(()) => {
                    report.passed += 1;
                    let _ = writeln!(report.output, "ok      {} :: {}", file.display(), case.name);
                }
                Err(diff) => {
                    report.failed += 1;
                    let _ = writeln!(
                        report.output,
                        "FAILED  {} :: {}\n{diff}",
                        file.display(),
                        case.name
                    );
                }
            }
        }
    }
    let _ = writeln!(
        report.output,
        "{} passed, {} failed",
        report.passed, report.failed
    );
    Ok(report)
}

async fn run_case(
    config: &Config,
    clock: ledger_port::Clock,
    case: &TestCase,
) -> Result<(), String> {
    // Every case starts from an empty in-memory ledger, whatever the config's journal says; injected faults stay.
    let mut config = config.clone();
    let faults = config
        .ledger
        .embedded
        .as_ref()
        .and_then(|e| e.faults.clone());
    config.ledger = LedgerConfig::default();
    if let Some(embedded) = config.ledger.embedded.as_mut() {
        embedded.faults = faults;
    }
    let assembly = assemble(
        &config,
        clock,
        Arc::new(MemoryOutcomeStore::new()),
        crate::ledger_factory::EmbeddedStorage::ExplicitJournalOnly,
    )
    .await
    .map_err(|e| format!("  cannot start: {e}"))?;
    let mut actual = Vec::new();
    for (i, body) in case
        .input_bodies()
        .map_err(|e| format!("  input: {e}"))?
        .iter()
        .enumerate()
    {
        let processed = assembly.processor.process(body).await;
        if let Disposition::Halted { reason } | Disposition::StorageFailed { reason } =
            processed.disposition
        {
            return Err(format!("  input[{i}]: processing halted: {reason}"));
        }
        for egress in processed.egress {
            let value: serde_json::Value = serde_json::from_slice(&egress.body)
                .map_err(|e| format!("  egress is not JSON ({e}): {}", egress.body_text()))?;
            actual.push(value);
        }
    }
    compare(&case.expect, &actual, case.exact)
}

fn compare(
    expected: &[serde_json::Value],
    actual: &[serde_json::Value],
    exact: bool,
) -> Result<(), String> {
    let mut bindings = Bindings::default();
    let mut problems = String::new();
    if expected.len() != actual.len() {
        let _ = writeln!(
            problems,
            "  expected {} egress messages, got {}",
            expected.len(),
            actual.len()
        );
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if let Err(mismatch) = match_value(e, a, &format!("egress[{i}]"), exact, &mut bindings) {
            let _ = writeln!(problems, "  {mismatch}");
            break;
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let _ = writeln!(problems, "  actual egress:");
    for (i, a) in actual.iter().enumerate() {
        let _ = writeln!(problems, "    [{i}] {a}");
    }
    Err(problems)
}

/// Runs the files and returns whether all passed, printing the report (the CLI entry point).
pub async fn run_and_print(files: &[impl AsRef<Path>]) -> anyhow::Result<bool> {
    let report = run_test_files(files)
        .await
        .context("cannot run the tests")?;
    print!("{}", report.output);
    Ok(report.failed == 0)
}
