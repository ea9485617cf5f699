//! The automatic compaction policy: it compacts by itself once history outgrows the active set, waits for its
//! minimum and factor, does not rewrite a journal it could hardly prune, and after a failure leaves the journal as it
//! was and waits before trying again.

use std::sync::atomic::Ordering;

use super::*;
use crate::journal;

#[tokio::test]
async fn the_policy_compacts_by_itself_once_history_outgrows_the_active_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    ledger.set_compaction_policy(Some(CompactionPolicy {
        history_factor: 2.0,
        min_transactions: 50,
        deduplication_window: Duration::ZERO,
    }));
    // One contract moved over and over: history grows, the active set stays at one. Once 50 transactions are
    // durable (50 > 2 x 1 active), a commit starts a compaction in the background.
    let id = created_id(&ledger.submit(create("c")).await.expect("create"));
    let id = moved(&ledger, id, "m", 59).await;
    let mut waited = 0;
    while ledger.readable_from() == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    let snapshot = ledger.readable_from();
    assert!(
        (50..=60).contains(&snapshot),
        "compacted by itself at {snapshot}"
    );
    drop(ledger);
    let (ledger, report) = open(&path).await;
    assert_eq!(report.snapshot_offset, snapshot);
    assert_eq!(
        report.transactions,
        1 + (60 - snapshot) as u64,
        "one retained, then the tail"
    );
    assert_eq!(active(&ledger).await[0].created.contract_id, id);
}

#[tokio::test]
async fn the_policy_waits_for_its_minimum_and_factor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    ledger.set_compaction_policy(Some(CompactionPolicy {
        history_factor: 2.0,
        min_transactions: 50,
        deduplication_window: Duration::ZERO,
    }));
    // 60 transactions but 60 active contracts: history is not twice the active set.
    for i in 0..60 {
        ledger
            .submit(create(&format!("c{i}")))
            .await
            .expect("create");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(ledger.readable_from(), 0);
}

#[tokio::test]
async fn a_failed_automatic_compaction_leaves_the_journal_and_waits_before_trying_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    // A directory where the compacted journal would be written: every compaction fails at its first step.
    std::fs::create_dir(journal::compact_path(&path)).expect("block the .compact path");
    ledger.set_compaction_policy(Some(CompactionPolicy {
        history_factor: 1.0,
        min_transactions: 5,
        deduplication_window: Duration::ZERO,
    }));
    let mut id = created_id(&ledger.submit(create("c")).await.expect("create"));
    for i in 0..39 {
        id = created_id(
            &ledger
                .submit(exercise(&format!("m{i}"), &id))
                .await
                .expect("move"),
        );
        // Let a background attempt finish before the next commit, so each commit could start one.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let failures = ledger.inner.automatic_failures.load(Ordering::Relaxed);
    // Due from offset 5 on, then once per 5 more transactions after each failure: at most 8 attempts in 40.
    assert!(
        (1..=8).contains(&failures),
        "{failures} failed attempts for 40 commits"
    );
    assert_eq!(ledger.readable_from(), 0, "the journal is unchanged");
    // Once the disk is usable again, the next due attempt succeeds.
    std::fs::remove_dir(journal::compact_path(&path)).expect("unblock");
    let id = moved(&ledger, id, "n", 10).await;
    let mut waited = 0;
    while ledger.readable_from() == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    assert!(ledger.readable_from() > 0, "compacted once possible");
    drop(ledger);
    let (ledger, _) = open(&path).await;
    assert_eq!(active(&ledger).await[0].created.contract_id, id);
}

#[tokio::test]
async fn the_policy_does_not_rewrite_a_journal_it_could_hardly_prune() {
    // Everything is inside a long deduplication window: an automatic compaction would only copy the journal.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    ledger.set_compaction_policy(Some(CompactionPolicy {
        history_factor: 2.0,
        min_transactions: 50,
        deduplication_window: Duration::from_secs(3600),
    }));
    let id = created_id(&ledger.submit(create("c")).await.expect("create"));
    moved(&ledger, id, "m", 80).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ledger.readable_from(), 0, "no compaction ran");
    let bytes = std::fs::metadata(&path).expect("journal").len();
    drop(ledger);
    let (_, report) = open(&path).await;
    assert_eq!(
        report.snapshot_offset, 0,
        "still the original journal ({bytes} bytes)"
    );
}
