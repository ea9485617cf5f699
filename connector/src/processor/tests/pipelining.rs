//! Two-phase processing: requests begun in queue order and finished together share journal syncs and yield exactly
//! what one-at-a-time processing yields, while a copy of a request in flight, a Failure that cannot be made durable
//! and a transaction that never becomes durable keep their guarantees.

use std::time::Duration;

use ledger_port::{ActiveContractStream, PendingCommit, RejectionReason, UpdateStream};

use super::*;

async fn journaled(dir: &std::path::Path, outcomes: Arc<dyn OutcomeStore>) -> Fixture {
    let (_, catalog) = compiled();
    let (ledger, _) = EmbeddedLedger::open(&dir.join("ledger.log"), catalog, CLOCK)
        .await
        .expect("journal");
    fixture_over(Arc::new(ledger), outcomes)
}

/// Creates, actions on them (one sequenced before its create is durable), a read of a non-durable state, a guard
/// rejection decided on a non-durable state, and a create after it.
fn mixed_requests() -> Vec<Vec<u8>> {
    let c1 = linear_id_for("c1").to_string();
    let c2 = linear_id_for("c2").to_string();
    vec![
        create("c1", "20", "60"),
        create("c2", "20", "60"),
        action(
            "t1",
            &c1,
            "Transfer",
            &[("newCounterparty", "Carrier")],
            None,
        ),
        action("k1", &c1, "Complete", &[], None),
        read("r1", &c1),
        action("k2", &c2, "Complete", &[], None),
        create("c3", "20", "60"),
    ]
}

#[tokio::test]
async fn requests_begun_in_order_and_finished_together_share_one_sync_and_match_one_at_a_time() {
    let reference = fixture();
    let mut expected = vec![];
    for body in mixed_requests() {
        let p = reference.processor.process(&body).await;
        expected.push((p.disposition, p.egress));
    }
    let k2_failure: Value = serde_json::from_slice(&expected[5].1[1].body).expect("json");
    assert_eq!(
        error_code(&k2_failure),
        4090,
        "k2's guard fails: c2 was never transferred"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let f = journaled(dir.path(), Arc::new(MemoryOutcomeStore::new())).await;
    let mut staged = vec![];
    for body in mixed_requests() {
        staged.push(f.processor.begin(&body, &Sender::default()).await);
    }
    assert_eq!(
        f.ledger.journal_syncs(),
        0,
        "phase 1 never waits for a sync"
    );
    assert_eq!(
        f.ledger.transaction_count(),
        0,
        "nothing is visible before it is durable"
    );
    let finished =
        futures::future::join_all(staged.into_iter().map(|s| f.processor.finish(s))).await;
    let got: Vec<_> = finished
        .into_iter()
        .map(|p| (p.disposition, p.egress))
        .collect();
    assert_eq!(
        got, expected,
        "byte-identical egress, in the same order, as one at a time"
    );
    assert_eq!(
        f.ledger.journal_syncs(),
        1,
        "one sync covered all five transactions"
    );
    assert_eq!(f.ledger.transaction_count(), 5);
}

#[tokio::test]
async fn a_copy_of_a_request_in_flight_waits_and_replays_the_first_copys_outcome() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let body = action(
        "t1",
        &lid,
        "Transfer",
        &[("newCounterparty", "Carrier")],
        None,
    );
    let first = f.processor.begin(&body, &Sender::default()).await;
    let sender = Sender::default();
    let mut copy = Box::pin(f.processor.begin(&body, &sender));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut copy)
            .await
            .is_err(),
        "the copy waits while the first copy's outcome is not recorded"
    );
    let first = f.processor.finish(first).await;
    let copy = f.processor.finish(copy.await).await;
    assert_eq!(first.disposition, Disposition::Completed);
    assert_eq!(copy.disposition, Disposition::Replayed);
    assert_eq!(
        copy.egress, first.egress,
        "the same bytes, describing the same prior contract"
    );
    assert_eq!(f.ledger.transaction_count(), 2);
}

/// An outcome store whose flush always fails.
#[derive(Default)]
struct UnflushableStore {
    inner: MemoryOutcomeStore,
}

