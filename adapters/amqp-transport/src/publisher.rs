//! Confirmed, `mandatory` publishing: a message goes out at once and its broker confirm is awaited later, so many
//! can be in flight (pipelining).

use lapin::options::BasicPublishOptions;
use lapin::{Channel, Confirmation, PublisherConfirm};

use crate::error::TransportError;
use crate::outgoing_message::OutgoingMessage;
use crate::properties::{name, properties};

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

/// Publishes with confirms on one channel; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    pub(crate) fn new(channel: Channel) -> Self {
        Self { channel }
    }

    pub(crate) fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes persistent JSON with `mandatory`; returns at once with the pending confirm (pipelining). An
    /// exchange or routing key too long for AMQP is refused here, never handed to the AMQP library.
    pub async fn publish(
        &self,
        message: &OutgoingMessage,
    ) -> Result<PendingConfirm, TransportError> {
        let exchange = name("exchange name", &message.exchange)?;
        let routing_key = name("routing key", &message.routing_key)?;
        let confirm = self
            .channel
            .basic_publish(
                exchange,
                routing_key,
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
        self.publish(&OutgoingMessage {
            exchange: String::new(),
            routing_key: queue.to_owned(),
            body: body.to_vec(),
            message_id: message_id.to_owned(),
            correlation_id: correlation_id.map(str::to_owned),
            reply_to: reply_to.map(str::to_owned),
            ..Default::default()
        })
        .await
    }
}
