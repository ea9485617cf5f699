//! What a compaction keeps and how the ledger goes on after it: the compacted journal replays to the same ledger
//! and is smaller, new commits get fresh ids, a duplicate inside the deduplication window gets its original
//! transaction back, what a reader after the floor has not read is kept, a transaction kept for the window is pruned
//! once it leaves it, and commits go on while the journal is compacted.

use ledger_port::ServableLedger;

use super::*;

#[tokio::test]
async fn a_compacted_journal_replays_to_the_same_ledger_and_is_smaller() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    history(&ledger).await;
    let before = observe(&ledger).await;
    assert_eq!((before.end, before.active.len()), (90, 40));
    let size_before = std::fs::metadata(&path).expect("journal").len();

    ledger.set_deduplication_window(Duration::ZERO);
    let report = ledger.compact().await.expect("compact");
    assert_eq!(report.snapshot_offset, 90);
    assert_eq!(report.active_contracts, 40);
    // The creators of the 40 active contracts, and the last transaction (the window's end) is one of them.
    assert_eq!(report.retained, 40);
    assert_eq!(
        observe(&ledger).await,
        before,
        "the running ledger is unchanged"
    );
    let size_after = std::fs::metadata(&path).expect("journal").len();
    assert_eq!(report.bytes_after, size_after);
    // 40 of 90 transactions kept, the larger ones (moves) among them.
    assert!(
        size_after * 10 < size_before * 6,
        "{size_after} bytes after, {size_before} before"
    );
    drop(ledger);

    let (ledger, report) = open(&path).await;
    assert_eq!(report.snapshot_offset, 90);
    assert_eq!(report.transactions, 40);
    assert_eq!(
        observe(&ledger).await,
        before,
        "the replayed ledger is the same"
    );
    // Archived and superseded transactions are gone, the active contracts' creators are there, by offset and id.
    for contract in &before.active {
        let tx = ledger
            .transaction_by_update_id(&contract.created_update_id)
            .await
            .expect("lookup")
            .expect("the creating transaction is retained");
        assert_eq!(tx.offset, contract.created.offset);
    }
    // A compacted journal compacts again (version 2 on both sides) to the same ledger.
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact again");
    drop(ledger);
    let (ledger, _) = open(&path).await;
    assert_eq!(observe(&ledger).await, before);
}

#[tokio::test]
async fn new_commits_after_compaction_get_fresh_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let old = history(&ledger).await;
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    drop(ledger);

    let (ledger, _) = open(&path).await;
    let new = ledger.submit(create("after")).await.expect("create");
    assert_eq!(new.offset, 91, "offsets go on from the snapshot's end");
    let moved = ledger
        .submit(exercise("after-move", &created_id(&new)))
        .await
        .expect("move");
    assert_eq!(moved.offset, 92);
    for tx in &old {
        assert_ne!(tx.update_id, new.update_id);
        assert_ne!(tx.update_id, moved.update_id);
        assert_ne!(created_id(tx), created_id(&new));
        assert_ne!(created_id(tx), created_id(&moved));
    }
    assert_eq!(active(&ledger).await.len(), 41);
    drop(ledger);
    let (ledger, report) = open(&path).await;
    assert_eq!(report.transactions, 42, "40 retained, 2 after the snapshot");
    assert_eq!(ledger.ledger_end().await.expect("end"), 92);
}

