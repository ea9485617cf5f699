//! `connector process`, `check` and `test` as a user runs them: deterministic output (snapshotted), ids that follow
//! the spec's rules, and a journaled run killed mid-way that, rerun, ends in the same ledger state with no
//! duplicated effect.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ledger_port::{Event, Ledger, UpdateFilter};
use serde_json::Value;
use support::EXAMPLE_DIR;

fn connector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_connector"))
}

fn process(config: &Path, input: &Path) -> Vec<u8> {
    let out = connector()
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(input)
        .args(["--clock", "2026-11-24T10:00:00Z"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn example() -> (std::path::PathBuf, std::path::PathBuf) {
    (
        Path::new(EXAMPLE_DIR).join("connector.yaml"),
        Path::new(EXAMPLE_DIR).join("messages.jsonl"),
    )
}

#[test]
fn process_output_is_deterministic_and_snapshotted() {
    let (config, input) = example();
    let first = process(&config, &input);
    let second = process(&config, &input);
    assert_eq!(first, second, "byte-identical with --clock");
    let text = String::from_utf8(first).unwrap();
    assert_eq!(text.lines().count(), 44);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("process_refrigerated_transportation", text));
}

#[test]
fn every_id_in_the_output_follows_the_rules() {
    let (config, input) = example();
    let text = String::from_utf8(process(&config, &input)).unwrap();
    let mut checked = 0;
    let mut hash_by_request: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        if let (Some(cid), Some(lid)) = (m.get("contractId"), m.get("contractLedgerIdentifier")) {
            let lid = uuid::Uuid::parse_str(lid.as_str().unwrap()).unwrap();
            assert_eq!(
                cid.as_u64(),
                Some(message_schema::ids::contract_id(&lid)),
                "{line}"
            );
            checked += 1;
        }
        if let Some(caller) = m.get("caller") {
            let party = caller["ledgerIdentifier"].as_str().unwrap();
            assert_eq!(
                caller["id"].as_u64(),
                Some(message_schema::ids::caller_id(party))
            );
            let tx = &m["transaction"];
            assert_eq!(
                tx["transactionId"].as_u64(),
                Some(message_schema::ids::transaction_id(
                    tx["transactionHash"].as_str().unwrap()
                ))
            );
            assert_eq!(tx["to"], m["contractLedgerIdentifier"]);
            hash_by_request.insert(
                m["requestId"].as_str().unwrap().to_owned(),
                tx["transactionHash"].as_str().unwrap().to_owned(),
            );
        }
        if let Some(hash) = m.get("blockhash").and_then(Value::as_str) {
            assert!(
                hash.starts_with("0x")
                    && hash.len() == 66
                    && hash[2..]
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
            );
            assert_eq!(
                m["blockId"].as_u64(),
                Some(message_schema::ids::transaction_id(hash))
            );
            let modifying = &m["modifyingTransactions"][0];
            assert_eq!(modifying["transactionHash"], hash);
            assert_eq!(modifying["transactionId"], m["blockId"]);
            if let Some(event_hash) = m
                .get("requestId")
                .and_then(Value::as_str)
                .and_then(|r| hash_by_request.get(r))
            {
                assert_eq!(
                    event_hash, hash,
                    "the EventMessage and ContractMessage of a request name one transaction"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked}");
}

#[test]
fn check_accepts_the_example_and_names_the_path_of_a_bad_config() {
    let (config, _) = example();
    let ok = connector()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("OK"));
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(&config)
        .unwrap()
        .replace("humidity: int64", "humidity: integer");
    let bad_path = dir.path().join("bad.yaml");
    std::fs::write(&bad_path, bad).unwrap();
    let out = connector()
        .args(["check", "--config"])
        .arg(&bad_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("workflows.RefrigeratedTransportation.functions.IngestTelemetry.parameters.humidity: unknown type \"integer\""),
        "{err}"
    );
}

#[test]
fn the_example_mapping_tests_pass_and_a_failing_case_shows_a_diff() {
    // `--ci`: a failing run in CI must not leave `.snap.new` files in the repository's example.
    let out = connector()
        .args(["test", "--ci"])
        .arg(Path::new(EXAMPLE_DIR).join("tests.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("6 passed, 0 failed"), "{text}");
    // The example's snapshot case ran against its committed snapshot (tests/snapshot_cases.rs checks its format).
    assert!(
        text.contains("tests.yaml :: a shipment goes out of compliance, whole egress recorded\n"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let failing = std::fs::read_to_string(Path::new(EXAMPLE_DIR).join("tests.yaml"))
        .unwrap()
        .replace(
            "config: connector.yaml",
            &format!("config: {EXAMPLE_DIR}/connector.yaml"),
        )
        .replace("errorCode: 4220", "errorCode: 4221");
    // Named and placed like the example, so its snapshot case finds the example's snapshot.
    let path = dir.path().join("tests.yaml");
    std::fs::write(&path, failing).unwrap();
    std::fs::create_dir(dir.path().join("snapshots")).unwrap();
    for snap in std::fs::read_dir(Path::new(EXAMPLE_DIR).join("snapshots")).unwrap() {
        let snap = snap.unwrap().path();
        std::fs::copy(
            &snap,
            dir.path().join("snapshots").join(snap.file_name().unwrap()),
        )
        .unwrap();
    }
    let out = connector()
        .args(["test", "--ci"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("FAILED") && text.contains("every failure class"),
        "{text}"
    );
    assert!(
        text.contains("egress[14].additionalInformation.errorCode: expected 4221, got 4220"),
        "{text}"
    );
    assert!(text.contains("5 passed, 1 failed"), "{text}");
}

/// Creates and actions over many contracts, as JSON Lines.
fn workload(path: &Path, creates: usize, actions: usize) {
    let mut lines = Vec::new();
    let create = |i: usize| {
        serde_json::json!({"messageName":"CreateContractRequest","requestId":format!("k-create-{i}"),"workflowName":"RefrigeratedTransportation",
            "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},{"name":"supplyChainObserver","value":"Auditor"},
            {"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},{"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],
            "messageSchemaVersion":"1.0.0"})
    };
    for i in 0..creates {
        lines.push(create(i).to_string());
    }
    for i in 0..actions {
        let target = message_schema::linear_id::linear_id_for(&format!("k-create-{}", i % creates))
            .to_string();
        let m = if i % 10 == 9 {
            // A failing action whose outcome depends on state: the guard only passes after a transfer.
            serde_json::json!({"messageName":"CreateContractActionRequest","requestId":format!("k-act-{i}"),"contractLedgerIdentifier":target,
                "workflowFunctionName":"Complete","parameters":[],"messageSchemaVersion":"1.0.0"})
        } else if i % 10 == 5 {
            serde_json::json!({"messageName":"CreateContractActionRequest","requestId":format!("k-act-{i}"),"contractLedgerIdentifier":target,
                "workflowFunctionName":"TransferResponsibility","parameters":[{"name":"newCounterparty","value":"Carrier"}],"messageSchemaVersion":"1.0.0"})
        } else {
            serde_json::json!({"messageName":"CreateContractActionRequest","requestId":format!("k-act-{i}"),"contractLedgerIdentifier":target,
                "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
                "parameters":[{"name":"humidity","value":format!("{}", 25 + i % 30)},{"name":"temperature","value":"5"},{"name":"timestamp","value":"1764000000"}],
                "messageSchemaVersion":"1.0.0"})
        };
        lines.push(m.to_string());
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn journaled_config(dir: &Path) -> std::path::PathBuf {
    support::journaled_example_config(&Path::new(EXAMPLE_DIR).join("connector.yaml"), dir)
}

/// Final state of a journal: linear id → payload, and how many transactions each command id has.
async fn final_state(dir: &Path) -> (BTreeMap<String, String>, HashMap<String, usize>) {
    let config = connector::config::Config::load(&dir.join("connector.yaml")).unwrap();
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
    let acs = ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .unwrap();
    let state = acs
        .contracts
        .iter()
        .map(|c| {
            let lid = format!("{:?}", c.created.arguments.get("linearId"));
            let mut payload = c.created.arguments.clone();
            payload.fields.retain(|f| f.label != "linearId");
            (lid, serde_json::to_string(&payload).unwrap())
        })
        .collect();
    let mut effects: HashMap<String, usize> = HashMap::new();
    for tx in ledger.transactions().unwrap() {
        assert!(
            tx.events
                .iter()
                .any(|e| matches!(e, Event::Created(_) | Event::Exercised(_)))
        );
        *effects.entry(tx.command_id.clone()).or_default() += 1;
    }
    (state, effects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_journaled_run_reruns_to_the_same_state_without_duplicate_effects() {
    let killed = tempfile::tempdir().unwrap();
    let clean = tempfile::tempdir().unwrap();
    let input = killed.path().join("input.jsonl");
    workload(&input, 200, 3000);
    let killed_config = journaled_config(killed.path());
    let clean_config = journaled_config(clean.path());
    // Kill the first run part-way (SIGKILL), then run again over the same input.
    let mut child = connector()
        .args(["process", "--config"])
        .arg(&killed_config)
        .arg("--input")
        .arg(&input)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let journal = killed.path().join("ledger.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0) < 200_000
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = std::fs::metadata(&journal).unwrap().len();
    process(&killed_config, &input);
    process(&clean_config, &input);
    let (killed_state, killed_effects) = final_state(killed.path()).await;
    let (clean_state, clean_effects) = final_state(clean.path()).await;
    assert!(
        partial > 0,
        "the first run was killed after it had committed something"
    );
    assert!(
        partial < std::fs::metadata(&journal).unwrap().len(),
        "… and before it had finished"
    );
    assert_eq!(killed_state, clean_state, "same final ledger state");
    assert!(
        killed_effects.values().all(|n| *n == 1),
        "no command has two effects"
    );
    assert_eq!(
        killed_effects.len(),
        clean_effects.len(),
        "the same number of effects"
    );
}

/// `check` and `run` refuse a token over plaintext `http://` to a remote host. The token file does not exist and the
/// host does not resolve: the refusal comes from validating the config, before any file is read or connection made.
#[test]
fn check_refuses_a_token_over_plaintext_http_to_a_remote_ledger() {
    let (config, _) = example();
    let dir = tempfile::tempdir().unwrap();
    let remote: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("embedded:") {
                "  daml: { url: \"http://ledger.example.com:5001\", user_id: gateway, token_file: /nonexistent/ledger.jwt }\n".to_owned()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(remote.contains("ledger.example.com"), "{remote}");
    let remote_path = dir.path().join("remote.yaml");
    std::fs::write(&remote_path, remote).unwrap();

    let expect_refusal = |out: std::process::Output| {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(
                "ledger.daml.url: refusing plaintext \"http://ledger.example.com:5001\" with ledger.daml.token_file set: the bearer token would cross the network in clear text"
            ),
            "{err}"
        );
        assert!(!err.contains("/nonexistent/ledger.jwt"), "{err}");
    };
    expect_refusal(
        connector()
            .args(["check", "--config"])
            .arg(&remote_path)
            .output()
            .unwrap(),
    );

    let mut run = connector()
        .args(["run", "--config"])
        .arg(&remote_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while run.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = run.kill();
            panic!("`connector run` did not refuse the config");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    expect_refusal(run.wait_with_output().unwrap());
}

#[test]
fn process_amqp_user_processes_every_message_as_that_broker_user() {
    let dir = tempfile::tempdir().unwrap();
    let (example_config, messages) = example();
    let example_yaml = std::fs::read_to_string(example_config).unwrap();
    let bound = example_yaml.replace(
        "  allowed_parties: [Operator, Device01, Carrier, Retailer]\n",
        "  allowed_parties: [Operator, Device01, Carrier, Retailer]\n  parties_by_amqp_user: { dispatch: [Operator, Device01] }\n",
    );
    assert_ne!(bound, example_yaml, "the example's allow-list moved");
    let config = support::write(dir.path(), "connector.yaml", &bound);
    // The example's first create (as Operator) and its telemetry (as Device01).
    let first_two: String = std::fs::read_to_string(messages)
        .unwrap()
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let input = support::write(dir.path(), "input.jsonl", &first_two);
    let outcomes = |amqp_user: Option<&str>| -> Vec<(String, Option<u64>)> {
        let mut command = connector();
        command
            .args(["process", "--config"])
            .arg(&config)
            .arg("--input")
            .arg(&input);
        if let Some(user) = amqp_user {
            command.args(["--amqp-user", user]);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|m| m["status"] != "Submitted")
            .map(|m| {
                (
                    m["additionalInformation"]["errorMessage"]
                        .as_str()
                        .unwrap_or(m["messageName"].as_str().unwrap_or_default())
                        .to_owned(),
                    m["additionalInformation"]["errorCode"].as_u64(),
                )
            })
            .collect()
    };
    let dispatched = outcomes(Some("dispatch"));
    assert!(
        dispatched.iter().all(|(_, code)| code.is_none()),
        "dispatch may act as both: {dispatched:?}"
    );
    for (user, says) in [
        (None, "no AMQP user_id"),
        (Some("other"), "AMQP user \"other\""),
    ] {
        let refused = outcomes(user);
        assert_eq!(refused.len(), 2, "{refused:?}");
        for (message, code) in refused {
            assert_eq!(code, Some(4030));
            assert!(message.contains(says), "{message}");
        }
    }
}

/// The issue's reproduction: an archiving choice committed, its outcome lost (the state directory deleted, the
/// journal kept), the same request processed again: it is answered with its original egress, byte for byte, not
/// Failure 4040 "no active contract", and the journal holds one archive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_whose_outcome_was_lost_replays_its_original_egress() {
    let dir = tempfile::tempdir().unwrap();
    let config = journaled_config(dir.path());
    let create = std::fs::read_to_string(Path::new(EXAMPLE_DIR).join("messages.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let linear_id = message_schema::linear_id::linear_id_for("shipment-1").to_string();
    let action = |id: &str, function: &str, parameters: &str| {
        format!(
            r#"{{"messageName":"CreateContractActionRequest","requestId":"{id}","contractLedgerIdentifier":"{linear_id}","workflowFunctionName":"{function}","parameters":{parameters},"messageSchemaVersion":"1.0.0"}}"#
        )
    };
    let archive = action("archive-1", "Archive", "[]");
    let all = [
        create,
        action(
            "transfer-1",
            "TransferResponsibility",
            r#"[{"name":"newCounterparty","value":"Carrier"}]"#,
        ),
        action("complete-1", "Complete", "[]"),
        archive.clone(),
    ];
    let input = dir.path().join("all.jsonl");
    std::fs::write(&input, all.join("\n") + "\n").unwrap();
    let lines_of = |out: &[u8], id: &str| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v.get("requestId")?.as_str().map(|r| r == id))
                    .unwrap_or(false)
            })
            .map(str::to_owned)
            .collect()
    };
    let first = lines_of(&process(&config, &input), "archive-1");
    assert_eq!(
        first.len(),
        4,
        "Submitted, Committed, Event, Contract: {first:#?}"
    );
    assert!(
        first.iter().all(|l| !l.contains("\"Failure\"")),
        "{first:#?}"
    );

    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let again_input = dir.path().join("again.jsonl");
    std::fs::write(&again_input, archive + "\n").unwrap();
    let again = lines_of(&process(&config, &again_input), "archive-1");
    assert_eq!(again, first, "the original egress, byte for byte");

    let (_, effects) = final_state(dir.path()).await;
    assert_eq!(
        effects.get(&connector::processor::command_id_for("archive-1")),
        Some(&1),
        "one archive"
    );
}
