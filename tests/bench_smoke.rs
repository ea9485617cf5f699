//! CI keeps the gateway benchmark (`bench/`, `gateway-bench`) working: a small run of the mixed workload against
//! the local RabbitMQ and this build's `connector` binary must complete, every request must get exactly its egress
//! on both sides, and the JSON line must parse with positive figures; and a small ordering comparison on a Daml
//! ledger (`connector sandbox` with 5 ms added per submission) must complete with each contract's order kept under
//! both orderings. A small run on both state stores (`--state both`: the gateway on redb and on a fresh PostgreSQL
//! database of the local server, after one relay run) must complete with every egress counted for each and its
//! database dropped. The start-up benchmark (`startup-bench`) must build a journal of 2,000 contracts, start the
//! gateway on it and on an empty one, get the last contract back from the loaded gateway, and report positive
//! figures. The soak (`soak`) must push a short stream of shipments that are created and archived through the
//! gateway with its default durable state, get every request answered without a Failure, and sample memory and
//! state sizes. The figures themselves (rates, the per-contract/strict ratio, start-up times) are not asserted: CI
//! machines differ and debug builds are slow.

use clap::Parser;
use gateway_bench::{Options, SoakOptions, StartupOptions};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_drains_the_mixed_workload_and_reports_every_figure() {
    let options = Options::parse_from([
        "gateway-bench",
        "--n",
        "2000",
        "--mix",
        "mixed",
        "--latency-n",
        "300",
        "--json-only",
        "--timeout-secs",
        "120",
        "--connector",
        env!("CARGO_BIN_EXE_connector"),
    ]);
    let report = gateway_bench::run(&options)
        .await
        .expect("the benchmark completes");
    let line = report.json_line();
    let json: Value = serde_json::from_str(&line).expect("the report is one JSON line");
    assert_eq!(json["n"], 2000);
    let mixes = json["mixes"].as_array().expect("mixes");
    assert_eq!(mixes.len(), 1, "{line}");
    let mixed = &mixes[0];
    assert_eq!(mixed["mix"], "mixed");
    for side in ["baseline", "gateway"] {
        let s = &mixed[side];
        let expected = s["expected_egress"].as_u64().expect("expected_egress");
        // 100 creates × 3 + 1,520 actions × 4 + 342 reads × 1 + 38 malformed × 1 Failure.
        assert_eq!(expected, 6760, "{side}: {line}");
        assert_eq!(
            s["egress"], expected,
            "{side}: every request got its egress: {line}"
        );
        assert_eq!(
            s["dead_letters"], 38,
            "{side}: every malformed original was dead-lettered: {line}"
        );
        for figure in ["msgs_per_s", "egress_per_s", "drain_seconds"] {
            assert!(
                s[figure].as_f64().is_some_and(|v| v > 0.0),
                "{side} {figure}: {line}"
            );
        }
        let latency = &s["latency"];
        assert_eq!(latency["samples"], 300, "{side}: {line}");
        for figure in [
            "offered_per_s",
            "completed_per_s",
            "p50_ms",
            "p99_ms",
            "max_ms",
        ] {
            assert!(
                latency[figure].as_f64().is_some_and(|v| v > 0.0),
                "{side} latency {figure}: {line}"
            );
        }
        assert!(
            latency["p50_ms"].as_f64() <= latency["p99_ms"].as_f64(),
            "{line}"
        );
        assert!(
            latency["p99_ms"].as_f64() <= latency["max_ms"].as_f64(),
            "{line}"
        );
    }
    assert_eq!(
        mixed["gateway"]["latency"]["offered_per_s"], mixed["baseline"]["latency"]["offered_per_s"],
        "both sides get the same offered load: {line}"
    );
    for figure in ["peak_rss_mib", "cpu_s_per_1000"] {
        assert!(
            mixed["gateway"][figure].as_f64().is_some_and(|v| v > 0.0),
            "gateway {figure}: {line}"
        );
    }
    assert_eq!(
        mixed["gateway"]["contracts_in_order"], 100,
        "each of the 100 contracts' egress followed its requests' order: {line}"
    );
    assert!(mixed["ratio"].as_f64().is_some_and(|v| v > 0.0), "{line}");
    assert!(
        report.table().contains("mixed        1 gateway  redb"),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_state_stores_drain_the_creates_against_one_relay_run() {
    let postgres = std::env::var("CONNECTOR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let options = Options::parse_from([
        "gateway-bench",
        "--n",
        "300",
        "--mix",
        "creates",
        "--latency-n",
        "100",
        "--state",
        "both",
        "--postgres-url",
        &postgres,
        "--json-only",
        "--timeout-secs",
        "120",
        "--connector",
        env!("CARGO_BIN_EXE_connector"),
    ]);
    let report = gateway_bench::run(&options)
        .await
        .expect("the benchmark completes on both stores and drops its database");
    let line = report.json_line();
    let json: Value = serde_json::from_str(&line).expect("the report is one JSON line");
    assert_eq!(json["state"], "redb vs postgres", "{line}");
    let mixes = json["mixes"].as_array().expect("mixes");
    let states: Vec<&str> = mixes.iter().filter_map(|m| m["state"].as_str()).collect();
    assert_eq!(
        states,
        ["redb", "postgres"],
        "redb first in round 1: {line}"
    );
    for m in mixes {
        assert_eq!(m["round"], 1, "{line}");
        assert_eq!(
            m["baseline"], mixes[0]["baseline"],
            "one relay run for both: {line}"
        );
        // 300 creates × 3.
        assert_eq!(m["gateway"]["egress"], 900, "{}: {line}", m["state"]);
        assert_eq!(m["gateway"]["latency"]["samples"], 100, "{line}");
        let in_postgres = (m["state"] == "postgres").then_some(400);
        assert_eq!(
            m["gateway"]["outcomes_in_postgres"].as_u64(),
            in_postgres,
            "the postgres run's 300 + 100 outcomes are in its database, the redb run has none there: {line}"
        );
        assert!(m["ratio"].as_f64().is_some_and(|v| v > 0.0), "{line}");
    }
    assert!(
        report.table().contains("creates round 1: postgres / redb"),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ordering_comparison_runs_on_a_sandbox_and_keeps_each_contracts_order() {
    let options = Options::parse_from([
        "gateway-bench",
        "--ledger",
        "sandbox",
        "--latency-ms",
        "5",
        "--compare-ordering",
        "--n",
        "300",
        "--json-only",
        "--timeout-secs",
        "120",
        "--connector",
        env!("CARGO_BIN_EXE_connector"),
    ]);
    let report = gateway_bench::run(&options)
        .await
        .expect("the comparison completes, each contract's order kept");
    let line = report.json_line();
    let json: Value = serde_json::from_str(&line).expect("the report is one JSON line");
    assert_eq!(json["ledger"], "daml (connector sandbox, embedded+journal)");
    assert_eq!(json["sandbox_latency_ms"], 5);
    assert_eq!(json["ordering"], "strict vs per-contract");
    assert!(
        json["mixes"].as_array().is_some_and(Vec::is_empty),
        "{line}"
    );
    let comparison = &json["comparison"];
    assert_eq!(comparison["mix"], "actions");
    assert_eq!(comparison["requests"], 300);
    assert_eq!(comparison["contracts"], 64);
    for (key, ordering) in [("strict", "strict"), ("per_contract", "per-contract")] {
        let run = &comparison[key];
        assert_eq!(run["ordering"], ordering, "{line}");
        // 64 creates × 3 + 236 actions × 4.
        assert_eq!(run["expected_egress"], 1136, "{ordering}: {line}");
        assert_eq!(
            run["egress"], 1136,
            "{ordering}: every request got its egress: {line}"
        );
        assert_eq!(run["contracts_in_order"], 64, "{ordering}: {line}");
        assert_eq!(run["requests_in_order"], 300, "{ordering}: {line}");
        for figure in ["msgs_per_s", "egress_per_s", "drain_seconds"] {
            assert!(
                run[figure].as_f64().is_some_and(|v| v > 0.0),
                "{ordering} {figure}: {line}"
            );
        }
    }
    assert!(
        comparison["ratio"].as_f64().is_some_and(|v| v > 0.0),
        "{line}"
    );
    let table = report.table();
    assert!(table.contains("per-contract / strict:"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_startup_benchmark_loads_the_journal_and_reports_every_figure() {
    let options = StartupOptions::parse_from([
        "startup-bench",
        "--contracts",
        "2000",
        "--runs",
        "1",
        "--json-only",
        "--timeout-secs",
        "300",
        "--connector",
        env!("CARGO_BIN_EXE_connector"),
    ]);
    let report = gateway_bench::startup::run(&options).await.expect(
        "the start-up benchmark completes, the loaded gateway answering the read with its contract",
    );
    let line = report.json_line();
    let json: Value = serde_json::from_str(&line).expect("the report is one JSON line");
    assert_eq!(json["bench"], "startup", "{line}");
    assert_eq!(json["contracts"], 2000, "{line}");
    assert_eq!(json["runs"], 1, "{line}");
    let positive = |value: &Value, what: &str| {
        assert!(
            value.as_f64().is_some_and(|v| v > 0.0),
            "{what} is present and positive: {line}"
        );
    };
    for (side, contracts) in [("baseline", 0), ("loaded", 2000)] {
        let s = &json[side];
        assert_eq!(s["contracts"], contracts, "{side}: {line}");
        assert_eq!(s["journal"]["contracts"], contracts, "{side}: {line}");
        assert_eq!(
            s["journal"]["egress_lines"],
            contracts * 3,
            "{side}: every create answered Submitted, Committed, ContractMessage: {line}"
        );
        positive(&s["journal"]["build_s"], &format!("{side} journal build_s"));
        for figure in [
            "startup_s",
            "peak_rss_mib",
            "rss_at_ready_mib",
            "rss_after_read_mib",
        ] {
            for stat in ["min", "median", "max"] {
                positive(&s[figure][stat], &format!("{side} {figure} {stat}"));
            }
        }
    }
    positive(&json["loaded"]["journal"]["mib"], "loaded journal mib");
    assert!(json["baseline"].get("read").is_none(), "{line}");
    let read = &json["loaded"]["read"];
    assert_eq!(
        read["answered_with"], "ContractMessage",
        "the last contract created was read back from the loaded gateway: {line}"
    );
    assert_eq!(read["answered"], 1, "{line}");
    assert!(
        read["contract_ledger_identifier"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{line}"
    );
    positive(&read["read_ms"]["median"], "loaded read_ms");
    for figure in [
        "startup_s",
        "peak_rss_mib",
        "rss_after_read_mib",
        "peak_rss_bytes_per_contract",
        "rss_bytes_per_contract",
    ] {
        // A difference of two noisy figures: present and a number, but its sign is not asserted (a busy CI machine
        // can make the empty start the slower one).
        assert!(
            json["delta"][figure].as_f64().is_some_and(f64::is_finite),
            "delta {figure}: {line}"
        );
    }
    let runs = json["per_run"].as_array().expect("per_run");
    assert_eq!(runs.len(), 2, "one baseline and one loaded start: {line}");
    for run in runs {
        for figure in [
            "startup_s",
            "peak_rss_at_ready",
            "rss_at_ready",
            "peak_rss",
            "rss_after_read",
        ] {
            positive(&run[figure], &format!("per_run {figure}"));
        }
    }
    let table = report.table();
    assert!(table.contains("loaded − baseline"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soak_answers_every_request_and_samples_the_state() {
    let options = SoakOptions::parse_from([
        "soak",
        "--requests",
        "800",
        "--active",
        "50",
        "--window",
        "200",
        "--sample-every-secs",
        "1",
        "--outcome-retention",
        "1s",
        "--sweep-every",
        "1s",
        "--stall-secs",
        "60",
        "--connector",
        env!("CARGO_BIN_EXE_connector"),
    ]);
    let summary = gateway_bench::soak::run(&options)
        .await
        .expect("the soak completes");
    assert_eq!(summary["requests"], 800, "{summary}");
    assert_eq!(
        summary["failures"], 0,
        "every shipment's lifecycle succeeded: {summary}"
    );
    assert_eq!(summary["clean_stop"], true, "{summary}");
    assert!(summary["samples"].as_u64().unwrap_or(0) >= 1, "{summary}");
    assert!(
        summary["journal_mib_max_second_half"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0,
        "the journal lives in state_dir by default: {summary}"
    );
}
