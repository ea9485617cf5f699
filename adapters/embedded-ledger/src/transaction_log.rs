//! The ledger's sequenced transactions: all in memory for an in-memory ledger; with a journal, only the most recent
//! ones (and every one not yet durable) in memory and the rest read back from the journal when asked for.
//!
//! Keeping the whole log in memory cost about 2.5 KB per transaction and made start-up decode every payload; with a
//! journal the log costs a [`RecordLocation`] per transaction. The recent window serves what is asked for most: the
//! contracts the next commands exercise, and update streams that keep up with the ledger end.
//!
//! After a compaction the log is sparse below the snapshot: only the retained transactions there have records
//! (`retained`, by index); the others were pruned and are not found.

use std::collections::VecDeque;
use std::sync::Arc;

use ledger_port::{LedgerError, RejectionReason, Transaction};

use crate::journal::{JournalReader, RecordLocation};

/// How many durable transactions stay in memory behind the durable end (journal only).
const RECENT_WINDOW: usize = 4096;

/// See the module docs. Indexes are 0-based: index `i` holds offset `i + 1`.
pub(crate) struct TransactionLog {
    /// `None`: an in-memory ledger, whose `recent` holds every transaction.
    journal: Option<JournalReader>,
    /// Indexes below this were compacted away except the `retained` ones.
    pruned: usize,
    /// The records kept below `pruned`, by index, in index order.
    retained: Vec<(usize, RecordLocation)>,
    /// With a journal, where each transaction's record is, from index `pruned` on.
    locations: Vec<RecordLocation>,
    /// The transactions from index `first_recent` on.
    recent: VecDeque<Arc<Transaction>>,
    first_recent: usize,
    /// [`RECENT_WINDOW`]; tests make it small to exercise the journal reads.
    window: usize,
}

/// A transaction to hand out: in memory already, or to be read from the journal (outside the state lock).
pub(crate) enum Fetch {
    Ready(Arc<Transaction>),
    Read {
        journal: JournalReader,
        location: RecordLocation,
        offset: i64,
    },
}

impl Fetch {
    /// The transaction, reading it from the journal if needed.
    pub fn resolve(self) -> Result<Arc<Transaction>, LedgerError> {
        match self {
            Fetch::Ready(tx) => Ok(tx),
            Fetch::Read {
                journal,
                location,
                offset,
            } => journal
                .read(location)
                .map(Arc::new)
                .map_err(|why| unreadable(offset, &why)),
        }
    }
}

/// Resolves many fetches, reading records that sit together in the journal in one go; results in order.
pub(crate) fn resolve_all(fetches: Vec<Fetch>) -> Vec<Result<Arc<Transaction>, LedgerError>> {
    let mut out: Vec<Option<Result<Arc<Transaction>, LedgerError>>> =
        Vec::with_capacity(fetches.len());
    let mut reads: Vec<(usize, i64, RecordLocation)> = Vec::new();
    let mut journal = None;
    for fetch in fetches {
        match fetch {
            Fetch::Ready(tx) => out.push(Some(Ok(tx))),
            Fetch::Read {
                journal: reader,
                location,
                offset,
            } => {
                reads.push((out.len(), offset, location));
                journal.get_or_insert(reader);
                out.push(None);
            }
        }
    }
    if let Some(journal) = journal {
        let locations: Vec<RecordLocation> = reads.iter().map(|(_, _, l)| *l).collect();
        for ((slot, offset, _), read) in reads.iter().zip(journal.read_many(&locations)) {
            out[*slot] = Some(read.map(Arc::new).map_err(|why| unreadable(*offset, &why)));
        }
    }
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(unreadable(0, "not read"))))
        .collect()
}

/// The error for a journal record that cannot be read back (the disk failed or the file was changed under us).
fn unreadable(offset: i64, why: &str) -> LedgerError {
    LedgerError::configuration(
        RejectionReason::Internal,
        format!("the embedded ledger cannot read offset {offset} back from its journal: {why}"),
    )
    .with_ledger_error("JOURNAL_FAILED")
}

impl TransactionLog {
    /// A log held wholly in memory.
    pub fn in_memory() -> Self {
        Self {
            journal: None,
            pruned: 0,
            retained: Vec::new(),
            locations: Vec::new(),
            recent: VecDeque::new(),
            first_recent: 0,
            window: RECENT_WINDOW,
        }
    }

