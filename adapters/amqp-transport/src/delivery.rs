//! One consumed message as the gateway sees it, and the handle that settles it later on the channel it came from.
//!
//! Headers are a sender's nested tables and arrays, which the AMQP library parses and drops recursively: one
//! nested a few thousand levels deep (a header frame holds up to ~26,000) overflows an ordinary thread's stack and
//! aborts the process, which the broker answers by redelivering the same message to the restarted gateway. So
//! headers are read here without recursion (their text is cut at [`HEADER_TEXT_DEPTH`] levels), and the properties
//! of a deeply nested message are dropped on a thread with a stack large enough for any frame
//! ([`deep_values::release`]). The parsing itself happens on lapin's I/O thread, which the binary starts with a
//! large stack (`RUST_MIN_STACK`, see the connector's `main`).

use std::collections::BTreeMap;

use futures::stream::BoxStream;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, FieldTable};

use crate::deep_values;

/// Nesting shown in a header's text; deeper levels are written `…`.
pub const HEADER_TEXT_DEPTH: usize = 8;

use crate::error::TransportError;

/// Settles one delivery, later and from any task.
#[derive(Clone)]
pub struct DeliveryAcker {
    acker: lapin::Acker,
    delivery_tag: u64,
    generation: u64,
}

impl DeliveryAcker {
    /// Acks the delivery on the channel it came from; a delivery of a dead channel cannot be acked (error).
    pub async fn ack(&self) -> Result<(), TransportError> {
        match self.acker.ack(BasicAckOptions::default()).await {
            Ok(_) => Ok(()),
            Err(e) => Err(TransportError::lost(
                &format!(
                    "ack of delivery {} (session {})",
                    self.delivery_tag, self.generation
                ),
                e,
            )),
        }
    }

    /// Rejects the delivery back onto the queue.
    pub async fn reject_requeue(&self) -> Result<(), TransportError> {
        self.acker
            .reject(BasicRejectOptions { requeue: true })
            .await
            .map(|_| ())
            .map_err(|e| TransportError::lost("reject", e))
    }

    /// Rejects the delivery without requeueing it, so the broker itself moves the original, unchanged, to the
    /// queue's dead-letter exchange (`x-death` says why): nothing is copied or re-published.
    pub async fn reject_to_dead_letters(&self) -> Result<(), TransportError> {
        self.acker
            .reject(BasicRejectOptions { requeue: false })
            .await
            .map(|_| ())
            .map_err(|e| {
                TransportError::lost(
                    &format!(
                        "reject of delivery {} (session {})",
                        self.delivery_tag, self.generation
                    ),
                    e,
                )
            })
    }
}

/// One consumed message.
pub struct IngressDelivery {
    pub body: Vec<u8>,
    pub delivery_tag: u64,
    /// The broker delivered it before and it was not acked.
    pub redelivered: bool,
    pub reply_to: Option<String>,
    pub correlation_id: Option<String>,
    pub message_id: Option<String>,
    /// The `user_id` property, which RabbitMQ checks against the publishing connection's user.
    pub user_id: Option<String>,
    /// Headers as text (nested tables and arrays in their debug form).
    pub headers: BTreeMap<String, String>,
    /// The session it came from.
    pub generation: u64,
    pub(crate) acker: DeliveryAcker,
}

impl IngressDelivery {
    /// A handle that settles this delivery.
    pub fn acker(&self) -> DeliveryAcker {
        self.acker.clone()
    }

    /// Acks now.
    pub async fn ack(&self) -> Result<(), TransportError> {
        self.acker.ack().await
    }

    /// How often a quorum queue handed this message out before (`x-delivery-count`); 0 when absent.
    pub fn delivery_count(&self) -> u64 {
        self.headers
            .get("x-delivery-count")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the broker says it delivered this message before without an ack.
    pub fn was_delivered_before(&self) -> bool {
        self.redelivered || self.delivery_count() > 0
    }
}

/// Deliveries, until the channel closes.
pub type IngressStream = BoxStream<'static, Result<IngressDelivery, TransportError>>;

/// A header value as text: scalars as themselves, tables and arrays in a JSON-like form cut at
/// [`HEADER_TEXT_DEPTH`] levels and at [`HEADER_TEXT_BYTES`] bytes (the recursion is bounded by the depth cut).
pub fn header_text(value: &AMQPValue) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    if out.len() > HEADER_TEXT_BYTES {
        let mut end = HEADER_TEXT_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push('…');
    }
    out
}

/// Longest header text kept (a 10 KB string header fits whole).
const HEADER_TEXT_BYTES: usize = 64 * 1024;

fn write_value(out: &mut String, value: &AMQPValue, depth: usize) {
    use std::fmt::Write;
    if out.len() > HEADER_TEXT_BYTES {
        return;
    }
    match value {
        AMQPValue::LongString(s) => out.push_str(&String::from_utf8_lossy(s.as_bytes())),
        AMQPValue::ShortString(s) => out.push_str(s.as_str()),
        AMQPValue::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        AMQPValue::ShortShortInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::ShortShortUInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::ShortInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::ShortUInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::LongInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::LongUInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::LongLongInt(i) => {
            let _ = write!(out, "{i}");
        }
        AMQPValue::Timestamp(t) => {
            let _ = write!(out, "{t}");
        }
        AMQPValue::FieldTable(_) | AMQPValue::FieldArray(_) if depth >= HEADER_TEXT_DEPTH => {
            out.push('…')
        }
        AMQPValue::FieldTable(table) => {
            out.push('{');
            for (i, (key, item)) in table.inner().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key.as_str());
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            out.push('}');
        }
        AMQPValue::FieldArray(items) => {
            out.push('[');
            for (i, item) in items.as_slice().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        // Floats, decimals, byte arrays and void: their debug form is flat.
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}

/// How deep the tables and arrays in `headers` nest, found without recursion.
pub fn header_depth(headers: &FieldTable) -> usize {
    let mut pending: Vec<(&AMQPValue, usize)> = headers.inner().values().map(|v| (v, 1)).collect();
    let mut deepest = 0;
    while let Some((value, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        match value {
            AMQPValue::FieldTable(table) => {
                pending.extend(table.inner().values().map(|v| (v, depth + 1)))
            }
            AMQPValue::FieldArray(items) => {
                pending.extend(items.as_slice().iter().map(|v| (v, depth + 1)))
            }
            _ => {}
        }
    }
    deepest
}

pub(crate) fn to_delivery(
    mut delivery: lapin::message::Delivery,
    generation: u64,
) -> IngressDelivery {
    let props = std::mem::take(&mut delivery.properties);
    let headers = props
        .headers()
        .as_ref()
        .map(|t| {
            t.inner()
                .iter()
                .map(|(k, v)| (k.to_string(), header_text(v)))
                .collect()
        })
        .unwrap_or_default();
    let ingress = IngressDelivery {
        delivery_tag: delivery.delivery_tag,
        redelivered: delivery.redelivered,
        reply_to: props.reply_to().as_ref().map(|s| s.to_string()),
        correlation_id: props.correlation_id().as_ref().map(|s| s.to_string()),
        message_id: props.message_id().as_ref().map(|s| s.to_string()),
        user_id: props.user_id().as_ref().map(|s| s.to_string()),
        headers,
        generation,
        acker: DeliveryAcker {
            acker: delivery.acker.clone(),
            delivery_tag: delivery.delivery_tag,
            generation,
        },
        body: delivery.data,
    };
    if props
        .headers()
        .as_ref()
        .is_some_and(|h| header_depth(h) > deep_values::SAFE_DEPTH)
    {
        deep_values::release(props);
    }
    ingress
}
