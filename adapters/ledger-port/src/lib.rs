//! The ledger port: what the gateway needs from a ledger, independent of which ledger it is.
//!
//! The embedded ledger and the Daml gRPC adapter both implement [`Ledger`]; the core only ever talks to this trait.
//! The shapes follow Daml's Ledger API v2 (templates, contracts, transactions of created/archived/exercised events,
//! int64 offsets) so that the Daml adapter is a translation, not a reinterpretation.

mod clock;
mod committed_command;
mod error;
mod model;
mod pending;
mod pruned;
mod trace_headers;

pub use clock::Clock;
pub use committed_command::CommittedCommand;
pub use error::{ErrorClass, LedgerError, RejectionReason};
pub use message_schema::value::{LedgerValue, Record, RecordField};
pub use model::{
    ActiveContract, ActiveContracts, ArchivedEvent, Command, CreatedEvent, Event, ExercisedEvent,
    Submission, TemplateId, TemplateIdError, Transaction, UpdateFilter,
};
pub use pending::PendingCommit;
pub use pruned::{PRUNED_DATA_ACCESSED, PrunedOffset};
pub use trace_headers::{TraceHeaders, current_trace_headers, with_trace_headers};

use futures::StreamExt;
use futures::stream::BoxStream;

/// A stream of committed transactions in offset order; it ends only on error or when the ledger shuts down.
pub type UpdateStream = BoxStream<'static, Result<Transaction, LedgerError>>;

/// The active contract set at an offset, handed out one contract at a time: a large set (100,000 contracts and
/// their payloads) need never be held whole by the ledger or the reader.
pub struct ActiveContractStream {
    pub offset: i64,
    /// The contracts in the ledger's order; ends after the last (or an error).
    pub contracts: BoxStream<'static, Result<ActiveContract, LedgerError>>,
}

impl ActiveContractStream {
    /// The whole set, as the default [`Ledger::active_contracts`] gives it.
    pub async fn collect(self) -> Result<ActiveContracts, LedgerError> {
        let contracts = self.contracts.collect::<Vec<_>>().await;
        Ok(ActiveContracts {
            offset: self.offset,
            contracts: contracts.into_iter().collect::<Result<_, _>>()?,
        })
    }
}

/// A ledger the gateway can submit commands to and watch.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// Submits one command and waits until its transaction is committed.
    ///
    /// Deduplication contract: a submission whose `command_id` (with the same acting parties) was already committed
    /// returns the *original* transaction and changes nothing. Implementations check this before validating the
    /// command, so a resubmission after a crash succeeds even if the contract it exercised is no longer active.
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError>;

    /// Decides one command and returns as soon as its transaction is fixed, possibly before it is durable; the
    /// [`PendingCommit`] resolves once it is. A ledger that syncs to disk can thus apply the next command while this
    /// one's sync is under way and cover both with one sync (group commit).
    ///
    /// Same deduplication contract as [`Ledger::submit`] (a duplicate of a command that is not durable yet waits for
    /// it). Commands sequenced later are interpreted on top of this one, so if its commit fails theirs fail too.
    /// Readers (`updates`, `active_contracts`, `ledger_end`) see the transaction only once it is durable. The default
    /// is a full [`Ledger::submit`], already committed when it returns: right for any ledger without the split.
    async fn sequence(&self, submission: Submission) -> Result<PendingCommit, LedgerError> {
        self.submit(submission).await.map(PendingCommit::ready)
    }

    /// The active contracts matching `filter` at the current ledger end, with that offset, handed out one at a time
    /// as the ledger reads them.
    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError>;

    /// The same set as [`Ledger::active_contract_stream`], held whole. The default collects the stream: every
    /// ledger streams its set, so none needs a second way of reading it.
    async fn active_contracts(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContracts, LedgerError> {
        self.active_contract_stream(filter).await?.collect().await
    }

    /// The offset of the last committed transaction (0 for an empty ledger).
    async fn ledger_end(&self) -> Result<i64, LedgerError>;

    /// Committed transactions with an offset greater than `begin_exclusive` that touch `filter`'s templates,
    /// first the stored ones, then new ones as they commit (a live tail).
    async fn updates(
        &self,
        begin_exclusive: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError>;

    /// The transaction the command `command_id`, submitted by `act_as`, committed — found without submitting
    /// anything — with the created events of the contracts it consumed; `None` when no such command committed (or
    /// the ledger no longer remembers it: beyond its deduplication window or pruned). A gateway asks this when its
    /// own record of a request's answer is gone and the request's checks would now fail (its contract archived by
    /// that very command), so the original answer can be rebuilt instead of a false "not found".
    async fn committed_command(
        &self,
        command_id: &str,
        act_as: &[String],
        filter: &UpdateFilter,
    ) -> Result<Option<CommittedCommand>, LedgerError>;

    /// `"embedded"` or `"daml"`: written into every egress message's `additionalInformation.ledgerType`.
    fn ledger_type(&self) -> &'static str;
}

/// The result of a submission, telling a fresh commit from a deduplicated resubmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    pub transaction: Transaction,
    /// True when the command id had already committed and `transaction` is the original one.
    pub duplicate: bool,
}

