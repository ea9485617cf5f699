//! The sandbox server: the services behind the token check, each call in a span that notes its trace context, on a
//! bound TCP listener, until a shutdown signal.

use std::future::Future;
use std::sync::Arc;

use daml_ledger_api::v2::admin::party_management_service_server::PartyManagementServiceServer;
use daml_ledger_api::v2::command_completion_service_server::CommandCompletionServiceServer;
use daml_ledger_api::v2::command_service_server::CommandServiceServer;
use daml_ledger_api::v2::state_service_server::StateServiceServer;
use daml_ledger_api::v2::update_service_server::UpdateServiceServer;
use daml_ledger_api::v2::version_service_server::VersionServiceServer;
use ledger_port::ServableLedger;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use crate::auth::TokenCheck;
use crate::command_service::SandboxCommandService;
use crate::completion_service::SandboxCompletionService;
use crate::context::Context;
use crate::party_management_service::SandboxPartyManagementService;
use crate::settings::SandboxSettings;
use crate::state_service::SandboxStateService;
use crate::trace_context_log::{TraceContextLog, call_span};
use crate::update_service::SandboxUpdateService;
use crate::version_service::SandboxVersionService;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the Ledger API server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A ledger served over the Daml Ledger API v2 subset.
pub struct Sandbox {
    context: Arc<Context>,
    token: TokenCheck,
    participant_id: String,
    trace_context_log: Option<TraceContextLog>,
    stop: watch::Sender<bool>,
}

impl Sandbox {
    /// A sandbox in front of `ledger`.
    pub fn new(ledger: Arc<dyn ServableLedger>, settings: SandboxSettings) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self {
            context: Arc::new(Context::new(
                ledger,
                settings.known_templates,
                settings.submission_latency,
                stopped,
            )),
            token: TokenCheck::new(settings.token),
            participant_id: if settings.participant_id.is_empty() {
                "sandbox".to_owned()
            } else {
                settings.participant_id
            },
            trace_context_log: settings.trace_context_log,
            stop,
        }
    }

    /// Serves on `listener` until `shutdown` completes; then open streams end and the server returns once the
    /// calls in flight have been answered.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let Self {
            context,
            token,
            participant_id,
            trace_context_log,
            stop,
        } = self;
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        tonic::transport::Server::builder()
            .trace_fn(move |request| call_span(trace_context_log.as_ref(), request))
            .add_service(InterceptedService::new(
                VersionServiceServer::new(SandboxVersionService),
                token.clone(),
            ))
            .add_service(InterceptedService::new(
                PartyManagementServiceServer::new(SandboxPartyManagementService::new(
                    participant_id,
                )),
                token.clone(),
            ))
            .add_service(InterceptedService::new(
                CommandServiceServer::new(SandboxCommandService::new(context.clone())),
                token.clone(),
            ))
            .add_service(InterceptedService::new(
                StateServiceServer::new(SandboxStateService::new(context.clone())),
                token.clone(),
            ))
            .add_service(InterceptedService::new(
                UpdateServiceServer::new(SandboxUpdateService::new(context.clone())),
                token.clone(),
            ))
            .add_service(InterceptedService::new(
                CommandCompletionServiceServer::new(SandboxCompletionService::new(context)),
                token,
            ))
            .serve_with_incoming_shutdown(accepting(listener), signal)
            .await?;
        Ok(())
    }
}

/// The connections `listener` accepts, with `TCP_NODELAY` set. A listener handed to tonic is served without the
/// builder's socket options, and with Nagle's algorithm on, a response whose HTTP/2 frames go out in more than one
/// write waits for the client's delayed ACK: about 40 ms added to every call.
fn accepting(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_do_not_wait_for_delayed_acks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let mut incoming = accepting(listener);
        let _client = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");
        assert!(accepted.nodelay().expect("read TCP_NODELAY"));
    }
}
