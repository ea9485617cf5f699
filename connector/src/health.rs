//! Shared health state: what `/readyz`, `/status` and the logs report about the gateway's connections and work.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

use crate::metrics_names;
use crate::roles::{ConsumerRole, ObserverRole, Roles};

/// Connection states and counters, updated by the gateway tasks and read by the HTTP handlers.
#[derive(Debug, Default)]
pub struct Health {
    broker_connected: AtomicBool,
    ledger_connected: AtomicBool,
    consuming: AtomicBool,
    /// The state store is out of reach (a PostgreSQL server down); a local store never is. Kept negated so that a
    /// default `Health` needs no store to be ready.
    state_store_unavailable: AtomicBool,
    /// Counters mirrored from the metrics, for `/status` (Prometheus counters cannot be read back).
    pub ingress_total: AtomicU64,
    pub egress_total: AtomicU64,
    pub dead_letters_total: AtomicU64,
    pub reconnects_total: AtomicU64,
    pub replayed_total: AtomicU64,
    pub unroutable_total: AtomicU64,
    pub observer_offset: AtomicU64,
    /// The offset up to which the contract index holds every transaction (set by the index follower).
    pub index_offset: AtomicU64,
    /// The consumer and observer roles (`roles.rs`).
    roles: Roles,
    last_errors: Mutex<Vec<String>>,
    /// Held while a connection state changes and the gauges are set from it: two changes at once could otherwise
    /// set the gauges in the other order and leave them showing a state that no longer holds.
    gauge_order: Mutex<()>,
}

const LAST_ERRORS_KEPT: usize = 10;

/// A snapshot for `/status`.
#[derive(Debug, Serialize)]
pub struct HealthSnapshot {
    pub broker_connected: bool,
    pub ledger_connected: bool,
    pub consuming: bool,
    /// False while the state store (PostgreSQL) does not answer; `last_errors` says why.
    pub state_store_available: bool,
    pub ready: bool,
    pub ingress_total: u64,
    pub egress_total: u64,
    pub dead_letters_total: u64,
    pub reconnects_total: u64,
    pub replayed_total: u64,
    pub unroutable_total: u64,
    pub observer_offset: u64,
    pub index_offset: u64,
    pub consumer_role: ConsumerRole,
    pub observer_role: ObserverRole,
    pub last_errors: Vec<String>,
}

impl Health {
    /// The gateway's health, its gauges exported at once (all 0): a gateway that never reaches its broker or ledger
    /// is then seen as not ready, rather than not seen at all (an alert on `connector_ready == 0` needs the series).
    pub fn new() -> Self {
        let health = Self::default();
        health.export_gauges();
        health
    }

    /// Ready when connected to broker and ledger, the state store answers, and consuming.
    pub fn is_ready(&self) -> bool {
        self.broker_connected.load(Ordering::Acquire)
            && self.ledger_connected.load(Ordering::Acquire)
            && !self.state_store_unavailable.load(Ordering::Acquire)
            && self.consuming.load(Ordering::Acquire)
    }

    pub fn set_broker_connected(&self, v: bool) {
        self.set_state(&self.broker_connected, v);
    }

    pub fn set_ledger_connected(&self, v: bool) {
        self.set_state(&self.ledger_connected, v);
    }

    pub fn set_consuming(&self, v: bool) {
        self.set_state(&self.consuming, v);
    }

    /// The consumer role now.
    pub fn consumer_role(&self) -> ConsumerRole {
        self.roles.consumer()
    }

    /// The observer role now.
    pub fn observer_role(&self) -> ObserverRole {
        self.roles.observer()
    }

    /// Sets the consumer role (logged when it changes).
    pub fn set_consumer_role(&self, role: ConsumerRole) {
        let _order = self.gauge_order.lock().unwrap_or_else(|e| e.into_inner());
        let was = self.roles.set_consumer(role);
        if was != role {
            tracing::info!(role = ?role, was = ?was, "consumer role");
        }
        self.export_gauges();
    }

    /// Sets the observer role (logged when it changes).
    pub fn set_observer_role(&self, role: ObserverRole) {
        let _order = self.gauge_order.lock().unwrap_or_else(|e| e.into_inner());
        let was = self.roles.set_observer(role);
        if was != role {
            tracing::info!(role = ?role, was = ?was, "observer role");
        }
        self.export_gauges();
    }

    pub fn set_state_store_available(&self, v: bool) {
        self.set_state(&self.state_store_unavailable, !v);
    }

    fn set_state(&self, state: &AtomicBool, v: bool) {
        let _order = self.gauge_order.lock().unwrap_or_else(|e| e.into_inner());
        state.store(v, Ordering::Release);
        self.export_gauges();
    }

