//! The embedded ledger's in-memory state: the transaction log, the active contract set, the deduplication and
//! update-id indexes, and where durability has reached.
//!
//! Transactions are applied when they are *sequenced* (so the next command is interpreted on top of them), but
//! readers are shown only the durable prefix of the log: `durable_end` is the offset up to which the journal has been
//! synced. For the active contract set, each not-yet-durable transaction keeps the contracts it archived, so the set
//! can be shown as of `durable_end` without copying it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use ledger_port::{
    ActiveContract, CreatedEvent, Event, LedgerError, RejectionReason, Transaction, UpdateFilter,
};

use crate::journal::JournalWriter;

/// A contract's creating transaction and the created event's index in it.
type Creation = (Arc<Transaction>, usize);

/// Everything behind the ledger's one lock.
pub(crate) struct State {
    /// Active contracts including those of sequenced, not yet durable transactions.
    active: HashMap<String, Creation>,
    /// Every sequenced transaction; `log[i]` has offset `i + 1`.
    log: Vec<Arc<Transaction>>,
    by_command: HashMap<String, usize>,
    by_update: HashMap<String, usize>,
    pub(crate) fault_attempts: HashMap<String, u32>,
    /// `None` for an in-memory ledger, where a transaction is "durable" as soon as it is sequenced.
    journal: Option<JournalWriter>,
    /// The offset up to which transactions are durable, hence visible to readers.
    durable_end: i64,
    /// For each transaction after `durable_end`, in offset order: the contracts it archived.
    archived_after_durable: VecDeque<Vec<(String, Creation)>>,
    /// Set when a journal write or sync failed: what is in memory may not match the file any more.
    broken: Option<String>,
}

/// A sequenced transaction found by command id.
pub(crate) struct Found {
    pub transaction: Arc<Transaction>,
    pub durable: bool,
}

impl State {
    /// A state replaying `transactions` (already durable), appending new ones to `journal`.
    pub fn new(journal: Option<JournalWriter>, transactions: Vec<Transaction>) -> Self {
        let mut state = Self {
            active: HashMap::new(),
            log: Vec::with_capacity(transactions.len()),
            by_command: HashMap::new(),
            by_update: HashMap::new(),
            fault_attempts: HashMap::new(),
            journal,
            durable_end: 0,
            archived_after_durable: VecDeque::new(),
            broken: None,
        };
        for tx in transactions {
            state.apply(Arc::new(tx));
        }
        state.durable_end = state.written_end();
        state.archived_after_durable.clear();
        state
    }

    /// The offset of the last sequenced transaction.
    pub fn written_end(&self) -> i64 {
        self.log.len() as i64
    }

