//! The ledger misbehaving: transient faults retried then exhausted (nothing recorded), a Failure made durable
//! before the next command, a configuration fault that halts without retrying, recording or dead-lettering.

use super::*;

#[tokio::test]
async fn transient_faults_are_retried_then_exhausted_without_recording() {
    let store = Arc::new(MemoryOutcomeStore::new());
    let f = fixture_with(store.clone());
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    f.ledger.set_fault_plan(FaultPlan {
        rules: vec![
            FaultRule {
                choice: Some("TransferResponsibility".into()),
                template: None,
                kind: FaultKind::Transient,
                times: Some(2),
            },
            FaultRule {
                choice: Some("Complete".into()),
                template: None,
                kind: FaultKind::Transient,
                times: None,
            },
        ],
    });
    let ok = f
        .processor
        .process(&action(
            "t1",
            &lid,
            "Transfer",
            &[("newCounterparty", "Carrier")],
            None,
        ))
        .await;
    assert_eq!(
        ok.disposition,
        Disposition::Completed,
        "succeeds on the third attempt"
    );
    let stuck = f
        .processor
        .process(&action("k1", &lid, "Complete", &[], None))
        .await;
    assert!(matches!(stuck.disposition, Disposition::Exhausted { .. }));
    assert_eq!(error_code(&json_of(&stuck)[0]), 5030);
    assert!(
        store.get("k1").unwrap().is_none(),
        "an exhausted request can be re-sent once the ledger is back"
    );
    f.ledger.set_fault_plan(FaultPlan { rules: vec![] });
    let retried = f
        .processor
        .process(&action("k1", &lid, "Complete", &[], None))
        .await;
    assert_eq!(json_of(&retried)[1]["status"], "Committed");
}

/// A store that counts flushes, to see when failures are made durable.
#[derive(Default)]
struct CountingStore {
    inner: MemoryOutcomeStore,
    flushes: AtomicUsize,
}

impl OutcomeStore for CountingStore {
    fn get(&self, id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        self.inner.get(id)
    }
    fn put(&self, id: &str, e: &[EncodedEgress]) -> Result<(), StoreError> {
        self.inner.put(id, e)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.flushes.fetch_add(1, AtomicOrdering::SeqCst);
        Ok(())
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

impl RequestHistory for CountingStore {
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
async fn a_failure_is_made_durable_before_the_next_ledger_command() {
    let store = Arc::new(CountingStore::default());
    let f = fixture_with(store.clone());
    f.processor.process(&create("c1", "20", "60")).await;
    f.processor.process(&create("c2", "20", "60")).await;
    assert_eq!(
        store.flushes.load(AtomicOrdering::SeqCst),
        0,
        "successes need no eager flush"
    );
    let lid = linear_id_for("c1").to_string();
    f.processor
        .process(&action("guard", &lid, "Complete", &[], None))
        .await;
    assert_eq!(store.flushes.load(AtomicOrdering::SeqCst), 0);
    f.processor.process(&create("c3", "20", "60")).await;
    assert_eq!(
        store.flushes.load(AtomicOrdering::SeqCst),
        1,
        "flushed before the next submit"
    );
}

/// A ledger that refuses the gateway's credentials on every submission, counting them.
#[derive(Default)]
struct RefusingLedger {
    submissions: AtomicUsize,
}

#[async_trait::async_trait]
impl Ledger for RefusingLedger {
    async fn submit(&self, _: Submission) -> Result<Transaction, LedgerError> {
        self.submissions.fetch_add(1, AtomicOrdering::SeqCst);
        Err(LedgerError::configuration(
            ledger_port::RejectionReason::Unauthenticated,
            "SubmitAndWaitForTransaction: the access token has expired",
        ))
    }
    async fn active_contract_stream(
        &self,
        _: &UpdateFilter,
    ) -> Result<ledger_port::ActiveContractStream, LedgerError> {
        Ok(ledger_port::ActiveContractStream {
            offset: 0,
            contracts: Box::pin(futures::stream::empty()),
        })
    }
    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        Ok(0)
    }
    async fn updates(
        &self,
        _: i64,
        _: &UpdateFilter,
    ) -> Result<ledger_port::UpdateStream, LedgerError> {
        Err(LedgerError::transient("not used"))
    }
    async fn committed_command(
        &self,
        _command_id: &str,
        _act_as: &[String],
        _filter: &UpdateFilter,
    ) -> Result<Option<ledger_port::CommittedCommand>, LedgerError> {
        Err(LedgerError::transient("not used"))
    }
    fn ledger_type(&self) -> &'static str {
        "daml"
    }
}

#[tokio::test]
async fn a_configuration_fault_halts_without_retrying_recording_or_dead_lettering() {
    let config = Config::from_yaml_with_env(CONFIG, std::iter::empty()).unwrap();
    let mapping = Arc::new(WorkflowMapping::compile(&config.workflows).unwrap());
    let store = Arc::new(MemoryOutcomeStore::new());
    let ledger = Arc::new(RefusingLedger::default());
    let processor = Processor::new(
        ledger.clone(),
        mapping,
        store.clone(),
        ProcessorSettings {
            party: "Operator".into(),
            allowed_request_parties: None,
            parties_by_amqp_user: None,
            retry: RetryConfig {
                max_attempts: 5,
                initial_backoff_ms: 1,
                max_backoff_ms: 2,
            },
            info: LedgerInfo {
                ledger_type: "daml".into(),
                platform_version: 1,
                connection_id: 1,
            },
            limits: Limits::default(),
            faults: None,
        },
    );
    let staged = processor
        .begin(&create("c1", "20", "60"), &Sender::default())
        .await;
    assert!(
        staged
            .halted()
            .is_some_and(|r| r.contains("token has expired")),
        "phase 1 tells the gateway to stop taking deliveries: {staged:?}"
    );
    let p = processor.finish(staged).await;
    match &p.disposition {
        Disposition::Halted { reason } => assert!(reason.contains("token has expired"), "{reason}"),
        other => panic!("expected a halt, got {other:?}"),
    }
    assert!(
        p.egress.is_empty(),
        "nothing is published, not even Submitted"
    );
    assert_eq!(
        ledger.submissions.load(AtomicOrdering::SeqCst),
        1,
        "a configuration fault is not retried"
    );
    assert!(
        store.get("c1").unwrap().is_none(),
        "not recorded: once the credentials are fixed the redelivered request is processed"
    );
}
