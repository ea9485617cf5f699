//! The dead-letter copy of an original: the same body and headers, plus headers saying why, routed by the ingress
//! queue's name to the dead-letter exchange.

use crate::delivery::IngressDelivery;
use crate::outgoing_message::OutgoingMessage;
use crate::settings::AmqpSettings;

/// The first 16 bytes of SHA-256 over `body`, in hex.
fn body_digest(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How much of a reason the `x-error-reason` header carries.
const REASON_CHARS: usize = 1000;

/// The dead-letter copy of `original`, with `x-error-code`, `x-error-reason`, `x-original-queue` and (when it had
/// one) `x-original-message-id`; its AMQP timestamp is `dead_lettered_at_secs`, so an operator can see when.
pub fn dead_letter_message(
    settings: &AmqpSettings,
    original: &IngressDelivery,
    error_code: u16,
    reason: &str,
    dead_lettered_at_secs: u64,
) -> OutgoingMessage {
    let mut headers = original.headers.clone();
    headers.insert("x-error-code".to_owned(), error_code.to_string());
    headers.insert(
        "x-error-reason".to_owned(),
        reason.chars().take(REASON_CHARS).collect(),
    );
    headers.insert(
        "x-original-queue".to_owned(),
        settings.ingress_queue.clone(),
    );
    if let Some(id) = &original.message_id {
        headers.insert("x-original-message-id".to_owned(), id.clone());
    }
    OutgoingMessage {
        exchange: settings.dead_letter_exchange.clone(),
        routing_key: settings.ingress_queue.clone(),
        body: original.body.clone(),
        // Deterministic, so the copies a redelivered original gets can be recognised as one dead letter.
        message_id: original
            .message_id
            .clone()
            .unwrap_or_else(|| format!("dead-{}", body_digest(&original.body))),
        correlation_id: original.correlation_id.clone(),
        message_type: Some("DeadLetter".to_owned()),
        reply_to: None,
        timestamp_secs: dead_lettered_at_secs,
        headers,
    }
}
