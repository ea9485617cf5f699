//! How every call to the participant is made: the `authorization` header from the token file, the request's W3C
//! trace context (`traceparent`, `tracestate`) when the gateway set one, a deadline, and a failed call's status
//! turned into the port's classified error through the table shared with the sandbox
//! (`daml_ledger_api::rejection`).
//!
//! Unary calls carry the deadline both ways: as `grpc-timeout`, so the participant can give up too, and as a local
//! timer, which also covers a participant that never answers. Streams get the deadline only for opening, and an
//! idle limit per message where the caller expects a finite stream; the live update stream has neither.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use daml_ledger_api::rejection::ledger_error_from_status;
use daml_ledger_api::v2::admin::party_management_service_client::PartyManagementServiceClient;
use daml_ledger_api::v2::{
    command_completion_service_client::CommandCompletionServiceClient,
    command_service_client::CommandServiceClient, state_service_client::StateServiceClient,
    update_service_client::UpdateServiceClient,
};
use ledger_port::{LedgerError, RejectionReason, current_trace_headers};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::token::TokenFile;

/// Largest message accepted from the participant: transactions and ACS pages can exceed gRPC's 4 MiB default.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Whether a request is a unary call (deadline sent to the server) or opens a stream (no server deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Unary,
    Stream,
}

/// What reading a finite stream gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<T> {
    Message(T),
    /// The server completed the stream.
    End,
    /// Nothing arrived within the idle limit.
    Idle,
}

/// The channel, the credentials and the deadline, shared by every call.
#[derive(Debug, Clone)]
pub struct Rpc {
    channel: Channel,
    token: Option<Arc<TokenFile>>,
    call_timeout: Duration,
}

impl Rpc {
    pub fn new(channel: Channel, token: Option<Arc<TokenFile>>, call_timeout: Duration) -> Self {
        Self {
            channel,
            token,
            call_timeout,
        }
    }

