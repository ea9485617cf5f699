//! Names of the Prometheus metrics the gateway exports, in one place so the HTTP docs and tests agree with the code.

/// Ingress messages by `message_name` and `outcome` (completed, replayed, malformed, exhausted, poisoned).
pub const INGRESS_MESSAGES: &str = "connector_ingress_messages_total";
/// Egress messages published and confirmed, by `message_name` (the routing key).
pub const EGRESS_MESSAGES: &str = "connector_egress_messages_total";
/// Egress messages the broker returned as unroutable, by `message_name`.
pub const EGRESS_UNROUTABLE: &str = "connector_egress_unroutable_total";
/// Seconds from delivery to ack, per message.
pub const PROCESSING_SECONDS: &str = "connector_processing_seconds";
/// Retries of transient ledger faults.
pub const LEDGER_RETRIES: &str = "connector_ledger_retries_total";
/// Originals sent to the dead-letter exchange, by `reason` (malformed, exhausted, poisoned).
pub const DEAD_LETTERS: &str = "connector_dead_letters_total";
/// Broker reconnections.
pub const RECONNECTS: &str = "connector_broker_reconnects_total";
/// Messages the ledger observer published.
pub const OBSERVER_MESSAGES: &str = "connector_observer_messages_total";
/// Ledger end minus the observer's confirmed checkpoint.
pub const OBSERVER_LAG: &str = "connector_observer_offset_lag";
/// Copies of egress for a request's `reply_to` that were not delivered, by `reason` (not_allowed, unroutable,
/// nacked, channel_failed).
pub const REPLY_COPIES_DROPPED: &str = "connector_reply_copies_dropped_total";
/// Panics caught at a delivery's boundary (the delivery got Failure 5000).
pub const PANICS_CAUGHT: &str = "connector_panics_caught_total";
/// Outcomes removed because they were older than `state.outcome_retention`.
pub const OUTCOMES_EXPIRED: &str = "connector_outcomes_expired_total";
/// Outcomes the state store keeps, as of the last sweep.
pub const OUTCOMES_KEPT: &str = "connector_outcomes_kept";
/// Failure egress published for a request's outcome, by `code` (the spec's fixed set: 4000, 4030, 4040, 4090, 4220,
/// 5000, 5030). Counted once, when the outcome is decided; a replayed outcome is not counted again.
pub const FAILURES: &str = "connector_failures_total";
/// 1 while the gateway is ready (`/readyz` 200: broker and ledger connected, consuming), else 0.
pub const READY: &str = "connector_ready";
/// 1 while a broker session is up, else 0.
pub const BROKER_CONNECTED: &str = "connector_broker_connected";
/// 1 while the ledger is reachable and accepts the gateway's credentials, else 0.
pub const LEDGER_CONNECTED: &str = "connector_ledger_connected";
/// Gauge: 1 while this instance is the active consumer of the ingress queue (it has received a delivery since it
/// began consuming), else 0 (see `roles.rs`).
pub const CONSUMER_ACTIVE: &str = "connector_consumer_active";
/// Gauge: 1 while this instance publishes observer egress, else 0.
pub const OBSERVER_LEADER: &str = "connector_observer_leader";
