//! Every egress shape of a committed request: a create's Submitted / Committed / Contract, an action's Event and
//! successor with consistent transaction ids, nonconsuming and archive choices, contract-id parameters.

use super::*;

#[tokio::test]
async fn create_yields_submitted_committed_contract() {
    let f = fixture();
    let p = f.processor.process(&create("c1", "20", "60")).await;
    assert_eq!(p.disposition, Disposition::Completed);
    let m = json_of(&p);
    let lid = linear_id_for("c1");
    assert_eq!(m.len(), 3);
    assert_eq!(
        (m[0]["messageName"].as_str(), m[0]["status"].as_str()),
        (Some("CreateContractUpdate"), Some("Submitted"))
    );
    assert_eq!(m[1]["status"], "Committed");
    assert_eq!(m[2]["messageName"], "ContractMessage");
    assert_eq!(m[2]["isNewContract"], true);
    for msg in &m {
        assert_eq!(msg["contractLedgerIdentifier"], lid.to_string());
        assert_eq!(
            msg["contractId"].as_u64(),
            Some(message_schema::ids::contract_id(&lid))
        );
        assert_eq!(msg["requestId"], "c1");
    }
    assert_eq!(property(&m[2], "state").as_deref(), Some("Created"));
    assert_eq!(property(&m[2], "owner").as_deref(), Some("Operator"));
    assert_eq!(
        property(&m[2], "linearId"),
        None,
        "the linear id field is left out"
    );
    assert_eq!(m[2]["modifyingTransactions"][0]["from"], "Operator");
    assert_eq!(
        p.egress
            .iter()
            .map(|e| e.routing_key.as_str())
            .collect::<Vec<_>>(),
        [
            "CreateContractUpdate",
            "CreateContractUpdate",
            "ContractMessage"
        ]
    );
}

#[tokio::test]
async fn action_yields_event_and_successor_with_consistent_transaction_ids() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let p = f
        .processor
        .process(&action(
            "a1",
            &lid,
            "Ingest",
            &[("humidity", "70")],
            Some("Device01"),
        ))
        .await;
    let m = json_of(&p);
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[0]["messageName"], "CreateContractActionUpdate");
    assert_eq!(m[2]["messageName"], "EventMessage");
    assert_eq!(m[2]["functionName"], "Ingest");
    assert_eq!(m[2]["caller"]["ledgerIdentifier"], "Device01");
    assert_eq!(
        m[2]["caller"]["id"].as_u64(),
        Some(message_schema::ids::caller_id("Device01"))
    );
    assert_eq!(
        m[2]["parameters"],
        json!([{"name":"humidity","value":"70"}])
    );
    assert_eq!(m[2]["inTransactionSequenceNumber"], 1);
    assert_eq!(m[3]["isNewContract"], false);
    assert_eq!(
        property(&m[3], "state").as_deref(),
        Some("OutOfCompliance"),
        "the rule applied"
    );
    assert_eq!(m[2]["transaction"]["transactionHash"], m[3]["blockhash"]);
    assert_eq!(m[2]["transaction"]["transactionId"], m[3]["blockId"]);
    // The read sees the successor.
    let r = json_of(&f.processor.process(&read("r1", &lid)).await);
    assert_eq!(r.len(), 1);
    assert_eq!(property(&r[0], "humidity").as_deref(), Some("70"));
    assert!(
        r[0].get("blockId").is_none(),
        "read reply is the reduced form"
    );
}

#[tokio::test]
async fn nonconsuming_and_archive_choices() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let before = f.ledger.transaction_count();
    let p = json_of(
        &f.processor
            .process(&action("i1", &lid, "Inspect", &[], None))
            .await,
    );
    assert_eq!(p[3]["messageName"], "ContractMessage");
    assert_eq!(property(&p[3], "state").as_deref(), Some("Created"));
    assert_eq!(f.ledger.transaction_count(), before + 1);
    let p = json_of(
        &f.processor
            .process(&action("x1", &lid, "Cancel", &[], None))
            .await,
    );
    assert_eq!(p[1]["status"], "Committed");
    let gone = json_of(&f.processor.process(&read("r2", &lid)).await);
    assert_eq!(error_code(&gone[0]), 4040, "the archived lineage is gone");
    assert_eq!(gone[0]["messageName"], "ReadContractUpdate");
}

#[tokio::test]
async fn contract_id_parameters_accept_a_linear_id() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let index = f.processor.index();
    let current = index
        .read()
        .unwrap()
        .get(&linear_id_for("c1"))
        .unwrap()
        .contract_id
        .clone();
    let mut record = Record::new().with(
        "ref",
        LedgerValue::ContractId(linear_id_for("c1").to_string()),
    );
    f.processor.resolve_contract_ids(&mut record);
    assert_eq!(
        record.get("ref"),
        Some(&LedgerValue::ContractId(current.to_string()))
    );
}
