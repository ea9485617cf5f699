//! Resolving a DUPLICATE_COMMAND answer to the original transaction, which the port's deduplication contract asks
//! for: a command id that already committed returns the original transaction and changes nothing.
//!
//! The participant answers a resubmission with ALREADY_EXISTS / `DUPLICATE_COMMAND` and says no more, so the adapter
//! does not resubmit but looks: it reads the ledger end, then the completions of the acting parties from the start
//! until the one for this command id with an OK status (its `update_id`) or until it passes that end — the original
//! committed before the duplicate was refused, so it cannot lie beyond it — and fetches the transaction by update
//! id. Not finding it is transient: the original may still be in flight.
//!
//! A participant that sends no offset checkpoints on an idle completion stream would leave the scan waiting when
//! the ledger end belongs to another party's transaction; an idle limit ([`IDLE_LIMIT`], or the call deadline if
//! shorter) ends the scan then, as "not found yet".

use std::time::Duration;

use daml_ledger_api::rejection::DUPLICATE_COMMAND;
use daml_ledger_api::v2::{
    self, CompletionStreamRequest, CompletionStreamResponse, GetUpdateByIdRequest,
    TransactionFormat, completion_stream_response::CompletionResponse,
};
use daml_ledger_api::{error_id_of, transaction_from_proto};
use ledger_port::{LedgerError, RejectionReason, Submission, TemplateId, Transaction};
use tonic::{Code, Status};

use crate::package_names::prefer_configured_forms;
use crate::requests::update_format;
use crate::rpc::{CallKind, Next, Rpc};

/// Longest wait for the next completion while scanning.
pub const IDLE_LIMIT: Duration = Duration::from_secs(5);

/// Whether a failed submission was refused as a duplicate of a command id already committed.
pub fn is_duplicate(status: &Status) -> bool {
    status.code() == Code::AlreadyExists
        && error_id_of(status).is_none_or(|id| id == DUPLICATE_COMMAND)
}

/// What one completion stream message means for the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStep {
    /// The original's successful completion, with its update id.
    Found(String),
    /// Keep reading.
    Continue,
    /// At or past the ledger end read before the scan: the original is not there.
    Passed,
}

/// How a completion scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// The command's successful completion, with its update id.
    Found(String),
    /// Read up to the ledger end taken before the scan: the command did not commit before it.
    NotThere,
    /// The stream ended or went quiet before reaching that end (a participant that sends no offset checkpoints, with
    /// the end belonging to another party's transaction): the command may still be there.
    Unsure,
}

/// The search for one command's successful completion, up to a ledger end.
#[derive(Debug, Clone)]
pub struct CompletionScan {
    command_id: String,
    act_as: Vec<String>,
    end: i64,
}

impl CompletionScan {
    pub fn new(submission: &Submission, end: i64) -> Self {
        Self::for_command(&submission.command_id, &submission.act_as, end)
    }

    /// The search for `command_id` submitted by `act_as`.
    pub fn for_command(command_id: &str, act_as: &[String], end: i64) -> Self {
        let mut act_as = act_as.to_vec();
        act_as.sort();
        act_as.dedup();
        Self {
            command_id: command_id.to_owned(),
            act_as,
            end,
        }
    }

    /// Whether there is anything to read: an empty ledger holds no original.
    pub fn has_range(&self) -> bool {
        self.end > 0
    }

    /// Judges one message of the completion stream.
    pub fn observe(&self, response: &CompletionStreamResponse) -> ScanStep {
        match &response.completion_response {
            Some(CompletionResponse::Completion(completion)) => {
                if self.is_original(completion) {
                    ScanStep::Found(completion.update_id.clone())
                } else if completion.offset >= self.end {
                    ScanStep::Passed
                } else {
                    ScanStep::Continue
                }
            }
            Some(CompletionResponse::OffsetCheckpoint(checkpoint))
                if checkpoint.offset >= self.end =>
            {
                ScanStep::Passed
            }
            _ => ScanStep::Continue,
        }
    }

