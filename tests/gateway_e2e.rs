//! End-to-end tests of `connector run` against the real RabbitMQ on 127.0.0.1:5672: the example workflow, ordering
//! at volume, idempotent redelivery, poison messages, ledger faults, a forcibly closed broker connection, readiness,
//! metrics, a clean shutdown and the observer. Each test has its own queues and exchanges, and each runs twice: on
//! the embedded ledger (`embedded::…`) and on a Daml ledger (`daml::…`: `ledger.daml` pointed at a
//! `connector sandbox` process that holds the same embedded ledger, so journals, faults and ledger ends are alike).

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const IN_MEMORY: &str = "  embedded: {}";

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

fn terminal_count(got: &[Captured]) -> usize {
    got.iter().filter(|c| is_terminal(c)).count()
}

/// The egress of `connector process` for the same input: the offline oracle for the gateway's output.
fn offline_egress(config: &std::path::Path, input: &std::path::Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(input)
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

/// What must agree between runs: everything but the values derived from the ledger's update ids (which depend on
/// the ledger's clock), the ledger type, and the wording and id of a ledger's rejection (the oracle runs on the
/// embedded ledger; a Daml ledger words the same rejection its own way, under the same stable errorCode and kind).
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(info) = v
        .get_mut("additionalInformation")
        .and_then(Value::as_object_mut)
    {
        info.remove("ledgerType");
        if info.contains_key("ledgerError") {
            info.remove("ledgerError");
            info.remove("errorMessage");
        }
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

fn create(request_id: &str) -> Value {
    json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
        {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
        {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"})
}

fn linear_id(create_request_id: &str) -> String {
    message_schema::linear_id::linear_id_for(create_request_id).to_string()
}

fn telemetry(request_id: &str, target: &str, humidity: u32) -> Value {
    json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
        "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
        "parameters":[{"name":"humidity","value":humidity.to_string()},{"name":"temperature","value":"5"},
        {"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0"})
}

fn action(request_id: &str, target: &str, function: &str, params: &[(&str, &str)]) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
        "workflowFunctionName":function,"parameters":parameters,"messageSchemaVersion":"1.0.0"})
}

fn read(request_id: &str, target: &str) -> Value {
    json!({"messageName":"ReadContractRequest","requestId":request_id,"contractLedgerIdentifier":target,"messageSchemaVersion":"1.0.0"})
}

fn bodies(values: &[Value]) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect()
}

struct Harness {
    kind: LedgerKind,
    names: Names,
    broker: Broker,
    dir: tempfile::TempDir,
    http_port: u16,
    /// The `connector sandbox` processes behind a Daml-ledger gateway; they outlive gateway restarts.
    sandboxes: std::sync::Mutex<Vec<Sandbox>>,
}

