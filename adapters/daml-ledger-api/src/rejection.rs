//! One table between the port's classified ledger errors and gRPC statuses with Daml error ids, used in both
//! directions: `connector sandbox` answers with it, the Daml adapter reads Canton's answers (and the sandbox's) with
//! it, so the two sides cannot drift apart.
//!
//! Classes follow the Ledger API facts: UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED and RESOURCE_EXHAUSTED are transient;
//! INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, PERMISSION_DENIED and ALREADY_EXISTS are permanent for the
//! request; UNAUTHENTICATED is a configuration fault.

use ledger_port::{ErrorClass, LedgerError, RejectionReason};
use tonic::Code;

use crate::error_id::{error_id_of, status_with_error_id};

/// Canton's id for a resubmitted command id within the deduplication period (ALREADY_EXISTS).
pub const DUPLICATE_COMMAND: &str = "DUPLICATE_COMMAND";
/// Canton's id for a command id whose first submission is still being processed (ABORTED).
pub const SUBMISSION_ALREADY_IN_FLIGHT: &str = "SUBMISSION_ALREADY_IN_FLIGHT";
/// Canton's id for an exercise on a contract that does not exist or is archived (NOT_FOUND).
pub const CONTRACT_NOT_FOUND: &str = "CONTRACT_NOT_FOUND";
/// Canton's id for a template or interface the participant does not know (INVALID_ARGUMENT on Canton).
pub const TEMPLATES_OR_INTERFACES_NOT_FOUND: &str = "TEMPLATES_OR_INTERFACES_NOT_FOUND";
/// Canton's id for a failed `assert`/`ensure` or an uncaught exception in Daml code (FAILED_PRECONDITION).
pub const DAML_INTERPRETATION_ERROR: &str = "DAML_INTERPRETATION_ERROR";
/// Canton's id for a command that was not well-formed for the package (INVALID_ARGUMENT).
pub const COMMAND_PREPROCESSING_FAILED: &str = "COMMAND_PREPROCESSING_FAILED";
/// Canton's id for a submission the acting parties are not authorized for.
pub const DAML_AUTHORIZATION_ERROR: &str = "DAML_AUTHORIZATION_ERROR";
/// Canton's id for a contract consumed by a concurrent transaction (FAILED_PRECONDITION on Canton 3).
pub const LOCAL_VERDICT_INACTIVE_CONTRACTS: &str = "LOCAL_VERDICT_INACTIVE_CONTRACTS";
/// The sandbox's id for a workflow transition that the contract's current state does not allow (a `when` guard of
/// the mapping); Canton reports the equivalent Daml `assert` as DAML_INTERPRETATION_ERROR.
pub const WORKFLOW_TRANSITION_NOT_ALLOWED: &str = "WORKFLOW_TRANSITION_NOT_ALLOWED";
/// The id for a ledger that is up but not serving (UNAVAILABLE).
pub const SERVICE_NOT_RUNNING: &str = "SERVICE_NOT_RUNNING";

/// The status a Ledger API server answers a failed call with.
pub fn status_from_ledger_error(error: &LedgerError) -> tonic::Status {
    let (code, default_id) = match (error.class, error.reason) {
        (ErrorClass::Transient, _) | (_, RejectionReason::Unavailable) => {
            (Code::Unavailable, SERVICE_NOT_RUNNING)
        }
        (_, RejectionReason::Unauthenticated) => (Code::Unauthenticated, "UNAUTHENTICATED"),
        (_, RejectionReason::InvalidArgument) => {
            (Code::InvalidArgument, COMMAND_PREPROCESSING_FAILED)
        }
        (_, RejectionReason::Forbidden) => (Code::PermissionDenied, DAML_AUTHORIZATION_ERROR),
        (_, RejectionReason::NotFound) => (Code::NotFound, CONTRACT_NOT_FOUND),
        (_, RejectionReason::Conflict) => {
            (Code::FailedPrecondition, WORKFLOW_TRANSITION_NOT_ALLOWED)
        }
        (_, RejectionReason::Rejected) => (Code::FailedPrecondition, DAML_INTERPRETATION_ERROR),
        (_, RejectionReason::Internal) => (Code::Internal, "INTERNAL_ERROR"),
    };
    let id = error.ledger_error.as_deref().unwrap_or(default_id);
    status_with_error_id(code, id, &error.message)
}

