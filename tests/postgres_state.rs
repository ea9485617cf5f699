//! The gateway on `state.backend: postgres` (issue 16, item 1), the real binary against the local RabbitMQ and
//! PostgreSQL, each test on a database of its own:
//! - outcomes are recorded in PostgreSQL, and after a restart a re-sent request is answered from there (replayed,
//!   byte for byte, no second ledger effect);
//! - PostgreSQL unreachable at start: `/readyz` 503 with the reason on `/status`, nothing consumed; once it is
//!   reachable the gateway gets ready by itself and processes what waited;
//! - PostgreSQL lost mid-run: consumption pauses, the messages stay in the queue (nothing acked that is not durable),
//!   and the gateway resumes by itself when PostgreSQL is back: nothing lost, no duplicate ledger effect.
//!
//! PostgreSQL is made unreachable through a TCP proxy the test controls (`support::Proxy`), never by stopping the
//! machine's server.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::postgres::TestDatabase;
use support::*;

fn create(request_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"messageName":"CreateContractRequest","requestId":request_id,
        "workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
        {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
        {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"}))
    .unwrap()
}

fn creates(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| create(&format!("{prefix}-{i}"))).collect()
}

/// Egress messages per requestId.
fn per_request(captured: &[Captured]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for c in captured {
        if let Some(id) = c.json["requestId"].as_str() {
            *counts.entry(id.to_owned()).or_default() += 1;
        }
    }
    counts
}

/// Waits until the queue holds nothing, ready or unacked: every delivery was acked, so its outcome is durable
/// (egress is published, and seen by the test, before the batch's flush and acks).
async fn wait_all_acked(broker: &Broker, queue: &str) -> Option<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = broker.queue_counts(queue);
        if counts == Some((0, 0)) || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn readyz(gw: &Gateway) -> Option<u16> {
    http_get(gw.http_port, "/readyz")
        .await
        .map(|(status, _)| status)
}

/// Waits until `/status` says the state store does not answer, and returns that status.
async fn status_when_store_unavailable(gw: &Gateway, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        // The HTTP surface may not listen yet right after the start.
        let status = match http_get(gw.http_port, "/status").await {
            Some((200, body)) => serde_json::from_str(&body).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        if status["health"]["state_store_available"] == false || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_live_in_postgres_and_a_resend_after_a_restart_is_answered_from_there() {
    let names = Names::new("pgstate");
    let broker = Broker::connect(&names).await;
    let db = TestDatabase::create("restart");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        port,
        "  embedded: {}",
        &db.state_yaml(5432),
    );
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let status = gw.status().await;
    assert_eq!(status["config"]["state"]["backend"], "postgres", "{status}");
    let n = 20;
    let bodies = creates("pg", n);
    broker.publish_all(&bodies).await;
    let first = broker.egress(3 * n, Duration::from_secs(60)).await;
    assert_eq!(first.len(), 3 * n, "{}", gw.log_text());
    assert_eq!(
        wait_all_acked(&broker, &names.ingress_queue).await,
        Some((0, 0))
    );
    assert_eq!(
        db.query("SELECT count(*) FROM outcomes").await,
        [n.to_string()]
    );
    assert_eq!(
        db.query("SELECT count(*) FROM request_history").await,
        [n.to_string()]
    );
    let original: Vec<Vec<u8>> = first
        .iter()
        .filter(|c| c.json["requestId"] == "pg-0")
        .map(|c| c.body.clone())
        .collect();
    let ledger_end = gw.ledger_end().await;
    assert!(gw.terminate(), "{}", gw.log_text());

    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&bodies[..1]).await;
    let again: Vec<Vec<u8>> = broker
        .egress(3, Duration::from_secs(30))
        .await
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(again, original, "the original egress, byte for byte");
    assert_eq!(gw.ledger_end().await, ledger_end, "no second effect");
    let replayed = |m: &str| {
        metric_sum(
            m,
            "connector_ingress_messages_total",
            &[("outcome", "replayed")],
        )
    };
    let metrics = gw.metrics_when(|m| replayed(m) >= 1.0).await;
    assert_eq!(
        metric_sum(
            &metrics,
            "connector_ingress_messages_total",
            &[("outcome", "replayed")]
        ),
        1.0,
        "answered from the PostgreSQL outcome, not by the ledger's deduplication\n{metrics}"
    );
    let looked_up = http_get(port, "/requests/pg-3").await;
    assert!(
        matches!(&looked_up, Some((200, body)) if body.contains("\"state\":\"done\"")),
        "{looked_up:?}"
    );
    assert!(gw.terminate());
    broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_at_start_keeps_the_gateway_unready_and_consuming_nothing_until_it_is_back()
 {
    let names = Names::new("pgstart");
    let broker = Broker::connect(&names).await;
    let db = TestDatabase::create("start");
    let dir = tempfile::tempdir().unwrap();
    let (port, pg_port) = (free_port(), free_port());
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        port,
        "  embedded: {}",
        &db.state_yaml(pg_port),
    );
    // A first start with PostgreSQL reachable declares the queues; then the gateway starts with it unreachable.
    let mut proxy = Proxy::start_to(pg_port, 5432).await;
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    assert!(gw.terminate());
    proxy.cut();
    let n = 5;
    broker.publish_all(&creates("early", n)).await;
    gw.spawn();
    let status = status_when_store_unavailable(&gw, Duration::from_secs(30)).await;
    assert_eq!(
        status["health"]["state_store_available"],
        false,
        "{status}\n{}",
        gw.log_text()
    );
    let errors = status["health"]["last_errors"].to_string();
    assert!(errors.contains("state store unavailable"), "{errors}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(readyz(&gw).await, Some(503));
    assert_eq!(
        broker.queue_counts(&names.ingress_queue),
        Some((n as u64, 0)),
        "nothing consumed"
    );

    let _proxy = Proxy::start_to(pg_port, 5432).await;
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "ready by itself once PostgreSQL answers\n{}",
        gw.log_text()
    );
    let egress = broker.egress(3 * n, Duration::from_secs(60)).await;
    assert_eq!(egress.len(), 3 * n, "{}", gw.log_text());
    assert_eq!(gw.status().await["health"]["state_store_available"], true);
    assert!(gw.terminate());
    broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_mid_run_pauses_consumption_and_the_gateway_resumes_by_itself_losing_and_duplicating_nothing()
 {
    let names = Names::new("pgoutage");
    let broker = Broker::connect(&names).await;
    let db = TestDatabase::create("outage");
    let dir = tempfile::tempdir().unwrap();
    let (port, pg_port) = (free_port(), free_port());
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        port,
        "  embedded: {}",
        &db.state_yaml(pg_port),
    );
    let mut proxy = Proxy::start_to(pg_port, 5432).await;
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let n = 10;
    broker.publish_all(&creates("before", n)).await;
    let before = broker.egress(3 * n, Duration::from_secs(60)).await;
    assert_eq!(before.len(), 3 * n, "{}", gw.log_text());
    assert_eq!(
        wait_all_acked(&broker, &names.ingress_queue).await,
        Some((0, 0))
    );
    let ledger_end = gw.ledger_end().await;

    proxy.cut();
    broker.publish_all(&creates("during", n)).await;
    let status = status_when_store_unavailable(&gw, Duration::from_secs(60)).await;
    assert_eq!(
        status["health"]["state_store_available"],
        false,
        "{status}\n{}",
        gw.log_text()
    );
    assert_eq!(readyz(&gw).await, Some(503));
    // The deliveries taken before the halt went back to the queue; nothing was acked or answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    while broker.queue_counts(&names.ingress_queue) != Some((n as u64, 0))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        broker.queue_counts(&names.ingress_queue),
        Some((n as u64, 0)),
        "every message waits in the queue, none unacked\n{}",
        gw.log_text()
    );
    let during_outage = broker
        .collect_until(&names.capture_queue, Duration::from_secs(2), |_| false)
        .await;
    assert!(
        during_outage.is_empty(),
        "nothing answered without PostgreSQL"
    );
    assert_eq!(
        gw.ledger_end().await,
        ledger_end,
        "nothing reached the ledger"
    );

    let _proxy = Proxy::start_to(pg_port, 5432).await;
    assert!(
        gw.wait_ready(Duration::from_secs(90)).await,
        "ready by itself once PostgreSQL is back\n{}",
        gw.log_text()
    );
    let after = broker
        .collect_until(&names.capture_queue, Duration::from_secs(60), |got| {
            got.len() >= 3 * n
        })
        .await;
    let settle = broker
        .collect_until(&names.capture_queue, Duration::from_secs(2), |_| false)
        .await;
    let counts = per_request(&after.iter().chain(&settle).cloned().collect::<Vec<_>>());
    for i in 0..n {
        assert_eq!(
            counts.get(&format!("during-{i}")),
            Some(&3),
            "during-{i}: {counts:?}\n{}",
            gw.log_text()
        );
    }
    assert_eq!(
        gw.ledger_end().await,
        ledger_end + n as i64,
        "one ledger effect per request"
    );
    assert_eq!(
        db.query("SELECT count(*) FROM outcomes").await,
        [(2 * n).to_string()]
    );
    assert_eq!(broker.queue_counts(&names.ingress_queue), Some((0, 0)));
    assert!(gw.terminate());
    broker.cleanup().await;
}
