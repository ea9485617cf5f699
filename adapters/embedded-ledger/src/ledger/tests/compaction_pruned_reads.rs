//! Reading what a compaction pruned is refused, never answered with a gap: before the snapshot it is the pruned
//! error naming both offsets, and an update stream or an active set a compaction overtakes ends with that error.

use ledger_port::{PrunedOffset, ServableLedger};

use super::*;

#[tokio::test]
async fn reading_before_the_snapshot_is_a_pruned_error_naming_both_offsets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let old = history(&ledger).await;
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    assert_eq!(ledger.readable_from(), 90);

    for begin in [0, 1, 89] {
        let err = match ledger.updates(begin, &UpdateFilter::default()).await {
            Ok(_) => panic!("updates from {begin} must be refused"),
            Err(e) => e,
        };
        assert_eq!(
            err.pruned,
            Some(PrunedOffset {
                requested: begin,
                earliest: 90
            })
        );
        assert_eq!(
            err.ledger_error.as_deref(),
            Some(ledger_port::PRUNED_DATA_ACCESSED)
        );
        assert!(
            err.message
                .contains(&format!("offset {begin} precedes the pruned offset 90"))
        );
    }
    // From the snapshot on, the stream serves what comes next.
    let mut stream = ledger
        .updates(90, &UpdateFilter::default())
        .await
        .expect("updates from the snapshot");
    let next = ledger.submit(create("next")).await.expect("create");
    let got = stream.next().await.expect("an update").expect("ok");
    assert_eq!(got, next);
    // A pruned transaction by offset is a pruned error too; a retained one is still there.
    assert_eq!(old[40].command_id, "m0-0");
    let err = ledger
        .transaction_by_offset(41)
        .await
        .expect_err("offset 41 was pruned");
    assert_eq!(err.pruned.map(|p| p.requested), Some(41));
    let retained = ledger
        .transaction_by_offset(old.len() as i64)
        .await
        .expect("read")
        .expect("the last transaction created an active contract");
    assert_eq!(retained, old[old.len() - 1]);
}

#[tokio::test]
async fn a_stream_a_compaction_overtakes_ends_with_the_pruned_error_instead_of_a_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    // 301 transactions (more than one read chunk of 256), one active contract at the end.
    let id = created_id(&ledger.submit(create("c")).await.expect("create"));
    moved(&ledger, id, "m", 300).await;
    let mut stream = ledger
        .updates(0, &UpdateFilter::default())
        .await
        .expect("from the start");
    let first = stream.next().await.expect("an update").expect("ok");
    assert_eq!(first.offset, 1);
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    // What the stream had read before the compaction it still hands out, then the error, then nothing.
    let mut offsets = vec![first.offset];
    let error = loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(tx))) => offsets.push(tx.offset),
            Ok(Some(Err(e))) => break e,
            Ok(None) => panic!("the stream ended without an error after {offsets:?}"),
            Err(_) => panic!("the stream went quiet without an error after {offsets:?}"),
        }
    };
    assert_eq!(offsets, (1..=256).collect::<Vec<i64>>(), "no gap");
    assert_eq!(
        error.pruned,
        Some(PrunedOffset {
            requested: 256,
            earliest: 301
        })
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn an_active_set_a_compaction_overtakes_ends_with_the_pruned_error_instead_of_a_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    // Enough contracts that the readers (a few chunks of 256 ahead each) have not reached the last one yet.
    let mut last = String::new();
    for i in 0..4000 {
        last = created_id(
            &ledger
                .submit(create(&format!("c{i}")))
                .await
                .expect("create"),
        );
    }
    let mut acs = ledger
        .active_contract_stream(&UpdateFilter::default())
        .await
        .expect("acs");
    assert_eq!(acs.offset, 4000);
    // The last contract moves on, and a compaction prunes its creator (no longer active, outside the window).
    ledger
        .submit(exercise("move-last", &last))
        .await
        .expect("move");
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    let mut ids = Vec::new();
    let outcome = loop {
        match acs.contracts.next().await {
            Some(Ok(contract)) => ids.push(contract.created.contract_id),
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    match outcome {
        // Read before the compaction: the whole set as of offset 4000, the moved contract included.
        Ok(()) => assert!(
            ids.len() == 4000 && ids.contains(&last),
            "{} contracts",
            ids.len()
        ),
        Err(e) => assert_eq!(
            e.pruned,
            Some(PrunedOffset {
                requested: 4000,
                earliest: 4001
            })
        ),
    }
}
