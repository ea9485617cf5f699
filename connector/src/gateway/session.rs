//! One broker session: consume → process → publish (pipelined) → await confirms → flush outcomes → ack, in
//! delivery order. It ends on shutdown, on a lost connection, on broker back-pressure, or when processing must halt;
//! the caller reconnects.
//!
//! Deliveries are acked only after every egress message of theirs is confirmed and their outcome is durable, and
//! always in delivery order (`acks.rs`), so a crash at any point leaves unacked exactly what may not have been fully
//! published; the broker redelivers those and the outcome store answers them without a second ledger effect.
//!
//! In strict ordering, phase 1 of each delivery ([`Processor::begin`]: mapping and sequencing its ledger command)
//! runs here, one delivery at a time in queue order; phase 2 ([`Processor::finish`]: waiting for the transaction to
//! be durable, recording the outcome) and publishing run in a task per delivery, so the ledger can cover many
//! deliveries with one journal sync. Each task publishes only after the previous delivery's task has published, so
//! egress still leaves in queue order.
//!
//! Poison containment: a panic anywhere in one delivery's processing is caught at that delivery's boundary and
//! answered with Failure 5000 and a dead letter (`containment.rs`). A message the broker redelivers is processed alone,
//! after its attempt is counted durably (`outcome_store::DeliveryAttempts`); one that keeps ending the session is
//! dead-lettered with 5000 once `amqp.max_redeliveries` is spent, and, should even that fail, rejected so that the
//! broker dead-letters it without the gateway publishing anything.

use std::time::{Duration, Instant};

use amqp_transport::{AmqpSession, IngressDelivery};
use futures::FutureExt;
use futures::StreamExt;
use futures::future::{Fuse, FusedFuture};
use ledger_port::with_trace_headers;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

use super::acks::{Published, Settle, Settler, Work, settle_in_order};
use super::containment::{contained, contained_now, panicked};
use super::contract_sequencer::{KeyedSequencer, ordering_key};
use super::delivery_tracking::Tracking;
use super::outcome_publishing::{Outlets, publish_outcome};
use super::redelivery_plan::Plan;
use super::session_context::SessionContext;
use super::session_end::SessionEnd;
use crate::config::Ordering;
use crate::outcome_store::{DeliveryKey, delivery_key};
use crate::processor::{Processed, Sender, Staged};
use crate::request_trace::RequestTrace;
use crate::roles::ConsumerRole;

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
    // A single active consumer learns it is the active one only from its first delivery (see `roles.rs`).
    ctx.health
        .set_consumer_role(if ctx.settings.single_active_consumer {
            ConsumerRole::Standby
        } else {
            ConsumerRole::Active
        });
    let outlets = Outlets {
        publisher: session.publisher(),
        replies: session.replies(),
    };
    let (settled_tx, mut settled) = watch::channel(0u64);
    let (ack_tx, ack_rx) = mpsc::channel::<JoinHandle<Work>>(ctx.max_in_flight.max(1));
    let settler_task = tokio::spawn(settle_in_order(
        ack_rx,
        Settler {
            outcomes: ctx.outcomes.clone(),
            attempts: ctx.attempts.clone(),
            health: ctx.health.clone(),
            settled: settled_tx,
        },
    ));
    let settler_abort = settler_task.abort_handle();
    // Fused: it may finish inside `wait_settled`, and must then never be polled again.
    let mut settler = settler_task.fuse();
    let mut sequencer = KeyedSequencer::new(ctx.max_in_flight);
    let mut dispatched: u64 = 0;
    // The counted (redelivered) delivery in flight, by its dispatch number.
    let mut counted_in_flight: Option<(u64, DeliveryKey)> = None;
    let end = loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break SessionEnd::Shutdown,
            result = &mut settler => break settler_end(result),
            _ = session.closed() => break SessionEnd::ConnectionLost("broker connection closed".to_owned()),
            next = deliveries.next() => match next {
                None => break SessionEnd::ConnectionLost("the consumer was cancelled by the broker".to_owned()),
                Some(Err(e)) => break SessionEnd::ConnectionLost(format!("consumer failed: {e}")),
                Some(Ok(delivery)) => {
                    if ctx.health.consumer_role() != ConsumerRole::Active {
                        ctx.health.set_consumer_role(ConsumerRole::Active);
                    }
                    let mut counted = None;
                    let plan = if delivery.was_delivered_before() {
                        // Alone: whatever ends the session next, it was this message or something outside it.
                        if let Some(end) = wait_settled(&mut settled, dispatched, &mut settler, shutdown, session).await {
                            break end;
                        }
                        let key = delivery_key(&delivery.body);
                        let attempts = ctx.attempts.clone();
                        let begun = tokio::task::spawn_blocking(move || attempts.begin_attempt(&key)).await;
                        match begun {
                            Ok(Ok(attempt)) => {
                                counted = Some(key);
                                Plan::for_attempt(attempt, ctx.settings.max_redeliveries)
                            }
                            Ok(Err(e)) if e.unavailable => break SessionEnd::Halted(format!("cannot count a redelivered message's attempt: {e}")),
                            Ok(Err(e)) => break SessionEnd::StorageFailed(format!("cannot count a redelivered message's attempt: {e}")),
                            Err(e) => break SessionEnd::Halted(format!("the attempt counting task failed: {e}")),
                        }
                    } else {
                        Plan::Process
                    };
                    let (handle, stop) = dispatch(ctx, &outlets, &mut sequencer, delivery, plan, counted).await;
                    dispatched += 1;
                    if let Some(key) = counted {
                        counted_in_flight = Some((dispatched, key));
                    }
                    if ack_tx.send(handle).await.is_err() {
                        break settler_reason(&mut settler).await;
                    }
                    if let Some(end) = stop {
                        // Strict order: no later delivery may reach the ledger before this one is redelivered.
                        break end;
                    }
                    if counted.is_some() {
                        if let Some(end) = wait_settled(&mut settled, dispatched, &mut settler, shutdown, session).await {
                            break end;
                        }
                        counted_in_flight = None;
                    }
                }
            },
        }
    };
    ctx.health.set_consuming(false);
    ctx.health.set_consumer_role(ConsumerRole::Disconnected);
    drop(ack_tx);
    let end = if end == SessionEnd::Shutdown {
        // Let every delivery already taken finish, be confirmed and acked, so a clean stop redelivers nothing.
        match tokio::time::timeout(ctx.drain_timeout, &mut settler).await {
            Ok(result) => match settler_end(result) {
                SessionEnd::Shutdown => SessionEnd::Shutdown,
                other => other,
            },
            Err(_) => {
                tracing::warn!(
                    "shutdown: in-flight work did not finish in time; the broker will redeliver it"
                );
                SessionEnd::Shutdown
            }
        }
    } else {
        settler_abort.abort();
        end
    };
    if let Some((number, key)) = counted_in_flight
        && *settled.borrow() < number
        && end.is_outside_the_message()
        && let Err(e) = ctx.attempts.forgive_attempt(&key)
    {
        tracing::warn!(error = %e, "cannot give back a redelivered message's attempt");
    }
    end
}

