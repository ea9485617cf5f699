//! An encoded egress message as the AMQP message it is published as: the same properties whether the gateway
//! answers a request or the observer reports a ledger transaction, so consumers see one shape.

use std::time::{SystemTime, UNIX_EPOCH};

use amqp_transport::OutgoingMessage;

use crate::encoded_egress::EncodedEgress;

/// `egress` published to `exchange` under `routing_key` (the egress exchange and the message's own routing key,
/// or the default exchange and a `reply_to` queue for a reply copy). The type is always the message's name; the
/// correlation id is the request it answers, when it answers one.
pub fn amqp_message(
    exchange: &str,
    routing_key: &str,
    egress: &EncodedEgress,
    timestamp_secs: u64,
) -> OutgoingMessage {
    OutgoingMessage {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        body: egress.body.clone(),
        message_id: egress.message_id.clone(),
        correlation_id: egress.request_id.clone(),
        message_type: Some(egress.routing_key.clone()),
        reply_to: None,
        timestamp_secs,
        headers: Default::default(),
    }
}

/// The AMQP timestamp for a message published now (seconds since the Unix epoch; 0 on a clock before it).
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
