//! The embedded ledger's state: the transaction log, the active contract set, the deduplication and update-id
//! indexes, and where durability has reached.
//!
//! Transactions are applied when they are *sequenced* (so the next command is interpreted on top of them), but
//! readers are shown only the durable prefix of the log: `durable_end` is the offset up to which the journal has been
//! synced. For the active contract set, each not-yet-durable transaction keeps the contracts it archived, so the set
//! can be shown as of `durable_end` without copying it.
//!
//! The indexes hold log positions, not transactions: the active set maps a contract id to where its created event
//! is, and command and update ids are kept as hashes ([`HashIndex`]). With a journal the log itself keeps only recent
//! transactions in memory ([`TransactionLog`]), so memory grows by well under 200 bytes per active contract.
//!
//! A compacted journal starts with a snapshot ([`Snapshot`]): the active set comes from it, the transactions it
//! retains fill the log sparsely below its offset, and readers may not start before its readable floor.
//!
//! Rebuilding the state from a journal is [`replay`]'s; planning a compaction and switching to the compacted journal
//! is [`compaction_plan`]'s (writing the file is [`crate::compaction`]'s). Both are submodules because they build or
//! rewrite the state's private indexes.

pub(crate) mod compaction_plan;
pub(crate) mod replay;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use ledger_port::{CreatedEvent, Event, LedgerError, RejectionReason, Transaction};

use crate::hash_index::HashIndex;
use crate::journal::{JournalSync, JournalWriter};
use crate::transaction_log::{Fetch, TransactionLog};

/// Where a contract's created event is: its transaction's log index and the event's index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Creation {
    pub index: usize,
    pub node: u32,
}

/// An event's effect on the active contract set.
enum Effect<'a> {
    Created(&'a str, u32),
    Archived(&'a str),
}

/// Everything behind the ledger's one lock.
pub(crate) struct State {
    /// Active contracts including those of sequenced, not yet durable transactions.
    active: HashMap<String, Creation>,
    log: TransactionLog,
    by_command: HashIndex,
    by_update: HashIndex,
    pub(crate) fault_attempts: HashMap<String, u32>,
    /// `None` for an in-memory ledger, where a transaction is "durable" as soon as it is sequenced.
    journal: Option<JournalWriter>,
    /// The offset up to which transactions are durable, hence visible to readers.
    durable_end: i64,
    /// For each transaction after `durable_end`, in offset order: the contracts it archived.
    archived_after_durable: VecDeque<Vec<(String, Creation)>>,
    /// Set when a journal write or sync failed: what is in memory may not match the file any more.
    broken: Option<String>,
    /// The earliest `begin_exclusive` readers may use: a compaction pruned what came before.
    readable_from: i64,
}

/// A sequenced transaction found by command id.
pub(crate) struct Found {
    pub transaction: Arc<Transaction>,
    pub durable: bool,
}

/// An event, full or as replay outlines it, as far as the active set is concerned.
trait ActiveSetEvent {
    /// The effect of this event, the `node`-th of its transaction.
    fn effect(&self, node: u32) -> Option<Effect<'_>>;
}

impl ActiveSetEvent for Event {
    fn effect(&self, node: u32) -> Option<Effect<'_>> {
        match self {
            Event::Created(c) => Some(Effect::Created(&c.contract_id, node)),
            Event::Archived(a) => Some(Effect::Archived(&a.contract_id)),
            Event::Exercised(_) => None,
        }
    }
}

/// A transaction's effects on the active set, in event order.
fn effects_of<E: ActiveSetEvent>(events: &[E]) -> impl Iterator<Item = Effect<'_>> {
    events
        .iter()
        .enumerate()
        .filter_map(|(node, event)| event.effect(node as u32))
}

