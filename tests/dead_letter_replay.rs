//! `connector dead-letters list|replay` against the real RabbitMQ on 127.0.0.1:5672 and the real binary: listing
//! keeps every letter in its order, and replaying the 5030s of a ledger outage once it is over commits them while
//! the other letters stay where they were; a letter replayed twice (as a crash between confirm and removal leaves it)
//! gets its recorded outcome the second time, not a second ledger effect; and a replay killed midway loses nothing.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::example_requests::{action, bodies, create, is_terminal, linear_id, request_id};
use support::gateway_harness::Harness;
use support::*;

/// Runs `connector dead-letters <args> --config <config>` and returns its stdout as JSON lines.
fn dead_letters(config: &Path, args: &[&str]) -> Vec<Value> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .arg("dead-letters")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "dead-letters {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn codes(lines: &[Value]) -> Vec<(Option<String>, u64)> {
    lines
        .iter()
        .map(|l| {
            (
                l["requestId"].as_str().map(str::to_owned),
                l["errorCode"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_letters_in_order_and_removes_nothing() {
    let h = Harness::new("dl-list", LedgerKind::Embedded).await;
    let config = h.config(gateway_harness::IN_MEMORY, "");
    let gw = h.start(&config).await;
    // Bodies that fail validation, each with a readable requestId, and one that is not JSON at all.
    let mut messages: Vec<Vec<u8>> = (0..4)
        .map(|i| format!(r#"{{"requestId":"bad-{i}","messageName":"NoSuchMessage"}}"#).into_bytes())
        .collect();
    messages.insert(2, b"\xff{ not json".to_vec());
    h.broker.publish_all(&messages).await;
    wait_for_ready(&h.names.dead_letter_queue, 5).await;
    drop(gw);
    let first = dead_letters(&config, &["list"]);
    let ids: Vec<Option<&str>> = first.iter().map(|l| l["requestId"].as_str()).collect();
    assert_eq!(
        ids,
        [
            Some("bad-0"),
            Some("bad-1"),
            None,
            Some("bad-2"),
            Some("bad-3")
        ],
        "queue order, the unreadable body listed without a requestId: {first:?}"
    );
    assert!(first.iter().all(|l| l["errorCode"].as_u64().is_some()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        first.iter().all(|l| l["whenUnixSeconds"]
            .as_u64()
            .is_some_and(|t| t + 120 >= now && t <= now)),
        "each letter says when it was dead-lettered: {first:?}"
    );
    assert_eq!(first[2]["sizeBytes"], 11);
    assert_eq!(
        dead_letters(&config, &["list"]),
        first,
        "listing removed or reordered letters"
    );
    assert_eq!(dead_letters(&config, &["list", "--limit", "2"]), first[..2]);
    assert_eq!(
        dead_letters(&config, &["list"]),
        first,
        "a limited list changed the queue"
    );
    assert_eq!(
        queue_counts(&h.names.dead_letter_queue).map(|c| c.0),
        Some(5)
    );
    h.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_5030s_after_an_outage_commits_them_and_keeps_the_rest_in_order() {
    let h = Harness::new("dl-replay", LedgerKind::Embedded).await;
    let outage = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient }";
    let config = h.config(outage, "");
    let mut gw = h.start(&config).await;
    let target = linear_id("dl-create");
    let mut messages = bodies(&[
        create("dl-create"),
        action(
            "dl-complete",
            &target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        ),
    ]);
    messages.push(b"not json at all".to_vec());
    h.broker.publish_all(&messages).await;
    wait_for_ready(&h.names.dead_letter_queue, 2).await;
    let capture = h.names.capture_queue.clone();
    let before = h
        .broker
        .collect_until(&capture, Duration::from_secs(30), |g| {
            g.iter().filter(|c| is_terminal(c)).count() >= 2
        })
        .await;
    assert!(
        before
            .iter()
            .any(|c| request_id(c).as_deref() == Some("dl-complete")
                && c.json["additionalInformation"]["errorCode"] == 5030),
        "the outage exhausts the retries: {before:?}"
    );
    assert!(gw.terminate(), "SIGTERM: a clean stop");
    let listed = dead_letters(&config, &["list"]);
    assert_eq!(
        codes(&listed),
        [(Some("dl-complete".to_owned()), 5030), (None, 4000)],
        "{listed:?}"
    );

    // The outage is over: the same gateway, state and journal, without the fault.
    let config = h.config("  embedded: {}", "");
    let _gw = h.start(&config).await;

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["dead-letters", "replay", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--code, --request-id or --all"));

    let dry = dead_letters(&config, &["replay", "--code", "5030", "--dry-run"]);
    assert_eq!(dry.len(), 2, "{dry:?}");
    assert_eq!(dry[0]["action"], "would_replay");
    assert_eq!(dry[1]["moved"], 0);
    assert_eq!(
        codes(&dead_letters(&config, &["list"])),
        codes(&listed),
        "the dry run moved nothing"
    );

    let replayed = dead_letters(&config, &["replay", "--code", "5030"]);
    assert_eq!(replayed[0]["requestId"], "dl-complete");
    assert_eq!(replayed[0]["action"], "replayed");
    assert_eq!(replayed[1]["moved"], 1);
    assert_eq!(replayed[1]["kept"], 1);

    let after = h
        .broker
        .collect_until(&capture, Duration::from_secs(30), |g| {
            g.iter()
                .any(|c| is_terminal(c) && request_id(c).as_deref() == Some("dl-complete"))
        })
        .await;
    let complete: Vec<_> = after
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("dl-complete"))
        .collect();
    assert!(
        complete.iter().any(|c| c.json["status"] == "Committed"),
        "the replayed request commits: {complete:?}"
    );
    assert!(
        complete.iter().all(|c| c.json["status"] != "Failure"),
        "{complete:?}"
    );
    assert_eq!(
        complete
            .iter()
            .filter(|c| c.routing_key == "ContractMessage")
            .count(),
        1,
        "committed once: {complete:?}"
    );
    assert_eq!(
        codes(&dead_letters(&config, &["list"])),
        [(None, 4000)],
        "only the unmatched letter stays"
    );
    h.broker.cleanup().await;
}

/// A replay that crashed after the broker confirmed a letter and before removing it leaves that letter in the
/// dead-letter queue too; replaying it again must answer with the recorded outcome, not a second ledger effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_replayed_twice_has_one_effect() {
    use lapin::BasicProperties;
    use lapin::options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions};
    let h = Harness::new("dl-twice", LedgerKind::Embedded).await;
    let outage = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient }";
    let config = h.config(outage, "");
    let mut gw = h.start(&config).await;
    let target = linear_id("tw-create");
    h.broker
        .publish_all(&bodies(&[
            create("tw-create"),
            action(
                "tw-transfer",
                &target,
                "TransferResponsibility",
                &[("newCounterparty", "Carrier")],
            ),
        ]))
        .await;
    wait_for_ready(&h.names.dead_letter_queue, 1).await;
    assert!(gw.terminate());
    // The letter twice, as a crash between the confirm and the removal leaves it.
    let dlq = h.names.dead_letter_queue.as_str();
    let letter = h
        .broker
        .channel
        .basic_get(dlq.into(), BasicGetOptions { no_ack: false })
        .await
        .unwrap()
        .unwrap();
    let props: BasicProperties = letter.delivery.properties.clone();
    h.broker
        .channel
        .basic_publish(
            "".into(),
            dlq.into(),
            BasicPublishOptions::default(),
            &letter.delivery.data,
            props,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    letter
        .delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for_ready(dlq, 2).await;

    let config = h.config("  embedded: {}", "");
    let _gw = h.start(&config).await;
    let replayed = dead_letters(&config, &["replay", "--request-id", "tw-transfer"]);
    assert_eq!(replayed.last().unwrap()["moved"], 2, "{replayed:?}");
    let capture = h.names.capture_queue.clone();
    let got = h
        .broker
        .collect_until(&capture, Duration::from_secs(30), |g| {
            g.iter()
                .filter(|c| is_terminal(c) && request_id(c).as_deref() == Some("tw-transfer"))
                .count()
                >= 3
        })
        .await;
    let transfer: Vec<_> = got
        .iter()
        .filter(|c| request_id(c).as_deref() == Some("tw-transfer"))
        .collect();
    let failures: Vec<_> = transfer
        .iter()
        .filter(|c| c.json["status"] == "Failure")
        .map(|c| &c.json["additionalInformation"]["errorCode"])
        .collect();
    assert_eq!(failures, [&Value::from(5030)], "only the outage's failure");
    let blocks: Vec<_> = transfer
        .iter()
        .filter(|c| c.routing_key == "ContractMessage")
        .map(|c| c.json["blockId"].clone())
        .collect();
    assert_eq!(blocks.len(), 2, "both copies answered: {transfer:?}");
    assert_eq!(
        blocks[0], blocks[1],
        "the second copy got the recorded outcome (one ledger transaction), not a second effect"
    );
    h.broker.cleanup().await;
}

/// SIGKILL in the middle of a replay of many letters, then replay again: every request commits, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_midway_loses_nothing_and_duplicates_no_effect() {
    use std::collections::BTreeMap;
    use std::io::BufRead;
    const LETTERS: usize = 200;
    let h = Harness::new("dl-kill", LedgerKind::Embedded).await;
    let config = h.config(
        "  embedded:\n    faults:\n      rules:\n        - { kind: transient }",
        "",
    );
    let mut gw = h.start(&config).await;
    let ids: Vec<String> = (0..LETTERS).map(|i| format!("kill-{i}")).collect();
    let requests: Vec<Value> = ids.iter().map(|id| create(id)).collect();
    h.broker.publish_all(&bodies(&requests)).await;
    wait_for_ready(&h.names.dead_letter_queue, LETTERS as u64).await;
    assert!(gw.terminate());
    let config = h.config("  embedded: {}", "");
    let _gw = h.start(&config).await;

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["dead-letters", "replay", "--code", "5030", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..20 {
        lines.next().unwrap().unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let second = dead_letters(&config, &["replay", "--code", "5030"]);
    let moved_again = second.last().unwrap()["moved"].as_u64().unwrap();
    assert!(
        moved_again > 0 && moved_again < LETTERS as u64,
        "the kill interrupted the first replay: {moved_again} moved by the second"
    );

    let capture = h.names.capture_queue.clone();
    let got = h
        .broker
        .collect_until(&capture, Duration::from_secs(60), |g| {
            let committed: std::collections::HashSet<_> = g
                .iter()
                .filter(|c| c.routing_key == "ContractMessage")
                .filter_map(request_id)
                .collect();
            committed.len() >= LETTERS
        })
        .await;
    let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for c in got.iter().filter(|c| c.routing_key == "ContractMessage") {
        if let Some(id) = request_id(c) {
            blocks
                .entry(id)
                .or_default()
                .push(c.json["blockId"].clone());
        }
    }
    assert_eq!(blocks.len(), LETTERS, "every request committed");
    for (id, b) in &blocks {
        assert!(
            b.iter().all(|x| x == &b[0]),
            "{id} has more than one effect: {b:?}"
        );
    }
    assert_eq!(
        queue_counts(&h.names.dead_letter_queue).map(|c| c.0),
        Some(0),
        "nothing left behind"
    );
    h.broker.cleanup().await;
}

/// A letter that fails again at once (a 4000 stays malformed) is dead-lettered behind the letters being replayed; the
/// replay walks only the letters there when it started, so it ends, and replays each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_that_fails_again_is_replayed_once_per_run() {
    let h = Harness::new("dl-again", LedgerKind::Embedded).await;
    let config = h.config(gateway_harness::IN_MEMORY, "");
    let _gw = h.start(&config).await;
    let messages: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            format!(r#"{{"requestId":"again-{i}","messageName":"NoSuchMessage"}}"#).into_bytes()
        })
        .collect();
    h.broker.publish_all(&messages).await;
    wait_for_ready(&h.names.dead_letter_queue, 3).await;

    let mut replay = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["dead-letters", "replay", "--code", "4000", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while replay.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = replay.kill();
            let _ = replay.wait();
            panic!("the replay never ended: it kept replaying letters that came back");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = replay.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["moved"], 3, "{lines:?}");
    let replayed: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(replayed, ["again-0", "again-1", "again-2"]);
    // They fail again and are back, each once.
    wait_for_ready(&h.names.dead_letter_queue, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        queue_counts(&h.names.dead_letter_queue).map(|c| c.0),
        Some(3)
    );
    h.broker.cleanup().await;
}
