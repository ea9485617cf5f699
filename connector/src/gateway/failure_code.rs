//! Which error code a delivery's outcome answers its sender with, for `connector_failures_total{code}`: the
//! operator's "what is failing right now, and how". The label is always one of the spec's fixed codes (taken from
//! [`ErrorCode`], never from the message), so the metric's cardinality stays bounded whatever senders write.

use crate::processor::Disposition;
use message_schema::error_code::ErrorCode;

/// The code of the Failure this outcome publishes, if it is one and is decided now: `recorded` is the code the
/// processor recorded with the outcome ([`crate::processor::Processed::failure_code`]). A replayed outcome is
/// `None`: it was counted when it was decided, and counting it again would count one request twice.
pub fn failure_code(disposition: &Disposition, recorded: Option<u16>) -> Option<ErrorCode> {
    match disposition {
        Disposition::Malformed { code, .. } => Some(*code),
        Disposition::Exhausted { .. } => Some(ErrorCode::Unavailable),
        Disposition::Poisoned { .. } => Some(ErrorCode::Internal),
        Disposition::Completed => recorded.and_then(ErrorCode::from_code),
        Disposition::Replayed
        | Disposition::Halted { .. }
        | Disposition::Abandoned { .. }
        | Disposition::StorageFailed { .. } => None,
    }
}

/// The label value of a code: static, so counting a failure allocates nothing.
pub fn code_label(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadRequest => "4000",
        ErrorCode::Forbidden => "4030",
        ErrorCode::NotFound => "4040",
        ErrorCode::Conflict => "4090",
        ErrorCode::Rejected => "4220",
        ErrorCode::Internal => "5000",
        ErrorCode::Unavailable => "5030",
    }
}

/// Every code, so each series can exist at zero before its first failure.
pub const ALL_CODES: [ErrorCode; 7] = [
    ErrorCode::BadRequest,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::Conflict,
    ErrorCode::Rejected,
    ErrorCode::Internal,
    ErrorCode::Unavailable,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_failure_is_counted_by_its_code() {
        for code in ALL_CODES {
            assert_eq!(
                failure_code(&Disposition::Completed, Some(code.code())),
                Some(code)
            );
        }
    }

    #[test]
    fn a_success_or_a_replay_counts_no_failure() {
        assert_eq!(failure_code(&Disposition::Completed, None), None);
        assert_eq!(failure_code(&Disposition::Replayed, Some(4090)), None);
    }

    #[test]
    fn dead_lettered_outcomes_name_their_code() {
        let reason = String::new;
        assert_eq!(
            failure_code(&Disposition::Exhausted { reason: reason() }, None),
            Some(ErrorCode::Unavailable)
        );
        assert_eq!(
            failure_code(&Disposition::Poisoned { reason: reason() }, None),
            Some(ErrorCode::Internal)
        );
        assert_eq!(
            failure_code(
                &Disposition::Malformed {
                    code: ErrorCode::BadRequest,
                    reason: reason()
                },
                None
            ),
            Some(ErrorCode::BadRequest)
        );
    }

    #[test]
    fn labels_are_the_wire_codes() {
        for code in ALL_CODES {
            assert_eq!(code_label(code), code.code().to_string());
        }
    }
}
