//! A Daml ledger for the gateway to run on: `connector sandbox` as a child process, serving the embedded ledger of
//! the benchmark's generated config over the Ledger API v2 on a free local port, with `--latency-ms` added to every
//! submission (a participant across a network). Stopped with SIGTERM, always killed on drop, and killed by the
//! kernel if the benchmark itself dies.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::child_command::{connector_command, terminate};
use crate::error::BenchError;

/// How long the sandbox may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd sandbox may take to exit before it is killed (open calls end at once: the gateway is gone).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running sandbox.
pub struct SandboxProcess {
    child: Option<Child>,
    /// `127.0.0.1:<port>`, as the sandbox reported it once bound.
    address: String,
    log: PathBuf,
}

impl SandboxProcess {
    /// Starts `connector sandbox --config <config> --listen 127.0.0.1:0 --latency-ms <latency_ms>`, its log
    /// (stderr) going to `log`, and waits for its `listening on <address>` line on stdout.
    pub async fn start(
        binary: &Path,
        config: &Path,
        log: &Path,
        latency_ms: u64,
    ) -> Result<Self, BenchError> {
        let start_error = |message: String| BenchError::SandboxStart {
            path: binary.to_owned(),
            message,
        };
        let log_file = std::fs::File::create(log)
            .map_err(|e| start_error(format!("log {}: {e}", log.display())))?;
        let mut command = connector_command(binary);
        command
            .args(["sandbox", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0", "--latency-ms"])
            .arg(latency_ms.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut child = command.spawn().map_err(|e| start_error(e.to_string()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(start_error("its stdout was not captured".to_owned()));
        };
        let mut sandbox = Self {
            child: Some(child),
            address: String::new(),
            log: log.to_owned(),
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        // A plain thread: it reads until the sandbox closes stdout, so the pipe never fills.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(address) = line.strip_prefix("listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(address.trim().to_owned());
                }
            }
        });
        match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(address)) => {
                sandbox.address = address;
                Ok(sandbox)
            }
            // Stdout closed without the line: the sandbox exited (a bad config, say).
            Ok(Err(_)) => Err(BenchError::SandboxExited {
                phase: "start-up".to_owned(),
                log_tail: sandbox.log_tail(),
            }),
            Err(_) => Err(start_error(format!(
                "no `listening on` line within {} s; last log lines:\n{}",
                START_TIMEOUT.as_secs(),
                sandbox.log_tail()
            ))),
        }
    }

    /// The Ledger API URL for the gateway's `ledger.daml.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Whether the process has exited (or was stopped).
    pub fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The last lines of the sandbox's log, for error reports.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then waits for the exit; kills it if it takes longer than the grace period.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let signalled = terminate(&child);
        let deadline = Instant::now() + STOP_GRACE;
        while signalled && Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
