//! `connector dead-letters list|replay`: read the dead-letter queue without removing anything, and move chosen
//! letters back to the ingress queue ("rewind the tape", e.g. the 5030s of a ledger outage once it is over).
//!
//! Replay publishes each letter to the ingress queue and waits for the broker's confirm before it removes the letter,
//! so a crash in between leaves the letter where it was: at worst it is replayed twice, and the gateway answers a
//! request whose outcome it recorded with that outcome again. Letters not chosen are read unacked and handed back
//! when the reading channel closes, which keeps their order (see `amqp_transport::DeadLetterReader`).
//!
//! The AMQP `user_id` is not carried over: RabbitMQ refuses a `user_id` other than the publishing connection's user,
//! and the gateway's own dead-letter copies carry none. A replayed letter arrives as published by no named user.

use std::io::Write;
use std::path::Path;

use amqp_transport::{AmqpSession, ConfirmOutcome, DeadLetter, OutgoingMessage};
use anyhow::Context;
use serde_json::{Value, json};

use crate::config::Config;

/// Headers the dead-lettering added; a replayed original goes out without them.
const DEAD_LETTER_HEADERS: [&str; 4] = [
    "x-error-code",
    "x-error-reason",
    "x-original-queue",
    "x-original-message-id",
];

/// Which letters to move: each filter given must hold (codes and ids each match any of theirs); `all` moves every
/// letter.
#[derive(Debug, Default, Clone)]
pub struct ReplayFilter {
    pub codes: Vec<u16>,
    pub request_ids: Vec<String>,
    pub all: bool,
}

impl ReplayFilter {
    fn check(&self) -> anyhow::Result<()> {
        if !self.all && self.codes.is_empty() && self.request_ids.is_empty() {
            anyhow::bail!(
                "dead-letters replay needs --code, --request-id or --all (refusing to guess which letters to move)"
            );
        }
        Ok(())
    }

    fn matches(&self, summary: &LetterSummary) -> bool {
        if self.all {
            return true;
        }
        let code_ok = self.codes.is_empty()
            || summary
                .error_code
                .as_deref()
                .and_then(|c| c.trim().parse::<u16>().ok())
                .is_some_and(|c| self.codes.contains(&c));
        let id_ok = self.request_ids.is_empty()
            || summary
                .request_id
                .as_ref()
                .is_some_and(|id| self.request_ids.contains(id));
        code_ok && id_ok
    }
}

/// What `list` says about a letter.
struct LetterSummary {
    request_id: Option<String>,
    error_code: Option<String>,
    error_reason: Option<String>,
    when_unix_seconds: Option<u64>,
    size_bytes: usize,
    message_id: Option<String>,
}

impl LetterSummary {
    fn of(letter: &DeadLetter) -> Self {
        let d = &letter.delivery;
        Self {
            request_id: request_id(&d.body),
            error_code: d.headers.get("x-error-code").cloned(),
            error_reason: d.headers.get("x-error-reason").cloned(),
            when_unix_seconds: letter.timestamp_secs.or(letter.death_time_secs),
            size_bytes: d.body.len(),
            message_id: original_message_id(letter),
        }
    }

    fn to_json(&self, position: usize) -> Value {
        let code: Value = match self.error_code.as_deref().map(str::trim) {
            Some(c) => c
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(c)),
            None => Value::Null,
        };
        json!({
            "position": position,
            "requestId": self.request_id,
            "errorCode": code,
            "errorReason": self.error_reason,
            "whenUnixSeconds": self.when_unix_seconds,
            "sizeBytes": self.size_bytes,
            "messageId": self.message_id,
        })
    }
}

/// The body's `requestId` when the body is a JSON object with a string one; a sender's bad body is no error here.
fn request_id(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("requestId")?.as_str().map(str::to_owned)
}

/// The original's message id: the gateway's copy names it in a header; a letter the broker moved keeps its own.
fn original_message_id(letter: &DeadLetter) -> Option<String> {
    let d = &letter.delivery;
    match d.headers.get("x-original-message-id") {
        Some(id) => Some(id.clone()),
        None if d.headers.contains_key("x-error-code") => None,
        None => d.message_id.clone(),
    }
}

/// Prints one JSON line per letter in queue order (at most `limit`), removing nothing; returns how many.
pub async fn list_dead_letters(
    config: &Path,
    limit: Option<usize>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let config = Config::load(config)?;
    let session = AmqpSession::connect(&config.amqp)
        .await
        .with_context(|| format!("cannot connect to {}", config.amqp.redacted_url()))?;
    let reader = session.dead_letter_reader().await?;
    let mut count = 0;
    let result: anyhow::Result<()> = async {
        while limit.is_none_or(|l| count < l) {
            let Some(letter) = reader.next().await? else {
                break;
            };
            count += 1;
            writeln!(out, "{}", LetterSummary::of(&letter).to_json(count))?;
        }
        Ok(())
    }
    .await;
    // Closing returns every letter read, whatever happened above; the first error is the one reported.
    let closed = reader.close().await;
    let _ = session.close().await;
    result?;
    closed?;
    Ok(count)
}

