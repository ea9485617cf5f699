//! `connector run`: the config, checked also against the rules for running beside other instances
//! (`config/instance_rules.rs`); logging (and span export, when configured) as configured; then the gateway until
//! SIGTERM/SIGINT.

use std::path::Path;

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, LogFormat, check_instance_rules};
use crate::telemetry::Telemetry;

/// Loads the config, sets up logging and span export, runs the gateway; then exports the spans still batched.
pub async fn run(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    // Before logging starts: a config that cannot run is answered on stderr like any other bad config (exit 2).
    check_instance_rules(&config)?;
    let telemetry = init_logging(&config)?;
    log_panics();
    let ran = crate::gateway::run(config).await;
    if let Some(telemetry) = telemetry {
        // Blocking (it waits for the last export), so not on a runtime worker.
        let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    }
    ran
}

/// Panics go to the log as one error event (with the request's span, when inside one), instead of a raw stderr
/// line: the gateway catches a panic at a delivery's boundary and keeps running, so it must be findable in the log.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = crate::processor::panic_message(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(panic = %message, %location, "panicked");
    }));
}

/// Human or JSON log lines on stderr, at `log.level` (overridable like any key: `CONNECTOR_LOG__LEVEL=debug`); and,
/// with `telemetry.otlp_endpoint`, the span export beside them, with a filter of its own (`telemetry.rs`).
fn init_logging(config: &Config) -> anyhow::Result<Option<Telemetry>> {
    let filter = tracing_subscriber::EnvFilter::try_new(quiet_returned_messages(&config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match config.log.format {
        LogFormat::Human => lines.with_filter(filter).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_filter(filter)
            .boxed(),
    };
    let (telemetry, spans) = match crate::telemetry::start(&config.telemetry)? {
        Some((telemetry, layer)) => (Some(telemetry), Some(layer)),
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init();
    Ok(telemetry)
}

/// lapin logs every message the broker returns as unroutable at WARN with its whole body: a sender naming a missing
/// `reply_to` queue could fill the log with copies of its own large bodies. The gateway logs returns itself (without
/// bodies, rate-limited for reply copies), so lapin's own line is off unless the level names it.
fn quiet_returned_messages(level: &str) -> String {
    if level.contains("returned_messages") {
        level.to_owned()
    } else {
        format!("{level},lapin::returned_messages=off")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lapins_returned_message_dump_is_off_unless_asked_for() {
        assert_eq!(
            quiet_returned_messages("info,lapin=warn"),
            "info,lapin=warn,lapin::returned_messages=off"
        );
        assert_eq!(
            quiet_returned_messages("lapin::returned_messages=warn"),
            "lapin::returned_messages=warn"
        );
    }
}
