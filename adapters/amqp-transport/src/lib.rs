//! AMQP 0-9-1 transport over RabbitMQ (lapin): the gateway's topology (durable ingress queue, topic egress exchange,
//! dead-letter exchange and queue), confirmed `mandatory` publishing, and manual-ack consuming with prefetch.
//!
//! Nothing a sender controls reaches the AMQP library unchecked: short strings over 255 bytes are left out of their
//! property or refused (`properties.rs`), and reply copies go out on a channel of their own (`reply.rs`).
//!
//! Reconnection is the caller's loop: a session is one connection; when `closed()` fires, drop it and connect again.
//! Deliveries keep the acker of the channel they came from, so a stale delivery can never be acked on a new channel.

mod dead_letter;
mod dead_letter_reader;
mod declare_mismatch;
mod deep_values;
mod delivery;
mod error;
mod outgoing_message;
mod properties;
mod publisher;
mod queue_arguments;
mod redact;
mod reply;
mod session;
mod settings;

pub use dead_letter::dead_letter_message;
pub use dead_letter_reader::{DeadLetter, DeadLetterReader};
pub use delivery::{DeliveryAcker, IngressDelivery, IngressStream, header_depth, header_text};
pub use error::TransportError;
pub use outgoing_message::OutgoingMessage;
pub use properties::{SHORT_STRING_MAX_BYTES, short_string};
pub use publisher::{ConfirmOutcome, PendingConfirm, Publisher};
pub use redact::redact;
pub use reply::ReplyPublisher;
pub use session::AmqpSession;
pub use settings::{AmqpSettings, QueueType, ReplyToSettings, TlsSettings};
