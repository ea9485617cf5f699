//! The request lookup (`GET /requests/{requestId}`, `connector requests show`) and the run history
//! (`GET /requests?…`, `connector requests list`) against the real RabbitMQ on 127.0.0.1:5672 and the real binary:
//! every kind of outcome (a committed create, action and read, Failures 4090 and 4040, a 5030 the ledger's outage
//! dead-lettered, a malformed message, an unknown requestId) looked up and listed before and after a restart, with
//! the egress exactly as published; a request held by the ledger shows as in flight, then dead-lettered, then done
//! once re-sent after the outage; the history's filters, order, limit and refusals; and the CLI against a running
//! gateway and against a stopped one (the state store opened directly).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::example_requests::{
    action, bodies, create, is_terminal, linear_id, read, request_id, telemetry,
};
use support::gateway_harness::Harness;
use support::*;

/// The gateway's configs: a ledger whose TransferResponsibility always fails transiently (it exhausts its retries:
/// 5030), and one without the fault.
const OUTAGE: &str = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient }";
const HEALTHY: &str = "  embedded: {}";

/// A GET answered with its status, Content-Type and JSON body.
async fn get(port: u16, path: &str) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, content_type, json)
}

/// Everything but RFC 3986's unreserved characters percent-encoded.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn lookup(port: u16, id: &str) -> Value {
    let (status, content_type, doc) = get(port, &format!("/requests/{}", encoded(id))).await;
    assert_eq!(status, 200, "{id}: {doc}");
    assert_eq!(content_type, "application/json");
    doc
}

async fn history(port: u16, query: &str) -> Value {
    let (status, _, doc) = get(port, &format!("/requests{query}")).await;
    assert_eq!(status, 200, "{query}: {doc}");
    doc
}

fn listed_ids(doc: &Value) -> Vec<String> {
    doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requestId"].as_str().unwrap_or("<null>").to_owned())
        .collect()
}

