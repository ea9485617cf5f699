//! Several gateways of one deployment (issue 16, items 2 and 3), with the real `connector` binary, the real RabbitMQ
//! on 127.0.0.1:5672 and the real PostgreSQL on 127.0.0.1:5432 (trust authentication, user `postgres`): one
//! `connector sandbox` is the shared ledger, each gateway has its own state directory and HTTP port, every test has
//! its own queue and exchange names (and its own advisory lock key).
//!
//! - A standby keeps its contract index current from the ledger's update stream: after the active instance is
//!   SIGKILLed, the standby acts on the contracts as the dead one left them.
//! - One observer at a time: of two gateways with `leadership.observer: postgres`, only the lock holder publishes;
//!   when it is SIGKILLed the other takes over within seconds and resumes from the checkpoint in its state store.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::deployment::{gateway_config, health_when, shared_ledger, started};
use support::example_requests::{action, bodies, create, is_terminal, linear_id, read, request_id};
use support::postgres::TestDatabase;
use support::*;

/// Collects egress until every request in `ids` has its terminal message; returns each request's messages.
async fn answers(broker: &Broker, ids: &[&str]) -> BTreeMap<String, Vec<Captured>> {
    let wanted: BTreeSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let queue = broker.names.capture_queue.clone();
    let got = broker
        .collect_until(&queue, Duration::from_secs(60), |got| {
            let done: BTreeSet<String> = got
                .iter()
                .filter(|c| is_terminal(c))
                .filter_map(request_id)
                .collect();
            wanted.is_subset(&done)
        })
        .await;
    let mut by_request: BTreeMap<String, Vec<Captured>> = BTreeMap::new();
    for c in got {
        if let Some(id) = request_id(&c) {
            by_request.entry(id).or_default().push(c);
        }
    }
    for id in ids {
        assert!(
            by_request
                .get(*id)
                .is_some_and(|m| m.iter().any(is_terminal)),
            "no answer to {id}: {by_request:?}"
        );
    }
    by_request
}

fn failure_code(messages: &[Captured]) -> Option<i64> {
    messages
        .iter()
        .find(|c| c.json.get("status").and_then(Value::as_str) == Some("Failure"))
        .and_then(|c| c.json["additionalInformation"]["errorCode"].as_i64())
}

fn property<'a>(contract: &'a Captured, name: &str) -> Option<&'a str> {
    contract.json["contractProperties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_acts_on_the_ledger_as_the_dead_active_instance_left_it() {
    let names = Names::new("standby-index");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = shared_ledger(&names, dir.path());
    // One state store for both, as several instances on one queue must have (`run` refuses each its own).
    let database = TestDatabase::create("standby_index");
    let state = database.state_yaml(5432);
    let (port_a, port_b) = (free_port(), free_port());
    let config_a = gateway_config(&names, dir.path(), "a", &sandbox, port_a, &state);
    let config_b = gateway_config(&names, dir.path(), "b", &sandbox, port_b, &state);

    // A consumes first, so the broker makes it the single active consumer.
    let mut a = started(&config_a, port_a).await;
    broker
        .publish_all(&bodies(&[create("sb-1"), create("sb-2"), create("sb-3")]))
        .await;
    let created = answers(&broker, &["sb-1", "sb-2", "sb-3"]).await;
    assert!(
        created.values().all(|m| failure_code(m).is_none()),
        "{created:?}"
    );
    assert_eq!(a.status().await["health"]["consumer_role"], "active");

    // B starts now: its index is loaded with the three shipments in state Created.
    let b = started(&config_b, port_b).await;
    assert_eq!(b.status().await["health"]["consumer_role"], "standby");
    let [one, two, three] = ["sb-1", "sb-2", "sb-3"].map(linear_id);
    let transfer = |id: &str, target: &str| {
        action(
            id,
            target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        )
    };
    broker
        .publish_all(&bodies(&[
            transfer("sb-1-transfer", &one),
            action("sb-1-complete", &one, "Complete", &[]),
            transfer("sb-2-transfer", &two),
            action("sb-2-complete", &two, "Complete", &[]),
            action("sb-2-archive", &two, "Archive", &[]),
            transfer("sb-3-transfer", &three),
            action("sb-3-complete", &three, "Complete", &[]),
        ]))
        .await;
    let acted = answers(
        &broker,
        &[
            "sb-1-transfer",
            "sb-1-complete",
            "sb-2-transfer",
            "sb-2-complete",
            "sb-2-archive",
            "sb-3-transfer",
            "sb-3-complete",
        ],
    )
    .await;
    assert!(
        acted.values().all(|m| failure_code(m).is_none()),
        "{acted:?}"
    );
    assert_eq!(a.status().await["health"]["consumer_role"], "active");
    assert_eq!(
        b.status().await["health"]["consumer_role"],
        "standby",
        "every delivery went to A"
    );
    assert_eq!(b.status().await["health"]["ingress_total"], 0);

    // The standby followed A's transactions: its index holds the ledger end (a stream's latency behind).
    let end = a.ledger_end().await;
    let followed = health_when(&b, "index_offset", Duration::from_secs(10), |v| {
        v.as_i64().is_some_and(|o| o >= end)
    })
    .await;
    a.kill();
    let ledger_end_before = b.ledger_end().await;

    broker
        .publish_all(&bodies(&[
            read("sb-3-read", &three),
            action("sb-1-archive", &one, "Archive", &[]),
            action("sb-2-again", &two, "Complete", &[]),
        ]))
        .await;
    let after = answers(&broker, &["sb-3-read", "sb-1-archive", "sb-2-again"]).await;
    let b_log = b.log_text();
    let read_answer = &after["sb-3-read"];
    assert_eq!(
        read_answer
            .iter()
            .find(|c| c.routing_key == "ContractMessage")
            .and_then(|c| property(c, "state")),
        Some("Completed"),
        "the read answers the state A left (index at {followed}, ledger end {end}): {read_answer:?}\n{b_log}"
    );
    assert_eq!(
        failure_code(&after["sb-1-archive"]),
        None,
        "Archive is allowed on the Completed shipment A left: {:?}\n{b_log}",
        after["sb-1-archive"]
    );
    assert!(
        after["sb-1-archive"]
            .iter()
            .any(|c| c.json["status"] == "Committed")
    );
    assert_eq!(
        failure_code(&after["sb-2-again"]),
        Some(4040),
        "A archived the shipment: not found, not submitted: {:?}\n{b_log}",
        after["sb-2-again"]
    );
    assert_eq!(
        b.ledger_end().await,
        ledger_end_before + 1,
        "one transaction: the archive; nothing submitted for the archived shipment"
    );
    assert_eq!(b.status().await["health"]["consumer_role"], "active");
    drop(b);
    drop(sandbox);
    broker.cleanup().await;
}

