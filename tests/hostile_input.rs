//! Nothing a sender can put on the queue stops the gateway (issue 11): an adversarial corpus published to a running
//! `connector run`, then the example's ordinary requests behind it; and poison containment (a panic caught at a
//! delivery's boundary, a message that keeps ending the session dead-lettered after `amqp.max_redeliveries`). Each
//! test runs on the embedded ledger and on a Daml ledger (`connector sandbox`), against the real broker.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde_json::{Value, json};
use support::*;

const IN_MEMORY: &str = "  embedded: {}";
/// The example's first shipment, created by `shipment-1` in messages.jsonl.
const SHIPMENT_1: &str = "9b81be37-d434-569a-8807-4a3e3a029f63";
/// The peak resident memory the gateway may reach over the whole corpus. What it holds at the peak: the 16 MiB
/// body (lapin assembles it whole), the stack that lapin's I/O thread touches parsing a header nested ~26,000 levels
/// deep (it parses recursively; ~200 MiB in a debug build), and the gateway's own few tens of MiB.
const PEAK_RSS_BOUND_KIB: u64 = 512 * 1024;

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

fn error_code(c: &Captured) -> Option<u64> {
    c.json["additionalInformation"]["errorCode"].as_u64()
}

fn create(request_id: &str) -> Value {
    json!({
        "messageName": "CreateContractRequest", "requestId": request_id, "workflowName": "RefrigeratedTransportation",
        "parameters": [
            {"name": "device", "value": "Device01"}, {"name": "supplyChainOwner", "value": "Retailer"},
            {"name": "supplyChainObserver", "value": "Auditor"}, {"name": "minHumidity", "value": "30"},
            {"name": "maxHumidity", "value": "60"}, {"name": "minTemperature", "value": "2"},
            {"name": "maxTemperature", "value": "8"}
        ],
        "messageSchemaVersion": "1.0.0"
    })
}

fn create_with(request_id: &str, name: &str, value: &str) -> Value {
    let mut v = create(request_id);
    for p in v["parameters"].as_array_mut().unwrap() {
        if p["name"] == name {
            p["value"] = json!(value);
        }
    }
    v
}

fn read(request_id: &str, target: &str) -> Value {
    json!({"messageName": "ReadContractRequest", "requestId": request_id, "contractLedgerIdentifier": target,
           "messageSchemaVersion": "1.0.0"})
}

fn with_parameters(request_id: &str, parameters: Vec<Value>) -> Value {
    let mut v = create(request_id);
    v["parameters"] = Value::Array(parameters);
    v
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn persistent() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

/// Properties no gateway should choke on: a foreign content type and encoding, priority, a TTL, a 10 KB header,
/// nested header tables and arrays of every scalar type.
fn odd_properties() -> BasicProperties {
    let mut nested = AMQPValue::LongString(LongString::from("innermost"));
    for i in 0..50 {
        let mut table = FieldTable::default();
        table.insert(ShortString::from(format!("level{i}")), nested);
        table.insert(ShortString::from("n"), AMQPValue::LongLongInt(-(i as i64)));
        table.insert(ShortString::from("f"), AMQPValue::Double(1.5));
        table.insert(
            ShortString::from("a"),
            AMQPValue::FieldArray(vec![AMQPValue::Boolean(true), AMQPValue::Void].into()),
        );
        nested = AMQPValue::FieldTable(table);
    }
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from("x-big"),
        AMQPValue::LongString(LongString::from("h".repeat(10 * 1024))),
    );
    headers.insert(ShortString::from("x-nested"), nested);
    headers.insert(
        ShortString::from("x-bytes"),
        AMQPValue::ByteArray(vec![0u8, 255, 10].into()),
    );
    persistent()
        .with_content_type(ShortString::from("text/plain; charset=latin1"))
        .with_content_encoding(ShortString::from("gzip"))
        .with_priority(9)
        .with_expiration(ShortString::from("600000"))
        .with_headers(headers)
}

