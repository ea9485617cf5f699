//! `CommandCompletionService.CompletionStream`: one completion per committed command whose acting parties include
//! a requested party, from the stored transactions after `begin_exclusive` and then live, interleaved with live
//! rejections (the ledger stores no rejections, so those are never replayed; see `completion_feed`).
//!
//! This is how the Daml adapter resolves a `DUPLICATE_COMMAND`: it finds the original command's update id here.

use std::sync::Arc;

use daml_ledger_api::v2::command_completion_service_server::CommandCompletionService;
use daml_ledger_api::{rpc, v2};
use futures::StreamExt;
use ledger_port::{Event, Transaction, UpdateFilter};
use tokio_stream::wrappers::BroadcastStream;

use crate::context::{Context, ResponseStream};
use crate::request_errors::{check_offset, invalid, ledger_failure, missing};

/// The completion service.
pub struct SandboxCompletionService {
    context: Arc<Context>,
}

impl SandboxCompletionService {
    pub fn new(context: Arc<Context>) -> Self {
        Self { context }
    }
}

/// The acting parties of a committed command: its create's signatories or its exercise's actors (the embedded
/// ledger records the submission's `act_as` as both).
fn acting_parties(tx: &Transaction) -> Vec<String> {
    match tx.events.first() {
        Some(Event::Created(c)) => c.signatories.clone(),
        Some(Event::Exercised(x)) => x.acting_parties.clone(),
        Some(Event::Archived(_)) | None => Vec::new(),
    }
}

/// Whether a completion for `user_id` acting as `act_as` is for a stream of `user`, reading as `parties`.
fn concerns(user: &str, parties: &[String], user_id: &str, act_as: &[String]) -> bool {
    user_id == user && act_as.iter().any(|p| parties.contains(p))
}

/// The completion of a committed transaction, if it is for this stream.
fn committed(
    context: &Context,
    user: &str,
    parties: &[String],
    tx: &Transaction,
) -> Option<v2::Completion> {
    let act_as = acting_parties(tx);
    // A command this process did not see submitted is attributed to the user asking (see `completion_feed`).
    let user_id = context
        .completions
        .submitter(&tx.command_id)
        .unwrap_or_else(|| user.to_owned());
    if !concerns(user, parties, &user_id, &act_as) {
        return None;
    }
    Some(v2::Completion {
        command_id: tx.command_id.clone(),
        status: Some(rpc::Status {
            code: tonic::Code::Ok as i32,
            message: String::new(),
            details: Vec::new(),
        }),
        update_id: tx.update_id.clone(),
        user_id,
        act_as,
        offset: tx.offset,
        ..Default::default()
    })
}

fn response(completion: v2::Completion) -> v2::CompletionStreamResponse {
    v2::CompletionStreamResponse {
        completion_response: Some(
            v2::completion_stream_response::CompletionResponse::Completion(completion),
        ),
    }
}

#[tonic::async_trait]
impl CommandCompletionService for SandboxCompletionService {
    type CompletionStreamStream = ResponseStream<v2::CompletionStreamResponse>;

    async fn completion_stream(
        &self,
        request: tonic::Request<v2::CompletionStreamRequest>,
    ) -> Result<tonic::Response<Self::CompletionStreamStream>, tonic::Status> {
        let request = request.into_inner();
        if request.user_id.is_empty() {
            return Err(missing("user_id", "the user whose completions to stream"));
        }
        if request.parties.is_empty() {
            return Err(missing("parties", "at least one party"));
        }
        if let Some(i) = request.parties.iter().position(String::is_empty) {
            return Err(invalid(
                &format!("parties[{i}]"),
                "empty party; expected a party id",
            ));
        }
        let end = self.context.ledger_end().await?;
        check_offset("begin_exclusive", request.begin_exclusive, end)?;
        // Subscribe before reading the log, so no rejection falls between the two.
        let rejections = BroadcastStream::new(self.context.completions.subscribe());
        let commits = self
            .context
            .ledger
            .updates(request.begin_exclusive, &UpdateFilter::default())
            .await
            .map_err(|e| ledger_failure(&e))?;

        let user = Arc::new(request.user_id);
        let parties = Arc::new(request.parties);
        let context = self.context.clone();
        let (commit_user, commit_parties) = (user.clone(), parties.clone());
        let commits = commits.filter_map(move |item| {
            let answer = match item {
                Ok(tx) => {
                    committed(&context, &commit_user, &commit_parties, &tx).map(|c| Ok(response(c)))
                }
                Err(error) => Some(Err(ledger_failure(&error))),
            };
            futures::future::ready(answer)
        });
        let rejections = rejections.filter_map(move |item| {
            let answer = match item {
                Ok(completion) if concerns(&user, &parties, &completion.user_id, &completion.act_as) => {
                    Some(Ok(response(completion)))
                }
                Ok(_) => None,
                Err(lagged) => {
                    tracing::warn!(%lagged, "a completion stream fell behind and missed rejections");
                    None
                }
            };
            futures::future::ready(answer)
        });
        let merged = futures::stream::select(commits, rejections);
        Ok(tonic::Response::new(self.context.until_shutdown(merged)))
    }
}
