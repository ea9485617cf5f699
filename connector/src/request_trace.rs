//! The trace one delivery is processed in: joined to the sender's `traceparent` when its message carried a valid
//! one, else a new trace. The delivery's span is the gateway's own span in that trace; its id is the parent the
//! gateway names on every egress message of the delivery (`traceparent`, `tracestate` headers) and on the ledger
//! calls made for it (gRPC metadata, through `ledger_port::with_trace_headers`).
//!
//! With span export on (`telemetry.rs`) the ids are the exported spans' own, so a collector sees the sender's span,
//! the gateway's delivery span with its ledger-call and publishing children, and the ledger's spans in one trace.
//! Without it the gateway draws the ids itself: the same headers, nothing recorded.

use std::collections::BTreeMap;

use ledger_port::TraceHeaders;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::trace_context::{SAMPLED, TraceContext};

/// The ingress header holding the sender's trace context (and the egress header naming the gateway's).
pub const TRACEPARENT: &str = "traceparent";
/// The vendors' trace state beside it.
pub const TRACESTATE: &str = "tracestate";

/// One delivery's place in its trace: the trace id, the gateway's span id as the parent of whatever it sends on, the
/// flags, and the sender's validated `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTrace {
    context: TraceContext,
}

impl RequestTrace {
    /// Joins `span`, the delivery's span (not yet entered), to the trace its message's headers name, or to a new
    /// one; records the trace id on the span (`trace_id`), so every log line of the delivery carries it.
    pub fn begin(headers: &BTreeMap<String, String>, span: &tracing::Span) -> Self {
        let incoming = TraceContext::from_headers(
            headers.get(TRACEPARENT).map(String::as_str),
            headers.get(TRACESTATE).map(String::as_str),
        );
        let parent = match &incoming {
            Some(sender) => {
                opentelemetry::Context::new().with_remote_span_context(remote_span_context(sender))
            }
            // A root of its own, never a child of whatever span the delivery was taken in.
            None => opentelemetry::Context::new(),
        };
        let exported = span
            .set_parent(parent)
            .ok()
            .map(|()| span.context().span().span_context().clone())
            .filter(SpanContext::is_valid);
        let trace_state = incoming.as_ref().and_then(|c| c.trace_state.clone());
        let context = match exported {
            Some(own) => TraceContext {
                trace_id: own.trace_id().to_bytes(),
                parent_id: own.span_id().to_bytes(),
                flags: own.trace_flags().to_u8() & SAMPLED,
                trace_state,
            },
            None => TraceContext {
                trace_id: incoming
                    .as_ref()
                    .map_or_else(random_nonzero::<16>, |c| c.trace_id),
                parent_id: random_nonzero::<8>(),
                // A new trace asks to be recorded, as an exporting gateway's sampler would; a joined one keeps the
                // sender's decision.
                flags: incoming.as_ref().map_or(SAMPLED, |c| c.flags & SAMPLED),
                trace_state,
            },
        };
        span.record("trace_id", context.trace_id_hex());
        Self { context }
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.context.trace_id_hex()
    }

    /// `traceparent` (and `tracestate`, when the sender's was valid) naming the gateway's span, for an egress
    /// message's headers; replaces whatever the headers held under those names.
    pub fn stamp(&self, headers: &mut BTreeMap<String, String>) {
        headers.insert(TRACEPARENT.to_owned(), self.context.traceparent());
        match &self.context.trace_state {
            Some(state) => headers.insert(TRACESTATE.to_owned(), state.clone()),
            None => headers.remove(TRACESTATE),
        };
    }

    /// The same, for the ledger calls made for the delivery.
    pub fn ledger_headers(&self) -> TraceHeaders {
        TraceHeaders {
            traceparent: self.context.traceparent(),
            tracestate: self.context.trace_state.clone(),
        }
    }
}

/// The trace headers for a ledger call made in `span` (a child of the delivery's span): naming that span when it is
/// exported, so the ledger's spans hang below the call; otherwise the delivery's own, as set for the task.
pub fn ledger_call_headers(span: &tracing::Span) -> Option<TraceHeaders> {
    let current = ledger_port::current_trace_headers()?;
    let own = span.context().span().span_context().clone();
    if !own.is_valid() {
        return Some(current);
    }
    let context = TraceContext {
        trace_id: own.trace_id().to_bytes(),
        parent_id: own.span_id().to_bytes(),
        flags: own.trace_flags().to_u8() & SAMPLED,
        trace_state: current.tracestate.clone(),
    };
    Some(TraceHeaders {
        traceparent: context.traceparent(),
        tracestate: current.tracestate,
    })
}

fn remote_span_context(sender: &TraceContext) -> SpanContext {
    let state = sender
        .trace_state
        .as_deref()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    SpanContext::new(
        TraceId::from_bytes(sender.trace_id),
        SpanId::from_bytes(sender.parent_id),
        TraceFlags::new(sender.flags),
        true,
        state,
    )
}

/// Random bytes, never all zero (an all-zero id is invalid).
fn random_nonzero<const N: usize>() -> [u8; N] {
    let mut bytes: [u8; N] = rand::random();
    if bytes.iter().all(|b| *b == 0) {
        bytes[N - 1] = 1;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn span() -> tracing::Span {
        tracing::info_span!("message", trace_id = tracing::field::Empty)
    }

    #[test]
    fn a_valid_traceparent_is_joined_with_a_span_of_the_gateways_own() {
        let trace = RequestTrace::begin(
            &headers(&[(TRACEPARENT, SENT), (TRACESTATE, "congo=t61rcWkgMzE")]),
            &span(),
        );
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let mut out = headers(&[(TRACEPARENT, "stale"), ("x-other", "kept")]);
        trace.stamp(&mut out);
        let stamped = TraceContext::from_headers(out.get(TRACEPARENT).map(String::as_str), None)
            .expect("a valid traceparent");
        assert_eq!(stamped.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(
            crate::trace_context::hex(&stamped.parent_id),
            "00f067aa0ba902b7"
        );
        assert_eq!(
            out.get(TRACESTATE).map(String::as_str),
            Some("congo=t61rcWkgMzE")
        );
        assert_eq!(out.get("x-other").map(String::as_str), Some("kept"));
        assert_eq!(trace.ledger_headers().traceparent, out[TRACEPARENT]);
    }

    #[test]
    fn no_or_an_invalid_traceparent_starts_a_new_trace_and_drops_the_tracestate() {
        let long = "z".repeat(10 * 1024);
        let cases: Vec<BTreeMap<String, String>> = vec![
            headers(&[]),
            headers(&[(TRACESTATE, "congo=t61rcWkgMzE")]),
            headers(&[
                (TRACEPARENT, &SENT.to_uppercase()),
                (TRACESTATE, "congo=t61rcWkgMzE"),
            ]),
            headers(&[(TRACEPARENT, &long)]),
        ];
        let mut seen = std::collections::HashSet::new();
        for case in cases {
            let trace = RequestTrace::begin(&case, &span());
            let mut out = case.clone();
            trace.stamp(&mut out);
            let stamped =
                TraceContext::from_headers(out.get(TRACEPARENT).map(String::as_str), None)
                    .expect("a fresh valid traceparent");
            assert!(stamped.sampled());
            assert_ne!(stamped.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert!(!out.contains_key(TRACESTATE), "{case:?}");
            assert!(seen.insert(stamped.trace_id), "every new trace is another");
        }
    }
}
