//! One consumed message as the gateway sees it, and the handle that settles it later on the channel it came from.

use std::collections::BTreeMap;

use futures::stream::BoxStream;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::AMQPValue;

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

fn text(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::ShortInt(i) => i.to_string(),
        AMQPValue::LongUInt(i) => i.to_string(),
        AMQPValue::ShortShortInt(i) => i.to_string(),
        AMQPValue::ShortShortUInt(i) => i.to_string(),
        AMQPValue::ShortUInt(i) => i.to_string(),
        AMQPValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

pub(crate) fn to_delivery(delivery: lapin::message::Delivery, generation: u64) -> IngressDelivery {
    let props = &delivery.properties;
    let headers = props
        .headers()
        .as_ref()
        .map(|t| {
            t.inner()
                .iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect()
        })
        .unwrap_or_default();
    IngressDelivery {
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
    }
}
