//! The embedded ledger's semantics, streams, deduplication, faults and journal recovery.

use std::time::Duration;

use embedded_ledger::*;
use futures::StreamExt;
use ledger_port::*;

fn tid(entity: &str) -> TemplateId {
    TemplateId::parse(&format!("Cold:{entity}")).unwrap()
}

fn catalog() -> TemplateCatalog {
    let choice = |name: &str, kind: ChoiceKind| ChoiceSpec {
        name: name.into(),
        kind,
        when: vec![],
        controllers: vec![],
        assert: vec![],
        set_fields: vec![],
        rules: vec![],
    };
    TemplateCatalog {
        templates: vec![
            TemplateSpec {
                id: tid("Shipment"),
                ensure: vec![Condition::parse("min <= max").unwrap()],
                choices: vec![
                    ChoiceSpec {
                        when: vec![("state".into(), vec!["Created".into(), "InTransit".into()])],
                        controllers: vec!["device".into()],
                        assert: vec![Condition::parse("arg.reading < 1000").unwrap()],
                        rules: vec![Rule {
                            condition: Condition::parse("arg.reading > max").unwrap(),
                            set_fields: vec![(
                                "state".into(),
                                FieldValue::Constant(LedgerValue::Text("OutOfCompliance".into())),
                            )],
                        }],
                        ..choice("Ingest", ChoiceKind::Consuming)
                    },
                    ChoiceSpec {
                        set_fields: vec![
                            (
                                "state".into(),
                                FieldValue::Constant(LedgerValue::Text("InTransit".into())),
                            ),
                            ("mover".into(), FieldValue::ActingParty),
                        ],
                        ..choice("Transfer", ChoiceKind::Consuming)
                    },
                    choice("Peek", ChoiceKind::NonConsuming),
                    choice("Cancel", ChoiceKind::Archive),
                ],
            },
            TemplateSpec {
                id: tid("Other"),
                ensure: vec![],
                choices: vec![],
            },
        ],
    }
}

fn payload(min: i64, max: i64) -> Record {
    Record::new()
        .with(
            "linearId",
            LedgerValue::Text("6a3c6c1e-0000-4000-8000-000000000001".into()),
        )
        .with("device", LedgerValue::Party("Dev".into()))
        .with("min", LedgerValue::Int64(min))
        .with("max", LedgerValue::Int64(max))
        .with("state", LedgerValue::Text("Created".into()))
}

fn create(cmd: &str, min: i64, max: i64) -> Submission {
    Submission {
        command_id: cmd.into(),
        act_as: vec!["Op".into()],
        command: Command::Create {
            template_id: tid("Shipment"),
            arguments: payload(min, max),
        },
    }
}

fn exercise(cmd: &str, contract: &str, choice: &str, arg: Record, party: &str) -> Submission {
    Submission {
        command_id: cmd.into(),
        act_as: vec![party.into()],
        command: Command::Exercise {
            template_id: tid("Shipment"),
            contract_id: contract.into(),
            choice: choice.into(),
            argument: LedgerValue::Record(arg),
        },
    }
}

fn created(tx: &Transaction) -> &CreatedEvent {
    tx.events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Created(c) => Some(c),
            _ => None,
        })
        .unwrap()
}

fn ledger() -> EmbeddedLedger {
    EmbeddedLedger::in_memory(catalog(), Clock::Fixed(1_000_000))
}

