//! Over a journaled ledger that compacted: reading history it pruned is FAILED_PRECONDITION with
//! PARTICIPANT_PRUNED_DATA_ACCESSED, while reading from the snapshot on, and the ACS now, work as before.

use daml_ledger_api::error_id_of;
use daml_ledger_api::v2::update_service_server::UpdateService;

use super::*;
use crate::update_service::SandboxUpdateService;

#[tokio::test]
async fn reading_history_a_compaction_pruned_is_failed_precondition_participant_pruned_data_accessed()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _) = EmbeddedLedger::open(
        &dir.path().join("ledger.journal"),
        catalog(),
        Clock::Fixed(1_764_000_000_000_000),
    )
    .await
    .expect("journal");
    let ledger = Arc::new(ledger);
    let fixture = Fixture::over(ledger.clone());
    let updates = SandboxUpdateService::new(fixture.context.clone());
    let first = fixture.create("c1", "Operator", "Carrier").await;
    let contract = created(&first, 0).contract_id.clone();
    fixture.exercise("x1", &contract, "Cancel").await;
    fixture.create("c2", "Operator", "Carrier").await;
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    assert_eq!(ledger.readable_from(), 3);

    let pruned = |status: tonic::Status, requested: i64| {
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some("PARTICIPANT_PRUNED_DATA_ACCESSED"),
            "{status:?}"
        );
        assert!(
            status
                .message()
                .contains(&format!("offset {requested} precedes the pruned offset 3")),
            "{status:?}"
        );
    };
    for begin in [0, 2] {
        let status = updates
            .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
                begin_exclusive: begin,
                end_inclusive: None,
                update_format: update_format(&["Operator"]),
            }))
            .await
            .err()
            .expect("refused");
        pruned(status, begin);
    }
    let status = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 2,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("offset 2 was pruned");
    pruned(status, 2);
    // The ACS at an offset before the end is rebuilt from history, which is gone.
    let status = acs(&fixture, 2, event_format(&["Operator"]))
        .await
        .expect_err("refused");
    assert_eq!(
        error_id_of(&status).as_deref(),
        Some("PARTICIPANT_PRUNED_DATA_ACCESSED")
    );

    // From the snapshot on, and the ACS now, are served as before.
    let mut stream = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 3,
            end_inclusive: None,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("a stream from the snapshot")
        .into_inner();
    fixture.create("c3", "Operator", "Carrier").await;
    assert_eq!(next_update(&mut stream).await.offset, 4);
    assert_eq!(
        acs(&fixture, 0, event_format(&["Operator"]))
            .await
            .expect("the ACS now")
            .len(),
        2
    );
}
