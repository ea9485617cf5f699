//! Waiting out a state store that does not answer (PostgreSQL down or unreachable), at start and after a halt.
//!
//! Like a ledger outage: the gateway does not consume meanwhile (so nothing can be processed whose outcome could
//! not be made durable), `/readyz` answers 503 and `/status` says why (`state_store_available: false`, the error in
//! `last_errors`), and the store is asked again with backoff until it answers; then consumption resumes by itself.
//! A failure that waiting will not mend (a refused password, a database migrated by a newer connector, a full disk
//! on the server) ends the wait with the error.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::GateEnd;
use crate::health::Health;
use crate::outcome_store::{OutcomeStore, StoreError};
use crate::shutdown::until_stopped;

/// Returns once the store answers; its error when it fails in a way waiting will not mend.
pub async fn wait_until_store_answers(
    store: &Arc<dyn OutcomeStore>,
    health: &Health,
    shutdown: &mut watch::Receiver<bool>,
    retry_delay: impl Fn(u32) -> Duration,
) -> Result<GateEnd, StoreError> {
    let mut attempt = 0u32;
    loop {
        let probed = {
            let store = Arc::clone(store);
            tokio::task::spawn_blocking(move || store.probe()).await
        };
        match probed {
            Ok(Ok(())) => {
                if attempt > 0 {
                    tracing::info!(attempts = attempt, "the state store answers again");
                }
                health.set_state_store_available(true);
                return Ok(GateEnd::Open);
            }
            Ok(Err(e)) if e.unavailable => {
                attempt = attempt.saturating_add(1);
                if attempt == 1 {
                    tracing::error!(error = %e, "the state store does not answer; not consuming until it does");
                } else {
                    tracing::warn!(error = %e, attempt, "the state store still does not answer");
                }
                health.set_state_store_available(false);
                health.record_error(format!("state store unavailable: {e}"));
            }
            Ok(Err(e)) => {
                health.set_state_store_available(false);
                health.record_error(format!("state store: {e}"));
                return Err(e);
            }
            Err(e) => {
                return Err(StoreError::new(format!(
                    "the state store probe failed: {e}"
                )));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry_delay(attempt)) => {}
            _ = until_stopped(shutdown) => return Ok(GateEnd::Stopped),
        }
    }
}
