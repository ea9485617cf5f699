//! Rebuilding a journaled ledger's state at start-up from the journal's records, one at a time: the snapshot's
//! active set first, then each record's effects, indexing every record by command and update id. Replay reads only
//! an outline of each record ([`TransactionOutline`]), so start-up does not build every payload.

use std::collections::{HashMap, VecDeque};

use super::{ActiveSetEvent, Creation, Effect, State, apply_effects, effects_of};
use crate::hash_index::HashIndex;
use crate::journal::{JournalReader, JournalWriter, RecordLocation};
use crate::recovery::{EventOutline, ReplaySink, TransactionOutline};
use crate::snapshot::Snapshot;
use crate::transaction_log::TransactionLog;

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

impl ActiveSetEvent for EventOutline {
    fn effect(&self, node: u32) -> Option<Effect<'_>> {
        match self {
            EventOutline::Created(c) => Some(Effect::Created(&c.contract_id, node)),
            EventOutline::Archived(a) => Some(Effect::Archived(&a.contract_id)),
            EventOutline::Exercised(_) => None,
        }
    }
}
