//! The requestIds of deliveries the gateway has begun and not yet settled, for the request lookup's `in_flight`
//! state. An entry is held from the moment the delivery's body is parsed until the delivery is acked,
//! dead-lettered or given back to the broker (its [`InFlightEntry`] is dropped with the delivery's settling
//! record, or with the session). A session holds at most `amqp.prefetch` deliveries, so the registry holds at most
//! that many requestIds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// requestId → deliveries of it in flight (a copy of a request may arrive while the first is still processed).
type Counts = HashMap<String, u32>;

/// The registry, shared by the sessions and the HTTP lookup.
#[derive(Debug, Default, Clone)]
pub struct InFlightRequests {
    counts: Arc<Mutex<Counts>>,
}

/// One delivery's place in the registry; dropping it takes the delivery out.
#[derive(Debug)]
pub struct InFlightEntry {
    counts: Arc<Mutex<Counts>>,
    request_id: String,
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    // A poisoned lock only means a panic elsewhere while a plain map was edited; the map is still usable.
    counts.lock().unwrap_or_else(|e| e.into_inner())
}

impl InFlightRequests {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a delivery of `request_id` until the returned entry is dropped.
    pub fn enter(&self, request_id: &str) -> InFlightEntry {
        *lock(&self.counts).entry(request_id.to_owned()).or_default() += 1;
        InFlightEntry {
            counts: Arc::clone(&self.counts),
            request_id: request_id.to_owned(),
        }
    }

    /// Whether a delivery of `request_id` is in flight.
    pub fn contains(&self, request_id: &str) -> bool {
        lock(&self.counts).contains_key(request_id)
    }

    /// How many distinct requestIds are in flight.
    pub fn len(&self) -> usize {
        lock(&self.counts).len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for InFlightEntry {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.request_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.request_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_held_until_its_last_delivery_is_dropped() {
        let registry = InFlightRequests::new();
        let first = registry.enter("r/1");
        let copy = registry.enter("r/1");
        assert!(registry.contains("r/1"));
        drop(first);
        assert!(registry.contains("r/1"), "the copy is still in flight");
        drop(copy);
        assert!(!registry.contains("r/1"));
        assert!(registry.is_empty(), "nothing left behind");
    }
}
