//! The run history in both state stores: written behind with the outcomes (durable at the flush, one transaction),
//! one entry per requestId, listed newest first with filters and a limit, swept by the outcomes' retention, bounded
//! in number.

use std::time::Duration;

use super::*;
use crate::encoded_egress::EncodedEgress;

fn entry(id: &str, at: u64, code: Option<u16>) -> HistoryEntry {
    HistoryEntry {
        request_id: id.into(),
        message_name: Some("CreateContractRequest".into()),
        workflow: Some("RefrigeratedTransportation".into()),
        function: None,
        outcome: if code.is_some() {
            RequestOutcome::Failure
        } else {
            RequestOutcome::Committed
        },
        error_code: code,
        dead_lettered: code == Some(5030),
        processed_at_ms: at,
        latency_ms: Some(3),
    }
}

fn egress(id: &str) -> Vec<EncodedEgress> {
    vec![EncodedEgress {
        routing_key: "ContractMessage".into(),
        message_id: format!("m-{id}"),
        request_id: Some(id.into()),
        body: b"{}".to_vec(),
    }]
}

fn ids(page: &HistoryPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.request_id.as_str()).collect()
}

fn both_stores(dir: &std::path::Path) -> [Box<dyn OutcomeStore>; 2] {
    [
        Box::new(RedbOutcomeStore::open(&dir.join("h.redb")).unwrap()),
        Box::new(MemoryOutcomeStore::new()),
    ]
}

#[test]
fn history_is_written_behind_in_the_outcomes_batch_and_durable_at_the_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    {
        let store = RedbOutcomeStore::open(&path).unwrap();
        store.put("r1", &egress("r1")).unwrap();
        store.record_history(vec![entry("r1", 10, None)]).unwrap();
        assert_eq!(
            store.history_entry("r1").unwrap(),
            Some(entry("r1", 10, None)),
            "visible before the flush"
        );
        assert_eq!(store.history_len().unwrap(), 0, "nothing written per entry");
        store.flush().unwrap();
        assert_eq!(store.history_len().unwrap(), 1, "written by the flush");
        store.record_history(vec![entry("r2", 11, None)]).unwrap();
    }
    let store = RedbOutcomeStore::open(&path).unwrap();
    assert_eq!(
        store.history_entry("r1").unwrap(),
        Some(entry("r1", 10, None))
    );
    assert_eq!(
        store.history_entry("r2").unwrap(),
        None,
        "not flushed: gone after a restart, like an outcome"
    );
    assert!(
        store.get("r1").unwrap().is_some(),
        "and its outcome with it"
    );
}

#[test]
fn listings_are_newest_first_filtered_and_limited_in_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    for store in both_stores(dir.path()) {
        store
            .record_history(vec![
                entry("c1", 100, None),
                entry("f1", 200, Some(4090)),
                entry("d1", 300, Some(5030)),
                entry("c2", 400, None),
                entry("f2", 500, Some(4040)),
            ])
            .unwrap();
        store.flush().unwrap();
        let all = store.recent_history(&HistoryQuery::default()).unwrap();
        assert_eq!(ids(&all), ["f2", "c2", "d1", "f1", "c1"]);
        assert!(!all.truncated);
        let failures = HistoryQuery {
            status: Some(StatusFilter::Failure),
            ..HistoryQuery::default()
        };
        assert_eq!(
            ids(&store.recent_history(&failures).unwrap()),
            ["f2", "d1", "f1"]
        );
        let conflicts = HistoryQuery {
            code: Some(4090),
            ..HistoryQuery::default()
        };
        assert_eq!(ids(&store.recent_history(&conflicts).unwrap()), ["f1"]);
        let recent_committed = HistoryQuery {
            status: Some(StatusFilter::Committed),
            since_ms: Some(101),
            ..HistoryQuery::default()
        };
        assert_eq!(
            ids(&store.recent_history(&recent_committed).unwrap()),
            ["c2"]
        );
        let two = HistoryQuery {
            limit: 2,
            ..HistoryQuery::default()
        };
        let page = store.recent_history(&two).unwrap();
        assert_eq!(ids(&page), ["f2", "c2"]);
        assert!(page.truncated);

        // A later processing of the same requestId replaces its entry (a 5030 re-sent and committed).
        store.record_history(vec![entry("d1", 600, None)]).unwrap();
        store.flush().unwrap();
        let all = store.recent_history(&HistoryQuery::default()).unwrap();
        assert_eq!(ids(&all), ["d1", "f2", "c2", "f1", "c1"]);
        assert_eq!(store.history_len().unwrap(), 5, "one entry per requestId");
        assert_eq!(
            store.history_entry("d1").unwrap(),
            Some(entry("d1", 600, None))
        );
    }
}

#[test]
fn the_retention_sweep_removes_history_entries_with_the_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    for store in both_stores(dir.path()) {
        let now = now_ms();
        store.put("old", &egress("old")).unwrap();
        store
            .record_history(vec![
                entry("old", now - 10_000, None),
                entry("old-dead", now - 9_000, Some(5030)),
                entry("new", now, None),
            ])
            .unwrap();
        store.flush().unwrap();
        let report = sweep_expired(&*store, Duration::from_secs(5), now).unwrap();
        assert_eq!(report.history_removed, 2, "{report:?}");
        assert_eq!(store.history_entry("old").unwrap(), None);
        assert_eq!(store.history_entry("old-dead").unwrap(), None);
        assert!(store.history_entry("new").unwrap().is_some());
        assert_eq!(
            ids(&store.recent_history(&HistoryQuery::default()).unwrap()),
            ["new"]
        );
        assert_eq!(store.history_len().unwrap(), 1);
    }
}

#[test]
fn the_history_keeps_at_most_its_bound_dropping_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let stores: [Box<dyn OutcomeStore>; 2] = [
        Box::new(
            RedbOutcomeStore::open(&dir.path().join("b.redb"))
                .unwrap()
                .with_history_limit(3),
        ),
        Box::new(MemoryOutcomeStore::new().with_history_limit(3)),
    ];
    for store in stores {
        for batch in [vec![1, 2], vec![3, 4, 5]] {
            let entries = batch
                .into_iter()
                .map(|i| entry(&format!("r{i}"), i, None))
                .collect();
            store.record_history(entries).unwrap();
            store.flush().unwrap();
        }
        assert_eq!(store.history_len().unwrap(), 3);
        assert_eq!(
            ids(&store.recent_history(&HistoryQuery::default()).unwrap()),
            ["r5", "r4", "r3"]
        );
        assert_eq!(store.history_entry("r1").unwrap(), None);
    }
    assert_eq!(
        MAX_HISTORY_ENTRIES, 100_000,
        "the README's documented bound"
    );
}
