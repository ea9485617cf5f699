//! "What happened to request X?": the request lookup and the run history as the JSON documents `GET /requests/…`,
//! `GET /requests?…` and `connector requests show|list` answer with, read from the state store (outcomes and run
//! history) and, in a running gateway, the registry of requests in flight.
//!
//! A lookup's state: `done` when an outcome is recorded (the outcome and error code are read from its egress, the
//! source of truth); otherwise `in_flight` while a delivery of it is unsettled; otherwise `dead_lettered` when the
//! history says its last processing dead-lettered it; otherwise `unknown`.

mod query;
mod unix_time;

pub use query::{
    CODE_EXPECTED, ParamError, SINCE_EXPECTED, STATUS_EXPECTED, limit_expected, parse_code,
    parse_limit, parse_since, parse_status, query_from_params,
};
pub use unix_time::{parse_unix_ms_or_rfc3339, rfc3339_ms};

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::encoded_egress::EncodedEgress;
use crate::gateway::InFlightRequests;
use crate::outcome_store::{HistoryEntry, HistoryQuery, OutcomeStore, StoreError};

/// What the lookup reads.
#[derive(Clone)]
pub struct RequestRecords {
    pub store: Arc<dyn OutcomeStore>,
    /// The requests in flight, in a running gateway (a store opened by the CLI has none).
    pub in_flight: Option<InFlightRequests>,
}

impl RequestRecords {
    /// The lookup document of one requestId.
    pub fn lookup(&self, request_id: &str) -> Result<Value, StoreError> {
        // In flight is asked first: a request settled between the reads is then found by the store reads that
        // follow, whereas asked last it could have left the registry after the store was read, and show as unknown.
        let in_flight = self
            .in_flight
            .as_ref()
            .is_some_and(|registry| registry.contains(request_id));
        let recorded = self.store.recorded(request_id)?;
        let entry = self.store.history_entry(request_id)?;
        // What the document says besides the state; filled in by the state's rule.
        let mut outcome: Option<&str> = None;
        let mut error_code: Option<u64> = None;
        let mut processed_at: Option<u64> = None;
        let mut latency: Option<u64> = None;
        let mut egress = Vec::new();
        let state = if let Some(record) = &recorded {
            let (result, code) = outcome_of(&record.egress);
            (outcome, error_code) = (Some(result), code);
            // An entry of a later dead-lettering (a re-send poisoned before it was answered) does not describe the
            // recorded outcome; its names still do.
            let describing = entry.as_ref().filter(|e| !e.dead_lettered);
            processed_at = describing
                .map(|e| e.processed_at_ms)
                .or(record.recorded_at_ms);
            latency = describing.and_then(|e| e.latency_ms);
            egress = record.egress.iter().map(egress_json).collect();
            "done"
        } else if in_flight {
            "in_flight"
        } else if let Some(dead) = entry.as_ref().filter(|e| e.dead_lettered) {
            outcome = Some(dead.outcome.as_str());
            error_code = dead.error_code.map(u64::from);
            processed_at = Some(dead.processed_at_ms);
            latency = dead.latency_ms;
            "dead_lettered"
        } else {
            "unknown"
        };
        let names = entry.as_ref().filter(|_| state != "unknown");
        let mut doc = Map::new();
        doc.insert("requestId".into(), json!(request_id));
        doc.insert("state".into(), json!(state));
        insert_some(&mut doc, "outcome", outcome);
        insert_some(&mut doc, "errorCode", error_code);
        insert_some(&mut doc, "processedAtUnixMs", processed_at);
        insert_some(&mut doc, "processedAt", processed_at.map(rfc3339_ms));
        insert_some(
            &mut doc,
            "messageName",
            names.and_then(|e| e.message_name.as_deref()),
        );
        insert_some(
            &mut doc,
            "workflow",
            names.and_then(|e| e.workflow.as_deref()),
        );
        insert_some(
            &mut doc,
            "function",
            names.and_then(|e| e.function.as_deref()),
        );
        insert_some(&mut doc, "latencyMs", latency);
        doc.insert("egress".into(), Value::Array(egress));
        Ok(Value::Object(doc))
    }

    /// The run history document of a query.
    pub fn history(&self, query: &HistoryQuery) -> Result<Value, StoreError> {
        let page = self.store.recent_history(query)?;
        Ok(json!({
            "requests": page.entries.iter().map(history_line).collect::<Vec<_>>(),
            "limit": query.limit,
            "truncated": page.truncated,
        }))
    }
}

/// One run-history entry as a line of the listing: every key present, `null` when unknown.
pub fn history_line(entry: &HistoryEntry) -> Value {
    json!({
        "requestId": entry.request_id,
        "messageName": entry.message_name,
        "workflow": entry.workflow,
        "function": entry.function,
        "outcome": entry.outcome.as_str(),
        "errorCode": entry.error_code,
        "deadLettered": entry.dead_lettered,
        "processedAtUnixMs": entry.processed_at_ms,
        "processedAt": rfc3339_ms(entry.processed_at_ms),
        "latencyMs": entry.latency_ms,
    })
}

/// Adds a key only when its value is known (the lookup leaves out what it does not know).
fn insert_some(doc: &mut Map<String, Value>, key: &str, value: Option<impl serde::Serialize>) {
    if let Some(value) = value {
        doc.insert(key.to_owned(), json!(value));
    }
}

/// A recorded outcome's result: `Failure` with its code when one of its messages is a Failure, else `Committed`.
fn outcome_of(egress: &[EncodedEgress]) -> (&'static str, Option<u64>) {
    for message in egress {
        let Ok(body) = serde_json::from_slice::<Value>(&message.body) else {
            continue;
        };
        if body.get("status").and_then(Value::as_str) == Some("Failure") {
            let code = body
                .get("additionalInformation")
                .and_then(|info| info.get("errorCode"))
                .and_then(Value::as_u64);
            return ("Failure", code);
        }
    }
    ("Committed", None)
}

/// One egress message as the lookup shows it: the body as JSON, or as text when it is not JSON.
fn egress_json(message: &EncodedEgress) -> Value {
    let body = serde_json::from_slice::<Value>(&message.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&message.body).into_owned()));
    json!({
        "routingKey": message.routing_key,
        "messageId": message.message_id,
        "body": body,
    })
}

#[cfg(test)]
mod tests;
