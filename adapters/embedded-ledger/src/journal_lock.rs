//! The journal's lock: one process at a time may open a journal. A running gateway or sandbox holds it for as long as
//! its ledger lives, so `connector compact` (or a second gateway) refuses to touch the journal under it.
//!
//! It is an `flock` on `<journal>.lock`, not on the journal itself: compaction renames a new file over the journal,
//! and a lock on the old file would not cover the new one. `flock` locks go away with the process, so a crash never
//! leaves a stale lock behind; the lock file itself stays (it is empty and harmless).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::recovery::OpenError;

/// Held while the ledger is open; dropping it (closing the file) releases the lock.
#[derive(Debug)]
pub(crate) struct JournalLock {
    _file: File,
}

/// `<journal>.lock`.
pub(crate) fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl JournalLock {
    /// Takes the exclusive lock on the journal at `journal` without waiting; [`OpenError::Locked`] when another
    /// open file description (another process, or another ledger in this one) holds it.
    pub fn acquire(journal: &Path) -> Result<Self, OpenError> {
        let path = lock_path(journal);
        let io = |source| OpenError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::compaction::create_dirs(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a file descriptor this function owns; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(OpenError::Locked {
                    path: journal.to_owned(),
                    lock: path,
                });
            }
            return Err(io(error));
        }
        Ok(Self { _file: file })
    }
}
