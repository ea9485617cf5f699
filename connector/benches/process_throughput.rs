//! `connector process` throughput on a mixed workload (creates, actions, reads, 2% malformed), in memory and with
//! the journal, against a baseline measured in the same run: parsing each message as JSON and writing the same
//! number of egress bytes (the floor any processor pays).
//!
//! Run: `cargo bench -p connector --bench process_throughput` (`BENCH_N` sets the in-memory message count, default
//! 100000; the journaled run uses `BENCH_JOURNAL_N`, default 5000, since it fsyncs every transaction).

use std::sync::Arc;
use std::time::Instant;

use connector::assembly::assemble;
use connector::config::Config;
use connector::ledger_factory::EmbeddedStorage;
use connector::outcome_store::{MemoryOutcomeStore, OutcomeStore, RedbOutcomeStore};
use ledger_port::Clock;
use serde_json::json;

/// The allocator of the `connector` binary, so the figures are those of `connector process`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn workload(n: usize) -> Vec<Vec<u8>> {
    let contracts = (n / 20).max(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % contracts;
        let create_id = format!("b-create-{c}");
        let body = if i < contracts {
            json!({"messageName":"CreateContractRequest","requestId":create_id,"workflowName":"RefrigeratedTransportation",
                "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},{"name":"supplyChainObserver","value":"Auditor"},
                {"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},{"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],
                "messageSchemaVersion":"1.0.0"})
            .to_string()
        } else if i % 50 == 0 {
            format!("{{\"requestId\":\"b-bad-{i}\",\"messageName\":\"CreateContractRequest\"}}")
        } else if i % 5 == 0 {
            json!({"messageName":"ReadContractRequest","requestId":format!("b-read-{i}"),
                "contractLedgerIdentifier":connector::processor::linear_id_for(&create_id).to_string(),"messageSchemaVersion":"1.0.0"})
            .to_string()
        } else {
            json!({"messageName":"CreateContractActionRequest","requestId":format!("b-act-{i}"),
                "contractLedgerIdentifier":connector::processor::linear_id_for(&create_id).to_string(),
                "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
                "parameters":[{"name":"humidity","value":format!("{}", 25 + i % 30)},{"name":"temperature","value":"5"},{"name":"timestamp","value":"1764000000"}],
                "messageSchemaVersion":"1.0.0"})
            .to_string()
        };
        out.push(body.into_bytes());
    }
    out
}

fn config(dir: &std::path::Path, journal: bool) -> Config {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/refrigerated-transportation/connector.yaml"
    ))
    .unwrap_or_default();
    let ledger = if journal {
        format!(
            "  embedded: {{ journal: {} }}",
            dir.join("ledger.log").display()
        )
    } else {
        "  embedded: {}".to_owned()
    };
    let text = example.replace("  embedded: {}", &ledger).replace(
        "state_dir: ./data",
        &format!("state_dir: {}", dir.display()),
    );
    match Config::from_yaml_with_env(&text, std::iter::empty()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bad bench config: {e}");
            std::process::exit(2);
        }
    }
}

/// Returns (messages, egress bytes, seconds).
async fn run_processor(messages: &[Vec<u8>], journal: bool) -> (usize, usize, f64) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| {
        eprintln!("no temp dir: {e}");
        std::process::exit(2)
    });
    let config = config(dir.path(), journal);
    let outcomes: Arc<dyn OutcomeStore> = if journal {
        Arc::new(
            RedbOutcomeStore::open(&dir.path().join("outcomes.redb")).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(2)
            }),
        )
    } else {
        Arc::new(MemoryOutcomeStore::new())
    };
    // The benchmark's config names its journal (or none) explicitly.
    let storage = EmbeddedStorage::ExplicitJournalOnly;
    let assembly = match assemble(&config, Clock::Fixed(0), outcomes.clone(), storage).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2)
        }
    };
    let started = Instant::now();
    let mut bytes = 0;
    for m in messages {
        let processed = assembly.processor.process(m).await;
        bytes += processed
            .egress
            .iter()
            .map(|e| e.body.len() + 1)
            .sum::<usize>();
    }
    let _ = outcomes.flush();
    (messages.len(), bytes, started.elapsed().as_secs_f64())
}

fn baseline(messages: &[Vec<u8>], egress_bytes: usize) -> f64 {
    let started = Instant::now();
    let per_message = egress_bytes / messages.len().max(1);
    let mut sink = 0usize;
    for m in messages {
        let value: serde_json::Value = serde_json::from_slice(m).unwrap_or(serde_json::Value::Null);
        let mut out = serde_json::to_vec(&value).unwrap_or_default();
        out.resize(per_message, b' ');
        sink += out.len();
    }
    std::hint::black_box(sink);
    started.elapsed().as_secs_f64()
}

fn main() {
    connector::huge_pages::disable_transparent_huge_pages();
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let jn: usize = std::env::var("BENCH_JOURNAL_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2)
        }
    };
    let messages = workload(n);
    let (count, bytes, secs) = runtime.block_on(run_processor(&messages, false));
    let base = baseline(&messages, bytes);
    let journal_messages = workload(jn);
    let (jcount, _, jsecs) = runtime.block_on(run_processor(&journal_messages, true));
    let rate = count as f64 / secs;
    let base_rate = count as f64 / base;
    let jrate = jcount as f64 / jsecs;
    println!("workload: {n} mixed messages (5% creates, 75% actions, 18% reads, 2% malformed)");
    println!("baseline (JSON parse + egress-sized write): {base_rate:>12.0} msg/s");
    println!(
        "process, in memory:                         {rate:>12.0} msg/s  ({:.2}x of baseline)",
        rate / base_rate
    );
    println!("process, journal + durable outcomes ({jn}): {jrate:>12.0} msg/s");
    println!(
        "{}",
        json!({"bench":"process_throughput","n":n,"baseline_msgs_per_s":base_rate.round(),"in_memory_msgs_per_s":rate.round(),
            "ratio_to_baseline":(rate / base_rate * 1000.0).round() / 1000.0,"journal_n":jn,"journal_msgs_per_s":jrate.round()})
    );
}
