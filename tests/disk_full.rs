//! A full disk stops the gateway cleanly (issue 12): with its state (the embedded ledger's journal and the outcome
//! store) on a filesystem that fills up, the gateway stops consuming, reports why in the log and on `/status`, and
//! exits with code 75 (EX_TEMPFAIL) without acking anything that is not durable; restarted with space, it answers
//! every request, and every request acked before the stop replays its original egress with no second effect.
//!
//! The small filesystem is a 2 MiB tmpfs when the test may mount one (root), else a 2 MiB file size limit
//! (RLIMIT_FSIZE) on the gateway process.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const SMALL_BYTES: u64 = 2 * 1024 * 1024;

fn create(request_id: &str) -> Value {
    json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
        {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
        {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"})
}

/// A place that fills up at [`SMALL_BYTES`], and how to give it space again.
enum SmallDisk {
    Tmpfs(PathBuf),
    FileSizeLimit,
}

impl SmallDisk {
    fn at(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SMALL_BYTES}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            SmallDisk::Tmpfs(dir.to_owned())
        } else {
            eprintln!("cannot mount a tmpfs here; limiting the gateway's file size instead");
            SmallDisk::FileSizeLimit
        }
    }

    fn limit_for(&self) -> Option<u64> {
        match self {
            SmallDisk::Tmpfs(_) => None,
            SmallDisk::FileSizeLimit => Some(SMALL_BYTES),
        }
    }

    fn grow(&self) {
        if let SmallDisk::Tmpfs(dir) = self {
            let status = Command::new("mount")
                .args(["-o", "remount,size=256m"])
                .arg(dir)
                .status()
                .unwrap();
            assert!(status.success(), "remount with space");
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if let SmallDisk::Tmpfs(dir) = self {
            let _ = Command::new("umount").arg(dir).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_gateway_cleanly_and_a_restart_with_space_loses_nothing() {
    let names = Names::new("disk-full");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let state = dir.path().join("state");
    let disk = SmallDisk::at(&state);
    let config = example_config(&names, dir.path(), AMQP_URL, port, "  embedded: {}", "");
    let mut gw = Gateway::start(&config, port);
    gw.file_size_limit = disk.limit_for();
    if gw.file_size_limit.is_some() {
        gw.kill();
        gw.spawn();
    }
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );

    // Far more than fits: each create costs the journal and the outcome store a few KiB.
    let n = 1500;
    let ids: Vec<String> = (0..n).map(|i| format!("full-{i}")).collect();
    let bodies: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| serde_json::to_vec(&create(id)).unwrap())
        .collect();
    broker.publish_all(&bodies).await;

    // It stops by itself, saying why on /status while it still answers, and exits with 75.
    let started = Instant::now();
    let mut seen_on_status = false;
    let status = loop {
        if let Some(status) = gw.child.as_mut().unwrap().try_wait().unwrap() {
            break status;
        }
        if !seen_on_status
            && let Some((_, body)) = http_get(port, "/status").await
            && body.contains("storage failed")
        {
            seen_on_status = true;
            assert_eq!(
                http_get(port, "/readyz").await.map(|(code, _)| code),
                Some(503),
                "not ready once its storage failed"
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the gateway kept running on a full disk:\n{}",
            gw.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = gw.log_text();
    assert_eq!(status.code(), Some(75), "EX_TEMPFAIL:\n{log}");
    assert!(
        seen_on_status,
        "the cause was on /status before the exit:\n{log}"
    );
    assert!(log.contains("the gateway's storage failed"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    gw.child = None;
    let (ready, _) = queue_counts(&names.ingress_queue).unwrap_or((0, 0));
    assert!(
        ready > 0,
        "it stopped before the end: {ready} requests still queued"
    );
    let before = broker
        .collect_until(&names.capture_queue, Duration::from_secs(5), |_| false)
        .await;
    let mut first: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut message_ids = HashSet::new();
    for c in &before {
        if message_ids.insert(c.message_id.clone())
            && let Some(id) = c.json["requestId"].as_str()
        {
            first.entry(id.to_owned()).or_default().push(c.body.clone());
        }
    }

    // Space again: restarted, it answers everything, the queue drains, and the ledger has one create per request.
    disk.grow();
    gw.file_size_limit = None;
    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let after = broker
        .collect_until_quiet(
            &names.capture_queue,
            Duration::from_secs(240),
            Duration::from_secs(30),
            |got| {
                let mut done: HashSet<&str> = first
                    .iter()
                    .filter(|(_, v)| v.len() == 3)
                    .map(|(id, _)| id.as_str())
                    .collect();
                done.extend(
                    got.iter()
                        .filter(|c| c.routing_key == "ContractMessage")
                        .filter_map(|c| c.json["requestId"].as_str()),
                );
                done.len() >= n
            },
        )
        .await;
    for c in &after {
        if message_ids.insert(c.message_id.clone())
            && let Some(id) = c.json["requestId"].as_str()
        {
            first.entry(id.to_owned()).or_default().push(c.body.clone());
        }
    }
    for id in &ids {
        assert_eq!(
            first.get(id).map(Vec::len),
            Some(3),
            "{id}: Submitted, Committed, ContractMessage"
        );
    }
    assert_eq!(gw.ledger_end().await, n as i64, "one create per request");

    // Every request re-sent: answered from its outcome, byte for byte, with no second effect.
    broker.publish_all(&bodies).await;
    let resent = broker.egress(3 * n, Duration::from_secs(240)).await;
    let mut again: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for c in &resent {
        if let Some(id) = c.json["requestId"].as_str() {
            again.entry(id.to_owned()).or_default().push(c.body.clone());
        }
    }
    assert_eq!(
        again, first,
        "every outcome, acked before the stop or after, replays exactly"
    );
    assert_eq!(gw.ledger_end().await, n as i64, "no second effect");
    assert!(gw.terminate());
    broker.cleanup().await;
    drop(disk);
}