fn settler_end(result: Result<SessionEnd, tokio::task::JoinError>) -> SessionEnd {
    match result {
        Ok(end) => end,
        Err(e) => SessionEnd::ConnectionLost(format!("ack task failed: {e}")),
    }
}

/// Waits until `target` deliveries of this session are settled; or returns why the session ended first.
async fn wait_settled(
    settled: &mut watch::Receiver<u64>,
    target: u64,
    settler: &mut Fuse<JoinHandle<SessionEnd>>,
    shutdown: &mut watch::Receiver<bool>,
    session: &AmqpSession,
) -> Option<SessionEnd> {
    tokio::select! {
        biased;
        _ = shutdown.changed() => Some(SessionEnd::Shutdown),
        result = &mut *settler => Some(settler_end(result)),
        _ = session.closed() => Some(SessionEnd::ConnectionLost("broker connection closed".to_owned())),
        reached = settled.wait_for(|n| *n >= target) => match reached {
            Ok(_) => None,
            Err(_) => Some(settler_reason(settler).await),
        },
    }
}

/// How long the ack task may take to hand over its reason once its channels show it stopped.
const SETTLER_HANDOVER: Duration = Duration::from_secs(5);

/// Why the ack task stopped, once one of its channels closed: its own reason. The channel can close a moment
/// before the task's result is ready, and a nacked egress must end the session as back-pressure (which does not
/// count against the delivery in flight), never as a lost connection (which does, and would dead-letter a request
/// after a long enough downstream stall).
async fn settler_reason(settler: &mut Fuse<JoinHandle<SessionEnd>>) -> SessionEnd {
    if settler.is_terminated() {
        return SessionEnd::ConnectionLost("the ack task stopped".to_owned());
    }
    match tokio::time::timeout(SETTLER_HANDOVER, settler).await {
        Ok(result) => settler_end(result),
        Err(_) => SessionEnd::ConnectionLost("the ack task stopped".to_owned()),
    }
}

