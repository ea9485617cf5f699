//! Publishing one delivery's outcome: its egress to the egress exchange, the copy of a refused original to the
//! dead-letter exchange, and best-effort `reply_to` copies, all placed on the channel in order; what comes back is
//! the [`Work`] its settling waits for (`acks.rs`), carrying the delivery's run-history entry and its place among the
//! requests in flight. The AMQP message shape and confirms are the publishing room's (`crate::publishing`). Every
//! message placed carries the delivery's trace context (`traceparent`, `tracestate` naming the gateway's span), the
//! dead-letter copy included, whether the outcome is new or replayed.

use std::sync::Arc;

use amqp_transport::{
    IngressDelivery, OutgoingMessage, Publisher, ReplyPublisher, dead_letter_message,
};
use futures::FutureExt;
use message_schema::error_code::ErrorCode;
use tracing::Instrument;

use super::acks::{Published, Settle, Work};
use super::channel_order::place_in_order;
use super::contract_sequencer::TurnGuard;
use super::delivery_tracking::Tracking;
use super::failure_code::failure_code;
use super::session_context::SessionContext;
use crate::outcome_store::DeliveryKey;
use crate::processor::{Disposition, Processed};
use crate::publishing::{amqp_message, now_secs};
use crate::request_trace::RequestTrace;

/// Where a delivery's messages go: the session's confirming publisher, and the reply channel for `reply_to` copies.
#[derive(Clone)]
pub struct Outlets {
    pub publisher: Publisher,
    pub replies: Arc<ReplyPublisher>,
}

/// Publishes a delivery's egress (and its dead-letter copy, and best-effort `reply_to` copies), then hands back
/// what its settling waits for. `turn`, when given, is released as soon as the messages have their places on the
/// channel, so the next delivery's can follow.
#[allow(clippy::too_many_arguments)]
pub async fn publish_outcome(
    ctx: &SessionContext,
    outlets: &Outlets,
    delivery: &IngressDelivery,
    trace: &RequestTrace,
    processed: Processed,
    turn: Option<TurnGuard>,
    counted: Option<DeliveryKey>,
    tracking: Tracking,
) -> Work {
    let (outcome, dead_letter) = match &processed.disposition {
        Disposition::Completed => ("completed", None),
        Disposition::Replayed => ("replayed", None),
        Disposition::Malformed { code, reason } => ("malformed", Some((*code, reason.clone()))),
        Disposition::Exhausted { reason } => {
            ("exhausted", Some((ErrorCode::Unavailable, reason.clone())))
        }
        Disposition::Poisoned { reason } => {
            ("poisoned", Some((ErrorCode::Internal, reason.clone())))
        }
        Disposition::Halted { reason } => {
            tracing::error!(%reason, "processing halted; consumption pauses and the delivery will be redelivered");
            return Work::Halted(reason.clone());
        }
        Disposition::Abandoned { reason } => {
            tracing::warn!(%reason, "the broker session ends on this delivery");
            return Work::Lost(reason.clone());
        }
        Disposition::StorageFailed { reason } => {
            tracing::error!(%reason, "the gateway's storage failed; nothing is acked, the gateway stops");
            return Work::StorageFailed(reason.clone());
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
        Disposition::Poisoned { reason } => {
            tracing::error!(%reason, "message dead-lettered with Failure 5000")
        }
        _ => tracing::debug!("processed"),
    }
    let failure = failure_code(&processed.disposition, processed.failure_code);
    let timestamp_secs = now_secs();
    // An original over the size limit is not copied (a copy with headers could exceed the broker's own limit):
    // the broker dead-letters it when it is rejected.
    let too_large_to_copy = delivery.body.len() > ctx.processor.limits().max_message_bytes;
    let mut messages = Vec::with_capacity(processed.egress.len() + 1);
    let mut routing_keys = Vec::with_capacity(processed.egress.len());
    for egress in &processed.egress {
        let mut message = amqp_message(
            &ctx.settings.egress_exchange,
            &egress.routing_key,
            egress,
            timestamp_secs,
        );
        trace.stamp(&mut message.headers);
        messages.push(message);
        routing_keys.push(egress.routing_key.clone());
    }
    let mut settle = Settle::Ack;
    let mut dead_lettered = None;
    if let Some((code, reason)) = dead_letter {
        if too_large_to_copy {
            settle = Settle::RejectToDeadLetters;
        } else {
            let mut copy = dead_letter_message(
                &ctx.settings,
                delivery,
                code.code(),
                &reason,
                timestamp_secs,
            );
            // The original's own trace headers are the sender's, unvalidated: the copy names the gateway's span.
            trace.stamp(&mut copy.headers);
            messages.push(copy);
        }
        dead_lettered = Some(outcome);
    }
    let reply_queue = ctx.reply_copies.target(delivery.reply_to.as_deref());
    let copies: Vec<OutgoingMessage> = match reply_queue {
        // The default exchange routes by queue name.
        Some(queue) => processed
            .egress
            .iter()
            .map(|egress| {
                let mut copy = amqp_message("", queue, egress, timestamp_secs);
                trace.stamp(&mut copy.headers);
                copy
            })
            .collect(),
        None => vec![],
    };
    let main = messages
        .iter()
        .map(|m| outlets.publisher.publish(m).left_future());
    let replies = copies
        .iter()
        .map(|m| outlets.replies.publish(m).right_future());
    let mut placed = place_in_order(main.chain(replies), move || drop(turn))
        .instrument(tracing::info_span!(
            "publish",
            messages = messages.len() + copies.len()
        ))
        .await;
    let reply_confirms = placed.split_off(messages.len());
    if let Some(queue) = reply_queue {
        tokio::spawn(Arc::clone(&ctx.reply_copies).watch(queue.to_owned(), reply_confirms));
    }
    let mut confirms = Vec::with_capacity(messages.len());
    for (message, published) in messages.iter().zip(placed) {
        match published {
            Ok(confirm) => confirms.push((message.routing_key.clone(), confirm)),
            Err(e) => return Work::Lost(format!("publish failed: {e}")),
        }
    }
    let started = tracking.started();
    let (history, in_flight) = tracking.history_entry(&processed, &ctx.processor);
    Work::Published(Box::new(Published {
        acker: delivery.acker(),
        settle,
        confirms,
        routing_keys,
        message_name: processed.message_name,
        outcome,
        dead_lettered,
        failure,
        started,
        counted,
        history,
        _in_flight: in_flight,
    }))
}