impl Harness {
    async fn new(test: &str, kind: LedgerKind) -> Self {
        let names = Names::new(&format!("{test}-{}", kind.name()));
        let broker = Broker::connect(&names).await;
        Self {
            kind,
            names,
            broker,
            dir: tempfile::tempdir().unwrap(),
            http_port: free_port(),
            sandboxes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The gateway config on this harness's ledger; `ledger` is the embedded ledger's block (on Daml, the sandbox
    /// holds that ledger and the gateway reaches it over the Ledger API).
    fn config(&self, ledger: &str, extra: &str) -> std::path::PathBuf {
        let (path, sandbox) = config_on(
            self.kind,
            &self.names,
            self.dir.path(),
            self.http_port,
            ledger,
            extra,
        );
        if let Some(sandbox) = sandbox {
            self.sandboxes.lock().unwrap().push(sandbox);
        }
        path
    }

    /// An in-memory embedded config for the `connector process` oracle, whatever ledger the gateway runs on.
    fn oracle_config(&self) -> std::path::PathBuf {
        let dir = self.dir.path().join("oracle");
        std::fs::create_dir_all(&dir).unwrap();
        example_config(&self.names, &dir, AMQP_URL, 0, IN_MEMORY, "")
    }

    async fn start(&self, config: &std::path::Path) -> Gateway {
        let mut gw = Gateway::start(config, self.http_port);
        assert!(
            gw.wait_ready(Duration::from_secs(60)).await,
            "gateway not ready:\n{}",
            gw.log_text()
        );
        gw
    }
}

async fn example_runs_end_to_end_in_order_with_correct_ids(kind: LedgerKind) {
    let h = Harness::new("example", kind).await;
    let config = h.config(IN_MEMORY, "");
    let input = std::path::PathBuf::from(format!("{EXAMPLE_DIR}/messages.jsonl"));
    let expected = offline_egress(&h.oracle_config(), &input);
    let gw = h.start(&config).await;
    h.broker.publish_all(&example_messages()).await;
    let got = h
        .broker
        .egress(expected.len(), Duration::from_secs(60))
        .await;
    assert_eq!(
        got.len(),
        expected.len(),
        "egress count; log:\n{}",
        gw.log_text()
    );
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(
            comparable(&g.json),
            comparable(e),
            "egress[{i}] differs from `connector process`"
        );
        assert_eq!(
            g.json["additionalInformation"]["ledgerType"],
            h.kind.name(),
            "egress[{i}] names the ledger it ran on"
        );
        // Routing key, type and correlation follow the message.
        let name = g
            .json
            .get("messageName")
            .and_then(Value::as_str)
            .unwrap_or("Failure");
        assert_eq!(g.routing_key, name);
        assert_eq!(g.message_type.as_deref(), Some(name));
        assert_eq!(g.correlation_id, request_id(g));
        assert!(g.message_id.as_deref().is_some_and(|id| id.len() == 32));
        // contractId is derived from the linear id.
        if let (Some(cid), Some(lid)) = (
            g.json.get("contractId"),
            g.json.get("contractLedgerIdentifier"),
        ) {
            let lid = uuid::Uuid::parse_str(lid.as_str().unwrap()).unwrap();
            assert_eq!(cid.as_u64(), Some(message_schema::ids::contract_id(&lid)));
        }
        // Block and transaction ids agree with the hash they come from.
        if let Some(hash) = g.json.get("blockhash").and_then(Value::as_str) {
            assert_eq!(
                g.json["blockId"].as_u64(),
                Some(message_schema::ids::transaction_id(hash))
            );
        }
    }
    // Nothing left in the ingress queue, nothing unacked.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(queue_counts(&h.names.ingress_queue), Some((0, 0)));
    drop(gw);
    h.broker.cleanup().await;
}

async fn two_thousand_mixed_requests_keep_queue_order(kind: LedgerKind) {
    let h = Harness::new("order", kind).await;
    let gw = h.start(&h.config(IN_MEMORY, "")).await;
    let mut requests = Vec::new();
    for c in 0..50 {
        requests.push(create(&format!("order-create-{c}")));
    }
    for i in 50..2000 {
        let target = linear_id(&format!("order-create-{}", i % 50));
        requests.push(match i % 4 {
            0 => read(&format!("order-{i}"), &target),
            _ => telemetry(&format!("order-{i}"), &target, 30 + (i % 20) as u32),
        });
    }
    h.broker.publish_all(&bodies(&requests)).await;
    let got = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(180),
            |g| terminal_count(g) >= 2000,
        )
        .await;
    assert_eq!(terminal_count(&got), 2000, "log:\n{}", gw.log_text());
    // Egress order equals ingress order: the request ids, in order of their first egress.
    let mut order = Vec::new();
    for c in &got {
        let id = request_id(c).unwrap();
        if order.last() != Some(&id) {
            assert!(!order.contains(&id), "egress of {id} is not contiguous");
            order.push(id);
        }
    }
    let sent: Vec<String> = requests
        .iter()
        .map(|r| r["requestId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, sent);
    // Every action succeeded (the telemetry stays in range), so none of them failed.
    assert!(
        got.iter()
            .all(|c| c.json.get("status").and_then(Value::as_str) != Some("Failure"))
    );
    let effects = requests
        .iter()
        .filter(|r| r["messageName"] != "ReadContractRequest")
        .count() as i64;
    assert_eq!(
        gw.ledger_end().await,
        effects,
        "one transaction per create and per telemetry"
    );
    drop(gw);
    h.broker.cleanup().await;
}

async fn redelivered_requests_have_one_ledger_effect_and_identical_egress(kind: LedgerKind) {
    let h = Harness::new("redeliver", kind).await;
    let journal = h.dir.path().join("ledger.log");
    let ledger = format!("  embedded: {{ journal: {} }}", journal.display());
    let config = h.config(&ledger, "");
    let mut gw = h.start(&config).await;
    // The same request published twice.
    let twice = bodies(&[create("dup-1"), create("dup-1")]);
    h.broker.publish_all(&twice).await;
    let got = h.broker.egress(6, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 6);
    for i in 0..3 {
        assert_eq!(
            got[i].body,
            got[i + 3].body,
            "replayed egress is byte-identical"
        );
        assert_eq!(
            got[i].message_id,
            got[i + 3].message_id,
            "replayed egress keeps its message_id"
        );
    }
    assert_eq!(gw.ledger_end().await, 1, "one ledger effect");

    // A gateway killed with unacked deliveries: after restart, each request has exactly one effect.
    let many: Vec<Value> = (0..300).map(|i| create(&format!("crash-{i}"))).collect();
    h.broker.publish_all(&bodies(&many)).await;
    let early = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(30),
            |g| terminal_count(g) >= 60,
        )
        .await;
    gw.kill();
    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let rest = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(120),
            |g| {
                let mut done: BTreeSet<String> = early
                    .iter()
                    .filter(|c| is_terminal(c))
                    .filter_map(request_id)
                    .collect();
                done.extend(g.iter().filter(|c| is_terminal(c)).filter_map(request_id));
                done.len() >= 300
            },
        )
        .await;
    let mut by_request: HashMap<String, usize> = HashMap::new();
    for c in early
        .iter()
        .chain(&rest)
        .filter(|c| c.routing_key == "ContractMessage")
    {
        *by_request.entry(request_id(c).unwrap()).or_default() += 1;
    }
    assert_eq!(by_request.len(), 300, "every request has its outcome");
    assert_eq!(
        gw.ledger_end().await,
        301,
        "exactly one ledger effect per request"
    );
    drop(gw);
    h.broker.cleanup().await;
}

async fn malformed_messages_get_failures_and_are_dead_lettered(kind: LedgerKind) {
    let h = Harness::new("poison", kind).await;
    let gw = h.start(&h.config(IN_MEMORY, "")).await;
    let corpus: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"".to_vec(),
        b"[1,2,3]".to_vec(),
        br#"{"messageName":"CreateContractRequest","requestId":"poison-1","messageSchemaVersion":"1.0.0"}"#.to_vec(),
        br#"{"messageName":"CreateContractRequest","requestId":"poison-2","workflowName":"RefrigeratedTransportation","parameters":[],"messageSchemaVersion":"2.0.0"}"#.to_vec(),
        serde_json::to_vec(&create("after-poison")).unwrap(),
    ];
    h.broker.publish_all(&corpus).await;
    let got = h.broker.egress(5 + 3, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 8, "{}", gw.log_text());
    for c in &got[..5] {
        assert_eq!(c.routing_key, "Failure");
        assert_eq!(c.json["status"], "Failure");
        assert_eq!(c.json["additionalInformation"]["errorCode"], 4000);
    }
    assert!(
        got[0].json.get("requestId").is_none(),
        "generic failure has no requestId"
    );
    assert_eq!(got[3].json["requestId"], "poison-1", "correlatable failure");
    assert_eq!(got[5].json["status"], "Submitted");
    assert_eq!(
        got[7].routing_key, "ContractMessage",
        "processing continues after poison"
    );
    let dead = h.broker.dead_letters(5, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 5);
    for (d, original) in dead.iter().zip(&corpus) {
        assert_eq!(
            &d.body, original,
            "the original body is dead-lettered unchanged"
        );
        assert_eq!(
            d.headers.get("x-error-code").map(String::as_str),
            Some("4000")
        );
        assert!(
            d.headers
                .get("x-error-reason")
                .is_some_and(|r| !r.is_empty())
        );
    }
    drop(gw);
    h.broker.cleanup().await;
}

