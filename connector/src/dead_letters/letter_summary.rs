//! What the person on call is told about one dead letter: its requestId when readable, why it was dead-lettered,
//! when, and its size.

use amqp_transport::DeadLetter;
use serde_json::{Value, json};

/// One letter, as `list` and `replay` report it.
#[derive(Debug, Clone)]
pub struct LetterSummary {
    pub request_id: Option<String>,
    pub error_code: Option<String>,
    pub error_reason: Option<String>,
    pub when_unix_seconds: Option<u64>,
    pub size_bytes: usize,
    pub message_id: Option<String>,
}

impl LetterSummary {
    pub fn of(letter: &DeadLetter) -> Self {
        let d = &letter.delivery;
        Self {
            request_id: request_id(&d.body),
            error_code: d.headers.get("x-error-code").cloned(),
            error_reason: d.headers.get("x-error-reason").cloned(),
            when_unix_seconds: letter.timestamp_secs.or(letter.death_time_secs),
            size_bytes: d.body.len(),
            message_id: original_message_id(letter),
        }
    }

    /// The letter as one JSON object, numbered by its position in the queue (1 = the head).
    pub fn to_json(&self, position: usize) -> Value {
        let code: Value = match self.error_code.as_deref().map(str::trim) {
            Some(c) => c
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(c)),
            None => Value::Null,
        };
        json!({
            "position": position,
            "requestId": self.request_id,
            "errorCode": code,
            "errorReason": self.error_reason,
            "whenUnixSeconds": self.when_unix_seconds,
            "sizeBytes": self.size_bytes,
            "messageId": self.message_id,
        })
    }
}

/// The body's `requestId` when the body is a JSON object with a string one; a sender's bad body is no error here.
fn request_id(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("requestId")?.as_str().map(str::to_owned)
}

/// The original's message id: the gateway's copy names it in a header; a letter the broker moved keeps its own.
pub(super) fn original_message_id(letter: &DeadLetter) -> Option<String> {
    let d = &letter.delivery;
    match d.headers.get("x-original-message-id") {
        Some(id) => Some(id.clone()),
        None if d.headers.contains_key("x-error-code") => None,
        None => d.message_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_read_leniently() {
        assert_eq!(request_id(br#"{"requestId":"r1"}"#).as_deref(), Some("r1"));
        assert_eq!(request_id(br#"{"requestId":7}"#), None);
        assert_eq!(request_id(b"\xff not json"), None);
        assert_eq!(request_id(b"[1,2]"), None);
    }
}
