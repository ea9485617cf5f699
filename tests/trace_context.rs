//! Trace context across the gateway (`connector run` against the real RabbitMQ): a W3C `traceparent` on an ingress
//! message comes back on every egress message of its request (the same trace id, the gateway's span as parent), a
//! message without one or with an invalid one gets a fresh trace and is processed as usual; on a Daml ledger
//! (`connector sandbox`, recording the metadata each call arrived with) the submit calls carry the request's trace,
//! requests in flight at once each their own; with `telemetry.otlp_endpoint` the spans reach an OTLP/HTTP receiver
//! started here; and log lines of a request carry its requestId and trace id.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use serde_json::Value;
use support::example_requests::{bodies, create, linear_id, request_id, telemetry};
use support::gateway_harness::IN_MEMORY;
use support::*;

/// A sender's traceparent: trace id `n` repeated, parent id `f0` + `n`.
fn sent(n: u8) -> String {
    format!(
        "00-{}-{}-01",
        format!("{n:02x}").repeat(16),
        format!("f0{n:02x}").repeat(4)
    )
}

/// `(trace id, parent id, flags)` of a traceparent, only when it is strictly valid (version 00, lowercase hex, ids
/// not all zero).
fn parse(traceparent: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = traceparent.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match parts.as_slice() {
        ["00", trace, parent, flags]
            if hex(trace, 32)
                && hex(parent, 16)
                && hex(flags, 2)
                && trace.bytes().any(|b| b != b'0')
                && parent.bytes().any(|b| b != b'0') =>
        {
            Some((trace.to_string(), parent.to_string(), flags.to_string()))
        }
        _ => None,
    }
}

/// The trace id and parent id of a captured message's `traceparent` header, failing the test when it is missing or
/// invalid.
fn trace_of(c: &Captured) -> (String, String) {
    let header = c.headers.get("traceparent").unwrap_or_else(|| {
        panic!(
            "{} {:?} has no traceparent header",
            c.routing_key, c.correlation_id
        )
    });
    let (trace, parent, _) = parse(header).unwrap_or_else(|| {
        panic!(
            "{} carries an invalid traceparent {header:?}",
            c.routing_key
        )
    });
    (trace, parent)
}

fn properties(traceparent: Option<&str>, tracestate: Option<&str>) -> BasicProperties {
    let mut headers = FieldTable::default();
    if let Some(value) = traceparent {
        headers.insert(
            "traceparent".into(),
            AMQPValue::LongString(LongString::from(value.as_bytes())),
        );
    }
    if let Some(value) = tracestate {
        headers.insert(
            "tracestate".into(),
            AMQPValue::LongString(LongString::from(value.as_bytes())),
        );
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_headers(headers)
}

/// `connector run` with its log at `log_level` (what the shared harness sets is not enough to see every request).
async fn start_gateway(config: &Path, http_port: u16, log_level: &str) -> Gateway {
    let log = config.with_extension("log");
    let stderr = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["run", "--config"])
        .arg(config)
        .env("CONNECTOR_LOG__LEVEL", log_level)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut gateway = Gateway {
        child: Some(child),
        config: config.to_owned(),
        http_port,
        log,
        file_size_limit: None,
    };
    assert!(
        gateway.wait_ready(Duration::from_secs(60)).await,
        "gateway not ready:\n{}",
        gateway.log_text()
    );
    gateway
}

