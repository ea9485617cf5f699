//! With a journal, the ledger keeps only recent transactions in memory: everything older is read back from the
//! journal, and must answer exactly as before (exercises, deduplication, lookups, streams, the active set); a record
//! changed on disk is an error, never a wrong answer.

use std::io::{Seek, SeekFrom, Write};

use ledger_port::ServableLedger;

use super::*;

#[tokio::test]
async fn old_transactions_are_read_back_from_the_journal() {
    let (_dir, ledger) = journaled().await;
    ledger.inner.lock().set_recent_window(2);
    let mut originals = vec![];
    for i in 0..10 {
        originals.push(
            ledger
                .submit(create(&format!("c{i}")))
                .await
                .expect("create"),
        );
    }
    assert!(
        ledger.inner.lock().transactions_in_memory() <= 2,
        "all but the recent window left memory"
    );

    // An exercise of a contract created long ago: its payload comes from the journal.
    let oldest = created_id(&originals[0]);
    let moved = ledger
        .submit(exercise("m0", &oldest))
        .await
        .expect("exercise an old contract");
    assert_eq!(moved.offset, 11);

    // Deduplication of an old command answers with the original transaction, changing nothing.
    let again = ledger.submit(create("c1")).await.expect("resubmission");
    assert_eq!(again, originals[1]);
    assert_eq!(ledger.ledger_end().await.expect("end"), 11);

    // Lookups by update id and offset.
    let by_update = ledger
        .transaction_by_update_id(&originals[2].update_id)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(by_update, originals[2]);
    let by_offset = ledger
        .transaction_by_offset(4)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(by_offset, originals[3]);

    // A stream from the start reads the old ones back, then the live tail.
    let mut stream = ledger
        .updates(0, &UpdateFilter::default())
        .await
        .expect("stream");
    assert_eq!(
        drain(&mut stream, Duration::from_millis(200)).await,
        (1..=11).collect::<Vec<_>>()
    );

    // The active set: c1..c9 and m0's successor, payloads as created.
    let acs = ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .expect("acs");
    assert_eq!(acs.offset, 11);
    assert_eq!(acs.contracts.len(), 10);
    for (contract, original) in acs.contracts.iter().zip(&originals[1..]) {
        assert_eq!(contract.created_update_id, original.update_id);
        assert_eq!(Event::Created(contract.created.clone()), original.events[0]);
    }
    let mut ids = active_ids(&ledger).await;
    ids.sort();
    assert!(
        !ids.contains(&oldest),
        "the exercised contract was archived"
    );
    assert!(ids.contains(&created_id(&moved)));
    assert_eq!(ledger.transactions().expect("read the log").len(), 11);
}

#[tokio::test]
async fn a_record_changed_on_disk_is_an_error_not_a_wrong_answer() {
    let (dir, ledger) = journaled().await;
    // Where the first transaction record will start: after the header and the (empty) snapshot record.
    let first_record = std::fs::metadata(dir.path().join("ledger.log"))
        .expect("journal")
        .len();
    ledger.inner.lock().set_recent_window(0);
    ledger.submit(create("c0")).await.expect("c0");
    ledger.submit(create("c1")).await.expect("c1");
    assert_eq!(ledger.inner.lock().transactions_in_memory(), 0);

    // Overwrite a byte inside the first transaction record's payload (12-byte record header).
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("ledger.log"))
        .expect("open the journal");
    file.seek(SeekFrom::Start(first_record + 32)).expect("seek");
    file.write_all(b"#").expect("write");
    drop(file);

    let err = ledger
        .transaction_by_offset(1)
        .await
        .expect_err("a changed record is refused");
    assert_eq!(err.ledger_error.as_deref(), Some("JOURNAL_FAILED"));
    assert!(err.message.contains("offset 1"), "{}", err.message);
    assert_eq!(
        ledger
            .transaction_by_offset(2)
            .await
            .expect("the other record reads")
            .map(|tx| tx.offset),
        Some(2)
    );

    let mut stream = ledger
        .updates(0, &UpdateFilter::default())
        .await
        .expect("stream");
    let first = tokio::time::timeout(Duration::from_secs(1), stream.next())
        .await
        .expect("an item");
    assert!(
        matches!(first, Some(Err(_))),
        "the stream reports the error"
    );
    let next = tokio::time::timeout(Duration::from_secs(1), stream.next())
        .await
        .expect("the stream ends");
    assert!(next.is_none(), "nothing is read after the error");

    let acs = ledger.active_contracts(&UpdateFilter::default()).await;
    assert!(
        acs.is_err(),
        "the active set cannot be listed past a bad record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_active_set_streams_in_ledger_order_from_several_readers() {
    let (_dir, ledger) = journaled().await;
    ledger.inner.lock().set_recent_window(0);
    let mut pending = vec![];
    for i in 0..1000 {
        pending.push(
            ledger
                .sequence(create(&format!("c{i}")))
                .await
                .expect("sequenced"),
        );
    }
    for p in pending {
        p.committed().await.expect("committed");
    }
    let stream = ledger
        .active_contract_stream(&UpdateFilter::default())
        .await
        .expect("stream");
    assert_eq!(stream.offset, 1000);
    let offsets: Vec<i64> = stream
        .contracts
        .map(|c| c.expect("read back").created.offset)
        .collect()
        .await;
    assert_eq!(
        offsets,
        (1..=1000).collect::<Vec<_>>(),
        "every contract, in ledger order"
    );
}

/// A reader that has seen the end of the active set holds nothing of the ledger any more: dropping the ledger then
/// releases the journal's lock at once, so the journal can be opened again (a restart, `connector compact`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_dropped_after_reading_its_active_set_can_be_opened_again_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    for i in 0..600 {
        ledger
            .submit(create(&format!("c{i}")))
            .await
            .expect("create");
    }
    drop(ledger);
    for round in 0..200 {
        let (ledger, _) = EmbeddedLedger::open(&path, catalog(), Clock::Fixed(0))
            .await
            .unwrap_or_else(|e| panic!("round {round}: the journal is still locked: {e:?}"));
        assert_eq!(active(&ledger).await.len(), 600);
        drop(ledger);
    }
}
