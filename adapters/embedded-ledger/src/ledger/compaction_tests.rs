//! Journal compaction: the compacted journal replays to the same ledger, ids stay and never collide, duplicates
//! inside the deduplication window keep their answer, pruned reads are refused, a crash at every step of compaction
//! leaves a whole journal, commits go on during it, and the automatic policy triggers it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use ledger_port::{ActiveContract, Ledger, PrunedOffset, ServableLedger, UpdateFilter};

use super::tests::{catalog, create, created_id, exercise};
use super::*;
use crate::compaction::{ABORT_AT_ENV, Step};
use crate::journal;

/// Where the crash test's child finds its journal.
const CHILD_JOURNAL_ENV: &str = "EMBEDDED_LEDGER_COMPACTION_CHILD_JOURNAL";

async fn open(path: &Path) -> (EmbeddedLedger, RecoveryReport) {
    EmbeddedLedger::open(path, catalog(), Clock::Fixed(0))
        .await
        .expect("open the journal")
}

async fn active(ledger: &EmbeddedLedger) -> Vec<ActiveContract> {
    let mut contracts = ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .expect("acs")
        .contracts;
    contracts.sort_by(|a, b| a.created.contract_id.cmp(&b.created.contract_id));
    contracts
}

/// 40 creates, 30 of their contracts moved (archive + create) and 20 of those moved again: history of 90
/// transactions, 40 active contracts. Returns the transactions in offset order.
async fn history(ledger: &EmbeddedLedger) -> Vec<Transaction> {
    let mut txs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..40 {
        let tx = ledger
            .submit(create(&format!("c{i}")))
            .await
            .expect("create");
        ids.push(created_id(&tx));
        txs.push(tx);
    }
    for round in 0..2 {
        for (i, id) in ids.iter_mut().enumerate().take(30 - round * 10) {
            let tx = ledger
                .submit(exercise(&format!("m{round}-{i}"), id))
                .await
                .expect("move");
            *id = created_id(&tx);
            txs.push(tx);
        }
    }
    txs
}

/// What must not change across compaction and reopening.
#[derive(Debug, PartialEq)]
struct Observed {
    end: i64,
    active: Vec<ActiveContract>,
}

async fn observe(ledger: &EmbeddedLedger) -> Observed {
    Observed {
        end: ledger.ledger_end().await.expect("end"),
        active: active(ledger).await,
    }
}

fn journal_in(dir: &Path) -> PathBuf {
    dir.join("ledger.log")
}

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
async fn a_journal_is_opened_by_one_ledger_at_a_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let err = EmbeddedLedger::open(&path, catalog(), Clock::Fixed(0))
        .await
        .err()
        .expect("a second open is refused");
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("ledger.log.lock"), "{err}");
    drop(ledger);
    open(&path).await;
}

#[tokio::test]
async fn a_version_1_journal_still_opens_and_compacts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    let old = history(&ledger).await;
    let before = observe(&ledger).await;
    drop(ledger);
    // The same transactions in the version-1 layout: header, then records from offset 1.
    let mut v1 = b"CLEDGER\x01".to_vec();
    for tx in &old {
        let payload = serde_json::to_vec(tx).expect("json");
        v1.extend(journal::encode_payload(&payload).0);
    }
    std::fs::write(&path, &v1).expect("write v1");
    let (ledger, report) = open(&path).await;
    assert_eq!(report.transactions, 90);
    assert_eq!(observe(&ledger).await, before);
    ledger
        .submit(create("on-v1"))
        .await
        .expect("appends to a v1 journal");
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact a v1 journal");
    let after = observe(&ledger).await;
    drop(ledger);
    assert_eq!(
        std::fs::read(&path).expect("journal")[7],
        2,
        "now version 2"
    );
    let (ledger, _) = open(&path).await;
    assert_eq!(observe(&ledger).await, after);
}

#[tokio::test]
async fn a_leftover_compact_file_is_removed_at_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = journal_in(dir.path());
    let (ledger, _) = open(&path).await;
    history(&ledger).await;
    let before = observe(&ledger).await;
    drop(ledger);
    let leftover = journal::compact_path(&path);
    std::fs::write(&leftover, b"CLEDGER\x02 half a compaction").expect("leftover");
    let (ledger, report) = open(&path).await;
    assert!(report.removed_unfinished_compaction);
    assert!(!leftover.exists());
    assert_eq!(observe(&ledger).await, before);
}

/// The child side of the crash test: compacts the journal it is given, with a fault point set to abort.
async fn crash_child(journal: &Path) {
    let (ledger, _) = open(journal).await;
    ledger.set_deduplication_window(Duration::ZERO);
    let outcome = ledger.compact().await;
    // Reached only if the fault point did not fire: the parent sees exit code 3 instead of an abort.
    eprintln!("the compaction was not interrupted: {outcome:?}");
    std::process::exit(3);
}

#[tokio::test]
async fn a_crash_at_every_step_of_compaction_leaves_the_old_or_the_new_journal() {
    if let Some(journal) = std::env::var_os(CHILD_JOURNAL_ENV) {
        crash_child(Path::new(&journal)).await;
        return;
    }
    let me = std::env::current_exe().expect("the test binary");
    for step in Step::ALL {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = journal_in(dir.path());
        let (ledger, _) = open(&path).await;
        let old = history(&ledger).await;
        let before = observe(&ledger).await;
        drop(ledger);
        let old_bytes = std::fs::read(&path).expect("journal");

        let status = std::process::Command::new(&me)
            .args([
                "--exact",
                "ledger::compaction_tests::a_crash_at_every_step_of_compaction_leaves_the_old_or_the_new_journal",
                "--test-threads=1",
            ])
            .env(CHILD_JOURNAL_ENV, &path)
            .env(ABORT_AT_ENV, step.name())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run the child");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGABRT),
            "the child must die at step {step:?}: {status:?}"
        );

        let (ledger, report) = open(&path).await;
        assert!(!journal::compact_path(&path).exists(), "{step:?}");
        assert_eq!(observe(&ledger).await, before, "after a crash at {step:?}");
        let renamed = matches!(step, Step::Renamed | Step::DirectorySynced);
        if renamed {
            assert_eq!(report.snapshot_offset, 90, "{step:?}: the new journal");
            assert_eq!(ledger.readable_from(), 90);
        } else {
            assert_eq!(report.snapshot_offset, 0, "{step:?}: the old journal");
            assert!(report.removed_unfinished_compaction, "{step:?}");
            assert_eq!(std::fs::read(&path).expect("journal"), old_bytes);
        }
        // Ids stay: every active contract's creating transaction is the one it was; new ones are fresh.
        for contract in &before.active {
            let creator = &old[contract.created.offset as usize - 1];
            assert_eq!(contract.created_update_id, creator.update_id);
        }
        let next = ledger.submit(create("after-crash")).await.expect("commit");
        assert_eq!(next.offset, 91, "{step:?}");
        assert!(old.iter().all(|tx| created_id(tx) != created_id(&next)));
    }
}

/// A contract moved `moves` times from `id`; returns its last contract id.
async fn moved(ledger: &EmbeddedLedger, mut id: String, prefix: &str, moves: usize) -> String {
    for i in 0..moves {
        id = created_id(
            &ledger
                .submit(exercise(&format!("{prefix}{i}"), &id))
                .await
                .expect("move"),
        );
    }
    id
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
