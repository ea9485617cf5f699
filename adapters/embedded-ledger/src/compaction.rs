//! Journal compaction: rewrites the journal as a snapshot (active contracts, retained transactions, the ledger end)
//! followed by the transactions after it, so the file and the start-up replay grow with the active set instead of
//! with history.
//!
//! The new journal is written beside the old one (`<journal>.compact`), fsynced, renamed over it, and the directory
//! fsynced. A crash at any step leaves the old journal (the `.compact` is removed at the next open) or the new one,
//! never neither and never a mix: `rename` replaces the name atomically. The test-only fault points
//! ([`fault_point`]) stop the process at each step so that this is tested in a child process.
//!
//! Online, the ledger keeps committing while the bulk is written: the plan (what to keep) is taken under the state
//! lock, the snapshot and the retained records are written without it, the records committed meanwhile are copied
//! once more without it, and only the last few records, the fsync, the rename and the switch of files happen under
//! the lock, so commits wait for about one fsync (see `EmbeddedLedger::compact`).
//!
//! What is kept: every transaction that created a contract active at the snapshot (its created event is read from
//! there), every transaction inside the deduplication window (a redelivered command gets its original transaction
//! back, as before compaction), and every transaction after the *readable floor* (what a reader may still ask for:
//! the gateway's observer checkpoint). Everything else is pruned: asked for, it is a pruned-offset error.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::journal::{
    HEADER_LEN, MAGIC, RECORD_HEADER_LEN, RecordLocation, VERSION, compact_path, encode_payload,
};
use crate::snapshot::Snapshot;

/// When the ledger compacts its journal by itself, and what compaction keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// Compact when the journal holds more than this many records per active contract (0: never automatically).
    pub history_factor: f64,
    /// ...and at least this many transactions could be pruned (so a small ledger is never rewritten, and one
    /// compaction is not followed at once by another).
    pub min_transactions: u64,
    /// Transactions this recent (by effective time, before the last one at the snapshot) are kept whole, so a
    /// command redelivered within it is answered with its original transaction rather than committed again.
    pub deduplication_window: Duration,
}

impl Default for CompactionPolicy {
    /// 4 records per active contract, 100,000 prunable transactions (replaying 100k stays well under a second), a
    /// 7-day deduplication window: Daml's usual maximum deduplication duration, and the gateway's default outcome
    /// retention, so a request re-sent after its outcome expired is still deduplicated by the ledger.
    fn default() -> Self {
        Self {
            history_factor: 4.0,
            min_transactions: 100_000,
            deduplication_window: Duration::from_secs(7 * 86_400),
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// The ledger end the snapshot was taken at.
    pub snapshot_offset: i64,
    /// The earliest `begin_exclusive` readers may still use.
    pub readable_from: i64,
    /// Transactions before the snapshot kept whole.
    pub retained: u64,
    /// Active contracts in the snapshot.
    pub active_contracts: usize,
    /// The journal's size before and after, in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Why a compaction did not happen (the old journal is then still in use, unchanged).
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error("the ledger is in memory: there is no journal to compact")]
    InMemory,
    #[error("a compaction of this journal is already running")]
    AlreadyRunning,
    /// An automatic compaction found too little to prune to be worth rewriting the journal.
    #[error("compaction would prune {pruned} transactions, fewer than the {needed} it waits for")]
    TooLittleToPrune { pruned: u64, needed: u64 },
    #[error("cannot compact journal {path}: {reason}")]
    Failed { path: PathBuf, reason: String },
}

/// The steps of writing a compacted journal, each a place a crash may strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `<journal>.compact` created, header and snapshot written.
    Created,
    /// Every record written, nothing fsynced.
    Written,
    /// The new file fsynced, not yet renamed.
    Synced,
    /// Renamed over the journal, directory not yet fsynced.
    Renamed,
    /// The directory fsynced; the ledger not yet switched to the new file.
    DirectorySynced,
}

