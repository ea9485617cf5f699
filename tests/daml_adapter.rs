//! The Daml adapter (`daml-ledger`) against a real Ledger API v2 server: `connector sandbox`, started as a process
//! on a free port. The adapter is driven directly (create, exercise, a duplicate command id, the ACS at an offset,
//! updates with a live tail, rejections, tokens), then through the gateway itself (`connector check` and
//! `connector process` with `ledger.daml`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use support::write;

use daml_ledger::{DamlLedger, DamlSettings};
use futures::StreamExt;
use ledger_port::{
    Command, ErrorClass, Event, Ledger, LedgerValue, Record, RejectionReason, Submission,
    TemplateId, Transaction, UpdateFilter,
};

const CONNECTOR: &str = env!("CARGO_BIN_EXE_connector");

const CONFIG: &str = r##"
party: Operator
user_chain_identifier: { allowed_parties: [Operator, Device01] }
log: { level: warn }
workflows:
  Shipment:
    template: "#cold-chain:Cold.Shipment:Shipment"
    create:
      parameters: { device: party, maxHumidity: int64 }
      fields: { owner: "{{party}}", state: Created }
    functions:
      Ingest:
        choice: IngestTelemetry
        parameters: { humidity: int64 }
        rules:
          - { if: "arg.humidity > maxHumidity", fields: { state: OutOfCompliance } }
"##;

/// A `connector sandbox` for a config given as YAML text, in a directory of its own.
struct Sandbox {
    process: support::Sandbox,
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// Starts the sandbox on a free port for `config` (YAML text), with a token check when `token` is given.
    fn start(config: &str, token: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = write(dir.path(), "sandbox.yaml", config);
        let token_file = token.map(|token| write(dir.path(), "expected.jwt", token));
        let process = support::Sandbox::start(
            &config_path,
            &dir.path().join("sandbox.log"),
            token_file.as_deref(),
        );
        Self { process, dir }
    }

    fn url(&self) -> String {
        self.process.url()
    }

    fn settings(&self) -> DamlSettings {
        let mut settings = DamlSettings::new(self.url(), "gateway");
        settings.call_timeout_ms = 10_000;
        settings
    }

    fn ledger(&self) -> DamlLedger {
        DamlLedger::connect(&self.settings(), vec!["Operator".into(), "Device01".into()])
            .expect("adapter connects")
    }
}

fn shipment() -> TemplateId {
    TemplateId::parse("#cold-chain:Cold.Shipment:Shipment").expect("valid")
}

fn create(command_id: &str, linear_id: &str, max_humidity: i64) -> Submission {
    Submission {
        command_id: command_id.into(),
        act_as: vec!["Operator".into()],
        command: Command::Create {
            template_id: shipment(),
            arguments: Record::new()
                .with("linearId", LedgerValue::Text(linear_id.into()))
                .with("owner", LedgerValue::Party("Operator".into()))
                .with("device", LedgerValue::Party("Device01".into()))
                .with("maxHumidity", LedgerValue::Int64(max_humidity))
                .with("state", LedgerValue::Enum("Created".into())),
        },
    }
}

fn ingest(command_id: &str, contract_id: &str, humidity: i64) -> Submission {
    Submission {
        command_id: command_id.into(),
        act_as: vec!["Operator".into()],
        command: Command::Exercise {
            template_id: shipment(),
            contract_id: contract_id.into(),
            choice: "IngestTelemetry".into(),
            argument: LedgerValue::Record(
                Record::new().with("humidity", LedgerValue::Int64(humidity)),
            ),
        },
    }
}

