//! Guarantee 5, transient faults lose nothing, end to end (`connector run` against the real RabbitMQ on
//! 127.0.0.1:5672): transient ledger faults are retried in place and, once the retries are exhausted, dead-lettered
//! with 5030 without breaking the order; a broker cut off by a proxy makes the gateway unready until it is back, and
//! the metrics count what was sent (and `/status` shows no password). Each test runs on both ledgers
//! (`embedded::…`, `daml::…`).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::example_requests::{
    action, bodies, create, is_terminal, linear_id, read, request_id, terminal_count,
};
use support::gateway_harness::{Harness, IN_MEMORY, on_every_ledger};
use support::*;

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

on_every_ledger!(
    transient_faults_are_retried_and_exhaustion_is_dead_lettered_in_order,
    readiness_follows_the_broker_and_metrics_count_what_was_sent,
);