impl Step {
    #[cfg(test)]
    pub(crate) const ALL: [Step; 5] = [
        Step::Created,
        Step::Written,
        Step::Synced,
        Step::Renamed,
        Step::DirectorySynced,
    ];

    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Created => "created",
            Step::Written => "written",
            Step::Synced => "synced",
            Step::Renamed => "renamed",
            Step::DirectorySynced => "directory_synced",
        }
    }
}

/// The environment variable that makes a test build abort the process at a step (its [`Step::name`]).
#[cfg(test)]
pub(crate) const ABORT_AT_ENV: &str = "EMBEDDED_LEDGER_COMPACTION_ABORT_AT";

/// Test builds abort the process here when told to (a crash at this step); otherwise nothing.
#[cfg(test)]
pub(crate) fn fault_point(step: Step) {
    if std::env::var(ABORT_AT_ENV).is_ok_and(|at| at == step.name()) {
        std::process::abort();
    }
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn fault_point(_step: Step) {}

/// fsyncs a directory, so that names created, removed or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// fsyncs the directory holding `path`.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => sync_dir(dir),
        None => sync_dir(Path::new(".")),
    }
}

/// Creates `dir` and any missing ancestors, fsyncing the parent of each one created, so that a journal created in
/// them is still reachable after a power loss.
pub(crate) fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(d) = current.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_owned());
        current = d.parent();
    }
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        sync_parent(created)?;
    }
    Ok(())
}

/// Creates an empty version-2 journal at `path` (an empty snapshot, no transactions), atomically.
pub(crate) fn create_empty(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dirs(dir)?;
    }
    let mut file = CompactFile::create(path)?;
    file.write_snapshot(&Snapshot::default())?;
    match file.install(path)?.directory_sync_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A compacted journal in place.
pub(crate) struct Installed {
    /// The file (open for appending) and its length.
    pub file: (File, u64),
    /// The rename happened but the directory could not be synced: it may not survive a power loss.
    pub directory_sync_error: Option<std::io::Error>,
}

/// A compacted journal being written at `<journal>.compact`.
pub(crate) struct CompactFile {
    file: File,
    path: PathBuf,
    end: u64,
}

impl CompactFile {
    /// Creates `<journal>.compact` (replacing a leftover one) with the version-2 header.
    pub fn create(journal: &Path) -> std::io::Result<Self> {
        let path = compact_path(journal);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)?;
        let mut header = MAGIC.to_vec();
        header.push(VERSION);
        file.write_all(&header)?;
        Ok(Self {
            file,
            path,
            end: HEADER_LEN,
        })
    }

    /// Writes the snapshot record (first, right after the header).
    pub fn write_snapshot(&mut self, snapshot: &Snapshot) -> std::io::Result<()> {
        let payload = serde_json::to_vec(snapshot).map_err(std::io::Error::other)?;
        let (record, _) = encode_payload(&payload);
        self.append(&record)?;
        fault_point(Step::Created);
        Ok(())
    }

    /// Writes one transaction record from its payload; says where the payload landed.
    pub fn write_record(&mut self, payload: &[u8]) -> std::io::Result<RecordLocation> {
        let (record, checksum) = encode_payload(payload);
        let position = self.end + RECORD_HEADER_LEN as u64;
        self.append(&record)?;
        Ok(RecordLocation {
            position,
            length: payload.len() as u32,
            checksum,
        })
    }

    /// Appends whole records as they are.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Where the next byte goes.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// fsyncs the file, renames it over `journal`, fsyncs the directory: from the rename on, `journal` is the
    /// compacted journal. An error means the rename did not happen (the old journal is still in place).
    pub fn install(self, journal: &Path) -> std::io::Result<Installed> {
        fault_point(Step::Written);
        self.file.sync_all()?;
        fault_point(Step::Synced);
        std::fs::rename(&self.path, journal)?;
        fault_point(Step::Renamed);
        let directory_sync_error = sync_parent(journal).err();
        fault_point(Step::DirectorySynced);
        Ok(Installed {
            file: (self.file, self.end),
            directory_sync_error,
        })
    }

    /// Removes the unfinished file after a failure (best effort: the next open removes it too).
    pub fn abandon(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }
}