    /// Same command id, a successful status, and — when the completion names them — the same acting parties
    /// (deduplication is per user, acting parties and command id).
    fn is_original(&self, completion: &v2::Completion) -> bool {
        let ok = completion
            .status
            .as_ref()
            .is_none_or(|s| s.code == Code::Ok as i32);
        let same_parties = completion.act_as.is_empty() || {
            let mut act_as = completion.act_as.clone();
            act_as.sort();
            act_as.dedup();
            act_as == self.act_as
        };
        completion.command_id == self.command_id
            && ok
            && same_parties
            && !completion.update_id.is_empty()
    }
}

/// Finds and returns the transaction the duplicate `submission` originally committed.
pub async fn original_transaction(
    rpc: &Rpc,
    user_id: &str,
    submission: &Submission,
    format: TransactionFormat,
    templates: &[TemplateId],
) -> Result<Transaction, LedgerError> {
    let end = ledger_end(rpc).await?;
    let scan = CompletionScan::new(submission, end);
    let update_id = match find_update_id(rpc, user_id, &submission.act_as, &scan).await? {
        ScanEnd::Found(update_id) => update_id,
        ScanEnd::NotThere | ScanEnd::Unsure => {
            return Err(LedgerError::transient(format!(
                "SubmitAndWaitForTransaction: command id {:?} was already submitted (DUPLICATE_COMMAND), but its \
                 successful completion is not among the completions up to offset {end}; it may still be in flight",
                submission.command_id
            ))
            .with_ledger_error(DUPLICATE_COMMAND));
        }
    };
    transaction_by_update_id(rpc, &update_id, &submission.command_id, format, templates).await
}

/// The participant's ledger end.
pub async fn ledger_end(rpc: &Rpc) -> Result<i64, LedgerError> {
    let request = rpc.request(v2::GetLedgerEndRequest {}, CallKind::Unary)?;
    let mut client = rpc.state();
    Ok(rpc
        .finish("GetLedgerEnd", client.get_ledger_end(request))
        .await?
        .offset)
}

/// The transaction `command_id` committed as `update_id`, in the gateway's template forms.
pub async fn transaction_by_update_id(
    rpc: &Rpc,
    update_id: &str,
    command_id: &str,
    format: TransactionFormat,
    templates: &[TemplateId],
) -> Result<Transaction, LedgerError> {
    let request = rpc.request(
        GetUpdateByIdRequest {
            update_id: update_id.to_owned(),
            update_format: Some(update_format(format)),
        },
        CallKind::Unary,
    )?;
    let mut client = rpc.updates();
    let response = rpc
        .finish("GetUpdateById", client.get_update_by_id(request))
        .await?;
    let Some(v2::get_update_response::Update::Transaction(mut transaction)) = response.update
    else {
        return Err(LedgerError::permanent(
            RejectionReason::Internal,
            format!(
                "GetUpdateById: update {update_id:?} of command id {command_id:?} is not a transaction"
            ),
        ));
    };
    prefer_configured_forms(&mut transaction, templates);
    transaction_from_proto(&transaction).map_err(|e| {
        LedgerError::permanent(RejectionReason::Internal, format!("GetUpdateById: {e}"))
    })
}

