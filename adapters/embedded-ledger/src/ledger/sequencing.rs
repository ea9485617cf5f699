//! Sequencing a submission: deduplication, injected faults, interpretation, the next offset and the update id, all
//! decided under the state lock so the next command is interpreted on top of this one; the wait for durability
//! happens afterwards, outside the lock, so one journal sync can cover many submissions.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ledger_port::{Clock, LedgerError, PendingCommit, RejectionReason, Submission, Transaction};
use sha2::{Digest, Sha256};

use super::{EmbeddedLedger, Inner};
use crate::group_commit::advance;
use crate::interpret::interpret;
use crate::state::{broken_error, created_event};

/// A submission that has been sequenced (or found to be a duplicate).
struct Sequenced {
    transaction: Arc<Transaction>,
    duplicate: bool,
    durable: bool,
    /// The automatic policy says the journal should be compacted now.
    compact: bool,
}

impl EmbeddedLedger {
    /// Sequences a submission and hands back its pending commit, telling duplicates apart.
    pub(super) fn sequence_reporting_duplicates(
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
    fn now(&self, offset: i64) -> i64 {
        match self.clock {
            Clock::Fixed(t) => t.saturating_add(offset),
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
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
