//! The lookup and history documents over the in-memory store: each state, the keys present for it, hostile ids.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::outcome_store::{MemoryOutcomeStore, RequestHistory, RequestOutcome};

fn egress(id: &str, body: &[u8]) -> Vec<EncodedEgress> {
    vec![EncodedEgress {
        routing_key: "CreateContractUpdate".into(),
        message_id: format!("m-{id}"),
        request_id: Some(id.into()),
        body: body.to_vec(),
    }]
}

fn entry(id: &str, outcome: RequestOutcome, code: Option<u16>, dead: bool) -> HistoryEntry {
    HistoryEntry {
        request_id: id.into(),
        message_name: Some("CreateContractRequest".into()),
        workflow: Some("RefrigeratedTransportation".into()),
        function: None,
        outcome,
        error_code: code,
        dead_lettered: dead,
        processed_at_ms: 1_796_013_563_123,
        latency_ms: Some(12),
    }
}

fn records() -> (Arc<MemoryOutcomeStore>, RequestRecords, InFlightRequests) {
    let store = Arc::new(MemoryOutcomeStore::new());
    let in_flight = InFlightRequests::new();
    let records = RequestRecords {
        store: store.clone(),
        in_flight: Some(in_flight.clone()),
    };
    (store, records, in_flight)
}

#[test]
fn every_state_has_its_keys() {
    let (store, records, in_flight) = records();
    let unknown = records.lookup("nobody").unwrap();
    assert_eq!(
        unknown,
        json!({"requestId": "nobody", "state": "unknown", "egress": []})
    );

    let failure =
        br#"{"requestId":"f","status":"Failure","additionalInformation":{"errorCode":4090}}"#;
    store.put("f", &egress("f", failure)).unwrap();
    store
        .record_history(vec![entry("f", RequestOutcome::Failure, Some(4090), false)])
        .unwrap();
    let done = records.lookup("f").unwrap();
    assert_eq!(done["state"], "done");
    assert_eq!(done["outcome"], "Failure");
    assert_eq!(done["errorCode"], 4090);
    assert_eq!(done["processedAtUnixMs"], 1_796_013_563_123u64);
    assert_eq!(done["processedAt"], "2026-11-30T04:39:23.123Z");
    assert_eq!(done["latencyMs"], 12);
    assert_eq!(done["workflow"], "RefrigeratedTransportation");
    assert!(done.get("function").is_none(), "unknown keys are left out");
    assert_eq!(
        done["egress"][0]["body"]["additionalInformation"]["errorCode"],
        4090
    );
    assert_eq!(done["egress"][0]["routingKey"], "CreateContractUpdate");

    store.put("ok", &egress("ok", b"not json")).unwrap();
    let committed = records.lookup("ok").unwrap();
    assert_eq!(committed["outcome"], "Committed");
    assert!(committed.get("errorCode").is_none());
    assert_eq!(
        committed["egress"][0]["body"], "not json",
        "a body that is not JSON is a string"
    );
    assert!(
        committed["processedAtUnixMs"].is_u64(),
        "from the outcome's own record"
    );

    store
        .record_history(vec![entry("dl", RequestOutcome::Failure, Some(5030), true)])
        .unwrap();
    let dead = records.lookup("dl").unwrap();
    assert_eq!(dead["state"], "dead_lettered");
    assert_eq!(dead["errorCode"], 5030);
    assert_eq!(dead["egress"], json!([]));

    let held = in_flight.enter("dl");
    assert_eq!(
        records.lookup("dl").unwrap()["state"],
        "in_flight",
        "a re-send in flight"
    );
    assert!(records.lookup("dl").unwrap().get("outcome").is_none());
    drop(held);

    store.put("dl", &egress("dl", b"{}")).unwrap();
    assert_eq!(
        records.lookup("dl").unwrap()["state"],
        "done",
        "a later success makes a dead-lettered request done"
    );
}

#[test]
fn hostile_request_ids_come_back_escaped_and_whole() {
    let (store, records, _) = records();
    let id = "a/b%2F\u{0}\n\"\u{202e}é".repeat(10);
    store
        .record_history(vec![entry(&id, RequestOutcome::Failure, Some(4000), true)])
        .unwrap();
    let doc = records.lookup(&id).unwrap();
    let text = doc.to_string();
    assert!(!text.contains('\n') && !text.contains('\u{0}'), "{text}");
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["requestId"], id.as_str());
    assert_eq!(back["state"], "dead_lettered");
}

#[test]
fn the_history_lists_newest_first_with_every_key() {
    let (store, records, _) = records();
    let mut older = entry("older", RequestOutcome::Committed, None, false);
    older.processed_at_ms -= 1000;
    store
        .record_history(vec![
            older,
            entry("newer", RequestOutcome::Failure, Some(4090), false),
        ])
        .unwrap();
    let doc = records.history(&HistoryQuery::default()).unwrap();
    let ids: Vec<&str> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["requestId"].as_str())
        .collect();
    assert_eq!(ids, ["newer", "older"]);
    assert_eq!(doc["limit"], 50);
    assert_eq!(doc["truncated"], false);
    let line = &doc["requests"][1];
    for key in [
        "requestId",
        "messageName",
        "workflow",
        "function",
        "outcome",
        "errorCode",
        "deadLettered",
        "processedAtUnixMs",
        "processedAt",
        "latencyMs",
    ] {
        assert!(line.get(key).is_some(), "{key} missing from {line}");
    }
    assert_eq!(line["errorCode"], Value::Null);
}
