//! A crash at the worst moment for an archiving choice: the gateway process aborts right after the ledger committed
//! the archive and before its answer was recorded (the `abort_after_commit` test fault), on both ledgers. Started
//! again, the broker redelivers the request; its lineage is gone from the index (its own command archived it), so
//! without asking the ledger it would be answered "no active contract" (4040) although its effect happened. It must
//! be answered as committed, with its event and the shipment's last state, and the ledger must hold one archive.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_committed_before_a_crash_is_answered_as_committed() {
    archive_after_crash(LedgerKind::Embedded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_committed_before_a_crash_is_answered_as_committed_on_daml() {
    archive_after_crash(LedgerKind::Daml).await
}

fn action(request_id: &str, linear_id: &str, function: &str, parameters: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"messageName":"CreateContractActionRequest","requestId":request_id,
        "contractLedgerIdentifier":linear_id,"workflowFunctionName":function,"parameters":parameters,
        "messageSchemaVersion":"1.0.0"}))
    .unwrap()
}

fn messages_of<'a>(captured: &'a [Captured], request_id: &str) -> Vec<&'a Captured> {
    captured
        .iter()
        .filter(|c| c.json.get("requestId").and_then(Value::as_str) == Some(request_id))
        .collect()
}

async fn archive_after_crash(kind: LedgerKind) {
    let names = Names::new(&format!("archive-crash-{}", kind.name()));
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let journal = dir.path().join("ledger.log");
    let (config, _sandbox) = config_on(
        kind,
        &names,
        dir.path(),
        http_port,
        &format!("  embedded: {{ journal: {} }}", journal.display()),
        "faults:\n  rules:\n    - { request_id: ship-archive, kind: abort_after_commit }",
    );
    let mut gw = Gateway::start(&config, http_port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );

    let create = example_messages().remove(0);
    let created: Value = serde_json::from_slice(&create).unwrap();
    let linear_id =
        message_schema::linear_id::linear_id_for(created["requestId"].as_str().unwrap())
            .to_string();
    let mut bodies = vec![create];
    bodies.push(action(
        "ship-transfer",
        &linear_id,
        "TransferResponsibility",
        json!([{"name":"newCounterparty","value":"Carrier"}]),
    ));
    bodies.push(action("ship-complete", &linear_id, "Complete", json!([])));
    bodies.push(action("ship-archive", &linear_id, "Archive", json!([])));
    broker.publish_all(&bodies).await;

    // The first gateway commits the archive and aborts before answering it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = gw.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the fault never fired: {}",
            gw.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "aborted: {status:?}");
    assert!(
        gw.log_text()
            .contains("injected fault: aborting the process"),
        "{}",
        gw.log_text()
    );
    let before_restart = broker
        .collect_until(&names.capture_queue, Duration::from_secs(2), |_| false)
        .await;
    assert!(
        messages_of(&before_restart, "ship-archive").is_empty(),
        "nothing was answered before the crash"
    );

    // Started again, it is redelivered and answered from the ledger's memory of its command.
    gw.child = None;
    gw.spawn();
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let after = broker
        .collect_until(&names.capture_queue, Duration::from_secs(60), |got| {
            messages_of(got, "ship-archive")
                .iter()
                .any(|c| c.routing_key == "ContractMessage" || c.json["status"] == "Failure")
        })
        .await;
    let answer = messages_of(&after, "ship-archive");
    let shapes: Vec<(String, Option<String>)> = answer
        .iter()
        .map(|c| {
            (
                c.routing_key.clone(),
                c.json
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [
            (
                "CreateContractActionUpdate".to_owned(),
                Some("Submitted".to_owned())
            ),
            (
                "CreateContractActionUpdate".to_owned(),
                Some("Committed".to_owned())
            ),
            ("EventMessage".to_owned(), None),
            ("ContractMessage".to_owned(), None),
        ],
        "{:#?}\n{}",
        answer.iter().map(|c| &c.json).collect::<Vec<_>>(),
        gw.log_text()
    );
    let last_state = answer[3].json.to_string();
    assert!(
        last_state.contains("Completed"),
        "the shipment's last state: {last_state}"
    );
    assert!(
        gw.log_text().contains("answering with its original egress"),
        "{}",
        gw.log_text()
    );
    // One archive: create, transfer, complete, archive.
    assert_eq!(gw.ledger_end().await, 4, "{}", gw.log_text());
    assert!(gw.terminate(), "clean stop: {}", gw.log_text());
    broker.cleanup().await;
}