/// Applies one transaction's effects, in event order; returns the contracts it archived.
fn apply_effects<'a>(
    active: &mut HashMap<String, Creation>,
    index: usize,
    effects: impl Iterator<Item = Effect<'a>>,
) -> Vec<(String, Creation)> {
    let mut archived = Vec::new();
    for effect in effects {
        match effect {
            Effect::Created(contract_id, node) => {
                active.insert(contract_id.to_owned(), Creation { index, node });
            }
            Effect::Archived(contract_id) => {
                if let Some(creation) = active.remove(contract_id) {
                    archived.push((contract_id.to_owned(), creation));
                }
            }
        }
    }
    archived
}

/// The created event a creation points at.
pub(crate) fn created_event(tx: &Transaction, node: u32) -> Option<&CreatedEvent> {
    match tx.events.get(node as usize)? {
        Event::Created(c) => Some(c),
        _ => None,
    }
}

impl State {
    /// An empty in-memory state.
    pub fn in_memory() -> Self {
        Self {
            active: HashMap::new(),
            log: TransactionLog::in_memory(),
            by_command: HashIndex::default(),
            by_update: HashIndex::default(),
            fault_attempts: HashMap::new(),
            journal: None,
            durable_end: 0,
            archived_after_durable: VecDeque::new(),
            broken: None,
            readable_from: 0,
        }
    }

    /// The offset of the last sequenced transaction.
    pub fn written_end(&self) -> i64 {
        self.log.len() as i64
    }

    /// The offset of the last durable transaction: the ledger end readers see.
    pub fn durable_end(&self) -> i64 {
        self.durable_end
    }

    /// The earliest `begin_exclusive` readers may use (0 until a compaction pruned something).
    pub fn readable_from(&self) -> i64 {
        self.readable_from
    }

    /// Whether the transaction at `offset` was pruned by a compaction.
    pub fn is_pruned(&self, offset: i64) -> bool {
        offset >= 1 && self.log.is_pruned((offset - 1) as usize)
    }

    /// Syncs the current journal (`None` in memory). Taken anew for every sync: a compaction switches files.
    pub fn syncer(&self) -> Option<JournalSync> {
        self.journal.as_ref().map(JournalWriter::syncer)
    }

    /// Journal records (retained and after the snapshot) and active contracts: what automatic compaction weighs.
    pub fn history_and_active(&self) -> (usize, usize) {
        (self.log.journal_records(), self.active.len())
    }

    /// The journal's length: where its next record goes (0 in memory).
    pub fn journal_end(&self) -> u64 {
        self.journal.as_ref().map_or(0, JournalWriter::end)
    }

    /// Why the ledger stopped, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Marks the ledger broken; every later submission and the ledger end fail with [`broken_error`].
    pub fn set_broken(&mut self, why: String) {
        if self.broken.is_none() {
            self.broken = Some(why);
        }
    }

    /// The transaction holding the contract a command would exercise (whether or not its creation is durable yet),
    /// with the created event's index in it.
    pub fn active_creation(
        &self,
        contract_id: &str,
    ) -> Result<Option<(Arc<Transaction>, u32)>, LedgerError> {
        let Some(creation) = self.active.get(contract_id) else {
            return Ok(None);
        };
        Ok(self.log.get(creation.index)?.map(|tx| (tx, creation.node)))
    }

    /// The transaction a command id produced, durable or not.
    pub fn by_command(&self, command_id: &str) -> Result<Option<Found>, LedgerError> {
        for index in self.by_command.candidates(command_id) {
            if let Some(tx) = self.log.get(index)?
                && tx.command_id == command_id
            {
                return Ok(Some(Found {
                    transaction: tx,
                    durable: (index as i64) < self.durable_end,
                }));
            }
        }
        Ok(None)
    }