async fn transient_faults_are_retried_and_exhaustion_is_dead_lettered_in_order(kind: LedgerKind) {
    let h = Harness::new("faults", kind).await;
    let ledger = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient, times: 2 }\n        - { choice: Complete, kind: transient }";
    let gw = h.start(&h.config(ledger, "")).await;
    let target = linear_id("fault-create");
    let requests = vec![
        create("fault-create"),
        action(
            "fault-transfer",
            &target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        ),
        action("fault-complete", &target, "Complete", &[]),
        read("fault-read", &target),
    ];
    h.broker.publish_all(&bodies(&requests)).await;
    let got = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(30),
            |g| terminal_count(g) >= 4,
        )
        .await;
    let ids: Vec<String> = got
        .iter()
        .filter(|c| is_terminal(c))
        .filter_map(request_id)
        .collect();
    assert_eq!(
        ids,
        [
            "fault-create",
            "fault-transfer",
            "fault-complete",
            "fault-read"
        ],
        "order holds"
    );
    let transfer_contract = got.iter().find(|c| {
        request_id(c).as_deref() == Some("fault-transfer") && c.routing_key == "ContractMessage"
    });
    assert!(
        transfer_contract.is_some(),
        "the transfer succeeded after its retries"
    );
    let exhausted = got
        .iter()
        .find(|c| request_id(c).as_deref() == Some("fault-complete"))
        .unwrap();
    assert_eq!(exhausted.json["additionalInformation"]["errorCode"], 5030);
    let read_reply = got
        .iter()
        .find(|c| request_id(c).as_deref() == Some("fault-read"))
        .unwrap();
    let state = read_reply.json["contractProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "state")
        .unwrap();
    assert_eq!(state["value"], "InTransit");
    let dead = h.broker.dead_letters(1, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].headers.get("x-error-code").map(String::as_str),
        Some("5030")
    );
    let metrics = gw
        .metrics_when(|m| {
            metric_sum(
                m,
                "connector_dead_letters_total",
                &[("reason", "exhausted")],
            ) >= 1.0
        })
        .await;
    assert!(
        metric_sum(&metrics, "connector_ledger_retries_total", &[]) >= 4.0,
        "2 retries + 2 before exhaustion"
    );
    assert_eq!(
        metric_sum(
            &metrics,
            "connector_dead_letters_total",
            &[("reason", "exhausted")]
        ),
        1.0
    );
    drop(gw);
    h.broker.cleanup().await;
}