/// What a hostile message must end as.
struct Expected {
    /// The requestId its Failure or outcome carries (a cut one ends in `…`); none for a generic Failure.
    request_id: Option<String>,
    /// The terminal errorCode, or none for a success (a ContractMessage).
    code: Option<u64>,
    /// How its original reaches the dead-letter queue: with our `x-error-code`, or by the broker (`x-death`).
    dead_letter: DeadLetter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeadLetter {
    No,
    Copied(u64),
    ByBroker,
}

fn expect(request_id: Option<&str>, code: Option<u64>, dead_letter: DeadLetter) -> Expected {
    Expected {
        request_id: request_id.map(str::to_owned),
        code,
        dead_letter,
    }
}

/// The terminal outcome of each request of the example, from `connector process` (the offline oracle).
fn example_outcomes(config: &std::path::Path) -> Vec<(String, Option<u64>)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(format!("{EXAMPLE_DIR}/messages.jsonl"))
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
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["messageName"] == "ContractMessage" || v["status"] == "Failure")
        .filter_map(|v| {
            let id = v["requestId"].as_str()?.to_owned();
            Some((id, v["additionalInformation"]["errorCode"].as_u64()))
        })
        .collect()
}

/// Polls `/readyz` every 50 ms until stopped; counts answers that were not 200.
fn watch_readiness(port: u16) -> (Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let not_ready = Arc::new(AtomicUsize::new(0));
    let (s, p, n) = (stop.clone(), polls.clone(), not_ready.clone());
    tokio::spawn(async move {
        while !s.load(Ordering::SeqCst) {
            if !matches!(http_get(port, "/readyz").await, Some((200, _))) {
                n.fetch_add(1, Ordering::SeqCst);
            }
            p.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (stop, polls, not_ready)
}

async fn hostile_messages_end_and_ordinary_requests_after_them_are_answered_in_order(
    kind: LedgerKind,
) {
    let names = Names::new(&format!("hostile-{}", kind.name()));
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A queue that refuses every publish: reply copies sent there are nacked.
    let full_queue = format!("{}.full", names.ingress_queue);
    let mut full_args = FieldTable::default();
    full_args.insert("x-max-length".into(), AMQPValue::LongInt(0));
    full_args.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    broker
        .channel
        .queue_declare(
            full_queue.as_str().into(),
            QueueDeclareOptions::default(),
            full_args,
        )
        .await
        .unwrap();
    // Raised past the defaults so that 100,000 parameters reach the parameter checks themselves (the duplicate
    // check must stay linear there); the 16 MiB body is still over the size limit.
    let limits = "limits: { max_message_bytes: 4194304, max_parameters: 200000 }";
    let (config, _sandbox) = config_on(kind, &names, dir.path(), port, IN_MEMORY, limits);
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let (stop_watch, polls, not_ready) = watch_readiness(port);

    let mut expected: Vec<Expected> = Vec::new();
    let cut = |s: &str| format!("{}…", &s[..64]);
    // requestIds: too long for the limit (and for an AMQP correlation id), multi-byte, control and bidi characters.
    let x300 = "x".repeat(300);
    broker
        .publish_with(&bytes(&read(&x300, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(
        Some(&cut(&x300)),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    let b256 = "b".repeat(256);
    broker
        .publish_with(&bytes(&read(&b256, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(
        Some(&cut(&b256)),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    let trucks_over = "🚚".repeat(100);
    broker
        .publish_with(&bytes(&read(&trucks_over, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(
        Some(&format!("{}…", "🚚".repeat(16))),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    let trucks_at_limit = "🚚".repeat(50);
    broker
        .publish_with(&bytes(&read(&trucks_at_limit, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(Some(&trucks_at_limit), Some(4040), DeadLetter::No));
    let control = "ctl-\u{0}\u{1b}[31m\n2026-01-01T00:00:00Z INFO forged\r-id";
    broker
        .publish_with(&bytes(&read(control, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(Some(control), Some(4040), DeadLetter::No));
    let bidi = "bidi-\u{202e}\u{2066}di-id\u{2069}";
    broker
        .publish_with(&bytes(&read(bidi, SHIPMENT_1)), persistent())
        .await;
    expected.push(expect(Some(bidi), Some(4040), DeadLetter::No));
    // 16 MiB: over the size limit, refused unread; the broker dead-letters the original (a copy could exceed its
    // own size limit).
    let huge = create_with("big-16mib", "device", &"D".repeat(16 << 20));
    broker.publish_with(&bytes(&huge), persistent()).await;
    expected.push(expect(Some("big-16mib"), Some(4000), DeadLetter::ByBroker));
    // 100,000 parameters (unknown to the mapping: a recorded 4000), then 50,000 copies of one parameter.
    let many: Vec<Value> = (0..100_000)
        .map(|i| json!({"name": format!("p{i}"), "value": "1"}))
        .collect();
    broker
        .publish_with(&bytes(&with_parameters("many-params", many)), persistent())
        .await;
    expected.push(expect(Some("many-params"), Some(4000), DeadLetter::No));
    let dups: Vec<Value> = (0..50_000)
        .map(|_| json!({"name": "device", "value": "Device01"}))
        .collect();
    broker
        .publish_with(&bytes(&with_parameters("dup-params", dups)), persistent())
        .await;
    expected.push(expect(
        Some("dup-params"),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    // JSON nested 200,000 levels deep after a readable requestId.
    let deep_json = format!(
        "{{\"requestId\":\"deep-json\",\"x\":{}{}}}",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    broker
        .publish_with(deep_json.as_bytes(), persistent())
        .await;
    expected.push(expect(
        Some("deep-json"),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    // Random bytes, invalid UTF-8, an empty body: generic Failures.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    broker.publish_with(&random, persistent()).await;
    expected.push(expect(None, Some(4000), DeadLetter::Copied(4000)));
    broker
        .publish_with(
            b"{\"requestId\":\"utf8-\xff\xfe\",\"messageName\":\"x\"}",
            persistent(),
        )
        .await;
    expected.push(expect(None, Some(4000), DeadLetter::Copied(4000)));
    broker.publish_with(b"", persistent()).await;
    expected.push(expect(None, Some(4000), DeadLetter::Copied(4000)));
    // Numbers out of every range the mapping's types have.
    for (id, name, value) in [
        ("range-int64-over", "minHumidity", "9223372036854775808"),
        ("range-int64-under", "minHumidity", "-9223372036854775809"),
        ("range-exponent", "maxHumidity", "1e400"),
        ("range-nan", "maxTemperature", "NaN"),
        ("party-control", "device", "\u{0}"),
    ] {
        broker
            .publish_with(&bytes(&create_with(id, name, value)), persistent())
            .await;
        expected.push(expect(Some(id), Some(4000), DeadLetter::No));
    }
    // reply_to a queue that does not exist, and one that refuses every publish: the requests still commit.
    broker
        .publish_with(
            &bytes(&create("reply-missing")),
            persistent().with_reply_to(ShortString::from(format!(
                "{}.missing",
                names.ingress_queue
            ))),
        )
        .await;
    expected.push(expect(Some("reply-missing"), None, DeadLetter::No));
    broker
        .publish_with(
            &bytes(&create("reply-full")),
            persistent().with_reply_to(ShortString::from(full_queue.as_str())),
        )
        .await;
    expected.push(expect(Some("reply-full"), None, DeadLetter::No));
    // Odd properties on a good request and on a bad one (whose dead-letter copy carries its headers).
    broker
        .publish_with(&bytes(&create("odd-props")), odd_properties())
        .await;
    expected.push(expect(Some("odd-props"), None, DeadLetter::No));
    broker
        .publish_with(br#"{"requestId":"odd-props-bad"}"#, odd_properties())
        .await;
    expected.push(expect(
        Some("odd-props-bad"),
        Some(4000),
        DeadLetter::Copied(4000),
    ));
    // Headers nested as deep as a frame allows: lapin parses them recursively on its I/O thread.
    let depth = raw_amqp::deepest_nesting_for(131_072) - 10;
    let table = raw_amqp::nested_headers_table(depth);
    raw_amqp::publish_with_raw_headers(
        &names.ingress_queue,
        &bytes(&create("deep-headers")),
        &table,
    );
    expected.push(expect(Some("deep-headers"), None, DeadLetter::No));
    raw_amqp::publish_with_raw_headers(
        &names.ingress_queue,
        br#"{"requestId":"deep-headers-bad"}"#,
        &table,
    );
    expected.push(expect(
        Some("deep-headers-bad"),
        Some(4000),
        DeadLetter::Copied(4000),
    ));

    // Then the ordinary requests.
    broker.publish_all(&example_messages()).await;
    let oracle_dir = dir.path().join("oracle-dir");
    std::fs::create_dir_all(&oracle_dir).unwrap();
    let ordinary = example_outcomes(&example_config(
        &names,
        &oracle_dir,
        AMQP_URL,
        0,
        IN_MEMORY,
        "",
    ));
    let generic_in_example = 1; // "this is not JSON"
    let due = expected.len() + ordinary.len() + generic_in_example;
    let started = Instant::now();
    let egress = broker
        .collect_until_quiet(
            &names.capture_queue,
            Duration::from_secs(240),
            Duration::from_secs(60),
            |got| got.iter().filter(|c| is_terminal(c)).count() >= due,
        )
        .await;
    let terminals: Vec<&Captured> = egress.iter().filter(|c| is_terminal(c)).collect();
    assert_eq!(
        terminals.len(),
        due,
        "every message ends in one terminal message (after {:?}):\n{}",
        started.elapsed(),
        gw.log_text()
    );

    // Hostile first, in publish order, each with its code; then the example's, in order, as the oracle says.
    let mut want: Vec<(Option<String>, Option<u64>)> = expected
        .iter()
        .map(|e| (e.request_id.clone(), e.code))
        .collect();
    let example_bodies = example_messages();
    let mut oracle = ordinary.iter();
    for body in &example_bodies {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) if v["requestId"].is_string() => {
                let (id, code) = oracle.next().unwrap();
                assert_eq!(Some(id.as_str()), v["requestId"].as_str());
                want.push((Some(id.clone()), *code));
            }
            _ => want.push((None, Some(4000))),
        }
    }
    let got: Vec<(Option<String>, Option<u64>)> = terminals
        .iter()
        .map(|c| (request_id(c), error_code(c)))
        .collect();
    assert_eq!(got, want, "terminal messages in queue order");

    // Correlation ids: carried when they fit a short string, left out otherwise.
    for c in &terminals {
        if let Some(id) = request_id(c) {
            assert_eq!(c.correlation_id.as_deref(), Some(id.as_str()), "{id:?}");
        }
    }

    // Dead letters: the copies with our headers, the 16 MiB original by the broker.
    let copied: Vec<u64> = expected
        .iter()
        .filter_map(|e| match e.dead_letter {
            DeadLetter::Copied(code) => Some(code),
            _ => None,
        })
        .collect();
    let by_broker = expected
        .iter()
        .filter(|e| e.dead_letter == DeadLetter::ByBroker)
        .count();
    let example_dead = 3; // not JSON, missing workflowName, bad version
    let dead = broker
        .dead_letters(
            copied.len() + by_broker + example_dead,
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(dead.len(), copied.len() + by_broker + example_dead);
    let codes: Vec<u64> = dead
        .iter()
        .filter_map(|d| d.headers.get("x-error-code")?.parse().ok())
        .collect();
    assert_eq!(codes.len(), copied.len() + example_dead);
    assert!(codes.iter().all(|c| *c == 4000), "{codes:?}");
    let rejected: Vec<&Captured> = dead
        .iter()
        .filter(|d| !d.headers.contains_key("x-error-code"))
        .collect();
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].headers.contains_key("x-death"),
        "{:?}",
        rejected[0].headers.keys()
    );
    assert_eq!(
        rejected[0].body.len(),
        bytes(&huge).len(),
        "the original, whole"
    );
    let odd = dead
        .iter()
        .find(|d| d.body == br#"{"requestId":"odd-props-bad"}"#)
        .expect("the odd-properties original");
    assert_eq!(odd.headers.get("x-big").map(String::len), Some(10 * 1024));
    let deep = dead
        .iter()
        .find(|d| d.body == br#"{"requestId":"deep-headers-bad"}"#)
        .expect("the deep-headers original");
    let shown = deep.headers.get("deep").expect("its header, as text");
    assert!(shown.len() < 100 && shown.contains('…'), "cut: {shown}");

    // Reply copies that could not be delivered were counted, by reason, and never stopped anything.
    let metrics = gw
        .metrics_when(|m| {
            metric_sum(
                m,
                "connector_reply_copies_dropped_total",
                &[("reason", "nacked")],
            ) >= 3.0
        })
        .await;
    for reason in ["unroutable", "nacked"] {
        assert!(
            metric_sum(
                &metrics,
                "connector_reply_copies_dropped_total",
                &[("reason", reason)]
            ) >= 3.0,
            "{reason}: {metrics}"
        );
    }

    // Ready throughout, nothing left behind, no panic, no reconnect, memory bounded.
    // At least a second of polls in all, however fast the corpus went through, so "ready throughout" means something.
    for _ in 0..200 {
        if polls.load(Ordering::SeqCst) > 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_watch.store(true, Ordering::SeqCst);
    assert!(polls.load(Ordering::SeqCst) > 20);
    assert_eq!(not_ready.load(Ordering::SeqCst), 0, "/readyz stayed 200");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        queue_counts(&names.ingress_queue),
        Some((0, 0)),
        "the ingress queue ends empty"
    );
    let log = gw.log_text();
    for bad in ["panicked", "reconnect", "session ended", "overflow"] {
        assert!(!log.contains(bad), "the log has {bad:?}:\n{log}");
    }
    assert!(
        !log.contains("\n2026-01-01T00:00:00Z INFO forged"),
        "a requestId cannot forge a log line"
    );
    let peak = gw.peak_rss_kib().expect("VmHWM");
    eprintln!(
        "hostile corpus on {}: {} messages answered in {:?}, peak RSS {} MiB (bound {} MiB)",
        kind.name(),
        due,
        started.elapsed(),
        peak / 1024,
        PEAK_RSS_BOUND_KIB / 1024
    );
    assert!(peak < PEAK_RSS_BOUND_KIB, "peak RSS {peak} KiB");
    assert!(gw.terminate(), "a clean stop after all that");
    let _ = broker
        .channel
        .queue_delete(full_queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    broker.cleanup().await;
}

async fn poison_messages_are_contained_and_dead_lettered_with_5000(kind: LedgerKind) {
    poison_on(kind, "").await;
}

/// On a quorum ingress queue (whose redeliveries carry `x-delivery-count`), the same, and the queue is declared with
/// the broker's own limit as a backstop: `x-delivery-limit` = 4 × `max_redeliveries`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_on_a_quorum_queue_is_dead_lettered_and_the_broker_limit_is_declared() {
    poison_on(LedgerKind::Embedded, "  queue_type: quorum\n").await;
}

async fn poison_on(kind: LedgerKind, amqp_extra: &str) {
    let quorum = !amqp_extra.is_empty();
    let names = Names::new(&format!(
        "poison-{}{}",
        kind.name(),
        if quorum { "-quorum" } else { "" }
    ));
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let faults = "faults:\n  rules:\n    - { request_id: poison-panic, kind: panic }\n    - { request_id: poison-committed, kind: panic_after_commit }\n    - { request_id: poison-session, kind: end_session }";
    let (config, _sandbox) = config_on_with_amqp(
        kind,
        &names,
        dir.path(),
        port,
        IN_MEMORY,
        &format!("  max_redeliveries: 2\n{amqp_extra}"),
        faults,
    );
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let order = [
        "c1",
        "poison-panic",
        "c2",
        "poison-committed",
        "c3",
        "poison-session",
        "c4",
    ];
    broker
        .publish_all(
            &order
                .iter()
                .map(|id| bytes(&create(id)))
                .collect::<Vec<_>>(),
        )
        .await;
    let egress = broker
        .collect_until_quiet(
            &names.capture_queue,
            Duration::from_secs(90),
            Duration::from_secs(30),
            |got| {
                let ids: std::collections::HashSet<_> = got
                    .iter()
                    .filter(|c| is_terminal(c))
                    .filter_map(request_id)
                    .collect();
                ids.len() >= order.len()
            },
        )
        .await;
    // A session that ends redelivers what was not acked yet; consumers drop the copies by message_id.
    let mut seen = std::collections::HashSet::new();
    let egress: Vec<Captured> = egress
        .into_iter()
        .filter(|c| seen.insert(c.message_id.clone()))
        .collect();
    let terminals: Vec<(Option<String>, Option<u64>)> = egress
        .iter()
        .filter(|c| is_terminal(c))
        .map(|c| (request_id(c), error_code(c)))
        .collect();
    let want: Vec<(Option<String>, Option<u64>)> = order
        .iter()
        .map(|id| {
            (
                Some(id.to_string()),
                id.starts_with("poison").then_some(5000),
            )
        })
        .collect();
    assert_eq!(
        terminals,
        want,
        "in order, each poison one 5000:\n{}",
        gw.log_text()
    );
    let by_id: HashMap<String, usize> =
        egress
            .iter()
            .filter_map(request_id)
            .fold(HashMap::new(), |mut m, id| {
                *m.entry(id).or_default() += 1;
                m
            });
    for id in ["poison-panic", "poison-committed", "poison-session"] {
        assert_eq!(
            by_id.get(id),
            Some(&1),
            "{id}: its Failure only, nothing else: {egress:?}"
        );
    }
    let failure = egress
        .iter()
        .find(|c| request_id(c).as_deref() == Some("poison-session"))
        .unwrap();
    let message = failure.json["additionalInformation"]["errorMessage"]
        .as_str()
        .unwrap();
    assert!(message.contains("amqp.max_redeliveries is 2"), "{message}");
    let panicked = egress
        .iter()
        .find(|c| request_id(c).as_deref() == Some("poison-panic"))
        .unwrap();
    assert!(
        panicked.json["additionalInformation"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("injected fault: panic"),
        "{:?}",
        panicked.json
    );

    let mut seen = std::collections::HashSet::new();
    let dead: Vec<Captured> = broker
        .collect_until(&names.dead_letter_queue, Duration::from_secs(30), |got| {
            got.iter()
                .filter_map(|d| d.message_id.clone())
                .collect::<std::collections::HashSet<_>>()
                .len()
                >= 3
        })
        .await
        .into_iter()
        .filter(|d| seen.insert(d.message_id.clone()))
        .collect();
    assert_eq!(dead.len(), 3);
    for d in &dead {
        assert_eq!(
            d.headers.get("x-error-code").map(String::as_str),
            Some("5000")
        );
        assert!(
            d.headers
                .get("x-error-reason")
                .is_some_and(|r| !r.is_empty())
        );
    }
    let originals: Vec<String> = dead
        .iter()
        .map(|d| {
            serde_json::from_slice::<Value>(&d.body).unwrap()["requestId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        originals,
        ["poison-panic", "poison-committed", "poison-session"]
    );

    // The session ended on poison-session once per delivery: 1 + max_redeliveries times, then never again.
    let log = gw.log_text();
    let ends = log
        .matches("injected fault: the session ends on this request")
        .count();
    assert!(ends >= 3, "{ends} session ends:\n{log}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(queue_counts(&names.ingress_queue), Some((0, 0)));
    assert!(gw.wait_ready(Duration::from_secs(10)).await, "ready again");
    let metrics = gw.metrics().await;
    // At least the two injected panics; more when a session ended before their acks and they came back.
    assert!(
        metric_sum(&metrics, "connector_panics_caught_total", &[]) >= 2.0,
        "{metrics}"
    );
    if quorum {
        let out = std::process::Command::new("rabbitmqctl")
            .args(["-q", "list_queues", "name", "type", "arguments"])
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = listing
            .lines()
            .find(|l| l.starts_with(&format!("{}\t", names.ingress_queue)))
            .unwrap_or_default()
            .to_owned();
        assert!(line.contains("quorum"), "{line}");
        assert!(
            line.contains("x-delivery-limit") && line.contains(",8}"),
            "{line}"
        );
    }
    assert!(gw.terminate());
    broker.cleanup().await;
}

/// Each test above, once per ledger: `embedded::<name>` and `daml::<name>`.
macro_rules! on_every_ledger {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Embedded).await
                }
            )*
        }
        mod daml {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Daml).await
                }
            )*
        }
    };
}

on_every_ledger!(
    hostile_messages_end_and_ordinary_requests_after_them_are_answered_in_order,
    poison_messages_are_contained_and_dead_lettered_with_5000,
);
