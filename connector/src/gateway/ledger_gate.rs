//! Waiting out a ledger that refuses the gateway's credentials (`ErrorClass::Configuration`: a bad or expired
//! token, an unknown user).
//!
//! Such a refusal halts processing — nothing is published, acked or dead-lettered — but reconnecting to the broker
//! right away would take the same delivery again and halt again, and `/readyz` would flicker back to ready each
//! time. So after a halt the gateway asks the ledger for its end until the credentials are accepted (a rotated
//! token file is re-read on every call), stays unready meanwhile, and only then consumes again.

use std::sync::Arc;

use ledger_port::{ErrorClass, Ledger};
use tokio::sync::watch;

use super::health::Health;
use super::until_stopped;

/// How waiting for the ledger ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateEnd {
    /// The ledger answers without a configuration fault (it may still be unavailable: that is retried elsewhere).
    Open,
    /// Shutdown was requested while waiting.
    Stopped,
}

/// Returns once the ledger no longer refuses the gateway's credentials, keeping `health` unready meanwhile.
pub async fn wait_until_ledger_accepts(
    ledger: &Arc<dyn Ledger>,
    health: &Health,
    shutdown: &mut watch::Receiver<bool>,
    retry_delay: impl Fn(u32) -> std::time::Duration,
) -> GateEnd {
    let mut attempt = 0u32;
    loop {
        match ledger.ledger_end().await {
            Err(e) if e.class == ErrorClass::Configuration => {
                attempt = attempt.saturating_add(1);
                if attempt == 1 {
                    tracing::error!(error = %e.message, "the ledger refuses the gateway's credentials; not consuming until it accepts them");
                }
                health.set_ledger_connected(false);
                health.record_error(format!("ledger: {}", e.message));
            }
            _ => {
                if attempt > 0 {
                    tracing::info!("the ledger accepts the gateway's credentials again");
                }
                health.set_ledger_connected(true);
                return GateEnd::Open;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry_delay(attempt)) => {}
            _ = until_stopped(shutdown) => return GateEnd::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use ledger_port::{
        ActiveContractStream, LedgerError, RejectionReason, Submission, Transaction, UpdateFilter,
        UpdateStream,
    };

    use super::*;

    /// Refuses the credentials for the first `refusals` calls, then answers.
    struct RefusingLedger {
        refusals: u32,
        calls: AtomicU32,
    }

    #[async_trait::async_trait]
    impl Ledger for RefusingLedger {
        async fn submit(&self, _: Submission) -> Result<Transaction, LedgerError> {
            Err(LedgerError::transient("not used"))
        }
        async fn active_contract_stream(
            &self,
            _: &UpdateFilter,
        ) -> Result<ActiveContractStream, LedgerError> {
            Err(LedgerError::transient("not used"))
        }
        async fn ledger_end(&self) -> Result<i64, LedgerError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < self.refusals {
                Err(LedgerError::configuration(
                    RejectionReason::Unauthenticated,
                    "GetLedgerEnd: the token has expired",
                ))
            } else {
                Ok(7)
            }
        }
        async fn updates(&self, _: i64, _: &UpdateFilter) -> Result<UpdateStream, LedgerError> {
            Err(LedgerError::transient("not used"))
        }
        async fn committed_command(
            &self,
            _command_id: &str,
            _act_as: &[String],
            _filter: &UpdateFilter,
        ) -> Result<Option<ledger_port::CommittedCommand>, LedgerError> {
            Err(LedgerError::transient("not used"))
        }
        fn ledger_type(&self) -> &'static str {
            "test"
        }
    }

    #[tokio::test]
    async fn the_gate_stays_closed_and_unready_until_the_credentials_are_accepted() {
        let refusing = Arc::new(RefusingLedger {
            refusals: 3,
            calls: AtomicU32::new(0),
        });
        let ledger: Arc<dyn Ledger> = refusing.clone();
        let health = Health::default();
        health.set_ledger_connected(true);
        let (_stop, mut shutdown) = watch::channel(false);
        let end = wait_until_ledger_accepts(&ledger, &health, &mut shutdown, |_| {
            Duration::from_millis(5)
        })
        .await;
        assert_eq!(end, GateEnd::Open);
        assert_eq!(
            refusing.calls.load(Ordering::SeqCst),
            4,
            "three refusals, then open"
        );
        assert!(health.snapshot().ledger_connected);
        let errors = health.snapshot().last_errors;
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("token has expired"));
    }

    #[tokio::test]
    async fn while_refused_the_ledger_is_reported_disconnected_and_shutdown_ends_the_wait() {
        let ledger: Arc<dyn Ledger> = Arc::new(RefusingLedger {
            refusals: u32::MAX,
            calls: AtomicU32::new(0),
        });
        let health = Arc::new(Health::default());
        health.set_ledger_connected(true);
        let (stop, mut shutdown) = watch::channel(false);
        let waiting = {
            let health = health.clone();
            tokio::spawn(async move {
                wait_until_ledger_accepts(&ledger, &health, &mut shutdown, |_| {
                    Duration::from_millis(20)
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!health.snapshot().ledger_connected);
        assert!(!health.is_ready());
        stop.send(true).expect("the waiter listens");
        assert_eq!(waiting.await.expect("no panic"), GateEnd::Stopped);
    }
}
