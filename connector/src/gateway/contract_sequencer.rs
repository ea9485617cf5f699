//! Per-contract ordering: work on the same linear id runs in queue order, other work runs concurrently, at most
//! `max_in_flight` at a time.
//!
//! A create is keyed by the linear id it will assign (derived from its requestId), so an action on a contract that is
//! still being created waits for the create instead of failing with "no active contract".

use std::collections::HashMap;
use std::sync::Arc;

use message_schema::ingress::IngressRequest;
use message_schema::parse::IngressError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use uuid::Uuid;

/// The ordering key of a delivery, from its one parse: the linear id the request targets or creates; `None` when
/// it did not parse (such a request is answered with a Failure and touches no contract, so it waits for no one).
pub fn ordering_key(parsed: &Result<IngressRequest, IngressError>) -> Option<Uuid> {
    parsed
        .as_ref()
        .ok()
        .map(message_schema::linear_id::ordering_key)
}

/// Hands out turns: one chain per key, bounded overall.
pub struct KeyedSequencer {
    last: HashMap<Uuid, oneshot::Receiver<()>>,
    permits: Arc<Semaphore>,
    entered: u64,
}

/// A place in a key's chain; `wait` resolves when the previous work on the key is done.
pub struct Turn {
    previous: Option<oneshot::Receiver<()>>,
    done: oneshot::Sender<()>,
    permit: Option<OwnedSemaphorePermit>,
}

/// Held while the work runs; dropping it lets the next work on the key start.
pub struct TurnGuard {
    _done: oneshot::Sender<()>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl KeyedSequencer {
    /// A sequencer allowing `max_in_flight` turns at once.
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            last: HashMap::new(),
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            entered: 0,
        }
    }

    /// Takes the next turn for `key` (waiting while `max_in_flight` turns are out).
    pub async fn enter(&mut self, key: Option<Uuid>) -> Turn {
        // Acquiring fails only on a closed semaphore, and this one is never closed.
        let permit = self.permits.clone().acquire_owned().await.ok();
        let (done, receiver) = oneshot::channel();
        let previous = match key {
            Some(key) => self.last.insert(key, receiver),
            None => None,
        };
        self.entered += 1;
        if self.entered % 4096 == 0 {
            // Forget finished chains so the map holds only keys with work in flight.
            self.last
                .retain(|_, rx| matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        }
        Turn {
            previous,
            done,
            permit,
        }
    }
}

impl Turn {
    /// Waits for the previous work on the same key.
    pub async fn wait(self) -> TurnGuard {
        if let Some(previous) = self.previous {
            // An error means the previous work's guard was dropped: it is done either way.
            let _ = previous.await;
        }
        TurnGuard {
            _done: self.done,
            _permit: self.permit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_body_is_keyed_once_it_parses() {
        let lid = Uuid::new_v4();
        let action = format!(
            r#"{{"messageName":"CreateContractActionRequest","requestId":"a","contractLedgerIdentifier":"{lid}",
                "workflowFunctionName":"F","parameters":[],"messageSchemaVersion":"1.0.0"}}"#
        );
        let limits = message_schema::limits::Limits::default();
        let parse = |body: &[u8]| message_schema::parse::parse_ingress_with(body, &limits);
        assert_eq!(ordering_key(&parse(action.as_bytes())), Some(lid));
        assert_eq!(ordering_key(&parse(b"not json")), None);
    }

    #[tokio::test]
    async fn same_key_runs_in_order_other_keys_concurrently() {
        let mut seq = KeyedSequencer::new(8);
        let a = Some(Uuid::from_u128(1));
        let b = Some(Uuid::from_u128(2));
        let first = seq.enter(a).await.wait().await;
        let second_a = seq.enter(a).await;
        let other = seq.enter(b).await;
        // Another key does not wait.
        let other_guard = tokio::time::timeout(Duration::from_millis(100), other.wait()).await;
        assert!(other_guard.is_ok());
        // The same key waits for the first to finish.
        let mut waiting = tokio::spawn(second_a.wait());
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut waiting)
                .await
                .is_err()
        );
        drop(first);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), waiting)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn in_flight_is_bounded() {
        let mut seq = KeyedSequencer::new(2);
        let t1 = seq.enter(None).await;
        let _t2 = seq.enter(None).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), seq.enter(None))
                .await
                .is_err()
        );
        drop(t1);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), seq.enter(None))
                .await
                .is_ok()
        );
    }
}