async fn forcibly_closed_broker_connections_lose_nothing_and_duplicate_nothing(kind: LedgerKind) {
    let h = Harness::new("netfail", kind).await;
    let journal = h.dir.path().join("ledger.log");
    let gw = h
        .start(&h.config(
            &format!("  embedded: {{ journal: {} }}", journal.display()),
            "",
        ))
        .await;
    let requests: Vec<Value> = (0..400).map(|i| create(&format!("net-{i}"))).collect();
    h.broker.publish_all(&bodies(&requests)).await;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut closes = 0;
    for round in 0..3 {
        let got = h
            .broker
            .collect_until(
                &h.names.capture_queue.clone(),
                Duration::from_secs(60),
                |g| terminal_count(g) >= 60 || seen.len() + terminal_count(g) >= 400,
            )
            .await;
        seen.extend(got.iter().filter(|c| is_terminal(c)).filter_map(request_id));
        if round < 2 {
            closes += close_connections(&h.names.connection_name);
        }
    }
    assert!(closes >= 2, "the test closed the gateway's connections");
    let rest = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(120),
            |g| {
                seen.len() + g.iter().filter(|c| is_terminal(c)).count() >= 400 && {
                    let mut all = seen.clone();
                    all.extend(g.iter().filter(|c| is_terminal(c)).filter_map(request_id));
                    all.len() >= 400
                }
            },
        )
        .await;
    seen.extend(
        rest.iter()
            .filter(|c| is_terminal(c))
            .filter_map(request_id),
    );
    assert_eq!(seen.len(), 400, "no request lost; log:\n{}", gw.log_text());
    assert_eq!(gw.ledger_end().await, 400, "no duplicate ledger effect");
    let metrics = gw
        .metrics_when(|m| metric_sum(m, "connector_broker_reconnects_total", &[]) >= 1.0)
        .await;
    assert!(metric_sum(&metrics, "connector_broker_reconnects_total", &[]) >= 1.0);
    drop(gw);
    h.broker.cleanup().await;
}

