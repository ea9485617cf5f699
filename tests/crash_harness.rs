//! The fault harness: N mixed requests through the real `connector` binary and the real broker, the gateway killed
//! with SIGKILL K times at random moments (and its broker connections cut), then checked from the ledger journal and
//! the collected egress: every requestId has its outcome, each create/action has exactly one ledger effect, and each
//! contract's effects are in publish order. Prints the figures; fails on any loss or duplicate effect.
//!
//! A tenth of the shipments end with an archiving phase (transfer, complete, archive), so a kill can land between
//! an archive's commit and its recorded answer; a request whose command committed must then still be answered as
//! committed, never with a Failure.
//!
//! Once per run the harness also stops consuming for two seconds while the capture queue is limited
//! (`HARNESS_CAPTURE_LIMIT`, default 300, `x-overflow: reject-publish`), so the broker nacks egress: acking a
//! delivery before its egress is confirmed would lose outcomes there.
//!
//! Size: `HARNESS_N` (default 2000) and `HARNESS_K` (default 5); e.g.
//! `HARNESS_N=50000 HARNESS_K=50 cargo test --release --test crash_harness -- --nocapture`.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};
use support::ledger_readback::ledger_transactions;
use support::mixed_workload::{
    Effects, done_ids, effects, observed_hashes, transaction_hashes, workload,
};
use support::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicate_effect_under_sigkill() {
    harness(LedgerKind::Embedded).await
}

/// The same harness with the gateway on a Daml ledger (`connector sandbox`): the gateway is killed, the ledger
/// keeps running, so a kill between the ledger commit and the egress publish is resolved through the Ledger API's
/// command deduplication and the outcome store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicate_effect_under_sigkill_on_daml() {
    harness(LedgerKind::Daml).await
}

