//! `connector test`: YAML test cases for a workflow mapping, like Benthos config tests.
//!
//! A test file names a config (a path relative to the file, or inline) and cases; each case sends its input
//! messages through a fresh in-memory embedded ledger and compares the egress with the expected list, using
//! placeholders for generated values, or with a recorded snapshot of the whole egress (`snapshot/`), or both. The
//! file format is documented in the README ("Testing your mapping").

mod matcher;
mod snapshot;
mod test_file;

use std::ffi::OsStr;
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

/// How a run treats snapshot files.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestOptions {
    /// First make every pending `….snap.new` of the files' snapshot cases their `….snap`.
    pub accept: bool,
    /// Write and remove no snapshot file (`--ci`, or `CI` set in the environment).
    pub ci: bool,
}

impl TestOptions {
    /// The options for `--accept`, `--ci` and the value of the `CI` environment variable. Any value but empty, `0`
    /// or `false` means CI, as CI services set it (`true` on GitHub, GitLab and most others).
    pub fn new(accept: bool, ci_flag: bool, ci_env: Option<&OsStr>) -> anyhow::Result<Self> {
        let ci_env =
            ci_env.filter(|v| !(v.is_empty() || *v == "0" || v.eq_ignore_ascii_case("false")));
        if accept && let Some(value) = ci_env {
            anyhow::bail!(
                "--accept writes snapshot files, and CI={} asks for none to be written; unset CI to accept",
                value.to_string_lossy()
            );
        }
        Ok(Self {
            accept,
            ci: ci_flag || ci_env.is_some(),
        })
    }

    fn writes(&self) -> snapshot::Writes {
        if self.ci {
            snapshot::Writes::Never
        } else {
            snapshot::Writes::Pending
        }
    }
}

/// Runs every case of every file.
pub async fn run_test_files(
    files: &[impl AsRef<Path>],
    options: TestOptions,
) -> anyhow::Result<TestReport> {
    let mut report = TestReport::default();
    for file in files {
        let file = file.as_ref();
        let test_file = TestFile::load(file)?;
        let snapshots = snapshot::locate(file, &test_file.cases)?;
        if options.accept {
            for location in snapshots.iter().flatten() {
                if snapshot::accept(location)? {
                    let _ = writeln!(report.output, "accepted {}", location.accepted.display());
                }
            }
        }
        let config = test_file.config(file)?;
        let clock = crate::cli::parse_clock(Some(&test_file.clock))?;
        for (case, location) in test_file.cases.iter().zip(&snapshots) {
            let header = snapshot::Header {
                test_file: file,
                case_name: &case.name,
            };
            let result = match run_case(&config, clock, case).await {
                Err(problem) => Err(problem),
                Ok(egress) => check_case(case, location.as_ref(), header, &egress, options),
            };
            match result {
                Ok(note) => {
                    report.passed += 1;
                    let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
                    let _ = writeln!(
                        report.output,
                        "ok      {} :: {}{note}",
                        file.display(),
                        case.name
                    );
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

/// The case's expectations and its snapshot, both reported when both fail (the snapshot's `.snap.new` is written
/// either way, so one run shows everything).
fn check_case(
    case: &TestCase,
    location: Option<&snapshot::SnapshotLocation>,
    header: snapshot::Header<'_>,
    egress: &[serde_json::Value],
    options: TestOptions,
) -> Result<Option<String>, String> {
    let expected = match &case.expect {
        Some(expect) => compare(expect, egress, case.exact),
        None => Ok(()),
    };
    let snapshotted = match location {
        Some(location) => snapshot::check(location, header, egress, options.writes()),
        None => Ok(None),
    };
    match (expected, snapshotted) {
        (Ok(()), snapshotted) => snapshotted,
        (Err(problems), Ok(_)) => Err(problems),
        (Err(problems), Err(snapshot)) => Err(format!("{problems}{snapshot}")),
    }
}

async fn run_case(
    config: &Config,
    clock: ledger_port::Clock,
    case: &TestCase,
) -> Result<Vec<serde_json::Value>, String> {
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
    Ok(actual)
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
pub async fn run_and_print(
    files: &[impl AsRef<Path>],
    options: TestOptions,
) -> anyhow::Result<bool> {
    let report = run_test_files(files, options)
        .await
        .context("cannot run the tests")?;
    print!("{}", report.output);
    Ok(report.failed == 0)
}
