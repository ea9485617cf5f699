//! The HTTP surface: `/healthz` (alive), `/readyz` (broker + ledger connected and consuming), `/metrics`
//! (Prometheus text), `/status` (JSON: config summary without secrets, connection states, counters, last errors),
//! `/requests` and `/requests/{requestId}` (the run history and the request lookup: `requests.rs`), the dead-letter
//! desk (`dead_letters.rs`), and the operator page (`page.rs`, with the lookup as a page in `lookup_page.rs`).

pub mod activity;
pub mod admin_token;
pub mod dead_letters;
mod lookup_page;
mod metric_totals;
pub mod overview;
pub mod page;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
    /// The dead-letter queue's depth, list and replay.
    pub dead_letters: Arc<dead_letters::DeadLetterDesk>,
    /// The operator page's chart, sampled while the HTTP surface serves.
    pub activity: Arc<activity::ActivityLog>,
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
        .route("/", get(page::index))
        .route("/page/app.js", get(page::script))
        .route("/page/style.css", get(page::style))
        .route("/overview", get(overview::overview))
        .route("/lookup", get(lookup_page::lookup))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/dead-letters", get(dead_letters::list))
        .route(
            "/dead-letters/replay",
            post(dead_letters::replay)
                .layer(DefaultBodyLimit::max(dead_letters::MAX_REPLAY_BODY_BYTES)),
        )
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
    let activity = Arc::clone(&state.activity);
    let metrics = state.metrics.clone();
    let sampler = tokio::spawn(async move { activity.keep_sampling(metrics).await });
    // The peer's address reaches the handlers, so a refused action can be logged with where it came from.
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sampler.abort();
    served
}
