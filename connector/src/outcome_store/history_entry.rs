//! One line of the run history: what became of one request (its names, Committed or Failure with the code, whether
//! the original was dead-lettered, when, how long it took), as the state store keeps it beside the outcomes.
//!
//! Entries are bounded: the requestId is kept whole (it is the key a lookup uses; `limits.max_request_id_bytes`
//! bounds it, as it bounds the outcome store's own keys), the workflow and function names, which the sender chooses
//! freely, are cut to [`MAX_NAME_BYTES`].
//!
//! Stored as `[1]` followed by the postcard encoding of [`HistoryEntry`]; the version byte lets a later layout be
//! told apart.

use serde::{Deserialize, Serialize};

/// The most bytes of a workflow or function name a history entry keeps (cut at a character boundary).
pub const MAX_NAME_BYTES: usize = 128;

const VERSION_1: u8 = 1;

/// How a request ended, as the history and the lookup name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestOutcome {
    /// Answered without a Failure: a committed create or action, or a read answered with the contract.
    Committed,
    Failure,
}

impl RequestOutcome {
    /// The name the JSON documents use.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Committed => "Committed",
            RequestOutcome::Failure => "Failure",
        }
    }
}

/// What the history remembers of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub request_id: String,
    /// The ingress `messageName` when the message could be parsed.
    pub message_name: Option<String>,
    pub workflow: Option<String>,
    /// The workflow function an action called.
    pub function: Option<String>,
    pub outcome: RequestOutcome,
    /// Present for a Failure.
    pub error_code: Option<u16>,
    /// The original went to the dead-letter queue and no outcome was recorded (5030, 5000, a malformed message).
    pub dead_lettered: bool,
    /// When the gateway finished it (unix milliseconds).
    pub processed_at_ms: u64,
    /// From the delivery's arrival until its egress was confirmed by the broker.
    pub latency_ms: Option<u64>,
}

impl HistoryEntry {
    /// The entry's names cut to their bounds (see [`MAX_NAME_BYTES`]).
    pub fn bounded(mut self) -> Self {
        for text in [
            &mut self.workflow,
            &mut self.function,
            &mut self.message_name,
        ]
        .into_iter()
        .flatten()
        {
            cut_at_char_boundary(text, MAX_NAME_BYTES);
        }
        self
    }

    /// The code the time index keeps beside each entry, so a filtered listing needs no decoding: the error code,
    /// or 0 for Committed.
    pub fn index_code(&self) -> u16 {
        match self.outcome {
            RequestOutcome::Committed => 0,
            RequestOutcome::Failure => self.error_code.unwrap_or(u16::MAX),
        }
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION_1];
        // Encoding plain strings, options, numbers and a unit enum into a Vec cannot fail.
        if let Ok(body) = postcard::to_allocvec(self) {
            out.extend_from_slice(&body);
        }
        out
    }

    /// Reads the stored form; none when it is not one this version knows.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [VERSION_1, body @ ..] => postcard::from_bytes(body).ok(),
            _ => None,
        }
    }
}

fn cut_at_char_boundary(text: &mut String, max_bytes: usize) {
    if text.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> HistoryEntry {
        HistoryEntry {
            request_id: "r/1 \u{202e}".into(),
            message_name: Some("CreateContractActionRequest".into()),
            workflow: Some("RefrigeratedTransportation".into()),
            function: Some("IngestTelemetry".into()),
            outcome: RequestOutcome::Failure,
            error_code: Some(4090),
            dead_lettered: false,
            processed_at_ms: 1_796_013_563_123,
            latency_ms: Some(12),
        }
    }

    #[test]
    fn entries_round_trip_and_unknown_bytes_are_refused() {
        let bytes = entry().encode();
        assert_eq!(HistoryEntry::decode(&bytes), Some(entry()));
        assert_eq!(HistoryEntry::decode(&[]), None);
        assert_eq!(HistoryEntry::decode(&[9, 1, 2]), None);
        assert_eq!(HistoryEntry::decode(&bytes[..bytes.len() / 2]), None);
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut long = entry();
        long.workflow = Some("é".repeat(200));
        long.function = Some("f".repeat(MAX_NAME_BYTES));
        let bounded = long.bounded();
        let workflow = bounded.workflow.unwrap_or_default();
        assert_eq!(workflow.len(), MAX_NAME_BYTES, "64 two-byte characters");
        assert!(workflow.chars().all(|c| c == 'é'));
        assert_eq!(bounded.function.map(|f| f.len()), Some(MAX_NAME_BYTES));
        assert_eq!(bounded.request_id, "r/1 \u{202e}", "the key is kept whole");
    }
}
