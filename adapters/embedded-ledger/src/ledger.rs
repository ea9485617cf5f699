//! The embedded ledger: transactions with SHA-256 update ids and int64 offsets, an active contract set, an update
//! stream with a live tail, command deduplication, and (with a journal) durability with group commit.
//!
//! All state sits behind one mutex. A submission is *sequenced* under it: deduplication first (so a resubmission
//! after a crash gets its original transaction even if the contract is gone), then injected faults, then the command
//! is interpreted, given the next offset, written to the journal (not synced) and applied, so the next command is
//! interpreted on top of it. Outside the lock the submitter then waits until a journal sync covers its offset
//! ([`GroupCommit`]); one sync covers every submission written before it. Readers see only durable transactions.
//!
//! A journaled ledger holds the journal's lock ([`JournalLock`]) while it lives, and compacts the journal when asked
//! ([`EmbeddedLedger::compact`]) or, with a [`CompactionPolicy`], by itself once history outgrows the active set.
//!
//! The work is split by concern: `sequencing` decides submissions, `reading` serves the update stream and the
//! active set, `compacting` decides when to compact and drives it, and `port` puts them behind the port's traits.
//! Everything they share (the state behind its lock, the durable end, the settings) is `Inner`, here.

mod compacting;
mod port;
mod reading;
mod sequencing;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use ledger_port::{Clock, LedgerError, Transaction};
use tokio::sync::watch;

use crate::catalog::TemplateCatalog;
use crate::compaction::CompactionPolicy;
use crate::faults::FaultPlan;
use crate::group_commit::GroupCommit;
use crate::journal_lock::JournalLock;
use crate::recovery::{self, OpenError, RecoveryReport};
use crate::state::State;
use crate::state::replay::Replay;
use crate::transaction_log::Fetch;

/// The embedded ledger.
pub struct EmbeddedLedger {
    inner: Arc<Inner>,
}

/// The offset up to which readers are done with history (the gateway's observer checkpoint): compaction keeps
/// every transaction after it.
pub type CompactionFloor = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How this ledger compacts.
struct CompactionSettings {
    /// `None`: only when asked.
    automatic: Option<CompactionPolicy>,
    /// The window kept for deduplication (from the automatic policy, or the default).
    window: std::time::Duration,
    floor: Option<CompactionFloor>,
}

struct Inner {
    state: Mutex<State>,
    /// `None` for an in-memory ledger.
    group: Option<GroupCommit>,
    catalog: TemplateCatalog,
    clock: Clock,
    faults: Mutex<FaultPlan>,
    /// The durable end: update streams wait on it.
    end: watch::Sender<i64>,
    /// The journal's path (`None` in memory).
    path: Option<PathBuf>,
    /// Held for the ledger's life; released when the last handle (streams included) goes.
    _lock: Option<JournalLock>,
    compaction: Mutex<CompactionSettings>,
    /// Set while a compaction runs: at most one at a time.
    compacting: AtomicBool,
    /// After a failed automatic compaction (a full disk, say), the durable end before which none is tried again:
    /// retrying at every commit would only repeat the failure and slow the commits down.
    automatic_retry_after: AtomicI64,
    /// How many automatic compactions failed.
    automatic_failures: AtomicU64,
}

impl EmbeddedLedger {
    /// An in-memory ledger.
    pub fn in_memory(catalog: TemplateCatalog, clock: Clock) -> Self {
        Self::from_parts(catalog, clock, State::in_memory(), None, None)
    }

    /// A durable ledger over the journal at `path` (created if absent), replaying what it holds. Takes the
    /// journal's lock first: [`OpenError::Locked`] while another process (or ledger) has it open.
    pub async fn open(
        path: &Path,
        catalog: TemplateCatalog,
        clock: Clock,
    ) -> Result<(Self, RecoveryReport), OpenError> {
        let path = path.to_owned();
        let blocking_path = path.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let path = blocking_path;
            let lock = JournalLock::acquire(&path)?;
            let mut replay = Replay::new();
            let (writer, report) = recovery::open(&path, &mut replay)?;
            let reader = writer.reader();
            let state =
                replay
                    .finish(writer, reader)
                    .map_err(|reason| OpenError::CorruptJournal {
                        path: path.clone(),
                        offset: 0,
                        byte_position: 0,
                        reason,
                    })?;
            Ok::<_, OpenError>((state, lock, report))
        })
        .await
        .map_err(|e| OpenError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;
        let (state, lock, report) = opened;
        let ledger = Self::from_parts(
            catalog,
            clock,
            state,
            Some(GroupCommit::new()),
            Some((path, lock)),
        );
        Ok((ledger, report))
    }

    fn from_parts(
        catalog: TemplateCatalog,
        clock: Clock,
        state: State,
        group: Option<GroupCommit>,
        journal: Option<(PathBuf, JournalLock)>,
    ) -> Self {
        let (path, lock) = journal.unzip();
        let (end, _) = watch::channel(state.durable_end());
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                group,
                catalog,
                clock,
                faults: Mutex::new(FaultPlan::default()),
                end,
                path,
                _lock: lock,
                compaction: Mutex::new(CompactionSettings {
                    automatic: None,
                    window: CompactionPolicy::default().deduplication_window,
                    floor: None,
                }),
                compacting: AtomicBool::new(false),
                automatic_retry_after: AtomicI64::new(0),
                automatic_failures: AtomicU64::new(0),
            }),
        }
    }

    /// The earliest `begin_exclusive` an update stream may start from (0 unless a compaction pruned history).
    pub fn readable_from(&self) -> i64 {
        self.inner.lock().readable_from()
    }

    /// Replaces the injected faults.
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        *self.inner.faults.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// Number of committed (durable) transactions.
    pub fn transaction_count(&self) -> u64 {
        self.inner.lock().durable_end() as u64
    }

    /// Number of active contracts as of the durable end.
    pub fn active_count(&self) -> usize {
        self.inner.lock().durable_active().len()
    }

    /// Every committed (durable) transaction the ledger still has, in offset order (for tests and tools), read
    /// back from the journal where they are no longer in memory. After a compaction: the transactions it kept and
    /// every one after its snapshot.
    pub fn transactions(&self) -> Result<Vec<Arc<Transaction>>, LedgerError> {
        let fetches = {
            let state = self.inner.lock();
            state.durable_range(0, state.durable_end())
        };
        fetches.into_iter().map(Fetch::resolve).collect()
    }

    /// How many journal syncs have been started (0 without a journal). With group commit this stays below the
    /// number of transactions whenever submissions overlap.
    pub fn journal_syncs(&self) -> u64 {
        self.inner.group.as_ref().map_or(0, GroupCommit::syncs)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn wait_durable(&self, offset: i64) -> Result<(), LedgerError> {
        match &self.group {
            Some(group) => group.wait_durable(offset, &self.state, &self.end).await,
            // Without a journal a transaction is durable as soon as it is sequenced.
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
