//! The submit room: a mapped command sequenced on the ledger in queue order, transient faults retried in place
//! (waiting by `crate::backoff`), its transaction applied to the index, or the ledger's refusal turned into the
//! request's Failure.

use std::sync::atomic::Ordering;

use ledger_port::{ErrorClass, LedgerError, PendingCommit, Submission, with_trace_headers};
use message_schema::egress::{EgressMessage, UpdateMessageName};
use tracing::Instrument;
use uuid::Uuid;

use crate::backoff::backoff;
use crate::metrics_names;
use crate::processor::{
    Commit, CommittedEgress, Decision, Processor, ledger_failure, unavailable_failure,
};
use crate::request_trace::ledger_call_headers;

impl Processor {
    /// The common tail of a create or an action: sequence the command in queue order and index its transaction, or
    /// turn the ledger's refusal into the request's Failure (after its Submitted).
    pub(in crate::processor) async fn sequence_request(
        &self,
        submission: Submission,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: &Uuid,
        on_exercise: bool,
        egress: CommittedEgress,
    ) -> Result<Decision, Stop> {
        let submitted = EgressMessage::update(
            &self.settings.info,
            name,
            request_id,
            linear_id,
            message_schema::egress::UpdateStatus::Submitted,
        );
        match self.sequence(submission).await {
            Ok(pending) => {
                if let CommittedEgress::Action { prior, .. } = &egress {
                    self.recently_consumed.remember(prior);
                }
                self.index_write()
                    .apply_own(pending.transaction(), &self.mapping);
                Ok(Decision::Committing(Box::new(Commit {
                    pending,
                    egress,
                    after_commit: None,
                })))
            }
            Err(failure) => self
                .submit_failed(failure, request_id, name, linear_id, submitted, on_exercise)
                .map(Decision::Egress),
        }
    }

    pub(in crate::processor) fn submit_failed(
        &self,
        failure: SubmitFailure,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: &Uuid,
        submitted: EgressMessage,
        on_exercise: bool,
    ) -> Result<Vec<EgressMessage>, Stop> {
        match failure {
            SubmitFailure::Rejected(error) => Ok(vec![
                submitted,
                self.request_failure(
                    request_id,
                    name,
                    Some(linear_id),
                    &ledger_failure(&error, on_exercise),
                ),
            ]),
            SubmitFailure::Exhausted(error, attempts) => {
                let details = unavailable_failure(&error, attempts);
                Err(Stop::Exhausted(
                    details.message.clone(),
                    vec![self.request_failure(request_id, name, Some(linear_id), &details)],
                ))
            }
            SubmitFailure::Halted(error) if self.is_own_storage_failure(&error) => {
                Err(Stop::StorageFailed(error.message))
            }
            SubmitFailure::Halted(error) => Err(Stop::Halted(error.message)),
            SubmitFailure::StorageFailed(reason) => Err(Stop::StorageFailed(reason)),
            SubmitFailure::StoreUnavailable(reason) => Err(Stop::Halted(reason)),
        }
    }

    /// Sequences a command, retrying transient faults in place; first makes a recorded Failure durable.
    pub(in crate::processor) async fn sequence(
        &self,
        submission: Submission,
    ) -> Result<PendingCommit, SubmitFailure> {
        if self.failure_pending_flush.swap(false, Ordering::AcqRel)
            && let Err(e) = self.outcomes.flush()
        {
            // Still not durable: the next command must try again rather than run ahead of it.
            self.failure_pending_flush.store(true, Ordering::Release);
            return Err(if e.unavailable {
                SubmitFailure::StoreUnavailable(e.to_string())
            } else {
                SubmitFailure::StorageFailed(e.to_string())
            });
        }
        let sequenced = self
            .with_retries("sequence", &submission.command_id, || {
                self.ledger.sequence(submission.clone())
            })
            .await;
        match sequenced {
            Ok(pending) => Ok(pending),
            Err((error, attempts)) => Err(match error.class {
                ErrorClass::Permanent => SubmitFailure::Rejected(error),
                ErrorClass::Configuration => SubmitFailure::Halted(error),
                ErrorClass::Transient => SubmitFailure::Exhausted(error, attempts),
            }),
        }
    }

    /// Runs a ledger call for `command_id`, retrying transient faults in place with capped backoff: its result, or
    /// its last error with the number of attempts made (a transient one only once `retry.max_attempts` are spent).
    /// Each attempt is a `ledger_call` span of its own, and a remote ledger is told that span as the call's parent.
    pub(in crate::processor) async fn with_retries<T, F, Fut>(
        &self,
        call_name: &'static str,
        command_id: &str,
        mut call: F,
    ) -> Result<T, (LedgerError, u32)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, LedgerError>>,
    {
        let max_attempts = self.settings.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let span = tracing::info_span!("ledger_call", call = call_name, attempt);
            let headers = ledger_call_headers(&span);
            let answered = with_trace_headers(headers, call()).instrument(span).await;
            match answered {
                Ok(value) => return Ok(value),
                Err(error) if error.class == ErrorClass::Transient && attempt < max_attempts => {
                    metrics::counter!(metrics_names::LEDGER_RETRIES).increment(1);
                    tracing::warn!(%command_id, attempt, error = %error.message, "transient ledger fault; retrying");
                    tokio::time::sleep(backoff(&self.settings.retry, attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err((error, attempt)),
            }
        }
    }
}

pub(in crate::processor) enum Stop {
    Exhausted(String, Vec<EgressMessage>),
    Halted(String),
    StorageFailed(String),
}

pub(in crate::processor) enum SubmitFailure {
    Rejected(LedgerError),
    Exhausted(LedgerError, u32),
    Halted(LedgerError),
    StorageFailed(String),
    /// The state store is out of reach (a database server down): pause until it answers, as for a ledger halt.
    StoreUnavailable(String),
}

impl Processor {
    /// Whether a ledger error says the in-process embedded ledger's journal failed (a full disk, an I/O error): the
    /// gateway's own storage, which a restart with space recovers. A remote participant's failures are not ours.
    pub(in crate::processor) fn is_own_storage_failure(&self, error: &LedgerError) -> bool {
        self.ledger.ledger_type() == "embedded"
            && error.ledger_error.as_deref() == Some(JOURNAL_FAILED)
    }
}

/// The embedded ledger's error id once its journal failed (it stops until restarted).
pub(in crate::processor) const JOURNAL_FAILED: &str = "JOURNAL_FAILED";
