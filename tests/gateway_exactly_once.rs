//! Guarantee 2, exactly one ledger effect per requestId, end to end (`connector run` against the real RabbitMQ on
//! 127.0.0.1:5672): a request delivered twice, a gateway killed with unacked deliveries, and broker connections
//! closed under load each leave one ledger effect per request and lose none. Each test runs on both ledgers
//! (`embedded::…`, `daml::…`).

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;
use support::example_requests::{bodies, create, is_terminal, request_id, terminal_count};
use support::gateway_harness::{Harness, on_every_ledger};
use support::*;

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

on_every_ledger!(
    redelivered_requests_have_one_ledger_effect_and_identical_egress,
    forcibly_closed_broker_connections_lose_nothing_and_duplicate_nothing,
);
