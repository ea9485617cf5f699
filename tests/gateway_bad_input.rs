//! Guarantee 4, bad input never blocks or crashes, end to end (`connector run` against the real RabbitMQ on
//! 127.0.0.1:5672): malformed messages get Failures (correlated when their requestId can be read), their originals
//! are dead-lettered unchanged, and the requests after them are processed. Each test runs on both ledgers
//! (`embedded::…`, `daml::…`). The adversarial corpus is in `tests/hostile_input.rs`.

mod support;

use std::time::Duration;

use support::example_requests::create;
use support::gateway_harness::{Harness, IN_MEMORY, on_every_ledger};
use support::*;

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

on_every_ledger!(malformed_messages_get_failures_and_are_dead_lettered,);