    /// A log backed by a journal; `locations` are the records replayed from it from index `pruned` on, `retained`
    /// those kept below it by a compaction.
    pub fn journaled(
        journal: JournalReader,
        pruned: usize,
        retained: Vec<(usize, RecordLocation)>,
        locations: Vec<RecordLocation>,
    ) -> Self {
        let first_recent = pruned + locations.len();
        Self {
            journal: Some(journal),
            pruned,
            retained,
            locations,
            recent: VecDeque::new(),
            first_recent,
            window: RECENT_WINDOW,
        }
    }

    /// Number of sequenced transactions.
    pub fn len(&self) -> usize {
        self.first_recent + self.recent.len()
    }

    /// How many journal records the log has: the retained ones and every one from the snapshot on.
    pub fn journal_records(&self) -> usize {
        self.retained.len() + self.locations.len()
    }

    /// Where the record of the transaction at `index` is, unless it was pruned (or there is no journal).
    pub fn location(&self, index: usize) -> Option<RecordLocation> {
        if index < self.pruned {
            let at = self
                .retained
                .binary_search_by_key(&index, |(i, _)| *i)
                .ok()?;
            return Some(self.retained[at].1);
        }
        self.locations.get(index - self.pruned).copied()
    }

    /// The indexes of the records kept below the last snapshot, ascending.
    pub fn retained_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.retained.iter().map(|(index, _)| *index)
    }

    /// How many of the records kept below the last snapshot there are.
    pub fn retained_count(&self) -> usize {
        self.retained.len()
    }

    /// The first index not below the last snapshot.
    pub fn first_unpruned(&self) -> usize {
        self.pruned
    }

    /// Whether the transaction at `index` was pruned by a compaction.
    pub fn is_pruned(&self, index: usize) -> bool {
        index < self.pruned
            && self
                .retained
                .binary_search_by_key(&index, |(i, _)| *i)
                .is_err()
    }

    /// Switches to a compacted journal: below `pruned` only `retained` is left; the records from `pruned` on
    /// moved by `shift` bytes (they were copied in one piece).
    pub fn compacted(
        &mut self,
        journal: JournalReader,
        pruned: usize,
        retained: Vec<(usize, RecordLocation)>,
        shift: i64,
    ) {
        let moved: Vec<RecordLocation> = (pruned..self.pruned + self.locations.len())
            .filter_map(|index| self.location(index))
            .map(|l| RecordLocation {
                position: (l.position as i64 + shift) as u64,
                ..l
            })
            .collect();
        self.locations = moved;
        self.pruned = pruned;
        self.retained = retained;
        self.journal = Some(journal);
    }

    /// Appends a sequenced transaction (`location`: its journal record, when there is a journal).
    pub fn push(&mut self, tx: Arc<Transaction>, location: Option<RecordLocation>) {
        if let Some(location) = location {
            self.locations.push(location);
        }
        self.recent.push_back(tx);
    }

    /// Lets go of in-memory copies that are durable (`durable_len` transactions are) and older than the recent
    /// window. An in-memory ledger keeps everything: it has nowhere to read them back from.
    pub fn forget_old(&mut self, durable_len: usize) {
        if self.journal.is_none() {
            return;
        }
        while self.recent.len() > self.window && self.first_recent < durable_len {
            self.recent.pop_front();
            self.first_recent += 1;
        }
    }

    /// Keeps at most `window` durable transactions in memory from now on.
    #[cfg(test)]
    pub fn set_window(&mut self, window: usize) {
        self.window = window;
    }

    /// How many transactions are held in memory.
    #[cfg(test)]
    pub fn in_memory_count(&self) -> usize {
        self.recent.len()
    }

    /// How to get the transaction at `index` (`None` past the end).
    pub fn fetch(&self, index: usize) -> Option<Fetch> {
        if self.is_pruned(index) {
            return None;
        }
        if index >= self.first_recent {
            return self
                .recent
                .get(index - self.first_recent)
                .map(|tx| Fetch::Ready(Arc::clone(tx)));
        }
        let journal = self.journal.as_ref()?;
        let location = self.location(index)?;
        Some(Fetch::Read {
            journal: journal.clone(),
            location,
            offset: index as i64 + 1,
        })
    }

    /// The transaction at `index`, read from the journal if it is not in memory.
    pub fn get(&self, index: usize) -> Result<Option<Arc<Transaction>>, LedgerError> {
        self.fetch(index).map(Fetch::resolve).transpose()
    }
}
