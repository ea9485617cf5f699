//! State that stays true across restarts (issue 12): the quick start's gateway (embedded ledger, durable by default
//! in `state_dir`) stopped with SIGTERM and with SIGKILL and started again answers reads, re-sent requests and new
//! actions on old contracts exactly as one uninterrupted ledger would (`connector process` on the same messages is
//! the oracle); and a state directory whose ledger is gone is refused with the documented message.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn request_id(c: &Captured) -> Option<String> {
    c.json
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn is_terminal(c: &Captured) -> bool {
    c.routing_key == "ContractMessage"
        || c.json.get("status").and_then(Value::as_str) == Some("Failure")
}

/// What must agree with the oracle: everything but values derived from update ids (the ledger's clock differs) and
/// the ledger type.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(info) = v
        .get_mut("additionalInformation")
        .and_then(Value::as_object_mut)
    {
        info.remove("ledgerType");
    }
    if let Some(map) = v.as_object_mut() {
        for key in [
            "blockId",
            "blockhash",
            "transaction",
            "modifyingTransactions",
        ] {
            map.remove(key);
        }
    }
    v
}

fn linear_id(create_request_id: &str) -> String {
    message_schema::linear_id::linear_id_for(create_request_id).to_string()
}

fn read(request_id: &str, target: &str) -> Value {
    json!({"messageName":"ReadContractRequest","requestId":request_id,"contractLedgerIdentifier":target,
           "messageSchemaVersion":"1.0.0"})
}

fn transfer(request_id: &str, target: &str) -> Value {
    json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
           "workflowFunctionName":"TransferResponsibility","parameters":[{"name":"newCounterparty","value":"Retailer"}],
           "messageSchemaVersion":"1.0.0"})
}

fn bytes(values: &[Value]) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect()
}

/// The egress of `connector process` (in memory, one uninterrupted ledger) for `input`, by requestId.
fn oracle(config: &std::path::Path, input: &[Vec<u8>]) -> Vec<Value> {
    let file = config.with_file_name("oracle-input.jsonl");
    let mut text = Vec::new();
    for body in input {
        text.extend_from_slice(body);
        text.push(b'\n');
    }
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A request's first outcome in the oracle's egress: its messages up to its first terminal one.
fn of_request<'a>(egress: &'a [Value], id: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in egress
        .iter()
        .filter(|v| v["requestId"].as_str() == Some(id))
    {
        out.push(v);
        if v["messageName"] == "ContractMessage" || v["status"] == "Failure" {
            break;
        }
    }
    out
}

