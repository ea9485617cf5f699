//! Daml error ids (`DUPLICATE_COMMAND`, `CONTRACT_NOT_FOUND`, …) on gRPC statuses, written and read the way Canton
//! does: the id leads the status message as `ID(category,correlation): text`, and a `google.rpc.ErrorInfo` with
//! `reason = ID` rides in the status details (gRPC's rich error model).

use prost::Message;

use crate::rpc;

const ERROR_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.ErrorInfo";

/// A status carrying `error_id` both in its message and as an `ErrorInfo` detail.
pub fn status_with_error_id(code: tonic::Code, error_id: &str, message: &str) -> tonic::Status {
    let text = format!("{error_id}({},0): {message}", category_of(code));
    let info = rpc::ErrorInfo {
        reason: error_id.to_owned(),
        domain: String::new(),
        metadata: Default::default(),
    };
    let details = rpc::Status {
        code: code as i32,
        message: text.clone(),
        details: vec![prost_types::Any {
            type_url: ERROR_INFO_TYPE_URL.to_owned(),
            value: info.encode_to_vec(),
        }],
    };
    tonic::Status::with_details(code, text, details.encode_to_vec().into())
}

/// The Daml error id of a status: from its `ErrorInfo` detail, else from the `ID(…):` prefix of its message.
pub fn error_id_of(status: &tonic::Status) -> Option<String> {
    if let Ok(details) = rpc::Status::decode(status.details()) {
        for any in details.details {
            if any.type_url == ERROR_INFO_TYPE_URL
                && let Ok(info) = rpc::ErrorInfo::decode(any.value.as_slice())
                && !info.reason.is_empty()
            {
                return Some(info.reason);
            }
        }
    }
    let message = status.message();
    let id = &message[..message.find('(')?];
    let looks_like_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    looks_like_id.then(|| id.to_owned())
}

/// Canton's error category numbers, close enough for a reader of the message; clients use the code and the id.
fn category_of(code: tonic::Code) -> u8 {
    match code {
        tonic::Code::InvalidArgument => 8,
        tonic::Code::NotFound => 11,
        tonic::Code::AlreadyExists => 10,
        tonic::Code::FailedPrecondition => 9,
        tonic::Code::PermissionDenied => 7,
        tonic::Code::Unauthenticated => 6,
        tonic::Code::Aborted | tonic::Code::Unavailable => 1,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_travels_in_details_and_in_the_message() {
        let status = status_with_error_id(
            tonic::Code::AlreadyExists,
            "DUPLICATE_COMMAND",
            "A command with the given command id has already been successfully processed",
        );
        assert_eq!(status.code(), tonic::Code::AlreadyExists);
        assert!(status.message().starts_with("DUPLICATE_COMMAND(10,0): "));
        assert_eq!(error_id_of(&status).as_deref(), Some("DUPLICATE_COMMAND"));
    }

    #[test]
    fn an_id_is_read_from_the_message_alone_and_plain_messages_have_none() {
        let bare =
            tonic::Status::not_found("CONTRACT_NOT_FOUND(11,abc): Contract could not be found");
        assert_eq!(error_id_of(&bare).as_deref(), Some("CONTRACT_NOT_FOUND"));
        let plain = tonic::Status::unavailable("connection refused (os error 111)");
        assert_eq!(error_id_of(&plain), None);
    }
}
