//! An egress message serialised once, with the routing key and the deterministic AMQP `message_id` it is published
//! under. The outcome store keeps these bytes, so a replayed outcome is byte-identical to the first publication.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use message_schema::egress::EgressMessage;

/// One egress message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedEgress {
    /// The routing key: the messageName, or `Failure` for failures that have none.
    pub routing_key: String,
    /// Same request (or same ledger update), same position ⇒ same id, so consumers can drop redeliveries.
    pub message_id: String,
    /// The request this answers, if any (observer messages have none).
    pub request_id: Option<String>,
    /// Compact JSON.
    pub body: Vec<u8>,
}

impl EncodedEgress {
    /// Encodes the `position`-th message of the outcome identified by `origin` (a request id or an update id).
    pub fn encode(message: &EgressMessage, origin: &str, position: usize) -> Self {
        let routing_key = message.message_name().to_owned();
        Self {
            message_id: message_id(origin, position, &routing_key),
            routing_key,
            request_id: message.request_id().map(str::to_owned),
            body: message.to_json_vec(),
        }
    }

    /// Encodes a whole outcome in order.
    pub fn encode_all(messages: &[EgressMessage], origin: &str) -> Vec<Self> {
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| Self::encode(m, origin, i))
            .collect()
    }

    /// The body as text (it is always UTF-8 JSON).
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

/// `<first 16 bytes of SHA-256(origin NUL position NUL routing key) in hex>`: stable across restarts and processes.
fn message_id(origin: &str, position: usize, routing_key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(origin.as_bytes());
    hasher.update([0]);
    hasher.update(position.to_string().as_bytes());
    hasher.update([0]);
    hasher.update(routing_key.as_bytes());
    let digest = hasher.finalize();
    message_schema::ids::lower_hex(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_deterministic_and_distinct() {
        let a = message_id("req-1", 0, "CreateContractUpdate");
        assert_eq!(a, message_id("req-1", 0, "CreateContractUpdate"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, message_id("req-1", 1, "CreateContractUpdate"));
        assert_ne!(a, message_id("req-2", 0, "CreateContractUpdate"));
        assert_ne!(a, message_id("req-1", 0, "ContractMessage"));
        // The separator keeps ("a1", 0) and ("a", 10) apart.
        assert_ne!(message_id("a1", 0, "x"), message_id("a", 10, "x"));
    }
}