/// In strict ordering every delivery takes its turn on this one key, so each waits for the previous one to publish.
const STRICT_ORDER: Option<Uuid> = Some(Uuid::nil());

/// A delivery after phase 1.
enum Begun {
    Staged(Staged),
    Done(Processed),
}

/// Starts the work for one delivery. Strict ordering runs its phase 1 before the next delivery is read and chains
/// its publishing behind the previous delivery's; per-contract ordering chains the whole of it behind earlier work
/// on the same linear id and lets the rest run concurrently (their waits for durability then share syncs too).
/// Also returns how the session must end at once, when phase 1 says so (strict ordering only).
async fn dispatch(
    ctx: &SessionContext,
    outlets: &Outlets,
    sequencer: &mut KeyedSequencer,
    delivery: IngressDelivery,
    plan: Plan,
    counted: Option<DeliveryKey>,
) -> (JoinHandle<Work>, Option<SessionEnd>) {
    let ctx = ctx.clone();
    let outlets = outlets.clone();
    let started = Instant::now();
    let span = delivery_span(&delivery);
    let trace = RequestTrace::begin(&delivery.headers, &span);
    match plan {
        Plan::Process => {}
        Plan::Poisoned(reason) => {
            let _entered = span.enter();
            tracing::error!(%reason, "a redelivered message is dead-lettered with Failure 5000 instead of processed");
            let processed = ctx.processor.poisoned(&delivery.body, &reason);
            if let Some(id) = &processed.request_id {
                span.record("request_id", printable(id));
            }
            let work = tokio::spawn(
                async move {
                    let published = publish_outcome(
                        &ctx,
                        &outlets,
                        &delivery,
                        &trace,
                        processed,
                        None,
                        counted,
                        Tracking::arrived(started),
                    );
                    contained(published).await.unwrap_or_else(|panic| {
                        Work::Lost(format!("a panic while publishing: {panic}"))
                    })
                }
                .instrument(span.clone()),
            );
            return (work, None);
        }
        Plan::RejectOnly(reason) => {
            let _entered = span.enter();
            tracing::error!(%reason, "a redelivered message could not be dead-lettered by the gateway either; it is rejected, so the broker dead-letters it");
            let work = Work::Published(Box::new(Published {
                acker: delivery.acker(),
                settle: Settle::RejectToDeadLetters,
                confirms: vec![],
                routing_keys: vec![],
                message_name: "Poisoned",
                outcome: "poisoned",
                dead_lettered: Some("poisoned"),
                // No Failure is published: the broker dead-letters the original itself.
                failure: None,
                started,
                counted,
                history: None,
                _in_flight: None,
            }));
            return (tokio::spawn(async move { work }), None);
        }
    }
    let sender = Sender {
        amqp_user_id: delivery.user_id.clone(),
        redelivered: delivery.was_delivered_before(),
    };
    match ctx.ordering {
        Ordering::Strict => {
            // Parsed here, so the request is registered as in flight before its ledger command is tried; a panic
            // in the parser is this delivery's.
            let parsed = span.in_scope(|| contained_now(|| ctx.processor.parse(&delivery.body)));
            let tracking = match &parsed {
                Ok(parsed) => Tracking::arrived(started).parsed(
                    parsed,
                    &ctx.in_flight_requests,
                    &ctx.processor,
                ),
                Err(_) => Tracking::arrived(started),
            };
            let begun = match parsed {
                Ok(parsed) => {
                    with_trace_headers(
                        Some(trace.ledger_headers()),
                        contained(ctx.processor.begin_parsed(&delivery.body, parsed, &sender)),
                    )
                    .instrument(span.clone())
                    .await
                }
                Err(panic) => Err(panic),
            };
            let (begun, stop) = match begun {
                Ok(staged) => {
                    if let Some(id) = staged.request_id() {
                        span.record("request_id", printable(id));
                    }
                    let stop = staged
                        .halted()
                        .map(|reason| SessionEnd::Halted(reason.to_owned()))
                        .or_else(|| {
                            staged
                                .storage_failed()
                                .map(|reason| SessionEnd::StorageFailed(reason.to_owned()))
                        })
                        .or_else(|| {
                            staged
                                .abandoned()
                                .map(|reason| SessionEnd::ConnectionLost(reason.to_owned()))
                        });
                    (Begun::Staged(staged), stop)
                }
                Err(panic) => (
                    Begun::Done(span.in_scope(|| panicked(&ctx.processor, &delivery.body, &panic))),
                    None,
                ),
            };
            let turn = sequencer.enter(STRICT_ORDER).await;
            let work = tokio::spawn(
                async move {
                    let processed = match begun {
                        Begun::Staged(staged) => with_trace_headers(
                            Some(trace.ledger_headers()),
                            contained(ctx.processor.finish(staged)),
                        )
                        .await
                        .unwrap_or_else(|panic| panicked(&ctx.processor, &delivery.body, &panic)),
                        Begun::Done(processed) => processed,
                    };
                    let turn = turn.wait().await;
                    let published = publish_outcome(
                        &ctx,
                        &outlets,
                        &delivery,
                        &trace,
                        processed,
                        Some(turn),
                        counted,
                        tracking,
                    );
                    contained(published).await.unwrap_or_else(|panic| {
                        Work::Lost(format!("a panic while publishing: {panic}"))
                    })
                }
                .instrument(span),
            );
            (work, stop)
        }
        Ordering::PerContract => {
            // Parsed once, here, for its ordering key, and handed on; a panic in the parser is this delivery's.
            let parsed = contained_now(|| ctx.processor.parse(&delivery.body));
            let key = parsed.as_ref().ok().and_then(ordering_key);
            let tracking = match &parsed {
                Ok(parsed) => Tracking::arrived(started).parsed(
                    parsed,
                    &ctx.in_flight_requests,
                    &ctx.processor,
                ),
                Err(_) => Tracking::arrived(started),
            };
            let turn = sequencer.enter(key).await;
            let work = tokio::spawn(async move {
                let _turn = turn.wait().await;
                async {
                    let processed = match parsed {
                        Ok(parsed) => with_trace_headers(
                            Some(trace.ledger_headers()),
                            contained(ctx.processor.process_parsed(
                                &delivery.body,
                                parsed,
                                &sender,
                            )),
                        )
                        .await
                        .unwrap_or_else(|panic| panicked(&ctx.processor, &delivery.body, &panic)),
                        Err(panic) => panicked(&ctx.processor, &delivery.body, &panic),
                    };
                    if let Some(id) = &processed.request_id {
                        tracing::Span::current().record("request_id", printable(id));
                    }
                    let published = publish_outcome(
                        &ctx, &outlets, &delivery, &trace, processed, None, counted, tracking,
                    );
                    contained(published).await.unwrap_or_else(|panic| {
                        Work::Lost(format!("a panic while publishing: {panic}"))
                    })
                }
                .instrument(span)
                .await
            });
            (work, None)
        }
    }
}

