//! AMQP 0-9-1 transport over RabbitMQ (lapin): the gateway's topology (durable ingress queue, topic egress exchange,
//! dead-letter exchange and queue), confirmed `mandatory` publishing, and manual-ack consuming with prefetch.
//!
//! Reconnection is the caller's loop: a session is one connection; when `closed()` fires, drop it and connect again.
//! Deliveries keep the acker of the channel they came from, so a stale delivery can never be acked on a new channel.

mod error;
mod session;
mod settings;

pub use error::TransportError;
pub use session::{
    AmqpSession, ConfirmOutcome, DeliveryAcker, IngressDelivery, IngressStream, OutgoingMessage,
    PendingConfirm, Publisher, dead_letter_message,
};
pub use settings::{AmqpSettings, QueueType, TlsSettings, redact};
