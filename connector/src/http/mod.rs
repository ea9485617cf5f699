//! The HTTP surface: `/healthz` (alive), `/readyz` (broker + ledger connected and consuming), `/metrics`
//! (Prometheus text) and `/status` (JSON: config summary without secrets, connection states, counters, last errors);
//! `/requests` and `/requests/{requestId}` (the run history and the request lookup: `requests.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::health::Health;
use crate::metrics_names;

mod requests;

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    pub health: Arc<Health>,
    pub metrics: PrometheusHandle,
    /// The config summary, computed once (it never holds secrets).
    pub config_summary: Arc<serde_json::Value>,
    /// The ledger, once it is open (for the ledger end in `/status`).
    pub ledger: Arc<OnceLock<Arc<dyn ledger_port::Ledger>>>,
    /// The state store and the requests in flight, once the store is open (`/requests`, see `requests.rs`).
    pub requests: Arc<OnceLock<crate::request_lookup::RequestRecords>>,
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn prometheus_handle() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(metrics_names::PROCESSING_SECONDS.to_owned()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .map_err(|e| e.to_string())?;
            builder.install_recorder().map_err(|e| e.to_string())
        })
        .clone()
}

/// The router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/requests", get(requests::list))
        .route("/requests/{*request_id}", get(requests::show))
        .with_state(state)
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let snapshot = state.health.snapshot();
    let body = json!({
        "ready": snapshot.ready,
        "broker_connected": snapshot.broker_connected,
        "ledger_connected": snapshot.ledger_connected,
        "consuming": snapshot.consuming,
    });
    let code = if snapshot.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn status(State(state): State<HttpState>) -> Response {
    let ledger_end = match state.ledger.get() {
        Some(ledger) => ledger.ledger_end().await.ok(),
        None => None,
    };
    let body = json!({
        "config": *state.config_summary,
        "health": state.health.snapshot(),
        "ledger_end": ledger_end,
    });
    axum::Json(body).into_response()
}

/// Binds the HTTP address (so a taken port fails start-up, not later).
pub async fn bind(listen: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(listen = %addr, "HTTP listening");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
