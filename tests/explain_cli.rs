//! `connector explain` predicts what `connector process` then does: every example message and a set of crafted
//! failing ones are explained (`--json`) and processed with the same clock, and each explanation is held against the
//! ledger's journal (the template, choice, arguments and acting party of the command the request committed) and the
//! egress (the Failure code, field and message when it fails).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ledger_port::{Event, Transaction};
use message_schema::properties::render;
use message_schema::value::Record;
use serde_json::Value;
use support::EXAMPLE_DIR;

const CLOCK: &str = "2026-11-24T10:00:00Z";

fn connector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_connector"))
}

fn run(args: &[&str], config: &Path, input: &Path) -> String {
    let out = connector()
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--input")
        .arg(input)
        .args(["--clock", CLOCK])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "connector {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every transaction of the journal, by command id.
async fn committed(config: &Path, dir: &Path) -> HashMap<String, Transaction> {
    let config = connector::config::Config::load(config).unwrap();
    let mapping = connector::mapping::WorkflowMapping::compile(&config.workflows).unwrap();
    let catalog =
        connector::embedded_catalog::template_catalog(&config.workflows, &mapping).unwrap();
    let (ledger, _) = embedded_ledger::EmbeddedLedger::open(
        &dir.join("ledger.log"),
        catalog,
        ledger_port::Clock::System,
    )
    .await
    .unwrap();
    ledger
        .transactions()
        .unwrap()
        .into_iter()
        .map(|tx| (tx.command_id.clone(), (*tx).clone()))
        .collect()
}

fn rendered(record: &Record) -> Vec<(String, String)> {
    record
        .fields
        .iter()
        .map(|f| (f.label.clone(), render(&f.value)))
        .collect()
}

fn explained_arguments(x: &Value) -> Vec<(String, String)> {
    x["arguments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a["field"].as_str().unwrap().to_owned(),
                        a["value"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_failure(m: &Value) -> bool {
    m["additionalInformation"].get("errorCode").is_some()
}

/// Explains and processes `input` on `config`; checks every explanation against what processing did. Returns the
/// explanations' outcomes (`commit`, `failure 4040`, …) by requestId, for the caller's own expectations.
async fn explain_predicts_process(config: &Path, input: &Path) -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let process_config = support::journaled_example_config(config, dir.path());
    let egress: Vec<Value> = run(&["process"], &process_config, input)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let explanations: Vec<Value> = run(&["explain", "--json"], config, input)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let messages = std::fs::read_to_string(input)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(explanations.len(), messages, "one explanation per message");
    let transactions = committed(&process_config, dir.path()).await;
    let mut anonymous_failures = egress
        .iter()
        .filter(|m| m.get("requestId").is_none() && is_failure(m));
    let mut outcomes = HashMap::new();
    for x in &explanations {
        let failure = match x["requestId"].as_str() {
            Some(id) => egress
                .iter()
                .find(|m| m["requestId"] == id && is_failure(m)),
            None => anonymous_failures.next(),
        };
        let outcome = &x["outcome"];
        let command_id = x["requestId"]
            .as_str()
            .map(connector::processor::command_id_for);
        let tx = command_id.as_ref().and_then(|id| transactions.get(id));
        match outcome["result"].as_str().unwrap() {
            "failure" => {
                let failure =
                    failure.unwrap_or_else(|| panic!("explained a Failure, none came: {x}"));
                let info = &failure["additionalInformation"];
                assert_eq!(info["errorCode"], outcome["errorCode"], "{x}\n{failure}");
                assert_eq!(info["errorMessage"], outcome["message"], "{x}\n{failure}");
                assert_eq!(
                    info.get("field"),
                    outcome.get("errorField"),
                    "{x}\n{failure}"
                );
                assert!(tx.is_none(), "explained a Failure, it committed: {x}");
                outcomes.insert(
                    x["requestId"].as_str().unwrap_or("").to_owned(),
                    format!("failure {}", outcome["errorCode"]),
                );
            }
            "commit" => {
                assert!(
                    failure.is_none(),
                    "explained a commit, got {failure:?}: {x}"
                );
                let tx = tx.unwrap_or_else(|| panic!("explained a commit, nothing committed: {x}"));
                let party = x["party"]["name"].as_str().unwrap();
                match x["command"].as_str().unwrap() {
                    "create" => {
                        let Some(Event::Created(created)) = tx.events.first() else {
                            panic!("{x}: {tx:?}")
                        };
                        assert_eq!(x["template"], created.template_id.to_string(), "{x}");
                        assert_eq!(explained_arguments(x), rendered(&created.arguments), "{x}");
                        assert_eq!(created.signatories, [party], "{x}");
                    }
                    "exercise" => {
                        let Some(Event::Exercised(exercised)) = tx.events.first() else {
                            panic!("{x}: {tx:?}")
                        };
                        assert_eq!(x["template"], exercised.template_id.to_string(), "{x}");
                        assert_eq!(x["choice"], exercised.choice, "{x}");
                        let message_schema::value::LedgerValue::Record(argument) =
                            &exercised.argument
                        else {
                            panic!("{x}: {exercised:?}")
                        };
                        assert_eq!(explained_arguments(x), rendered(argument), "{x}");
                        assert_eq!(exercised.acting_parties, [party], "{x}");
                    }
                    other => panic!("a commit of {other}: {x}"),
                }
                outcomes.insert(
                    x["requestId"].as_str().unwrap().to_owned(),
                    "commit".to_owned(),
                );
            }
            "answer" => {
                assert!(
                    failure.is_none(),
                    "explained an answer, got {failure:?}: {x}"
                );
                outcomes.insert(
                    x["requestId"].as_str().unwrap().to_owned(),
                    "answer".to_owned(),
                );
            }
            // A repeated requestId is answered with its first line's recorded egress, checked on that line.
            "replay" => {}
            other => panic!("unexpected outcome {other}: {x}"),
        }
    }
    outcomes
}

fn example_dirs() -> Vec<PathBuf> {
    let examples = Path::new(EXAMPLE_DIR).parent().unwrap();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("messages.jsonl").exists())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    dirs
}

#[tokio::test]
async fn explain_predicts_process_on_every_example_message() {
    for dir in example_dirs() {
        let outcomes =
            explain_predicts_process(&dir.join("connector.yaml"), &dir.join("messages.jsonl"))
                .await;
        assert!(
            outcomes.values().any(|o| o == "commit") && outcomes.values().any(|o| o != "commit"),
            "{}: {outcomes:?}",
            dir.display()
        );
    }
}

/// A shipment created and then acted on wrongly in every way a mapping author meets.
const CRAFTED: &str = r#"{"messageName":"CreateContractRequest","requestId":"s-1","workflowName":"RefrigeratedTransportation","parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},{"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},{"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractRequest","requestId":"unknown-workflow","workflowName":"RefrigeratedTransport","parameters":[],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractRequest","requestId":"forbidden-party","workflowName":"RefrigeratedTransportation","parameters":[],"messageSchemaVersion":"1.0.0","userChainIdentifier":"Mallory"}
{"messageName":"CreateContractRequest","requestId":"missing-parameter","workflowName":"RefrigeratedTransportation","parameters":[{"name":"device","value":"Device01"}],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractActionRequest","requestId":"unknown-function","contractLedgerIdentifier":"LID","workflowFunctionName":"Ingest","parameters":[],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractActionRequest","requestId":"bad-type","contractLedgerIdentifier":"LID","workflowFunctionName":"IngestTelemetry","parameters":[{"name":"humidity","value":"damp"},{"name":"temperature","value":"5"},{"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0","userChainIdentifier":"Device01"}
{"messageName":"CreateContractActionRequest","requestId":"not-a-controller","contractLedgerIdentifier":"LID","workflowFunctionName":"IngestTelemetry","parameters":[{"name":"humidity","value":"45"},{"name":"temperature","value":"5"},{"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0","userChainIdentifier":"Carrier"}
{"messageName":"CreateContractActionRequest","requestId":"wrong-state","contractLedgerIdentifier":"LID","workflowFunctionName":"Complete","parameters":[],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractActionRequest","requestId":"too-warm","contractLedgerIdentifier":"LID","workflowFunctionName":"IngestTelemetry","parameters":[{"name":"humidity","value":"45"},{"name":"temperature","value":"30"},{"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0","userChainIdentifier":"Device01"}
{"messageName":"CreateContractActionRequest","requestId":"archive","contractLedgerIdentifier":"LID","workflowFunctionName":"Archive","parameters":[],"messageSchemaVersion":"1.0.0"}
{"messageName":"CreateContractActionRequest","requestId":"after-archive","contractLedgerIdentifier":"LID","workflowFunctionName":"Archive","parameters":[],"messageSchemaVersion":"1.0.0"}
{"messageName":"ReadContractRequest","requestId":"read-archived","contractLedgerIdentifier":"LID","messageSchemaVersion":"1.0.0"}
"#;

#[tokio::test]
async fn explain_predicts_each_kind_of_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("crafted.jsonl");
    let linear_id = message_schema::linear_id::linear_id_for("s-1").to_string();
    std::fs::write(&input, CRAFTED.replace("LID", &linear_id)).unwrap();
    let outcomes =
        explain_predicts_process(&Path::new(EXAMPLE_DIR).join("connector.yaml"), &input).await;
    let expected = [
        ("s-1", "commit"),
        ("unknown-workflow", "failure 4040"),
        ("forbidden-party", "failure 4030"),
        ("missing-parameter", "failure 4000"),
        ("unknown-function", "failure 4040"),
        ("bad-type", "failure 4000"),
        ("not-a-controller", "failure 4030"),
        ("wrong-state", "failure 4090"),
        ("too-warm", "commit"),
        ("archive", "commit"),
        ("after-archive", "failure 4040"),
        ("read-archived", "failure 4040"),
    ];
    for (request_id, outcome) in expected {
        assert_eq!(
            outcomes.get(request_id).map(String::as_str),
            Some(outcome),
            "{request_id}: {outcomes:?}"
        );
    }
}

#[test]
fn human_output_names_the_template_choice_arguments_guards_and_failure() {
    let out = connector()
        .args(["explain", "--config"])
        .arg(Path::new(EXAMPLE_DIR).join("connector.yaml"))
        .arg("--input")
        .arg(Path::new(EXAMPLE_DIR).join("messages.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "workflow   RefrigeratedTransportation (template RefrigeratedTransportation:Shipment)",
        "exercise   choice IngestTelemetry (function IngestTelemetry)",
        "minHumidity",
        "controllers",
        "→ commits",
        "→ Failure 4040 not_found (workflowFunctionName)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}
