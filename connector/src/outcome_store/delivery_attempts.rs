//! How often a delivered message was begun without being settled: the gateway's memory of messages that keep
//! ending its session (a crash, a lost connection) so that, after `amqp.max_redeliveries`, such a message is
//! dead-lettered instead of processed again.
//!
//! Only deliveries the broker marks as redelivered are counted, each one just before it is processed (alone, so
//! that nothing else is in flight with it), and the count is durable before processing starts: a message that
//! brings the process down is counted even though nothing runs after it. A settled message's count is removed; a
//! session that ended for a reason outside the message (the broker refusing publishes, a halt) gives its count back.

use super::StoreError;

/// A message's identity across redeliveries: SHA-256 of its body (the broker keeps the body as published).
pub type DeliveryKey = [u8; 32];

/// The key of a body.
pub fn delivery_key(body: &[u8]) -> DeliveryKey {
    use sha2::Digest;
    sha2::Sha256::digest(body).into()
}

/// Where attempt counts are kept.
pub trait DeliveryAttempts: Send + Sync {
    /// Counts one more attempt at `key` and returns the count, durable before this returns.
    fn begin_attempt(&self, key: &DeliveryKey) -> Result<u32, StoreError>;
    /// Gives back one attempt (the session ended for a reason outside the message), durably.
    fn forgive_attempt(&self, key: &DeliveryKey) -> Result<(), StoreError>;
    /// Forgets `key`: its message was settled. Durable with the next outcome flush.
    fn settled(&self, key: &DeliveryKey) -> Result<(), StoreError>;
}
