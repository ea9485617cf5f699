//! The publishing room, shared by the gateway's broker sessions and the observer: an encoded egress message
//! becomes an AMQP message (`amqp_message.rs`), is published on a confirming channel, and its confirm is awaited and
//! counted the same way for both (`confirm.rs`); after a lost connection both wait by the one reconnect setting
//! (`reconnect.rs`). What is published, and when a delivery is settled, stays with the gateway and the observer.

mod amqp_message;
mod confirm;
mod reconnect;

pub use amqp_message::{amqp_message, now_secs};
pub use confirm::{Unconfirmed, confirmed};
pub use reconnect::reconnect_delay;