/// A ledger that can be served to others over the Daml Ledger API (`connector sandbox`): besides [`Ledger`], it
/// tells duplicates apart (the API answers them with ALREADY_EXISTS) and looks transactions up by update id.
#[async_trait::async_trait]
pub trait ServableLedger: Ledger {
    /// Like [`Ledger::submit`], but reports whether the command id was a duplicate.
    async fn submit_reporting_duplicates(
        &self,
        submission: Submission,
    ) -> Result<SubmitOutcome, LedgerError>;

    /// The committed transaction with this update id, unfiltered.
    async fn transaction_by_update_id(
        &self,
        update_id: &str,
    ) -> Result<Option<Transaction>, LedgerError>;

    /// The committed transaction at exactly this offset, unfiltered.
    async fn transaction_by_offset(&self, offset: i64) -> Result<Option<Transaction>, LedgerError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_id_forms() {
        let plain = TemplateId::parse("Shipment:Shipment").unwrap();
        assert_eq!(plain.package, "");
        assert_eq!(plain.to_string(), "Shipment:Shipment");
        let named = TemplateId::parse("#cold-chain:Cold.Shipment:Shipment").unwrap();
        assert_eq!(named.package, "#cold-chain");
        assert_eq!(named.module, "Cold.Shipment");
        let unqualified = TemplateId::parse("Cold.Shipment:Shipment").unwrap();
        assert!(
            named.matches(&unqualified),
            "an empty package matches any package"
        );
        assert!(!named.matches(&plain), "a different module never matches");
        let hashed = TemplateId::parse("abc123:Cold.Shipment:Shipment").unwrap();
        assert!(!named.matches(&hashed));
        for bad in [
            "", "Shipment", "a:b:c:d", ":M:E", "#:M:E", "M:", "M..N:E", "M:E-1",
        ] {
            assert!(TemplateId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn filter_admits_by_template() {
        let t = TemplateId::parse("M:E").unwrap();
        let other = TemplateId::parse("M:F").unwrap();
        assert!(UpdateFilter::default().admits(&t));
        let filter = UpdateFilter {
            templates: vec![t.clone()],
            parties: vec![],
        };
        assert!(filter.admits(&t));
        assert!(!filter.admits(&other));
    }

    #[test]
    fn errors_classify() {
        assert!(LedgerError::transient("down").is_transient());
        let e = LedgerError::permanent(RejectionReason::NotFound, "gone")
            .with_ledger_error("CONTRACT_NOT_FOUND");
        assert!(!e.is_transient());
        assert_eq!(e.ledger_error.as_deref(), Some("CONTRACT_NOT_FOUND"));
    }
}
