//! The update service: streams replay stored updates then follow the live tail, skipping what the reader cannot see;
//! bounded streams end; single updates are found by id and offset, and absent, invisible or future ones are
//! NOT_FOUND.

use daml_ledger_api::error_id_of;
use daml_ledger_api::v2::update_service_server::UpdateService;

use super::*;
use crate::update_service::SandboxUpdateService;

#[tokio::test]
async fn update_streams_replay_then_tail_and_skip_what_the_reader_cannot_see() {
    let fixture = Fixture::new();
    let updates = SandboxUpdateService::new(fixture.context.clone());
    fixture.create("c1", "Operator", "Carrier").await;
    fixture.create("c2", "Operator", "Retailer").await;

    let mut carrier_stream = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 0,
            end_inclusive: None,
            update_format: update_format(&["Carrier"]),
        }))
        .await
        .expect("a stream")
        .into_inner();
    let stored = next_update(&mut carrier_stream).await;
    assert_eq!(stored.offset, 1, "offset 2 is Retailer's, not Carrier's");
    fixture.create("c3", "Operator", "Retailer").await;
    fixture.create("c4", "Operator", "Carrier").await;
    let live = next_update(&mut carrier_stream).await;
    assert_eq!(
        live.offset, 4,
        "the live tail delivers new commits, skipping invisible ones"
    );
    assert_eq!(live.command_id, "c4");

    let bounded: Vec<i64> = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 1,
            end_inclusive: Some(3),
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("a stream")
        .into_inner()
        .map(|r| match r.expect("no error").update {
            Some(v2::get_updates_response::Update::Transaction(tx)) => tx.offset,
            other => panic!("not a transaction: {other:?}"),
        })
        .collect()
        .await;
    assert_eq!(bounded, [2, 3], "a bounded stream ends at end_inclusive");

    for (begin, end, code) in [
        (5, None, tonic::Code::OutOfRange),
        (-1, None, tonic::Code::InvalidArgument),
        (0, Some(9), tonic::Code::OutOfRange),
        (3, Some(2), tonic::Code::InvalidArgument),
    ] {
        let status = updates
            .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
                begin_exclusive: begin,
                end_inclusive: end,
                update_format: update_format(&["Operator"]),
            }))
            .await
            .err()
            .expect("refused");
        assert_eq!(status.code(), code, "begin {begin} end {end:?}");
    }
}

#[tokio::test]
async fn single_updates_by_id_and_offset() {
    let fixture = Fixture::new();
    let updates = SandboxUpdateService::new(fixture.context.clone());
    let tx = fixture.create("c1", "Operator", "Carrier").await;
    let by_id = updates
        .get_update_by_id(tonic::Request::new(v2::GetUpdateByIdRequest {
            update_id: tx.update_id.clone(),
            update_format: update_format(&["Carrier"]),
        }))
        .await
        .expect("found")
        .into_inner();
    let Some(v2::get_update_response::Update::Transaction(found)) = by_id.update else {
        panic!("a transaction");
    };
    assert_eq!(found.offset, 1);
    assert_eq!(created(&found, 0).witness_parties, ["Carrier"]);
    let by_offset = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 1,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("found")
        .into_inner();
    let Some(v2::get_update_response::Update::Transaction(found)) = by_offset.update else {
        panic!("a transaction");
    };
    assert_eq!(found.update_id, tx.update_id);

    let absent = updates
        .get_update_by_id(tonic::Request::new(v2::GetUpdateByIdRequest {
            update_id: "nope".into(),
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("absent");
    let invisible = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 1,
            update_format: update_format(&["Nobody"]),
        }))
        .await
        .expect_err("invisible");
    let beyond = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 2,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("beyond the end");
    for status in [absent, invisible, beyond] {
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some(crate::UPDATE_NOT_FOUND)
        );
    }
}