async fn readiness_follows_the_broker_and_metrics_count_what_was_sent(kind: LedgerKind) {
    let h = Harness::new("ready", kind).await;
    let proxy_port = free_port();
    let mut proxy = Proxy::start(proxy_port).await;
    let url = format!("amqp://guest:guest@127.0.0.1:{proxy_port}/%2f");
    let config = example_config(&h.names, h.dir.path(), &url, h.http_port, IN_MEMORY, "");
    let mut gw = h.start(&config).await;
    let requests: Vec<Value> = (0..10).map(|i| create(&format!("ready-{i}"))).collect();
    h.broker.publish_all(&bodies(&requests)).await;
    let got = h.broker.egress(30, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 30);
    let metrics = gw
        .metrics_when(|m| metric_sum(m, "connector_egress_messages_total", &[]) >= 30.0)
        .await;
    assert_eq!(
        metric_sum(
            &metrics,
            "connector_ingress_messages_total",
            &[
                ("message_name", "CreateContractRequest"),
                ("outcome", "completed")
            ]
        ),
        10.0
    );
    assert_eq!(
        metric_sum(
            &metrics,
            "connector_egress_messages_total",
            &[("message_name", "ContractMessage")]
        ),
        10.0
    );
    assert_eq!(
        metric_sum(&metrics, "connector_egress_messages_total", &[]),
        30.0
    );
    assert!(
        metrics.contains("connector_processing_seconds_bucket"),
        "latency histogram exported"
    );

    proxy.cut();
    let mut unready = false;
    for _ in 0..100 {
        if let Some((503, _)) = http_get(h.http_port, "/readyz").await {
            unready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        unready,
        "/readyz must be 503 while the broker is unreachable"
    );
    assert_eq!(
        http_get(h.http_port, "/healthz").await.map(|r| r.0),
        Some(200),
        "alive all the same"
    );
    let _proxy = Proxy::start(proxy_port).await;
    assert!(
        gw.wait_ready(Duration::from_secs(30)).await,
        "/readyz is 200 again after recovery"
    );
    let status = gw.status().await;
    assert!(status["health"]["reconnects_total"].as_u64().unwrap() >= 1);
    assert!(
        !status.to_string().contains("guest:guest"),
        "no secrets in /status"
    );
    drop(gw);
    h.broker.cleanup().await;
}

async fn sigterm_drains_and_nothing_is_redelivered_after_a_clean_stop(kind: LedgerKind) {
    let h = Harness::new("drain", kind).await;
    let journal = h.dir.path().join("ledger.log");
    let config = h.config(
        &format!("  embedded: {{ journal: {} }}", journal.display()),
        "",
    );
    let mut gw = h.start(&config).await;
    let requests: Vec<Value> = (0..100).map(|i| create(&format!("drain-{i}"))).collect();
    h.broker.publish_all(&bodies(&requests)).await;
    let got = h.broker.egress(300, Duration::from_secs(60)).await;
    assert_eq!(got.len(), 300);
    assert!(gw.terminate(), "clean exit on SIGTERM:\n{}", gw.log_text());
    assert_eq!(
        queue_counts(&h.names.ingress_queue),
        Some((0, 0)),
        "everything acked before the stop"
    );
    gw.spawn();
    assert!(gw.wait_ready(Duration::from_secs(60)).await);
    let again = h.broker.egress(1, Duration::from_secs(3)).await;
    assert!(
        again.is_empty(),
        "nothing is redelivered after a clean stop"
    );
    assert_eq!(gw.ledger_end().await, 100);
    drop(gw);
    h.broker.cleanup().await;
}

async fn per_contract_ordering_keeps_each_contracts_order(kind: LedgerKind) {
    let h = Harness::new("percontract", kind).await;
    let gw = h
        .start(&h.config(IN_MEMORY, "ordering: per-contract\nmax_in_flight: 32"))
        .await;
    let mut requests = Vec::new();
    for i in 0..1200 {
        let c = i % 20;
        let create_id = format!("pc-create-{c}");
        // Each contract's own create comes first; its actions may follow before the create has committed.
        requests.push(if i < 20 {
            create(&create_id)
        } else {
            telemetry(
                &format!("pc-{i}"),
                &linear_id(&create_id),
                30 + (i % 20) as u32,
            )
        });
    }
    h.broker.publish_all(&bodies(&requests)).await;
    let got = h
        .broker
        .collect_until(
            &h.names.capture_queue.clone(),
            Duration::from_secs(120),
            |g| terminal_count(g) >= 1200,
        )
        .await;
    assert_eq!(terminal_count(&got), 1200, "{}", gw.log_text());
    assert!(
        got.iter()
            .all(|c| c.json.get("status").and_then(Value::as_str) != Some("Failure")),
        "no action ran before its create"
    );
    let position: HashMap<String, usize> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (r["requestId"].as_str().unwrap().to_owned(), i))
        .collect();
    let mut last_per_contract: HashMap<String, usize> = HashMap::new();
    for c in got.iter().filter(|c| c.routing_key == "ContractMessage") {
        let lid = c.json["contractLedgerIdentifier"]
            .as_str()
            .unwrap()
            .to_owned();
        let pos = position[&request_id(c).unwrap()];
        if let Some(prev) = last_per_contract.insert(lid, pos) {
            assert!(
                prev < pos,
                "per-contract egress order follows publish order"
            );
        }
    }
    assert_eq!(gw.ledger_end().await, 1200);
    drop(gw);
    h.broker.cleanup().await;
}

