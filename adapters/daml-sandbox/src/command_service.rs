//! `CommandService`: `SubmitAndWait` and `SubmitAndWaitForTransaction`, one create or exercise per request.
//!
//! A command id the ledger already committed is answered ALREADY_EXISTS with `DUPLICATE_COMMAND` and changes
//! nothing (the embedded ledger deduplicates on the command id alone, for ever; Canton keys on user, parties and
//! command id within a deduplication period). Every other failure goes through the shared error table.

use std::sync::Arc;

use daml_ledger_api::rejection::DUPLICATE_COMMAND;
use daml_ledger_api::v2::command_service_server::CommandService;
use daml_ledger_api::{TransactionShape, status_with_error_id, v2};
use ledger_port::Transaction;

use crate::context::Context;
use crate::event_filter::EventFilter;
use crate::request_errors::ledger_failure;
use crate::submission::{ValidSubmission, submission_from_commands};
use crate::transaction_view::TransactionView;

/// The command service.
pub struct SandboxCommandService {
    context: Arc<Context>,
}

impl SandboxCommandService {
    pub fn new(context: Arc<Context>) -> Self {
        Self { context }
    }

    /// Submits a validated command and waits for its transaction.
    async fn submit(&self, valid: ValidSubmission) -> Result<Transaction, tonic::Status> {
        let context = &self.context;
        if !context.submission_latency.is_zero() {
            tokio::time::sleep(context.submission_latency).await;
        }
        let ValidSubmission {
            submission,
            user_id,
        } = valid;
        let command_id = submission.command_id.clone();
        let act_as = submission.act_as.clone();
        let claimed = context.completions.claim(&command_id, &user_id);
        let failure = match context.ledger.submit_reporting_duplicates(submission).await {
            Ok(outcome) if !outcome.duplicate => return Ok(outcome.transaction),
            Ok(outcome) => status_with_error_id(
                tonic::Code::AlreadyExists,
                DUPLICATE_COMMAND,
                &format!(
                    "A command with the given command id has already been successfully processed: command id {command_id:?} committed as update {} at offset {}",
                    outcome.transaction.update_id, outcome.transaction.offset
                ),
            ),
            Err(error) => ledger_failure(&error),
        };
        if claimed {
            context.completions.release(&command_id);
        }
        let end = context.ledger.ledger_end().await.unwrap_or_default();
        context
            .completions
            .reject(&command_id, &user_id, &act_as, &failure, end);
        Err(failure)
    }
}

#[tonic::async_trait]
impl CommandService for SandboxCommandService {
    async fn submit_and_wait(
        &self,
        request: tonic::Request<v2::SubmitAndWaitRequest>,
    ) -> Result<tonic::Response<v2::SubmitAndWaitResponse>, tonic::Status> {
        let request = request.into_inner();
        let valid = submission_from_commands(request.commands.as_ref(), "commands")?;
        let tx = self.submit(valid).await?;
        Ok(tonic::Response::new(v2::SubmitAndWaitResponse {
            update_id: tx.update_id,
            completion_offset: tx.offset,
        }))
    }

    async fn submit_and_wait_for_transaction(
        &self,
        request: tonic::Request<v2::SubmitAndWaitForTransactionRequest>,
    ) -> Result<tonic::Response<v2::SubmitAndWaitForTransactionResponse>, tonic::Status> {
        let request = request.into_inner();
        let valid = submission_from_commands(request.commands.as_ref(), "commands")?;
        // Validate the format before submitting: a bad format must not leave a committed command behind.
        let view = match &request.transaction_format {
            Some(format) => TransactionView::from_transaction_format(
                format,
                "transaction_format",
                self.context.known(),
            )?,
            // Canton's default: ACS delta, every template, as the acting parties, labelled.
            None => TransactionView {
                filter: EventFilter::wildcard_for(&valid.submission.act_as),
                shape: TransactionShape::AcsDelta,
            },
        };
        let tx = self.submit(valid).await?;
        let transaction = view
            .render(&tx, &self.context.stakeholders)
            .await
            .map_err(|e| ledger_failure(&e))?;
        Ok(tonic::Response::new(
            v2::SubmitAndWaitForTransactionResponse {
                transaction: Some(transaction),
            },
        ))
    }
}
