//! Outcomes do not pile up forever (issue 12): a gateway with a short `state.outcome_retention` removes expired
//! outcomes in the background and compacts the state file, so its size follows what is kept; a request re-sent after
//! its outcome expired is answered by the ledger's deduplication with the same egress, and has no second effect.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

fn create(request_id: &str) -> Value {
    json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
        {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
        {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_outcomes_are_removed_the_state_file_shrinks_and_a_late_resend_has_no_second_effect()
 {
    let names = Names::new("retention");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        port,
        "  embedded: {}",
        "state: { outcome_retention: 3s, sweep_every: 1s }",
    );
    let state_file = dir.path().join("state").join("outcomes.redb");
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let n = 2000;
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| serde_json::to_vec(&create(&format!("ret-{i}"))).unwrap())
        .collect();
    broker.publish_all(&bodies).await;
    let first = broker.egress(3 * n, Duration::from_secs(120)).await;
    assert_eq!(first.len(), 3 * n, "{}", gw.log_text());
    let first_of_0: Vec<Vec<u8>> = first
        .iter()
        .filter(|c| c.json["requestId"] == "ret-0")
        .map(|c| c.body.clone())
        .collect();
    let full = std::fs::metadata(&state_file).unwrap().len();

    // Within seconds every outcome has expired, been removed, and the file compacted.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut metrics = String::new();
    while Instant::now() < deadline {
        metrics = gw.metrics().await;
        if metric_sum(&metrics, "connector_outcomes_expired_total", &[]) >= n as f64
            && metric_sum(&metrics, "connector_outcomes_kept", &[]) == 0.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        metric_sum(&metrics, "connector_outcomes_expired_total", &[]) >= n as f64,
        "{metrics}\n{}",
        gw.log_text()
    );
    let after = std::fs::metadata(&state_file).unwrap().len();
    assert!(
        after * 2 < full,
        "the state file shrank: {full} → {after} bytes"
    );
    assert!(gw.log_text().contains("expired outcomes removed"));

    // A re-send after expiry: no outcome any more, but the ledger remembers the command.
    let ledger_end = gw.ledger_end().await;
    broker.publish_all(&bodies[..1]).await;
    let again = broker.egress(3, Duration::from_secs(30)).await;
    let again: Vec<Vec<u8>> = again.into_iter().map(|c| c.body).collect();
    assert_eq!(again, first_of_0, "the original egress, byte for byte");
    assert_eq!(gw.ledger_end().await, ledger_end, "no second effect");
    assert!(gw.terminate());
    broker.cleanup().await;
}
