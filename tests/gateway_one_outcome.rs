//! Guarantee 1, one outcome per request, end to end (`connector run` against the real RabbitMQ on 127.0.0.1:5672):
//! the example's requests each get their egress, the same as `connector process` gives offline, with ids derived as
//! the spec says, and every delivery acked; a SIGTERM drains what was delivered and acks it, so nothing is
//! redelivered after a clean stop. Each test runs on both ledgers (`embedded::…`, `daml::…`).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::example_requests::{bodies, create, request_id};
use support::gateway_harness::{Harness, IN_MEMORY, on_every_ledger};
use support::*;

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

on_every_ledger!(
    example_runs_end_to_end_in_order_with_correct_ids,
    sigterm_drains_and_nothing_is_redelivered_after_a_clean_stop,
);
