//! What only the PostgreSQL store has to show: migrations that are idempotent and safe when two instances start on
//! one fresh database at once, a flush that is one transaction, and an outage reported as one (errors marked
//! `unavailable`, nothing lost, the store usable again once the server is back) without the password in any error.

use std::sync::Arc;

use super::backends::{Backend, Postgres, settings_for};
use super::{egress, entry};
use crate::outcome_store::{OutcomeStore, PostgresOutcomeStore};

/// Runs a query on the test's database and returns the first column of each row as text.
fn query(place: &Postgres, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&place.url(), tokio_postgres::NoTls)
            .await
            .expect("the test database answers");
        let driver = tokio::spawn(connection);
        let rows = client
            .simple_query(sql)
            .await
            .expect(sql)
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("NULL").to_owned())
                }
                _ => None,
            })
            .collect();
        drop(client);
        let _ = driver.await;
        rows
    })
}

#[test]
fn migrations_are_idempotent_and_recorded_once() {
    let place = Postgres::fresh();
    for _ in 0..3 {
        let store = place.open();
        store.probe().unwrap();
    }
    assert_eq!(
        query(
            &place,
            "SELECT version || ':' || name FROM schema_migrations"
        ),
        ["1:outcomes, run history, delivery attempts, checkpoints"]
    );
    let tables = query(
        &place,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    assert_eq!(
        tables,
        [
            "checkpoints",
            "delivery_attempts",
            "outcomes",
            "request_history",
            "schema_migrations"
        ]
    );
    let indexes = query(
        &place,
        "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%by_time' ORDER BY indexname",
    );
    assert_eq!(indexes, ["outcomes_by_time", "request_history_by_time"]);
}

#[test]
fn two_stores_starting_at_once_on_a_fresh_database_both_succeed() {
    for _ in 0..3 {
        let place = Postgres::fresh();
        let settings = place.settings();
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let starts: Vec<_> = (0..4)
            .map(|i| {
                let (settings, barrier) = (settings.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let store = PostgresOutcomeStore::open(&settings)?;
                    barrier.wait();
                    store.probe()?;
                    store.put(&format!("r{i}"), &egress("r"))?;
                    store.flush()
                })
            })
            .collect();
        for start in starts {
            start
                .join()
                .expect("no panic")
                .expect("every instance starts");
        }
        assert_eq!(
            query(&place, "SELECT count(*) FROM schema_migrations"),
            ["1"]
        );
        assert_eq!(query(&place, "SELECT count(*) FROM outcomes"), ["4"]);
    }
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let place = Postgres::fresh();
    place.open().probe().unwrap();
    query(
        &place,
        "INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future') RETURNING version",
    );
    let e = place.open().probe().unwrap_err();
    assert!(!e.unavailable, "waiting will not mend it");
    assert!(e.message.contains("99") && e.message.contains("(1)"), "{e}");
}

#[test]
fn the_shared_observer_checkpoint_only_moves_forward() {
    let place = Postgres::fresh();
    let new_leader = place.open();
    let deposed = place.open();
    new_leader.set_checkpoint(40).unwrap();
    // The old leader's confirms arrive late, for a batch before the new leader's.
    deposed.set_checkpoint(25).unwrap();
    assert_eq!(new_leader.checkpoint().unwrap(), Some(40));
    new_leader.set_checkpoint(41).unwrap();
    assert_eq!(deposed.checkpoint().unwrap(), Some(41));
}

#[test]
fn a_flush_writes_its_whole_batch_in_one_transaction() {
    let place = Postgres::fresh();
    let store = place.open();
    store.probe().unwrap();
    for i in 0..50 {
        store.put(&format!("r{i}"), &egress("r")).unwrap();
    }
    store
        .record_history((0..50).map(|i| entry(&format!("r{i}"), i, None)).collect())
        .unwrap();
    assert_eq!(
        query(&place, "SELECT count(*) FROM outcomes"),
        ["0"],
        "nothing written before the flush"
    );
    store.flush().unwrap();
    // xmin is the id of the transaction that wrote a row.
    assert_eq!(
        query(
            &place,
            "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM outcomes UNION ALL SELECT xmin FROM request_history) t"
        ),
        ["1"]
    );
    assert_eq!(query(&place, "SELECT count(*) FROM outcomes"), ["50"]);
}

#[test]
fn an_unreachable_server_is_an_outage_and_nothing_put_is_lost() {
    // A port nothing listens on: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let store = PostgresOutcomeStore::open(&settings_for(&format!(
        "postgres://postgres@127.0.0.1:{closed}/nowhere"
    )))
    .expect("opening does not connect");
    let e = store.probe().unwrap_err();
    assert!(e.unavailable, "{e}");
    assert!(e.message.contains("connect"), "{e}");
    store.put("r1", &egress("r1")).unwrap();
    let e = store.flush().unwrap_err();
    assert!(e.unavailable, "{e}");
    assert_eq!(
        store.get("r1").unwrap(),
        Some(egress("r1")),
        "kept for the next flush"
    );
    assert!(store.get("r2").unwrap_err().unavailable);
}

#[test]
fn a_missing_database_is_not_an_outage_and_no_password_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "never-shown-xyz\n").unwrap();
    let mut settings =
        settings_for("postgres://postgres@127.0.0.1:5432/connector_test_does_not_exist");
    settings.password_file = Some(file);
    let store = PostgresOutcomeStore::open(&settings).unwrap();
    let e = store.probe().unwrap_err();
    assert!(!e.unavailable, "waiting will not create the database: {e}");
    assert!(e.message.contains("3D000"), "the SQLSTATE is named: {e}");
    assert!(!e.to_string().contains("never-shown-xyz"), "{e}");
    assert!(!format!("{settings:?}").contains("never-shown-xyz"));
}
