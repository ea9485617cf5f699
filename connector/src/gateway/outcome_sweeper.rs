//! The running gateway's outcome sweeper: every `state.sweep_every`, outcomes older than `state.outcome_retention`
//! (and run-history entries as old) are removed and the store compacted when that freed much of it
//! (`outcome_store::sweep_expired`), on a blocking thread so requests keep flowing. A failed sweep is logged and
//! tried again next time: nothing depends on it but the store's size.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::StateConfig;
use crate::metrics_names;
use crate::outcome_store::{OutcomeStore, now_ms, sweep_expired};
use crate::shutdown::until_stopped;

/// Starts the sweeper; it ends with the shutdown.
pub fn spawn(
    outcomes: Arc<dyn OutcomeStore>,
    state: StateConfig,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(state.sweep_every.0) => {}
                _ = until_stopped(&mut shutdown) => return,
            }
            let store = Arc::clone(&outcomes);
            let retention = state.outcome_retention.0;
            let swept =
                tokio::task::spawn_blocking(move || sweep_expired(&*store, retention, now_ms()))
                    .await;
            match swept {
                Ok(Ok(report)) => {
                    metrics::counter!(metrics_names::OUTCOMES_EXPIRED)
                        .increment(report.removed as u64);
                    metrics::gauge!(metrics_names::OUTCOMES_KEPT).set(report.kept as f64);
                    if report.removed > 0 || report.history_removed > 0 {
                        tracing::info!(
                            removed = report.removed,
                            history_removed = report.history_removed,
                            kept = report.kept,
                            compacted = report.compacted,
                            took_ms = report.took.as_millis() as u64,
                            "expired outcomes removed"
                        );
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot remove expired outcomes; trying again later")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the outcome sweep failed; trying again later")
                }
            }
        }
    })
}
