//! Guarantee 3, order, end to end (`connector run` against the real RabbitMQ on 127.0.0.1:5672): under `strict`
//! ordering 2,000 mixed requests are answered in queue order, and under `per-contract` ordering each contract's
//! requests are answered in their queue order, no action before its create. Each test runs on both ledgers
//! (`embedded::…`, `daml::…`).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use support::example_requests::{
    bodies, create, linear_id, read, request_id, telemetry, terminal_count,
};
use support::gateway_harness::{Harness, IN_MEMORY, on_every_ledger};
use support::*;

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

on_every_ledger!(
    two_thousand_mixed_requests_keep_queue_order,
    per_contract_ordering_keeps_each_contracts_order,
);