/// The update id of the command the scan looks for, reading `act_as`'s completions from the start.
pub async fn find_update_id(
    rpc: &Rpc,
    user_id: &str,
    act_as: &[String],
    scan: &CompletionScan,
) -> Result<ScanEnd, LedgerError> {
    if !scan.has_range() {
        return Ok(ScanEnd::NotThere);
    }
    let request = rpc.request(
        CompletionStreamRequest {
            user_id: user_id.to_owned(),
            parties: act_as.to_vec(),
            begin_exclusive: 0,
        },
        CallKind::Stream,
    )?;
    let mut client = rpc.completions();
    let mut stream = rpc
        .finish("CompletionStream", client.completion_stream(request))
        .await?;
    let idle = IDLE_LIMIT.min(rpc.call_timeout());
    loop {
        let message = match rpc.next("CompletionStream", &mut stream, idle).await? {
            Next::Message(message) => message,
            // Idle: caught up without passing the end (a participant that sends no checkpoints).
            Next::End | Next::Idle => return Ok(ScanEnd::Unsure),
        };
        match scan.observe(&message) {
            ScanStep::Found(update_id) => return Ok(ScanEnd::Found(update_id)),
            ScanStep::Passed => return Ok(ScanEnd::NotThere),
            ScanStep::Continue => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use daml_ledger_api::rpc;
    use daml_ledger_api::status_with_error_id;
    use ledger_port::{Command, Record, TemplateId};

    fn submission() -> Submission {
        Submission {
            command_id: "wb-1".into(),
            act_as: vec!["Operator".into(), "Device01".into()],
            command: Command::Create {
                template_id: TemplateId::parse("M:E").expect("valid"),
                arguments: Record::new(),
            },
        }
    }

    fn completion(
        command_id: &str,
        code: i32,
        offset: i64,
        act_as: &[&str],
    ) -> CompletionStreamResponse {
        CompletionStreamResponse {
            completion_response: Some(CompletionResponse::Completion(v2::Completion {
                command_id: command_id.into(),
                status: Some(rpc::Status {
                    code,
                    message: String::new(),
                    details: vec![],
                }),
                update_id: format!("update-{offset}"),
                user_id: "gateway".into(),
                act_as: act_as.iter().map(|p| p.to_string()).collect(),
                offset,
                ..v2::Completion::default()
            })),
        }
    }

    fn checkpoint(offset: i64) -> CompletionStreamResponse {
        CompletionStreamResponse {
            completion_response: Some(CompletionResponse::OffsetCheckpoint(v2::OffsetCheckpoint {
                offset,
                synchronizer_times: vec![],
            })),
        }
    }

    #[test]
    fn duplicates_are_already_exists_with_the_daml_id_or_none() {
        assert!(is_duplicate(&status_with_error_id(
            Code::AlreadyExists,
            DUPLICATE_COMMAND,
            "already processed"
        )));
        assert!(is_duplicate(&Status::already_exists("duplicate")));
        assert!(!is_duplicate(&status_with_error_id(
            Code::AlreadyExists,
            "OTHER_THING",
            "x"
        )));
        assert!(!is_duplicate(&status_with_error_id(
            Code::Aborted,
            "SUBMISSION_ALREADY_IN_FLIGHT",
            "in flight"
        )));
    }

    #[test]
    fn the_scan_finds_the_successful_completion_of_the_same_command_and_parties() {
        let scan = CompletionScan::new(&submission(), 10);
        assert!(scan.has_range());
        assert_eq!(
            scan.observe(&completion("other", 0, 3, &["Operator"])),
            ScanStep::Continue
        );
        assert_eq!(
            scan.observe(&completion("wb-1", 6, 4, &["Operator", "Device01"])),
            ScanStep::Continue,
            "a failed attempt is not the original"
        );
        assert_eq!(
            scan.observe(&completion("wb-1", 0, 5, &["Operator"])),
            ScanStep::Continue,
            "other acting parties deduplicate separately"
        );
        assert_eq!(scan.observe(&checkpoint(6)), ScanStep::Continue);
        assert_eq!(
            scan.observe(&completion("wb-1", 0, 7, &["Device01", "Operator"])),
            ScanStep::Found("update-7".into())
        );
        assert_eq!(
            scan.observe(&completion("wb-1", 0, 10, &[])),
            ScanStep::Found("update-10".into()),
            "at the end itself, and without act_as on the completion"
        );
    }

    #[test]
    fn the_scan_stops_once_it_reaches_the_end() {
        let scan = CompletionScan::new(&submission(), 10);
        assert_eq!(
            scan.observe(&completion("other", 0, 10, &["Operator"])),
            ScanStep::Passed
        );
        assert_eq!(
            scan.observe(&completion("other", 0, 12, &["Operator"])),
            ScanStep::Passed
        );
        assert_eq!(scan.observe(&checkpoint(10)), ScanStep::Passed);
        assert!(!CompletionScan::new(&submission(), 0).has_range());
    }
}