/// The port's classified error for a status a Ledger API server answered with. `call` names the call, for the
/// message (`SubmitAndWaitForTransaction: …`).
pub fn ledger_error_from_status(call: &str, status: &tonic::Status) -> LedgerError {
    let id = error_id_of(status);
    let message = format!("{call}: {}", status.message());
    let error = match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::ResourceExhausted => {
            LedgerError::transient(message)
        }
        Code::Unauthenticated => {
            LedgerError::configuration(RejectionReason::Unauthenticated, message)
        }
        Code::InvalidArgument if id.as_deref() == Some(TEMPLATES_OR_INTERFACES_NOT_FOUND) => {
            LedgerError::permanent(RejectionReason::NotFound, message)
        }
        Code::InvalidArgument if id.as_deref() == Some(DAML_AUTHORIZATION_ERROR) => {
            LedgerError::permanent(RejectionReason::Forbidden, message)
        }
        Code::InvalidArgument | Code::OutOfRange => {
            LedgerError::permanent(RejectionReason::InvalidArgument, message)
        }
        Code::NotFound => LedgerError::permanent(RejectionReason::NotFound, message),
        Code::PermissionDenied => LedgerError::permanent(RejectionReason::Forbidden, message),
        Code::FailedPrecondition => {
            let conflict = matches!(
                id.as_deref(),
                Some(WORKFLOW_TRANSITION_NOT_ALLOWED | LOCAL_VERDICT_INACTIVE_CONTRACTS)
            );
            let reason = if conflict {
                RejectionReason::Conflict
            } else {
                RejectionReason::Rejected
            };
            LedgerError::permanent(reason, message)
        }
        Code::AlreadyExists => LedgerError::permanent(RejectionReason::Conflict, message),
        _ => LedgerError::permanent(RejectionReason::Internal, message),
    };
    match id {
        Some(id) => error.with_ledger_error(id),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rejection_reason_survives_the_wire() {
        for reason in [
            RejectionReason::InvalidArgument,
            RejectionReason::Forbidden,
            RejectionReason::NotFound,
            RejectionReason::Conflict,
            RejectionReason::Rejected,
            RejectionReason::Internal,
        ] {
            let sent = LedgerError::permanent(reason, "why");
            let status = status_from_ledger_error(&sent);
            let received = ledger_error_from_status("Call", &status);
            assert_eq!(received.reason, reason, "{status:?}");
            assert_eq!(received.class, ErrorClass::Permanent);
            assert!(received.message.starts_with("Call: "));
            assert!(received.message.ends_with("why"));
        }
        let transient = ledger_error_from_status(
            "Call",
            &status_from_ledger_error(&LedgerError::transient("down")),
        );
        assert!(transient.is_transient());
        let auth = ledger_error_from_status(
            "Call",
            &status_from_ledger_error(&LedgerError::configuration(
                RejectionReason::Unauthenticated,
                "bad token",
            )),
        );
        assert_eq!(auth.class, ErrorClass::Configuration);
    }

    #[test]
    fn the_ledgers_own_error_id_is_kept() {
        let sent = LedgerError::permanent(RejectionReason::NotFound, "gone")
            .with_ledger_error(CONTRACT_NOT_FOUND);
        let status = status_from_ledger_error(&sent);
        assert_eq!(status.code(), Code::NotFound);
        let received = ledger_error_from_status("Call", &status);
        assert_eq!(received.ledger_error.as_deref(), Some(CONTRACT_NOT_FOUND));
    }

    #[test]
    fn canton_codes_classify_as_the_facts_say() {
        let cases = [
            (Code::Unavailable, None, ErrorClass::Transient),
            (Code::DeadlineExceeded, None, ErrorClass::Transient),
            (
                Code::Aborted,
                Some(SUBMISSION_ALREADY_IN_FLIGHT),
                ErrorClass::Transient,
            ),
            (Code::ResourceExhausted, None, ErrorClass::Transient),
            (Code::InvalidArgument, None, ErrorClass::Permanent),
            (
                Code::NotFound,
                Some(CONTRACT_NOT_FOUND),
                ErrorClass::Permanent,
            ),
            (
                Code::FailedPrecondition,
                Some(DAML_INTERPRETATION_ERROR),
                ErrorClass::Permanent,
            ),
            (Code::PermissionDenied, None, ErrorClass::Permanent),
            (Code::Unauthenticated, None, ErrorClass::Configuration),
        ];
        for (code, id, class) in cases {
            let status = match id {
                Some(id) => status_with_error_id(code, id, "x"),
                None => tonic::Status::new(code, "x"),
            };
            assert_eq!(
                ledger_error_from_status("Call", &status).class,
                class,
                "{code:?}"
            );
        }
        let unknown_template = status_with_error_id(
            Code::InvalidArgument,
            TEMPLATES_OR_INTERFACES_NOT_FOUND,
            "Templates do not exist",
        );
        assert_eq!(
            ledger_error_from_status("Call", &unknown_template).reason,
            RejectionReason::NotFound
        );
    }
}