/// Polls until `done` holds for the lookup of `id`, or fails after 30 s with the last document.
async fn wait_for_state(port: u16, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let doc = lookup(port, id).await;
        if doc["state"] == state {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became {state}: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `connector requests <args> --config <config>`: (exit code, stdout, stderr).
fn requests_cli(config: &Path, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .arg("requests")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const SLASHED: &str = "rh/slash %2F é";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_is_looked_up_and_listed_before_and_after_a_restart() {
    let h = Harness::new("rh-every", LedgerKind::Embedded).await;
    let config = h.config(OUTAGE, "");
    let mut gw = h.start(&config).await;
    let port = h.http_port;
    let target = linear_id("rh-create");
    let mut unknown_workflow = create("rh-unknown-wf");
    unknown_workflow["workflowName"] = json!("NoSuchWorkflow");
    let mut messages = bodies(&[
        create("rh-create"),
        telemetry("rh-ingest", &target, 30),
        read("rh-read", &target),
        action("rh-conflict", &target, "Complete", &[]),
        unknown_workflow,
        action(
            "rh-outage",
            &target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        ),
    ]);
    messages.push(br#"{"requestId":"rh-bad","messageName":"NoSuchMessage"}"#.to_vec());
    messages.extend(bodies(&[create(SLASHED)]));
    h.broker.publish_all(&messages).await;
    let captured = h
        .broker
        .collect_until(&h.names.capture_queue, Duration::from_secs(60), |got| {
            got.iter().filter(|c| is_terminal(c)).count() >= 8
        })
        .await;
    // The history is written with the batch's flush, just before the acks.
    let deadline = Instant::now() + Duration::from_secs(30);
    while listed_ids(&history(port, "").await).len() < 8 {
        assert!(
            Instant::now() < deadline,
            "the history never held all 8 requests"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let expected = [
        (
            "rh-create",
            "Committed",
            None,
            Some("CreateContractRequest"),
            Some("RefrigeratedTransportation"),
            None,
        ),
        (
            "rh-ingest",
            "Committed",
            None,
            Some("CreateContractActionRequest"),
            Some("RefrigeratedTransportation"),
            Some("IngestTelemetry"),
        ),
        (
            "rh-read",
            "Committed",
            None,
            Some("ReadContractRequest"),
            Some("RefrigeratedTransportation"),
            None,
        ),
        (
            "rh-conflict",
            "Failure",
            Some(4090u64),
            Some("CreateContractActionRequest"),
            Some("RefrigeratedTransportation"),
            Some("Complete"),
        ),
        (
            "rh-unknown-wf",
            "Failure",
            Some(4040),
            Some("CreateContractRequest"),
            Some("NoSuchWorkflow"),
            None,
        ),
        (
            SLASHED,
            "Committed",
            None,
            Some("CreateContractRequest"),
            Some("RefrigeratedTransportation"),
            None,
        ),
    ];
    let mut documents = Vec::new();
    for (id, outcome, code, message_name, workflow, function) in expected {
        let doc = lookup(port, id).await;
        assert_eq!(doc["requestId"], id);
        assert_eq!(doc["state"], "done", "{doc}");
        assert_eq!(doc["outcome"], outcome, "{doc}");
        assert_eq!(doc.get("errorCode").and_then(Value::as_u64), code, "{doc}");
        assert_eq!(
            doc.get("messageName").and_then(Value::as_str),
            message_name,
            "{doc}"
        );
        assert_eq!(
            doc.get("workflow").and_then(Value::as_str),
            workflow,
            "{doc}"
        );
        assert_eq!(
            doc.get("function").and_then(Value::as_str),
            function,
            "{doc}"
        );
        assert!(
            doc["processedAtUnixMs"].is_u64() && doc["processedAt"].is_string(),
            "{doc}"
        );
        assert!(doc["latencyMs"].is_u64(), "{doc}");
        // The egress exactly as published: bodies, routing keys and message ids in order.
        let published: Vec<Value> = captured
            .iter()
            .filter(|c| request_id(c).as_deref() == Some(id))
            .map(
                |c| json!({"routingKey": c.routing_key, "messageId": c.message_id, "body": c.json}),
            )
            .collect();
        assert!(!published.is_empty(), "{id} published nothing");
        assert_eq!(doc["egress"], Value::Array(published), "{id}");
        documents.push(doc);
    }
    for (id, code) in [("rh-outage", 5030), ("rh-bad", 4000)] {
        let doc = lookup(port, id).await;
        assert_eq!(doc["state"], "dead_lettered", "{doc}");
        assert_eq!(doc["outcome"], "Failure");
        assert_eq!(doc["errorCode"], code);
        assert_eq!(doc["egress"], json!([]), "nothing recorded: {doc}");
        documents.push(doc);
    }
    let unknown = lookup(port, "rh-never-sent").await;
    assert_eq!(
        unknown,
        json!({"requestId": "rh-never-sent", "state": "unknown", "egress": []})
    );
    documents.push(unknown);
    let (_, _, unencoded_slash) = get(port, "/requests/rh/slash%20%252F%20%C3%A9").await;
    assert_eq!(
        unencoded_slash["state"], "done",
        "a / left unencoded: {unencoded_slash}"
    );

    // The history: newest first, each filter, the limit, and refusals naming the parameter.
    let all = history(port, "").await;
    assert_eq!(all["limit"], 50);
    assert_eq!(all["truncated"], false);
    let times: Vec<u64> = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["processedAtUnixMs"].as_u64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let mut ids = listed_ids(&all);
    ids.sort();
    let mut sent: Vec<String> = [
        "rh-create",
        "rh-ingest",
        "rh-read",
        "rh-conflict",
        "rh-unknown-wf",
        "rh-outage",
        "rh-bad",
        SLASHED,
    ]
    .map(str::to_owned)
    .to_vec();
    sent.sort();
    assert_eq!(ids, sent);
    let outage = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requestId"] == "rh-outage")
        .unwrap();
    assert_eq!(outage["deadLettered"], true);
    assert_eq!(outage["errorCode"], 5030);
    let mut committed = listed_ids(&history(port, "?status=committed").await);
    committed.sort();
    assert_eq!(committed, ["rh-create", "rh-ingest", "rh-read", SLASHED]);
    let mut failures = listed_ids(&history(port, "?status=failure").await);
    failures.sort();
    assert_eq!(
        failures,
        ["rh-bad", "rh-conflict", "rh-outage", "rh-unknown-wf"]
    );
    assert_eq!(
        listed_ids(&history(port, "?status=failure&code=4090").await),
        ["rh-conflict"]
    );
    assert_eq!(
        listed_ids(&history(port, "?code=5030").await),
        ["rh-outage"]
    );
    let two = history(port, "?limit=2").await;
    assert_eq!(listed_ids(&two), listed_ids(&all)[..2]);
    assert_eq!(
        (two["limit"].as_u64(), two["truncated"].as_bool()),
        (Some(2), Some(true))
    );
    let newest = times[0];
    let since_ms = listed_ids(&history(port, &format!("?since={newest}")).await);
    let since_text = all["requests"][0]["processedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    let since_rfc3339 =
        listed_ids(&history(port, &format!("?since={}", encoded(&since_text))).await);
    let at_newest = times.iter().filter(|t| **t == newest).count();
    assert_eq!(since_ms.len(), at_newest, "only the newest: {since_ms:?}");
    assert_eq!(since_ms, since_rfc3339, "both forms of since");
    assert!(listed_ids(&history(port, &format!("?since={}", newest + 1)).await).is_empty());
    for (query, parameter, value) in [
        ("?status=done", "status", "done"),
        ("?code=abc", "code", "abc"),
        ("?since=yesterday", "since", "yesterday"),
        ("?limit=1001", "limit", "1001"),
        ("?limit=0", "limit", "0"),
        ("?colour=red", "colour", "red"),
    ] {
        let (status, content_type, error) = get(port, &format!("/requests{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            (error["parameter"].as_str(), error["value"].as_str()),
            (Some(parameter), Some(value))
        );
        assert!(
            error["expected"].as_str().is_some_and(|e| !e.is_empty()),
            "{error}"
        );
        assert!(
            error["error"]
                .as_str()
                .is_some_and(|e| e.contains(parameter)),
            "{error}"
        );
    }

    // The CLI against the running gateway.
    let (code, stdout, stderr) = requests_cli(&config, &["show", SLASHED]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("running gateway"), "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        documents[5]
    );

    // After a restart of the real binary, every lookup and the history say the same.
    let listed_before = all;
    assert!(gw.terminate(), "SIGTERM: a clean stop");
    let mut gw = h.start(&config).await;
    let ids_in_order = [
        "rh-create",
        "rh-ingest",
        "rh-read",
        "rh-conflict",
        "rh-unknown-wf",
        SLASHED,
        "rh-outage",
        "rh-bad",
        "rh-never-sent",
    ];
    for (id, before) in ids_in_order.iter().zip(&documents) {
        assert_eq!(&lookup(port, id).await, before, "{id} after the restart");
    }
    assert_eq!(
        history(port, "").await,
        listed_before,
        "the history after the restart"
    );

    // A malformed message carrying an answered request's id is dead-lettered, but does not rewrite that request's
    // history: the lookup and the list still say how it was answered.
    let letters_before = queue_counts(&h.names.dead_letter_queue).map_or(0, |c| c.0);
    h.broker
        .publish_all(&[br#"{"requestId":"rh-create","messageName":"NoSuchMessage"}"#.to_vec()])
        .await;
    for _ in 0..300 {
        if queue_counts(&h.names.dead_letter_queue).is_some_and(|c| c.0 > letters_before) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        queue_counts(&h.names.dead_letter_queue).is_some_and(|c| c.0 > letters_before),
        "the spoof was dead-lettered"
    );
    // Its ack follows the flush that would have written its entry.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        lookup(port, "rh-create").await,
        documents[0],
        "a spoof does not rewrite an answered request"
    );
    assert_eq!(history(port, "").await, listed_before, "nor the history");

    // The CLI against a stopped gateway: the state store opened directly, the same documents.
    assert!(gw.terminate());
    let (code, stdout, stderr) = requests_cli(&config, &["show", SLASHED]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("reading the state store"), "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        documents[5]
    );
    let (code, stdout, stderr) = requests_cli(&config, &["show", "rh-outage"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        documents[6]
    );
    let (code, stdout, stderr) =
        requests_cli(&config, &["list", "--status", "failure", "--code", "4090"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["requestId"], "rh-conflict");
    let (code, stdout, stderr) = requests_cli(&config, &["list", "--limit", "3"]);
    assert_eq!(code, 0, "{stderr}");
    let limited: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(limited, listed_before["requests"].as_array().unwrap()[..3]);
    assert!(stderr.contains("--limit"), "says more match: {stderr}");
    for (args, flag, value) in [
        (["list", "--status", "done"], "--status", "done"),
        (["list", "--limit", "5000"], "--limit", "5000"),
        (["list", "--since", "soon"], "--since", "soon"),
        (["list", "--code", "x1"], "--code", "x1"),
    ] {
        let (code, _, stderr) = requests_cli(&config, &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(value) && stderr.contains("expected"),
            "{stderr}"
        );
    }
    h.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_ledger_holds_is_in_flight_then_dead_lettered_then_done_when_re_sent() {
    let h = Harness::new("rh-held", LedgerKind::Embedded).await;
    let config = h.config(OUTAGE, "");
    // Slow retries, so the request stays in flight for seconds before it is dead-lettered with 5030.
    let text = std::fs::read_to_string(&config).unwrap();
    let slow = text.replace(
        "retry: { max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 50 }",
        "retry: { max_attempts: 12, initial_backoff_ms: 300, max_backoff_ms: 300 }",
    );
    assert_ne!(
        slow, text,
        "the harness's retry line changed; update this test"
    );
    std::fs::write(&config, slow).unwrap();
    let mut gw = h.start(&config).await;
    let port = h.http_port;
    let target = linear_id("rh-held-create");
    let transfer = action(
        "rh-held",
        &target,
        "TransferResponsibility",
        &[("newCounterparty", "Carrier")],
    );
    h.broker
        .publish_all(&bodies(&[create("rh-held-create"), transfer.clone()]))
        .await;
    let held = wait_for_state(port, "rh-held", "in_flight").await;
    assert!(held.get("outcome").is_none(), "{held}");
    assert_eq!(held["egress"], json!([]));
    let dead = wait_for_state(port, "rh-held", "dead_lettered").await;
    assert_eq!(dead["errorCode"], 5030, "{dead}");
    assert_eq!(dead["function"], "TransferResponsibility");
    assert!(
        dead["latencyMs"].as_u64().is_some_and(|ms| ms >= 1000),
        "held for seconds: {dead}"
    );

    // The outage is over: the same request sent again commits, and the lookup says so.
    assert!(gw.terminate());
    let config = h.config(HEALTHY, "");
    let _gw = h.start(&config).await;
    h.broker.publish_all(&bodies(&[transfer])).await;
    let done = wait_for_state(port, "rh-held", "done").await;
    assert_eq!(done["outcome"], "Committed", "{done}");
    assert!(done.get("errorCode").is_none(), "{done}");
    // Its 5030 entry is replaced by the commit's once the batch is flushed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listed_ids(&history(port, "?code=5030").await).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the 5030 entry was never replaced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        listed_ids(&history(port, "?status=committed").await),
        ["rh-held", "rh-held-create"]
    );
    h.broker.cleanup().await;
}
