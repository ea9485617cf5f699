//! The message the gateway hands the transport to publish: body, ids, routing and headers, as plain values.
//!
//! It has a file of its own because both the publisher and the AMQP property builder need it, and the publisher
//! also needs the property builder; here neither has to import the other's module for it.

use std::collections::BTreeMap;

/// A message to publish.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub exchange: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub message_id: String,
    pub correlation_id: Option<String>,
    pub message_type: Option<String>,
    pub reply_to: Option<String>,
    pub timestamp_secs: u64,
    pub headers: BTreeMap<String, String>,
}
