//! [`EmbeddedLedger`] behind the port's traits: [`Ledger`] for the gateway, [`ServableLedger`] for `connector
//! sandbox`. Sequencing and reading live in their own modules; what is here is the lookups that need neither (the
//! ledger end, a command's transaction with what it consumed, a transaction by update id or offset).

use ledger_port::{
    ActiveContractStream, CommittedCommand, CreatedEvent, Event, Ledger, LedgerError,
    PendingCommit, PrunedOffset, ServableLedger, Submission, SubmitOutcome, Transaction,
    UpdateFilter, UpdateStream,
};

use super::{EmbeddedLedger, reading};
use crate::state::broken_error;

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

    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError> {
        Ok(reading::active_contracts(&self.inner, filter))
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
        reading::updates(&self.inner, begin_exclusive, filter)
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
