//! One broker connection with a consumer channel and a confirming publisher channel, the topology declared.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    PublisherConfirm,
};

use crate::error::TransportError;
use crate::settings::{AmqpSettings, QueueType};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A live broker session.
pub struct AmqpSession {
    connection: Connection,
    consumer_channel: Channel,
    publisher: Publisher,
    settings: AmqpSettings,
    generation: u64,
}

/// Publishes with confirms; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

/// A message to publish.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub exchange: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub message_id: String,
    pub correlation_id: Option<String>,
    pub message_type: Option<String>,
    pub timestamp_secs: u64,
    pub headers: BTreeMap<String, String>,
}

/// What the broker said about a published message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Acked,
    /// Returned: no queue was bound for its routing key.
    Unroutable,
    Nacked,
}

/// A publish awaiting its confirm.
pub struct PendingConfirm {
    confirm: PublisherConfirm,
}

impl PendingConfirm {
    /// Waits for the broker's confirm.
    pub async fn wait(self) -> Result<ConfirmOutcome, TransportError> {
        match self.confirm.await {
            Ok(Confirmation::Ack(None)) => Ok(ConfirmOutcome::Acked),
            Ok(Confirmation::Ack(Some(_))) => Ok(ConfirmOutcome::Unroutable),
            Ok(Confirmation::Nack(_)) => Ok(ConfirmOutcome::Nacked),
            Ok(Confirmation::NotRequested) => Err(TransportError::refused(
                "publisher confirms are not enabled on this channel",
            )),
            Err(e) => Err(TransportError::lost("waiting for a publisher confirm", e)),
        }
    }
}

/// Acks one delivery, later and from any task.
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
}

/// One consumed message.
pub struct IngressDelivery {
    pub body: Vec<u8>,
    pub delivery_tag: u64,
    pub redelivered: bool,
    pub reply_to: Option<String>,
    pub correlation_id: Option<String>,
    pub message_id: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// The session it came from.
    pub generation: u64,
    acker: DeliveryAcker,
}

impl IngressDelivery {
    /// A handle that acks this delivery.
    pub fn acker(&self) -> DeliveryAcker {
        self.acker.clone()
    }

    /// Acks now.
    pub async fn ack(&self) -> Result<(), TransportError> {
        self.acker.ack().await
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
        AMQPValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn to_delivery(delivery: lapin::message::Delivery, generation: u64) -> IngressDelivery {
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

fn declare_error(what: &str, name: &str, e: lapin::Error) -> TransportError {
    let text = e.to_string();
    if text.contains("PRECONDITION_FAILED") {
        TransportError::refused(format!(
            "cannot declare {what} {name:?}: it already exists with different arguments ({}); delete it or make the \
             configuration match (queue_type, single_active_consumer, dead_letter_exchange)",
            text.trim()
        ))
    } else {
        TransportError::lost(&format!("declaring {what} {name:?}"), e)
    }
}

impl AmqpSession {
    /// Connects, opens the channels and declares the topology.
    pub async fn connect(settings: &AmqpSettings) -> Result<Self, TransportError> {
        let name = settings
            .connection_name
            .clone()
            .unwrap_or_else(|| "connector".to_owned());
        let properties =
            ConnectionProperties::default().with_connection_name(LongString::from(name.as_str()));
        let connection = match &settings.tls {
            None => Connection::connect(&settings.url, properties).await,
            Some(tls) => {
                let pem = std::fs::read_to_string(&tls.ca_file).map_err(|e| {
                    TransportError::refused(format!(
                        "amqp.tls.ca_file {}: {e}",
                        tls.ca_file.display()
                    ))
                })?;
                let config = lapin::tcp::OwnedTLSConfig {
                    identity: None,
                    cert_chain: Some(pem),
                };
                let runtime = lapin::runtime::default_runtime().map_err(|e| {
                    TransportError::refused(format!(
                        "no async runtime for the broker connection: {e}"
                    ))
                })?;
                let uri: lapin::uri::AMQPUri = settings
                    .url
                    .parse()
                    .map_err(|e: String| TransportError::refused(format!("amqp.url: {e}")))?;
                Connection::connect_uri_with_config(uri, properties, config, runtime).await
            }
        }
        .map_err(|e| {
            TransportError::lost(&format!("connecting to {}", settings.redacted_url()), e)
        })?;
        let consumer_channel = connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening a channel", e))?;
        let publish_channel = connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening a channel", e))?;
        publish_channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| TransportError::lost("enabling publisher confirms", e))?;
        let session = Self {
            connection,
            consumer_channel,
            publisher: Publisher {
                channel: publish_channel,
            },
            settings: settings.clone(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed) + 1,
        };
        session.declare_topology().await?;
        Ok(session)
    }

    async fn declare_topology(&self) -> Result<(), TransportError> {
        let s = &self.settings;
        let ch = &self.publisher.channel;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.exchange_declare(
            s.egress_exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| declare_error("exchange", &s.egress_exchange, e))?;
        ch.exchange_declare(
            s.dead_letter_exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| declare_error("exchange", &s.dead_letter_exchange, e))?;
        let dlq = s.dead_letter_queue_name();
        let queue_options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.queue_declare(dlq.as_str().into(), queue_options, FieldTable::default())
            .await
            .map_err(|e| declare_error("queue", &dlq, e))?;
        ch.queue_bind(
            dlq.as_str().into(),
            s.dead_letter_exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| declare_error("binding of queue", &dlq, e))?;
        let mut args = FieldTable::default();
        let queue_type = match s.queue_type {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
        };
        args.insert(
            ShortString::from("x-queue-type"),
            AMQPValue::LongString(queue_type.into()),
        );
        args.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(s.dead_letter_exchange.as_str().into()),
        );
        if s.single_active_consumer {
            args.insert(
                ShortString::from("x-single-active-consumer"),
                AMQPValue::Boolean(true),
            );
        }
        ch.queue_declare(s.ingress_queue.as_str().into(), queue_options, args)
            .await
            .map_err(|e| declare_error("queue", &s.ingress_queue, e))?;
        Ok(())
    }

    /// Starts consuming the ingress queue with manual acks and the configured prefetch.
    pub async fn consume(&self, consumer_tag: &str) -> Result<IngressStream, TransportError> {
        self.consumer_channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| TransportError::lost("setting prefetch", e))?;
        let consumer = self
            .consumer_channel
            .basic_consume(
                self.settings.ingress_queue.as_str().into(),
                consumer_tag.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| TransportError::lost("starting the consumer", e))?;
        let generation = self.generation;
        Ok(consumer
            .map(move |d| {
                d.map(|d| to_delivery(d, generation))
                    .map_err(|e| TransportError::lost("consuming", e))
            })
            .boxed())
    }

