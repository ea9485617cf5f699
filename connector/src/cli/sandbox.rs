//! `connector sandbox`: the embedded ledger a config describes, served over the Daml Ledger API v2 (`daml-sandbox`),
//! so Daml clients — the gateway itself with `ledger.daml`, or Digital Asset's own stubs — can be run against it.
//!
//! The ledger is built exactly as `connector run` builds it (same template catalog, journal and faults); the token
//! and the latency come from flags only, so one config file serves both the gateway and its sandbox.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use daml_sandbox::{AccessToken, Sandbox, SandboxSettings, TraceContextLog};
use ledger_port::{Clock, ServableLedger};
use tokio::io::AsyncWriteExt;

use crate::config::{Config, LedgerChoice};
use crate::embedded_catalog::template_catalog;
use crate::ledger_factory::{EmbeddedStorage, open_ledger};
use crate::mapping::WorkflowMapping;

/// How long open calls get to finish after SIGTERM/SIGINT before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What `connector sandbox` was asked to do.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub config: PathBuf,
    pub listen: SocketAddr,
    /// A file holding the bearer token every call must present; no check without it.
    pub token_file: Option<PathBuf>,
    /// Added to every command submission.
    pub latency: Duration,
    /// Where to write down the trace context each call arrived with (for tests).
    pub record_trace_context: Option<PathBuf>,
}

/// Serves the config's embedded ledger until SIGTERM/SIGINT. Once the listener is bound, prints
/// `listening on <address>` on stdout (the address actually bound, so `--listen 127.0.0.1:0` works).
pub async fn sandbox(options: &SandboxOptions) -> anyhow::Result<()> {
    let config = Config::load(&options.config)?;
    init_logging(&config);
    if !matches!(config.ledger_choice()?, LedgerChoice::Embedded(_)) {
        anyhow::bail!(
            "{}: ledger: `connector sandbox` serves the embedded ledger; expected `ledger.embedded` (or no `ledger` key), not a Daml participant",
            options.config.display()
        );
    }
    let token = match &options.token_file {
        Some(path) => Some(read_token(path)?),
        None => None,
    };
    let trace_context_log =
        match &options.record_trace_context {
            Some(path) => Some(TraceContextLog::open(path).with_context(|| {
                format!("--record-trace-context {}: cannot open", path.display())
            })?),
            None => None,
        };
    let mapping = WorkflowMapping::compile(&config.workflows)?;
    let known_templates = template_catalog(&config.workflows, &mapping)?
        .templates
        .into_iter()
        .map(|t| t.id)
        .collect();
    let opened = open_ledger(&config, &mapping, Clock::System, EmbeddedStorage::Durable).await?;
    if let Some(note) = &opened.recovery_note {
        tracing::info!("{note}");
    }
    let Some(ledger) = opened.embedded else {
        anyhow::bail!("ledger: the config did not open an embedded ledger");
    };
    // A Daml participant prunes only when its operator says so, and the sandbox cannot know how far its clients
    // have read: it never compacts by itself (stop it and run `connector compact`).
    ledger.set_compaction_policy(None);
    let ledger: Arc<dyn ServableLedger> = ledger;
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("--listen {}: cannot bind", options.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // The served ledger's identity: its journal's id, or a new one for an in-memory ledger (another ledger each run).
    let ledger_id = opened
        .embedded_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let settings = SandboxSettings {
        token,
        submission_latency: options.latency,
        known_templates: Some(known_templates),
        participant_id: format!("sandbox::{ledger_id}"),
        trace_context_log,
    };
    tracing::info!(
        %address,
        token_check = settings.token.is_some(),
        latency_ms = options.latency.as_millis() as u64,
        "serving the embedded ledger over the Daml Ledger API v2"
    );
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("listening on {address}\n").as_bytes())
        .await
        .context("cannot write to stdout")?;
    stdout.flush().await.context("cannot write to stdout")?;

    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        crate::shutdown::shutdown_signal().await;
        tracing::info!("shutdown requested; ending open streams");
        let _ = stopping_tx.send(());
    };
    let server = Sandbox::new(ledger, settings).serve(listener, shutdown);
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => served?,
        _ = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("calls still open {} s after shutdown was requested; exiting anyway", SHUTDOWN_GRACE.as_secs());
        }
    }
    Ok(())
}

/// The token in `path`, trimmed; the error names the file but never shows its content.
fn read_token(path: &Path) -> anyhow::Result<AccessToken> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--token-file {}: cannot read", path.display()))?;
    AccessToken::new(&text).with_context(|| format!("--token-file {}", path.display()))
}

/// Log lines on stderr at the config's `log.level`: stdout carries only the `listening on` line.
fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_trimmed_and_an_empty_one_refused_without_showing_content() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("token");
        std::fs::write(&good, "abc.def.ghi\n").expect("write");
        assert!(read_token(&good).expect("valid").matches(b"abc.def.ghi"));

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "secret with spaces").expect("write");
        let error = format!("{:#}", read_token(&bad).expect_err("refused"));
        assert!(error.contains("--token-file"), "{error}");
        assert!(!error.contains("secret"), "{error}");

        let missing = dir.path().join("absent");
        let error = format!("{:#}", read_token(&missing).expect_err("refused"));
        assert!(error.contains("absent: cannot read"), "{error}");
    }
}
