//! Shared health state: what `/readyz`, `/status` and the logs report about the gateway's connections and work.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;

/// Connection states and counters, updated by the gateway tasks and read by the HTTP handlers.
#[derive(Debug, Default)]
pub struct Health {
    broker_connected: AtomicBool,
    ledger_connected: AtomicBool,
    consuming: AtomicBool,
    /// Counters mirrored from the metrics, for `/status` (Prometheus counters cannot be read back).
    pub ingress_total: AtomicU64,
    pub egress_total: AtomicU64,
    pub dead_letters_total: AtomicU64,
    pub reconnects_total: AtomicU64,
    pub replayed_total: AtomicU64,
    pub unroutable_total: AtomicU64,
    pub observer_offset: AtomicU64,
    last_errors: Mutex<Vec<String>>,
}

const LAST_ERRORS_KEPT: usize = 10;

/// A snapshot for `/status`.
#[derive(Debug, Serialize)]
pub struct HealthSnapshot {
    pub broker_connected: bool,
    pub ledger_connected: bool,
    pub consuming: bool,
    pub ready: bool,
    pub ingress_total: u64,
    pub egress_total: u64,
    pub dead_letters_total: u64,
    pub reconnects_total: u64,
    pub replayed_total: u64,
    pub unroutable_total: u64,
    pub observer_offset: u64,
    pub last_errors: Vec<String>,
}

impl Health {
    /// Ready when connected to broker and ledger and consuming.
    pub fn is_ready(&self) -> bool {
        self.broker_connected.load(Ordering::Acquire)
            && self.ledger_connected.load(Ordering::Acquire)
            && self.consuming.load(Ordering::Acquire)
    }

    pub fn set_broker_connected(&self, v: bool) {
        self.broker_connected.store(v, Ordering::Release);
    }

    pub fn set_ledger_connected(&self, v: bool) {
        self.ledger_connected.store(v, Ordering::Release);
    }

    pub fn set_consuming(&self, v: bool) {
        self.consuming.store(v, Ordering::Release);
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
            ready: self.is_ready(),
            ingress_total: load(&self.ingress_total),
            egress_total: load(&self.egress_total),
            dead_letters_total: load(&self.dead_letters_total),
            reconnects_total: load(&self.reconnects_total),
            replayed_total: load(&self.replayed_total),
            unroutable_total: load(&self.unroutable_total),
            observer_offset: load(&self.observer_offset),
            last_errors: self
                .last_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
