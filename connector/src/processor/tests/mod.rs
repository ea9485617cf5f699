//! The processor against the real embedded ledger: every egress shape, every failure path, idempotency, retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use embedded_ledger::{EmbeddedLedger, FaultKind, FaultPlan, FaultRule};
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::embedded_catalog::template_catalog;
use crate::outcome_store::{
    HistoryEntry, HistoryPage, HistoryQuery, MemoryOutcomeStore, RequestHistory, StoreError,
};
use indexmap::IndexMap;
use ledger_port::{Clock, Command, LedgerError, Submission, Transaction, UpdateFilter};
use message_schema::egress::LedgerInfo;
use message_schema::error_code::ErrorCode;
use message_schema::limits::Limits;
use message_schema::linear_id::linear_id_for;

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

mod authorization;
mod committed_before;
mod egress_shapes;
mod failures;
mod ledger_faults;
mod pipelining;
mod replay;
