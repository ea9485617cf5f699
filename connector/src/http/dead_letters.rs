//! `GET /dead-letters` (the dead-letter queue's depth, and with `?limit=N` its first letters, removing nothing) and
//! `POST /dead-letters/replay` (the same walk as `connector dead-letters replay`, see `crate::dead_letters`), which
//! is refused unless `http.admin_token_file` is set and the request carries that token as `Authorization: Bearer`.
//!
//! The desk keeps broker sessions of its own (named `<connection name>-admin`), apart from the gateway's consuming
//! one, so a replay never waits on, or stalls, the processing of requests. One walk of the queue at a time: a list
//! and a replay at once would each see the letters the other holds as missing.

use std::net::SocketAddr;
use std::sync::Arc;

use amqp_transport::{AmqpSession, AmqpSettings};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::HttpState;
use super::admin_token::{AdminTokenFile, bearer_token};
use crate::dead_letters::{ReplayFilter, list_letters, replay_letters, replay_summary};

/// Letters a `GET /dead-letters` lists at most (the CLI lists any number).
pub const MAX_LISTED_LETTERS: usize = 200;
/// Letters a replay's response names one by one; the summary counts them all.
pub const MAX_REPORTED_LETTERS: usize = 1000;
/// Request ids one replay may name.
pub const MAX_REPLAY_REQUEST_IDS: usize = 10_000;
/// How long a depth probe may wait for the broker.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The largest replay request body read.
pub const MAX_REPLAY_BODY_BYTES: usize = 1024 * 1024;

/// What the dead-letter endpoints need.
pub struct DeadLetterDesk {
    settings: AmqpSettings,
    ingress_queue: String,
    dead_letter_queue: String,
    admin_token: Option<AdminTokenFile>,
    /// For the depth (a passive declare), so the page's polling never waits behind a long replay.
    probe: Mutex<Option<AmqpSession>>,
    /// For walks of the queue (list, replay), one at a time.
    walker: Mutex<Option<AmqpSession>>,
}

impl DeadLetterDesk {
    pub fn new(settings: &AmqpSettings, admin_token: Option<AdminTokenFile>) -> Self {
        let mut settings = settings.clone();
        let name = settings.connection_name.as_deref().unwrap_or("connector");
        settings.connection_name = Some(format!("{name}-admin"));
        Self {
            ingress_queue: settings.ingress_queue.clone(),
            dead_letter_queue: settings.dead_letter_queue_name(),
            settings,
            admin_token,
            probe: Mutex::new(None),
            walker: Mutex::new(None),
        }
    }

    /// Whether actions are enabled at all (the page says so rather than offer a button that cannot work).
    pub fn actions_enabled(&self) -> bool {
        self.admin_token.is_some()
    }

    /// The session in `slot`, connecting again when there is none or it broke.
    async fn session<'a>(
        &self,
        slot: &'a mut Option<AmqpSession>,
    ) -> Result<&'a AmqpSession, String> {
        if slot.as_ref().is_none_or(|s| !s.is_connected()) {
            if let Some(old) = slot.take() {
                let _ = old.close().await;
            }
            let session = AmqpSession::connect(&self.settings)
                .await
                .map_err(|e| format!("cannot reach the broker: {e}"))?;
            *slot = Some(session);
        }
        slot.as_ref().ok_or_else(|| "no broker session".to_owned())
    }

    /// Ready letters in the dead-letter queue. Never waits long: the page polls it, and a broker that does not
    /// answer must show as "unknown" at once rather than stack polls behind a hanging connect.
    pub async fn depth(&self) -> Result<u32, String> {
        let Ok(mut slot) = self.probe.try_lock() else {
            return Err("a depth probe is still waiting for the broker".to_owned());
        };
        let probe = async {
            let session = self.session(&mut slot).await?;
            session
                .queue_depth(&self.dead_letter_queue)
                .await
                .map(|(ready, _consumers)| ready)
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(ready)) => Ok(ready),
            Ok(Err(e)) => {
                *slot = None;
                Err(e)
            }
            Err(_) => {
                *slot = None;
                Err(format!(
                    "the broker did not answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                ))
            }
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<String>,
}

/// `GET /dead-letters[?limit=N]`.
pub async fn list(State(state): State<HttpState>, Query(query): Query<ListQuery>) -> Response {
    let desk = &state.dead_letters;
    let limit = match query.limit.as_deref() {
        None => 0,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n <= MAX_LISTED_LETTERS => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "limit: {text:?} is not a number of letters from 0 to {MAX_LISTED_LETTERS} (`connector dead-letters list` lists any number)"
                    ),
                );
            }
        },
    };
    let depth = match desk.depth().await {
        Ok(depth) => depth,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let mut letters = Vec::new();
    if limit > 0 {
        let mut slot = desk.walker.lock().await;
        let listed = match desk.session(&mut slot).await {
            Ok(session) => {
                list_letters(session, Some(limit), |line| {
                    letters.push(line);
                    Ok(())
                })
                .await
            }
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
        };
        if let Err(e) = listed {
            *slot = None;
            return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
    }
    axum::Json(json!({
        "queue": desk.dead_letter_queue,
        "depth": depth,
        "replayEnabled": desk.actions_enabled(),
        "letters": letters,
    }))
    .into_response()
}

/// The body of `POST /dead-letters/replay`: the CLI's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReplayRequest {
    #[serde(default)]
    codes: Vec<u16>,
    #[serde(default)]
    request_ids: Vec<String>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    dry_run: bool,
}

