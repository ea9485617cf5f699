//! Guarantee 6, no gap in the observer, end to end (`connector run` against the real RabbitMQ on 127.0.0.1:5672):
//! the observer publishes each transaction once, resumes after its checkpoint on a restart, sweeps the active
//! contracts when it has none, and on a Daml ledger publishes and indexes another application's transactions. The
//! shared tests run on both ledgers (`embedded::…`, `daml::…`).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::example_requests::{bodies, create, linear_id, read, request_id, telemetry};
use support::gateway_harness::{Harness, IN_MEMORY, on_every_ledger};
use support::*;

async fn the_observer_publishes_resumes_from_its_checkpoint_and_sweeps(kind: LedgerKind) {
    let h = Harness::new("observer", kind).await;
    let journal = h.dir.path().join("ledger.log");
    let ledger = format!("  embedded: {{ journal: {} }}", journal.display());
    let config = h.config(&ledger, "observe: all\nsweep: true");
    let mut gw = h.start(&config).await;
    h.broker
        .publish_all(&bodies(&[
            create("obs-1"),
            create("obs-2"),
            create("obs-3"),
        ]))
        .await;
    let got = h.broker.egress(12, Duration::from_secs(30)).await;
    let observed: Vec<&Captured> = got.iter().filter(|c| request_id(c).is_none()).collect();
    assert_eq!(
        observed.len(),
        3,
        "one observer ContractMessage per transaction"
    );
    for o in &observed {
        assert_eq!(o.routing_key, "ContractMessage");
        assert_eq!(o.json["isNewContract"], true);
    }
    // A clean restart resumes after the checkpoint: nothing is published again.
    assert!(gw.terminate());
    gw.spawn();
    assert!(gw.wait_ready(Duration::from_secs(60)).await);
    h.broker.publish_all(&bodies(&[create("obs-4")])).await;
    let got = h.broker.egress(5, Duration::from_secs(10)).await;
    assert_eq!(
        got.len(),
        4,
        "three for the request, one from the observer: {got:?}"
    );
    assert_eq!(got.iter().filter(|c| request_id(c).is_none()).count(), 1);
    // Without a checkpoint (a new state directory), the sweep publishes the active contracts first.
    assert!(gw.terminate());
    let fresh = config.with_file_name("fresh.yaml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("state_dir: {}", h.dir.path().join("state").display()),
        &format!("state_dir: {}", h.dir.path().join("state2").display()),
    );
    std::fs::write(&fresh, text).unwrap();
    let swept = Gateway::start(&fresh, h.http_port);
    let got = h.broker.egress(4, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 4, "{}", swept.log_text());
    assert!(got.iter().all(|c| c.routing_key == "ContractMessage"
        && c.json["isNewContract"] == false
        && request_id(c).is_none()));
    let swept_ids: BTreeSet<String> = got
        .iter()
        .map(|c| {
            c.json["contractLedgerIdentifier"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = (1..=4).map(|i| linear_id(&format!("obs-{i}"))).collect();
    assert_eq!(swept_ids, expected);
    drop(swept);
    h.broker.cleanup().await;
}

on_every_ledger!(the_observer_publishes_resumes_from_its_checkpoint_and_sweeps,);

/// Daml only (on the embedded ledger nobody else can write): a transaction another application makes on the
/// participant is published by the observer (`observe: external`, the default) and indexed, so requests can read and
/// act on a contract the gateway did not create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daml_external_transactions_are_observed_and_then_addressable() {
    use ledger_port::{Command, Ledger, LedgerValue, Submission, UpdateFilter};

    let h = Harness::new("external", LedgerKind::Daml).await;
    let gw = h.start(&h.config(IN_MEMORY, "")).await;
    h.broker.publish_all(&bodies(&[create("ext-seed")])).await;
    let seeded = h.broker.egress(3, Duration::from_secs(30)).await;
    assert_eq!(seeded.len(), 3, "{}", gw.log_text());
    assert!(
        seeded
            .iter()
            .all(|c| request_id(c).as_deref() == Some("ext-seed")),
        "the gateway's own transaction is not published again by the observer: {seeded:?}"
    );

    // Another application, with its own Ledger API user, creates a contract of the mapped template.
    let url = h.sandboxes.lock().unwrap()[0].url();
    let other = daml_ledger::DamlLedger::connect(
        &daml_ledger::DamlSettings::new(url, "another-application"),
        vec!["Operator".to_owned()],
    )
    .unwrap();
    let active = other
        .active_contracts(&UpdateFilter::default())
        .await
        .unwrap();
    let seed = active.contracts[0].created.clone();
    let external = uuid::Uuid::new_v4();
    let mut payload = seed.arguments.clone();
    payload.set("linearId", LedgerValue::Text(external.to_string()));
    payload.set("maxHumidity", LedgerValue::Int64(45));
    other
        .submit(Submission {
            command_id: "another-application-create-1".to_owned(),
            act_as: vec!["Operator".to_owned()],
            command: Command::Create {
                template_id: seed.template_id.clone(),
                arguments: payload,
            },
        })
        .await
        .unwrap();

    let observed = h.broker.egress(1, Duration::from_secs(30)).await;
    assert_eq!(observed.len(), 1, "{}", gw.log_text());
    assert_eq!(observed[0].routing_key, "ContractMessage");
    assert_eq!(
        request_id(&observed[0]),
        None,
        "no request of ours caused it"
    );
    assert_eq!(
        observed[0].json["contractLedgerIdentifier"],
        external.to_string()
    );
    assert_eq!(observed[0].json["isNewContract"], true);

    // The observer indexed it: a read answers with its properties, an action on it commits.
    let target = external.to_string();
    h.broker
        .publish_all(&bodies(&[
            read("ext-read", &target),
            telemetry("ext-act", &target, 30),
        ]))
        .await;
    let answers = h.broker.egress(5, Duration::from_secs(30)).await;
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert_eq!(request_id(&answers[0]).as_deref(), Some("ext-read"));
    let properties = answers[0].json["contractProperties"].to_string();
    assert!(properties.contains("\"maxHumidity\""), "{properties}");
    assert!(properties.contains("\"45\""), "{properties}");
    let act: Vec<&Captured> = answers[1..].iter().collect();
    assert!(
        act.iter()
            .all(|c| request_id(c).as_deref() == Some("ext-act")
                && c.json.get("status").and_then(Value::as_str) != Some("Failure")),
        "{act:?}"
    );
    assert_eq!(act[1].json["status"], "Committed");
    drop(gw);
    h.broker.cleanup().await;
}
