//! The outcome-store contract, one suite run on every backend: each test is written once, generic over
//! [`Backend`], and [`contract_suite!`] instantiates it as `memory::…`, `redb::…` and `postgres::…`. Tests that need
//! a store to outlive its process (reopen, crash without a flush) run on the durable backends only.
//!
//! The PostgreSQL tests each get a database of their own on the server at `CONNECTOR_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end. Tests of PostgreSQL alone (migrations,
//! concurrent start, one transaction per flush, outages) are in `postgres_only.rs`.

mod backends;
mod postgres_only;

use std::time::Duration;

use backends::Backend;

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

fn sample() -> Vec<EncodedEgress> {
    vec![
        EncodedEgress {
            routing_key: "CreateContractUpdate".into(),
            message_id: "abc".into(),
            request_id: Some("r1".into()),
            body: br#"{"a":"b"}"#.to_vec(),
        },
        EncodedEgress {
            routing_key: "Failure".into(),
            message_id: "def".into(),
            request_id: None,
            body: vec![],
        },
    ]
}

fn ids(page: &HistoryPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.request_id.as_str()).collect()
}

// ---- every backend ----

fn outcomes_are_recorded_with_their_time_and_replaced_by_a_later_put<B: Backend>() {
    let place = B::fresh();
    let store = place.open();
    assert_eq!(store.get("r1").unwrap(), None);
    let before = now_ms();
    store.put("r1", &sample()).unwrap();
    assert_eq!(store.get("r1").unwrap(), Some(sample()), "visible at once");
    store.flush().unwrap();
    let record = store.recorded("r1").unwrap().unwrap();
    assert_eq!(record.egress, sample());
    let at = record.recorded_at_ms.expect("a recorded time");
    assert!(at >= before && at <= now_ms(), "{before} <= {at}");
    store.put("r1", &egress("r1")).unwrap();
    store.put("r2", &egress("r2")).unwrap();
    store.flush().unwrap();
    assert_eq!(store.get("r1").unwrap(), Some(egress("r1")));
    assert_eq!(store.count().unwrap(), 2, "one outcome per requestId");
    assert_eq!(store.get("missing").unwrap(), None);
}

fn the_observer_checkpoint_is_kept<B: Backend>() {
    let place = B::fresh();
    let store = place.open();
    assert_eq!(store.checkpoint().unwrap(), None);
    store.set_checkpoint(42).unwrap();
    assert_eq!(store.checkpoint().unwrap(), Some(42));
    store.set_checkpoint(43).unwrap();
    assert_eq!(store.checkpoint().unwrap(), Some(43));
}

