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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use ledger_port::{
    ActiveContract, ActiveContractStream, Clock, CommittedCommand, CreatedEvent, Event,
    Ledger, LedgerError, PendingCommit, PrunedOffset, RejectionReason, ServableLedger, Submission,
    SubmitOutcome, Transaction, UpdateFilter, UpdateStream,
};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::catalog::TemplateCatalog;
use crate::compaction::{CompactError, CompactFile, CompactionPolicy, CompactionReport};
use crate::faults::FaultPlan;
use crate::group_commit::{GroupCommit, advance};
use crate::interpret::interpret;
use crate::journal::{self, JournalReader, OpenError, RecoveryReport};
use crate::journal_lock::JournalLock;
use crate::state::{CompactionPlan, Creation, Replay, State, broken_error, created_event};
use crate::transaction_log::{Fetch, resolve_all};

/// How many transactions a reader fetches per turn of the state lock.
const READ_CHUNK: usize = 256;

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

/// A submission that has been sequenced (or found to be a duplicate).
struct Sequenced {
    transaction: Arc<Transaction>,
    duplicate: bool,
    durable: bool,
    /// The automatic policy says the journal should be compacted now.
    compact: bool,
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
            let (writer, report) = journal::open(&path, &mut replay)?;
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

    /// Compacts the journal by itself when `policy` says so (`None`: only when [`EmbeddedLedger::compact`] is
    /// called); its deduplication window applies to every compaction.
    pub fn set_compaction_policy(&self, policy: Option<CompactionPolicy>) {
        let mut settings = self.inner.compaction_settings();
        if let Some(policy) = &policy {
            settings.window = policy.deduplication_window;
        }
        settings.automatic = policy.filter(|p| p.history_factor > 0.0);
    }

    /// Sets the deduplication window compaction keeps (see [`CompactionPolicy::deduplication_window`]).
    pub fn set_deduplication_window(&self, window: std::time::Duration) {
        self.inner.compaction_settings().window = window;
    }

    /// Tells compaction how far readers that resume from a checkpoint have got: every transaction after `floor()`
    /// is kept, so they can go on reading (without it, compaction may prune up to the ledger end).
    pub fn set_compaction_floor(&self, floor: CompactionFloor) {
        self.inner.compaction_settings().floor = Some(floor);
    }

    /// The earliest `begin_exclusive` an update stream may start from (0 unless a compaction pruned history).
    pub fn readable_from(&self) -> i64 {
        self.inner.lock().readable_from()
    }