#[tokio::test]
async fn a_duplicate_inside_the_window_gets_its_original_transaction_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let mut old = history(&ledger).await;
    // Five more moves of one contract (offsets 91 to 95): each but the last created a contract the next archived,
    // so only the deduplication window can keep them.
    let mut id = created_id(&old[70]);
    for i in 0..5 {
        let tx = ledger
            .submit(exercise(&format!("w{i}"), &id))
            .await
            .expect("move");
        id = created_id(&tx);
        old.push(tx);
    }
    // The fixed clock gives offset N the time N µs: a 3 µs window holds offsets 92 to 95.
    ledger.set_deduplication_window(Duration::from_micros(3));
    let report = ledger.compact().await.expect("compact");
    assert_eq!(
        report.retained,
        40 + 3,
        "the active set's creators and w1 to w3"
    );
    drop(ledger);
    let (ledger, _) = open(&path).await;

    for (command, offset) in [("w1", 92), ("w2", 93), ("w3", 94)] {
        let original = &old[offset - 1];
        assert_eq!(original.command_id, command);
        let again = ledger
            .submit_reporting_duplicates(exercise(command, "any contract"))
            .await
            .expect("a duplicate is answered");
        assert!(again.duplicate, "{command} is inside the window");
        assert_eq!(
            &again.transaction, original,
            "{command} gets its original back"
        );
    }
    // w0 (offset 91) is outside the window and its transaction was pruned: the ledger no longer knows the command,
    // as a Daml participant past its deduplication period would not (its contract is archived, so it is refused).
    assert_eq!(old[90].command_id, "w0");
    let again = ledger
        .submit_reporting_duplicates(exercise("w0", &created_id(&old[70])))
        .await;
    assert!(
        !matches!(&again, Ok(o) if o.duplicate),
        "outside the window the command is not deduplicated: {again:?}"
    );
}

#[tokio::test]
async fn compaction_keeps_what_a_reader_after_the_floor_has_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let old = history(&ledger).await;
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.set_compaction_floor(Arc::new(|| 70));
    let report = ledger.compact().await.expect("compact");
    assert_eq!(report.readable_from, 70);
    drop(ledger);
    let (ledger, _) = open(&path).await;
    let stream = ledger
        .updates(70, &UpdateFilter::default())
        .await
        .expect("from the floor");
    let got: Vec<Transaction> = stream.take(20).map(|r| r.expect("update")).collect().await;
    assert_eq!(got, old[70..].to_vec());
    assert!(ledger.updates(69, &UpdateFilter::default()).await.is_err());
}

#[tokio::test]
async fn commits_go_on_while_the_journal_is_compacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    history(&ledger).await;
    ledger.set_deduplication_window(Duration::ZERO);
    let ledger = Arc::new(ledger);
    let submitter = {
        let ledger = Arc::clone(&ledger);
        tokio::spawn(async move {
            let mut txs = Vec::new();
            for i in 0..200 {
                txs.push(ledger.submit(create(&format!("during{i}"))).await);
            }
            txs
        })
    };
    let mut compactions = 0;
    while !submitter.is_finished() {
        if ledger.compact().await.is_ok() {
            compactions += 1;
        }
        tokio::task::yield_now().await;
    }
    let txs = submitter.await.expect("submitter");
    assert!(compactions >= 1);
    for (i, tx) in txs.iter().enumerate() {
        assert_eq!(tx.as_ref().expect("committed").offset, 91 + i as i64);
    }
    let before = observe(&ledger).await;
    assert_eq!((before.end, before.active.len()), (290, 240));
    drop(ledger);
    let (ledger, _) = open(&path).await;
    assert_eq!(observe(&ledger).await, before);
}

#[tokio::test]
async fn a_transaction_kept_for_the_window_is_pruned_once_it_leaves_it() {
    // Effective times are offset microseconds (Clock::Fixed(0)); the window is 30 of them. The second compaction
    // comes before the window has moved past the first snapshot, so the window reaches back below it: the records
    // kept there for the window must be judged by their own times, not all kept again (or they never go).
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    ledger.set_deduplication_window(Duration::from_micros(30));
    let id = created_id(&ledger.submit(create("c")).await.expect("create"));
    let id = moved(&ledger, id, "a", 99).await;
    ledger.compact().await.expect("compact");
    assert!(
        ledger.transaction_by_offset(75).await.is_ok(),
        "inside the window at 100"
    );
    moved(&ledger, id, "b", 20).await;
    ledger.compact().await.expect("compact again");
    // At 120 the window starts at offset 90: 75 left it, 95 did not.
    let pruned = ledger.transaction_by_offset(75).await;
    assert!(pruned.is_err(), "75 left the window: {pruned:?}");
    let kept = ledger.transaction_by_offset(95).await.expect("95 is kept");
    assert!(kept.is_some());
}