#[tokio::test]
async fn create_and_every_choice_kind() {
    let l = ledger();
    let tx = l.submit(create("c1", 1, 10)).await.unwrap();
    assert_eq!(tx.offset, 1);
    assert_eq!(tx.update_id.len(), 64);
    assert_eq!(tx.effective_at_micros, 1_000_001);
    let c1 = created(&tx).contract_id.clone();
    assert!(c1.starts_with("00") && c1.len() == 66);

    let peek = l
        .submit(exercise("p1", &c1, "Peek", Record::new(), "Op"))
        .await
        .unwrap();
    assert_eq!(peek.events.len(), 1, "nonconsuming: only the exercise");
    assert!(matches!(&peek.events[0], Event::Exercised(x) if !x.consuming));

    let moved = l
        .submit(exercise(
            "t1",
            &c1,
            "Transfer",
            Record::new().with("to", LedgerValue::Party("Carrier".into())),
            "Op",
        ))
        .await
        .unwrap();
    assert_eq!(moved.events.len(), 3);
    assert!(matches!(&moved.events[1], Event::Archived(a) if a.contract_id == c1));
    let succ = created(&moved);
    assert_eq!(
        succ.arguments.get("state"),
        Some(&LedgerValue::Text("InTransit".into()))
    );
    assert_eq!(
        succ.arguments.get("mover"),
        Some(&LedgerValue::Party("Op".into()))
    );
    assert_eq!(
        succ.arguments.get("to"),
        Some(&LedgerValue::Party("Carrier".into())),
        "argument fields are set"
    );
    assert_eq!(
        succ.arguments.get("linearId"),
        payload(1, 10).get("linearId"),
        "the lineage keeps its linear id"
    );
    let c2 = succ.contract_id.clone();

    let stale = l
        .submit(exercise("t2", &c1, "Peek", Record::new(), "Op"))
        .await
        .unwrap_err();
    assert_eq!(
        (stale.reason, stale.ledger_error.as_deref()),
        (RejectionReason::NotFound, Some("CONTRACT_NOT_FOUND"))
    );

    let cancel = l
        .submit(exercise("x1", &c2, "Cancel", Record::new(), "Op"))
        .await
        .unwrap();
    assert_eq!(
        cancel.events.len(),
        2,
        "archive: exercise and archive, no successor"
    );
    assert_eq!(l.active_count(), 0);
}