/// Another application creating a shipment directly on the sandbox; returns the transaction's offset.
async fn external_create(
    ledger: &daml_ledger::DamlLedger,
    template: &ledger_port::TemplateId,
    seed: &ledger_port::Record,
    label: &str,
) -> (String, i64) {
    use ledger_port::{Command, Ledger, LedgerValue, Submission};
    let lineage = uuid::Uuid::new_v4().to_string();
    let mut payload = seed.clone();
    payload.set("linearId", LedgerValue::Text(lineage.clone()));
    let tx = ledger
        .submit(Submission {
            command_id: format!("another-application-{label}-{lineage}"),
            act_as: vec!["Operator".to_owned()],
            command: Command::Create {
                template_id: template.clone(),
                arguments: payload,
            },
        })
        .await
        .unwrap();
    (lineage, tx.offset)
}

/// The observer messages (no requestId) captured, per linear id.
fn observed(got: &[Captured]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in got.iter().filter(|c| request_id(c).is_none()) {
        if let Some(id) = c.json["contractLedgerIdentifier"].as_str() {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// `text` without ANSI colour sequences (the log is coloured even in a file).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The offset a leader's observer resumed after, from its log line `observer following the ledger`.
fn resumed_after(log: &str) -> Option<i64> {
    let plain = strip_colours(log);
    plain
        .lines()
        .rfind(|l| l.contains("observer following the ledger"))?
        .split("begin_exclusive=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_observer_publishes_and_the_next_takes_over_from_the_checkpoint() {
    use ledger_port::{Ledger, UpdateFilter};

    let names = Names::new("observer-leader");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = shared_ledger(&names, dir.path());
    let lock_key: i64 = rand::random();
    // The lock is taken in the state store's database: no postgres_url of its own.
    let database = TestDatabase::create("observer_leader");
    let leadership = format!(
        "leadership: {{ observer: postgres, lock_key: {lock_key} }}\n{}",
        database.state_yaml(5432)
    );
    let (port_a, port_b) = (free_port(), free_port());
    let config_a = gateway_config(&names, dir.path(), "a", &sandbox, port_a, &leadership);
    let config_b = gateway_config(&names, dir.path(), "b", &sandbox, port_b, &leadership);

    let mut a = started(&config_a, port_a).await;
    let role = health_when(&a, "observer_role", Duration::from_secs(15), |v| {
        v == "leader"
    })
    .await;
    assert_eq!(role, "leader", "{}", a.log_text());
    let b = started(&config_b, port_b).await;
    assert_eq!(b.status().await["health"]["observer_role"], "follower");
    assert!(b.metrics().await.contains("connector_observer_leader 0"));
    assert!(a.metrics().await.contains("connector_observer_leader 1"));

    // A seed through the gateways gives the other application a payload to copy (the gateway's own transaction:
    // not published by the observer under `observe: external`).
    broker.publish_all(&bodies(&[create("ol-seed")])).await;
    answers(&broker, &["ol-seed"]).await;
    let other = daml_ledger::DamlLedger::connect(
        &daml_ledger::DamlSettings::new(sandbox.url(), "another-application"),
        vec!["Operator".to_owned()],
    )
    .unwrap();
    let seed = other
        .active_contracts(&UpdateFilter::default())
        .await
        .unwrap()
        .contracts[0]
        .created
        .clone();
    let mut made: Vec<(String, i64, &str)> = Vec::new();
    for n in 0..4 {
        let (id, offset) = external_create(
            &other,
            &seed.template_id,
            &seed.arguments,
            &format!("p1-{n}"),
        )
        .await;
        made.push((id, offset, "while A led"));
    }
    let queue = names.capture_queue.clone();
    let phase_one: BTreeSet<String> = made.iter().map(|(id, _, _)| id.clone()).collect();
    let got = broker
        .collect_until(&queue, Duration::from_secs(30), |got| {
            observed(got).keys().cloned().collect::<BTreeSet<_>>() == phase_one
        })
        .await;
    let counts = observed(&got);
    assert!(
        counts.values().all(|n| *n == 1),
        "one leader publishes each once: {counts:?}"
    );
    let b_metrics = b.metrics().await;
    assert_eq!(
        metric_sum(&b_metrics, "connector_observer_messages_total", &[]),
        0.0,
        "the follower publishes nothing"
    );
    let mut captured = got;

    // The leader dies; transactions go on meanwhile; the follower takes over within seconds.
    a.kill();
    let killed = Instant::now();
    for n in 0..4 {
        let (id, offset) = external_create(
            &other,
            &seed.template_id,
            &seed.arguments,
            &format!("p2-{n}"),
        )
        .await;
        made.push((id, offset, "with no leader"));
    }
    let role = health_when(&b, "observer_role", Duration::from_secs(15), |v| {
        v == "leader"
    })
    .await;
    let takeover = killed.elapsed();
    assert_eq!(role, "leader", "{}", b.log_text());
    assert!(
        takeover < Duration::from_secs(8),
        "took over after {takeover:?}"
    );
    for n in 0..4 {
        let (id, offset) = external_create(
            &other,
            &seed.template_id,
            &seed.arguments,
            &format!("p3-{n}"),
        )
        .await;
        made.push((id, offset, "while B led"));
    }
    let all: BTreeSet<String> = made.iter().map(|(id, _, _)| id.clone()).collect();
    let mut rest = broker
        .collect_until_quiet(
            &queue,
            Duration::from_secs(60),
            Duration::from_secs(3),
            |got| {
                let seen: BTreeSet<String> = observed(got).keys().cloned().collect();
                all.iter()
                    .filter(|id| !phase_one.contains(*id))
                    .all(|id| seen.contains(id))
            },
        )
        .await;
    // A moment more: a copy published twice would arrive now.
    rest.extend(
        broker
            .collect_until_quiet(
                &queue,
                Duration::from_secs(3),
                Duration::from_secs(3),
                |_| false,
            )
            .await,
    );
    captured.extend(rest);
    let counts = observed(&captured);
    let b_log = b.log_text();
    let resumed = resumed_after(&b_log).unwrap_or_else(|| panic!("no resume line:\n{b_log}"));
    for (id, offset, when) in &made {
        let n = counts.get(id).copied().unwrap_or(0);
        assert!(
            n >= 1,
            "{when}, offset {offset}: never published ({counts:?})\n{b_log}"
        );
        // Published by both only when A had published it and B's checkpoint was before it: B resumes from the
        // checkpoint its state store holds (its own today; the shared one once the state store is PostgreSQL).
        let published_by_a = *when == "while A led";
        let max = if published_by_a && *offset > resumed {
            2
        } else {
            1
        };
        assert!(
            n <= max,
            "{when}, offset {offset}, B resumed after {resumed}: published {n} times"
        );
    }
    assert!(b.metrics().await.contains("connector_observer_leader 1"));
    drop(b);
    drop(sandbox);
    broker.cleanup().await;
}