async fn the_observer_publishes_resumes_from_its_checkpoint_and_sweeps(kind: LedgerKind) {
    let h = Harness::new("observer", kind).await;
    let journal = h.dir.path().join("ledger.log");
    let ledger = format!("  embedded: {{ journal: {} }}", journal.display());
    let config = h.config(&ledger, "observe: all\nsweep: true");
    let mut gw = h.start(&config).await;
    h.broker
        .publish_all(&bodies(&[
            create("obs-1"),
            create("obs-2"),
            create("obs-3"),
        ]))
        .await;
    let got = h.broker.egress(12, Duration::from_secs(30)).await;
    let observed: Vec<&Captured> = got.iter().filter(|c| request_id(c).is_none()).collect();
    assert_eq!(
        observed.len(),
        3,
        "one observer ContractMessage per transaction"
    );
    for o in &observed {
        assert_eq!(o.routing_key, "ContractMessage");
        assert_eq!(o.json["isNewContract"], true);
    }
    // A clean restart resumes after the checkpoint: nothing is published again.
    assert!(gw.terminate());
    gw.spawn();
    assert!(gw.wait_ready(Duration::from_secs(60)).await);
    h.broker.publish_all(&bodies(&[create("obs-4")])).await;
    let got = h.broker.egress(5, Duration::from_secs(10)).await;
    assert_eq!(
        got.len(),
        4,
        "three for the request, one from the observer: {got:?}"
    );
    assert_eq!(got.iter().filter(|c| request_id(c).is_none()).count(), 1);
    // Without a checkpoint (a new state directory), the sweep publishes the active contracts first.
    assert!(gw.terminate());
    let fresh = config.with_file_name("fresh.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("state_dir: {}", h.dir.path().join("state").display()),
        &format!("state_dir: {}", h.dir.path().join("state2").display()),
    );
    std::fs::write(&fresh, text).unwrap();
    let swept = Gateway::start(&fresh, h.http_port);
    let got = h.broker.egress(4, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 4, "{}", swept.log_text());
    assert!(got.iter().all(|c| c.routing_key == "ContractMessage"
        && c.json["isNewContract"] == false
        && request_id(c).is_none()));
    let swept_ids: BTreeSet<String> = got
        .iter()
        .map(|c| {
            c.json["contractLedgerIdentifier"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = (1..=4).map(|i| linear_id(&format!("obs-{i}"))).collect();
    assert_eq!(swept_ids, expected);
    drop(swept);
    h.broker.cleanup().await;
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
    example_runs_end_to_end_in_order_with_correct_ids,
    two_thousand_mixed_requests_keep_queue_order,
    redelivered_requests_have_one_ledger_effect_and_identical_egress,
    malformed_messages_get_failures_and_are_dead_lettered,
    transient_faults_are_retried_and_exhaustion_is_dead_lettered_in_order,
    forcibly_closed_broker_connections_lose_nothing_and_duplicate_nothing,
    readiness_follows_the_broker_and_metrics_count_what_was_sent,
    sigterm_drains_and_nothing_is_redelivered_after_a_clean_stop,
    per_contract_ordering_keeps_each_contracts_order,
    the_observer_publishes_resumes_from_its_checkpoint_and_sweeps,
);

/// Daml only (on the embedded ledger nobody else can write): a transaction another application makes on the
/// participant is published by the observer (`observe: external`, the default) and indexed, so requests can read and
/// act on a contract the gateway did not create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daml_external_transactions_are_observed_and_then_addressable() {
    use ledger_port::{Command, Ledger, LedgerValue, Submission, UpdateFilter};

    let h = Harness::new("external", LedgerKind::Daml).await;
    let gw = h.start(&h.config(IN_MEMORY, "")).await;
    h.broker.publish_all(&bodies(&[create("ext-seed")])).await;
    let seeded = h.broker.egress(3, Duration::from_secs(30)).await;
    assert_eq!(seeded.len(), 3, "{}", gw.log_text());
    assert!(
        seeded
            .iter()
            .all(|c| request_id(c).as_deref() == Some("ext-seed")),
        "the gateway's own transaction is not published again by the observer: {seeded:?}"
    );

    // Another application, with its own Ledger API user, creates a contract of the mapped template.
    let url = h.sandboxes.lock().unwrap()[0].url();
    let other = daml_ledger::DamlLedger::connect(
        &daml_ledger::DamlSettings::new(url, "another-application"),
        vec!["Operator".to_owned()],
    )
    .unwrap();
    let active = other
        .active_contracts(&UpdateFilter::default())
        .await
        .unwrap();
    let seed = active.contracts[0].created.clone();
    let external = uuid::Uuid::new_v4();
    let mut payload = seed.arguments.clone();
    payload.set("linearId", LedgerValue::Text(external.to_string()));
    payload.set("maxHumidity", LedgerValue::Int64(45));
    other
        .submit(Submission {
            command_id: "another-application-create-1".to_owned(),
            act_as: vec!["Operator".to_owned()],
            command: Command::Create {
                template_id: seed.template_id.clone(),
                arguments: payload,
            },
        })
        .await
        .unwrap();

    let observed = h.broker.egress(1, Duration::from_secs(30)).await;
    assert_eq!(observed.len(), 1, "{}", gw.log_text());
    assert_eq!(observed[0].routing_key, "ContractMessage");
    assert_eq!(
        request_id(&observed[0]),
        None,
        "no request of ours caused it"
    );
    assert_eq!(
        observed[0].json["contractLedgerIdentifier"],
        external.to_string()
    );
    assert_eq!(observed[0].json["isNewContract"], true);

    // The observer indexed it: a read answers with its properties, an action on it commits.
    let target = external.to_string();
    h.broker
        .publish_all(&bodies(&[
            read("ext-read", &target),
            telemetry("ext-act", &target, 30),
        ]))
        .await;
    let answers = h.broker.egress(5, Duration::from_secs(30)).await;
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert_eq!(request_id(&answers[0]).as_deref(), Some("ext-read"));
    let properties = answers[0].json["contractProperties"].to_string();
    assert!(properties.contains("\"maxHumidity\""), "{properties}");
    assert!(properties.contains("\"45\""), "{properties}");
    let act: Vec<&Captured> = answers[1..].iter().collect();
    assert!(
        act.iter()
            .all(|c| request_id(c).as_deref() == Some("ext-act")
                && c.json.get("status").and_then(Value::as_str) != Some("Failure")),
        "{act:?}"
    );
    assert_eq!(act[1].json["status"], "Committed");
    drop(gw);
    h.broker.cleanup().await;
}
