//! Builds an embedded-ledger journal holding N active contracts the way an operator would: `connector process
//! --config F --input creates.jsonl` with the config's `ledger.embedded.journal` set, each create applied and synced
//! in turn. Its egress (stdout) is counted, not kept: every create must have answered Submitted, Committed and its
//! ContractMessage, and none may have failed. The `connector` child dies with the benchmark (`child_command`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::child_command::connector_command;
use crate::error::BenchError;
use crate::startup_workload::create_line;

/// Egress lines `connector process` writes per successful create: Submitted, Committed, ContractMessage.
pub const EGRESS_PER_CREATE: u64 = 3;

/// A journal `connector process` wrote.
#[derive(Debug, Clone)]
pub struct BuiltJournal {
    /// The journal file (absent when `process` had nothing to write and did not create it).
    pub journal: PathBuf,
    pub contracts: u64,
    /// From spawning `connector process` to its exit.
    pub seconds: f64,
    /// The journal's size on disk.
    pub bytes: u64,
    /// Egress lines counted on its stdout.
    pub egress_lines: u64,
}

/// What one build needs: the config naming the journal, where the creates and the log go.
#[derive(Debug, Clone, Copy)]
pub struct JournalBuild<'a> {
    pub connector: &'a Path,
    /// A config whose `ledger.embedded.journal` is `journal` (and whose `state_dir` is the build's own).
    pub config: &'a Path,
    pub journal: &'a Path,
    /// Where the creates are written as JSON Lines.
    pub creates: &'a Path,
    /// `connector process`'s stderr.
    pub log: &'a Path,
    pub run_id: &'a str,
    pub contracts: u64,
    pub timeout: Duration,
}

impl JournalBuild<'_> {
    /// Writes the creates, runs `connector process` on them and checks its exit status and egress.
    pub async fn run(&self) -> Result<BuiltJournal, BenchError> {
        write_creates(self.creates, self.run_id, self.contracts)?;
        let fail = |message: String| BenchError::JournalBuild {
            contracts: self.contracts,
            message,
        };
        if !self.connector.is_file() {
            return Err(BenchError::GatewayStart {
                path: self.connector.to_owned(),
                message: "no such file".to_owned(),
            });
        }
        let log = std::fs::File::create(self.log)
            .map_err(|e| BenchError::io(format!("creating {}", self.log.display()), e))?;
        let mut command = connector_command(self.connector);
        command
            .args(["process", "--config"])
            .arg(self.config)
            .arg("--input")
            .arg(self.creates)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", self.connector.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("its stdout was not captured".to_owned()))?;
        let finished = tokio::time::timeout(self.timeout, async {
            let counted = count_egress(stdout).await;
            let status = child.wait().await;
            (counted, status)
        })
        .await;
        let seconds = started.elapsed().as_secs_f64();
        let (counted, status) = finished.map_err(|_| {
            fail(format!(
                "did not finish within {} s; last log lines:\n{}",
                self.timeout.as_secs(),
                log_tail(self.log)
            ))
        })?;
        let status = status.map_err(|e| fail(format!("waiting for it: {e}")))?;
        let egress = counted.map_err(|e| fail(format!("reading its egress: {e}")))?;
        if !status.success() {
            return Err(fail(format!(
                "it exited with {status}; last log lines:\n{}",
                log_tail(self.log)
            )));
        }
        if let Some(line) = egress.first_failure {
            return Err(fail(format!("a create failed: {line}")));
        }
        let expected = self.contracts * EGRESS_PER_CREATE;
        if egress.lines != expected {
            return Err(fail(format!(
                "{} egress lines, expected {expected} ({EGRESS_PER_CREATE} per create)",
                egress.lines
            )));
        }
        let bytes = match std::fs::metadata(self.journal) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.contracts == 0 => 0,
            Err(e) => return Err(fail(format!("journal {}: {e}", self.journal.display()))),
        };
        Ok(BuiltJournal {
            journal: self.journal.to_owned(),
            contracts: self.contracts,
            seconds,
            bytes,
            egress_lines: egress.lines,
        })
    }
}

/// The creates of a run as JSON Lines.
fn write_creates(path: &Path, run_id: &str, contracts: u64) -> Result<(), BenchError> {
    let context = || format!("writing the creates to {}", path.display());
    let file = std::fs::File::create(path).map_err(|e| BenchError::io(context(), e))?;
    let mut out = std::io::BufWriter::new(file);
    for i in 0..contracts {
        writeln!(out, "{}", create_line(run_id, i)).map_err(|e| BenchError::io(context(), e))?;
    }
    out.flush().map_err(|e| BenchError::io(context(), e))
}

/// Egress lines seen, and the first that reports a failure.
struct Egress {
    lines: u64,
    first_failure: Option<String>,
}

async fn count_egress(stdout: tokio::process::ChildStdout) -> std::io::Result<Egress> {
    let mut lines = BufReader::new(stdout).lines();
    let mut egress = Egress {
        lines: 0,
        first_failure: None,
    };
    while let Some(line) = lines.next_line().await? {
        egress.lines += 1;
        if egress.first_failure.is_none() && is_failure(&line) {
            egress.first_failure = Some(line);
        }
    }
    Ok(egress)
}

/// A Failure egress line: a `…Update` with `status: Failure`, or a generic `Failure` message.
fn is_failure(line: &str) -> bool {
    line.contains(r#""status":"Failure""#) || line.contains(r#""messageName":"Failure""#)
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_recognised_in_either_shape() {
        assert!(is_failure(
            r#"{"requestId":"a","messageName":"CreateContractUpdate","status":"Failure"}"#
        ));
        assert!(is_failure(r#"{"messageName":"Failure","errorCode":4000}"#));
        assert!(!is_failure(
            r#"{"requestId":"a","messageName":"CreateContractUpdate","status":"Committed"}"#
        ));
    }

    #[test]
    fn the_creates_file_has_one_line_per_create() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("creates.jsonl");
        write_creates(&path, "r", 25).expect("written");
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_eq!(text.lines().count(), 25);
        assert_eq!(text.lines().last(), Some(create_line("r", 24).as_str()));
    }
}
