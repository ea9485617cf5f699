//! What a processor is told: who acts, how to retry, what a message may hold; and what the transport knows of a
//! message's sender.

use indexmap::IndexMap;
use message_schema::egress::LedgerInfo;
use message_schema::limits::Limits;

use crate::config::RetryConfig;
use crate::request_faults::RequestFaultPlan;

/// Who acts, and how to retry.
#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    /// The default acting party.
    pub party: String,
    /// When set, `userChainIdentifier` may name one of these parties to act as.
    pub allowed_request_parties: Option<Vec<String>>,
    /// When set, a message may act only as a party of its AMQP `user_id`'s list (broker user → parties).
    pub parties_by_amqp_user: Option<IndexMap<String, Vec<String>>>,
    pub retry: RetryConfig,
    pub info: LedgerInfo,
    /// What one message may hold.
    pub limits: Limits,
    /// Injected gateway faults (tests only).
    pub faults: Option<RequestFaultPlan>,
}

/// What the transport knows about a message beyond its body: who sent it, and whether it was delivered before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    /// The AMQP `user_id` property, which RabbitMQ checks against the publishing connection's user.
    pub amqp_user_id: Option<String>,
    /// The message may have been processed before (the broker redelivered it, or `connector process` reads a file
    /// that may repeat one): an action whose lineage is gone then asks the ledger whether it already committed.
    pub redelivered: bool,
}