/// A requestId as logs may show it: the sender's text with control and direction-changing characters escaped, so
/// it can neither forge log lines nor reorder what a reader sees.
fn printable(request_id: &str) -> String {
    request_id.escape_debug().to_string()
}

/// The span a delivery is processed in: every log line of it names its requestId and trace id, and with span
/// export on it is the gateway's span in the request's trace (`request_trace.rs`).
fn delivery_span(delivery: &IngressDelivery) -> tracing::Span {
    tracing::info_span!(
        "message",
        request_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        delivery_tag = delivery.delivery_tag
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ack task closes its channels a moment before its result is ready; the session must still end for the
    /// task's own reason, or a downstream stall (back-pressure) would count against the message in flight.
    #[tokio::test]
    async fn a_stopped_ack_task_ends_the_session_for_its_own_reason() {
        let (settled_tx, mut settled) = watch::channel(0u64);
        let mut settler = tokio::spawn(async move {
            drop(settled_tx);
            tokio::time::sleep(Duration::from_millis(50)).await;
            SessionEnd::BackPressure("the broker refused (nacked) an egress message".to_owned())
        })
        .fuse();
        let reached = settled.wait_for(|n| *n >= 1).await;
        assert!(reached.is_err(), "the channel closed first");
        assert_eq!(
            settler_reason(&mut settler).await,
            SessionEnd::BackPressure("the broker refused (nacked) an egress message".to_owned())
        );
    }

    #[test]
    fn request_ids_in_logs_cannot_forge_lines_or_reorder_text() {
        assert_eq!(printable("r-1"), "r-1");
        let forged = printable("r\n2026-11-29T00:00:00Z INFO fake\u{202e}txt");
        assert!(
            !forged.contains('\n') && !forged.contains('\u{202e}'),
            "{forged}"
        );
        assert!(
            forged.contains("\\n") && forged.contains("\\u{202e}"),
            "{forged}"
        );
    }
}
