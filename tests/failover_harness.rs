//! The failover harness (issue 16): three `connector run` instances of one config — state in one PostgreSQL
//! database, one quorum ingress queue with single active consumer, `connector sandbox` as the shared ledger, observer
//! leadership through a PostgreSQL advisory lock — take N mixed requests (the crash harness's workload) while the
//! active instance is SIGKILLed K times at seeded random moments and restarted 2.5 s later, so at least two
//! instances are always up. Checked afterwards, from the egress captured as it arrived and from the ledger read back over the
//! Ledger API:
//!
//! - `lost` = 0: every request with a requestId got its terminal egress;
//! - `duplicated_effects` = 0 (and `missing_effects`, `failed_though_committed` = 0): one transaction per command id;
//! - `ledger_order_violations`, `egress_order_violations` = 0: each contract's transactions, and its requests' first
//!   answers, in queue order;
//! - `observer_skipped` = 0: every ledger transaction published by the observer at least once;
//! - `observer_copies_outside_failover` = 0 and `polls_with_two_leaders` = 0: one observer leader at a time. A copy
//!   (an observer message arriving again under a message id already seen) is allowed only within
//!   [`COPY_WINDOW`] after a SIGKILL of the instance that was the observer's leader: the next leader resumes from the
//!   shared checkpoint and republishes what the dead one published after it. Outside those windows a copy means two
//!   instances published; `/status` polled every half second must never show two leaders;
//! - at most [`OBSERVER_BATCH`] transactions republished per failover of the leader: the checkpoint is shared, so
//!   the next leader repeats only the batch the dead one had not checkpointed;
//! - `polls_with_two_active` = 0: the broker delivers to one instance at a time;
//! - failover time, from each SIGKILL to the next egress message answering a request (p50/p99/max in ms; each under
//!   30 s).
//!
//! The active instance is found from `/status` (`health.consumer_role`). A kill comes once a seeded random fraction
//! (10–90 %) of the current slice of the workload has been answered, so every kill lands under load; the instance is
//! first stopped (SIGSTOP, which it cannot see or handle either) until its last egress has arrived, then SIGKILLed,
//! so whatever arrives after the SIGKILL was published by the instance that took over and the failover time
//! measures the takeover, not the dead one's last messages still in flight.
//!
//! Size: `FAILOVER_N` (default 5,000; about 45 s on two cores) and `FAILOVER_K` (default 10); `FAILOVER_SEED`
//! replays a run's workload and kill moments. Issue 16's figures:
//! `FAILOVER_N=20000 FAILOVER_K=20 cargo test --release -p connector --test failover_harness -- --nocapture`.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::deployment::{gateway_config, shared_ledger};
use support::ledger_readback::ledger_transactions;
use support::mixed_workload::{
    Effects, done_ids, effects, egress_order_violations, observed_hashes, transaction_hashes,
    workload,
};
use support::postgres::TestDatabase;
use support::timed_capture::TimedCapture;
use support::*;

const INSTANCES: usize = 3;
const DEFAULT_N: usize = 5000;
const DEFAULT_K: usize = 10;
/// How long after a SIGKILL of the observer's leader a copy of an observer message counts as part of that failover.
/// The others ask for the lock every 2 s (`observer::leadership::RETRY_EVERY`), so one leads again within about
/// 2 s and first republishes what the dead one published after the shared checkpoint: a few messages, sent at once.
/// Measured copies came within 0.3 s of the SIGKILL (`max_copy_delay_ms`); 6 s leaves room for a slow machine
/// without covering the whole run (kills come every few seconds, half of them not of the leader).
const COPY_WINDOW: Duration = Duration::from_secs(6);
/// The most transactions the observer publishes before it awaits their confirms and moves the checkpoint
/// (`MAX_BATCH` in `connector/src/observer/mod.rs`): what a leader that dies can leave published but not
/// checkpointed, so what its successor, resuming from the shared checkpoint, may publish again.
const OBSERVER_BATCH: usize = 256;
/// How long a killed instance stays down before it is restarted: longer than the 2 s in which the others ask for
/// the observer's lock again, so that a SIGKILL of the leader hands leadership to another instance.
const RESTART_AFTER: Duration = Duration::from_millis(2500);
/// The longest failover the harness accepts: beyond it the takeover is broken, not slow.
const FAILOVER_LIMIT: Duration = Duration::from_secs(30);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A gateway egress message answering a request (with or without a readable requestId), as opposed to the observer's.
fn answers_a_request(c: &Captured) -> bool {
    c.json.get("requestId").is_some()
        || c.json.get("status").and_then(Value::as_str) == Some("Failure")
}

