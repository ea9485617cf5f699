//! Settling deliveries in order: each delivery's work is awaited in delivery order, its egress confirms are
//! awaited, the outcome store is flushed once per batch, and only then are the deliveries acked (or, for an original
//! too large to copy, rejected so the broker dead-letters it). A broker nack of the gateway's own egress ends the
//! session as back-pressure; the broker then redelivers what was not acked.

use std::sync::Arc;
use std::time::Instant;

use amqp_transport::{DeliveryAcker, PendingConfirm};
use message_schema::error_code::ErrorCode;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::channel_order::place_in_order;
use super::failure_code::code_label;
use super::in_flight_requests::InFlightEntry;
use super::session_end::SessionEnd;
use crate::health::Health;
use crate::metrics_names;
use crate::outcome_store::{DeliveryAttempts, DeliveryKey, HistoryEntry, OutcomeStore, now_ms};
use crate::publishing::{Unconfirmed, confirmed};

/// How a delivery is settled once everything it published is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    Ack,
    /// Rejected without requeue: the broker moves the original, unchanged, to the queue's dead-letter exchange.
    /// For an original too large to be copied (its copy could exceed the broker's own size limit).
    RejectToDeadLetters,
}

/// One delivery's published result, waiting for its confirms before it is settled.
pub struct Published {
    pub acker: DeliveryAcker,
    pub settle: Settle,
    /// Each publish with the routing key it went out under.
    pub confirms: Vec<(String, PendingConfirm)>,
    /// Routing keys of the egress (not the dead-letter copy), for the metrics.
    pub routing_keys: Vec<String>,
    pub message_name: &'static str,
    pub outcome: &'static str,
    pub dead_lettered: Option<&'static str>,
    /// The code of the Failure this outcome decided, for the failures-by-code metric.
    pub failure: Option<ErrorCode>,
    pub started: Instant,
    /// Its attempt count, when it was counted (a redelivered message).
    pub counted: Option<DeliveryKey>,
    /// Its run-history entry, given its time and latency once its confirms are in, and written with the batch's
    /// flush.
    pub history: Option<HistoryEntry>,
    /// Its place among the requests in flight, given up when this is dropped (settled, or the session ended).
    pub _in_flight: Option<InFlightEntry>,
}

/// What one delivery's work came to.
pub enum Work {
    /// Boxed: it is by far the largest, and the others are rare.
    Published(Box<Published>),
    Halted(String),
    Lost(String),
    /// The gateway's own storage failed: nothing more can be made durable.
    StorageFailed(String),
}

/// Everything the settling task needs.
pub struct Settler {
    pub outcomes: Arc<dyn OutcomeStore>,
    pub attempts: Arc<dyn DeliveryAttempts>,
    pub health: Arc<Health>,
    /// How many deliveries of this session are settled so far.
    pub settled: watch::Sender<u64>,
}