    /// Compacts the journal now (see [`crate::compaction`]): commits go on meanwhile, waiting only for the final
    /// switch of files (about one fsync). Fails without changing anything if the ledger is in memory, another
    /// compaction is running, or the new journal cannot be written.
    pub async fn compact(&self) -> Result<CompactionReport, CompactError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.compact(0))
            .await
            .map_err(|e| CompactError::Failed {
                path: self.inner.path.clone().unwrap_or_default(),
                reason: format!("the compaction task failed: {e}"),
            })?
    }

    /// Starts a compaction in the background (the automatic policy asked for one).
    fn compact_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = Arc::clone(&self.inner);
        let needed = inner
            .compaction_settings()
            .automatic
            .map_or(1, |p| p.min_transactions.max(1));
        runtime.spawn_blocking(move || match inner.compact(needed) {
            Ok(report) => tracing::info!(
                snapshot_offset = report.snapshot_offset,
                readable_from = report.readable_from,
                retained = report.retained,
                active_contracts = report.active_contracts,
                bytes_before = report.bytes_before,
                bytes_after = report.bytes_after,
                "compacted the embedded ledger's journal"
            ),
            Err(CompactError::AlreadyRunning) => {}
            Err(CompactError::TooLittleToPrune { pruned, needed }) => {
                // Most of it is still inside the deduplication window or after the floor: rewriting the journal
                // would mostly copy it. Ask again once enough more transactions could have left the window.
                let end = inner.lock().durable_end();
                let shortfall = needed.saturating_sub(pruned).max(1);
                let retry_after = end.saturating_add(i64::try_from(shortfall).unwrap_or(i64::MAX));
                inner
                    .automatic_retry_after
                    .store(retry_after, Ordering::Relaxed);
                tracing::debug!(pruned, needed, retry_after, "automatic journal compaction skipped");
            }
            Err(e) => {
                let end = inner.lock().durable_end();
                let wait = inner
                    .compaction_settings()
                    .automatic
                    .map_or(1, |p| p.min_transactions.max(1));
                let retry_after = end.saturating_add(i64::try_from(wait).unwrap_or(i64::MAX));
                inner
                    .automatic_retry_after
                    .store(retry_after, Ordering::Relaxed);
                inner.automatic_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    error = %e,
                    retry_after,
                    "automatic journal compaction failed; the journal is unchanged, and the next attempt waits for \
                     the ledger end to reach retry_after"
                );
            }
        });
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

    /// Sequences a submission and hands back its pending commit, telling duplicates apart.
    fn sequence_reporting_duplicates(
        &self,
        submission: Submission,
    ) -> Result<(PendingCommit, bool), LedgerError> {
        let sequenced = self.inner.sequence(submission)?;
        if sequenced.compact {
            self.compact_in_background();
        }
        let transaction = (*sequenced.transaction).clone();
        let pending = if sequenced.durable {
            PendingCommit::ready(transaction)
        } else {
            let inner = Arc::clone(&self.inner);
            let offset = transaction.offset;
            PendingCommit::awaiting(transaction, async move { inner.wait_durable(offset).await })
        };
        Ok((pending, sequenced.duplicate))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn compaction_settings(&self) -> MutexGuard<'_, CompactionSettings> {
        self.compaction.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compaction floor now (the durable end's worth of "no limit" when none is set).
    fn compaction_floor(&self) -> i64 {
        let floor = self.compaction_settings().floor.clone();
        floor.map_or(i64::MAX, |floor| floor())
    }

    /// Whether the automatic policy wants a compaction, given the state after a commit.
    fn wants_compaction(&self, state: &State, floor: i64) -> bool {
        let Some(policy) = self.compaction_settings().automatic else {
            return false;
        };
        if self.compacting.load(Ordering::Relaxed)
            || state.durable_end() < self.automatic_retry_after.load(Ordering::Relaxed)
        {
            return false;
        }
        let (records, active) = state.history_and_active();
        let prunable = floor.min(state.durable_end()) - state.readable_from();
        prunable >= 0
            && prunable as u64 >= policy.min_transactions
            && records as f64 > policy.history_factor * active.max(1) as f64
    }

    /// Compacts the journal (blocking); see [`EmbeddedLedger::compact`]. Writes nothing when the plan would prune
    /// fewer than `min_pruned` transactions.
    fn compact(&self, min_pruned: u64) -> Result<CompactionReport, CompactError> {
        let Some(path) = self.path.clone() else {
            return Err(CompactError::InMemory);
        };
        if self.compacting.swap(true, Ordering::AcqRel) {
            return Err(CompactError::AlreadyRunning);
        }
        let result = self.compact_at(&path, min_pruned);
        self.compacting.store(false, Ordering::Release);
        result
    }

    fn compact_at(&self, path: &Path, min_pruned: u64) -> Result<CompactionReport, CompactError> {
        let failed = |reason: String| CompactError::Failed {
            path: path.to_owned(),
            reason,
        };
        let floor = self.compaction_floor();
        let window = self.compaction_settings().window;
        let window_micros = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
        let plan = self
            .lock()
            .plan_compaction(floor, window_micros)
            .map_err(failed)?;
        if plan.pruned < min_pruned {
            return Err(CompactError::TooLittleToPrune {
                pruned: plan.pruned,
                needed: min_pruned,
            });
        }
        self.write_compaction(path, plan).map_err(failed)
    }

    /// Writes the planned journal beside the current one and switches to it.
    fn write_compaction(
        &self,
        path: &Path,
        plan: CompactionPlan,
    ) -> Result<CompactionReport, String> {
        let mut file = CompactFile::create(path).map_err(|e| {
            format!(
                "cannot create {}: {e}",
                journal::compact_path(path).display()
            )
        })?;
        let written = (|| -> Result<_, String> {
            let io = |e: std::io::Error| {
                format!(
                    "cannot write {}: {e}",
                    journal::compact_path(path).display()
                )
            };
            file.write_snapshot(&plan.snapshot).map_err(io)?;
            let mut retained = Vec::with_capacity(plan.retained.len());
            for (index, location) in &plan.retained {
                let payload = plan.reader.read_payload(*location)?;
                retained.push((*index, file.write_record(&payload).map_err(io)?));
            }
            // The records committed since the plan, copied once without the lock; the rest under it, below.
            let new_tail_start = file.end();
            let end_now = self.lock().journal_end();
            copy_records(&plan.reader, &mut file, plan.tail_start, end_now)?;
            Ok((retained, new_tail_start, end_now))
        })();
        let (retained, new_tail_start, copied_to) = match written {
            Ok(written) => written,
            Err(e) => {
                file.abandon();
                return Err(e);
            }
        };
        // Commits wait from here until the switch: the last records, one fsync, the rename.
        let mut state = self.lock();
        let bytes_before = state.journal_end();
        let last = match state.broken() {
            Some(why) => Err(format!("the ledger stopped: {why}")),
            None => copy_records(&plan.reader, &mut file, copied_to, bytes_before),
        };
        if let Err(e) = last {
            drop(state);
            file.abandon();
            return Err(e);
        }
        let installed = match file.install(path) {
            Ok(installed) => installed,
            Err(e) => {
                // Not renamed (the rename is the last fallible step before the directory sync): the old journal
                // is still the journal.
                let _ = std::fs::remove_file(journal::compact_path(path));
                return Err(format!("cannot install the compacted journal: {e}"));
            }
        };
        let (new_file, bytes_after) = installed.file;
        let shift = new_tail_start as i64 - plan.tail_start as i64;
        state.install_compaction(
            &plan.snapshot,
            retained,
            shift,
            journal::writer(new_file, bytes_after),
        );
        if let Some(e) = installed.directory_sync_error {
            // The rename may not survive a power loss, and new commits go to the new file: stop rather than risk
            // losing them.
            state.set_broken(format!(
                "cannot sync the directory of {} after compacting it: {e}",
                path.display()
            ));
        }
        let durable_end = state.durable_end();
        drop(state);
        advance(&self.end, durable_end);
        Ok(CompactionReport {
            snapshot_offset: plan.snapshot.offset,
            readable_from: plan.snapshot.readable_from,
            retained: plan.snapshot.retained,
            active_contracts: plan.snapshot.active.len(),
            bytes_before,
            bytes_after,
        })
    }

    fn now(&self, offset: i64) -> i64 {
        match self.clock {
            Clock::Fixed(t) => t.saturating_add(offset),
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
        }
    }

    async fn wait_durable(&self, offset: i64) -> Result<(), LedgerError> {
        match &self.group {
            Some(group) => group.wait_durable(offset, &self.state, &self.end).await,
            // Without a journal a transaction is durable as soon as it is sequenced.
            None => Ok(()),
        }
    }

    /// Decides a submission under the state lock: writes and applies it, without waiting for a sync.
    fn sequence(&self, submission: Submission) -> Result<Sequenced, LedgerError> {
        // Asked before taking the state lock: the floor is the gateway's code.
        let floor = self.compaction_floor();
        let mut state = self.lock();
        if let Some(why) = state.broken() {
            return Err(broken_error(why));
        }
        if submission.command_id.is_empty() {
            return Err(LedgerError::permanent(
                RejectionReason::InvalidArgument,
                "command_id: expected a non-empty command id",
            )
            .with_ledger_error("MISSING_FIELD"));
        }
        if let Some(found) = state.by_command(&submission.command_id)? {
            return Ok(Sequenced {
                transaction: found.transaction,
                duplicate: true,
                durable: found.durable,
                compact: false,
            });
        }
        let fault = {
            let plan = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            plan.rules
                .iter()
                .find(|r| r.matches(&submission.command))
                .cloned()
        };
        if let Some(rule) = fault {
            let attempts = state
                .fault_attempts
                .entry(submission.command_id.clone())
                .or_insert(0);
            *attempts += 1;
            if rule.times.is_none_or(|n| *attempts <= n) {
                return Err(rule.error(*attempts));
            }
        }
        let offset = state.written_end() + 1;
        let target = match &submission.command {
            ledger_port::Command::Exercise { contract_id, .. } => {
                state.active_creation(contract_id)?
            }
            ledger_port::Command::Create { .. } => None,
        };
        let events = interpret(
            &self.catalog,
            target
                .as_ref()
                .and_then(|(tx, node)| created_event(tx, *node)),
            &submission.command,
            &submission.act_as,
            &submission.command_id,
            offset,
        )?;
        let mut tx = Transaction {
            update_id: String::new(),
            command_id: submission.command_id.clone(),
            offset,
            effective_at_micros: self.now(offset),
            events,
        };
        tx.update_id = update_id(&tx);
        let transaction = state.sequence(tx)?;
        let durable = state.durable_end() >= offset;
        let compact = self.path.is_some() && self.wants_compaction(&state, floor);
        drop(state);
        if durable {
            advance(&self.end, offset);
        }
        Ok(Sequenced {
            transaction,
            duplicate: false,
            durable,
            compact,
        })
    }
}

/// SHA-256 hex over the transaction's canonical content (its JSON without the update id), hashed as it is written
/// rather than collected into a buffer first.
fn update_id(tx: &Transaction) -> String {
    let mut hasher = HashingWriter(Sha256::new());
    // Writing into a hasher cannot fail, and a Transaction always serialises.
    let _ = serde_json::to_writer(&mut hasher, tx);
    message_schema::ids::lower_hex(&hasher.0.finalize())
}

/// Feeds everything written to it into a SHA-256.
struct HashingWriter(Sha256);

impl std::io::Write for HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The transaction as `filter` sees it: only admitted events; `None` when none is.
fn filtered(tx: &Transaction, filter: &UpdateFilter) -> Option<Transaction> {
    if filter.templates.is_empty() {
        return Some(tx.clone());
    }
    let events: Vec<Event> = tx
        .events
        .iter()
        .filter(|e| {
            let template = match e {
                Event::Created(c) => &c.template_id,
                Event::Archived(a) => &a.template_id,
                Event::Exercised(x) => &x.template_id,
            };
            filter.admits(template)
        })
        .cloned()
        .collect();
    (!events.is_empty()).then(|| Transaction {
        events,
        ..tx.clone()
    })
}

#[async_trait::async_trait]
impl Ledger for EmbeddedLedger {
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError> {
        self.submit_reporting_duplicates(submission)
            .await
            .map(|o| o.transaction)
    }

    async fn sequence(&self, submission: Submission) -> Result<PendingCommit, LedgerError> {
        self.sequence_reporting_duplicates(submission)
            .map(|(pending, _)| pending)
    }

    /// Lists where the active contracts are under the lock, then reads them a chunk at a time, from memory or the
    /// journal, without holding it, on a blocking thread a few chunks ahead of the reader (so decoding the journal
    /// and the reader's own work overlap).
    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError> {
        let (offset, creations) = {
            let state = self.inner.lock();
            (state.durable_end(), state.durable_active())
        };
        // Decoding the journal is most of the work: one reader per core takes every n-th chunk, and the stream
        // takes the chunks back in turn, so the order stays the ledger's.
        let readers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
        let creations = Arc::new(creations);
        let mut receivers = Vec::with_capacity(readers);
        for reader in 0..readers {
            let (chunks, receiver) = tokio::sync::mpsc::channel(2);
            receivers.push(receiver);
            let inner = Arc::clone(&self.inner);
            let filter = filter.clone();
            let creations = Arc::clone(&creations);
            tokio::task::spawn_blocking(move || {
                for chunk in creations.chunks(READ_CHUNK).skip(reader).step_by(readers) {
                    let read = read_active_chunk(&inner, offset, chunk, &filter);
                    let failed = read.is_err();
                    // A closed channel means the stream went away: stop reading.
                    if chunks.blocking_send(read).is_err() || failed {
                        break;
                    }
                }
            });
        }
        let contracts =
            futures::stream::unfold((receivers, 0), |(mut receivers, turn)| async move {
                let count = receivers.len();
                let chunk = receivers[turn % count].recv().await?;
                Some((chunk, (receivers, turn + 1)))
            })
            .flat_map(|result| {
                let items: Vec<Result<ActiveContract, LedgerError>> = match result {
                    Ok(contracts) => contracts.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                };
                futures::stream::iter(items)
            })
            .scan(false, |failed, item| {
                // After an error the stream ends, as the port promises.
                let next = (!*failed).then_some(item);
                *failed = next.as_ref().is_some_and(Result::is_err);
                futures::future::ready(next)
            })
            .boxed();
        Ok(ActiveContractStream { offset, contracts })
    }

    /// The durable end. A broken ledger answers with its error instead, so a gateway waiting for the ledger to
    /// accept it again stays unready until the process is restarted.
    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        let state = self.inner.lock();
        match state.broken() {
            Some(why) => Err(broken_error(why)),
            None => Ok(state.durable_end()),
        }
    }

    async fn updates(
        &self,
        begin_exclusive: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError> {
        let (end, readable_from) = {
            let state = self.inner.lock();
            (state.durable_end(), state.readable_from())
        };
        if (0..readable_from).contains(&begin_exclusive) {
            return Err(PrunedOffset {
                requested: begin_exclusive,
                earliest: readable_from,
            }
            .into());
        }
        if begin_exclusive < 0 || begin_exclusive > end {
            return Err(LedgerError::permanent(
                RejectionReason::InvalidArgument,
                format!("begin_exclusive {begin_exclusive} is outside the ledger (0 to {end})"),
            )
            .with_ledger_error("OFFSET_OUT_OF_RANGE"));
        }
        let inner = self.inner.clone();
        let receiver = self.inner.end.subscribe();
        let filter = filter.clone();
        let stream = futures::stream::unfold(
            (
                inner,
                receiver,
                begin_exclusive,
                filter,
                std::collections::VecDeque::new(),
            ),
            |(inner, mut receiver, mut cursor, filter, mut buffer)| async move {
                loop {
                    if let Some(item) = buffer.pop_front() {
                        return Some((item, (inner, receiver, cursor, filter, buffer)));
                    }
                    if cursor == i64::MAX {
                        return None;
                    }
                    // Only durable transactions, a bounded chunk at a time, read from the journal (where they are
                    // no longer in memory) after letting go of the lock.
                    let chunk = {
                        let state = inner.lock();
                        // A compaction since the last chunk may have pruned past this stream: end it with the
                        // pruned error rather than skip what it can no longer read.
                        let earliest = state.readable_from();
                        if cursor < earliest {
                            buffer.push_back(Err(PrunedOffset {
                                requested: cursor,
                                earliest,
                            }
                            .into()));
                            cursor = i64::MAX;
                            continue;
                        }
                        state.durable_range(cursor, cursor + READ_CHUNK as i64)
                    };
                    cursor += chunk.len() as i64;
                    for fetch in resolve_all(chunk) {
                        match fetch {
                            Ok(tx) => buffer.extend(filtered(&tx, &filter).map(Ok)),
                            Err(e) => {
                                // The stream ends after an error: nothing after it is read.
                                buffer.push_back(Err(e));
                                cursor = i64::MAX;
                                break;
                            }
                        }
                    }
                    if buffer.is_empty() {
                        let caught_up = *receiver.borrow_and_update() <= cursor;
                        if caught_up && receiver.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    /// The command index answers at once; the consumed contracts' created events are looked for backwards from
    /// the transaction, one transaction per turn of the lock (a rare path: a request whose answer was lost).
    /// Deduplication here is by command id alone, so `act_as` does not narrow the search.
    async fn committed_command(
        &self,
        command_id: &str,
        _act_as: &[String],
        _filter: &UpdateFilter,
    ) -> Result<Option<CommittedCommand>, LedgerError> {
        let found = self.inner.lock().by_command(command_id)?;
        let Some(found) = found else {
            return Ok(None);
        };
        if !found.durable {
            self.inner.wait_durable(found.transaction.offset).await?;
        }
        let transaction = (*found.transaction).clone();
        let wanted = CommittedCommand::consumed_ids(&transaction);
        let mut consumed: Vec<CreatedEvent> = Vec::with_capacity(wanted.len());
        let mut index = usize::try_from(transaction.offset - 1).unwrap_or(0);
        while consumed.len() < wanted.len() && index > 0 {
            index -= 1;
            // A compacted log is sparse below its snapshot: a pruned transaction is skipped, and a creation that
            // was pruned leaves the answer to be rebuilt without the consumed contract.
            let earlier = match self.inner.lock().durable_at(index) {
                Ok(Some(earlier)) => earlier,
                Ok(None) => continue,
                Err(_) => break,
            };
            for event in &earlier.events {
                if let Event::Created(created) = event
                    && wanted.contains(&created.contract_id.as_str())
                {
                    consumed.push(created.clone());
                }
            }
        }
        Ok(Some(CommittedCommand {
            transaction,
            consumed,
        }))
    }

    fn ledger_type(&self) -> &'static str {
        "embedded"
    }
}

#[async_trait::async_trait]
impl ServableLedger for EmbeddedLedger {
    async fn submit_reporting_duplicates(
        &self,
        submission: Submission,
    ) -> Result<SubmitOutcome, LedgerError> {
        let (pending, duplicate) = self.sequence_reporting_duplicates(submission)?;
        Ok(SubmitOutcome {
            transaction: pending.committed().await?,
            duplicate,
        })
    }

    async fn transaction_by_update_id(
        &self,
        update_id: &str,
    ) -> Result<Option<Transaction>, LedgerError> {
        let found = self.inner.lock().durable_by_update(update_id)?;
        Ok(found.map(|tx| (*tx).clone()))
    }

    async fn transaction_by_offset(&self, offset: i64) -> Result<Option<Transaction>, LedgerError> {
        let Ok(index) = usize::try_from(offset - 1) else {
            return Ok(None);
        };
        let (found, earliest) = {
            let state = self.inner.lock();
            let earliest = state.is_pruned(offset).then(|| state.readable_from());
            (state.durable_at(index)?, earliest)
        };
        if let Some(earliest) = earliest {
            return Err(PrunedOffset {
                requested: offset,
                earliest,
            }
            .into());
        }
        Ok(found.map(|tx| (*tx).clone()))
    }
}

/// Appends the records in `[from, to)` of the current journal to the compacted one, in pieces of at most 8 MiB.
fn copy_records(
    reader: &JournalReader,
    file: &mut CompactFile,
    from: u64,
    to: u64,
) -> Result<(), String> {
    const PIECE: u64 = 8 << 20;
    let mut at = from;
    while at < to {
        let length = (to - at).min(PIECE) as usize;
        let bytes = reader
            .read_bytes(at, length)
            .map_err(|e| format!("cannot read the journal at byte {at}: {e}"))?;
        file.append(&bytes)
            .map_err(|e| format!("cannot write the compacted journal: {e}"))?;
        at += length as u64;
    }
    Ok(())
}

/// Reads one chunk of the active contracts as of `offset`: each creating transaction once, from memory or the
/// journal, outside the lock; keeps those `filter` admits. A compaction since the set was listed may have pruned the
/// creator of a contract archived after `offset`: then the set can no longer be read, and that is the pruned error
/// (not a contract silently left out).
fn read_active_chunk(
    inner: &Inner,
    offset: i64,
    chunk: &[Creation],
    filter: &UpdateFilter,
) -> Result<Vec<ActiveContract>, LedgerError> {
    let fetches: Vec<(Creation, Option<Fetch>)> = {
        let state = inner.lock();
        if chunk
            .iter()
            .any(|creation| state.is_pruned(creation.index as i64 + 1))
        {
            return Err(PrunedOffset {
                requested: offset,
                earliest: state.readable_from(),
            }
            .into());
        }
        let mut previous = None;
        chunk
            .iter()
            .map(|creation| {
                // Creations come sorted, so those of one transaction are neighbours: fetch it once.
                let fetch = (previous != Some(creation.index)).then(|| state.fetch(creation.index));
                previous = Some(creation.index);
                (*creation, fetch.flatten())
            })
            .collect()
    };
    let starts: Vec<(Creation, bool)> = fetches.iter().map(|(c, f)| (*c, f.is_some())).collect();
    let mut read = resolve_all(fetches.into_iter().filter_map(|(_, f)| f).collect()).into_iter();
    let mut contracts = Vec::with_capacity(chunk.len());
    let mut current: Option<Arc<Transaction>> = None;
    for (creation, starts_transaction) in starts {
        if starts_transaction {
            current = read.next().transpose()?;
        }
        let Some(tx) = current
            .as_ref()
            .filter(|tx| tx.offset == creation.index as i64 + 1)
        else {
            continue;
        };
        if let Some(created) = created_event(tx, creation.node)
            && filter.admits(&created.template_id)
        {
            contracts.push(ActiveContract {
                created: created.clone(),
                created_update_id: tx.update_id.clone(),
            });
        }
    }
    Ok(contracts)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod journal_read_tests;

#[cfg(test)]
mod compaction_tests;
