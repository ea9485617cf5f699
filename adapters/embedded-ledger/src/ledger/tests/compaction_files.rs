//! The journal's files across compaction: a journal is opened by one ledger at a time, a version 1 journal still
//! opens and compacts, a `.compact` file left by an interrupted compaction is removed at open, and a crash at every
//! step of compaction leaves the old or the new journal, whole.

use super::*;
use crate::compaction::{ABORT_AT_ENV, Step};
use crate::journal;

/// Where the crash test's child finds its journal.
const CHILD_JOURNAL_ENV: &str = "EMBEDDED_LEDGER_COMPACTION_CHILD_JOURNAL";

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
                "ledger::tests::compaction_files::a_crash_at_every_step_of_compaction_leaves_the_old_or_the_new_journal",
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
