//! The ledger observer: publishes what happens on the ledger that the gateway's own requests did not cause. (The
//! contract index is kept current by the index follower, `gateway/index_follower.rs`, in every instance.)
//!
//! With several instances of one deployment, only the leader publishes (`leadership.rs`). Each time an instance
//! becomes leader it reads the checkpoint from the state store again and resumes after it, never from where its own
//! memory says: another leader may have moved the checkpoint meanwhile (with a shared state store), and its own
//! stream position says nothing about what was confirmed. Losing leadership stops publishing at once, mid-batch if
//! need be; the checkpoint then stays at the last confirmed batch.
//!
//! Start-up is gap-free: with a checkpoint it resumes after it; without one it optionally sweeps the active
//! contracts (ContractMessage, `isNewContract: false`) and follows the update stream from the sweep's offset. The
//! checkpoint advances only after the broker confirmed the egress up to that offset, so a crash re-publishes
//! (with the same message ids) rather than skips.
//!
//! A checkpoint the ledger has pruned past (a Daml participant's pruning, or an embedded journal compacted without
//! this gateway's checkpoint as its floor) cannot be resumed: the transactions in between are gone and would be
//! skipped without a trace. The observer then stops with an error naming both offsets instead of retrying forever;
//! the gateway goes on processing requests. (Within one gateway this cannot happen: the gateway tells the embedded
//! ledger to keep every transaction after the observer's checkpoint.)

pub mod leadership;
mod observed_messages;

use std::sync::Arc;
use std::time::Duration;

use amqp_transport::{AmqpSession, AmqpSettings, PendingConfirm, Publisher};
use futures::{FutureExt, StreamExt};
use ledger_port::{LedgerError, Transaction};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use observed_messages::{
    message_for_active_contract, messages_for_transaction, unknown_archived_contracts,
};

use crate::config::{Config, ObserveMode};
use crate::contract_index::IndexedContract;
use crate::encoded_egress::EncodedEgress;
use crate::health::Health;
use crate::metrics_names;
use crate::outcome_store::OutcomeStore;
use crate::processor::{COMMAND_ID_PREFIX, Processor};
use crate::publishing::{amqp_message, confirmed, now_secs};
use crate::roles::ObserverRole;

/// Resolves once `leader` turns false (never without an election, nor when the election task is gone: the last
/// value it sent stands only until then, so a gone task counts as lost).
async fn leadership_lost(leader: Option<&mut watch::Receiver<bool>>) {
    match leader {
        Some(leader) => {
            let _ = leader.wait_for(|leads| !*leads).await;
        }
        None => std::future::pending().await,
    }
}

/// Most transactions published before their confirms are awaited and the checkpoint advances.
const MAX_BATCH: usize = 256;

/// Why following the ledger stopped.
enum Interruption {
    /// Worth resuming from the checkpoint after a pause (broker or ledger unavailable, stream ended).
    Retry(String),
    /// Another instance leads now: publish nothing more until this one leads again.
    LeadershipLost,
    /// The checkpoint is before what the ledger still has: resuming would skip history, so the observer stops.
    Pruned(String),
}

impl From<String> for Interruption {
    fn from(why: String) -> Self {
        Interruption::Retry(why)
    }
}

/// The interruption for an error from the update stream that started after `begin`.
fn stream_error(error: LedgerError, begin: i64) -> Interruption {
    if !error.is_pruned() {
        return Interruption::Retry(format!("update stream: {error}"));
    }
    let earliest = error
        .pruned
        .map(|p| format!("offset {}", p.earliest))
        .unwrap_or_else(|| "a later offset".to_owned());
    Interruption::Pruned(format!(
        "the observer cannot resume from its checkpoint at offset {begin}: the ledger's history up to {earliest} \
         was pruned ({}). The transactions in between were never published and cannot be read any more, so the \
         observer stops rather than skip them; the gateway goes on processing requests. Restore the ledger's \
         history (a journal backup), or accept the gap and start over with a new state_dir (the observer then \
         sweeps the active contracts)",
        error.message
    ))
}

struct Observer {
    mode: ObserveMode,
    sweep: bool,
    settings: AmqpSettings,
    processor: Arc<Processor>,
    outcomes: Arc<dyn OutcomeStore>,
    health: Arc<Health>,
    /// The offset the index was loaded at: where a first leader with no checkpoint yet starts.
    index_offset: i64,
    /// `true` while this instance leads (`leadership.rs`); `None` when there is no election and it always does.
    leader: Option<watch::Receiver<bool>>,
}

/// Starts the observer unless `observe: off`.
pub fn spawn(
    config: &Config,
    processor: Arc<Processor>,
    outcomes: Arc<dyn OutcomeStore>,
    health: Arc<Health>,
    index_offset: i64,
    leader: Option<watch::Receiver<bool>>,
    shutdown: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    if config.observe == ObserveMode::Off {
        health.set_observer_role(ObserverRole::Off);
        return None;
    }
    health.set_observer_role(if leader.is_some() {
        ObserverRole::Follower
    } else {
        ObserverRole::Leader
    });
    let mut settings = config.amqp.clone();
    settings.connection_name = Some(format!(
        "{}-observer",
        settings
            .connection_name
            .clone()
            .unwrap_or_else(|| "connector".to_owned())
    ));
    let observer = Observer {
        mode: config.observe,
        sweep: config.sweep,
        settings,
        processor,
        outcomes,
        health,
        index_offset,
        leader,
    };
    Some(tokio::spawn(observer.run(shutdown)))
}

