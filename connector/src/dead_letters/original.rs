//! The original a dead letter holds, addressed to the ingress queue again.
//!
//! The AMQP `user_id` is not carried over: RabbitMQ refuses a `user_id` other than the publishing connection's user,
//! and the gateway's own dead-letter copies carry none. A replayed letter arrives as published by no named user.

use amqp_transport::{DeadLetter, OutgoingMessage};

use super::letter_summary::original_message_id;

/// Headers the dead-lettering added; a replayed original goes out without them.
const DEAD_LETTER_HEADERS: [&str; 4] = [
    "x-error-code",
    "x-error-reason",
    "x-original-queue",
    "x-original-message-id",
];

/// The letter's original, to the ingress queue through the default exchange, as `connector send` publishes.
pub fn original(letter: &DeadLetter, ingress_queue: &str) -> OutgoingMessage {
    let d = &letter.delivery;
    let headers = d
        .headers
        .iter()
        .filter(|(k, _)| !DEAD_LETTER_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    OutgoingMessage {
        exchange: String::new(),
        routing_key: ingress_queue.to_owned(),
        body: d.body.clone(),
        // Too long a value is left out of its property by the transport, never handed to the AMQP library.
        message_id: original_message_id(letter).unwrap_or_default(),
        correlation_id: d.correlation_id.clone(),
        message_type: None,
        reply_to: d.reply_to.clone(),
        // The gateway's copy is stamped when it was dead-lettered, which is not the original's time; a letter the
        // broker moved itself keeps the original's timestamp.
        timestamp_secs: if d.headers.contains_key("x-error-code") {
            0
        } else {
            letter.timestamp_secs.unwrap_or(0)
        },
        headers,
    }
}
