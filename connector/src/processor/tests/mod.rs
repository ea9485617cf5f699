//! The processor against the real embedded ledger: every egress shape, every failure path, idempotency, retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use embedded_ledger::{EmbeddedLedger, FaultKind, FaultPlan, FaultRule};
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::mapping::template_catalog;
use crate::outcome_store::{MemoryOutcomeStore, StoreError};
use indexmap::IndexMap;
use ledger_port::{Clock, Command, LedgerError, Submission, Transaction, UpdateFilter};
use message_schema::egress::LedgerInfo;
use message_schema::error_code::ErrorCode;
use message_schema::limits::Limits;

use crate::config::RetryConfig;
use message_schema::value::{LedgerValue, Record};

const CONFIG: &str = r#"
party: Operator
user_chain_identifier: { allowed_parties: [Operator, Device01] }
workflows:
  Shipment:
    template: Cold:Shipment
    ensure: ["minHumidity <= maxHumidity"]
    create:
      parameters: { device: party, minHumidity: int64, maxHumidity: int64, note: "optional<text>" }
      fields: { owner: "{{party}}", state: Created }
    functions:
      Ingest:
        choice: IngestTelemetry
        parameters: { humidity: int64 }
        controllers: [device]
        when: { state: [Created, InTransit] }
        rules:
          - { if: "arg.humidity > maxHumidity", fields: { state: OutOfCompliance } }
      Transfer:
        choice: TransferResponsibility
        parameters: { newCounterparty: { type: party, field: counterparty } }
        when: { state: [Created, InTransit] }
        fields: { state: InTransit }
      Complete:
        when: { state: [InTransit] }
        fields: { state: Completed }
      Inspect:
        nonconsuming: true
      Cancel:
        archive: true
"#;

struct Fixture {
    processor: Processor,
    ledger: Arc<EmbeddedLedger>,
}

fn config() -> Config {
    Config::from_yaml_with_env(CONFIG, std::iter::empty()).unwrap()
}

/// The mapping and the embedded ledger's template catalog of [`CONFIG`].
fn compiled() -> (Arc<WorkflowMapping>, embedded_ledger::TemplateCatalog) {
    let config = config();
    let mapping = Arc::new(WorkflowMapping::compile(&config.workflows).unwrap());
    let catalog = template_catalog(&config.workflows, &mapping).unwrap();
    (mapping, catalog)
}

const CLOCK: Clock = Clock::Fixed(1_764_000_000_000_000);

fn settings() -> ProcessorSettings {
    ProcessorSettings {
        party: "Operator".into(),
        allowed_request_parties: config().allowed_request_parties().map(<[String]>::to_vec),
        parties_by_amqp_user: None,
        retry: RetryConfig {
            max_attempts: 3,
            initial_backoff_ms: 1,
            max_backoff_ms: 2,
        },
        info: LedgerInfo {
            ledger_type: "embedded".into(),
            platform_version: 1,
            connection_id: 1,
        },
        limits: Limits::default(),
        faults: None,
    }
}

fn fixture_over(ledger: Arc<EmbeddedLedger>, outcomes: Arc<dyn OutcomeStore>) -> Fixture {
    let (mapping, _) = compiled();
    let processor = Processor::new(ledger.clone(), mapping, outcomes, settings());
    Fixture { processor, ledger }
}

fn fixture_with(outcomes: Arc<dyn OutcomeStore>) -> Fixture {
    let (_, catalog) = compiled();
    fixture_over(
        Arc::new(EmbeddedLedger::in_memory(catalog, CLOCK)),
        outcomes,
    )
}

fn fixture() -> Fixture {
    fixture_with(Arc::new(MemoryOutcomeStore::new()))
}

fn create(request_id: &str, min: &str, max: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"Shipment",
        "parameters":[{"name":"device","value":"Device01"},{"name":"minHumidity","value":min},{"name":"maxHumidity","value":max}],
        "messageSchemaVersion":"1.0.0"}))
    .unwrap()
}

fn action(
    request_id: &str,
    target: &str,
    function: &str,
    params: &[(&str, &str)],
    party: Option<&str>,
) -> Vec<u8> {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let mut v = json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
        "workflowFunctionName":function,"parameters":parameters,"messageSchemaVersion":"1.0.0"});
    if let Some(p) = party {
        v["userChainIdentifier"] = json!(p);
    }
    serde_json::to_vec(&v).unwrap()
}

fn read(request_id: &str, target: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"messageName":"ReadContractRequest","requestId":request_id,"contractLedgerIdentifier":target,"messageSchemaVersion":"1.0.0"})).unwrap()
}

fn json_of(p: &Processed) -> Vec<Value> {
    p.egress
        .iter()
        .map(|e| serde_json::from_slice(&e.body).unwrap())
        .collect()
}

