//! The benchmark's own broker client: declares a side's topology exactly as the gateway does, preloads requests,
//! publishes single requests for the latency phase, reads queue depths and deletes everything afterwards.

use amqp_transport::{AmqpSession, AmqpSettings};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};

use crate::error::BenchError;
use crate::topology::Names;
use crate::workload::Request;

/// Confirms awaited at once while preloading: enough to keep the broker busy, bounded in memory.
const PRELOAD_WINDOW: usize = 2_000;

/// A connection with a confirming publisher channel.
pub struct Broker {
    connection: Connection,
    publisher: Channel,
}

impl Broker {
    /// Connects under a name the broker shows (`rabbitmqctl list_connections client_properties`).
    pub async fn connect(url: &str, name: &str) -> Result<Self, BenchError> {
        let connection = Connection::connect(
            url,
            ConnectionProperties::default().with_connection_name(LongString::from(name)),
        )
        .await
        .map_err(|e| {
            BenchError::broker(format!("connecting to {}", amqp_transport::redact(url)), e)
        })?;
        let publisher = connection
            .create_channel()
            .await
            .map_err(|e| BenchError::broker("opening the publisher channel", e))?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| BenchError::broker("enabling publisher confirms", e))?;
        Ok(Self {
            connection,
            publisher,
        })
    }

    /// Declares the side's ingress queue, exchanges and dead-letter queue through the gateway's own transport (so
    /// queue type and arguments are the gateway's), then the capture queue bound to the egress exchange with `#`.
    pub async fn declare(&self, settings: &AmqpSettings, names: &Names) -> Result<(), BenchError> {
        let mut declaring = settings.clone();
        declaring.connection_name = Some(format!("{}-declare", names.connection_name));
        // The benchmark counts egress from its capture queue; the gateway's default egress queue would store every
        // egress message a second time (halving both sides' rates) and outlive the run.
        declaring.egress_queue = Some("none".to_owned());
        let session = AmqpSession::connect(&declaring)
            .await
            .map_err(|e| BenchError::Topology {
                side: names.connection_name.clone(),
                message: e.to_string(),
            })?;
        let _ = session.close().await;
        self.publisher
            .queue_declare(
                names.capture_queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| BenchError::broker(format!("declaring {}", names.capture_queue), e))?;
        self.publisher
            .queue_bind(
                names.capture_queue.as_str().into(),
                names.egress_exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| BenchError::broker(format!("binding {}", names.capture_queue), e))?;
        Ok(())
    }

    /// Publishes every request to `queue` (persistent, confirmed) and waits for all confirms.
    pub async fn preload(&self, queue: &str, requests: &[Request]) -> Result<(), BenchError> {
        for window in requests.chunks(PRELOAD_WINDOW) {
            let mut confirms = Vec::with_capacity(window.len());
            for request in window {
                confirms.push(self.publish(queue, request).await?);
            }
            for confirm in confirms {
                confirm
                    .await
                    .map_err(|e| BenchError::broker(format!("preloading {queue}"), e))?;
            }
        }
        Ok(())
    }

    /// Publishes one request to `queue` (persistent) and returns its pending confirm.
    pub async fn publish(
        &self,
        queue: &str,
        request: &Request,
    ) -> Result<PublisherConfirm, BenchError> {
        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into());
        if let Some(id) = &request.request_id {
            properties = properties.with_message_id(id.as_str().into());
        }
        self.publisher
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                &request.body,
                properties,
            )
            .await
            .map_err(|e| BenchError::broker(format!("publishing to {queue}"), e))
    }

    /// Messages ready in `queue` (a passive declare on a channel of its own, since a failed one closes it).
    pub async fn message_count(&self, queue: &str) -> Result<u32, BenchError> {
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| BenchError::broker("opening a channel", e))?;
        let declared = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| BenchError::broker(format!("reading the depth of {queue}"), e));
        let _ = channel.close(200, "done".into()).await;
        Ok(declared?.message_count())
    }

    /// Deletes a side's queues and exchanges (best effort: a name that is already gone is fine).
    pub async fn delete(&self, names: &Names) {
        for queue in names.queues() {
            if let Ok(channel) = self.connection.create_channel().await {
                let _ = channel
                    .queue_delete(queue.into(), QueueDeleteOptions::default())
                    .await;
                let _ = channel.close(200, "done".into()).await;
            }
        }
        for exchange in names.exchanges() {
            if let Ok(channel) = self.connection.create_channel().await {
                let _ = channel
                    .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                    .await;
                let _ = channel.close(200, "done".into()).await;
            }
        }
    }

    /// Deletes one queue (best effort: a queue that is already gone is fine).
    pub async fn delete_queue(&self, queue: &str) {
        if let Ok(channel) = self.connection.create_channel().await {
            let _ = channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await;
            let _ = channel.close(200, "done".into()).await;
        }
    }

    /// Closes the connection.
    pub async fn close(&self) {
        let _ = self.connection.close(200, "benchmark done".into()).await;
    }
}

/// A connection of its own consuming `queue` without acks (the broker forgets each message once delivered), for the
/// bench's listeners on egress. `role` names the connection and consumer (`<name>-<role>`) and the errors.
pub async fn consume_without_acks(
    url: &str,
    queue: &str,
    name: &str,
    role: &str,
) -> Result<(Connection, lapin::Consumer), BenchError> {
    let tag = format!("{name}-{role}");
    let connection = Connection::connect(
        url,
        ConnectionProperties::default().with_connection_name(LongString::from(tag.clone())),
    )
    .await
    .map_err(|e| BenchError::broker(format!("connecting the {role}"), e))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| BenchError::broker(format!("opening the {role}'s channel"), e))?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            tag.as_str().into(),
            lapin::options::BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| BenchError::broker(format!("consuming {queue}"), e))?;
    Ok((connection, consumer))
}
