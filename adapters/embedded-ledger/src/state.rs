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
//! retains fill the log sparsely below its offset, and readers may not start before its readable floor. Planning a
//! compaction and switching to the compacted journal happen here too ([`State::plan_compaction`],
//! [`State::install_compaction`]); writing the file is [`crate::compaction`]'s.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use ledger_port::{CreatedEvent, Event, LedgerError, RejectionReason, Transaction};

use crate::hash_index::HashIndex;
use crate::journal::{
    EventOutline, JournalReader, JournalSync, JournalWriter, RECORD_HEADER_LEN, RecordLocation,
    ReplaySink, TransactionOutline,
};
use crate::snapshot::Snapshot;
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

/// What a compaction keeps, decided under the lock; the file is written from it without the lock.
pub(crate) struct CompactionPlan {
    /// The snapshot record to write (`retained` filled in).
    pub snapshot: Snapshot,
    /// The records to keep before the snapshot, by log index, where they are in the current journal.
    pub retained: Vec<(usize, RecordLocation)>,
    /// Reads the current journal.
    pub reader: JournalReader,
    /// Where the records after the snapshot start in the current journal.
    pub tail_start: u64,
    /// How many journal records before the snapshot the plan leaves out.
    pub pruned: u64,
}

/// A sequenced transaction found by command id.
pub(crate) struct Found {
    pub transaction: Arc<Transaction>,
    pub durable: bool,
}

/// Rebuilds a journaled ledger's state from the journal's records, one at a time.
pub(crate) struct Replay {
    active: HashMap<String, Creation>,
    by_command: HashIndex,
    by_update: HashIndex,
    /// The snapshot's offset (0 without one): indexes below it are retained records only.
    pruned: usize,
    readable_from: i64,
    retained: Vec<(usize, RecordLocation)>,
    locations: Vec<RecordLocation>,
}

impl Replay {
    pub fn new() -> Self {
        Self {
            active: HashMap::new(),
            by_command: HashIndex::default(),
            by_update: HashIndex::default(),
            pruned: 0,
            readable_from: 0,
            retained: Vec::new(),
            locations: Vec::new(),
        }
    }

    /// The state, every replayed transaction durable, appending new ones to `journal`. Fails naming the contract
    /// when the snapshot's active set points at a transaction the journal does not hold.
    pub fn finish(self, writer: JournalWriter, reader: JournalReader) -> Result<State, String> {
        let durable_end = (self.pruned + self.locations.len()) as i64;
        let log = TransactionLog::journaled(reader, self.pruned, self.retained, self.locations);
        if let Some((contract_id, creation)) = self
            .active
            .iter()
            .find(|(_, c)| log.location(c.index).is_none())
        {
            return Err(format!(
                "the snapshot lists contract {contract_id} as active, created at offset {}, but the journal does \
                 not hold that transaction",
                creation.index + 1
            ));
        }
        Ok(State {
            active: self.active,
            log,
            by_command: self.by_command,
            by_update: self.by_update,
            fault_attempts: HashMap::new(),
            journal: Some(writer),
            durable_end,
            archived_after_durable: VecDeque::new(),
            broken: None,
            readable_from: self.readable_from,
        })
    }
}

impl ReplaySink for Replay {
    fn snapshot(&mut self, snapshot: Snapshot) {
        self.pruned = snapshot.offset.max(0) as usize;
        self.readable_from = snapshot.readable_from;
        for (contract_id, offset, node) in snapshot.active {
            let index = (offset - 1).max(0) as usize;
            self.active.insert(contract_id, Creation { index, node });
        }
    }

