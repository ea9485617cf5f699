//! The statuses the sandbox answers malformed requests with, all built through `daml_ledger_api`'s shared error
//! table so their codes and Daml error ids are the ones the Daml adapter (and Canton's clients) read.
//!
//! Every message starts with the path of the offending field (`commands.command_id: …`) and says what was expected.

use daml_ledger_api::rejection::{ledger_error_from_status, status_from_ledger_error};
use daml_ledger_api::status_with_error_id;
use ledger_port::{LedgerError, RejectionReason};

/// Canton's id for a required field that is absent or empty (INVALID_ARGUMENT).
pub const MISSING_FIELD: &str = "MISSING_FIELD";
/// Canton's id for a field whose value is malformed (INVALID_ARGUMENT).
pub const INVALID_FIELD: &str = "INVALID_FIELD";
/// Canton's id for an update id or offset with no (visible) update (NOT_FOUND).
pub const UPDATE_NOT_FOUND: &str = "UPDATE_NOT_FOUND";
/// Canton's id for an offset beyond the ledger end (OUT_OF_RANGE).
pub const OFFSET_AFTER_LEDGER_END: &str = "OFFSET_AFTER_LEDGER_END";

/// A required field is absent or empty.
pub fn missing(path: &str, expected: &str) -> tonic::Status {
    status_from_ledger_error(
        &LedgerError::permanent(
            RejectionReason::InvalidArgument,
            format!("{path}: missing; expected {expected}"),
        )
        .with_ledger_error(MISSING_FIELD),
    )
}

/// A field holds something the sandbox cannot use.
pub fn invalid(path: &str, problem: impl std::fmt::Display) -> tonic::Status {
    status_from_ledger_error(
        &LedgerError::permanent(
            RejectionReason::InvalidArgument,
            format!("{path}: {problem}"),
        )
        .with_ledger_error(INVALID_FIELD),
    )
}

/// The status for a failed ledger call.
///
/// The shared table keeps the ledger's own error id; but where the embedded ledger's id is one the table would read
/// back as another reason (its `INVALID_STATE_TRANSITION` for a `when` guard is a conflict, while an unknown
/// FAILED_PRECONDITION id reads as a rejection), the table's own id for the reason is sent instead and the ledger's
/// id stays in the message, so a client classifies the error as the embedded ledger did.
pub fn ledger_failure(error: &LedgerError) -> tonic::Status {
    let status = status_from_ledger_error(error);
    let Some(own_id) = &error.ledger_error else {
        return status;
    };
    if ledger_error_from_status("", &status).reason == error.reason {
        return status;
    }
    status_from_ledger_error(&LedgerError {
        ledger_error: None,
        message: format!("{} ({own_id})", error.message),
        ..error.clone()
    })
}

/// No update with this id or offset is visible to the request's parties.
pub fn update_not_found(what: impl std::fmt::Display) -> tonic::Status {
    status_from_ledger_error(
        &LedgerError::permanent(
            RejectionReason::NotFound,
            format!("{what}: no such update visible to the requested parties"),
        )
        .with_ledger_error(UPDATE_NOT_FOUND),
    )
}

/// Checks an offset a request names: not negative, and not beyond the ledger end (OUT_OF_RANGE, as Canton answers;
/// the shared table has no OUT_OF_RANGE class, so this one status is built from the id function directly).
pub fn check_offset(path: &str, offset: i64, end: i64) -> Result<(), tonic::Status> {
    if offset < 0 {
        return Err(invalid(
            path,
            format!("{offset} is negative; expected an offset from 0 to the ledger end ({end})"),
        ));
    }
    if offset > end {
        return Err(status_with_error_id(
            tonic::Code::OutOfRange,
            OFFSET_AFTER_LEDGER_END,
            &format!("{path}: {offset} is after the ledger end {end}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use daml_ledger_api::error_id_of;

    #[test]
    fn statuses_carry_code_id_and_path() {
        let status = missing("commands.command_id", "a non-empty command id");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(error_id_of(&status).as_deref(), Some(MISSING_FIELD));
        assert!(status.message().contains("commands.command_id: missing"));

        let status = update_not_found("update id \"x\"");
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(error_id_of(&status).as_deref(), Some(UPDATE_NOT_FOUND));
    }

    #[test]
    fn ledger_failures_read_back_as_the_reason_the_ledger_gave() {
        use daml_ledger_api::rejection::WORKFLOW_TRANSITION_NOT_ALLOWED;
        // The embedded ledger's id for a `when` guard is not in the table: the table's conflict id is sent instead.
        let guard = LedgerError::permanent(RejectionReason::Conflict, "state is Completed")
            .with_ledger_error("INVALID_STATE_TRANSITION");
        let status = ledger_failure(&guard);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some(WORKFLOW_TRANSITION_NOT_ALLOWED)
        );
        assert!(
            status
                .message()
                .contains("state is Completed (INVALID_STATE_TRANSITION)")
        );
        let read = ledger_error_from_status("Submit", &status);
        assert_eq!(read.reason, RejectionReason::Conflict);

        // Ids the table reads back as the same reason are kept as they are.
        for (reason, id) in [
            (RejectionReason::NotFound, "CONTRACT_NOT_FOUND"),
            (RejectionReason::NotFound, "TEMPLATE_NOT_FOUND"),
            (RejectionReason::Rejected, "DAML_INTERPRETATION_ERROR"),
            (RejectionReason::Forbidden, "DAML_AUTHORIZATION_ERROR"),
            (RejectionReason::InvalidArgument, "TEMPLATE_MISMATCH"),
        ] {
            let status =
                ledger_failure(&LedgerError::permanent(reason, "why").with_ledger_error(id));
            assert_eq!(error_id_of(&status).as_deref(), Some(id));
            assert_eq!(
                ledger_error_from_status("Submit", &status).reason,
                reason,
                "{id}"
            );
        }
    }

    #[test]
    fn offsets_are_checked_against_zero_and_the_end() {
        assert!(check_offset("o", 0, 0).is_ok());
        assert!(check_offset("o", 3, 3).is_ok());
        let negative = check_offset("o", -1, 3).expect_err("negative");
        assert_eq!(negative.code(), tonic::Code::InvalidArgument);
        let beyond = check_offset("begin_exclusive", 4, 3).expect_err("beyond the end");
        assert_eq!(beyond.code(), tonic::Code::OutOfRange);
        assert_eq!(
            error_id_of(&beyond).as_deref(),
            Some(OFFSET_AFTER_LEDGER_END)
        );
        assert!(
            beyond
                .message()
                .contains("begin_exclusive: 4 is after the ledger end 3")
        );
    }
}
