//! Unit tests of the embedded ledger that need its private state: group commit, reads from the journal, and journal
//! compaction. (Semantics, streams and journal recovery through the port are tested in `tests/ledger.rs`.)
//!
//! This module holds the shared set-up: a one-template catalog, submissions, journaled ledgers, and what the
//! compaction tests build and compare; each submodule tests one concern.

mod compaction;
mod compaction_files;
mod compaction_policy;
mod compaction_pruned_reads;
mod group_commit;
mod journal_read;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use ledger_port::{
    ActiveContract, Command, Event, Ledger, LedgerValue, Record, Submission, TemplateId,
    UpdateFilter, UpdateStream,
};

use super::*;
use crate::catalog::{ChoiceKind, ChoiceSpec, TemplateSpec};

fn template() -> TemplateId {
    TemplateId::parse("Cold:Shipment").expect("template id")
}

fn catalog() -> TemplateCatalog {
    TemplateCatalog {
        templates: vec![TemplateSpec {
            id: template(),
            ensure: vec![],
            choices: vec![ChoiceSpec {
                name: "Move".into(),
                kind: ChoiceKind::Consuming,
                when: vec![],
                controllers: vec![],
                assert: vec![],
                set_fields: vec![],
                rules: vec![],
            }],
        }],
    }
}

fn create(command_id: &str) -> Submission {
    Submission {
        command_id: command_id.into(),
        act_as: vec!["Op".into()],
        command: Command::Create {
            template_id: template(),
            arguments: Record::new().with("linearId", LedgerValue::Text(command_id.into())),
        },
    }
}

fn exercise(command_id: &str, contract_id: &str) -> Submission {
    Submission {
        command_id: command_id.into(),
        act_as: vec!["Op".into()],
        command: Command::Exercise {
            template_id: template(),
            contract_id: contract_id.into(),
            choice: "Move".into(),
            argument: LedgerValue::Record(Record::new()),
        },
    }
}

fn created_id(tx: &Transaction) -> String {
    tx.events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Created(c) => Some(c.contract_id.clone()),
            _ => None,
        })
        .expect("a created event")
}

async fn journaled() -> (tempfile::TempDir, EmbeddedLedger) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _) =
        EmbeddedLedger::open(&dir.path().join("ledger.log"), catalog(), Clock::Fixed(0))
            .await
            .expect("open journal");
    (dir, ledger)
}

/// The offsets a stream yields within `wait`.
async fn drain(stream: &mut UpdateStream, wait: Duration) -> Vec<i64> {
    let mut offsets = vec![];
    while let Ok(Some(Ok(tx))) = tokio::time::timeout(wait, stream.next()).await {
        offsets.push(tx.offset);
    }
    offsets
}

async fn active_ids(ledger: &EmbeddedLedger) -> Vec<String> {
    ledger
        .active_contracts(&UpdateFilter::default())
        .await
        .expect("acs")
        .contracts
        .into_iter()
        .map(|c| c.created.contract_id)
        .collect()
}

/// A journaled ledger at `path` with the effective times of [`Clock::Fixed`]`(0)`.
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