    /// Applies the next record. Retained records (before the snapshot) are only indexed: the snapshot already
    /// says which contracts are active.
    fn record(&mut self, location: RecordLocation, outline: TransactionOutline) {
        let index = (outline.offset - 1).max(0) as usize;
        if index < self.pruned {
            self.retained.push((index, location));
        } else {
            let effects = effects_of(&outline.events);
            apply_effects(&mut self.active, index, effects);
            self.locations.push(location);
        }
        self.by_command.insert(&outline.command_id, index);
        self.by_update.insert(&outline.update_id, index);
    }
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

impl ActiveSetEvent for EventOutline {
    fn effect(&self, node: u32) -> Option<Effect<'_>> {
        match self {
            EventOutline::Created(c) => Some(Effect::Created(&c.contract_id, node)),
            EventOutline::Archived(a) => Some(Effect::Archived(&a.contract_id)),
            EventOutline::Exercised(_) => None,
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

    /// Decides what a compaction at the durable end keeps: the creators of the contracts active there, the
    /// transactions inside the deduplication window (`window_micros` of effective time before the last one), and
    /// every transaction after `floor` (clamped between the current floor and the durable end).
    pub fn plan_compaction(
        &self,
        floor: i64,
        window_micros: i64,
    ) -> Result<CompactionPlan, String> {
        let Some(writer) = &self.journal else {
            return Err("the ledger is in memory".to_owned());
        };
        if let Some(why) = &self.broken {
            return Err(format!("the ledger stopped: {why}"));
        }
        let end = self.durable_end;
        let end_index = end as usize;
        let readable_from = floor.clamp(self.readable_from, end);
        let mut active: Vec<(String, Creation)> = self
            .active
            .iter()
            .map(|(id, c)| (id.clone(), *c))
            .chain(self.archived_after_durable.iter().flatten().cloned())
            .filter(|(_, c)| c.index < end_index)
            .collect();
        active.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        active.dedup();
        let window_start = self.window_start(end_index, window_micros)?;
        let mut keep: Vec<usize> = active.iter().map(|(_, c)| c.index).collect();
        keep.extend(window_start.min(readable_from as usize)..end_index);
        keep.sort_unstable();
        keep.dedup();
        let retained: Vec<(usize, RecordLocation)> = keep
            .into_iter()
            .filter_map(|index| self.log.location(index).map(|l| (index, l)))
            .collect();
        let first = self.log.first_unpruned().min(end_index);
        let present = self.log.retained_count() + (end_index - first);
        let pruned = present.saturating_sub(retained.len()) as u64;
        let tail_start = match self.log.location(end_index) {
            Some(first_after) => first_after.position - RECORD_HEADER_LEN as u64,
            None => writer.end(),
        };
        Ok(CompactionPlan {
            snapshot: Snapshot {
                offset: end,
                readable_from,
                retained: retained.len() as u64,
                active: active
                    .into_iter()
                    .map(|(id, c)| (id, c.index as i64 + 1, c.node))
                    .collect(),
            },
            retained,
            reader: writer.reader(),
            tail_start,
            pruned,
        })
    }

    /// The first log index inside the deduplication window ending at `end_index` (exclusive). Effective times grow
    /// with offsets, so a binary search reads a few transactions instead of all of them: first among the records
    /// from the last snapshot on, then, when the window reaches back past the snapshot, among the records retained
    /// below it (which are in offset order too), so a record kept once for the window is pruned once it leaves it.
    fn window_start(&self, end_index: usize, window_micros: i64) -> Result<usize, String> {
        let effective_at = |index: usize| -> Result<i64, String> {
            match self.log.get(index) {
                Ok(Some(tx)) => Ok(tx.effective_at_micros),
                Ok(None) => Err(format!("offset {} is not in the log", index + 1)),
                Err(e) => Err(e.message),
            }
        };
        let first = self.log.first_unpruned().min(end_index);
        if end_index == first {
            return Ok(0);
        }
        let cutoff = effective_at(end_index - 1)?.saturating_sub(window_micros);
        let (mut low, mut high) = (first, end_index - 1);
        while low < high {
            let middle = low + (high - low) / 2;
            if effective_at(middle)? >= cutoff {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        if low != first {
            return Ok(low);
        }
        let below: Vec<usize> = self.log.retained_indexes().collect();
        let (mut low, mut high) = (0, below.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if effective_at(below[middle])? >= cutoff {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(match below.get(low) {
            Some(_) if low == 0 => 0,
            Some(index) => *index,
            None => first,
        })
    }

    /// Switches to the compacted journal `writer` holds (already installed and synced): the log becomes sparse
    /// below the snapshot, the records after it moved by `shift` bytes, the indexes forget pruned transactions.
    pub fn install_compaction(
        &mut self,
        snapshot: &Snapshot,
        retained: Vec<(usize, RecordLocation)>,
        shift: i64,
        writer: JournalWriter,
    ) {
        self.log.compacted(
            writer.reader(),
            snapshot.offset.max(0) as usize,
            retained,
            shift,
        );
        let log = &self.log;
        self.by_command.retain(|index| !log.is_pruned(index));
        self.by_update.retain(|index| !log.is_pruned(index));
        self.journal = Some(writer);
        self.readable_from = snapshot.readable_from;
        // Everything written is in the synced new file.
        let written = self.written_end();
        self.mark_durable(written);
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
