//! The baseline: a bare lapin relay that does what the broker side of the gateway does and nothing else.
//!
//! For each delivery it parses the body as JSON, decides from the message name and required fields what the
//! gateway would answer (`workload::classify`), publishes that many persistent, `mandatory`, confirmed egress
//! messages of the gateway's typical sizes to the egress exchange (and the original to the dead-letter exchange for a
//! malformed one), and acks the delivery only after its confirms, in delivery order — the gateway's pipeline without
//! the mapping, the ledger and the outcome store. Same prefetch, same queue type, same topology as the gateway.

use std::time::{SystemTime, UNIX_EPOCH};

use amqp_transport::AmqpSettings;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::BenchError;
use crate::workload::{RequestKind, classify};

/// A running relay.
pub struct Relay {
    connection: Connection,
    reader: JoinHandle<()>,
    acker: JoinHandle<()>,
}

/// Body sizes in bytes of the gateway's egress for each kind, in routing-key order, as `connector process` writes
/// them for the example mapping (Submitted, Committed, [EventMessage,] ContractMessage; the read's ContractMessage;
/// a Failure), so the relay moves as many bytes through the broker as the gateway does.
fn egress_sizes(kind: RequestKind) -> &'static [usize] {
    match kind {
        RequestKind::Create => &[306, 306, 1372],
        RequestKind::Action => &[303, 303, 782, 1564],
        RequestKind::Read => &[968],
        RequestKind::Malformed => &[270],
    }
}

/// One delivery's publishes, awaiting their confirms before the delivery is acked.
struct InFlight {
    delivery: Delivery,
    confirms: Vec<PublisherConfirm>,
}

impl Relay {
    /// Connects and starts relaying the side's ingress queue (its topology must be declared already).
    pub async fn start(settings: &AmqpSettings) -> Result<Self, BenchError> {
        let name = settings
            .connection_name
            .clone()
            .unwrap_or_else(|| "bench-relay".to_owned());
        let connection = Connection::connect(
            &settings.url,
            ConnectionProperties::default().with_connection_name(LongString::from(name.as_str())),
        )
        .await
        .map_err(|e| BenchError::broker("connecting the relay", e))?;
        let consumer_channel = connection
            .create_channel()
            .await
            .map_err(|e| BenchError::broker("opening the relay's consumer channel", e))?;
        let publisher = connection
            .create_channel()
            .await
            .map_err(|e| BenchError::broker("opening the relay's publisher channel", e))?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| BenchError::broker("enabling the relay's publisher confirms", e))?;
        consumer_channel
            .basic_qos(settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| BenchError::broker("setting the relay's prefetch", e))?;
        let consumer = consumer_channel
            .basic_consume(
                settings.ingress_queue.as_str().into(),
                format!("{name}-consumer").as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| BenchError::broker(format!("consuming {}", settings.ingress_queue), e))?;
        // Deliveries in flight are bounded by the prefetch; the channel only hands them to the acker in order.
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read(consumer, publisher, settings.clone(), tx));
        let acker = tokio::spawn(ack_in_order(rx));
        Ok(Self {
            connection,
            reader,
            acker,
        })
    }

    /// Whether the relay is still running (it stops when its channel fails).
    pub fn is_running(&self) -> bool {
        !self.reader.is_finished() && !self.acker.is_finished()
    }

    /// Stops relaying and closes the connection (unacked deliveries go back to the queue).
    pub async fn stop(self) {
        self.reader.abort();
        self.acker.abort();
        let _ = self.connection.close(200, "relay done".into()).await;
    }
}

async fn read(
    mut consumer: lapin::Consumer,
    publisher: Channel,
    settings: AmqpSettings,
    tx: mpsc::UnboundedSender<InFlight>,
) {
    while let Some(Ok(delivery)) = consumer.next().await {
        let Ok(confirms) = relay_one(&publisher, &settings, &delivery).await else {
            return;
        };
        if tx.send(InFlight { delivery, confirms }).is_err() {
            return;
        }
    }
}

/// Publishes what the gateway would for one delivery.
async fn relay_one(
    publisher: &Channel,
    settings: &AmqpSettings,
    delivery: &Delivery,
) -> Result<Vec<PublisherConfirm>, lapin::Error> {
    let (kind, request_id) = classify(&delivery.data);
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut confirms = Vec::with_capacity(kind.routing_keys().len() + 1);
    for (i, (routing_key, size)) in kind
        .routing_keys()
        .iter()
        .zip(egress_sizes(kind))
        .enumerate()
    {
        let mut body = serde_json::json!({
            "messageName": routing_key,
            "requestId": request_id,
            "relay": true,
        })
        .to_string()
        .into_bytes();
        // JSON allows trailing whitespace: pad to the gateway's size.
        body.resize((*size).max(body.len()), b' ');
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(
                format!("relay-{}-{i}", delivery.delivery_tag)
                    .as_str()
                    .into(),
            )
            .with_type((*routing_key).into())
            .with_timestamp(timestamp);
        if let Some(id) = &request_id {
            properties = properties.with_correlation_id(id.as_str().into());
        }
        confirms.push(
            publisher
                .basic_publish(
                    settings.egress_exchange.as_str().into(),
                    (*routing_key).into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &body,
                    properties,
                )
                .await?,
        );
    }
    if kind.dead_letters() > 0 {
        confirms.push(dead_letter(publisher, settings, delivery).await?);
    }
    Ok(confirms)
}

/// The original, with the gateway's reason headers, to the dead-letter exchange.
async fn dead_letter(
    publisher: &Channel,
    settings: &AmqpSettings,
    delivery: &Delivery,
) -> Result<PublisherConfirm, lapin::Error> {
    let mut headers = FieldTable::default();
    for (key, value) in [
        ("x-error-code", "4000"),
        ("x-error-reason", "malformed request"),
        ("x-original-queue", settings.ingress_queue.as_str()),
    ] {
        headers.insert(ShortString::from(key), AMQPValue::LongString(value.into()));
    }
    publisher
        .basic_publish(
            settings.dead_letter_exchange.as_str().into(),
            settings.ingress_queue.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            &delivery.data,
            BasicProperties::default()
                .with_content_type("application/json".into())
                .with_delivery_mode(2)
                .with_message_id(
                    format!("relay-dead-{}", delivery.delivery_tag)
                        .as_str()
                        .into(),
                )
                .with_type("DeadLetter".into())
                .with_headers(headers),
        )
        .await
}

/// Awaits each delivery's confirms in delivery order, then acks it.
async fn ack_in_order(mut rx: mpsc::UnboundedReceiver<InFlight>) {
    while let Some(in_flight) = rx.recv().await {
        for confirm in in_flight.confirms {
            if confirm.await.is_err() {
                return;
            }
        }
        if in_flight
            .delivery
            .ack(BasicAckOptions::default())
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_a_size_for_every_egress_message() {
        for kind in [
            RequestKind::Create,
            RequestKind::Action,
            RequestKind::Read,
            RequestKind::Malformed,
        ] {
            assert_eq!(egress_sizes(kind).len(), kind.routing_keys().len());
        }
    }
}