impl Observer {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut attempt = 0u32;
        let mut leader = self.leader.take();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Some(leader) = leader.as_mut() {
                tokio::select! {
                    led = leader.wait_for(|leads| *leads) => if led.is_err() { return },
                    _ = crate::shutdown::until_stopped(&mut shutdown) => return,
                }
            }
            self.health.set_observer_role(ObserverRole::Leader);
            let observed = tokio::select! {
                observed = self.observe(&mut shutdown) => observed,
                _ = leadership_lost(leader.as_mut()) => Err(Interruption::LeadershipLost),
            };
            if leader.is_some() {
                self.health.set_observer_role(ObserverRole::Follower);
            }
            match observed {
                Ok(()) => return,
                Err(Interruption::LeadershipLost) => {
                    tracing::warn!("observer leadership lost: publishing stopped");
                    attempt = 0;
                }
                Err(Interruption::Pruned(why)) => {
                    tracing::error!(error = %why, "observer stopped");
                    self.health.record_error(format!("observer stopped: {why}"));
                    return;
                }
                Err(Interruption::Retry(e)) => {
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(error = %e, attempt, "observer interrupted; resuming from its checkpoint");
                    self.health.record_error(format!("observer: {e}"));
                    tokio::select! {
                        _ = tokio::time::sleep(crate::publishing::reconnect_delay(attempt)) => {}
                        _ = crate::shutdown::until_stopped(&mut shutdown) => return,
                    }
                }
            }
        }
    }

    async fn observe(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), Interruption> {
        let session = AmqpSession::connect(&self.settings)
            .await
            .map_err(|e| e.to_string())?;
        let publisher = session.publisher();
        let ledger = self.processor.ledger().clone();
        let filter = self.processor.update_filter();
        let begin = match self.outcomes.checkpoint().map_err(|e| e.to_string())? {
            Some(checkpoint) => checkpoint,
            None => {
                let start = if self.sweep {
                    self.sweep(&publisher).await?
                } else {
                    self.index_offset
                };
                self.outcomes
                    .set_checkpoint(start)
                    .map_err(|e| e.to_string())?;
                start
            }
        };
        self.health
            .observer_offset
            .store(begin.max(0) as u64, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(begin_exclusive = begin, mode = ?self.mode, "observer following the ledger");
        let mut updates = ledger
            .updates(begin, &filter)
            .await
            .map_err(|e| stream_error(e, begin))?;
        loop {
            let first = tokio::select! {
                biased;
                _ = crate::shutdown::until_stopped(&mut *shutdown) => {
                    let _ = session.close().await;
                    return Ok(());
                }
                _ = session.closed() => return Err("broker connection closed".to_owned().into()),
                next = updates.next() => match next {
                    None => return Err("the ledger's update stream ended".to_owned().into()),
                    Some(Err(e)) => return Err(stream_error(e, begin)),
                    Some(Ok(tx)) => tx,
                },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match updates.next().now_or_never() {
                    Some(Some(Ok(tx))) => batch.push(tx),
                    Some(Some(Err(e))) => return Err(stream_error(e, begin)),
                    _ => break,
                }
            }
            self.publish_batch(&publisher, &batch).await?;
        }
    }

    /// The contracts `tx` archived that the index no longer knows (the processor applied its own archive when it
    /// committed it; the index follower may have applied anyone's before the observer gets here): from the
    /// processor's memory of recently archived contracts (both remember there), else, on the embedded
    /// ledger only, from the ledger (a hash lookup). A Daml participant is never asked here: that would be a scan of
    /// completions for every archive. Not finding them publishes the transaction without those messages.
    async fn consumed_unknown_to_index(&self, tx: &Transaction) -> Vec<IndexedContract> {
        let unknown = {
            let index = self.processor.index();
            let guard = index.read().unwrap_or_else(|e| e.into_inner());
            unknown_archived_contracts(self.processor.mapping(), &guard, tx)
        };
        if unknown.is_empty() {
            return Vec::new();
        }
        let remembered: Vec<IndexedContract> = unknown
            .iter()
            .filter_map(|id| self.processor.recently_consumed(id))
            .collect();
        if remembered.len() == unknown.len()
            || tx.command_id.is_empty()
            || self.processor.ledger().ledger_type() != "embedded"
        {
            return remembered;
        }
        let acting: Vec<String> = tx
            .events
            .iter()
            .find_map(|e| match e {
                ledger_port::Event::Exercised(x) => Some(x.acting_parties.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let filter = self.processor.update_filter();
        match self
            .processor
            .ledger()
            .committed_command(&tx.command_id, &acting, &filter)
            .await
        {
            Ok(Some(found)) => found
                .consumed
                .iter()
                .filter_map(|created| {
                    IndexedContract::of_created(
                        created,
                        self.processor.mapping(),
                        self.processor.stakeholder_rule(),
                    )
                })
                .collect(),
            Ok(None) => remembered,
            Err(e) => {
                tracing::warn!(update_id = %tx.update_id, error = %e.message, "the contract a transaction archived could not be read back; it is published without it");
                remembered
            }
        }
    }

    async fn publish_batch(
        &self,
        publisher: &Publisher,
        batch: &[Transaction],
    ) -> Result<(), String> {
        let mut confirms = Vec::new();
        let mut published = 0u64;
        let info = self.processor.info().clone();
        let mapping = self.processor.mapping().clone();
        let index = self.processor.index();
        for tx in batch {
            let own = tx.command_id.starts_with(COMMAND_ID_PREFIX);
            let messages = if !own || self.mode == ObserveMode::All {
                let consumed = self.consumed_unknown_to_index(tx).await;
                let guard = index.read().unwrap_or_else(|e| e.into_inner());
                messages_for_transaction(&info, &mapping, &guard, tx, &consumed)
            } else {
                Vec::new()
            };
            for egress in EncodedEgress::encode_all(&messages, &tx.update_id) {
                confirms.push(publish(publisher, &self.settings.egress_exchange, &egress).await?);
                published += 1;
            }
        }
        await_confirms(confirms, &self.health).await?;
        if let Some(last) = batch.last() {
            self.outcomes
                .set_checkpoint(last.offset)
                .map_err(|e| e.to_string())?;
            self.health.observer_offset.store(
                last.offset.max(0) as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            if let Ok(end) = self.processor.ledger().ledger_end().await {
                metrics::gauge!(metrics_names::OBSERVER_LAG).set((end - last.offset).max(0) as f64);
            }
        }
        metrics::counter!(metrics_names::OBSERVER_MESSAGES).increment(published);
        Ok(())
    }

    /// Publishes every active contract once; returns the offset the sweep was taken at.
    async fn sweep(&self, publisher: &Publisher) -> Result<i64, String> {
        let mut acs = self
            .processor
            .ledger()
            .active_contract_stream(&self.processor.update_filter())
            .await
            .map_err(|e| e.to_string())?;
        let info = self.processor.info().clone();
        let mut confirms = Vec::new();
        while let Some(active) = acs.contracts.next().await {
            let active = active.map_err(|e| e.to_string())?;
            if let Some(message) =
                message_for_active_contract(&info, self.processor.mapping(), &active)
            {
                let egress = EncodedEgress::encode(
                    &message,
                    &format!("sweep:{}", active.created.contract_id),
                    0,
                );
                confirms.push(publish(publisher, &self.settings.egress_exchange, &egress).await?);
            }
        }
        let count = confirms.len();
        await_confirms(confirms, &self.health).await?;
        tracing::info!(
            contracts = count,
            offset = acs.offset,
            "observer sweep published the active contracts"
        );
        metrics::counter!(metrics_names::OBSERVER_MESSAGES).increment(count as u64);
        Ok(acs.offset)
    }
}

async fn publish(
    publisher: &Publisher,
    exchange: &str,
    egress: &EncodedEgress,
) -> Result<PendingConfirm, String> {
    publisher
        .publish(&amqp_message(
            exchange,
            &egress.routing_key,
            egress,
            now_secs(),
        ))
        .await
        .map_err(|e| format!("publish failed: {e}"))
}

/// How long the observer waits for one confirm before it gives up on the session and resumes from its checkpoint.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

async fn await_confirms(confirms: Vec<PendingConfirm>, health: &Health) -> Result<(), String> {
    for confirm in confirms {
        match tokio::time::timeout(CONFIRM_TIMEOUT, confirmed(confirm, "observer", health)).await {
            Ok(Ok(())) => {}
            Ok(Err(unconfirmed)) => return Err(unconfirmed.to_string()),
            Err(_) => {
                return Err(format!(
                    "no publisher confirm within {} s",
                    CONFIRM_TIMEOUT.as_secs()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{PrunedOffset, RejectionReason};

    #[test]
    fn a_pruned_checkpoint_stops_the_observer_naming_both_offsets_and_other_errors_retry() {
        let pruned = LedgerError::from(PrunedOffset {
            requested: 7,
            earliest: 40,
        });
        match stream_error(pruned, 7) {
            Interruption::Pruned(why) => {
                assert!(why.contains("checkpoint at offset 7"), "{why}");
                assert!(why.contains("up to offset 40"), "{why}");
            }
            Interruption::Retry(why) => panic!("a pruned checkpoint must not be retried: {why}"),
            Interruption::LeadershipLost => panic!("no election here"),
        }
        // A Daml participant's pruning error arrives by its id only.
        let remote = LedgerError::permanent(RejectionReason::Rejected, "GetUpdates: pruned")
            .with_ledger_error(ledger_port::PRUNED_DATA_ACCESSED);
        assert!(matches!(stream_error(remote, 7), Interruption::Pruned(_)));
        let unavailable = LedgerError::transient("connection reset");
        assert!(matches!(
            stream_error(unavailable, 7),
            Interruption::Retry(_)
        ));
    }
}
