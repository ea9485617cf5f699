//! Awaiting one publisher confirm, the same for the gateway and the observer: acked is done; unroutable (no queue
//! bound for the message) is counted and logged but done, since the broker accepted it; nacked is the broker
//! refusing the gateway's egress (back-pressure, not the message's fault); an error is a lost channel.

use amqp_transport::{ConfirmOutcome, PendingConfirm};

use crate::health::Health;
use crate::metrics_names;

/// Why a published message was not confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unconfirmed {
    /// The broker nacked it (for example a full queue that rejects publishes).
    #[error("the broker refused (nacked) an egress message")]
    Refused,
    /// The channel failed before the confirm arrived.
    #[error("waiting for a publisher confirm: {0}")]
    Lost(String),
}

/// Waits for `confirm`; `routing_key` labels the unroutable count and log line (the message's routing key, or
/// `observer` for the observer's messages).
pub async fn confirmed(
    confirm: PendingConfirm,
    routing_key: &str,
    health: &Health,
) -> Result<(), Unconfirmed> {
    match confirm.wait().await {
        Ok(ConfirmOutcome::Acked) => Ok(()),
        Ok(ConfirmOutcome::Unroutable) => {
            tracing::warn!(
                routing_key,
                "egress was unroutable: no queue is bound for it"
            );
            metrics::counter!(metrics_names::EGRESS_UNROUTABLE, "message_name" => routing_key.to_owned())
                .increment(1);
            Health::bump(&health.unroutable_total, 1);
            Ok(())
        }
        Ok(ConfirmOutcome::Nacked) => Err(Unconfirmed::Refused),
        Err(e) => Err(Unconfirmed::Lost(e.to_string())),
    }
}
