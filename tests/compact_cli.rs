//! `connector compact` as a user runs it: a journal built by `connector process` compacts to the same ledger (end,
//! active contracts, identity file) keeping what the observer checkpoint in `state_dir` has not published, a journal
//! held open by a ledger is refused, and the config's automatic compaction reaches the ledger the gateway opens.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ledger_port::{ActiveContract, Ledger, UpdateFilter};
use support::EXAMPLE_DIR;

fn connector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_connector"))
}

/// The example config with its journal and state in `dir` and `extra` added to `ledger.embedded`.
fn config_in(dir: &Path, extra: &str) -> PathBuf {
    let example = std::fs::read_to_string(Path::new(EXAMPLE_DIR).join("connector.yaml"))
        .expect("the example config");
    let text = example
        .replace(
            "  embedded: {}",
            &format!(
                "  embedded: {{ journal: {}, {extra} }}",
                dir.join("ledger.log").display()
            ),
        )
        .replace(
            "state_dir: ./data",
            &format!("state_dir: {}", dir.join("state").display()),
        );
    let path = dir.join("connector.yaml");
    std::fs::write(&path, text).expect("write the config");
    path
}

async fn open(dir: &Path) -> embedded_ledger::EmbeddedLedger {
    let config = connector::config::Config::load(&dir.join("connector.yaml")).expect("config");
    let mapping = connector::mapping::WorkflowMapping::compile(&config.workflows).expect("mapping");
    let catalog =
        connector::mapping::template_catalog(&config.workflows, &mapping).expect("catalog");
    embedded_ledger::EmbeddedLedger::open(
        &dir.join("ledger.log"),
        catalog,
        ledger_port::Clock::System,
    )
    .await
    .expect("open the journal")
    .0
}

async fn state(ledger: &embedded_ledger::EmbeddedLedger) -> (i64, Vec<ActiveContract>) {
    let mut active = ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .expect("acs")
        .contracts;
    active.sort_by(|a, b| a.created.contract_id.cmp(&b.created.contract_id));
    (ledger.ledger_end().await.expect("end"), active)
}

#[tokio::test]
async fn connector_compact_keeps_the_ledger_and_refuses_a_journal_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_in(dir.path(), "deduplication_window: 0ms");
    let out = connector()
        .args(["process", "--config"])
        .arg(&config)
        .arg("--input")
        .arg(Path::new(EXAMPLE_DIR).join("messages.jsonl"))
        .output()
        .expect("run connector process");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = dir.path().join("ledger.log");
    let identity = std::fs::read(dir.path().join("ledger.log.id")).ok();
    let size_before = std::fs::metadata(&journal).expect("journal").len();
    let ledger = open(dir.path()).await;
    let before = state(&ledger).await;
    assert!(
        before.0 > before.1.len() as i64,
        "history beyond the active set: {}",
        before.0
    );

    // While a ledger has the journal open, compaction is refused and changes nothing.
    let refused = connector()
        .args(["compact", "--config"])
        .arg(&config)
        .output()
        .expect("run connector compact");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(stderr.contains("ledger.log.lock"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&journal).expect("journal").len(),
        size_before
    );
    drop(ledger);
    // The gateway's observer has published up to here: compaction must keep what follows.
    let checkpoint = before.0 - 3;
    {
        use connector::outcome_store::OutcomeStore;
        let store = connector::outcome_store::RedbOutcomeStore::open(
            &dir.path().join("state").join("outcomes.redb"),
        )
        .expect("state store");
        store.set_checkpoint(checkpoint).expect("checkpoint");
        store.flush().expect("flush");
    }

    let out = connector()
        .args(["compact", "--config"])
        .arg(&config)
        .output()
        .expect("run connector compact");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("compacted at offset {}", before.0)),
        "{stdout}"
    );
    let size_after = std::fs::metadata(&journal).expect("journal").len();
    assert!(size_after < size_before, "{size_after} < {size_before}");
    assert_eq!(
        std::fs::read(dir.path().join("ledger.log.id")).ok(),
        identity,
        "the ledger's identity stays"
    );
    let ledger = open(dir.path()).await;
    assert_eq!(
        state(&ledger).await,
        before,
        "the same ledger after compaction"
    );
    assert_eq!(
        ledger.readable_from(),
        checkpoint,
        "kept after the observer checkpoint"
    );
    let _resumed = ledger
        .updates(checkpoint, &UpdateFilter::default())
        .await
        .expect("the observer can resume");
    let pruned = ledger
        .updates(checkpoint - 1, &UpdateFilter::default())
        .await
        .err()
        .expect("history before the snapshot is pruned");
    assert!(pruned.is_pruned(), "{pruned:?}");
}

#[tokio::test]
async fn the_configured_policy_compacts_the_gateways_ledger_by_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    // History first, under the default policy (100,000 transactions before anything is compacted).
    let config = config_in(dir.path(), "deduplication_window: 0ms");
    let out = connector()
        .args(["process", "--config"])
        .arg(&config)
        .arg("--input")
        .arg(Path::new(EXAMPLE_DIR).join("messages.jsonl"))
        .output()
        .expect("run connector process");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Then the ledger as the gateway opens it, with a policy the history already exceeds.
    config_in(
        dir.path(),
        "compact_when_history_exceeds: 1, compact_min_transactions: 5, deduplication_window: 0ms",
    );
    let config =
        connector::config::Config::load(&dir.path().join("connector.yaml")).expect("config");
    let mapping = connector::mapping::WorkflowMapping::compile(&config.workflows).expect("mapping");
    let opened = connector::ledger_factory::open_ledger(
        &config,
        &mapping,
        ledger_port::Clock::System,
        connector::ledger_factory::EmbeddedStorage::Durable,
    )
    .await
    .expect("open");
    let ledger = opened.embedded.expect("embedded");
    assert_eq!(ledger.readable_from(), 0);
    // One more commit (a create the ledger accepted before, under a new command id) lets the policy act.
    let created = ledger
        .transactions()
        .expect("history")
        .iter()
        .find_map(|tx| match tx.events.first() {
            Some(ledger_port::Event::Created(c)) => Some(c.clone()),
            _ => None,
        })
        .expect("a create in the history");
    let end = ledger.ledger_end().await.expect("end");
    ledger
        .submit(ledger_port::Submission {
            command_id: "one-more".to_owned(),
            act_as: created.signatories.clone(),
            command: ledger_port::Command::Create {
                template_id: created.template_id.clone(),
                arguments: created.arguments.clone(),
            },
        })
        .await
        .expect("commit");
    let mut waited = 0;
    while ledger.readable_from() == 0 && waited < 250 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    assert!(
        ledger.readable_from() >= end,
        "compacted by itself: {}",
        ledger.readable_from()
    );
}
