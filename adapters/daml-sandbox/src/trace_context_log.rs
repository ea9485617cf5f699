//! What trace context each call arrived with, for tests: `connector sandbox --record-trace-context FILE` appends one
//! JSON line per call, `{"method":"/com.daml.ledger.api.v2.CommandService/SubmitAndWaitForTransaction",
//! "traceparent":"00-…","tracestate":null}`, so a test can show that a client's `traceparent` reached the
//! participant. A Canton participant simply receives this metadata; the sandbox only writes down what it received.
//!
//! Every call also runs in a `ledger_api_call` span (debug level) naming the method and its `traceparent`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tonic::codegen::http;

/// The file calls are recorded in.
#[derive(Debug, Clone)]
pub struct TraceContextLog {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl TraceContextLog {
    /// Opens (creates, or appends to) the record.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Appends the line for one call; a failed write is logged, never fails the call.
    fn record(&self, method: &str, traceparent: Option<&str>, tracestate: Option<&str>) {
        let line = serde_json::json!({
            "method": method,
            "traceparent": traceparent,
            "tracestate": tracestate,
        });
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = writeln!(file, "{line}") {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot record a call's trace context");
        }
    }
}

/// The span a call is served in, recording its trace context first when a record is kept. Metadata that is not
/// text is shown as absent.
pub fn call_span(log: Option<&TraceContextLog>, request: &http::Request<()>) -> tracing::Span {
    let text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let method = request.uri().path();
    let traceparent = text("traceparent");
    if let Some(log) = log {
        log.record(method, traceparent, text("tracestate"));
    }
    tracing::debug_span!(
        "ledger_api_call",
        method,
        traceparent = traceparent.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_is_one_json_line_with_what_it_carried() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trace-context.jsonl");
        let log = TraceContextLog::open(&path).expect("open");
        let with = http::Request::builder()
            .uri("/com.daml.ledger.api.v2.CommandService/SubmitAndWaitForTransaction")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .header("tracestate", "k=\"v\"")
            .body(())
            .expect("request");
        let without = http::Request::builder()
            .uri("/com.daml.ledger.api.v2.StateService/GetLedgerEnd")
            .body(())
            .expect("request");
        call_span(Some(&log), &with);
        call_span(Some(&log), &without);
        call_span(None, &with);
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0]["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(lines[0]["tracestate"], "k=\"v\"");
        assert_eq!(
            lines[1]["method"],
            "/com.daml.ledger.api.v2.StateService/GetLedgerEnd"
        );
        assert!(lines[1]["traceparent"].is_null());
    }
}
