//! One broker session: consume → process → publish (pipelined) → await confirms → flush outcomes → ack, in
//! delivery order. It ends on shutdown, on a lost connection, or when processing must halt; the caller reconnects.
//!
//! Deliveries are acked only after every egress message of theirs is confirmed and their outcome is durable, and
//! always in delivery order, so a crash at any point leaves unacked exactly what may not have been fully published;
//! the broker redelivers those and the outcome store answers them without a second ledger effect.
//!
//! In strict ordering, phase 1 of each delivery ([`Processor::begin`]: mapping and sequencing its ledger command)
//! runs here, one delivery at a time in queue order; phase 2 ([`Processor::finish`]: waiting for the transaction to
//! be durable, recording the outcome) and publishing run in a task per delivery, so the ledger can cover many
//! deliveries with one journal sync. Each task publishes only after the previous delivery's task has published, so
//! egress still leaves in queue order.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use amqp_transport::{
    AmqpSession, AmqpSettings, ConfirmOutcome, DeliveryAcker, IngressDelivery, OutgoingMessage,
    PendingConfirm, Publisher, dead_letter_message,
};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use super::health::Health;
use super::in_order::place_in_order;
use super::ordering::{KeyedSequencer, TurnGuard};
use crate::config::Ordering;
use crate::encoded_egress::EncodedEgress;
use crate::metrics_names;
use crate::outcome_store::OutcomeStore;
use crate::processor::{Disposition, Processed, Processor};

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// Shutdown was requested and in-flight work drained.
    Shutdown,
    /// The broker connection or a channel failed; reconnect.
    ConnectionLost(String),
    /// Processing cannot continue (ledger authentication, state store); pause, then reconnect.
    Halted(String),
}

/// What a session needs.
#[derive(Clone)]
pub struct SessionContext {
    pub processor: Arc<Processor>,
    pub outcomes: Arc<dyn OutcomeStore>,
    pub settings: AmqpSettings,
    pub health: Arc<Health>,
    pub ordering: Ordering,
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight work before closing anyway.
    pub drain_timeout: Duration,
}

/// One delivery's published result, waiting for its confirms before the ack.
struct Published {
    acker: DeliveryAcker,
    confirms: Vec<PendingConfirm>,
    routing_keys: Vec<String>,
    message_name: &'static str,
    outcome: &'static str,
    dead_lettered: Option<&'static str>,
    started: Instant,
}

enum Work {
    Published(Published),
    Halted(String),
    Lost(String),
}

/// Runs a session until it ends.
pub async fn run_session(
    ctx: &SessionContext,
    session: &AmqpSession,
    shutdown: &mut watch::Receiver<bool>,
) -> SessionEnd {
    let mut deliveries = match session.consume("connector").await {
        Ok(stream) => stream,
        Err(e) => return SessionEnd::ConnectionLost(format!("cannot start consuming: {e}")),
    };
    ctx.health.set_consuming(true);
    let publisher = session.publisher();
    let (ack_tx, ack_rx) = mpsc::channel::<JoinHandle<Work>>(ctx.max_in_flight.max(1));
    let mut acker = tokio::spawn(ack_in_order(
        ack_rx,
        ctx.outcomes.clone(),
        ctx.health.clone(),
    ));
    let mut sequencer = KeyedSequencer::new(ctx.max_in_flight);
    let end = loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break SessionEnd::Shutdown,
            result = &mut acker => {
                break match result {
                    Ok(end) => end,
                    Err(e) => SessionEnd::ConnectionLost(format!("ack task failed: {e}")),
                };
            }
            _ = session.closed() => break SessionEnd::ConnectionLost("broker connection closed".to_owned()),
            next = deliveries.next() => match next {
                None => break SessionEnd::ConnectionLost("the consumer was cancelled by the broker".to_owned()),
                Some(Err(e)) => break SessionEnd::ConnectionLost(format!("consumer failed: {e}")),
                Some(Ok(delivery)) => {
                    let (handle, halted) = dispatch(ctx, &publisher, &mut sequencer, delivery).await;
                    if ack_tx.send(handle).await.is_err() {
                        break SessionEnd::ConnectionLost("ack task stopped".to_owned());
                    }
                    if let Some(reason) = halted {
                        // Strict order: no later delivery may reach the ledger before this one is redelivered.
                        break SessionEnd::Halted(reason);
                    }
                }
            },
        }
    };
    ctx.health.set_consuming(false);
    drop(ack_tx);
    if end == SessionEnd::Shutdown {
        // Let every delivery already taken finish, be confirmed and acked, so a clean stop redelivers nothing.
        match tokio::time::timeout(ctx.drain_timeout, &mut acker).await {
            Ok(Ok(SessionEnd::Shutdown)) => {}
            Ok(Ok(other)) => return other,
            Ok(Err(e)) => return SessionEnd::ConnectionLost(format!("ack task failed: {e}")),
            Err(_) => tracing::warn!(
                "shutdown: in-flight work did not finish in time; the broker will redeliver it"
            ),
        }
    } else {
        acker.abort();
    }
    end
}