    /// The offset of the last durable transaction: the ledger end readers see.
    pub fn durable_end(&self) -> i64 {
        self.durable_end
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

    /// The contract a command would exercise, whether or not its creation is durable yet.
    pub fn active_created(&self, contract_id: &str) -> Option<&CreatedEvent> {
        self.active
            .get(contract_id)
            .and_then(|(tx, i)| match &tx.events[*i] {
                Event::Created(c) => Some(c),
                _ => None,
            })
    }

    /// The transaction a command id produced, durable or not.
    pub fn by_command(&self, command_id: &str) -> Option<Found> {
        self.by_command.get(command_id).map(|&i| Found {
            transaction: Arc::clone(&self.log[i]),
            durable: (i as i64) < self.durable_end,
        })
    }

    /// Writes the transaction to the journal (no sync) and applies it. Without a journal it is durable at once.
    /// A failed write breaks the ledger: the record may be half written, so nothing may be appended after it.
    pub fn sequence(&mut self, tx: Transaction) -> Result<Arc<Transaction>, LedgerError> {
        if let Some(journal) = &mut self.journal
            && let Err(e) = journal.write(&tx)
        {
            let why = format!("cannot write the journal: {e}");
            self.set_broken(why.clone());
            return Err(broken_error(&why));
        }
        let tx = Arc::new(tx);
        let archived = self.apply(Arc::clone(&tx));
        if self.journal.is_some() {
            self.archived_after_durable.push_back(archived);
        } else {
            self.durable_end = self.written_end();
        }
        Ok(tx)
    }

    /// Records that every transaction up to `end` is durable.
    pub fn mark_durable(&mut self, end: i64) {
        while self.durable_end < end.min(self.written_end()) {
            self.archived_after_durable.pop_front();
            self.durable_end += 1;
        }
    }

    /// The durable transaction at a 0-based log index.
    pub fn durable_at(&self, index: usize) -> Option<&Arc<Transaction>> {
        ((index as i64) < self.durable_end)
            .then(|| self.log.get(index))
            .flatten()
    }

    /// The durable transaction with this update id.
    pub fn durable_by_update(&self, update_id: &str) -> Option<&Arc<Transaction>> {
        self.by_update
            .get(update_id)
            .and_then(|&i| self.durable_at(i))
    }

    /// Durable transactions with offsets in `(from_exclusive, to_inclusive]`, clamped to the durable end.
    pub fn durable_range(&self, from_exclusive: i64, to_inclusive: i64) -> &[Arc<Transaction>] {
        let to = to_inclusive.min(self.durable_end).max(0) as usize;
        let from = (from_exclusive.max(0) as usize).min(to);
        &self.log[from..to]
    }

    /// Every durable transaction in offset order.
    pub fn durable_log(&self) -> &[Arc<Transaction>] {
        &self.log[..self.durable_end as usize]
    }

    /// The active contracts admitted by `filter` as of the durable end: contracts created after it are left out and
    /// contracts archived after it are put back.
    pub fn durable_active(&self, filter: &UpdateFilter) -> Vec<ActiveContract> {
        let mut created_after: HashSet<&str> = HashSet::new();
        let mut archived_after: HashMap<&str, &Creation> = HashMap::new();
        for (tx, archived) in self.log[self.durable_end as usize..]
            .iter()
            .zip(&self.archived_after_durable)
        {
            for event in &tx.events {
                if let Event::Created(c) = event {
                    created_after.insert(&c.contract_id);
                }
            }
            for (id, creation) in archived {
                archived_after.insert(id.as_str(), creation);
            }
        }
        let visible = self
            .active
            .iter()
            .map(|(id, c)| (id.as_str(), c))
            .chain(archived_after.iter().map(|(id, c)| (*id, *c)))
            .filter(|(id, _)| !created_after.contains(id));
        let mut contracts: Vec<ActiveContract> = visible
            .filter_map(|(_, (tx, i))| match &tx.events[*i] {
                Event::Created(c) if filter.admits(&c.template_id) => Some(ActiveContract {
                    created: c.clone(),
                    created_update_id: tx.update_id.clone(),
                }),
                _ => None,
            })
            .collect();
        contracts.sort_by_key(|c| (c.created.offset, c.created.node_id));
        contracts
    }

    /// Applies a transaction to the in-memory state; returns the contracts it archived.
    fn apply(&mut self, tx: Arc<Transaction>) -> Vec<(String, Creation)> {
        let index = self.log.len();
        let mut archived = Vec::new();
        for (i, event) in tx.events.iter().enumerate() {
            match event {
                Event::Created(c) => {
                    self.active
                        .insert(c.contract_id.clone(), (Arc::clone(&tx), i));
                }
                Event::Archived(a) => {
                    if let Some(creation) = self.active.remove(&a.contract_id) {
                        archived.push((a.contract_id.clone(), creation));
                    }
                }
                Event::Exercised(_) => {}
            }
        }
        self.by_command.insert(tx.command_id.clone(), index);
        self.by_update.insert(tx.update_id.clone(), index);
        self.log.push(tx);
        archived
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
