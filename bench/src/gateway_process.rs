//! The real gateway (`connector run`) as a child process: started with the benchmark's config, watched through
//! its HTTP `/readyz`, stopped with SIGTERM (killed if it does not drain in time, always killed on drop, and killed
//! by the kernel if the benchmark itself dies).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::child_command::{connector_command, terminate};
use crate::error::BenchError;

/// How long a SIGTERM'd gateway may take to drain before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// A running gateway.
pub struct GatewayProcess {
    child: Option<Child>,
    log: PathBuf,
    http_port: u16,
}

impl GatewayProcess {
    /// Starts `connector run --config <config>`, its log (stderr) going to `log`. `CONNECTOR_*` variables of the
    /// benchmark's own environment are not passed on, and the gateway dies with the benchmark (`child_command`).
    pub fn start(
        binary: &Path,
        config: &Path,
        log: &Path,
        http_port: u16,
    ) -> Result<Self, BenchError> {
        let start_error = |message: String| BenchError::GatewayStart {
            path: binary.to_owned(),
            message,
        };
        if !binary.is_file() {
            return Err(start_error("no such file".to_owned()));
        }
        let log_file = std::fs::File::create(log)
            .map_err(|e| start_error(format!("log {}: {e}", log.display())))?;
        let mut command = connector_command(binary);
        command
            .args(["run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command.spawn().map_err(|e| start_error(e.to_string()))?;
        Ok(Self {
            child: Some(child),
            log: log.to_owned(),
            http_port,
        })
    }

    /// The process id (None once stopped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process has exited (or was stopped).
    pub fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Waits until `/readyz` answers 200: connected to broker and ledger, consuming.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), BenchError> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.exited() {
                return Err(BenchError::GatewayExited {
                    phase: "start-up".to_owned(),
                    log_tail: self.log_tail(),
                });
            }
            if http_status(self.http_port, "/readyz").await == Some(200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(BenchError::GatewayNotReady {
            seconds: timeout.as_secs(),
            log_tail: self.log_tail(),
        })
    }

    /// The last lines of the gateway's log, for error reports.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then waits for the drain; kills it if it takes longer than the grace period. True on a clean exit.
    pub async fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let signalled = terminate(&child);
        let deadline = Instant::now() + STOP_GRACE;
        while signalled && Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The status code of a plain HTTP/1.1 GET against 127.0.0.1 (None when nothing answers).
async fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .ok()?
    .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut response))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A free TCP port on 127.0.0.1 for the gateway's HTTP surface.
pub fn free_port() -> Result<u16, BenchError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| BenchError::io("finding a free local port", e))
}
