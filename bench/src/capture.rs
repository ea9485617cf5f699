//! Counts a side's egress as it arrives on the capture queue (bound to the egress exchange with `#`), and measures
//! each latency request from its publish to the arrival of its last (terminal) egress message.
//!
//! The consumer runs on a connection of its own with automatic acks, so counting costs the broker as little as a
//! consumer can. Arrival times are taken in the consumer task, so how often a waiter polls does not blur them. The
//! correlation ids are kept in arrival order, so the order each contract's requests were answered in can be checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::Connection;
use tokio::task::JoinHandle;

use crate::error::BenchError;

/// How often waiters look at the counts.
const POLL: Duration = Duration::from_millis(5);

/// A running egress counter.
pub struct Capture {
    state: Arc<Mutex<State>>,
    connection: Connection,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    count: u64,
    /// Correlation ids (request ids) of the egress since the last reset, in arrival order.
    arrivals: Vec<String>,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Latency requests still waiting for egress: request id → (published at, egress still to come).
    pending: HashMap<String, (Instant, u64)>,
    latencies: Vec<Duration>,
    failed: Option<String>,
}

/// Egress seen since the last reset: how many, and when the first and the last arrived.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub count: u64,
    pub first: Instant,
    pub last: Instant,
}

impl Window {
    /// From the first to the last egress message.
    pub fn elapsed(&self) -> Duration {
        self.last.saturating_duration_since(self.first)
    }
}

impl Capture {
    /// Starts consuming `queue`.
    pub async fn start(url: &str, queue: &str, name: &str) -> Result<Self, BenchError> {
        let (connection, mut consumer) =
            crate::broker::consume_without_acks(url, queue, name, "capture").await?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Some(delivery) = consumer.next().await {
                let now = Instant::now();
                let mut s = lock(&shared);
                match delivery {
                    Ok(delivery) => {
                        s.count += 1;
                        s.first.get_or_insert(now);
                        s.last = Some(now);
                        if let Some(id) = delivery.properties.correlation_id() {
                            s.arrived(id.as_str(), now);
                            s.arrivals.push(id.as_str().to_owned());
                        }
                    }
                    Err(e) => {
                        s.failed = Some(e.to_string());
                        return;
                    }
                }
            }
        });
        Ok(Self {
            state,
            connection,
            task,
        })
    }

    /// Registers a latency request just before it is published: `egress` messages will carry its request id as
    /// their correlation id, and the last of them ends its latency.
    pub fn expect(&self, request_id: &str, egress: u64, published_at: Instant) {
        lock(&self.state)
            .pending
            .insert(request_id.to_owned(), (published_at, egress));
    }

    /// Forgets the counts, arrival times and correlation ids seen so far (latencies are kept).
    pub fn reset_window(&self) {
        let mut s = lock(&self.state);
        s.count = 0;
        s.arrivals = Vec::new();
        s.first = None;
        s.last = None;
    }

    /// Egress since the last reset.
    pub fn count(&self) -> u64 {
        lock(&self.state).count
    }

    /// The correlation ids of the egress since the last reset, in arrival order (egress without one is left out).
    pub fn arrivals(&self) -> Vec<String> {
        lock(&self.state).arrivals.clone()
    }

    /// Waits until `target` egress messages arrived since the last reset; on timeout, or as soon as `gone()` says
    /// the side producing them has stopped, the count seen.
    pub async fn wait_for_count(
        &self,
        target: u64,
        timeout: Duration,
        mut gone: impl FnMut() -> bool,
    ) -> Result<Window, u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let gone = gone();
            {
                let s = lock(&self.state);
                if let (true, Some(first), Some(last)) = (s.count >= target, s.first, s.last) {
                    return Ok(Window {
                        count: s.count,
                        first,
                        last,
                    });
                }
                if gone || s.failed.is_some() || Instant::now() >= deadline {
                    return Err(s.count);
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `target` latency requests have all their egress; returns the latencies (on timeout, or as soon
    /// as `gone()` says the side has stopped, how many completed).
    pub async fn wait_for_latencies(
        &self,
        target: usize,
        timeout: Duration,
        mut gone: impl FnMut() -> bool,
    ) -> Result<Vec<Duration>, u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let gone = gone();
            {
                let mut s = lock(&self.state);
                if s.latencies.len() >= target {
                    return Ok(std::mem::take(&mut s.latencies));
                }
                if gone || s.failed.is_some() || Instant::now() >= deadline {
                    return Err(s.latencies.len() as u64);
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Why the consumer stopped, if it did.
    pub fn failure(&self) -> Option<String> {
        lock(&self.state).failed.clone()
    }

    /// Stops consuming and closes the connection.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.connection.close(200, "capture done".into()).await;
    }
}

impl State {
    fn arrived(&mut self, request_id: &str, now: Instant) {
        let done = match self.pending.get_mut(request_id) {
            Some((_, remaining)) => {
                *remaining = remaining.saturating_sub(1);
                *remaining == 0
            }
            None => false,
        };
        if done && let Some((published_at, _)) = self.pending.remove(request_id) {
            self.latencies
                .push(now.saturating_duration_since(published_at));
        }
    }
}

/// The state lock; a panic elsewhere while holding it leaves counts that are still usable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_ends_with_the_last_egress_of_its_request() {
        let mut s = State::default();
        let t0 = Instant::now();
        s.pending.insert("a".into(), (t0, 3));
        s.arrived("a", t0 + Duration::from_millis(1));
        s.arrived("other", t0 + Duration::from_millis(2));
        s.arrived("a", t0 + Duration::from_millis(3));
        assert!(s.latencies.is_empty());
        s.arrived("a", t0 + Duration::from_millis(7));
        assert_eq!(s.latencies, vec![Duration::from_millis(7)]);
        assert!(s.pending.is_empty());
        s.arrived("a", t0 + Duration::from_millis(9));
        assert_eq!(
            s.latencies.len(),
            1,
            "a late duplicate is not a second sample"
        );
    }
}