impl OutcomeStore for UnflushableStore {
    fn get(&self, id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        self.inner.get(id)
    }
    fn put(&self, id: &str, e: &[EncodedEgress]) -> Result<(), StoreError> {
        self.inner.put(id, e)
    }
    fn flush(&self) -> Result<(), StoreError> {
        Err(StoreError::new("disk full"))
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.inner.count()
    }
    fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
    fn set_checkpoint(&self, _: i64) -> Result<(), StoreError> {
        Ok(())
    }
    fn remove_recorded_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        self.inner.remove_recorded_before(cutoff_ms, limit)
    }
    fn compact(&self) -> Result<bool, StoreError> {
        self.inner.compact()
    }
}

impl RequestHistory for UnflushableStore {
    fn record_history(&self, entries: Vec<HistoryEntry>) -> Result<(), StoreError> {
        self.inner.record_history(entries)
    }
    fn history_entry(&self, id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        self.inner.history_entry(id)
    }
    fn recent_history(&self, query: &HistoryQuery) -> Result<HistoryPage, StoreError> {
        self.inner.recent_history(query)
    }
    fn remove_history_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        self.inner.remove_history_before(cutoff_ms, limit)
    }
    fn history_len(&self) -> Result<u64, StoreError> {
        self.inner.history_len()
    }
}

#[tokio::test]
async fn no_command_runs_ahead_of_a_failure_that_could_not_be_made_durable() {
    let f = fixture_with(Arc::new(UnflushableStore::default()));
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let rejected = f
        .processor
        .process(&action("k1", &lid, "Complete", &[], None))
        .await;
    assert_eq!(error_code(&json_of(&rejected)[1]), 4090);
    for attempt in ["c2", "c3"] {
        let p = f.processor.process(&create(attempt, "20", "60")).await;
        assert!(
            matches!(&p.disposition, Disposition::StorageFailed { reason } if reason.contains("disk full")),
            "{attempt}: {:?}",
            p.disposition
        );
    }
    assert_eq!(
        f.ledger.transaction_count(),
        1,
        "neither create reached the ledger"
    );
}

/// An in-memory embedded ledger whose transactions never become durable.
struct NeverDurable(EmbeddedLedger);

#[async_trait::async_trait]
impl Ledger for NeverDurable {
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError> {
        self.0.submit(submission).await
    }
    async fn sequence(&self, submission: Submission) -> Result<PendingCommit, LedgerError> {
        let tx = self.0.submit(submission).await?;
        Ok(PendingCommit::awaiting(tx, async {
            Err(LedgerError::configuration(
                RejectionReason::Internal,
                "cannot sync the journal: disk gone",
            ))
        }))
    }
    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError> {
        self.0.active_contract_stream(filter).await
    }
    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        self.0.ledger_end().await
    }
    async fn updates(
        &self,
        begin: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError> {
        self.0.updates(begin, filter).await
    }
    async fn committed_command(
        &self,
        command_id: &str,
        act_as: &[String],
        filter: &UpdateFilter,
    ) -> Result<Option<ledger_port::CommittedCommand>, LedgerError> {
        self.0.committed_command(command_id, act_as, filter).await
    }
    fn ledger_type(&self) -> &'static str {
        "embedded"
    }
}

#[tokio::test]
async fn a_transaction_that_never_becomes_durable_halts_without_an_outcome() {
    let (mapping, catalog) = compiled();
    let store = Arc::new(MemoryOutcomeStore::new());
    let processor = Processor::new(
        Arc::new(NeverDurable(EmbeddedLedger::in_memory(catalog, CLOCK))),
        mapping,
        store.clone(),
        settings(),
    );
    let p = processor.process(&create("c1", "20", "60")).await;
    assert!(
        matches!(&p.disposition, Disposition::Halted { reason } if reason.contains("disk gone")),
        "{:?}",
        p.disposition
    );
    assert!(p.egress.is_empty(), "nothing is published");
    assert!(
        store.get("c1").expect("store").is_none(),
        "not recorded: the redelivery decides"
    );
}
