//! Best-effort copies of egress to the queue a request names in `reply_to`, on a channel of their own.
//!
//! A sender chooses the reply queue, so whatever the broker does with a copy (returns it as unroutable, nacks it
//! because the queue refuses publishes, or closes the channel over it) must never touch the channel that carries
//! the gateway's own egress and dead letters. The reply channel is opened when first needed and again after it
//! closed.

use std::sync::Arc;

use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection};
use tokio::sync::Mutex;

use crate::error::TransportError;
use crate::outgoing_message::OutgoingMessage;
use crate::publisher::{PendingConfirm, Publisher};

/// Publishes reply copies with confirms on a dedicated channel; share it behind an `Arc`.
pub struct ReplyPublisher {
    connection: Arc<Connection>,
    channel: Mutex<Option<Channel>>,
}

impl ReplyPublisher {
    pub(crate) fn new(connection: Arc<Connection>) -> Self {
        Self {
            connection,
            channel: Mutex::new(None),
        }
    }

    /// Publishes a copy; the confirm says what the broker did with it.
    pub async fn publish(
        &self,
        message: &OutgoingMessage,
    ) -> Result<PendingConfirm, TransportError> {
        let channel = self.open_channel().await?;
        Publisher::new(channel).publish(message).await
    }

    async fn open_channel(&self) -> Result<Channel, TransportError> {
        let mut slot = self.channel.lock().await;
        if let Some(channel) = slot.as_ref()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| TransportError::lost("opening the reply channel", e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| TransportError::lost("enabling confirms on the reply channel", e))?;
        *slot = Some(channel.clone());
        Ok(channel)
    }
}