fn property(message: &Value, name: &str) -> Option<String> {
    message["contractProperties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str().map(str::to_owned))
}

fn error_code(message: &Value) -> u64 {
    message["additionalInformation"]["errorCode"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn create_yields_submitted_committed_contract() {
    let f = fixture();
    let p = f.processor.process(&create("c1", "20", "60")).await;
    assert_eq!(p.disposition, Disposition::Completed);
    let m = json_of(&p);
    let lid = linear_id_for("c1");
    assert_eq!(m.len(), 3);
    assert_eq!(
        (m[0]["messageName"].as_str(), m[0]["status"].as_str()),
        (Some("CreateContractUpdate"), Some("Submitted"))
    );
    assert_eq!(m[1]["status"], "Committed");
    assert_eq!(m[2]["messageName"], "ContractMessage");
    assert_eq!(m[2]["isNewContract"], true);
    for msg in &m {
        assert_eq!(msg["contractLedgerIdentifier"], lid.to_string());
        assert_eq!(
            msg["contractId"].as_u64(),
            Some(message_schema::ids::contract_id(&lid))
        );
        assert_eq!(msg["requestId"], "c1");
    }
    assert_eq!(property(&m[2], "state").as_deref(), Some("Created"));
    assert_eq!(property(&m[2], "owner").as_deref(), Some("Operator"));
    assert_eq!(
        property(&m[2], "linearId"),
        None,
        "the linear id field is left out"
    );
    assert_eq!(m[2]["modifyingTransactions"][0]["from"], "Operator");
    assert_eq!(
        p.egress
            .iter()
            .map(|e| e.routing_key.as_str())
            .collect::<Vec<_>>(),
        [
            "CreateContractUpdate",
            "CreateContractUpdate",
            "ContractMessage"
        ]
    );
}

#[tokio::test]
async fn action_yields_event_and_successor_with_consistent_transaction_ids() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let p = f
        .processor
        .process(&action(
            "a1",
            &lid,
            "Ingest",
            &[("humidity", "70")],
            Some("Device01"),
        ))
        .await;
    let m = json_of(&p);
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[0]["messageName"], "CreateContractActionUpdate");
    assert_eq!(m[2]["messageName"], "EventMessage");
    assert_eq!(m[2]["functionName"], "Ingest");
    assert_eq!(m[2]["caller"]["ledgerIdentifier"], "Device01");
    assert_eq!(
        m[2]["caller"]["id"].as_u64(),
        Some(message_schema::ids::caller_id("Device01"))
    );
    assert_eq!(
        m[2]["parameters"],
        json!([{"name":"humidity","value":"70"}])
    );
    assert_eq!(m[2]["inTransactionSequenceNumber"], 1);
    assert_eq!(m[3]["isNewContract"], false);
    assert_eq!(
        property(&m[3], "state").as_deref(),
        Some("OutOfCompliance"),
        "the rule applied"
    );
    assert_eq!(m[2]["transaction"]["transactionHash"], m[3]["blockhash"]);
    assert_eq!(m[2]["transaction"]["transactionId"], m[3]["blockId"]);
    // The read sees the successor.
    let r = json_of(&f.processor.process(&read("r1", &lid)).await);
    assert_eq!(r.len(), 1);
    assert_eq!(property(&r[0], "humidity").as_deref(), Some("70"));
    assert!(
        r[0].get("blockId").is_none(),
        "read reply is the reduced form"
    );
}

#[tokio::test]
async fn nonconsuming_and_archive_choices() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let before = f.ledger.transaction_count();
    let p = json_of(
        &f.processor
            .process(&action("i1", &lid, "Inspect", &[], None))
            .await,
    );
    assert_eq!(p[3]["messageName"], "ContractMessage");
    assert_eq!(property(&p[3], "state").as_deref(), Some("Created"));
    assert_eq!(f.ledger.transaction_count(), before + 1);
    let p = json_of(
        &f.processor
            .process(&action("x1", &lid, "Cancel", &[], None))
            .await,
    );
    assert_eq!(p[1]["status"], "Committed");
    let gone = json_of(&f.processor.process(&read("r2", &lid)).await);
    assert_eq!(error_code(&gone[0]), 4040, "the archived lineage is gone");
    assert_eq!(gone[0]["messageName"], "ReadContractUpdate");
}

#[tokio::test]
async fn a_repeated_request_is_replayed_without_a_second_effect() {
    let f = fixture();
    let first = f.processor.process(&create("c1", "20", "60")).await;
    let count = f.ledger.transaction_count();
    let second = f.processor.process(&create("c1", "20", "60")).await;
    assert_eq!(second.disposition, Disposition::Replayed);
    assert_eq!(first.egress, second.egress);
    assert_eq!(f.ledger.transaction_count(), count);
}