/// What a replay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    pub moved: usize,
    pub kept: usize,
}

/// Moves the letters `filter` chooses back to the ingress queue (or, with `dry_run`, only says which), printing one
/// JSON line per letter moved and a summary line.
pub async fn replay_dead_letters(
    config: &Path,
    filter: &ReplayFilter,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ReplayCounts> {
    filter.check()?;
    let config = Config::load(config)?;
    let session = AmqpSession::connect(&config.amqp)
        .await
        .with_context(|| format!("cannot connect to {}", config.amqp.redacted_url()))?;
    let publisher = session.publisher();
    let reader = session.dead_letter_reader().await?;
    let ingress = config.amqp.ingress_queue.clone();
    let mut counts = ReplayCounts::default();
    let result: anyhow::Result<()> = async {
        let mut position = 0;
        while let Some(letter) = reader.next().await? {
            position += 1;
            let summary = LetterSummary::of(&letter);
            if !filter.matches(&summary) {
                counts.kept += 1;
                continue;
            }
            if !dry_run {
                let outcome = publisher
                    .publish(&original(&letter, &ingress))
                    .await?
                    .wait()
                    .await?;
                if outcome != ConfirmOutcome::Acked {
                    anyhow::bail!(
                        "the broker did not take letter {position} (requestId {:?}) onto queue {ingress:?}: {outcome:?}; it stays in the dead-letter queue",
                        summary.request_id
                    );
                }
                reader.remove(&letter).await?;
            }
            counts.moved += 1;
            let mut line = summary.to_json(position);
            line["action"] = Value::from(if dry_run { "would_replay" } else { "replayed" });
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
    .await;
    let closed = reader.close().await;
    let _ = session.close().await;
    result?;
    closed?;
    writeln!(
        out,
        "{}",
        json!({
            "summary": if dry_run { "dry_run" } else { "replayed" },
            "moved": if dry_run { 0 } else { counts.moved },
            "matched": counts.moved,
            "kept": counts.kept,
            "ingressQueue": ingress,
        })
    )?;
    Ok(counts)
}

/// The original a letter holds, addressed to the ingress queue through the default exchange, as `send` publishes.
fn original(letter: &DeadLetter, ingress_queue: &str) -> OutgoingMessage {
    let d = &letter.delivery;
    let headers = d
        .headers
        .iter()
        .filter(|(k, _)| !DEAD_LETTER_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    OutgoingMessage {
        exchange: String::new(),
        routing_key: ingress_queue.to_owned(),
        body: d.body.clone(),
        // Too long a value is left out of its property by the transport, never handed to the AMQP library.
        message_id: original_message_id(letter).unwrap_or_default(),
        correlation_id: d.correlation_id.clone(),
        message_type: None,
        reply_to: d.reply_to.clone(),
        // The gateway's copy is stamped when it was dead-lettered, which is not the original's time; a letter the
        // broker moved itself keeps the original's timestamp.
        timestamp_secs: if d.headers.contains_key("x-error-code") {
            0
        } else {
            letter.timestamp_secs.unwrap_or(0)
        },
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(code: Option<&str>, id: Option<&str>) -> LetterSummary {
        LetterSummary {
            request_id: id.map(str::to_owned),
            error_code: code.map(str::to_owned),
            error_reason: None,
            when_unix_seconds: None,
            size_bytes: 0,
            message_id: None,
        }
    }

    #[test]
    fn a_filter_or_all_is_required() {
        let e = ReplayFilter::default().check().unwrap_err().to_string();
        assert!(e.contains("--code, --request-id or --all"), "{e}");
        let all = ReplayFilter {
            all: true,
            ..Default::default()
        };
        assert!(all.check().is_ok());
    }

    #[test]
    fn filters_combine_and_bad_values_never_match() {
        let f = ReplayFilter {
            codes: vec![5030],
            request_ids: vec!["a".to_owned()],
            all: false,
        };
        assert!(f.matches(&summary(Some("5030"), Some("a"))));
        assert!(!f.matches(&summary(Some("5030"), Some("b"))));
        assert!(!f.matches(&summary(Some("4000"), Some("a"))));
        assert!(!f.matches(&summary(Some("50x30"), Some("a"))));
        assert!(!f.matches(&summary(None, None)));
    }

    #[test]
    fn request_id_is_read_leniently() {
        assert_eq!(request_id(br#"{"requestId":"r1"}"#).as_deref(), Some("r1"));
        assert_eq!(request_id(br#"{"requestId":7}"#), None);
        assert_eq!(request_id(b"\xff not json"), None);
        assert_eq!(request_id(b"[1,2]"), None);
    }
}