/// Awaits each delivery's work and confirms in delivery order, flushes the outcome store once per batch, then
/// settles the batch.
pub async fn settle_in_order(
    mut rx: mpsc::Receiver<JoinHandle<Work>>,
    settler: Settler,
) -> SessionEnd {
    const MAX_BATCH: usize = 512;
    let mut batch: Vec<Published> = Vec::with_capacity(MAX_BATCH);
    let mut pending_end = None;
    while let Some(first) = rx.recv().await {
        let mut handles = vec![first];
        while handles.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(h) => handles.push(h),
                Err(_) => break,
            }
        }
        for handle in handles {
            let work = match handle.await {
                Ok(work) => work,
                Err(e) => Work::Lost(format!("processing task failed: {e}")),
            };
            match work {
                Work::Published(published) => batch.push(*published),
                Work::Halted(reason) => {
                    pending_end = Some(SessionEnd::Halted(reason));
                    break;
                }
                Work::Lost(reason) => {
                    pending_end = Some(SessionEnd::ConnectionLost(reason));
                    break;
                }
                Work::StorageFailed(reason) => {
                    pending_end = Some(SessionEnd::StorageFailed(reason));
                    break;
                }
            }
        }
        // Confirms, in order.
        for published in &mut batch {
            for (routing_key, confirm) in std::mem::take(&mut published.confirms) {
                match confirmed(confirm, &routing_key, &settler.health).await {
                    Ok(()) => {}
                    Err(refused @ Unconfirmed::Refused) => {
                        return SessionEnd::BackPressure(refused.to_string());
                    }
                    Err(lost @ Unconfirmed::Lost(_)) => {
                        return SessionEnd::ConnectionLost(lost.to_string());
                    }
                }
            }
        }
        if !batch.is_empty() {
            let history = finished_history(&mut batch);
            // The flush waits for an fsync: off the async workers, which meanwhile publish later deliveries. The
            // history entries go into the same write, so they cost no sync of their own.
            let store = Arc::clone(&settler.outcomes);
            let flushed = match tokio::task::spawn_blocking(move || {
                let history = keeping_answered_entries(store.as_ref(), history)?;
                store.record_history(history)?;
                store.flush()
            })
            .await
            {
                Ok(Ok(())) => Ok(()),
                // A state store out of reach: nothing of this batch is acked; the session ends, its deliveries go
                // back to the queue, and the gateway waits until the store answers (the outcomes stay pending in
                // memory, so the redeliveries are answered from them without a second ledger effect).
                Ok(Err(e)) if e.unavailable => {
                    return SessionEnd::Halted(format!("cannot make outcomes durable: {e}"));
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the flush task failed: {e}")),
            };
            if let Err(e) = flushed {
                return SessionEnd::StorageFailed(format!("cannot make outcomes durable: {e}"));
            }
            let settles = place_in_order(
                batch.iter().map(|p| async move {
                    match p.settle {
                        Settle::Ack => p.acker.ack().await,
                        Settle::RejectToDeadLetters => p.acker.reject_to_dead_letters().await,
                    }
                }),
                || (),
            )
            .await;
            for (published, settled) in batch.drain(..).zip(settles) {
                if let Err(e) = settled {
                    return SessionEnd::ConnectionLost(format!("ack failed: {e}"));
                }
                if let Some(key) = &published.counted
                    && let Err(e) = settler.attempts.settled(key)
                {
                    tracing::warn!(error = %e, "cannot forget a settled message's attempt count");
                }
                record_metrics(&settler.health, &published);
                settler.settled.send_modify(|n| *n += 1);
            }
        }
        if let Some(end) = pending_end.take() {
            return end;
        }
    }
    SessionEnd::Shutdown
}

/// The batch's history entries, each stamped now with its latency: from the delivery's arrival to its egress
/// confirmed (what remains before the ack is the batch's flush).
fn finished_history(batch: &mut [Published]) -> Vec<HistoryEntry> {
    let now = now_ms();
    batch
        .iter_mut()
        .filter_map(|published| {
            let mut entry = published.history.take()?;
            entry.processed_at_ms = now;
            entry.latency_ms =
                Some(u64::try_from(published.started.elapsed().as_millis()).unwrap_or(u64::MAX));
            Some(entry)
        })
        .collect()
}

/// Leaves out a dead-lettered entry for a requestId whose outcome is recorded: a malformed or poisoned message
/// that merely carries an answered request's id (a sender's mistake or spoof) must not replace how that request
/// was answered in its history. Such a message gets its Failure and dead letter all the same.
fn keeping_answered_entries(
    store: &dyn OutcomeStore,
    entries: Vec<HistoryEntry>,
) -> Result<Vec<HistoryEntry>, crate::outcome_store::StoreError> {
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.dead_lettered && store.get(&entry.request_id)?.is_some() {
            continue;
        }
        kept.push(entry);
    }
    Ok(kept)
}

fn record_metrics(health: &Health, published: &Published) {
    metrics::counter!(metrics_names::INGRESS_MESSAGES, "message_name" => published.message_name, "outcome" => published.outcome)
        .increment(1);
    Health::bump(&health.ingress_total, 1);
    for key in &published.routing_keys {
        metrics::counter!(metrics_names::EGRESS_MESSAGES, "message_name" => key.clone())
            .increment(1);
    }
    Health::bump(&health.egress_total, published.routing_keys.len() as u64);
    if published.outcome == "replayed" {
        Health::bump(&health.replayed_total, 1);
    }
    if let Some(reason) = published.dead_lettered {
        metrics::counter!(metrics_names::DEAD_LETTERS, "reason" => reason).increment(1);
        Health::bump(&health.dead_letters_total, 1);
    }
    if let Some(code) = published.failure {
        metrics::counter!(metrics_names::FAILURES, "code" => code_label(code)).increment(1);
    }
    metrics::histogram!(metrics_names::PROCESSING_SECONDS)
        .record(published.started.elapsed().as_secs_f64());
}
