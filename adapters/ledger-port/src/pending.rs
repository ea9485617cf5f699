//! A sequenced commit that may not be durable yet: the split between "the ledger has decided this command" and "the
//! transaction is durable and visible", which lets a ledger cover many commands with one sync (group commit).
//!
//! [`crate::Ledger::sequence`] returns one as soon as the command's transaction is fixed: its offset, ids and effects
//! will not change, and commands sequenced after it are interpreted on top of it. Nothing may be reported to anyone
//! as committed until [`PendingCommit::committed`] resolves; if it fails, the transaction may be lost in a crash.

use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;

use crate::{LedgerError, Transaction};

/// A transaction the ledger has sequenced, and the wait for it to become durable.
pub struct PendingCommit {
    transaction: Transaction,
    /// `None` when the transaction was already durable when it was handed out.
    durable: Option<BoxFuture<'static, Result<(), LedgerError>>>,
}

impl PendingCommit {
    /// A transaction that is already committed (a ledger without the split, or a duplicate of a durable command).
    pub fn ready(transaction: Transaction) -> Self {
        Self {
            transaction,
            durable: None,
        }
    }

    /// A transaction that is committed once `durable` resolves with `Ok`.
    pub fn awaiting(
        transaction: Transaction,
        durable: impl Future<Output = Result<(), LedgerError>> + Send + 'static,
    ) -> Self {
        Self {
            transaction,
            durable: Some(Box::pin(durable)),
        }
    }

    /// The sequenced transaction. Use it only for decisions the ledger itself would see the same way (the next
    /// command's target); never publish it before [`PendingCommit::committed`].
    pub fn transaction(&self) -> &Transaction {
        &self.transaction
    }

    /// Waits until the transaction is durable and visible to readers, and returns it.
    pub async fn committed(self) -> Result<Transaction, LedgerError> {
        if let Some(durable) = self.durable {
            durable.await?;
        }
        Ok(self.transaction)
    }
}

impl fmt::Debug for PendingCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingCommit")
            .field("offset", &self.transaction.offset)
            .field("command_id", &self.transaction.command_id)
            .field("awaiting_durability", &self.durable.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> Transaction {
        Transaction {
            update_id: "u".into(),
            command_id: "c".into(),
            offset: 7,
            effective_at_micros: 0,
            events: vec![],
        }
    }

    #[test]
    fn a_ready_commit_returns_its_transaction() {
        let pending = PendingCommit::ready(tx());
        assert_eq!(pending.transaction().offset, 7);
        assert_eq!(futures::executor::block_on(pending.committed()), Ok(tx()));
    }

    #[test]
    fn an_awaiting_commit_fails_when_durability_fails() {
        let ok = PendingCommit::awaiting(tx(), async { Ok(()) });
        assert_eq!(futures::executor::block_on(ok.committed()), Ok(tx()));
        let lost =
            PendingCommit::awaiting(tx(), async { Err(LedgerError::transient("sync failed")) });
        assert!(format!("{lost:?}").contains("awaiting_durability: true"));
        let err = futures::executor::block_on(lost.committed()).unwrap_err();
        assert_eq!(err.message, "sync failed");
    }
}