    fn export_gauges(&self) {
        let gauge = |on: bool| if on { 1.0 } else { 0.0 };
        metrics::gauge!(metrics_names::READY).set(gauge(self.is_ready()));
        metrics::gauge!(metrics_names::BROKER_CONNECTED)
            .set(gauge(self.broker_connected.load(Ordering::Acquire)));
        metrics::gauge!(metrics_names::LEDGER_CONNECTED)
            .set(gauge(self.ledger_connected.load(Ordering::Acquire)));
        metrics::gauge!(metrics_names::CONSUMER_ACTIVE)
            .set(gauge(self.roles.consumer() == ConsumerRole::Active));
        metrics::gauge!(metrics_names::OBSERVER_LEADER)
            .set(gauge(self.roles.observer() == ObserverRole::Leader));
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Remembers an error for `/status` (callers pass text without secrets).
    pub fn record_error(&self, error: impl Into<String>) {
        let mut errors = self.last_errors.lock().unwrap_or_else(|e| e.into_inner());
        errors.push(error.into());
        let excess = errors.len().saturating_sub(LAST_ERRORS_KEPT);
        errors.drain(..excess);
    }

    /// The current state.
    pub fn snapshot(&self) -> HealthSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HealthSnapshot {
            broker_connected: self.broker_connected.load(Ordering::Acquire),
            ledger_connected: self.ledger_connected.load(Ordering::Acquire),
            consuming: self.consuming.load(Ordering::Acquire),
            state_store_available: !self.state_store_unavailable.load(Ordering::Acquire),
            ready: self.is_ready(),
            ingress_total: load(&self.ingress_total),
            egress_total: load(&self.egress_total),
            dead_letters_total: load(&self.dead_letters_total),
            reconnects_total: load(&self.reconnects_total),
            replayed_total: load(&self.replayed_total),
            unroutable_total: load(&self.unroutable_total),
            observer_offset: load(&self.observer_offset),
            index_offset: load(&self.index_offset),
            consumer_role: self.roles.consumer(),
            observer_role: self.roles.observer(),
            last_errors: self
                .last_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    /// The value of an unlabelled series in Prometheus text.
    fn sample(text: &str, name: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    #[test]
    fn the_gauges_follow_every_connection_change() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let health = Health::new();
            let text = handle.render();
            assert_eq!(sample(&text, metrics_names::READY), Some(0.0), "{text}");
            assert_eq!(sample(&text, metrics_names::BROKER_CONNECTED), Some(0.0));
            assert_eq!(sample(&text, metrics_names::LEDGER_CONNECTED), Some(0.0));

            health.set_ledger_connected(true);
            health.set_broker_connected(true);
            let text = handle.render();
            assert_eq!(
                sample(&text, metrics_names::READY),
                Some(0.0),
                "not consuming yet"
            );
            assert_eq!(sample(&text, metrics_names::BROKER_CONNECTED), Some(1.0));
            assert_eq!(sample(&text, metrics_names::LEDGER_CONNECTED), Some(1.0));

            health.set_consuming(true);
            assert!(health.is_ready());
            assert_eq!(sample(&handle.render(), metrics_names::READY), Some(1.0));

            health.set_broker_connected(false);
            let text = handle.render();
            assert_eq!(sample(&text, metrics_names::READY), Some(0.0), "{text}");
            assert_eq!(sample(&text, metrics_names::BROKER_CONNECTED), Some(0.0));
            assert_eq!(sample(&text, metrics_names::LEDGER_CONNECTED), Some(1.0));
        });
    }

    #[test]
    fn the_role_gauges_exist_at_zero_and_follow_the_roles() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let health = Health::new();
            let text = handle.render();
            assert_eq!(
                sample(&text, metrics_names::CONSUMER_ACTIVE),
                Some(0.0),
                "{text}"
            );
            assert_eq!(
                sample(&text, metrics_names::OBSERVER_LEADER),
                Some(0.0),
                "{text}"
            );
            health.set_consumer_role(ConsumerRole::Standby);
            health.set_observer_role(ObserverRole::Follower);
            let text = handle.render();
            assert_eq!(sample(&text, metrics_names::CONSUMER_ACTIVE), Some(0.0));
            assert_eq!(sample(&text, metrics_names::OBSERVER_LEADER), Some(0.0));
            health.set_consumer_role(ConsumerRole::Active);
            health.set_observer_role(ObserverRole::Leader);
            let text = handle.render();
            assert_eq!(sample(&text, metrics_names::CONSUMER_ACTIVE), Some(1.0));
            assert_eq!(sample(&text, metrics_names::OBSERVER_LEADER), Some(1.0));
            let snapshot = serde_json::to_value(health.snapshot()).unwrap_or_default();
            assert_eq!(snapshot["consumer_role"], "active");
            assert_eq!(snapshot["observer_role"], "leader");
            health.set_observer_role(ObserverRole::Follower);
            assert_eq!(
                sample(&handle.render(), metrics_names::OBSERVER_LEADER),
                Some(0.0)
            );
        });
    }
}
