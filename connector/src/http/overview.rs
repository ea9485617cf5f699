//! `GET /overview`: everything the operator page shows in one JSON document — readiness and why not, connections,
//! ledger end, observer lag, the activity windows, failures by error code, the last errors and the dead-letter
//! depth. Never holds a secret: it is built from health, metrics and queue depth only.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;
use super::metric_totals::{gauge, totals_by_label};
use crate::metrics_names;

/// How long the overview waits for the ledger's end.
const LEDGER_END_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a gateway that is not ready is not, in the words the page shows.
fn not_ready_because(snapshot: &crate::health::HealthSnapshot) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    if !snapshot.broker_connected {
        reasons.push("the broker is not connected");
    }
    if !snapshot.ledger_connected {
        reasons.push("the ledger is not connected");
    }
    if !snapshot.state_store_available {
        reasons.push("the state store (PostgreSQL) does not answer");
    }
    if !snapshot.consuming {
        reasons.push("the ingress queue is not being consumed");
    }
    reasons
}

pub async fn overview(State(state): State<HttpState>) -> Response {
    let snapshot = state.health.snapshot();
    // A ledger that does not answer shows as an unknown end at once; the page polls every two seconds.
    let ledger_end = match state.ledger.get() {
        Some(ledger) => tokio::time::timeout(LEDGER_END_TIMEOUT, ledger.ledger_end())
            .await
            .ok()
            .and_then(Result::ok),
        None => None,
    };
    let metrics_text = state.metrics.render();
    let failures_by_code: serde_json::Map<String, serde_json::Value> =
        totals_by_label(&metrics_text, metrics_names::FAILURES, "code")
            .into_iter()
            .map(|(code, n)| (code, json!(n as u64)))
            .collect();
    let dead_letters = match state.dead_letters.depth().await {
        Ok(depth) => json!({
            "depth": depth,
            "replayEnabled": state.dead_letters.actions_enabled(),
        }),
        Err(e) => json!({
            "depth": null,
            "replayEnabled": state.dead_letters.actions_enabled(),
            "error": e,
        }),
    };
    axum::Json(json!({
        "ready": snapshot.ready,
        "notReadyBecause": not_ready_because(&snapshot),
        "brokerConnected": snapshot.broker_connected,
        "ledgerConnected": snapshot.ledger_connected,
        "consuming": snapshot.consuming,
        "stateStoreAvailable": snapshot.state_store_available,
        "ledgerEnd": ledger_end,
        "observerLag": gauge(&metrics_text, metrics_names::OBSERVER_LAG).map(|lag| lag as i64),
        "activity": state.activity.windows_until(&metrics_text, crate::outcome_store::now_ms()),
        "failuresByCode": failures_by_code,
        "lastErrors": snapshot.last_errors,
        "deadLetters": dead_letters,
    }))
    .into_response()
}