#[tokio::test]
async fn a_lost_outcome_is_rebuilt_from_ledger_deduplication() {
    // The outcome store forgot (a crash before it was durable): the ledger's command deduplication still yields the
    // original transaction, so the egress is identical and there is no second effect.
    let ledger_side = fixture();
    let first = ledger_side
        .processor
        .process(&create("c1", "20", "60"))
        .await;
    let lid = linear_id_for("c1").to_string();
    let act = ledger_side
        .processor
        .process(&action(
            "a1",
            &lid,
            "Transfer",
            &[("newCounterparty", "Carrier")],
            None,
        ))
        .await;
    let count = ledger_side.ledger.transaction_count();
    let fresh = Processor::new(
        ledger_side.ledger.clone(),
        ledger_side.processor.mapping().clone(),
        Arc::new(MemoryOutcomeStore::new()),
        ledger_side.processor.settings.clone(),
    );
    fresh.load_index().await.unwrap();
    assert_eq!(
        fresh.process(&create("c1", "20", "60")).await.egress,
        first.egress
    );
    assert_eq!(
        fresh
            .process(&action(
                "a1",
                &lid,
                "Transfer",
                &[("newCounterparty", "Carrier")],
                None
            ))
            .await
            .egress,
        act.egress
    );
    assert_eq!(ledger_side.ledger.transaction_count(), count);
}

#[tokio::test]
async fn request_failures_have_stable_codes_and_name_the_field() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let cases: Vec<(Vec<u8>, u64, &str)> = vec![
        (
            create("bad-int", "twenty", "60"),
            4000,
            "parameters[1].value",
        ),
        (
            action("bad-fn", &lid, "Teleport", &[], None),
            4040,
            "workflowFunctionName",
        ),
        (
            action(
                "bad-lid",
                "00000000-0000-0000-0000-000000000000",
                "Complete",
                &[],
                None,
            ),
            4040,
            "contractLedgerIdentifier",
        ),
        (
            action(
                "bad-param",
                &lid,
                "Ingest",
                &[("humidty", "1")],
                Some("Device01"),
            ),
            4000,
            "parameters[0].name",
        ),
        (
            action("missing-param", &lid, "Ingest", &[], Some("Device01")),
            4000,
            "parameters",
        ),
        (
            action("bad-party", &lid, "Complete", &[], Some("Mallory")),
            4030,
            "userChainIdentifier",
        ),
    ];
    for (body, code, field) in cases {
        let p = f.processor.process(&body).await;
        let m = json_of(&p);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(error_code(&m[0]), code, "{m:?}");
        assert_eq!(m[0]["additionalInformation"]["field"], field, "{m:?}");
        assert!(
            m[0]["additionalInformation"]["errorMessage"]
                .as_str()
                .unwrap()
                .contains(field)
        );
        assert_eq!(p.disposition, Disposition::Completed);
    }
    let wf = json_of(
        &f.processor
            .process(
                &serde_json::to_vec(
                    &json!({"messageName":"CreateContractRequest","requestId":"bad-wf",
        "workflowName":"Nope","parameters":[],"messageSchemaVersion":"1.0.0"}),
                )
                .unwrap(),
            )
            .await,
    );
    assert_eq!(error_code(&wf[0]), 4040);
    assert!(
        wf[0]["additionalInformation"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Shipment"),
        "lists the known workflows"
    );
    assert!(
        wf[0].get("contractLedgerIdentifier").is_none(),
        "no linear id was assigned"
    );
}

#[tokio::test]
async fn ledger_rejections_follow_submitted() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    for (body, code) in [
        (action("guard", &lid, "Complete", &[], None), 4090),
        (
            action("controller", &lid, "Ingest", &[("humidity", "1")], None),
            4030,
        ),
        (create("ensure", "90", "10"), 4220),
    ] {
        let m = json_of(&f.processor.process(&body).await);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0]["status"], "Submitted");
        assert_eq!(m[1]["status"], "Failure");
        assert_eq!(error_code(&m[1]), code, "{m:?}");
        assert!(m[1]["additionalInformation"]["ledgerError"].is_string());
    }
}

#[tokio::test]
async fn malformed_messages_are_dead_lettered_not_recorded() {
    let store = Arc::new(MemoryOutcomeStore::new());
    let f = fixture_with(store.clone());
    let p = f.processor.process(b"{not json").await;
    assert!(matches!(
        p.disposition,
        Disposition::Malformed {
            code: ErrorCode::BadRequest,
            ..
        }
    ));
    assert_eq!(p.egress.len(), 1);
    assert_eq!(p.egress[0].routing_key, "Failure");
    let p = f
        .processor
        .process(br#"{"requestId":"x","messageName":"CreateContractRequest"}"#)
        .await;
    assert_eq!(p.request_id.as_deref(), Some("x"));
    assert_eq!(json_of(&p)[0]["requestId"], "x");
    assert_eq!(store.count().unwrap(), 0);
}

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

#[tokio::test]
async fn contract_id_parameters_accept_a_linear_id() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let index = f.processor.index();
    let current = index
        .read()
        .unwrap()
        .get(&linear_id_for("c1"))
        .unwrap()
        .contract_id
        .clone();
    let mut record = Record::new().with(
        "ref",
        LedgerValue::ContractId(linear_id_for("c1").to_string()),
    );
    f.processor.resolve_contract_ids(&mut record);
    assert_eq!(
        record.get("ref"),
        Some(&LedgerValue::ContractId(current.to_string()))
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

mod authorization;
mod committed_before;
mod pipelining;
