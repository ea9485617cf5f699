//! One broker connection with a consumer channel and a confirming publisher channel, the topology declared.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, LongString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::dead_letter_reader::DeadLetterReader;
use crate::declare_mismatch::{DeclaredObject, explain};
use crate::delivery::{IngressStream, to_delivery};
use crate::error::TransportError;
use crate::properties::name;
use crate::publisher::Publisher;
use crate::queue_arguments::{INGRESS_ARGUMENTS, dead_letter_queue_arguments, ingress_arguments};
use crate::reply::ReplyPublisher;
use crate::settings::AmqpSettings;

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A live broker session.
pub struct AmqpSession {
    connection: Arc<Connection>,
    consumer_channel: Channel,
    publisher: Publisher,
    replies: Arc<ReplyPublisher>,
    settings: AmqpSettings,
    generation: u64,
}

/// A refused declare (PRECONDITION_FAILED: the object exists with other arguments) is the operator's to fix, named
/// in config terms (`declare_mismatch.rs`); anything else is a lost connection, retried.
fn declare_error(object: &DeclaredObject<'_>, e: lapin::Error) -> TransportError {
    let text = e.to_string();
    if text.contains("PRECONDITION_FAILED") {
        TransportError::refused(explain(object, &text))
    } else {
        TransportError::lost(&format!("declaring {} {:?}", object.kind, object.name), e)
    }
}

/// An exchange or a binding: no argument of theirs comes from the config.
fn plain<'a>(kind: &'static str, name: &'a str, name_key: &'static str) -> DeclaredObject<'a> {
    DeclaredObject {
        kind,
        name,
        name_key,
        config_arguments: &[],
        other_remedy: None,
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
                let uri: lapin::uri::AMQPUri = settings.url.parse().map_err(|e: String| {
                    TransportError::refused(format!("amqp.url: {}", crate::redact::redact(&e)))
                })?;
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
        let connection = Arc::new(connection);
        let session = Self {
            replies: Arc::new(ReplyPublisher::new(Arc::clone(&connection))),
            connection,
            consumer_channel,
            publisher: Publisher::new(publish_channel),
            settings: settings.clone(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed) + 1,
        };
        session.declare_topology().await?;
        Ok(session)
    }

    async fn declare_topology(&self) -> Result<(), TransportError> {
        let s = &self.settings;
        let ch = self.publisher.channel();
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.exchange_declare(
            name("amqp.egress_exchange", &s.egress_exchange)?,
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            declare_error(
                &plain("exchange", &s.egress_exchange, "amqp.egress_exchange"),
                e,
            )
        })?;
        ch.exchange_declare(
            name("amqp.dead_letter_exchange", &s.dead_letter_exchange)?,
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            declare_error(
                &plain(
                    "exchange",
                    &s.dead_letter_exchange,
                    "amqp.dead_letter_exchange",
                ),
                e,
            )
        })?;
        let dlq = s.dead_letter_queue_name();
        let queue_options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.queue_declare(
            name("amqp.dead_letter_queue", &dlq)?,
            queue_options,
            dead_letter_queue_arguments(),
        )
        .await
        .map_err(|e| {
            declare_error(
                &DeclaredObject {
                    kind: "queue",
                    name: &dlq,
                    name_key: "amqp.dead_letter_queue",
                    config_arguments: &[],
                    other_remedy: Some(
                        "name another amqp.dead_letter_queue (it is always classic: `connector dead-letters` relies \
                         on a classic queue keeping the places of the letters it reads)",
                    ),
                },
                e,
            )
        })?;
        ch.queue_bind(
            name("amqp.dead_letter_queue", &dlq)?,
            name("amqp.dead_letter_exchange", &s.dead_letter_exchange)?,
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| {
            declare_error(
                &plain("binding of queue", &dlq, "amqp.dead_letter_queue"),
                e,
            )
        })?;
        if let Some(egress_queue) = s.egress_queue_name() {
            ch.queue_declare(
                name("amqp.egress_queue", &egress_queue)?,
                queue_options,
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                declare_error(
                    &DeclaredObject {
                        kind: "queue",
                        name: &egress_queue,
                        name_key: "amqp.egress_queue",
                        config_arguments: &[],
                        other_remedy: Some("set amqp.egress_queue: none and bind your own"),
                    },
                    e,
                )
            })?;
            ch.queue_bind(
                name("amqp.egress_queue", &egress_queue)?,
                name("amqp.egress_exchange", &s.egress_exchange)?,
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                declare_error(
                    &plain("binding of queue", &egress_queue, "amqp.egress_queue"),
                    e,
                )
            })?;
        }
        ch.queue_declare(
            name("amqp.ingress_queue", &s.ingress_queue)?,
            queue_options,
            ingress_arguments(s),
        )
        .await
        .map_err(|e| {
            declare_error(
                &DeclaredObject {
                    kind: "queue",
                    name: &s.ingress_queue,
                    name_key: "amqp.ingress_queue",
                    config_arguments: INGRESS_ARGUMENTS,
                    other_remedy: None,
                },
                e,
            )
        })?;
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
                name("amqp.ingress_queue", &self.settings.ingress_queue)?,
                name("consumer tag", consumer_tag)?,
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

    /// The best-effort publisher of reply copies, on a channel of its own.
    pub fn replies(&self) -> Arc<ReplyPublisher> {
        Arc::clone(&self.replies)
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
                name("queue name", queue)?,
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

    /// A reader of the dead-letter queue on a channel of its own (closing it returns what was read and not removed).
    pub async fn dead_letter_reader(&self) -> Result<DeadLetterReader, TransportError> {
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening a channel", e))?;
        Ok(DeadLetterReader::new(
            channel,
            self.settings.dead_letter_queue_name(),
            self.generation,
        ))
    }

    /// Whether the connection and both channels are up.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
            && self.consumer_channel.status().connected()
            && self.publisher.channel().status().connected()
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

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Publisher>();
    is::<Arc<AmqpSession>>();
}