/// In strict ordering every delivery takes its turn on this one key, so each waits for the previous one to publish.
const STRICT_ORDER: Option<Uuid> = Some(Uuid::nil());

/// Starts the work for one delivery. Strict ordering runs its phase 1 before the next delivery is read and chains
/// its publishing behind the previous delivery's; per-contract ordering chains the whole of it behind earlier work
/// on the same linear id and lets the rest run concurrently (their waits for durability then share syncs too).
/// Also returns why phase 1 halted processing, when it did (strict ordering only).
async fn dispatch(
    ctx: &SessionContext,
    publisher: &Publisher,
    sequencer: &mut KeyedSequencer,
    delivery: IngressDelivery,
) -> (JoinHandle<Work>, Option<String>) {
    let ctx = ctx.clone();
    let publisher = publisher.clone();
    match ctx.ordering {
        Ordering::Strict => {
            let started = Instant::now();
            let span = delivery_span(&delivery);
            let staged = ctx
                .processor
                .begin(&delivery.body)
                .instrument(span.clone())
                .await;
            if let Some(id) = staged.request_id() {
                span.record("request_id", id);
            }
            let halted = staged.halted().map(str::to_owned);
            let turn = sequencer.enter(STRICT_ORDER).await;
            let work = tokio::spawn(
                async move {
                    let processed = ctx.processor.finish(staged).await;
                    let turn = turn.wait().await;
                    publish_outcome(&ctx, &publisher, &delivery, processed, started, Some(turn))
                        .await
                }
                .instrument(span),
            );
            (work, halted)
        }
        Ordering::PerContract => {
            let key = super::ordering::ordering_key(&delivery.body);
            let turn = sequencer.enter(key).await;
            let work = tokio::spawn(async move {
                let _turn = turn.wait().await;
                handle_delivery(&ctx, &publisher, delivery).await
            });
            (work, None)
        }
    }
}

fn delivery_span(delivery: &IngressDelivery) -> tracing::Span {
    tracing::info_span!(
        "message",
        request_id = tracing::field::Empty,
        delivery_tag = delivery.delivery_tag
    )
}

async fn handle_delivery(
    ctx: &SessionContext,
    publisher: &Publisher,
    delivery: IngressDelivery,
) -> Work {
    let started = Instant::now();
    let span = delivery_span(&delivery);
    async move {
        let processed = ctx.processor.process(&delivery.body).await;
        if let Some(id) = &processed.request_id {
            tracing::Span::current().record("request_id", id.as_str());
        }
        publish_outcome(ctx, publisher, &delivery, processed, started, None).await
    }
    .instrument(span)
    .await
}

/// Publishes a delivery's egress (and its dead-letter copy), then hands back what its ack waits for. `turn`, when
/// given, is released as soon as the messages have their places on the channel, so the next delivery's can follow.
async fn publish_outcome(
    ctx: &SessionContext,
    publisher: &Publisher,
    delivery: &IngressDelivery,
    processed: Processed,
    started: Instant,
    turn: Option<TurnGuard>,
) -> Work {
    let (outcome, dead_letter) = match &processed.disposition {
        Disposition::Completed => ("completed", None),
        Disposition::Replayed => ("replayed", None),
        Disposition::Malformed { code, reason } => ("malformed", Some((*code, reason.clone()))),
        Disposition::Exhausted { reason } => ("exhausted", Some((5030, reason.clone()))),
        Disposition::Halted { reason } => {
            tracing::error!(%reason, "processing halted; consumption pauses and the delivery will be redelivered");
            return Work::Halted(reason.clone());
        }
    };
    match &processed.disposition {
        Disposition::Replayed => {
            tracing::info!("redelivered request answered from the outcome store")
        }
        Disposition::Malformed { reason, .. } => {
            tracing::warn!(%reason, "malformed message dead-lettered")
        }
        Disposition::Exhausted { reason } => {
            tracing::warn!(%reason, "ledger unavailable; request dead-lettered")
        }
        _ => tracing::debug!("processed"),
    }
    let timestamp_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let reply_to = delivery.reply_to.as_deref().filter(|q| !q.is_empty());
    let mut messages = Vec::with_capacity(processed.egress.len() * 2 + 1);
    let mut routing_keys = Vec::with_capacity(processed.egress.len());
    for egress in &processed.egress {
        messages.push(outgoing(
            &ctx.settings.egress_exchange,
            &egress.routing_key,
            egress,
            timestamp_secs,
        ));
        routing_keys.push(egress.routing_key.clone());
        if let Some(reply_to) = reply_to {
            // The default exchange routes by queue name.
            messages.push(outgoing("", reply_to, egress, timestamp_secs));
        }
    }
    let mut dead_lettered = None;
    if let Some((code, reason)) = dead_letter {
        messages.push(dead_letter_message(&ctx.settings, delivery, code, &reason));
        dead_lettered = Some(outcome);
    }
    let publishes = messages.iter().map(|m| publisher.publish(m));
    let mut confirms = Vec::with_capacity(messages.len());
    for published in place_in_order(publishes, move || drop(turn)).await {
        match published {
            Ok(confirm) => confirms.push(confirm),
            Err(e) => return Work::Lost(format!("publish failed: {e}")),
        }
    }
    Work::Published(Published {
        acker: delivery.acker(),
        confirms,
        routing_keys,
        message_name: processed.message_name,
        outcome,
        dead_lettered,
        started,
    })
}