/// Egress (and dead letters) grouped by the request they answer; the Failure of a message without a readable
/// requestId under "".
fn by_request(captured: &[Captured]) -> HashMap<String, Vec<&Captured>> {
    let mut out: HashMap<String, Vec<&Captured>> = HashMap::new();
    for c in captured {
        out.entry(request_id(c).unwrap_or_default())
            .or_default()
            .push(c);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_carries_the_senders_trace_or_a_fresh_one() {
    let names = Names::new("trace-egress");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let config = example_config(&names, dir.path(), AMQP_URL, http_port, IN_MEMORY, "");
    let mut gateway = start_gateway(&config, http_port, "info,lapin=warn").await;

    let target = linear_id("tr-create");
    let invalid: Vec<(&str, String)> = vec![
        ("tr-short", sent(1)[..54].to_owned()),
        ("tr-upper", sent(0xab).to_uppercase()),
        (
            "tr-zero-trace",
            format!("00-{}-{}-01", "0".repeat(32), "f0".repeat(8)),
        ),
        (
            "tr-zero-parent",
            format!("00-{}-{}-01", "ab".repeat(16), "0".repeat(16)),
        ),
        ("tr-version-ff", sent(2).replacen("00-", "ff-", 1)),
        ("tr-junk", "j".repeat(10 * 1024)),
    ];
    // Sent with a traceparent (and a tracestate to keep), without one, with invalid ones, malformed, and again.
    let create_body = serde_json::to_vec(&create("tr-create")).unwrap();
    broker
        .publish_with(
            &create_body,
            properties(Some(&sent(1)), Some("vendor=abc, other@sys=x")),
        )
        .await;
    let action = bodies(&[telemetry("tr-action", &target, 45)]).remove(0);
    broker
        .publish_with(&action, properties(Some(&sent(2)), None))
        .await;
    let plain = bodies(&[create("tr-plain")]).remove(0);
    broker
        .publish_with(&plain, properties(None, Some("vendor=dropped")))
        .await;
    for (id, traceparent) in &invalid {
        let body = bodies(&[create(id)]).remove(0);
        broker
            .publish_with(&body, properties(Some(traceparent), Some("vendor=dropped")))
            .await;
    }
    broker
        .publish_with(b"not json", properties(Some(&sent(3)), None))
        .await;
    // A requestId answered before: the outcome store's answer, under the new delivery's trace.
    broker
        .publish_with(&create_body, properties(Some(&sent(4)), None))
        .await;

    // 3 + 4 + 3 + 6 × 3 + 1 + 3 egress messages, and one dead letter.
    let egress = broker.egress(32, Duration::from_secs(60)).await;
    let dead = broker.dead_letters(1, Duration::from_secs(30)).await;
    assert_eq!(
        egress.len(),
        32,
        "{:#?}",
        egress.iter().map(|c| &c.json).collect::<Vec<_>>()
    );
    let answers = by_request(&egress);

    let check_joined = |messages: &[&Captured], n: u8, count: usize| {
        assert_eq!(messages.len(), count, "{n}");
        let (trace, sender_parent, _) = parse(&sent(n)).unwrap();
        let mut parents = HashSet::new();
        for c in messages {
            let (got_trace, parent) = trace_of(c);
            assert_eq!(
                got_trace, trace,
                "{} keeps the sender's trace id",
                c.routing_key
            );
            assert_ne!(
                parent, sender_parent,
                "{}: the parent is the gateway's own span",
                c.routing_key
            );
            parents.insert(parent);
        }
        assert_eq!(
            parents.len(),
            1,
            "one gateway span per delivery: {parents:?}"
        );
    };
    let created = &answers["tr-create"];
    let (first_delivery, replayed): (Vec<&Captured>, Vec<&Captured>) = created
        .iter()
        .partition(|c| trace_of(c).0 == parse(&sent(1)).unwrap().0);
    check_joined(&first_delivery, 1, 3);
    for c in &first_delivery {
        assert_eq!(
            c.headers.get("tracestate").map(String::as_str),
            Some("vendor=abc,other@sys=x"),
            "a valid tracestate is passed on"
        );
    }
    check_joined(&replayed, 4, 3);
    assert_eq!(
        answers["tr-action"]
            .iter()
            .map(|c| c.routing_key.as_str())
            .collect::<Vec<_>>(),
        [
            "CreateContractActionUpdate",
            "CreateContractActionUpdate",
            "EventMessage",
            "ContractMessage"
        ]
    );
    check_joined(&answers["tr-action"], 2, 4);

    let mut fresh_traces = HashSet::new();
    for id in std::iter::once("tr-plain").chain(invalid.iter().map(|(id, _)| *id)) {
        let messages = &answers[id];
        assert_eq!(messages.len(), 3, "{id} is processed as usual");
        assert_eq!(
            messages[1].json["status"], "Committed",
            "{id}: {}",
            messages[1].json
        );
        let traces: HashSet<String> = messages.iter().map(|c| trace_of(c).0).collect();
        assert_eq!(traces.len(), 1, "{id}: one trace for the request");
        for c in messages {
            assert_eq!(
                c.headers.get("tracestate"),
                None,
                "{id}: a tracestate without a valid traceparent is dropped"
            );
        }
        for n in 1..=255u8 {
            assert!(!traces.contains(&parse(&sent(n)).unwrap().0));
        }
        fresh_traces.extend(traces);
    }
    assert_eq!(
        fresh_traces.len(),
        1 + invalid.len(),
        "each fresh trace is a new one"
    );

    let failure = &answers[""];
    check_joined(failure, 3, 1);
    assert_eq!(failure[0].json["additionalInformation"]["errorCode"], 4000);
    assert_eq!(dead.len(), 1);
    let (dead_trace, dead_parent) = trace_of(&dead[0]);
    assert_eq!(
        dead_trace,
        parse(&sent(3)).unwrap().0,
        "the dead-letter copy keeps the trace"
    );
    assert_eq!(
        dead_parent,
        trace_of(failure[0]).1,
        "and names the gateway's span"
    );

    assert!(gateway.terminate(), "{}", gateway.log_text());
    broker.cleanup().await;
}

/// The JSON lines a `--record-trace-context` file holds.
fn recorded_calls(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_sees_each_requests_trace_on_its_submit_call() {
    let names = Names::new("trace-daml");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sandbox");
    std::fs::create_dir_all(&sandbox_dir).unwrap();
    let sandbox_config = example_config(&names, &sandbox_dir, AMQP_URL, 0, IN_MEMORY, "");
    let record = sandbox_dir.join("trace-context.jsonl");
    // Every submission waits 300 ms in the sandbox, so the requests below are all in flight at once.
    let sandbox = Sandbox::start_with_args(
        &sandbox_config,
        &sandbox_dir.join("sandbox.log"),
        None,
        &[
            "--latency-ms".as_ref(),
            "300".as_ref(),
            "--record-trace-context".as_ref(),
            record.as_os_str(),
        ],
    );
    let http_port = free_port();
    let daml = format!(
        "  daml: {{ url: \"{}\", user_id: gateway, call_timeout_ms: 10000 }}",
        sandbox.url()
    );
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        http_port,
        &daml,
        "ordering: per-contract",
    );
    let mut gateway = start_gateway(&config, http_port, "info,lapin=warn").await;

    let requests: Vec<(String, u8)> = (1..=6u8).map(|n| (format!("td-{n}"), n)).collect();
    let started = Instant::now();
    for (id, n) in &requests {
        let body = bodies(&[create(id)]).remove(0);
        broker
            .publish_with(&body, properties(Some(&sent(*n)), None))
            .await;
    }
    let egress = broker
        .egress(3 * requests.len(), Duration::from_secs(60))
        .await;
    let elapsed = started.elapsed();
    let answers = by_request(&egress);
    let mut egress_parents = HashMap::new();
    for (id, n) in &requests {
        let messages = &answers[id.as_str()];
        assert_eq!(messages.len(), 3, "{id}");
        for c in messages {
            assert_eq!(
                trace_of(c).0,
                parse(&sent(*n)).unwrap().0,
                "{id} keeps its own trace"
            );
        }
        egress_parents.insert(parse(&sent(*n)).unwrap().0, trace_of(messages[0]).1);
    }
    assert!(
        elapsed < Duration::from_millis(300 * requests.len() as u64),
        "the submissions overlapped ({elapsed:?})"
    );

    let submits: Vec<(String, String)> = recorded_calls(&record)
        .iter()
        .filter(|call| {
            call["method"].as_str().is_some_and(|m| {
                m.starts_with("/com.daml.ledger.api.v2.CommandService/SubmitAndWait")
            })
        })
        .map(|call| {
            let traceparent = call["traceparent"]
                .as_str()
                .unwrap_or_else(|| panic!("a submit without traceparent: {call}"));
            let (trace, parent, _) =
                parse(traceparent).unwrap_or_else(|| panic!("invalid: {call}"));
            (trace, parent)
        })
        .collect();
    let sent_traces: HashSet<String> = requests
        .iter()
        .map(|(_, n)| parse(&sent(*n)).unwrap().0)
        .collect();
    let seen: Vec<&String> = submits.iter().map(|(trace, _)| trace).collect();
    assert_eq!(
        seen.len(),
        requests.len(),
        "one submit per request: {submits:?}"
    );
    assert_eq!(
        seen.iter().map(|t| (*t).clone()).collect::<HashSet<_>>(),
        sent_traces,
        "each submit carried its own request's trace id"
    );
    for (trace, parent) in &submits {
        let sender_parent = requests
            .iter()
            .map(|(_, n)| parse(&sent(*n)).unwrap())
            .find(|(t, _, _)| t == trace)
            .map(|(_, p, _)| p)
            .unwrap();
        assert_ne!(
            *parent, sender_parent,
            "the ledger call names the gateway's span"
        );
        // Without span export the ledger call is made in the delivery's own span.
        assert_eq!(Some(parent), egress_parents.get(trace));
    }

    assert!(gateway.terminate(), "{}", gateway.log_text());
    drop(sandbox);
    broker.cleanup().await;
}

/// An OTLP/HTTP receiver on 127.0.0.1: every `POST /v1/traces` decoded and kept.
struct OtlpReceiver {
    port: u16,
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl OtlpReceiver {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    match ExportTraceServiceRequest::decode(body) {
                        Ok(request) => {
                            kept.lock().unwrap().push(request);
                            (
                                axum::http::StatusCode::OK,
                                [("content-type", "application/x-protobuf")],
                                ExportTraceServiceResponse::default().encode_to_vec(),
                            )
                        }
                        Err(_) => (
                            axum::http::StatusCode::BAD_REQUEST,
                            [("content-type", "text/plain")],
                            b"not an ExportTraceServiceRequest".to_vec(),
                        ),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { port, received }
    }

    /// Every span received so far, with its resource's `service.name`.
    fn spans(&self) -> Vec<(Option<String>, OtlpSpan)> {
        let received = self.received.lock().unwrap();
        let mut out = Vec::new();
        for request in received.iter() {
            for resource_spans in &request.resource_spans {
                let service = resource_spans
                    .resource
                    .as_ref()
                    .and_then(|r| string_attribute(&r.attributes, "service.name"));
                for scope in &resource_spans.scope_spans {
                    for span in &scope.spans {
                        out.push((service.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }
}

fn string_attribute(
    attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            OtlpValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_with_the_requests_trace_and_request_id() {
    let receiver = OtlpReceiver::start().await;
    let names = Names::new("trace-otlp");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let extra = format!(
        "telemetry: {{ otlp_endpoint: \"http://127.0.0.1:{}\", service_name: connector-under-test }}",
        receiver.port
    );
    let config = example_config(&names, dir.path(), AMQP_URL, http_port, IN_MEMORY, &extra);
    // Exporting does not depend on what is logged.
    let mut gateway = start_gateway(&config, http_port, "warn").await;

    let body = bodies(&[create("otlp-1")]).remove(0);
    broker
        .publish_with(&body, properties(Some(&sent(7)), None))
        .await;
    let egress = broker.egress(3, Duration::from_secs(60)).await;
    assert_eq!(egress.len(), 3);
    let (egress_trace, egress_parent) = trace_of(&egress[0]);
    let (trace, sender_parent, _) = parse(&sent(7)).unwrap();
    assert_eq!(egress_trace, trace);
    // A clean stop exports what is still batched.
    assert!(gateway.terminate(), "{}", gateway.log_text());

    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans: Vec<(Option<String>, OtlpSpan)> = receiver
            .spans()
            .into_iter()
            .filter(|(_, s)| hex(&s.trace_id) == trace)
            .collect();
        if spans.iter().any(|(_, s)| s.name == "publish") || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let delivery = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "message")
        .unwrap_or_else(|| {
            panic!(
                "no delivery span in trace {trace}: {spans:#?}\n{}",
                gateway.log_text()
            )
        });
    assert_eq!(
        hex(&delivery.parent_span_id),
        sender_parent,
        "a child of the sender's span"
    );
    assert_eq!(
        hex(&delivery.span_id),
        egress_parent,
        "the span egress names as its parent"
    );
    assert_eq!(
        string_attribute(&delivery.attributes, "request_id").as_deref(),
        Some("otlp-1")
    );
    assert_eq!(
        string_attribute(&delivery.attributes, "trace_id").as_deref(),
        Some(trace.as_str())
    );
    for child in ["ledger_call", "publish"] {
        assert!(
            spans
                .iter()
                .any(|(_, s)| s.name == child && s.parent_span_id == delivery.span_id),
            "a {child} span below the delivery's: {spans:#?}"
        );
    }
    for (service, span) in &spans {
        assert_eq!(
            service.as_deref(),
            Some("connector-under-test"),
            "{}",
            span.name
        );
    }
    broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_of_a_request_carry_its_request_id_and_trace_id() {
    let names = Names::new("trace-logs");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        http_port,
        IN_MEMORY,
        "log: { format: json }",
    );
    // `processed` is a debug line: at info a successful request logs nothing of its own.
    let mut gateway = start_gateway(&config, http_port, "info,connector=debug,lapin=warn").await;

    broker
        .publish_with(
            &bodies(&[create("log-1")]).remove(0),
            properties(Some(&sent(8)), None),
        )
        .await;
    broker
        .publish_with(
            &bodies(&[create("log-2")]).remove(0),
            properties(None, None),
        )
        .await;
    let egress = broker.egress(6, Duration::from_secs(60)).await;
    assert_eq!(egress.len(), 6);
    let answers = by_request(&egress);
    let expected = [
        ("log-1", parse(&sent(8)).unwrap().0),
        ("log-2", trace_of(answers["log-2"][0]).0),
    ];
    assert!(gateway.terminate(), "{}", gateway.log_text());

    let log = gateway.log_text();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for (id, trace) in &expected {
        let of_request: Vec<&Value> = lines
            .iter()
            .filter(|line| line["span"]["request_id"] == *id)
            .collect();
        assert!(!of_request.is_empty(), "no log line names {id}:\n{log}");
        for line in of_request {
            assert_eq!(line["span"]["trace_id"], trace.as_str(), "{line}");
        }
    }
    broker.cleanup().await;
}