    /// An exclusive, server-named reply queue and its (auto-ack) stream, for request/reply clients.
    pub async fn declare_reply_queue(&self) -> Result<(String, IngressStream), TransportError> {
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening a channel", e))?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| TransportError::lost("declaring a reply queue", e))?;
        let name = queue.name().to_string();
        let consumer = channel
            .basic_consume(
                name.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| TransportError::lost("consuming the reply queue", e))?;
        let generation = self.generation;
        let stream = consumer
            .map(move |d| {
                d.map(|d| to_delivery(d, generation))
                    .map_err(|e| TransportError::lost("consuming", e))
            })
            .boxed();
        Ok((name, stream))
    }

    /// The publisher of this session.
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Ready and consumer counts of a queue (passive declare).
    pub async fn queue_depth(&self, queue: &str) -> Result<(u32, u32), TransportError> {
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening a channel", e))?;
        let q = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| TransportError::refused(format!("queue {queue:?}: {e}")))?;
        let _ = channel.close(200, "done".into()).await;
        Ok((q.message_count(), q.consumer_count()))
    }

    /// Whether the connection and both channels are up.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
            && self.consumer_channel.status().connected()
            && self.publisher.channel.status().connected()
    }

    /// This session's number within the process (deliveries carry it).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Resolves when the connection or a channel is no longer usable.
    pub async fn closed(&self) {
        while self.is_connected() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Closes the connection cleanly (unacked deliveries return to the queue).
    pub async fn close(&self) -> Result<(), TransportError> {
        if !self.connection.status().connected() {
            return Ok(());
        }
        self.connection
            .close(200, "connector closing".into())
            .await
            .map_err(|e| TransportError::lost("closing the connection", e))
    }
}

fn properties(message: &OutgoingMessage) -> BasicProperties {
    let mut props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(message.message_id.as_str().into())
        .with_timestamp(message.timestamp_secs);
    if let Some(c) = &message.correlation_id {
        props = props.with_correlation_id(c.as_str().into());
    }
    if let Some(t) = &message.message_type {
        props = props.with_type(t.as_str().into());
    }
    if !message.headers.is_empty() {
        let mut table = FieldTable::default();
        for (k, v) in &message.headers {
            table.insert(
                ShortString::from(k.as_str()),
                AMQPValue::LongString(v.as_str().into()),
            );
        }
        props = props.with_headers(table);
    }
    props
}

impl Publisher {
    /// Publishes persistent JSON with `mandatory`; returns at once with the pending confirm (pipelining).
    pub async fn publish(
        &self,
        message: &OutgoingMessage,
    ) -> Result<PendingConfirm, TransportError> {
        let confirm = self
            .channel
            .basic_publish(
                message.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &message.body,
                properties(message),
            )
            .await
            .map_err(|e| TransportError::lost("publishing", e))?;
        Ok(PendingConfirm { confirm })
    }

    /// Publishes to a queue through the default exchange, optionally with `reply_to`.
    pub async fn publish_to_queue(
        &self,
        queue: &str,
        body: &[u8],
        message_id: &str,
        correlation_id: Option<&str>,
        reply_to: Option<&str>,
    ) -> Result<PendingConfirm, TransportError> {
        let message = OutgoingMessage {
            exchange: String::new(),
            routing_key: queue.to_owned(),
            body: body.to_vec(),
            message_id: message_id.to_owned(),
            correlation_id: correlation_id.map(str::to_owned),
            ..Default::default()
        };
        let mut props = properties(&message);
        if let Some(r) = reply_to {
            props = props.with_reply_to(r.into());
        }
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                props,
            )
            .await
            .map_err(|e| TransportError::lost("publishing", e))?;
        Ok(PendingConfirm { confirm })
    }
}

/// The dead-letter copy of an original: same body, headers saying why, routed by the ingress queue's name.
pub fn dead_letter_message(
    settings: &AmqpSettings,
    original: &IngressDelivery,
    error_code: u16,
    reason: &str,
) -> OutgoingMessage {
    let mut headers = original.headers.clone();
    headers.insert("x-error-code".to_owned(), error_code.to_string());
    headers.insert(
        "x-error-reason".to_owned(),
        reason.chars().take(1000).collect(),
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
        message_id: original
            .message_id
            .clone()
            .unwrap_or_else(|| format!("dead-{}-{}", original.generation, original.delivery_tag)),
        correlation_id: original.correlation_id.clone(),
        message_type: Some("DeadLetter".to_owned()),
        timestamp_secs: 0,
        headers,
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Publisher>();
    is::<Arc<AmqpSession>>();
}
