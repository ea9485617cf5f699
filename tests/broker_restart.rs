//! The broker itself restarts under load (`rabbitmqctl stop_app` / `start_app`): nothing is lost, nothing takes
//! effect twice. This stops the shared broker, so it is the only test in its binary (cargo runs test binaries one
//! after another) and it restarts the broker before it asserts anything.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn rabbitmqctl(args: &[&str]) -> bool {
    Command::new("rabbitmqctl")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn create(id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"messageName":"CreateContractRequest","requestId":id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},{"name":"supplyChainObserver","value":"Auditor"},
        {"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},{"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],
        "messageSchemaVersion":"1.0.0"}))
    .unwrap()
}

fn terminal_ids(got: &[Captured]) -> BTreeSet<String> {
    got.iter()
        .filter(|c| {
            c.routing_key == "ContractMessage"
                || c.json.get("status").and_then(Value::as_str) == Some("Failure")
        })
        .filter_map(|c| c.json.get("requestId")?.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_under_load_loses_nothing_and_duplicates_no_effect() {
    let names = Names::new("brokerrestart");
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let journal = dir.path().join("ledger.log");
    let config = example_config(
        &names,
        dir.path(),
        AMQP_URL,
        http_port,
        &format!("  embedded: {{ journal: {} }}", journal.display()),
        "",
    );
    let n = 1500;
    let broker = Broker::connect(&names).await;
    let mut gw = Gateway::start(&config, http_port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| create(&format!("br-{i}"))).collect();
    broker.publish_all(&bodies).await;
    let before = broker
        .collect_until(&names.capture_queue, Duration::from_secs(60), |g| {
            terminal_ids(g).len() >= 150
        })
        .await;
    drop(broker);

    assert!(rabbitmqctl(&["stop_app"]), "stop_app");
    let mut unready = false;
    for _ in 0..50 {
        if let Some((503, _)) = http_get(http_port, "/readyz").await {
            unready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted = rabbitmqctl(&["start_app"]) && rabbitmqctl(&["await_startup"]);
    assert!(restarted, "the broker must come back for the other tests");
    assert!(unready, "/readyz reports the outage");

    let broker = Broker::connect(&names).await;
    let mut done = terminal_ids(&before);
    let after = broker
        .collect_until(&names.capture_queue, Duration::from_secs(180), |g| {
            let mut all = done.clone();
            all.extend(terminal_ids(g));
            all.len() >= n
        })
        .await;
    done.extend(terminal_ids(&after));
    assert_eq!(
        done.len(),
        n,
        "every request has its outcome; log:\n{}",
        gw.log_text()
    );
    assert!(gw.wait_ready(Duration::from_secs(30)).await);
    assert_eq!(
        gw.ledger_end().await,
        n as i64,
        "exactly one ledger effect per request"
    );
    println!(
        "{}",
        json!({"test": "broker_restart", "requests": n, "outcomes": done.len(), "before_restart": terminal_ids(&before).len()})
    );
    assert!(gw.terminate());
    broker.cleanup().await;
}