    /// The deadline of one call.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    pub fn commands(&self) -> CommandServiceClient<Channel> {
        CommandServiceClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn state(&self) -> StateServiceClient<Channel> {
        StateServiceClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn updates(&self) -> UpdateServiceClient<Channel> {
        UpdateServiceClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub fn party_management(&self) -> PartyManagementServiceClient<Channel> {
        PartyManagementServiceClient::new(self.channel.clone())
    }

    pub fn completions(&self) -> CommandCompletionServiceClient<Channel> {
        CommandCompletionServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// A request with the current token, the trace context of the request it is made for (so the participant's
    /// traces join the gateway's) and, for unary calls, the deadline. A token file that cannot be used is a
    /// configuration fault: the gateway must stop, not retry or reject the request.
    pub fn request<T>(&self, message: T, kind: CallKind) -> Result<Request<T>, LedgerError> {
        let mut request = Request::new(message);
        if kind == CallKind::Unary {
            request.set_timeout(self.call_timeout);
        }
        if let Some(token) = &self.token {
            let header = token.header().map_err(|e| {
                LedgerError::configuration(RejectionReason::Unauthenticated, e.to_string())
            })?;
            request.metadata_mut().insert("authorization", header);
        }
        insert_trace_context(request.metadata_mut());
        Ok(request)
    }

    /// Awaits a call within the deadline; the raw status on failure, for callers that treat some specially.
    pub async fn answer<R>(
        &self,
        call: &str,
        response: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<Result<R, Status>, LedgerError> {
        match tokio::time::timeout(self.call_timeout, response).await {
            Ok(Ok(response)) => Ok(Ok(response.into_inner())),
            Ok(Err(status)) => Ok(Err(status)),
            Err(_) => Err(self.deadline_passed(call)),
        }
    }

    /// Awaits a call within the deadline, failures classified.
    pub async fn finish<R>(
        &self,
        call: &str,
        response: impl Future<Output = Result<Response<R>, Status>>,
    ) -> Result<R, LedgerError> {
        self.answer(call, response)
            .await?
            .map_err(|status| self.error(call, &status))
    }

    /// The next message of a finite stream, waiting at most `idle` for it.
    pub async fn next<T>(
        &self,
        call: &str,
        stream: &mut Streaming<T>,
        idle: Duration,
    ) -> Result<Next<T>, LedgerError> {
        match tokio::time::timeout(idle, stream.message()).await {
            Ok(Ok(Some(message))) => Ok(Next::Message(message)),
            Ok(Ok(None)) => Ok(Next::End),
            Ok(Err(status)) => Err(self.error(call, &status)),
            Err(_) => Ok(Next::Idle),
        }
    }

    /// The port's error for a failed call. UNAUTHENTICATED also drops the cached token, so the next call reads the
    /// file again whatever its timestamps say.
    pub fn error(&self, call: &str, status: &Status) -> LedgerError {
        if status.code() == Code::Unauthenticated
            && let Some(token) = &self.token
        {
            token.invalidate();
        }
        ledger_error_from_status(call, status)
    }

    /// A handle that classifies stream errors later, from inside a `'static` stream.
    pub fn error_mapper(&self) -> impl Fn(&str, &Status) -> LedgerError + Send + Sync + 'static {
        let token = self.token.clone();
        move |call, status| {
            if status.code() == Code::Unauthenticated
                && let Some(token) = &token
            {
                token.invalidate();
            }
            ledger_error_from_status(call, status)
        }
    }

    fn deadline_passed(&self, call: &str) -> LedgerError {
        LedgerError::transient(format!(
            "{call}: no answer within {} ms (ledger.daml.call_timeout_ms)",
            self.call_timeout.as_millis()
        ))
    }
}

/// `traceparent` and `tracestate` of the ledger call being made, when the gateway runs it for a request. The values
/// were validated and formatted by the gateway; one that is still not a valid metadata value is left out rather
/// than failing the call.
fn insert_trace_context(metadata: &mut MetadataMap) {
    let Some(headers) = current_trace_headers() else {
        return;
    };
    if let Ok(value) = AsciiMetadataValue::try_from(headers.traceparent.as_str()) {
        metadata.insert("traceparent", value);
    }
    if let Some(state) = headers.tracestate.as_deref()
        && let Ok(value) = AsciiMetadataValue::try_from(state)
    {
        metadata.insert("tracestate", value);
    }
}

/// The port's error for an answer that arrived but does not fit the port's model: permanent, because asking again
/// gets the same answer.
pub fn conversion_failed(call: &str, error: impl std::fmt::Display) -> LedgerError {
    LedgerError::permanent(
        RejectionReason::Internal,
        format!("{call}: the participant's answer could not be read: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::ErrorClass;

    fn rpc(token: Option<Arc<TokenFile>>) -> Rpc {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
        Rpc::new(channel, token, Duration::from_millis(1500))
    }

    #[tokio::test]
    async fn unary_requests_carry_the_bearer_token_and_the_deadline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "a.b.c").expect("write");
        let rpc = rpc(Some(Arc::new(TokenFile::new(&path))));
        let unary = rpc.request((), CallKind::Unary).expect("request");
        assert_eq!(
            unary
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer a.b.c")
        );
        assert_eq!(
            unary
                .metadata()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok()),
            Some("1500000u")
        );
        let stream = rpc.request((), CallKind::Stream).expect("request");
        assert!(stream.metadata().get("authorization").is_some());
        assert!(
            stream.metadata().get("grpc-timeout").is_none(),
            "live streams have no deadline"
        );

        std::fs::write(&path, "d.e.ff").expect("rotate");
        let rotated = rpc.request((), CallKind::Unary).expect("request");
        assert_eq!(
            rotated
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer d.e.ff")
        );
    }

    #[tokio::test]
    async fn calls_made_for_a_request_carry_its_trace_context() {
        let rpc = rpc(None);
        let outside = rpc.request((), CallKind::Unary).expect("request");
        assert!(outside.metadata().get("traceparent").is_none());
        let headers = ledger_port::TraceHeaders {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
            tracestate: Some("congo=t61rcWkgMzE".to_owned()),
        };
        let inside = ledger_port::with_trace_headers(Some(headers.clone()), async {
            rpc.request((), CallKind::Stream).expect("request")
        })
        .await;
        let text = |name: &str| {
            inside
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(text("traceparent"), Some(headers.traceparent));
        assert_eq!(text("tracestate"), headers.tracestate);
    }

    #[tokio::test]
    async fn without_a_token_file_there_is_no_authorization_header() {
        let request = rpc(None).request((), CallKind::Unary).expect("request");
        assert!(request.metadata().get("authorization").is_none());
    }

    #[tokio::test]
    async fn an_unusable_token_file_is_a_configuration_fault() {
        let rpc = rpc(Some(Arc::new(TokenFile::new("/nonexistent/ledger.jwt"))));
        let e = rpc.request((), CallKind::Unary).expect_err("no file");
        assert_eq!(e.class, ErrorClass::Configuration);
        assert!(
            e.message.starts_with("ledger.daml.token_file: "),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn a_call_that_does_not_answer_in_time_is_transient() {
        let rpc = rpc(None);
        let e = rpc
            .finish(
                "GetLedgerEnd",
                std::future::pending::<Result<Response<()>, Status>>(),
            )
            .await
            .expect_err("deadline");
        assert!(e.is_transient());
        assert!(e.message.contains("1500 ms"), "{}", e.message);
        let refused = rpc
            .finish("GetLedgerEnd", async {
                Err::<Response<()>, _>(Status::unauthenticated("bad token"))
            })
            .await
            .expect_err("refused");
        assert_eq!(refused.class, ErrorClass::Configuration);
    }
}