fn is_observer_message(c: &Captured) -> bool {
    c.json.get("requestId").is_none() && c.json.get("blockhash").is_some()
}

/// One SIGKILL of the active instance.
struct Kill {
    at: Instant,
    instance: usize,
    was_observer_leader: bool,
    /// Requests of the current slice still unanswered at the SIGKILL.
    pending: usize,
    /// Answers that arrived between the SIGSTOP and the SIGKILL (the dead instance's last, in flight).
    tail: usize,
}

/// What `/status` polls saw over the run.
#[derive(Default)]
struct RolePolls {
    rounds: usize,
    two_leaders: usize,
    two_active: usize,
}

/// The role of each running instance (`None` for one that does not answer), counted into `polls`.
async fn poll_roles(gateways: &[Gateway], polls: &mut RolePolls) -> Vec<Option<(String, String)>> {
    let mut roles = Vec::with_capacity(gateways.len());
    for gw in gateways {
        let role = match http_get(gw.http_port, "/status").await {
            Some((200, body)) => serde_json::from_str::<Value>(&body).ok().map(|s| {
                (
                    s["health"]["consumer_role"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                    s["health"]["observer_role"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                )
            }),
            _ => None,
        };
        roles.push(role);
    }
    polls.rounds += 1;
    let count =
        |f: &dyn Fn(&(String, String)) -> bool| roles.iter().flatten().filter(|r| f(r)).count();
    if count(&|r| r.1 == "leader") > 1 {
        polls.two_leaders += 1;
    }
    if count(&|r| r.0 == "active") > 1 {
        polls.two_active += 1;
    }
    roles
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[u128], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Copies every instance's log and the sandbox's into a directory that outlives the test.
fn keep_logs(gateways: &[Gateway], sandbox: &Sandbox, seed: u64) -> PathBuf {
    let kept = std::env::temp_dir().join(format!("failover-harness-{seed}"));
    let _ = std::fs::create_dir_all(&kept);
    for (i, gw) in gateways.iter().enumerate() {
        let _ = std::fs::copy(&gw.log, kept.join(format!("instance-{i}.log")));
    }
    let _ = std::fs::write(kept.join("sandbox.log"), sandbox.log_text());
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_lose_and_duplicate_nothing_while_the_active_one_is_killed() {
    let n = env_usize("FAILOVER_N", DEFAULT_N);
    let k = env_usize("FAILOVER_K", DEFAULT_K).max(1);
    let seed: u64 = std::env::var("FAILOVER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("failover harness: N = {n}, K = {k}, seed = {seed} (FAILOVER_SEED={seed} replays it)");
    // The kill moments draw from their own stream, so the workload of a seed is the crash harness's.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed.rotate_left(17) ^ 0x6b69_6c6c);

    let names = Names::new("failover");
    let broker = Broker::connect(&names).await;
    let database = TestDatabase::create("failover");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sandbox = shared_ledger(&names, dir.path());
    // Its own database already keeps this run's lock apart; a key of its own makes that hold on a shared one too.
    let lock_key: i64 = rand::random();
    let extra = format!(
        "{}\nleadership: {{ observer: postgres, lock_key: {lock_key} }}\nobserve: all",
        database.state_yaml(5432)
    );
    let mut gateways: Vec<Gateway> = Vec::with_capacity(INSTANCES);
    for i in 0..INSTANCES {
        let port = free_port();
        let config = gateway_config(
            &names,
            dir.path(),
            &format!("instance-{i}"),
            &sandbox,
            port,
            &extra,
        );
        let mut gw = Gateway::start(&config, port);
        assert!(
            gw.wait_ready(Duration::from_secs(60)).await,
            "instance {i} not ready:\n{}",
            gw.log_text()
        );
        gateways.push(gw);
    }

    let work = workload(n, seed);
    let capture = TimedCapture::start(&broker, &names.capture_queue).await;
    let started = Instant::now();
    let total = work.bodies.len();
    let slice_of = |position: usize| (position * k / total).min(k - 1);
    let mut answered: BTreeSet<String> = BTreeSet::new();
    let mut answered_in_slice = vec![0usize; k];
    let mut generic_failures = 0usize;
    let mut scanned = 0usize;
    // Folds newly arrived messages into the answered sets.
    let mut scan = |capture: &TimedCapture,
                    answered: &mut BTreeSet<String>,
                    answered_in_slice: &mut Vec<usize>,
                    generic: &mut usize| {
        let new = capture.since(scanned);
        scanned += new.len();
        let (ids, g) = done_ids(&new.into_iter().map(|(_, c)| c).collect::<Vec<_>>());
        *generic += g;
        for id in ids {
            if let Some((position, _, _)) = work.requests.get(&id)
                && answered.insert(id)
            {
                answered_in_slice[slice_of(*position)] += 1;
            }
        }
    };
    let mut in_slice = vec![0usize; k];
    for (position, _, _) in work.requests.values() {
        in_slice[slice_of(*position)] += 1;
    }

    let mut polls = RolePolls::default();
    let mut kills: Vec<Kill> = Vec::with_capacity(k);
    for slice in 0..k {
        let (from, to) = (slice * total / k, (slice + 1) * total / k);
        broker.publish_all(&work.bodies[from..to]).await;
        let fraction: f64 = rng.random_range(0.1..0.9);
        let threshold = ((in_slice[slice] as f64) * fraction).ceil() as usize;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut next_poll = Instant::now();
        while answered_in_slice[slice] < threshold {
            assert!(
                Instant::now() < deadline,
                "slice {slice}: {} of {} answered after 120 s (seed {seed}); logs in {}",
                answered_in_slice[slice],
                in_slice[slice],
                keep_logs(&gateways, &sandbox, seed).display()
            );
            if Instant::now() >= next_poll {
                poll_roles(&gateways, &mut polls).await;
                next_poll = Instant::now() + Duration::from_millis(500);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            scan(
                &capture,
                &mut answered,
                &mut answered_in_slice,
                &mut generic_failures,
            );
        }
        let active_deadline = Instant::now() + Duration::from_secs(10);
        let (victim, was_observer_leader) = loop {
            let roles = poll_roles(&gateways, &mut polls).await;
            if let Some((i, role)) = roles
                .iter()
                .enumerate()
                .find_map(|(i, r)| r.as_ref().filter(|r| r.0 == "active").map(|r| (i, r)))
            {
                break (i, role.1 == "leader");
            }
            assert!(
                Instant::now() < active_deadline,
                "slice {slice}: no instance reports consumer_role active: {roles:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let pid = gateways[victim]
            .child
            .as_ref()
            .expect("the active instance runs")
            .id();
        // SAFETY: kill(2) on our own child's pid; nothing is shared with it.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGSTOP);
        }
        // Its last egress (in its socket, at the broker) arrives within milliseconds: wait until none has for
        // 150 ms, so what arrives after the SIGKILL is the next instance's.
        let stopped = Instant::now();
        let before = capture.len();
        loop {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let quiet = capture
                .since(before)
                .iter()
                .filter(|(_, c)| answers_a_request(c))
                .map(|(t, _)| *t)
                .next_back()
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(150));
            if (quiet && stopped.elapsed() >= Duration::from_millis(200))
                || stopped.elapsed() >= Duration::from_secs(3)
            {
                break;
            }
        }
        let tail = capture
            .since(before)
            .iter()
            .filter(|(_, c)| answers_a_request(c))
            .count();
        scan(
            &capture,
            &mut answered,
            &mut answered_in_slice,
            &mut generic_failures,
        );
        let at = Instant::now();
        gateways[victim].kill();
        kills.push(Kill {
            at,
            instance: victim,
            was_observer_leader,
            pending: in_slice[slice] - answered_in_slice[slice],
            tail,
        });
        // Two instances are up meanwhile; the pause lets one of them take the observer's lock when the dead one
        // held it (a restarted instance asks at once, the others only every 2 s, so it would win it back).
        let restart_at = Instant::now() + RESTART_AFTER;
        while Instant::now() < restart_at {
            poll_roles(&gateways, &mut polls).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        gateways[victim].spawn();
        assert!(
            gateways[victim].wait_ready(Duration::from_secs(60)).await,
            "restart {slice} of instance {victim}:\n{}",
            gateways[victim].log_text()
        );
    }

    // The rest of the workload, then the observer's last transactions.
    let mut last_progress = (answered.len(), Instant::now());
    let mut next_poll = Instant::now();
    while answered.len() < work.requests.len() || generic_failures < work.malformed_without_id {
        // A run that lost requests fails after a minute without progress, not after a fixed long wait.
        if last_progress.1.elapsed() > Duration::from_secs(60) {
            break;
        }
        if Instant::now() >= next_poll {
            poll_roles(&gateways, &mut polls).await;
            next_poll = Instant::now() + Duration::from_millis(500);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        scan(
            &capture,
            &mut answered,
            &mut answered_in_slice,
            &mut generic_failures,
        );
        if answered.len() > last_progress.0 {
            last_progress = (answered.len(), Instant::now());
        }
    }
    let drained = started.elapsed();
    // From the sandbox's Ledger API; the journal and config paths are only for an embedded ledger read in place.
    let txs = ledger_transactions(dir.path(), dir.path(), Some(&sandbox)).await;
    let tx_hashes = transaction_hashes(&txs);
    let observer_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all: Vec<Captured> = capture.since(0).into_iter().map(|(_, c)| c).collect();
        if tx_hashes.is_subset(&observed_hashes(&all)) || Instant::now() > observer_deadline {
            break;
        }
        poll_roles(&gateways, &mut polls).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A moment more: a copy published by a second leader would arrive now.
    for _ in 0..6 {
        poll_roles(&gateways, &mut polls).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let arrivals = capture.stop();
    let mut clean_stops = 0;
    for gw in gateways.iter_mut() {
        if gw.terminate() {
            clean_stops += 1;
        }
    }

    let collected: Vec<Captured> = arrivals.iter().map(|(_, c)| c.clone()).collect();
    let (done, generic) = done_ids(&collected);
    let lost: Vec<&String> = work
        .requests
        .keys()
        .filter(|id| !done.contains(*id))
        .collect();
    let Effects {
        duplicated: duplicated_effects,
        missing: missing_effects,
        order_violations: ledger_order_violations,
        failed_though_committed,
    } = effects(&work, &txs, &collected);
    let egress_order = egress_order_violations(&work, &collected);
    let observer_skipped = tx_hashes.difference(&observed_hashes(&collected)).count();

    // Observer copies, each against the SIGKILLs of the observer's leader before it.
    let leader_kills: Vec<Instant> = kills
        .iter()
        .filter(|k| k.was_observer_leader)
        .map(|k| k.at)
        .collect();
    let mut first_seen: HashMap<&str, Instant> = HashMap::new();
    let (mut copies, mut copies_outside, mut max_copy_delay) = (0usize, 0usize, Duration::ZERO);
    let mut copied_per_failover: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); leader_kills.len()];
    for (arrived, c) in arrivals.iter().filter(|(_, c)| is_observer_message(c)) {
        let Some(id) = c.message_id.as_deref() else {
            continue;
        };
        if first_seen.insert(id, *arrived).is_none() {
            continue;
        }
        copies += 1;
        match leader_kills.iter().rposition(|k| *k <= *arrived) {
            Some(i) if arrived.duration_since(leader_kills[i]) <= COPY_WINDOW => {
                max_copy_delay = max_copy_delay.max(arrived.duration_since(leader_kills[i]));
                copied_per_failover[i].insert(c.json["blockhash"].as_str().unwrap_or(""));
            }
            _ => copies_outside += 1,
        }
    }
    let copied_transactions: Vec<usize> = copied_per_failover.iter().map(BTreeSet::len).collect();
    let most_copied = copied_transactions.iter().copied().max().unwrap_or(0);

    // Failover: from each SIGKILL to the next answer to a request.
    let failover_ms: Vec<Option<u128>> = kills
        .iter()
        .map(|kill| {
            arrivals
                .iter()
                .find(|(t, c)| *t > kill.at && answers_a_request(c))
                .map(|(t, _)| t.duration_since(kill.at).as_millis())
        })
        .collect();
    let mut sorted: Vec<u128> = failover_ms.iter().flatten().copied().collect();
    sorted.sort_unstable();
    let no_next_answer = failover_ms.iter().filter(|m| m.is_none()).count();
    let gateway_copies = {
        let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
        for c in collected.iter().filter(|c| answers_a_request(c)) {
            *by_id
                .entry(c.message_id.as_deref().unwrap_or(""))
                .or_default() += 1;
        }
        by_id.values().map(|n| n - 1).sum::<usize>()
    };
    let figures = json!({
        "harness": "failover", "instances": INSTANCES, "N": n, "K": k, "seed": seed,
        "requests_with_id": work.requests.len(), "malformed_without_id": work.malformed_without_id,
        "lost": lost.len(), "unanswered_without_id": work.malformed_without_id.saturating_sub(generic),
        "duplicated_effects": duplicated_effects, "missing_effects": missing_effects,
        "failed_though_committed": failed_though_committed,
        "ledger_order_violations": ledger_order_violations, "egress_order_violations": egress_order,
        "observer_skipped": observer_skipped, "observer_copies": copies,
        "observer_copies_outside_failover": copies_outside, "copy_window_ms": COPY_WINDOW.as_millis(),
        "max_copy_delay_ms": max_copy_delay.as_millis(),
        "copied_transactions_per_leader_kill": copied_transactions,
        "kills_of_observer_leader": leader_kills.len(),
        "role_polls": polls.rounds, "polls_with_two_leaders": polls.two_leaders,
        "polls_with_two_active": polls.two_active,
        "failover_ms": {"p50": percentile(&sorted, 50.0), "p99": percentile(&sorted, 99.0),
            "max": sorted.last().copied().unwrap_or(0), "each": failover_ms},
        "killed": kills.iter().map(|k| json!({"instance": k.instance, "observer_leader": k.was_observer_leader,
            "pending": k.pending, "tail": k.tail})).collect::<Vec<_>>(),
        "ledger_transactions": txs.len(), "egress_messages": collected.len(),
        "gateway_egress_copies": gateway_copies, "clean_stops": clean_stops,
        "seconds_to_drain": drained.as_secs_f64(), "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{figures}");

    let broken = !lost.is_empty()
        || duplicated_effects + missing_effects + failed_though_committed > 0
        || ledger_order_violations + egress_order > 0
        || observer_skipped + copies_outside > 0
        || most_copied > OBSERVER_BATCH
        || polls.two_leaders + polls.two_active > 0
        || no_next_answer > 0
        || sorted
            .last()
            .is_some_and(|ms| *ms > FAILOVER_LIMIT.as_millis())
        || clean_stops < INSTANCES;
    let kept = if broken {
        format!(
            "; logs kept in {}",
            keep_logs(&gateways, &sandbox, seed).display()
        )
    } else {
        String::new()
    };
    assert!(
        lost.is_empty(),
        "lost (first 10): {:?} {figures}{kept}",
        &lost[..lost.len().min(10)]
    );
    assert_eq!(duplicated_effects, 0, "{figures}{kept}");
    assert_eq!(missing_effects, 0, "{figures}{kept}");
    assert_eq!(failed_though_committed, 0, "{figures}{kept}");
    assert_eq!(ledger_order_violations, 0, "{figures}{kept}");
    assert_eq!(egress_order, 0, "{figures}{kept}");
    assert_eq!(observer_skipped, 0, "{figures}{kept}");
    assert_eq!(
        copies_outside, 0,
        "observer copies outside a failover: {figures}{kept}"
    );
    assert!(
        most_copied <= OBSERVER_BATCH,
        "a new leader republished more than the one batch its predecessor had not checkpointed: {figures}{kept}"
    );
    assert_eq!(
        polls.two_leaders, 0,
        "two observer leaders at once: {figures}{kept}"
    );
    assert_eq!(
        polls.two_active, 0,
        "two active consumers at once: {figures}{kept}"
    );
    assert_eq!(
        no_next_answer, 0,
        "a kill with no answer after it: {figures}{kept}"
    );
    assert!(
        sorted
            .last()
            .is_none_or(|ms| *ms <= FAILOVER_LIMIT.as_millis()),
        "a failover took over {FAILOVER_LIMIT:?}: {figures}{kept}"
    );
    assert_eq!(
        clean_stops, INSTANCES,
        "every instance stops cleanly: {figures}{kept}"
    );
    drop(gateways);
    drop(sandbox);
    broker.cleanup().await;
}
