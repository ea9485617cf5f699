//! When the ledger compacts its journal and how it drives a compaction: the settings (automatic policy,
//! deduplication window, the readers' floor), the decision after each commit, the background run and its back-off
//! after a failure, and the write of the planned journal with the switch to it. What a compaction keeps is planned by
//! the state ([`crate::state::compaction_plan`]); the file format is [`crate::compaction`]'s.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use super::{CompactionFloor, CompactionSettings, EmbeddedLedger, Inner};
use crate::compaction::{CompactError, CompactFile, CompactionPolicy, CompactionReport};
use crate::group_commit::advance;
use crate::journal::{self, JournalReader};
use crate::state::State;
use crate::state::compaction_plan::CompactionPlan;

impl EmbeddedLedger {
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
    pub(super) fn compact_in_background(&self) {
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
}

impl Inner {
    pub(super) fn compaction_settings(&self) -> MutexGuard<'_, CompactionSettings> {
        self.compaction.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compaction floor now (the durable end's worth of "no limit" when none is set).
    pub(super) fn compaction_floor(&self) -> i64 {
        let floor = self.compaction_settings().floor.clone();
        floor.map_or(i64::MAX, |floor| floor())
    }

    /// Whether the automatic policy wants a compaction, given the state after a commit.
    pub(super) fn wants_compaction(&self, state: &State, floor: i64) -> bool {
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
