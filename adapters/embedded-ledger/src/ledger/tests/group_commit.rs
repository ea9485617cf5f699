//! Group commit: syncs shared between submissions, readers kept to durable transactions, a failed sync breaking the
//! ledger. (Semantics, streams and journal recovery are tested in `tests/ledger.rs`.)

use std::sync::atomic::Ordering;

use ledger_port::{ErrorClass, PendingCommit, ServableLedger};

use super::*;

#[tokio::test]
async fn one_sync_covers_every_transaction_sequenced_before_it() {
    let (_dir, ledger) = journaled().await;
    let mut pending = vec![];
    for i in 0..50 {
        pending.push(
            ledger
                .sequence(create(&format!("c{i}")))
                .await
                .expect("sequenced"),
        );
    }
    assert_eq!(ledger.journal_syncs(), 0, "sequencing alone does not sync");
    let committed =
        futures::future::join_all(pending.into_iter().map(PendingCommit::committed)).await;
    let offsets: Vec<i64> = committed
        .into_iter()
        .map(|r| r.expect("committed").offset)
        .collect();
    assert_eq!(offsets, (1..=50).collect::<Vec<_>>());
    assert_eq!(
        ledger.journal_syncs(),
        1,
        "the first waiter's sync covered all 50"
    );
    assert_eq!(ledger.ledger_end().await.expect("end"), 50);
}

#[tokio::test]
async fn concurrent_submissions_share_syncs() {
    let (_dir, ledger) = journaled().await;
    let ledger = Arc::new(ledger);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move { ledger.submit(create(&format!("c{i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("submitted");
    }
    // On this single-threaded runtime every task sequences before the first sync returns, so the second sync
    // covers the other 99. Without group commit it would be 100.
    let syncs = ledger.journal_syncs();
    assert!(
        (1..=2).contains(&syncs),
        "{syncs} syncs for 100 submissions"
    );
    assert_eq!(ledger.transaction_count(), 100);
}

#[tokio::test]
async fn readers_see_a_transaction_only_once_it_is_durable() {
    let (_dir, ledger) = journaled().await;
    let first = ledger.submit(create("c1")).await.expect("c1");
    let c1 = created_id(&first);
    let mut stream = ledger
        .updates(0, &UpdateFilter::default())
        .await
        .expect("stream");
    assert_eq!(drain(&mut stream, Duration::from_millis(50)).await, [1]);

    // Sequenced, not durable: a create and a move archiving c1.
    let create2 = ledger.sequence(create("c2")).await.expect("c2");
    let moved = ledger.sequence(exercise("m1", &c1)).await.expect("m1");
    assert_eq!(moved.transaction().offset, 3, "sequenced on top of c2");
    assert_eq!(ledger.ledger_end().await.expect("end"), 1);
    assert_eq!(ledger.transaction_count(), 1);
    assert_eq!(ledger.transaction_by_offset(2).await.expect("lookup"), None);
    let update_id = moved.transaction().update_id.clone();
    assert_eq!(
        ledger
            .transaction_by_update_id(&update_id)
            .await
            .expect("lookup"),
        None
    );
    assert!(
        drain(&mut stream, Duration::from_millis(50))
            .await
            .is_empty()
    );
    assert!(
        ledger.updates(2, &UpdateFilter::default()).await.is_err(),
        "past the durable end"
    );
    let acs = ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .expect("acs");
    assert_eq!(acs.offset, 1);
    assert_eq!(
        active_ids(&ledger).await,
        [c1],
        "c1 archived and c2 created only in memory"
    );

    // A duplicate of a command that is not durable yet waits for it, like the original.
    let again = ledger.sequence(create("c2")).await.expect("duplicate");
    assert_eq!(again.transaction(), create2.transaction());
    assert_eq!(again.committed().await.expect("durable").offset, 2);
    assert_eq!(
        ledger.ledger_end().await.expect("end"),
        3,
        "the sync covered both"
    );
    assert_eq!(create2.committed().await.expect("c2").offset, 2);
    assert_eq!(moved.committed().await.expect("m1").offset, 3);
    assert_eq!(ledger.journal_syncs(), 2);
    assert_eq!(drain(&mut stream, Duration::from_millis(200)).await, [2, 3]);
    let successor = created_id(
        &ledger
            .transaction_by_update_id(&update_id)
            .await
            .expect("lookup")
            .expect("durable"),
    );
    let mut active = active_ids(&ledger).await;
    active.sort();
    let mut expected = vec![
        created_id(&ledger.transactions().expect("read the log")[1]),
        successor,
    ];
    expected.sort();
    assert_eq!(active, expected);
}

#[tokio::test]
async fn a_failed_sync_breaks_every_transaction_after_the_durable_end() {
    let (_dir, ledger) = journaled().await;
    ledger.submit(create("c1")).await.expect("c1");
    let group = ledger.inner.group.as_ref().expect("journaled");
    group.fail_syncs.store(true, Ordering::Relaxed);
    let a = ledger.sequence(create("a")).await.expect("a");
    let b = ledger.sequence(create("b")).await.expect("b");
    let error = a.committed().await.expect_err("the sync failed");
    assert_eq!(
        error.class,
        ErrorClass::Configuration,
        "halts the gateway: {error}"
    );
    assert_eq!(error.ledger_error.as_deref(), Some("JOURNAL_FAILED"));
    assert!(error.message.contains("injected sync failure"), "{error}");
    group.fail_syncs.store(false, Ordering::Relaxed);
    assert!(
        b.committed().await.is_err(),
        "sequenced on top of a lost transaction"
    );
    assert!(
        ledger.submit(create("c")).await.is_err(),
        "later submissions fail"
    );
    assert!(
        ledger
            .submit_reporting_duplicates(create("a"))
            .await
            .is_err(),
        "a duplicate of a lost transaction is not answered"
    );
    assert!(
        ledger.ledger_end().await.is_err(),
        "the gateway's readiness probe sees it"
    );
    assert_eq!(
        ledger.transaction_count(),
        1,
        "readers keep the durable prefix"
    );
    assert_eq!(active_ids(&ledger).await.len(), 1);
}

#[tokio::test]
async fn an_in_memory_ledger_commits_at_once() {
    let ledger = EmbeddedLedger::in_memory(catalog(), Clock::Fixed(0));
    let pending = ledger.sequence(create("c1")).await.expect("c1");
    assert_eq!(ledger.ledger_end().await.expect("end"), 1);
    assert!(format!("{pending:?}").contains("awaiting_durability: false"));
    assert_eq!(pending.committed().await.expect("committed").offset, 1);
    assert_eq!(ledger.journal_syncs(), 0);
}
