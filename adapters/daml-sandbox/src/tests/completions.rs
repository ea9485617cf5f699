//! The completion service: a stream replays the user's committed commands, then follows new commits and rejections;
//! other users and parties see nothing of them.

use daml_ledger_api::v2::command_completion_service_server::CommandCompletionService;

use super::*;
use crate::completion_service::SandboxCompletionService;

#[tokio::test]
async fn completions_replay_commits_then_follow_commits_and_rejections() {
    let fixture = Fixture::new();
    let completions = SandboxCompletionService::new(fixture.context.clone());
    let first = fixture.create("c1", "Operator", "Carrier").await;
    fixture.create("d1", "Device01", "Operator").await;

    let open = |user: &str, parties: &[&str]| {
        completions.completion_stream(tonic::Request::new(v2::CompletionStreamRequest {
            user_id: user.into(),
            parties: parties.iter().map(|p| (*p).to_owned()).collect(),
            begin_exclusive: 0,
        }))
    };
    let mut stream = open("gateway", &["Operator"])
        .await
        .expect("a stream")
        .into_inner();
    let mut next = async || {
        let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a completion within 5 s")
            .expect("open")
            .expect("no error");
        match item.completion_response {
            Some(v2::completion_stream_response::CompletionResponse::Completion(c)) => c,
            other => panic!("not a completion: {other:?}"),
        }
    };
    let stored = next().await;
    assert_eq!(stored.command_id, "c1");
    assert_eq!(stored.update_id, first.update_id);
    assert_eq!(stored.offset, 1);
    assert_eq!(stored.user_id, "gateway");
    assert_eq!(stored.act_as, ["Operator"]);
    assert_eq!(stored.status.as_ref().map(|s| s.code), Some(0));

    // d1 acted as Device01: not this stream's. A live commit and a live rejection follow.
    let live = fixture.create("c2", "Operator", "Carrier").await;
    let committed = next().await;
    assert_eq!((committed.command_id.as_str(), committed.offset), ("c2", 3));
    assert_eq!(committed.update_id, live.update_id);
    fixture
        .commands()
        .submit_and_wait(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c2", "Operator", "Carrier").commands,
        }))
        .await
        .expect_err("a duplicate");
    let rejected = next().await;
    assert_eq!(rejected.command_id, "c2");
    let status = rejected.status.expect("a status");
    assert_eq!(status.code, tonic::Code::AlreadyExists as i32);
    assert!(status.message.starts_with("DUPLICATE_COMMAND("));

    // Another user does not see the gateway's commands.
    let mut other_user = open("auditor", &["Operator"])
        .await
        .expect("a stream")
        .into_inner();
    let nothing = tokio::time::timeout(Duration::from_millis(200), other_user.next()).await;
    assert!(
        nothing.is_err(),
        "another user's stream stays quiet: {nothing:?}"
    );

    let status = open("", &["Operator"]).await.err().expect("no user");
    assert!(status.message().contains("user_id: missing"));
    let status = open("gateway", &[]).await.err().expect("no party");
    assert!(status.message().contains("parties: missing"));
}
