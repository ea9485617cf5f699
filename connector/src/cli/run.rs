//! `connector run`: logging as configured, then the gateway until SIGTERM/SIGINT.

use std::path::Path;

use crate::config::{Config, LogFormat};

/// Loads the config, sets up logging, runs the gateway.
pub async fn run(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    init_logging(&config);
    crate::gateway::run(config).await
}

/// Human or JSON log lines on stderr, at `log.level` (overridable like any key: `CONNECTOR_LOG__LEVEL=debug`).
fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
