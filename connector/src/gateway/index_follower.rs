//! The index follower: keeps the contract index current by following the ledger's update stream, whoever made the
//! transactions (this instance, another instance of the same deployment, another application).
//!
//! Why it exists: with `amqp.single_active_consumer`, a standby instance receives no deliveries, so its processor
//! never applies anything; and the observer used to apply only transactions whose command id was not the gateway's
//! own, which every instance of one deployment shares. A standby's index therefore stayed as it was loaded at its
//! start, and once it became active it acted on contracts archived long ago. Following the stream makes the index
//! what the ledger is now, a stream's latency behind.
//!
//! It runs in every `connector run`, active or standby: for the active instance it is harmless (each transaction is
//! applied once, by the processor or by the follower, whichever is first: `applied_offsets.rs`), and it is what keeps
//! the index current with others' transactions even with `observe: off`. The observer no longer writes the index.
//!
//! It resumes from the offset the index holds everything up to. A stream that fails is opened again after a pause;
//! one whose start the ledger has pruned (the follower fell behind a compaction or a participant's pruning) cannot be
//! resumed, so the index is loaded again from the active contract set. The contracts a followed transaction archived
//! are remembered for the observer, which names them in what it publishes (it may publish the transaction after the
//! follower applied it).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::health::Health;
use crate::processor::Processor;
use crate::publishing::reconnect_delay;
use crate::shutdown::until_stopped;

/// Starts following; the index is marked as followed at once, so the processor's own transactions from now on are
/// remembered until the follower passes them.
pub fn spawn(
    processor: Arc<Processor>,
    health: Arc<Health>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    {
        let index = processor.index();
        let mut index = index.write().unwrap_or_else(|e| e.into_inner());
        index.start_following();
        health
            .index_offset
            .store(index.followed_through().max(0) as u64, Ordering::Relaxed);
    }
    tokio::spawn(follow(processor, health, shutdown))
}

/// Why one stream ended.
enum StreamEnd {
    Shutdown,
    Failed(String),
    Pruned(String),
}

async fn follow(
    processor: Arc<Processor>,
    health: Arc<Health>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut attempt = 0u32;
    loop {
        let end = follow_once(&processor, &health, &mut shutdown, &mut attempt).await;
        let why = match end {
            StreamEnd::Shutdown => return,
            StreamEnd::Failed(why) => why,
            StreamEnd::Pruned(why) => {
                tracing::warn!(error = %why, "the index follower cannot resume where it was; loading the index again from the active contracts");
                match processor.load_index().await {
                    Ok(offset) => {
                        tracing::info!(offset, "contract index loaded again");
                        continue;
                    }
                    Err(e) => format!("cannot load the active contracts again: {e}"),
                }
            }
        };
        attempt = attempt.saturating_add(1);
        tracing::warn!(error = %why, attempt, "index follower interrupted; resuming");
        health.record_error(format!("index follower: {why}"));
        tokio::select! {
            _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
            _ = until_stopped(&mut shutdown) => return,
        }
    }
}

async fn follow_once(
    processor: &Processor,
    health: &Health,
    shutdown: &mut watch::Receiver<bool>,
    attempt: &mut u32,
) -> StreamEnd {
    let begin = processor
        .index()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .followed_through();
    let mut updates = match processor
        .ledger()
        .updates(begin, &processor.update_filter())
        .await
    {
        Ok(updates) => updates,
        Err(e) if e.is_pruned() => return StreamEnd::Pruned(e.to_string()),
        Err(e) => return StreamEnd::Failed(format!("update stream: {e}")),
    };
    tracing::debug!(
        begin_exclusive = begin,
        "index follower following the ledger"
    );
    let mapping = processor.mapping().clone();
    let index = processor.index();
    loop {
        let tx = tokio::select! {
            biased;
            _ = until_stopped(&mut *shutdown) => return StreamEnd::Shutdown,
            next = updates.next() => match next {
                None => return StreamEnd::Failed("the ledger's update stream ended".to_owned()),
                Some(Err(e)) if e.is_pruned() => return StreamEnd::Pruned(e.to_string()),
                Some(Err(e)) => return StreamEnd::Failed(format!("update stream: {e}")),
                Some(Ok(tx)) => tx,
            },
        };
        *attempt = 0;
        let consumed = index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .apply_followed(&tx, &mapping);
        for contract in consumed.iter().flatten() {
            processor.remember_consumed(contract);
        }
        health
            .index_offset
            .store(tx.offset.max(0) as u64, Ordering::Relaxed);
    }
}
