//! Reading and replaying the dead-letter queue over an open broker session; each letter is handed to the caller as
//! one JSON object, so the CLI prints lines and the HTTP surface collects an array from the same walk.

use amqp_transport::{AmqpSession, ConfirmOutcome};
use serde_json::{Value, json};

use super::original::original;
use super::{LetterSummary, ReplayFilter};

/// What a replay did (or, dry, would do).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Letters the filter chose (moved, unless dry).
    pub matched: usize,
    /// Letters left where they were.
    pub kept: usize,
}

/// Hands each letter to `on_letter` in queue order (at most `limit`), removing nothing; returns how many.
pub async fn list_letters(
    session: &AmqpSession,
    limit: Option<usize>,
    mut on_letter: impl FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let reader = session.dead_letter_reader().await?;
    let mut count = 0;
    let result: anyhow::Result<()> = async {
        while limit.is_none_or(|l| count < l) {
            let Some(letter) = reader.next().await? else {
                break;
            };
            count += 1;
            on_letter(LetterSummary::of(&letter).to_json(count))?;
        }
        Ok(())
    }
    .await;
    // Closing returns every letter read, whatever happened above; the first error is the one reported.
    let closed = reader.close().await;
    result?;
    closed?;
    Ok(count)
}

/// Moves the letters `filter` chooses back to `ingress_queue` (or, `dry_run`, only says which), handing each chosen
/// letter to `on_letter` with its `action`. An empty filter is refused: the caller names its own flags in the error.
///
/// Only the letters in the queue when the replay starts are walked: a replayed letter that fails again at once (a
/// 4000 stays malformed) is dead-lettered behind them, and walking on would replay it again and again.
pub async fn replay_letters(
    session: &AmqpSession,
    ingress_queue: &str,
    filter: &ReplayFilter,
    dry_run: bool,
    mut on_letter: impl FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<ReplayCounts> {
    anyhow::ensure!(
        !filter.is_empty(),
        "a replay needs a code, a request id or all"
    );
    let publisher = session.publisher();
    let reader = session.dead_letter_reader().await?;
    let mut counts = ReplayCounts::default();
    let result: anyhow::Result<()> = async {
        let mut position = 0;
        let mut at_start: Option<usize> = None;
        while at_start.is_none_or(|n| position < n) {
            let Some(letter) = reader.next().await? else {
                break;
            };
            position += 1;
            // The broker counts what is behind the first letter read: that and the first are the queue at start.
            at_start.get_or_insert(letter.left_behind as usize + 1);
            let summary = LetterSummary::of(&letter);
            if !filter.matches(&summary) {
                counts.kept += 1;
                continue;
            }
            if !dry_run {
                let outcome = publisher
                    .publish(&original(&letter, ingress_queue))
                    .await?
                    .wait()
                    .await?;
                if outcome != ConfirmOutcome::Acked {
                    anyhow::bail!(
                        "the broker did not take letter {position} (requestId {:?}) onto queue {ingress_queue:?}: {outcome:?}; it stays in the dead-letter queue",
                        summary.request_id
                    );
                }
                reader.remove(&letter).await?;
            }
            counts.matched += 1;
            let mut line = summary.to_json(position);
            line["action"] = Value::from(if dry_run { "would_replay" } else { "replayed" });
            on_letter(line)?;
        }
        Ok(())
    }
    .await;
    let closed = reader.close().await;
    result?;
    closed?;
    Ok(counts)
}

/// The summary a replay ends with.
pub fn replay_summary(counts: &ReplayCounts, dry_run: bool, ingress_queue: &str) -> Value {
    json!({
        "summary": if dry_run { "dry_run" } else { "replayed" },
        "moved": if dry_run { 0 } else { counts.matched },
        "matched": counts.matched,
        "kept": counts.kept,
        "ingressQueue": ingress_queue,
    })
}