fn outgoing(
    exchange: &str,
    routing_key: &str,
    egress: &EncodedEgress,
    timestamp_secs: u64,
) -> OutgoingMessage {
    OutgoingMessage {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        body: egress.body.clone(),
        message_id: egress.message_id.clone(),
        correlation_id: egress.request_id.clone(),
        message_type: Some(egress.routing_key.clone()),
        timestamp_secs,
        headers: Default::default(),
    }
}

/// Awaits each delivery's work and confirms in delivery order, flushes the outcome store once per batch, then acks.
async fn ack_in_order(
    mut rx: mpsc::Receiver<JoinHandle<Work>>,
    outcomes: Arc<dyn OutcomeStore>,
    health: Arc<Health>,
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
                Work::Published(published) => batch.push(published),
                Work::Halted(reason) => {
                    pending_end = Some(SessionEnd::Halted(reason));
                    break;
                }
                Work::Lost(reason) => {
                    pending_end = Some(SessionEnd::ConnectionLost(reason));
                    break;
                }
            }
        }
        // Confirms, in order.
        for published in &mut batch {
            for (i, confirm) in std::mem::take(&mut published.confirms)
                .into_iter()
                .enumerate()
            {
                match confirm.wait().await {
                    Ok(ConfirmOutcome::Acked) => {}
                    Ok(ConfirmOutcome::Unroutable) => {
                        let key = published
                            .routing_keys
                            .get(i)
                            .map(String::as_str)
                            .unwrap_or("reply_to");
                        tracing::warn!(
                            routing_key = key,
                            "egress was unroutable: no queue is bound for it"
                        );
                        metrics::counter!(metrics_names::EGRESS_UNROUTABLE, "message_name" => key.to_owned()).increment(1);
                        Health::bump(&health.unroutable_total, 1);
                    }
                    Ok(ConfirmOutcome::Nacked) => {
                        return SessionEnd::ConnectionLost(
                            "the broker refused (nacked) an egress message".to_owned(),
                        );
                    }
                    Err(e) => {
                        return SessionEnd::ConnectionLost(format!(
                            "waiting for a publisher confirm: {e}"
                        ));
                    }
                }
            }
        }
        if !batch.is_empty() {
            // The flush waits for an fsync: off the async workers, which meanwhile publish later deliveries.
            let store = Arc::clone(&outcomes);
            let flushed = match tokio::task::spawn_blocking(move || store.flush()).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the flush task failed: {e}")),
            };
            if let Err(e) = flushed {
                return SessionEnd::Halted(format!("cannot make outcomes durable: {e}"));
            }
            let acks = place_in_order(batch.iter().map(|p| p.acker.ack()), || ()).await;
            for (published, acked) in batch.drain(..).zip(acks) {
                if let Err(e) = acked {
                    return SessionEnd::ConnectionLost(format!("ack failed: {e}"));
                }
                record_metrics(&health, &published);
            }
        }
        if let Some(end) = pending_end.take() {
            return end;
        }
    }
    SessionEnd::Shutdown
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
    metrics::histogram!(metrics_names::PROCESSING_SECONDS)
        .record(published.started.elapsed().as_secs_f64());
}