fn listings_are_newest_first_filtered_and_limited<B: Backend>() {
    let place = B::fresh();
    let store = place.open();
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
    let contradiction = HistoryQuery {
        status: Some(StatusFilter::Committed),
        code: Some(4090),
        ..HistoryQuery::default()
    };
    assert!(
        store
            .recent_history(&contradiction)
            .unwrap()
            .entries
            .is_empty()
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
    // Ties in time are broken by the requestId's bytes, the same in every backend.
    store
        .record_history(vec![entry("B", 700, None), entry("a", 700, None)])
        .unwrap();
    store.flush().unwrap();
    let top = store
        .recent_history(&HistoryQuery {
            limit: 2,
            ..HistoryQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&top), ["a", "B"]);
}

fn the_retention_sweep_removes_outcomes_and_history_entries<B: Backend>() {
    let place = B::fresh();
    let store = place.open();
    store.put("old", &egress("old")).unwrap();
    store.flush().unwrap();
    let between = now_ms() + 1;
    std::thread::sleep(Duration::from_millis(5));
    store.put("new", &egress("new")).unwrap();
    let now = now_ms();
    store
        .record_history(vec![
            entry("old", now - 10_000, None),
            entry("old-dead", now - 9_000, Some(5030)),
            entry("new", now, None),
        ])
        .unwrap();
    store.flush().unwrap();
    let retention = Duration::from_millis(now - between);
    let report = sweep_expired(&*store, retention, now).unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert_eq!(report.kept, 1);
    assert_eq!(report.history_removed, 2, "{report:?}");
    assert_eq!(store.get("old").unwrap(), None);
    assert_eq!(store.get("new").unwrap(), Some(egress("new")));
    assert_eq!(store.history_entry("old").unwrap(), None);
    assert_eq!(store.history_entry("old-dead").unwrap(), None);
    assert!(store.history_entry("new").unwrap().is_some());
    assert_eq!(
        ids(&store.recent_history(&HistoryQuery::default()).unwrap()),
        ["new"]
    );
    assert_eq!(store.history_len().unwrap(), 1);
    let again = sweep_expired(&*store, retention, now).unwrap();
    assert_eq!(again.removed, 0, "nothing more is due");
    // Removal is bounded per call and oldest first.
    for i in 0..5 {
        store.put(&format!("batch{i}"), &egress("b")).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    store.flush().unwrap();
    assert_eq!(store.remove_recorded_before(now_ms() + 1, 2).unwrap(), 2);
    assert_eq!(store.get("new").unwrap(), None, "the oldest first");
    assert_eq!(store.get("batch0").unwrap(), None);
    assert!(store.get("batch1").unwrap().is_some());
}

fn the_history_keeps_at_most_its_bound_dropping_the_oldest<B: Backend>() {
    let place = B::fresh();
    let store = place.open_with_history_limit(3);
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
    assert_eq!(
        MAX_HISTORY_ENTRIES, 100_000,
        "the README's documented bound"
    );
}

fn attempts_are_counted_forgiven_and_forgotten<B: Backend>() {
    let place = B::fresh();
    let store = place.open();
    let poison = delivery_key(b"poison");
    let other = delivery_key(b"other");
    assert_eq!(store.begin_attempt(&poison).unwrap(), 1);
    assert_eq!(store.begin_attempt(&poison).unwrap(), 2);
    assert_eq!(store.begin_attempt(&other).unwrap(), 1);
    store.forgive_attempt(&poison).unwrap();
    assert_eq!(store.begin_attempt(&poison).unwrap(), 2, "one given back");
    store.settled(&other).unwrap();
    assert_eq!(
        store.begin_attempt(&other).unwrap(),
        1,
        "settled: forgotten"
    );
    store.forgive_attempt(&other).unwrap();
    store.forgive_attempt(&other).unwrap();
    assert_eq!(store.begin_attempt(&other).unwrap(), 1, "never below zero");
}

// ---- durable backends: what a restarted gateway finds ----

fn a_put_without_a_flush_is_gone_after_a_crash_and_a_flushed_one_stays<B: Backend>() {
    let place = B::fresh();
    {
        let store = place.open();
        store.put("r1", &sample()).unwrap();
        store.put("r2", &sample()[..1]).unwrap();
        store.record_history(vec![entry("r1", 10, None)]).unwrap();
        assert_eq!(
            store.get("r1").unwrap(),
            Some(sample()),
            "visible before the flush"
        );
        assert_eq!(
            store.history_entry("r1").unwrap(),
            Some(entry("r1", 10, None))
        );
        assert_eq!(store.history_len().unwrap(), 0, "nothing written per entry");
        store.flush().unwrap();
        assert_eq!(store.history_len().unwrap(), 1, "written by the flush");
        store.put("r3", &sample()).unwrap();
        store.record_history(vec![entry("r3", 11, None)]).unwrap();
        // Dropped without a flush: a crash, as far as r3 is concerned.
    }
    let store = place.open();
    assert_eq!(store.get("r1").unwrap(), Some(sample()));
    assert_eq!(store.get("r2").unwrap(), Some(sample()[..1].to_vec()));
    assert_eq!(
        store.history_entry("r1").unwrap(),
        Some(entry("r1", 10, None))
    );
    assert_eq!(
        store.get("r3").unwrap(),
        None,
        "not flushed: gone after a restart, like an unsynced commit"
    );
    assert_eq!(store.history_entry("r3").unwrap(), None);
    assert_eq!(store.count().unwrap(), 2);
}

fn outcomes_and_the_checkpoint_survive_a_reopen<B: Backend>() {
    let place = B::fresh();
    {
        let store = place.open();
        store.put("r1", &sample()).unwrap();
        store.flush().unwrap();
        store.set_checkpoint(42).unwrap();
    }
    let store = place.open();
    assert_eq!(store.get("r1").unwrap(), Some(sample()));
    assert_eq!(store.checkpoint().unwrap(), Some(42));
    assert_eq!(store.count().unwrap(), 1);
}

fn an_attempt_count_survives_a_restart_and_a_settled_one_is_gone<B: Backend>() {
    let place = B::fresh();
    let (poison, done) = (delivery_key(b"poison"), delivery_key(b"done"));
    {
        let store = place.open();
        store.begin_attempt(&poison).unwrap();
        store.begin_attempt(&poison).unwrap();
        store.begin_attempt(&done).unwrap();
        store.settled(&done).unwrap();
        store.flush().unwrap();
    }
    let store = place.open();
    assert_eq!(store.begin_attempt(&poison).unwrap(), 3);
    assert_eq!(store.begin_attempt(&done).unwrap(), 1);
}

/// Instantiates the named generic tests for one backend, in a module named after it.
macro_rules! contract_suite {
    ($module:ident, $backend:ty, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test::<$backend>();
                }
            )*
        }
    };
}

contract_suite!(
    memory,
    super::backends::Memory,
    [
        outcomes_are_recorded_with_their_time_and_replaced_by_a_later_put,
        the_observer_checkpoint_is_kept,
        listings_are_newest_first_filtered_and_limited,
        the_retention_sweep_removes_outcomes_and_history_entries,
        the_history_keeps_at_most_its_bound_dropping_the_oldest,
        attempts_are_counted_forgiven_and_forgotten,
    ]
);

contract_suite!(
    redb,
    super::backends::Redb,
    [
        outcomes_are_recorded_with_their_time_and_replaced_by_a_later_put,
        the_observer_checkpoint_is_kept,
        listings_are_newest_first_filtered_and_limited,
        the_retention_sweep_removes_outcomes_and_history_entries,
        the_history_keeps_at_most_its_bound_dropping_the_oldest,
        attempts_are_counted_forgiven_and_forgotten,
        a_put_without_a_flush_is_gone_after_a_crash_and_a_flushed_one_stays,
        outcomes_and_the_checkpoint_survive_a_reopen,
        an_attempt_count_survives_a_restart_and_a_settled_one_is_gone,
    ]
);

contract_suite!(
    postgres,
    super::backends::Postgres,
    [
        outcomes_are_recorded_with_their_time_and_replaced_by_a_later_put,
        the_observer_checkpoint_is_kept,
        listings_are_newest_first_filtered_and_limited,
        the_retention_sweep_removes_outcomes_and_history_entries,
        the_history_keeps_at_most_its_bound_dropping_the_oldest,
        attempts_are_counted_forgiven_and_forgotten,
        a_put_without_a_flush_is_gone_after_a_crash_and_a_flushed_one_stays,
        outcomes_and_the_checkpoint_survive_a_reopen,
        an_attempt_count_survives_a_restart_and_a_settled_one_is_gone,
    ]
);
