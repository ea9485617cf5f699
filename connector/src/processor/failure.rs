//! From a ledger error to the Failure a client gets: stable code, a sentence to act on, the ledger's error id.

use ledger_port::{LedgerError, RejectionReason};
use message_schema::egress::{EgressMessage, FailureDetails, UpdateMessageName};
use message_schema::error_code::ErrorCode;

use uuid::Uuid;

use super::Processor;
use crate::mapping::MappingError;

/// The Failure details for a ledger rejection of a command on an `exercise` (true) or a create (false).
///
/// On an exercise, CONTRACT_NOT_FOUND means the contract the index named was archived by someone else since: a
/// conflict (4090), not a missing contract (4040), which the index already rules out.
pub fn ledger_failure(error: &LedgerError, on_exercise: bool) -> FailureDetails {
    let code = match error.reason {
        RejectionReason::InvalidArgument => ErrorCode::BadRequest,
        RejectionReason::Forbidden | RejectionReason::Unauthenticated => ErrorCode::Forbidden,
        RejectionReason::NotFound
            if on_exercise && error.ledger_error.as_deref() == Some("CONTRACT_NOT_FOUND") =>
        {
            ErrorCode::Conflict
        }
        RejectionReason::NotFound => ErrorCode::NotFound,
        RejectionReason::Conflict => ErrorCode::Conflict,
        RejectionReason::Rejected => ErrorCode::Rejected,
        RejectionReason::Unavailable => ErrorCode::Unavailable,
        RejectionReason::Internal => ErrorCode::Internal,
    };
    FailureDetails {
        code,
        message: format!("the ledger rejected the command: {}", error.message),
        field: None,
        ledger_error: error.ledger_error.clone(),
    }
}

/// The Failure details for a request the mapping refused.
pub fn mapping_failure(error: &MappingError) -> FailureDetails {
    FailureDetails {
        code: error.code,
        message: error.message.clone(),
        field: error.field.clone(),
        ledger_error: None,
    }
}

/// The Failure details for a fault inside the gateway (a bug, not the request's or the ledger's doing).
pub fn internal_failure(error: &dyn std::error::Error) -> FailureDetails {
    FailureDetails {
        code: ErrorCode::Internal,
        message: format!("the gateway failed internally: {error}"),
        field: None,
        ledger_error: None,
    }
}

/// The Failure details once transient retries are exhausted.
pub fn unavailable_failure(error: &LedgerError, attempts: u32) -> FailureDetails {
    FailureDetails {
        code: ErrorCode::Unavailable,
        message: format!(
            "the ledger stayed unavailable for {attempts} attempts ({}); the request was dead-lettered and can be \
             re-sent unchanged",
            error.message
        ),
        field: None,
        ledger_error: error.ledger_error.clone(),
    }
}

impl Processor {
    pub(in crate::processor) fn request_failure(
        &self,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: Option<&Uuid>,
        details: &FailureDetails,
    ) -> EgressMessage {
        EgressMessage::request_failure(&self.settings.info, request_id, name, linear_id, details)
    }
}
