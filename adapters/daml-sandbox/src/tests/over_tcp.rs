//! The sandbox served over TCP on 127.0.0.1: the access token is checked, the configured submission latency is
//! added, and shutdown ends live streams.

use std::time::Instant;

use super::*;
use crate::{AccessToken, Sandbox, SandboxSettings};

#[tokio::test]
async fn over_tcp_the_token_is_checked_latency_is_added_and_shutdown_ends_streams() {
    use daml_ledger_api::v2::command_service_client::CommandServiceClient;
    use daml_ledger_api::v2::state_service_client::StateServiceClient;
    use daml_ledger_api::v2::update_service_client::UpdateServiceClient;

    let ledger: Arc<dyn ServableLedger> =
        Arc::new(EmbeddedLedger::in_memory(catalog(), Clock::System));
    let settings = SandboxSettings {
        token: Some(AccessToken::new("t0ken").expect("valid")),
        submission_latency: Duration::from_millis(150),
        known_templates: None,
        participant_id: String::new(),
        trace_context_log: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Sandbox::new(ledger, settings).serve(listener, async move {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    fn with_token<T>(mut request: tonic::Request<T>) -> tonic::Request<T> {
        request
            .metadata_mut()
            .insert("authorization", "Bearer t0ken".parse().expect("ascii"));
        request
    }

    let mut state = StateServiceClient::new(channel.clone());
    let status = state
        .get_ledger_end(v2::GetLedgerEndRequest {})
        .await
        .expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let mut wrong = tonic::Request::new(v2::GetLedgerEndRequest {});
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer other".parse().expect("ascii"));
    assert_eq!(
        state
            .get_ledger_end(wrong)
            .await
            .expect_err("wrong token")
            .code(),
        tonic::Code::Unauthenticated
    );

    let mut updates = UpdateServiceClient::new(channel.clone());
    let mut tail = updates
        .get_updates(with_token(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 0,
            end_inclusive: None,
            update_format: update_format(&["Operator"]),
        })))
        .await
        .expect("a stream")
        .into_inner();

    let started = Instant::now();
    let response = CommandServiceClient::new(channel.clone())
        .submit_and_wait(with_token(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c1", "Operator", "Carrier").commands,
        })))
        .await
        .expect("committed")
        .into_inner();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "latency is added"
    );
    assert_eq!(response.completion_offset, 1);
    let end = state
        .get_ledger_end(with_token(tonic::Request::new(v2::GetLedgerEndRequest {})))
        .await
        .expect("with the token")
        .into_inner();
    assert_eq!(end.offset, 1);
    let first = tokio::time::timeout(Duration::from_secs(5), tail.message())
        .await
        .expect("in time")
        .expect("no error")
        .expect("an update");
    assert!(
        matches!(first.update, Some(v2::get_updates_response::Update::Transaction(ref tx)) if tx.offset == 1)
    );

    stop.send(()).expect("the server listens for shutdown");
    let ended = tokio::time::timeout(Duration::from_secs(5), tail.message())
        .await
        .expect("the live tail ends on shutdown");
    assert!(matches!(ended, Ok(None)), "{ended:?}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server returns")
        .expect("no panic")
        .expect("no error");
}