#[tokio::test]
async fn guards_controllers_assertions_rules_and_preconditions() {
    let l = ledger();
    let bad = l.submit(create("c0", 10, 1)).await.unwrap_err();
    assert_eq!(bad.reason, RejectionReason::Rejected);
    assert!(bad.message.contains("min <= max"));
    let c = created(&l.submit(create("c1", 1, 10)).await.unwrap())
        .contract_id
        .clone();
    let reading = |v: i64| Record::new().with("reading", LedgerValue::Int64(v));
    let e = l
        .submit(exercise("i0", &c, "Ingest", reading(5), "Op"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.reason, e.ledger_error.as_deref()),
        (RejectionReason::Forbidden, Some("DAML_AUTHORIZATION_ERROR"))
    );
    let e = l
        .submit(exercise("i1", &c, "Ingest", reading(5000), "Dev"))
        .await
        .unwrap_err();
    assert_eq!(e.reason, RejectionReason::Rejected);
    let e = l
        .submit(exercise("i2", &c, "Ingest", Record::new(), "Dev"))
        .await
        .unwrap_err();
    assert!(e.message.contains("\"reading\" was not given"), "{e}");
    let ok = l
        .submit(exercise("i3", &c, "Ingest", reading(50), "Dev"))
        .await
        .unwrap();
    let succ = created(&ok);
    assert_eq!(
        succ.arguments.get("state"),
        Some(&LedgerValue::Text("OutOfCompliance".into())),
        "the rule applied"
    );
    let e = l
        .submit(exercise(
            "i4",
            &succ.contract_id,
            "Ingest",
            reading(5),
            "Dev",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (e.reason, e.ledger_error.as_deref()),
        (RejectionReason::Conflict, Some("INVALID_STATE_TRANSITION"))
    );
    assert!(e.message.contains("OutOfCompliance"));
    let e = l
        .submit(exercise(
            "i5",
            &succ.contract_id,
            "Fly",
            Record::new(),
            "Dev",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.ledger_error.as_deref(), Some("CHOICE_NOT_FOUND"));
    assert_eq!(l.transaction_count(), 2, "rejections commit nothing");
}

#[tokio::test]
async fn duplicates_return_the_original_even_after_archival() {
    let l = ledger();
    let first = l.submit(create("c1", 1, 10)).await.unwrap();
    let c = created(&first).contract_id.clone();
    let moved = l
        .submit(exercise("t1", &c, "Transfer", Record::new(), "Op"))
        .await
        .unwrap();
    let again = l
        .submit_reporting_duplicates(exercise("t1", &c, "Transfer", Record::new(), "Op"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        again.transaction, moved,
        "the original transaction, though its contract is archived now"
    );
    let again = l
        .submit_reporting_duplicates(create("c1", 5, 6))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.transaction, first);
    assert_eq!(l.transaction_count(), 2);
    assert_eq!(
        l.transaction_by_update_id(&moved.update_id).await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(l.transaction_by_offset(2).await.unwrap(), Some(moved));
    assert_eq!(l.transaction_by_offset(3).await.unwrap(), None);
}

#[tokio::test]
async fn update_stream_from_any_offset_with_live_tail_and_filter() {
    let l = ledger();
    for i in 0..5 {
        l.submit(create(&format!("c{i}"), 1, 10)).await.unwrap();
    }
    let all = UpdateFilter::default();
    let offsets = |begin| {
        let l = &l;
        let all = all.clone();
        async move {
            let mut s = l.updates(begin, &all).await.unwrap();
            let mut out = vec![];
            while let Ok(Some(Ok(tx))) =
                tokio::time::timeout(Duration::from_millis(100), s.next()).await
            {
                out.push(tx.offset);
            }
            out
        }
    };
    assert_eq!(offsets(0).await, [1, 2, 3, 4, 5]);
    assert_eq!(offsets(3).await, [4, 5]);
    assert_eq!(offsets(5).await, Vec::<i64>::new());
    assert!(l.updates(6, &all).await.is_err());
    let mut live = l.updates(5, &all).await.unwrap();
    let mut other = l
        .updates(
            0,
            &UpdateFilter {
                templates: vec![tid("Other")],
                parties: vec![],
            },
        )
        .await
        .unwrap();
    l.submit(create("c5", 1, 10)).await.unwrap();
    let tx = tokio::time::timeout(Duration::from_secs(1), live.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(tx.offset, 6, "the live tail delivers new commits");
    assert!(
        tokio::time::timeout(Duration::from_millis(100), other.next())
            .await
            .is_err(),
        "filtered out"
    );
    let acs = l.active_contracts(&all).await.unwrap();
    assert_eq!((acs.offset, acs.contracts.len()), (6, 6));
    assert_eq!(
        acs.contracts[0].created_update_id,
        l.transaction_by_offset(1).await.unwrap().unwrap().update_id
    );
    let none = l
        .active_contracts(&UpdateFilter {
            templates: vec![tid("Other")],
            parties: vec![],
        })
        .await
        .unwrap();
    assert!(none.contracts.is_empty());
}

#[tokio::test]
async fn injected_faults() {
    let l = ledger();
    let c = created(&l.submit(create("c1", 1, 10)).await.unwrap())
        .contract_id
        .clone();
    l.set_fault_plan(FaultPlan {
        rules: vec![
            FaultRule {
                choice: Some("Transfer".into()),
                template: None,
                kind: FaultKind::Transient,
                times: Some(2),
            },
            FaultRule {
                choice: Some("Peek".into()),
                template: Some("Shipment".into()),
                kind: FaultKind::Permanent(RejectionReason::Forbidden),
                times: None,
            },
        ],
    });
    for _ in 0..2 {
        assert!(
            l.submit(exercise("t1", &c, "Transfer", Record::new(), "Op"))
                .await
                .unwrap_err()
                .is_transient()
        );
    }
    assert!(
        l.submit(exercise("t1", &c, "Transfer", Record::new(), "Op"))
            .await
            .is_ok(),
        "third attempt passes"
    );
    let e = l
        .submit(exercise("p1", &c, "Peek", Record::new(), "Op"))
        .await
        .unwrap_err();
    assert_eq!(e.reason, RejectionReason::Forbidden);
    let plan: FaultPlan = serde_json::from_str(r#"{"rules":[{"choice":"X","kind":"transient","times":3},{"kind":{"permanent":"not_found"}}]}"#).unwrap();
    assert_eq!(
        plan.rules[1].kind,
        FaultKind::Permanent(RejectionReason::NotFound)
    );
}

async fn journaled(path: &std::path::Path) -> (EmbeddedLedger, RecoveryReport) {
    EmbeddedLedger::open(path, catalog(), Clock::Fixed(0))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_journal_round_trips_state_ids_and_deduplication() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.log");
    let (l, report) = journaled(&path).await;
    assert_eq!(report.transactions, 0);
    let tx = l.submit(create("c1", 1, 10)).await.unwrap();
    let c = created(&tx).contract_id.clone();
    let moved = l
        .submit(exercise("t1", &c, "Transfer", Record::new(), "Op"))
        .await
        .unwrap();
    drop(l);
    let (l, report) = journaled(&path).await;
    assert_eq!(
        report,
        RecoveryReport {
            transactions: 2,
            ..RecoveryReport::default()
        }
    );
    assert_eq!(
        l.transactions()
            .expect("read the log")
            .iter()
            .map(|t| t.update_id.clone())
            .collect::<Vec<_>>(),
        [tx.update_id.clone(), moved.update_id.clone()]
    );
    let again = l
        .submit_reporting_duplicates(exercise("t1", &c, "Transfer", Record::new(), "Op"))
        .await
        .unwrap();
    assert!(again.duplicate, "deduplication survives a restart");
    assert_eq!(l.active_count(), 1);
    let next = l.submit(create("c2", 1, 10)).await.unwrap();
    assert_eq!(next.offset, 3);
}

#[tokio::test]
async fn a_torn_tail_is_cut_at_every_byte_of_the_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.log");
    {
        let (l, _) = journaled(&path).await;
        l.submit(create("c1", 1, 10)).await.unwrap();
    }
    let one = std::fs::metadata(&path).unwrap().len();
    {
        let (l, _) = journaled(&path).await;
        l.submit(create("c2", 1, 10)).await.unwrap();
    }
    let full = std::fs::read(&path).unwrap();
    for cut in one + 1..full.len() as u64 {
        std::fs::write(&path, &full[..cut as usize]).unwrap();
        let (l, report) = journaled(&path).await;
        assert_eq!(report.transactions, 1, "cut at {cut}");
        let torn = report
            .truncated_tail
            .unwrap_or_else(|| panic!("cut at {cut} must be reported"));
        assert_eq!(torn.byte_position, one);
        assert_eq!(torn.bytes_cut, cut - one);
        assert_eq!(l.transaction_count(), 1);
        drop(l);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            one,
            "the file is truncated to the last good record"
        );
    }
    // A flipped bit in the last record's payload is a corrupt tail: cut and reported too.
    let mut flipped = full.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let (_, report) = journaled(&path).await;
    assert!(report.truncated_tail.unwrap().reason.contains("checksum"));
}

#[tokio::test]
async fn corruption_in_the_middle_is_refused_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.log");
    let mut boundaries = vec![std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)];
    {
        let (l, _) = journaled(&path).await;
        boundaries[0] = std::fs::metadata(&path).unwrap().len();
        for i in 0..3 {
            l.submit(create(&format!("c{i}"), 1, 10)).await.unwrap();
            boundaries.push(std::fs::metadata(&path).unwrap().len());
        }
    }
    let full = std::fs::read(&path).unwrap();
    // Payload byte of the second record.
    let mut bad = full.clone();
    bad[boundaries[1] as usize + 20] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let err = EmbeddedLedger::open(&path, catalog(), Clock::System)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, OpenError::CorruptJournal { offset: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ledger offset 2"), "{err}");
    // Header byte (the length) of the second record.
    let mut bad = full.clone();
    bad[boundaries[1] as usize] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let err = EmbeddedLedger::open(&path, catalog(), Clock::System)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, OpenError::CorruptJournal { offset: 2, .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bad,
        "a refused journal is left untouched"
    );
}

#[tokio::test]
async fn concurrent_submits_all_commit_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.log");
    let (l, _) = journaled(&path).await;
    let l = std::sync::Arc::new(l);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let l = l.clone();
            tokio::spawn(async move { l.submit(create(&format!("c{i}"), 1, 10)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    drop(l);
    let (l, report) = journaled(&path).await;
    assert_eq!(report.transactions, 100);
    let offsets: Vec<i64> = l
        .transactions()
        .expect("read the log")
        .iter()
        .map(|t| t.offset)
        .collect();
    assert_eq!(offsets, (1..=100).collect::<Vec<_>>());
}
