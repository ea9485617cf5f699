//! Best-effort copies of a request's egress to the queue it names in `reply_to`.
//!
//! The sender picks that queue, so a copy must never cost the gateway anything: copies go out on a channel of their
//! own (`amqp_transport::ReplyPublisher`), their confirms are awaited in a task of their own, and a copy the broker
//! returns (no such queue), refuses (a full queue rejecting publishes) or loses with its channel is counted in
//! `connector_reply_copies_dropped_total{reason}` and logged at most once per queue per minute. It never ends the
//! session, delays the main egress or causes a redelivery. `amqp.reply_to.allowed_prefixes` limits the queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amqp_transport::{ConfirmOutcome, PendingConfirm, ReplyToSettings, TransportError};

use crate::metrics_names;

/// How often one queue's dropped copies are logged.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Queues remembered for the log's rate limit; a sender naming a new queue per message cannot grow it further.
const QUEUES_REMEMBERED: usize = 1024;

/// Why a copy was dropped: the metric's `reason` label (a fixed set, never a queue name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue is not under `amqp.reply_to.allowed_prefixes`.
    NotAllowed,
    /// The broker returned it: no queue of that name.
    Unroutable,
    /// The broker refused it (for example a full queue that rejects publishes).
    Nacked,
    /// The reply channel failed (the broker closed it, or the connection went).
    ChannelFailed,
}

impl DropReason {
    fn label(self) -> &'static str {
        match self {
            DropReason::NotAllowed => "not_allowed",
            DropReason::Unroutable => "unroutable",
            DropReason::Nacked => "nacked",
            DropReason::ChannelFailed => "channel_failed",
        }
    }
}

/// The reply-copy policy and its log's memory; one per gateway, shared by its sessions.
pub struct ReplyCopies {
    settings: ReplyToSettings,
    last_logged: Mutex<HashMap<String, Instant>>,
}

impl ReplyCopies {
    pub fn new(settings: ReplyToSettings) -> Self {
        Self {
            settings,
            last_logged: Mutex::new(HashMap::new()),
        }
    }

    /// The queue to copy a delivery's egress to, if it named one the policy allows.
    pub fn target<'a>(&self, reply_to: Option<&'a str>) -> Option<&'a str> {
        let queue = reply_to.filter(|q| !q.is_empty())?;
        if self.settings.allows(queue) {
            Some(queue)
        } else {
            self.dropped(
                queue,
                DropReason::NotAllowed,
                "not under amqp.reply_to.allowed_prefixes",
            );
            None
        }
    }

    /// Counts a dropped copy and logs it, at most once per queue per [`LOG_EVERY`].
    pub fn dropped(&self, queue: &str, reason: DropReason, detail: &str) {
        metrics::counter!(metrics_names::REPLY_COPIES_DROPPED, "reason" => reason.label())
            .increment(1);
        if self.should_log(queue, Instant::now()) {
            // The queue name is the sender's text: quoted with escapes, so it cannot forge log lines.
            tracing::warn!(
                reply_to = ?queue,
                reason = reason.label(),
                detail,
                "a reply_to copy was dropped (logged once a minute per queue)"
            );
        }
    }

    fn should_log(&self, queue: &str, now: Instant) -> bool {
        let mut last = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(queue)
            && now.duration_since(*at) < LOG_EVERY
        {
            return false;
        }
        if last.len() >= QUEUES_REMEMBERED && !last.contains_key(queue) {
            last.retain(|_, at| now.duration_since(*at) < LOG_EVERY);
            if last.len() >= QUEUES_REMEMBERED {
                // Every remembered queue was logged within the minute: forget them rather than grow.
                last.clear();
            }
        }
        last.insert(queue.to_owned(), now);
        true
    }

    /// Awaits the broker's word on a delivery's copies and counts the dropped ones; meant to run in a task of its
    /// own, so nothing waits for it.
    pub async fn watch(
        self: Arc<Self>,
        queue: String,
        copies: Vec<Result<PendingConfirm, TransportError>>,
    ) {
        for copy in copies {
            let outcome = match copy {
                Ok(confirm) => confirm.wait().await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(ConfirmOutcome::Acked) => {}
                Ok(ConfirmOutcome::Unroutable) => {
                    self.dropped(&queue, DropReason::Unroutable, "no queue of that name")
                }
                Ok(ConfirmOutcome::Nacked) => {
                    self.dropped(&queue, DropReason::Nacked, "the broker refused it")
                }
                Err(e) => self.dropped(&queue, DropReason::ChannelFailed, &e.message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_queue_is_logged_at_most_once_a_minute_and_memory_stays_bounded() {
        let copies = ReplyCopies::new(ReplyToSettings::default());
        let t0 = Instant::now();
        assert!(copies.should_log("q1", t0));
        assert!(!copies.should_log("q1", t0 + Duration::from_secs(59)));
        assert!(copies.should_log("q2", t0 + Duration::from_secs(1)));
        assert!(copies.should_log("q1", t0 + Duration::from_secs(61)));
        for i in 0..10 * QUEUES_REMEMBERED {
            copies.should_log(&format!("spray-{i}"), t0 + Duration::from_secs(70));
        }
        let remembered = copies.last_logged.lock().unwrap().len();
        assert!(remembered <= QUEUES_REMEMBERED, "{remembered}");
    }

    #[test]
    fn only_allowed_prefixes_get_copies() {
        let open = ReplyCopies::new(ReplyToSettings::default());
        assert_eq!(open.target(Some("amq.gen-abc")), Some("amq.gen-abc"));
        assert_eq!(open.target(Some("")), None);
        assert_eq!(open.target(None), None);
        let limited = ReplyCopies::new(ReplyToSettings {
            allowed_prefixes: Some(vec!["replies.".to_owned(), "amq.gen-".to_owned()]),
        });
        assert_eq!(
            limited.target(Some("replies.team-a")),
            Some("replies.team-a")
        );
        assert_eq!(limited.target(Some("amq.gen-xyz")), Some("amq.gen-xyz"));
        assert_eq!(limited.target(Some("orders")), None);
    }
}
