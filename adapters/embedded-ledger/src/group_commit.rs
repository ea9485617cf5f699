//! Group commit: one journal sync covers every transaction written before it, so concurrent or pipelined
//! submitters share `fdatasync`s instead of paying one each.
//!
//! Leader/follower: a submitter waiting for its offset to become durable takes the leader lock. If its offset is
//! still not durable, it syncs everything written so far (on a blocking thread) and advances the durable end for
//! everyone; those queued behind it usually find their offset covered and return without a sync of their own.
//! Whatever was written during that sync is covered by the next leader's. A failed sync breaks the ledger: the
//! transactions after the durable end were interpreted on top of each other, so none of them can be reported.
//!
//! The journal to sync is taken from the state with the target, under its lock: a compaction may have switched to
//! a new file (having synced everything written before the switch, so a sync of the old file that was under way
//! then covers nothing that is not durable already).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use ledger_port::LedgerError;
use tokio::sync::watch;

use crate::state::{State, broken_error};

/// Coordinates syncs of one journal.
pub(crate) struct GroupCommit {
    leader: tokio::sync::Mutex<()>,
    syncs: AtomicU64,
    /// Test hook: make every sync fail (a failing disk cannot be had on demand).
    #[cfg(test)]
    pub(crate) fail_syncs: std::sync::atomic::AtomicBool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Raises the published durable end to `to`; never lowers it, whatever order concurrent callers arrive in, so an
/// update stream that saw a higher end is never told to wait for a lower one.
pub(crate) fn advance(end: &watch::Sender<i64>, to: i64) {
    end.send_if_modified(|current| {
        let raise = *current < to;
        if raise {
            *current = to;
        }
        raise
    });
}

/// `Some` once waiting for `offset` is over: durable, or never going to be.
fn settled(state: &State, offset: i64) -> Option<Result<(), LedgerError>> {
    if state.durable_end() >= offset {
        Some(Ok(()))
    } else {
        state.broken().map(|why| Err(broken_error(why)))
    }
}

impl GroupCommit {
    pub fn new() -> Self {
        Self {
            leader: tokio::sync::Mutex::new(()),
            syncs: AtomicU64::new(0),
            #[cfg(test)]
            fail_syncs: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// How many syncs have been started.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Waits until the transaction at `offset` (already written) is durable, syncing the journal when no sync that
    /// covers it is under way. Publishes each new durable end on `end` (the update streams' wake-up).
    pub async fn wait_durable(
        &self,
        offset: i64,
        state: &Mutex<State>,
        end: &watch::Sender<i64>,
    ) -> Result<(), LedgerError> {
        if let Some(done) = settled(&lock(state), offset) {
            return done;
        }
        let _leader = self.leader.lock().await;
        let (target, journal) = {
            let state = lock(state);
            if let Some(done) = settled(&state, offset) {
                return done;
            }
            (state.written_end(), state.syncer())
        };
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let sync = move || match journal {
            Some(journal) => journal.sync(),
            None => Ok(()),
        };
        let result = match tokio::task::spawn_blocking(sync).await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(format!("the sync task failed: {e}"))),
        };
        #[cfg(test)]
        let result = match self.fail_syncs.load(Ordering::Relaxed) {
            true => Err(std::io::Error::other("injected sync failure")),
            false => result,
        };
        let mut guard = lock(state);
        match result {
            Ok(()) => {
                guard.mark_durable(target);
                let durable_end = guard.durable_end();
                drop(guard);
                advance(end, durable_end);
                Ok(())
            }
            Err(e) => {
                guard.set_broken(format!("cannot sync the journal: {e}"));
                settled(&guard, offset).unwrap_or_else(|| Err(broken_error("journal sync failed")))
            }
        }
    }
}