async fn harness(kind: LedgerKind) {
    let n = env_usize("HARNESS_N", 2000);
    let k = env_usize("HARNESS_K", 5);
    let seed: u64 = rand::rng().random();
    // While the capture queue is full the broker nacks egress (reject-publish): the harness stalls downstream once
    // per run, so a gateway that acked before its egress was confirmed would lose those outcomes.
    let capture_limit = env_usize("HARNESS_CAPTURE_LIMIT", 300) as u32;
    let names = Names::new(&format!("harness-{}", kind.name()));
    let broker = Broker::connect_with_capture_limit(&names, Some(capture_limit)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("ledger.log");
    let http_port = free_port();
    // `observe: all` makes the observer publish every transaction, so its completeness under SIGKILL is checked too.
    let (config, sandbox) = config_on(
        kind,
        &names,
        dir.path(),
        http_port,
        &format!("  embedded: {{ journal: {} }}", journal.display()),
        "observe: all",
    );
    let work = workload(n, seed);
    let started = Instant::now();
    let mut gw = Gateway::start(&config, http_port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    broker.publish_all(&work.bodies).await;

    let expected_terminals = work.requests.len() + work.malformed_without_id;
    let mut collected: Vec<Captured> = Vec::new();
    let mut rng = rand::rng();
    for kill in 0..k {
        let wait = Duration::from_millis(rng.random_range(300..1500));
        let got = broker
            .collect_until(&names.capture_queue, wait, |_| false)
            .await;
        collected.extend(got);
        if kill == 0 {
            // The downstream stall: nobody consumes, the capture queue fills, further egress is nacked.
            tokio::time::sleep(Duration::from_millis(2000)).await;
        }
        gw.kill();
        if kill % 2 == 1 {
            close_connections(&names.connection_name);
        }
        gw.spawn();
        assert!(
            gw.wait_ready(Duration::from_secs(60)).await,
            "restart {kill}: {}",
            gw.log_text()
        );
    }
    let (mut ids_so_far, mut generic_so_far) = done_ids(&collected);
    let mut scanned = 0;
    let rest = broker
        .collect_until_quiet(
            &names.capture_queue,
            Duration::from_secs(600),
            Duration::from_secs(60),
            |g| {
                // Incremental, so a large run stays linear.
                let (ids, generic) = done_ids(&g[scanned..]);
                scanned = g.len();
                ids_so_far.extend(ids);
                generic_so_far += generic;
                ids_so_far.len() >= work.requests.len()
                    && generic_so_far >= work.malformed_without_id
            },
        )
        .await;
    collected.extend(rest);
    assert!(gw.terminate(), "clean stop: {}", gw.log_text());

    // Outcomes.
    let (done, _) = done_ids(&collected);
    let lost: Vec<&String> = work
        .requests
        .keys()
        .filter(|id| !done.contains(*id))
        .collect();
    // Ledger effects, from the journal.
    let txs = ledger_transactions(&journal, &config, sandbox.as_ref()).await;
    // Observer completeness: every transaction published at least once by the observer. What it had not
    // confirmed before the stop must follow from its checkpoint after a restart.
    let observed = observed_hashes;
    let tx_hashes = transaction_hashes(&txs);
    let mut seen_by_observer = observed(&collected);
    if !tx_hashes.is_subset(&seen_by_observer) {
        gw.spawn();
        assert!(
            gw.wait_ready(Duration::from_secs(60)).await,
            "{}",
            gw.log_text()
        );
        let more = broker
            .collect_until(&names.capture_queue, Duration::from_secs(60), |g| {
                let mut all = seen_by_observer.clone();
                all.extend(observed(g));
                tx_hashes.is_subset(&all)
            })
            .await;
        seen_by_observer.extend(observed(&more));
        collected.extend(more);
        assert!(gw.terminate(), "clean stop: {}", gw.log_text());
    }
    let observer_skipped = tx_hashes.difference(&seen_by_observer).count();
    let Effects {
        duplicated: duplicated_effects,
        missing: missing_effects,
        order_violations,
        failed_though_committed,
    } = effects(&work, &txs, &collected);
    let mut by_message_id: HashMap<String, usize> = HashMap::new();
    for c in &collected {
        *by_message_id
            .entry(c.message_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let duplicate_egress: usize = by_message_id.values().map(|n| n - 1).sum();
    let nacked_sessions = gw.log_text().matches("refused (nacked)").count();
    let figures = json!({
        "harness": "crash", "ledger": kind.name(), "N": n, "K": k, "seed": seed, "requests_with_id": work.requests.len(),
        "malformed_without_id": work.malformed_without_id, "expected_terminal": expected_terminals,
        "lost": lost.len(), "duplicated_effects": duplicated_effects, "missing_effects": missing_effects,
        "order_violations": order_violations, "failed_though_committed": failed_though_committed,
        "observer_skipped": observer_skipped, "ledger_transactions": txs.len(),
        "egress_messages": collected.len(), "duplicate_egress_by_message_id": duplicate_egress,
        "sessions_ended_by_nacks": nacked_sessions,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{figures}");
    if n >= 1000 {
        assert!(
            nacked_sessions > 0,
            "the downstream stall must make the broker nack egress: {figures}"
        );
    }
    if !lost.is_empty() {
        // What the gateway logged about the first lost requests, and everything published for them.
        let log = gw.log_text();
        let first: Vec<&String> = lost.iter().take(5).copied().collect();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| first.iter().any(|id| l.contains(id.as_str())))
            .take(60)
            .collect();
        let published: Vec<String> = collected
            .iter()
            .filter(|c| {
                c.json
                    .get("requestId")
                    .and_then(Value::as_str)
                    .is_some_and(|r| first.iter().any(|id| id.as_str() == r))
            })
            .map(|c| c.json.to_string())
            .collect();
        let kept = std::env::temp_dir().join(format!("crash-harness-{}-{seed}.log", kind.name()));
        let _ = std::fs::copy(&gw.log, &kept);
        panic!(
            "lost requests (first 10): {figures} {:?}\nthe whole gateway log: {}\nlog lines:\n{}\npublished:\n{}",
            &lost[..lost.len().min(10)],
            kept.display(),
            lines.join("\n"),
            published.join("\n")
        );
    }
    assert_eq!(duplicated_effects, 0, "{figures}");
    assert_eq!(missing_effects, 0, "{figures}");
    assert_eq!(order_violations, 0, "{figures}");
    assert_eq!(failed_though_committed, 0, "{figures}");
    assert_eq!(observer_skipped, 0, "{figures}");
    broker.cleanup().await;
}