/// Collects egress until every one of `ids` has its terminal message; a redelivery's copies (same message_id)
/// count once, as consumers drop them.
async fn answers(broker: &Broker, ids: &[&str]) -> Vec<Captured> {
    let wanted: std::collections::BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    let mut seen = std::collections::HashSet::new();
    let got = broker
        .collect_until(
            &broker.names.capture_queue,
            Duration::from_secs(60),
            |got| {
                let done: std::collections::BTreeSet<String> = got
                    .iter()
                    .filter(|c| is_terminal(c))
                    .filter_map(request_id)
                    .collect();
                wanted.is_subset(&done)
            },
        )
        .await;
    got.into_iter()
        .filter(|c| seen.insert(c.message_id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_survives_sigterm_and_sigkill_without_contradicting_its_ledger() {
    let names = Names::new("durable-state");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The quick start's ledger block: no journal key, no in_memory.
    let config = example_config(&names, dir.path(), AMQP_URL, port, "  embedded: {}", "");
    let oracle_dir = dir.path().join("oracle");
    std::fs::create_dir_all(&oracle_dir).unwrap();
    let oracle_config = example_config(&names, &oracle_dir, AMQP_URL, 0, "  embedded: {}", "");
    let shipment_1 = linear_id("shipment-1");
    let shipment_3 = linear_id("shipment-3");
    let after_sigterm = [
        read("read-after-term", &shipment_1),
        transfer("transfer-3", &shipment_3),
    ];
    let after_sigkill = [
        read("read-after-kill", &shipment_3),
        transfer("transfer-3", &shipment_3),
    ];
    let mut everything = example_messages();
    everything.extend(bytes(&after_sigterm));
    everything.extend(bytes(&after_sigkill));
    let expected = oracle(&oracle_config, &everything);

    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&example_messages()).await;
    let first = answers(&broker, &["shipment-1", "bad-range", "shipment-3"]).await;
    let shipment_1_first: Vec<Vec<u8>> = first
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("shipment-1"))
        .map(|c| c.body.clone())
        .collect();
    assert_eq!(
        shipment_1_first.len(),
        3,
        "Submitted, Committed, ContractMessage"
    );
    assert!(gw.terminate(), "SIGTERM: a clean stop");
    let journal = dir.path().join("state").join("ledger.journal");
    assert!(
        journal.exists(),
        "the ledger is durable by default: {}",
        journal.display()
    );

    // After SIGTERM: the contracts are still there and new actions on them agree with the ledger.
    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&bytes(&after_sigterm)).await;
    let got = answers(&broker, &["read-after-term", "transfer-3"]).await;
    for id in ["read-after-term", "transfer-3"] {
        let mine: Vec<Value> = got
            .iter()
            .filter(|c| request_id(c).as_deref() == Some(id))
            .map(|c| comparable(&c.json))
            .collect();
        let theirs: Vec<Value> = of_request(&expected, id)
            .into_iter()
            .map(comparable)
            .collect();
        assert_eq!(mine, theirs, "{id} after SIGTERM:\n{}", gw.log_text());
    }
    let transfer_first: Vec<Vec<u8>> = got
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("transfer-3"))
        .map(|c| c.body.clone())
        .collect();
    // A re-sent request is answered from its outcome, byte for byte.
    broker.publish_all(&example_messages()[..1]).await;
    let resent = answers(&broker, &["shipment-1"]).await;
    let resent: Vec<Vec<u8>> = resent.iter().map(|c| c.body.clone()).collect();
    assert_eq!(
        resent, shipment_1_first,
        "the re-sent create replays its outcome"
    );

    // After SIGKILL, the same.
    gw.kill();
    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&bytes(&after_sigkill)).await;
    let got = answers(&broker, &["read-after-kill", "transfer-3"]).await;
    let read_back: Vec<Value> = got
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("read-after-kill"))
        .map(|c| comparable(&c.json))
        .collect();
    let theirs: Vec<Value> = of_request(&expected, "read-after-kill")
        .into_iter()
        .map(comparable)
        .collect();
    assert_eq!(
        read_back, theirs,
        "the transfer made before the SIGKILL is read back"
    );
    let resent: Vec<Vec<u8>> = got
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("transfer-3"))
        .map(|c| c.body.clone())
        .collect();
    assert_eq!(
        resent, transfer_first,
        "the re-sent action replays its outcome"
    );
    let transactions_before = gw.ledger_end().await;
    assert!(gw.terminate());

    // The ledger gone, its state directory kept: refused, naming both ledgers and what to do.
    std::fs::remove_file(&journal).unwrap();
    gw.spawn();
    let exited = exit_status(&mut gw).await;
    let log = gw.log_text();
    assert!(
        exited.is_some_and(|s| !s.success()),
        "refused to start: {exited:?}\n{log}"
    );
    for part in [
        "belongs to embedded ledger",
        "the configured ledger is embedded ledger",
        "new, empty directory",
    ] {
        assert!(log.contains(part), "{part:?} in:\n{log}");
    }
    assert!(transactions_before > 0);
    broker.cleanup().await;
}

/// Waits for a gateway process to exit on its own; its exit status, if it did within 60 s.
async fn exit_status(gw: &mut Gateway) -> Option<std::process::ExitStatus> {
    let child = gw.child.as_mut()?;
    for _ in 0..600 {
        if let Some(status) = child.try_wait().ok()? {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_dir_of_one_daml_participant_is_refused_for_another() {
    let names = Names::new("durable-state-daml");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (first, _first_sandbox) = config_on(
        LedgerKind::Daml,
        &names,
        dir.path(),
        port,
        "  embedded: {}",
        "",
    );
    let mut gw = Gateway::start(&first, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&example_messages()[..1]).await;
    answers(&broker, &["shipment-1"]).await;
    assert!(gw.terminate());
    let recorded =
        std::fs::read_to_string(dir.path().join("state").join("ledger-identity.json")).unwrap();
    assert!(recorded.contains("sandbox::"), "{recorded}");

    // Another sandbox, on a journal of its own: another participant.
    let (second, _second_sandbox) = config_on(
        LedgerKind::Daml,
        &names,
        dir.path(),
        port,
        "  embedded: {}",
        "",
    );
    let mut gw = Gateway::start(&second, port);
    let exited = exit_status(&mut gw).await;
    let log = gw.log_text();
    assert!(
        exited.is_some_and(|s| !s.success()),
        "refused: {exited:?}\n{log}"
    );
    for part in [
        "belongs to Daml participant \"sandbox::",
        "as user \"gateway\"",
        "new, empty directory",
    ] {
        assert!(log.contains(part), "{part:?} in:\n{log}");
    }
    broker.cleanup().await;
}