/// Refuses the action unless the admin token is configured and presented; `None` lets it through.
fn refusal(desk: &DeadLetterDesk, headers: &HeaderMap, peer: SocketAddr) -> Option<Response> {
    let Some(token_file) = &desk.admin_token else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "the HTTP surface is read-only: set http.admin_token_file to enable replay (or use `connector dead-letters replay`)",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let unauthorized = |message: &str| {
        tracing::warn!(%peer, reason = message, "refused a dead-letter replay over HTTP");
        let mut response = error(StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        response
    };
    match presented {
        None => Some(unauthorized(
            "replay needs the admin token as `Authorization: Bearer <token>`",
        )),
        Some(token) => match token_file.accepts(token) {
            Ok(true) => None,
            Ok(false) => Some(unauthorized("the admin token does not match")),
            Err(e) => {
                tracing::error!(error = %e, "the admin token file cannot be read; refusing the action");
                Some(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the admin token cannot be checked now (see the gateway's log)",
                ))
            }
        },
    }
}

/// `POST /dead-letters/replay` with a JSON body `{"codes":[5030], "requestIds":[…], "all":false, "dryRun":false}`.
pub async fn replay(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let desk = &state.dead_letters;
    if let Some(refused) = refusal(desk, &headers, peer) {
        return refused;
    }
    let request: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRequest::default()
    } else {
        let deserializer = &mut serde_json::Deserializer::from_slice(&body);
        match serde_path_to_error::deserialize(deserializer) {
            Ok(r) => r,
            Err(e) => {
                let at = e.path().to_string();
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "body at {at}: {}; expected {{\"codes\": [5030], \"requestIds\": [\"…\"], \"all\": false, \"dryRun\": false}}",
                        e.inner()
                    ),
                );
            }
        }
    };
    if request.request_ids.len() > MAX_REPLAY_REQUEST_IDS {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "requestIds: {} given; at most {MAX_REPLAY_REQUEST_IDS} per replay",
                request.request_ids.len()
            ),
        );
    }
    let filter = ReplayFilter {
        codes: request.codes,
        request_ids: request.request_ids,
        all: request.all,
    };
    if filter.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "replay needs \"codes\", \"requestIds\" or \"all\": true (refusing to guess which letters to move)",
        );
    }
    tracing::info!(
        codes = ?filter.codes,
        request_ids = filter.request_ids.len(),
        all = filter.all,
        dry_run = request.dry_run,
        "dead-letter replay requested over HTTP"
    );
    // The walk runs on a task of its own: a client that goes away (a closed tab, a proxy's timeout) must not cut it
    // between a letter's confirm and its removal, and its end is logged whoever is still listening.
    let desk = Arc::clone(desk);
    let walk = tokio::spawn(async move { walk_and_replay(&desk, &filter, request.dry_run).await });
    match walk.await {
        Ok(response) => response,
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the replay's task failed: {e}; see the gateway's log for how far it got"),
        ),
    }
}

/// One replay, holding the walker for its whole length.
async fn walk_and_replay(desk: &DeadLetterDesk, filter: &ReplayFilter, dry_run: bool) -> Response {
    let mut letters: Vec<Value> = Vec::new();
    let mut handed = 0usize;
    let mut slot = desk.walker.lock().await;
    let session = match desk.session(&mut slot).await {
        Ok(session) => session,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let replayed = replay_letters(session, &desk.ingress_queue, filter, dry_run, |line| {
        handed += 1;
        if letters.len() < MAX_REPORTED_LETTERS {
            letters.push(line);
        }
        Ok(())
    })
    .await;
    match replayed {
        Ok(counts) => {
            tracing::info!(
                matched = counts.matched,
                kept = counts.kept,
                dry_run,
                "dead letters replayed over HTTP"
            );
            axum::Json(json!({
                "letters": letters,
                "lettersTruncated": handed > letters.len(),
                "summary": replay_summary(&counts, dry_run, &desk.ingress_queue),
            }))
            .into_response()
        }
        Err(e) => {
            *slot = None;
            tracing::error!(moved = handed, error = %e, "a dead-letter replay over HTTP stopped");
            // What moved before the error stays moved; the response names it.
            (
                StatusCode::BAD_GATEWAY,
                axum::Json(json!({
                    "error": format!("replay stopped after {handed} letter(s): {e}"),
                    "letters": letters,
                })),
            )
                .into_response()
        }
    }
}
