//! `connector requests show|list`: the request lookup and the run history from the command line, the same documents
//! `GET /requests/{requestId}` and `GET /requests?…` serve.
//!
//! redb lets one process at a time open the state store, and a running gateway holds it, so the gateway is asked
//! first, over `http.listen` from the config (`gateway_http.rs`). Only when nothing listens there is the state store
//! opened directly, and only read (with no gateway, nothing is in flight). Which one answered is said on stderr.

mod gateway_http;

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::config::Config;
use crate::outcome_store::{
    HistoryQuery, StateLocation, StatusFilter, open_state_store, state_location,
};
use crate::request_lookup::RequestRecords;
use gateway_http::{GatewayAnswer, connect_address, get_json, percent_encode};

/// Prints the lookup document of `request_id` as one JSON line.
pub async fn show_request(
    config: &Path,
    request_id: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let path = format!("/requests/{}", percent_encode(request_id));
    let request_id = request_id.to_owned();
    let document = ask(config, &path, move |records| {
        Ok(records.lookup(&request_id)?)
    })
    .await?;
    writeln!(out, "{document}")?;
    Ok(())
}

/// Prints the run history matching `query`, one JSON line per entry, newest first; says on stderr when more
/// entries matched than the limit let through.
pub async fn list_requests(
    config: &Path,
    query: &HistoryQuery,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut params = vec![format!("limit={}", query.limit)];
    if let Some(status) = query.status {
        params.push(format!(
            "status={}",
            match status {
                StatusFilter::Committed => "committed",
                StatusFilter::Failure => "failure",
            }
        ));
    }
    if let Some(code) = query.code {
        params.push(format!("code={code}"));
    }
    if let Some(since) = query.since_ms {
        params.push(format!("since={since}"));
    }
    let path = format!("/requests?{}", params.join("&"));
    let asked = query.clone();
    let document = ask(config, &path, move |records| Ok(records.history(&asked)?)).await?;
    let Some(entries) = document.get("requests").and_then(Value::as_array) else {
        anyhow::bail!("the answer has no \"requests\" list: {document}");
    };
    for entry in entries {
        writeln!(out, "{entry}")?;
    }
    if document.get("truncated") == Some(&Value::Bool(true)) {
        eprintln!(
            "more requests match than --limit {} lets through; raise it (at most {}) or narrow --since",
            query.limit,
            crate::outcome_store::MAX_LIST_LIMIT
        );
    }
    Ok(())
}

/// The document at `path` from the running gateway, or, when nothing listens on `http.listen`, `read` from the
/// state store opened here.
async fn ask(
    config_path: &Path,
    path: &str,
    read: impl FnOnce(&RequestRecords) -> anyhow::Result<Value> + Send + 'static,
) -> anyhow::Result<Value> {
    let config = Config::load(config_path)?;
    let address = connect_address(config.http.listen);
    match get_json(address, path).await? {
        GatewayAnswer::Answered(200, document) => {
            eprintln!("answered by the running gateway at http://{address}");
            Ok(document)
        }
        GatewayAnswer::Answered(status, body) => {
            let reason = body
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| body.to_string());
            anyhow::bail!("the gateway at http://{address} answered {status}: {reason}")
        }
        GatewayAnswer::NotListening => {
            let location = state_location(&config);
            match &location {
                StateLocation::Memory => anyhow::bail!(
                    "nothing listens on http.listen ({address}), and this config keeps the gateway's state in \
                     memory (ledger.embedded.in_memory), so only a running gateway can answer"
                ),
                StateLocation::Redb(file) if !file.exists() => anyhow::bail!(
                    "nothing listens on http.listen ({address}), and there is no state store at {} (has a gateway \
                     run with this state_dir?)",
                    file.display()
                ),
                _ => {}
            }
            eprintln!(
                "no gateway listens at http://{address}; reading the state store ({location}) directly"
            );
            tokio::task::spawn_blocking(move || {
                let (store, _) = open_state_store(&config).with_context(|| {
                    format!(
                        "cannot open the state store ({location}) (a gateway holding it would answer on \
                         http.listen; is one running with another http.listen?)"
                    )
                })?;
                read(&RequestRecords {
                    store,
                    in_flight: None,
                })
            })
            .await
            .context("the state store read failed")?
        }
    }
}