    /// Writes the transaction to the journal (no sync) and applies it. Without a journal it is durable at once.
    /// A failed write breaks the ledger: the record may be half written, so nothing may be appended after it.
    pub fn sequence(&mut self, tx: Transaction) -> Result<Arc<Transaction>, LedgerError> {
        let location = match &mut self.journal {
            Some(journal) => match journal.write(&tx) {
                Ok(location) => Some(location),
                Err(e) => {
                    let why = format!("cannot write the journal: {e}");
                    self.set_broken(why.clone());
                    return Err(broken_error(&why));
                }
            },
            None => None,
        };
        let tx = Arc::new(tx);
        let index = self.log.len();
        let effects = effects_of(&tx.events);
        let archived = apply_effects(&mut self.active, index, effects);
        self.by_command.insert(&tx.command_id, index);
        self.by_update.insert(&tx.update_id, index);
        self.log.push(Arc::clone(&tx), location);
        if self.journal.is_some() {
            self.archived_after_durable.push_back(archived);
        } else {
            self.durable_end = self.written_end();
        }
        self.log.forget_old(self.durable_end as usize);
        Ok(tx)
    }

    /// Records that every transaction up to `end` is durable.
    pub fn mark_durable(&mut self, end: i64) {
        while self.durable_end < end.min(self.written_end()) {
            self.archived_after_durable.pop_front();
            self.durable_end += 1;
        }
        self.log.forget_old(self.durable_end as usize);
    }

    /// The durable transaction at a 0-based log index.
    pub fn durable_at(&self, index: usize) -> Result<Option<Arc<Transaction>>, LedgerError> {
        if (index as i64) < self.durable_end {
            self.log.get(index)
        } else {
            Ok(None)
        }
    }

    /// The durable transaction with this update id.
    pub fn durable_by_update(
        &self,
        update_id: &str,
    ) -> Result<Option<Arc<Transaction>>, LedgerError> {
        for index in self.by_update.candidates(update_id) {
            if let Some(tx) = self.durable_at(index)?
                && tx.update_id == update_id
            {
                return Ok(Some(tx));
            }
        }
        Ok(None)
    }

    /// How to get the durable transactions with offsets in `(from_exclusive, to_inclusive]`, clamped to the durable
    /// end; resolve them after letting go of the lock.
    pub fn durable_range(&self, from_exclusive: i64, to_inclusive: i64) -> Vec<Fetch> {
        let to = to_inclusive.min(self.durable_end).max(0) as usize;
        let from = (from_exclusive.max(0) as usize).min(to);
        (from..to).filter_map(|i| self.log.fetch(i)).collect()
    }

    /// Where the active contracts' created events are as of the durable end, in (offset, node) order: contracts
    /// created after it are left out and contracts archived after it are put back.
    pub fn durable_active(&self) -> Vec<Creation> {
        let durable = self.durable_end as usize;
        let mut archived_after: HashSet<Creation> = HashSet::new();
        for archived in &self.archived_after_durable {
            archived_after.extend(archived.iter().map(|(_, creation)| *creation));
        }
        let mut creations: Vec<Creation> = self
            .active
            .values()
            .copied()
            .chain(archived_after)
            .filter(|c| c.index < durable)
            .collect();
        creations.sort_unstable();
        creations.dedup();
        creations
    }

    /// Keeps at most `window` durable transactions in memory (journal only), so tests can reach the journal reads.
    #[cfg(test)]
    pub fn set_recent_window(&mut self, window: usize) {
        self.log.set_window(window);
        self.log.forget_old(self.durable_end as usize);
    }

    /// How many transactions are held in memory.
    #[cfg(test)]
    pub fn transactions_in_memory(&self) -> usize {
        self.log.in_memory_count()
    }

    /// How to get the transaction at a log index (for creations listed by [`State::durable_active`]).
    pub fn fetch(&self, index: usize) -> Option<Fetch> {
        self.log.fetch(index)
    }
}

/// The error every submission (and the ledger end) gets once the ledger is broken. Configuration-class: the gateway
/// must stop consuming rather than record Failures, since a transaction whose sync failed may still be in the file
/// and come back when the journal is replayed.
pub(crate) fn broken_error(why: &str) -> LedgerError {
    LedgerError::configuration(
        RejectionReason::Internal,
        format!(
            "the embedded ledger stopped after a journal failure ({why}); restart to replay the journal"
        ),
    )
    .with_ledger_error("JOURNAL_FAILED")
}