fn created(tx: &Transaction) -> Vec<&ledger_port::CreatedEvent> {
    tx.events
        .iter()
        .filter_map(|e| match e {
            Event::Created(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn text_of(value: Option<&LedgerValue>) -> Option<&str> {
    match value? {
        LedgerValue::Text(s) | LedgerValue::Enum(s) | LedgerValue::Party(s) => Some(s),
        _ => None,
    }
}

/// The next transaction of an update stream, within 10 s.
async fn next_update(stream: &mut ledger_port::UpdateStream) -> Transaction {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an update within 10 s")
        .expect("the stream goes on")
        .expect("no stream error")
}

fn filter() -> UpdateFilter {
    UpdateFilter {
        templates: vec![shipment()],
        parties: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_exercise_and_a_duplicate_command_id_returns_the_original_without_a_second_effect() {
    let sandbox = Sandbox::start(CONFIG, None);
    let ledger = sandbox.ledger();
    assert_eq!(ledger.ledger_type(), "daml");
    let start = ledger.ledger_end().await.expect("ledger end");

    let made = ledger
        .submit(create(
            "cmd-create-1",
            "7d4c6f0e-0000-4000-8000-000000000001",
            60,
        ))
        .await
        .expect("create commits");
    assert_eq!(made.command_id, "cmd-create-1");
    assert_eq!(made.offset, start + 1);
    let [contract] = created(&made)[..] else {
        panic!("one created event: {made:?}");
    };
    assert_eq!(
        contract.template_id,
        shipment(),
        "reported in the configured form"
    );
    assert_eq!(
        text_of(contract.arguments.get("linearId")),
        Some("7d4c6f0e-0000-4000-8000-000000000001")
    );
    assert_eq!(
        contract.arguments.get("maxHumidity"),
        Some(&LedgerValue::Int64(60))
    );

    let exercised = ledger
        .submit(ingest("cmd-ingest-1", &contract.contract_id, 70))
        .await
        .expect("exercise commits");
    assert_eq!(exercised.offset, start + 2);
    let kinds: Vec<&str> = exercised
        .events
        .iter()
        .map(|e| match e {
            Event::Exercised(_) => "exercised",
            Event::Archived(_) => "archived",
            Event::Created(_) => "created",
        })
        .collect();
    assert_eq!(kinds, ["exercised", "archived", "created"]);
    let Event::Exercised(x) = &exercised.events[0] else {
        unreachable!()
    };
    assert_eq!((x.choice.as_str(), x.consuming), ("IngestTelemetry", true));
    assert_eq!(x.contract_id, contract.contract_id);
    let successor = created(&exercised)[0].clone();
    assert_eq!(
        text_of(successor.arguments.get("state")),
        Some("OutOfCompliance")
    );

    // The same command ids again: the participant answers DUPLICATE_COMMAND, the adapter returns the originals.
    let end_before = ledger.ledger_end().await.expect("end");
    let again = ledger
        .submit(ingest("cmd-ingest-1", &contract.contract_id, 70))
        .await
        .expect("a duplicate resolves to the original, although its contract is archived");
    assert_eq!(again, exercised);
    let again = ledger
        .submit(create(
            "cmd-create-1",
            "7d4c6f0e-0000-4000-8000-000000000001",
            60,
        ))
        .await
        .expect("a duplicate create resolves too");
    assert_eq!(again, made);
    assert_eq!(
        ledger.ledger_end().await.expect("end"),
        end_before,
        "no second effect"
    );

    // The ACS at the ledger end holds the successor only.
    let acs = ledger.active_contracts(&filter()).await.expect("acs");
    assert_eq!(acs.offset, end_before);
    assert_eq!(acs.contracts.len(), 1, "{acs:?}");
    assert_eq!(acs.contracts[0].created, successor);
    assert_eq!(
        acs.contracts[0].created_update_id, "",
        "Daml's ACS does not carry it"
    );
    let other_party = UpdateFilter {
        templates: vec![],
        parties: vec!["Stranger".into()],
    };
    assert!(
        ledger
            .active_contracts(&other_party)
            .await
            .expect("acs")
            .contracts
            .is_empty(),
        "the party filter is applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_follow_from_an_offset_with_a_live_tail() {
    let sandbox = Sandbox::start(CONFIG, None);
    let ledger = sandbox.ledger();
    let first = ledger
        .submit(create("u-1", "7d4c6f0e-0000-4000-8000-0000000000a1", 60))
        .await
        .expect("create");
    let contract_id = created(&first)[0].contract_id.clone();
    let second = ledger
        .submit(ingest("u-2", &contract_id, 10))
        .await
        .expect("exercise");

    let mut all = ledger.updates(0, &filter()).await.expect("stream");
    assert_eq!(next_update(&mut all).await, first);
    assert_eq!(next_update(&mut all).await, second);

    let mut from_first = ledger
        .updates(first.offset, &filter())
        .await
        .expect("stream");
    assert_eq!(
        next_update(&mut from_first).await,
        second,
        "begin is exclusive"
    );

    // Live tail: a transaction committed after the streams opened arrives on both.
    let third = ledger
        .submit(create("u-3", "7d4c6f0e-0000-4000-8000-0000000000a3", 50))
        .await
        .expect("create");
    assert_eq!(next_update(&mut all).await, third);
    assert_eq!(next_update(&mut from_first).await, third);

    let mut stranger = ledger
        .updates(
            0,
            &UpdateFilter {
                templates: vec![],
                parties: vec!["Stranger".into()],
            },
        )
        .await
        .expect("stream");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), stranger.next())
            .await
            .is_err(),
        "another party sees nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_keep_their_class_reason_and_ledger_error() {
    let sandbox = Sandbox::start(CONFIG, None);
    let ledger = sandbox.ledger();
    let missing = ledger
        .submit(ingest("r-1", "00deadbeef", 10))
        .await
        .expect_err("no such contract");
    assert_eq!(missing.class, ErrorClass::Permanent);
    assert_eq!(missing.reason, RejectionReason::NotFound);
    assert_eq!(missing.ledger_error.as_deref(), Some("CONTRACT_NOT_FOUND"));
    assert!(
        missing.message.starts_with("SubmitAndWaitForTransaction: "),
        "{}",
        missing.message
    );

    ledger
        .check_template(&shipment())
        .await
        .expect("a mapped template is known");
    let unknown = ledger
        .check_template(&TemplateId::parse("#cold-chain:Cold.Shipment:Container").expect("valid"))
        .await
        .expect_err("unknown template");
    assert_eq!(unknown.class, ErrorClass::Permanent);
    assert_eq!(unknown.reason, RejectionReason::NotFound);
    assert_eq!(
        unknown.ledger_error.as_deref(),
        Some("TEMPLATES_OR_INTERFACES_NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_a_configuration_fault_and_a_rotated_token_is_used_without_a_restart() {
    const GOOD: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.Z29vZA";
    let sandbox = Sandbox::start(CONFIG, Some(GOOD));
    let token_file = write(
        sandbox.dir.path(),
        "gateway.jwt",
        "eyJhbGciOiJIUzI1NiJ9.expired.YmFk",
    );
    let mut settings = sandbox.settings();
    settings.token_file = Some(token_file.clone());
    let ledger = DamlLedger::connect(&settings, vec!["Operator".into()]).expect("connect");

    let refused = ledger.ledger_end().await.expect_err("bad token");
    assert_eq!(refused.class, ErrorClass::Configuration);
    assert_eq!(refused.reason, RejectionReason::Unauthenticated);
    assert!(
        !refused.message.contains("expired.YmFk"),
        "{}",
        refused.message
    );
    let refused = ledger
        .submit(create("t-1", "7d4c6f0e-0000-4000-8000-0000000000b1", 60))
        .await
        .expect_err("bad token");
    assert_eq!(refused.class, ErrorClass::Configuration);

    let no_token = sandbox.ledger();
    assert_eq!(
        no_token.ledger_end().await.expect_err("no token").class,
        ErrorClass::Configuration
    );

    // Rotation: the file is replaced; the same adapter uses the new token on its next call.
    let staged = write(sandbox.dir.path(), "gateway.jwt.new", GOOD);
    std::fs::rename(&staged, &token_file).expect("rotate");
    ledger
        .ledger_end()
        .await
        .expect("the rotated token is accepted");
    let tx = ledger
        .submit(create("t-1", "7d4c6f0e-0000-4000-8000-0000000000b1", 60))
        .await
        .expect("commits with the new token");
    assert_eq!(tx.command_id, "t-1");
}

/// A gateway config that uses the sandbox as its Daml ledger, with the example's or this file's mapping.
fn daml_gateway_config(sandbox_config: &str, url: &str, state_dir: &Path) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut skipping = false;
    for line in sandbox_config.lines() {
        // Drop the `ledger:` block (embedded) and `state_dir`; they are set below.
        if line.starts_with("ledger:") {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with(' ') {
            continue;
        }
        skipping = false;
        if line.starts_with("state_dir:") {
            continue;
        }
        lines.push(line.to_owned());
    }
    format!(
        "{}\nledger:\n  daml:\n    url: {url}\n    user_id: gateway\nstate_dir: {}\n",
        lines.join("\n"),
        state_dir.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_check_asks_the_participant_about_every_mapped_template() {
    let sandbox = Sandbox::start(CONFIG, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let good = write(
        dir.path(),
        "good.yaml",
        &daml_gateway_config(CONFIG, &sandbox.url(), dir.path()),
    );
    let out = Process::new(CONNECTOR)
        .args(["check", "--config"])
        .arg(&good)
        .output()
        .expect("check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ledger daml (http://127.0.0.1:"),
        "{stdout}"
    );

    let unknown = CONFIG.to_owned()
        + r##"
  Container:
    template: "#cold-chain:Cold.Shipment:Container"
    create:
      parameters: { note: text }
"##;
    let bad = write(
        dir.path(),
        "bad.yaml",
        &daml_gateway_config(&unknown, &sandbox.url(), dir.path()),
    );
    let out = Process::new(CONNECTOR)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .expect("check runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            r##"workflows.Container.template: "#cold-chain:Cold.Shipment:Container" is not known to the ledger"##
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("workflows.Shipment"), "{stderr}");
}

/// The example's egress, reduced to what must not depend on the ledger: message names, statuses, error codes.
fn outline(egress: &str) -> Vec<String> {
    egress
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("egress is JSON");
            format!(
                "{} {} {} {}",
                v["requestId"].as_str().unwrap_or("-"),
                v["messageName"].as_str().unwrap_or("-"),
                v["status"].as_str().unwrap_or("-"),
                v["additionalInformation"]["errorCode"]
                    .as_u64()
                    .or_else(|| v["errorCode"].as_u64())
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            )
        })
        .collect()
}

fn process(config: &Path, input: &Path, clock: Option<&str>) -> String {
    let mut command = Process::new(CONNECTOR);
    command
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(input);
    if let Some(clock) = clock {
        command.args(["--clock", clock]);
    }
    let out = command.output().expect("process runs");
    assert!(
        out.status.success(),
        "connector process failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 egress")
}

fn example() -> (String, PathBuf) {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/refrigerated-transportation");
    let config = std::fs::read_to_string(root.join("connector.yaml")).expect("example config");
    (config, root.join("messages.jsonl"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_on_a_daml_ledger_rebuilds_a_lost_outcome_store_from_deduplication() {
    let (example, messages) = example();
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start(&example, None);
    let first_config = write(
        dir.path(),
        "first.yaml",
        &daml_gateway_config(&example, &sandbox.url(), &dir.path().join("first")),
    );
    let first = process(&first_config, &messages, None);
    assert_eq!(first.lines().count(), 44, "{first}");
    assert!(
        first.lines().all(|l| l.contains(r#""ledgerType":"daml""#)),
        "{first}"
    );
    let committed = first
        .lines()
        .filter(|l| l.contains(r#""status":"Committed""#))
        .count();
    assert_eq!(committed, 8, "{first}");

    // A second gateway with an empty outcome store: every command id is a duplicate on the participant and is
    // resolved to its original transaction, so nothing happens twice and the answers are the same, byte for byte.
    // Except the read: it has no transaction to resolve, and it answers the lineage's current contract (its index
    // never moves a lineage back to a contract an old, deduplicated transaction created).
    let ledger = sandbox.ledger();
    let end = ledger.ledger_end().await.expect("end");
    let second_config = write(
        dir.path(),
        "second.yaml",
        &daml_gateway_config(&example, &sandbox.url(), &dir.path().join("second")),
    );
    let second = process(&second_config, &messages, None);
    assert_eq!(
        ledger.ledger_end().await.expect("end"),
        end,
        "no second effect"
    );
    let (first_reads, first_rest) = split_reads(&first);
    let (second_reads, second_rest) = split_reads(&second);
    assert_eq!(second_rest, first_rest);
    assert_eq!(first_reads.len(), 1);
    assert_eq!(
        outline(&second_reads.join("\n")),
        outline(&first_reads.join("\n"))
    );
    let final_state = |egress: &str| {
        egress
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("egress is JSON"))
            .find(|m| {
                m["messageName"] == "ContractMessage"
                    && m["contractLedgerIdentifier"] == "9b81be37-d434-569a-8807-4a3e3a029f63"
            })
            .map(|m| m["contractProperties"].clone())
    };
    assert_eq!(
        final_state(&second_reads.join("\n")),
        final_state(&first),
        "the rebuilt read answers the lineage as it is now"
    );
}

/// The egress lines answering ReadContractRequests (requestId `read-…` in the example), and the rest.
fn split_reads(egress: &str) -> (Vec<&str>, Vec<&str>) {
    egress
        .lines()
        .partition(|l| l.contains(r#""requestId":"read-"#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_gets_the_same_answers_on_a_daml_ledger_as_on_the_embedded_one() {
    let (example, messages) = example();
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded_config = write(dir.path(), "embedded.yaml", &example);
    let embedded = process(&embedded_config, &messages, Some("2026-11-24T10:00:00Z"));
    let sandbox = Sandbox::start(&example, None);
    let daml_config = write(
        dir.path(),
        "daml.yaml",
        &daml_gateway_config(&example, &sandbox.url(), &dir.path().join("daml")),
    );
    let daml = process(&daml_config, &messages, None);
    // Same requests, same message names, same statuses, same Workbench error codes, whichever ledger.
    assert_eq!(outline(&daml), outline(&embedded));
}
