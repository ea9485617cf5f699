//! Requests being processed, by requestId, so a second copy of a request waits for the first one's outcome.
//!
//! With pipelining, a request's outcome is recorded only after its transaction is durable, while the next requests
//! are already being mapped. A copy of the same request arriving meanwhile would find no outcome, and would be mapped
//! against a contract index that already holds the first copy's effect (the ledger would deduplicate the command, but
//! the egress would describe the wrong prior contract). So the copy waits here, then finds the recorded outcome and
//! replays it byte for byte.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

type Entries = Arc<Mutex<HashMap<String, watch::Receiver<()>>>>;

/// The requestIds currently being processed.
#[derive(Default)]
pub struct InFlight {
    entries: Entries,
}

/// Held while a request is processed; dropping it lets a waiting copy of the same request go on.
pub struct InFlightGuard {
    entries: Entries,
    request_id: String,
    /// The waiters' receivers report a change (an error) once this, the only sender, is dropped.
    _done: watch::Sender<()>,
}

fn lock(entries: &Entries) -> MutexGuard<'_, HashMap<String, watch::Receiver<()>>> {
    // A poisoned lock only means another task panicked while editing a plain map; the map is still usable.
    entries.lock().unwrap_or_else(|e| e.into_inner())
}

impl InFlight {
    /// Registers `request_id`, first waiting until no earlier copy of it is in flight.
    pub async fn enter(&self, request_id: &str) -> InFlightGuard {
        loop {
            let mut earlier = {
                let mut entries = lock(&self.entries);
                match entries.get(request_id) {
                    Some(receiver) => receiver.clone(),
                    None => {
                        let (done, receiver) = watch::channel(());
                        entries.insert(request_id.to_owned(), receiver);
                        return InFlightGuard {
                            entries: Arc::clone(&self.entries),
                            request_id: request_id.to_owned(),
                            _done: done,
                        };
                    }
                }
            };
            // Nothing is ever sent: this resolves (with an error) when the earlier guard is dropped.
            let _ = earlier.changed().await;
        }
    }

    /// How many requests are in flight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether no request is in flight.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        lock(&self.entries).remove(&self.request_id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_copy_waits_for_the_first_and_other_requests_do_not() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.enter("r1").await;
        let other = tokio::time::timeout(Duration::from_millis(100), in_flight.enter("r2")).await;
        assert!(other.is_ok(), "another request id does not wait");
        let copy = {
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move { in_flight.enter("r1").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !copy.is_finished(),
            "the copy waits while the first is in flight"
        );
        drop(first);
        let copy = tokio::time::timeout(Duration::from_secs(1), copy)
            .await
            .expect("the copy goes on once the first is done")
            .expect("task");
        assert_eq!(in_flight.len(), 2, "r1 (the copy) and r2");
        drop(copy);
        drop(other);
        assert!(in_flight.is_empty());
    }
}
