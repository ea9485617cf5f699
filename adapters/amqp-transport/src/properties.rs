//! AMQP properties built from values a sender may control, without ever panicking.
//!
//! AMQP short strings (`correlation_id`, `message_id`, `type`, `reply_to`, header names, exchange names and routing
//! keys) hold at most 255 bytes, and the AMQP library panics when asked to encode a longer one. Every such value
//! passes through [`short_string`] first: a value that cannot be carried is left out of its property (the message
//! body still carries it), never handed on.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use crate::error::TransportError;
use crate::outgoing_message::OutgoingMessage;

/// The longest AMQP short string, in bytes.
pub const SHORT_STRING_MAX_BYTES: usize = 255;

/// `value` as a short string, or None when it is too long to be one.
pub fn short_string(value: &str) -> Option<ShortString> {
    ShortString::try_new(value).ok()
}

/// An exchange name or routing key for a publish, refused (not panicking) when it is too long.
pub(crate) fn name(what: &str, value: &str) -> Result<ShortString, TransportError> {
    short_string(value).ok_or_else(|| {
        TransportError::refused(format!(
            "{what} is {} bytes long (an AMQP short string holds at most {SHORT_STRING_MAX_BYTES})",
            value.len()
        ))
    })
}

/// The properties of an outgoing message: persistent JSON with its ids; every value that cannot be carried is left
/// out of its property.
pub(crate) fn properties(message: &OutgoingMessage) -> BasicProperties {
    let mut props = BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_delivery_mode(2)
        .with_timestamp(message.timestamp_secs);
    if let Some(id) = short_string(&message.message_id) {
        props = props.with_message_id(id);
    }
    if let Some(c) = message.correlation_id.as_deref().and_then(short_string) {
        props = props.with_correlation_id(c);
    }
    if let Some(t) = message.message_type.as_deref().and_then(short_string) {
        props = props.with_type(t);
    }
    if let Some(r) = message.reply_to.as_deref().and_then(short_string) {
        props = props.with_reply_to(r);
    }
    if !message.headers.is_empty() {
        let mut table = FieldTable::default();
        for (key, value) in &message.headers {
            if let Some(key) = short_string(key) {
                table.insert(
                    key,
                    AMQPValue::LongString(LongString::from(value.as_bytes())),
                );
            }
        }
        props = props.with_headers(table);
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(text: &str) -> OutgoingMessage {
        OutgoingMessage {
            exchange: String::new(),
            routing_key: "q".to_owned(),
            body: b"{}".to_vec(),
            message_id: text.to_owned(),
            correlation_id: Some(text.to_owned()),
            message_type: Some(text.to_owned()),
            reply_to: Some(text.to_owned()),
            timestamp_secs: 1,
            headers: [
                (text.to_owned(), text.to_owned()),
                ("k".to_owned(), "v".to_owned()),
            ]
            .into_iter()
            .collect(),
        }
    }

    /// Encodes the properties as the AMQP library does on publish (where an over-long short string panics).
    fn encode(props: &BasicProperties) -> Vec<u8> {
        use amq_protocol::frame::{AMQPContentHeader, AMQPFrame, WriteContext, gen_frame};
        let frame = AMQPFrame::Header(
            1,
            AMQPContentHeader {
                class_id: 60,
                body_size: 2,
                properties: props.clone(),
            },
        );
        gen_frame(&frame)(WriteContext::from(Vec::new()))
            .expect("properties encode")
            .write
    }

    #[test]
    fn values_that_fit_are_carried() {
        let props = properties(&outgoing("r-1"));
        assert_eq!(
            props.correlation_id().as_ref().map(|s| s.as_str()),
            Some("r-1")
        );
        assert_eq!(props.message_id().as_ref().map(|s| s.as_str()), Some("r-1"));
        assert_eq!(props.reply_to().as_ref().map(|s| s.as_str()), Some("r-1"));
        assert_eq!(props.headers().as_ref().map(|h| h.inner().len()), Some(2));
        assert!(!encode(&props).is_empty());
    }

    #[test]
    fn values_too_long_for_a_short_string_are_left_out_and_encoding_does_not_panic() {
        for long in ["x".repeat(256), "é".repeat(128), "🚚".repeat(64)] {
            let props = properties(&outgoing(&long));
            assert_eq!(props.correlation_id(), &None);
            assert_eq!(props.message_id(), &None);
            assert_eq!(props.kind(), &None);
            assert_eq!(props.reply_to(), &None);
            let headers = props.headers().as_ref().map(|h| h.inner().len());
            assert_eq!(headers, Some(1), "only the header whose name fits");
            assert!(!encode(&props).is_empty());
        }
        let at_limit = "y".repeat(SHORT_STRING_MAX_BYTES);
        let props = properties(&outgoing(&at_limit));
        assert_eq!(
            props.correlation_id().as_ref().map(|s| s.as_str().len()),
            Some(SHORT_STRING_MAX_BYTES)
        );
        assert!(!encode(&props).is_empty());
    }

    #[test]
    fn names_too_long_are_refused_not_panicking() {
        assert!(name("routing key", &"q".repeat(255)).is_ok());
        let e = name("routing key", &"q".repeat(256)).unwrap_err();
        assert!(e.message.contains("256 bytes"), "{}", e.message);
        assert!(!e.is_connection_lost());
    }
}
