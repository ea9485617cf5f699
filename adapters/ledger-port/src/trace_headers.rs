//! The W3C trace context a ledger call is made under, handed from the gateway to a ledger adapter without passing
//! through every [`Ledger`](crate::Ledger) method: the gateway runs a request's processing inside [`with_trace_headers`],
//! and an adapter that talks to a remote ledger (the Daml one) reads [`current_trace_headers`] when it builds a
//! call's metadata, so the remote ledger's traces join the request's. The embedded ledger ignores it.
//!
//! A tokio task-local: each request's processing future carries its own value, so requests in flight at once on
//! different tasks (or interleaved on one) never see each other's. A task spawned from inside the scope does not
//! inherit it; ledger calls are made on the request's own task.

use std::future::Future;

/// `traceparent` and `tracestate` as they go on the wire: already validated and formatted by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeaders {
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    pub traceparent: String,
    /// The vendors' list, when the request carried a valid one.
    pub tracestate: Option<String>,
}

tokio::task_local! {
    static CURRENT: Option<TraceHeaders>;
}

/// Runs `future` with `headers` as the trace context of every ledger call made inside it (none: calls carry none).
pub async fn with_trace_headers<F: Future>(headers: Option<TraceHeaders>, future: F) -> F::Output {
    CURRENT.scope(headers, future).await
}

/// The trace context of the ledger call being made now, if the caller set one.
pub fn current_trace_headers() -> Option<TraceHeaders> {
    CURRENT.try_with(|headers| headers.clone()).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(n: u8) -> TraceHeaders {
        TraceHeaders {
            traceparent: format!("00-{:032x}-{:016x}-01", n, n),
            tracestate: None,
        }
    }

    #[tokio::test]
    async fn outside_a_scope_there_is_none() {
        assert_eq!(current_trace_headers(), None);
        assert_eq!(
            with_trace_headers(None, async { current_trace_headers() }).await,
            None
        );
    }

    /// Two requests in flight at once, each yielding many times while the other runs, on a multi-threaded runtime:
    /// each only ever sees its own headers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_scopes_keep_their_own_headers() {
        let mut tasks = Vec::new();
        for n in 1..=8u8 {
            tasks.push(tokio::spawn(with_trace_headers(
                Some(headers(n)),
                async move {
                    for _ in 0..200 {
                        tokio::task::yield_now().await;
                        assert_eq!(current_trace_headers(), Some(headers(n)));
                    }
                    n
                },
            )));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.expect("task"), i as u8 + 1);
        }
        assert_eq!(current_trace_headers(), None);
    }
}
