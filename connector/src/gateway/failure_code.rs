//! Which error code a delivery's outcome answers its sender with, for `connector_failures_total{code}`: the
//! operator's "what is failing right now, and how". The label is always one of the spec's fixed codes (taken from
//! [`ErrorCode`], never from the message), so the metric's cardinality stays bounded whatever senders write.

use message_schema::error_code::ErrorCode;
use serde::Deserialize;

use crate::encoded_egress::EncodedEgress;
use crate::processor::Disposition;

/// The code of the Failure this outcome publishes, if it is one and is decided now. A replayed outcome is `None`:
/// it was counted when it was decided, and counting it again would count one request twice.
pub fn failure_code(disposition: &Disposition, egress: &[EncodedEgress]) -> Option<ErrorCode> {
    match disposition {
        Disposition::Malformed { code, .. } => Some(*code),
        Disposition::Exhausted { .. } => Some(ErrorCode::Unavailable),
        Disposition::Poisoned { .. } => Some(ErrorCode::Internal),
        // A recorded Failure (4030, 4040, 4090, 4220, …) is only in the egress the processor built; the Failure is
        // the outcome's last message, so it is looked for from the end.
        Disposition::Completed => egress.iter().rev().find_map(code_of),
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

/// Our compact JSON writes `"status":"Failure"` only as a message's own key and value: inside a string value (a
/// contract property a sender chose) the quotes would be escaped. So only real Failures are parsed.
const FAILURE_STATUS: &[u8] = br#""status":"Failure""#;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureShape {
    status: String,
    additional_information: FailureInformation,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureInformation {
    error_code: u16,
}

fn code_of(egress: &EncodedEgress) -> Option<ErrorCode> {
    if !egress
        .body
        .windows(FAILURE_STATUS.len())
        .any(|w| w == FAILURE_STATUS)
    {
        return None;
    }
    let shape: FailureShape = serde_json::from_slice(&egress.body).ok()?;
    if shape.status != "Failure" {
        return None;
    }
    ErrorCode::from_code(shape.additional_information.error_code)
}

#[cfg(test)]
mod tests {
    use message_schema::egress::{EgressMessage, FailureDetails, LedgerInfo, UpdateMessageName};

    use super::*;

    fn failure(code: ErrorCode) -> EncodedEgress {
        let info = LedgerInfo {
            ledger_type: "embedded".into(),
            platform_version: 1,
            connection_id: 1,
        };
        let message = EgressMessage::request_failure(
            &info,
            "r1",
            UpdateMessageName::CreateContractActionUpdate,
            None,
            &FailureDetails {
                code,
                message: "no".into(),
                field: None,
                ledger_error: None,
            },
        );
        EncodedEgress::encode(&message, "r1", 1)
    }

    fn body(text: &str) -> EncodedEgress {
        EncodedEgress {
            routing_key: "ContractMessage".into(),
            message_id: "m".into(),
            request_id: Some("r1".into()),
            body: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_recorded_failure_is_read_from_its_egress() {
        for code in ALL_CODES {
            assert_eq!(
                failure_code(&Disposition::Completed, &[body("{}"), failure(code)]),
                Some(code)
            );
        }
    }

    #[test]
    fn a_success_or_a_replay_counts_no_failure() {
        // A sender's property value that looks like a Failure is escaped inside its string.
        let sneaky = body(
            r#"{"messageName":"ContractMessage","contractProperties":[{"name":"x","value":"\"status\":\"Failure\""}]}"#,
        );
        assert_eq!(failure_code(&Disposition::Completed, &[sneaky]), None);
        assert_eq!(
            failure_code(&Disposition::Replayed, &[failure(ErrorCode::Conflict)]),
            None
        );
    }

    #[test]
    fn dead_lettered_outcomes_name_their_code() {
        let reason = String::new;
        assert_eq!(
            failure_code(&Disposition::Exhausted { reason: reason() }, &[]),
            Some(ErrorCode::Unavailable)
        );
        assert_eq!(
            failure_code(&Disposition::Poisoned { reason: reason() }, &[]),
            Some(ErrorCode::Internal)
        );
        assert_eq!(
            failure_code(
                &Disposition::Malformed {
                    code: ErrorCode::BadRequest,
                    reason: reason()
                },
                &[]
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
