//! What every broker session shares: the processor, the state store, the broker settings, health, the ordering
//! and its bounds, the `reply_to` copier and the registry of requests in flight; handed to each delivery's work.

use std::sync::Arc;
use std::time::Duration;

use amqp_transport::AmqpSettings;

use super::in_flight_requests::InFlightRequests;
use super::reply_copies::ReplyCopies;
use crate::config::Ordering;
use crate::health::Health;
use crate::outcome_store::{DeliveryAttempts, OutcomeStore};
use crate::processor::Processor;

/// What a session needs.
#[derive(Clone)]
pub struct SessionContext {
    pub processor: Arc<Processor>,
    pub outcomes: Arc<dyn OutcomeStore>,
    pub attempts: Arc<dyn DeliveryAttempts>,
    pub settings: AmqpSettings,
    pub health: Arc<Health>,
    pub ordering: Ordering,
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight work before closing anyway.
    pub drain_timeout: Duration,
    pub reply_copies: Arc<ReplyCopies>,
    /// The requestIds of unsettled deliveries, for the request lookup.
    pub in_flight_requests: InFlightRequests,
}
