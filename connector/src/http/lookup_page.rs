//! `GET /lookup?requestId=…`: a request's lookup (the same document as `GET /requests/{requestId}`) rendered by the
//! gateway as a page, so the operator page's lookup form works with scripts switched off. Everything shown is
//! HTML-escaped: a requestId, a workflow name and every egress body came from a sender.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::HttpState;
use super::page::page_response;

/// `&`, `<`, `>`, `"` and `'` as entities: safe in element text and in quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page around `body`, with the same style sheet and lookup form as the operator page and no script.
fn page(title: &str, request_id: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/page/style.css">
</head>
<body>
<header><h1><a href="/">Connector gateway</a></h1></header>
<main>
<section aria-labelledby="lookup-title">
<h2 id="lookup-title">Find a request</h2>
<form action="/lookup" method="get" class="inline">
<label for="lookup-request-id">Request id</label>
<input id="lookup-request-id" name="requestId" required maxlength="4096" autocomplete="off" value="{request_id}">
<button type="submit">Look up</button>
</form>
</section>
{body}
</main>
</body>
</html>
"#,
        title = escape_html(title),
        request_id = escape_html(request_id),
    )
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The lookup document as a definition list and the egress messages as published.
fn render(document: &Value) -> String {
    let field = |key: &str| document.get(key).filter(|v| !v.is_null()).map(text_of);
    let mut rows = String::new();
    for (label, key, id) in [
        ("Request id", "requestId", "lookup-request"),
        ("State", "state", "lookup-state"),
        ("Outcome", "outcome", "lookup-outcome"),
        ("Error code", "errorCode", "lookup-error-code"),
        ("Processed", "processedAt", "lookup-processed-at"),
        ("Message", "messageName", "lookup-message-name"),
        ("Workflow", "workflow", "lookup-workflow"),
        ("Function", "function", "lookup-function"),
        ("Latency (ms)", "latencyMs", "lookup-latency"),
    ] {
        if let Some(value) = field(key) {
            rows.push_str(&format!(
                "<dt>{label}</dt><dd id=\"{id}\">{}</dd>\n",
                escape_html(&value)
            ));
        }
    }
    let mut egress = String::new();
    let messages = document
        .get("egress")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for message in messages {
        let body = match message.get("body") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string())
            }
            None => String::new(),
        };
        egress.push_str(&format!(
            "<h3>{} <small>message id {}</small></h3>\n<pre>{}</pre>\n",
            escape_html(&message.get("routingKey").map(text_of).unwrap_or_default()),
            escape_html(&message.get("messageId").map(text_of).unwrap_or_default()),
            escape_html(&body),
        ));
    }
    if messages.is_empty() {
        egress.push_str("<p>No egress recorded for this request.</p>\n");
    }
    format!(
        "<section aria-labelledby=\"result-title\">\n<h2 id=\"result-title\">The request</h2>\n<dl class=\"grid\">\n{rows}</dl>\n\
         <h2>Egress messages as published</h2>\n{egress}</section>"
    )
}

/// `GET /lookup?requestId=…`.
pub async fn lookup(State(state): State<HttpState>, uri: Uri) -> Response {
    let request_id = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .ok()
        .and_then(|Query(params)| {
            params
                .into_iter()
                .find(|(name, _)| name == "requestId")
                .map(|(_, value)| value)
        })
        .filter(|id| !id.is_empty());
    let Some(request_id) = request_id else {
        let body = page(
            "Find a request",
            "",
            "<p role=\"alert\">requestId: give the request id to look up (<code>/lookup?requestId=…</code>, percent-encoded).</p>",
        );
        return (
            StatusCode::BAD_REQUEST,
            page_response("text/html; charset=utf-8", body),
        )
            .into_response();
    };
    let Some(records) = state.requests.get().cloned() else {
        let body = page(
            "Find a request",
            &request_id,
            "<p role=\"alert\">The state store is not open yet; try again in a moment.</p>",
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            page_response("text/html; charset=utf-8", body),
        )
            .into_response();
    };
    let id = request_id.clone();
    let (status, body) = match tokio::task::spawn_blocking(move || records.lookup(&id)).await {
        Ok(Ok(document)) => (StatusCode::OK, render(&document)),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("<p role=\"alert\">{}</p>", escape_html(&e.to_string())),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "<p role=\"alert\">the state store read failed: {}</p>",
                escape_html(&e.to_string())
            ),
        ),
    };
    let html = page(&format!("Request {request_id}"), &request_id, &body);
    (status, page_response("text/html; charset=utf-8", html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_a_sender_wrote_is_escaped() {
        assert_eq!(
            escape_html(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        let document = serde_json::json!({
            "requestId": "<b>id</b>",
            "state": "done",
            "workflow": "<img src=x onerror=alert(1)>",
            "egress": [{"routingKey": "<k>", "messageId": "\"m\"", "body": {"x": "</pre><script>"}}],
        });
        let html = render(&document);
        assert!(
            !html.contains("<b>") && !html.contains("<img") && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains(r#"<dd id="lookup-state">done</dd>"#),
            "{html}"
        );
    }
}
