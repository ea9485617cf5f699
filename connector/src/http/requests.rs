//! `GET /requests/{requestId}` (the request lookup: 200 with a JSON document for any requestId, known or not) and
//! `GET /requests?status=…&code=…&since=…&limit=…` (the run history, newest first; a bad parameter is a 400 naming
//! it). The documents are `request_lookup`'s; here they are served, off the async workers since the state store's
//! reads may touch the disk.
//!
//! The requestId is the rest of the path, percent-decoded, so one holding `/` is found whether the client encodes it
//! (`%2F`) or not. A path that does not decode to UTF-8 is a 400, never a panic.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::HttpState;
use crate::request_lookup::{RequestRecords, query_from_params};

/// `GET /requests/{requestId}`.
pub async fn show(
    State(state): State<HttpState>,
    request_id: Result<Path<String>, PathRejection>,
) -> Response {
    let request_id = match request_id {
        Ok(Path(id)) => id,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({
                    "error": format!("the requestId in the path cannot be read: {rejection}"),
                    "parameter": "requestId",
                    "expected": "a percent-encoded UTF-8 requestId",
                }),
            );
        }
    };
    answer(state, move |records| records.lookup(&request_id)).await
}

/// `GET /requests?…`.
pub async fn list(State(state): State<HttpState>, uri: Uri) -> Response {
    let params = match Query::<Vec<(String, String)>>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({
                    "error": format!("the query cannot be read: {rejection}"),
                    "expected": "status, code, since and limit as percent-encoded UTF-8",
                }),
            );
        }
    };
    let query = match query_from_params(&params) {
        Ok(query) => query,
        Err(refused) => return error(StatusCode::BAD_REQUEST, refused.to_json()),
    };
    answer(state, move |records| records.history(&query)).await
}

/// Runs a read of the state store on a blocking thread and answers with its document.
async fn answer(
    state: HttpState,
    read: impl FnOnce(&RequestRecords) -> Result<Value, crate::outcome_store::StoreError>
    + Send
    + 'static,
) -> Response {
    let Some(records) = state.requests.get().cloned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "the state store is not open yet; try again in a moment"}),
        );
    };
    match tokio::task::spawn_blocking(move || read(&records)).await {
        Ok(Ok(document)) => axum::Json(document).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": format!("the state store read failed: {e}")}),
        ),
    }
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}
