//! Who may read and act as whom: the acting-party rule for every request kind, reads answered only to a party that
//! may see the lineage (else exactly the 4040 of a missing one), parties bound to the sender's broker user, and no
//! create taking over another party's lineage.

use ledger_port::TemplateId;

use super::*;

/// Alice may act as the gateway's party and the device, Bob only as the carrier.
fn bindings() -> IndexMap<String, Vec<String>> {
    IndexMap::from([
        (
            "alice".to_owned(),
            vec!["Operator".to_owned(), "Device01".to_owned()],
        ),
        ("bob".to_owned(), vec!["Carrier".to_owned()]),
    ])
}

/// A processor on `ledger` whose allow-list adds Carrier (never a stakeholder of a fresh shipment), with parties
/// bound to broker users when `bound`.
fn authorizing(ledger: Arc<EmbeddedLedger>, bound: bool) -> Processor {
    let (mapping, _) = compiled();
    Processor::new(
        ledger,
        mapping,
        Arc::new(MemoryOutcomeStore::new()),
        ProcessorSettings {
            allowed_request_parties: Some(vec![
                "Operator".to_owned(),
                "Device01".to_owned(),
                "Carrier".to_owned(),
            ]),
            parties_by_amqp_user: bound.then(bindings),
            ..settings()
        },
    )
}

fn fresh_ledger() -> Arc<EmbeddedLedger> {
    let (_, catalog) = compiled();
    Arc::new(EmbeddedLedger::in_memory(catalog, CLOCK))
}

fn with_party(body: Vec<u8>, party: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    v["userChainIdentifier"] = json!(party);
    serde_json::to_vec(&v).unwrap()
}

fn read_as(request_id: &str, target: &str, party: &str) -> Vec<u8> {
    with_party(read(request_id, target), party)
}

fn from(user: Option<&str>) -> Sender {
    Sender {
        amqp_user_id: user.map(str::to_owned),
        redelivered: false,
    }
}

fn message_of(m: &Value) -> &str {
    m["additionalInformation"]["errorMessage"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_read_as_an_allowed_party_sees_only_contracts_it_is_a_stakeholder_of() {
    let ledger = fresh_ledger();
    let p = authorizing(ledger, false);
    p.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();

    let device = json_of(&p.process(&read_as("r-device", &lid, "Device01")).await);
    assert_eq!(device.len(), 1);
    assert_eq!(
        device[0]["messageName"], "ContractMessage",
        "the payload names the device: {device:?}"
    );
    let operator = json_of(&p.process(&read("r-operator", &lid)).await);
    assert_eq!(
        operator[0]["messageName"], "ContractMessage",
        "the gateway's own party reads what it indexes"
    );

    let carrier = p.process(&read_as("r-carrier", &lid, "Carrier")).await;
    // The same read of a lineage that does not exist, on an empty ledger: the answers must not differ at all.
    let missing = authorizing(fresh_ledger(), false)
        .process(&read_as("r-carrier", &lid, "Carrier"))
        .await;
    assert_eq!(error_code(&json_of(&carrier)[0]), 4040);
    assert_eq!(
        carrier.egress, missing.egress,
        "a contract the party may not see is answered exactly as a missing one"
    );

    // Handed to the carrier, the successor names it: now it may read the lineage.
    p.process(&action(
        "t1",
        &lid,
        "Transfer",
        &[("newCounterparty", "Carrier")],
        None,
    ))
    .await;
    let carrier = json_of(&p.process(&read_as("r-carrier-2", &lid, "Carrier")).await);
    assert_eq!(carrier[0]["messageName"], "ContractMessage", "{carrier:?}");
}

#[tokio::test]
async fn a_request_naming_a_party_outside_the_allow_list_is_4030_naming_that_party_only() {
    let p = authorizing(fresh_ledger(), false);
    p.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    for (body, name) in [
        (read_as("r1", &lid, "Mallory"), "ReadContractUpdate"),
        (
            read_as("r2", "00000000-0000-0000-0000-000000000000", "Mallory"),
            "ReadContractUpdate",
        ),
        (
            action("a1", &lid, "Complete", &[], Some("Mallory")),
            "CreateContractActionUpdate",
        ),
        (
            with_party(create("c2", "20", "60"), "Mallory"),
            "CreateContractUpdate",
        ),
    ] {
        let m = json_of(&p.process(&body).await);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0]["messageName"], name);
        assert_eq!(error_code(&m[0]), 4030, "{m:?}");
        assert_eq!(
            m[0]["additionalInformation"]["field"],
            "userChainIdentifier"
        );
        let message = message_of(&m[0]);
        assert!(message.contains("\"Mallory\""), "{message}");
        assert!(
            !message.contains("Device01") && !message.contains("Carrier"),
            "the allow-list is not revealed: {message}"
        );
    }
}

#[tokio::test]
async fn a_party_not_bound_to_the_sender_is_refused_for_every_request_kind() {
    let ledger = fresh_ledger();
    let p = authorizing(ledger.clone(), true);
    let alice = from(Some("alice"));
    let created = p.process_from(&create("c1", "20", "60"), &alice).await;
    assert_eq!(json_of(&created)[1]["status"], "Committed");
    let lid = linear_id_for("c1").to_string();
    let before = ledger.transaction_count();

    // (label, sender, acting party, what the message must name)
    let refusals: [(&str, Sender, Option<&str>, &[&str]); 4] = [
        ("no user_id", from(None), None, &["no AMQP user_id"]),
        (
            "unknown user",
            from(Some("mallory")),
            Some("Device01"),
            &["\"mallory\""],
        ),
        (
            "another user's party",
            from(Some("bob")),
            Some("Device01"),
            &["\"bob\"", "\"Device01\""],
        ),
        (
            "the gateway's party, not bound to bob",
            from(Some("bob")),
            None,
            &["\"bob\"", "\"Operator\""],
        ),
    ];
    for (label, sender, party, named) in refusals {
        let bodies = [
            create(&format!("c-{label}"), "20", "60"),
            action(&format!("a-{label}"), &lid, "Inspect", &[], None),
            read(&format!("r-{label}"), &lid),
        ];
        for body in bodies {
            let body = match party {
                Some(party) => with_party(body, party),
                None => body,
            };
            let m = json_of(&p.process_from(&body, &sender).await);
            assert_eq!(m.len(), 1, "{label}: {m:?}");
            assert_eq!(error_code(&m[0]), 4030, "{label}: {m:?}");
            assert_eq!(
                m[0]["additionalInformation"]["field"],
                "userChainIdentifier"
            );
            for name in named {
                assert!(message_of(&m[0]).contains(name), "{label}: {m:?}");
            }
        }
    }
    assert_eq!(
        ledger.transaction_count(),
        before,
        "nothing refused reached the ledger"
    );

    // Inside the sender's parties, every kind passes.
    let inspected = json_of(
        &p.process_from(
            &action(
                "a-ok",
                &lid,
                "Ingest",
                &[("humidity", "30")],
                Some("Device01"),
            ),
            &alice,
        )
        .await,
    );
    assert_eq!(inspected[1]["status"], "Committed", "{inspected:?}");
    let read_back = json_of(
        &p.process_from(&read_as("r-ok", &lid, "Device01"), &alice)
            .await,
    );
    assert_eq!(read_back[0]["messageName"], "ContractMessage");
    let by_device = json_of(
        &p.process_from(&with_party(create("c-ok", "20", "60"), "Device01"), &alice)
            .await,
    );
    assert_eq!(by_device[1]["status"], "Committed", "{by_device:?}");
    // Bob's carrier is bound and allowed, but no stakeholder: its read is the 4040 of a missing lineage.
    let bob = json_of(
        &p.process_from(&read_as("r-bob", &lid, "Carrier"), &from(Some("bob")))
            .await,
    );
    assert_eq!(error_code(&bob[0]), 4040, "{bob:?}");
}

#[tokio::test]
async fn a_user_id_is_cut_and_escaped_in_the_refusal() {
    let p = authorizing(fresh_ledger(), true);
    let user = format!("evil\n{}", "x".repeat(1_000));
    let m = json_of(
        &p.process_from(&create("c1", "20", "60"), &from(Some(&user)))
            .await,
    );
    let message = message_of(&m[0]);
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("evil\\n") && message.len() < 400,
        "{message}"
    );
}

#[tokio::test]
async fn a_create_on_another_partys_active_lineage_is_4090_and_changes_nothing() {
    let ledger = fresh_ledger();
    let p = authorizing(ledger.clone(), false);
    let squatted = linear_id_for("x9");
    // Someone else on the ledger created a contract under the linear id that requestId x9 derives.
    ledger
        .submit(Submission {
            command_id: "elsewhere-1".into(),
            act_as: vec!["Device01".into()],
            command: Command::Create {
                template_id: TemplateId::parse("Cold:Shipment").unwrap(),
                arguments: Record::new()
                    .with("linearId", LedgerValue::Text(squatted.to_string()))
                    .with("device", LedgerValue::Party("Device01".into()))
                    .with("owner", LedgerValue::Party("Device01".into()))
                    .with("minHumidity", LedgerValue::Int64(0))
                    .with("maxHumidity", LedgerValue::Int64(1))
                    .with("state", LedgerValue::Enum("Created".into())),
            },
        })
        .await
        .unwrap();
    p.load_index().await.unwrap();
    let current = || {
        p.index()
            .read()
            .unwrap()
            .get(&squatted)
            .map(|c| c.contract_id.clone())
    };
    let before = (current(), ledger.transaction_count());
    assert!(before.0.is_some());

    let m = json_of(&p.process(&create("x9", "20", "60")).await);
    assert_eq!(m.len(), 1, "refused before Submitted: {m:?}");
    assert_eq!(error_code(&m[0]), 4090, "{m:?}");
    assert_eq!(m[0]["messageName"], "CreateContractUpdate");
    assert_eq!(m[0]["additionalInformation"]["field"], "requestId");
    assert!(
        message_of(&m[0]).contains("already the active lineage of another party"),
        "{m:?}"
    );
    assert_eq!(
        (current(), ledger.transaction_count()),
        before,
        "nothing submitted, the lineage unchanged"
    );
}

#[tokio::test]
async fn the_same_party_repeating_its_create_gets_the_ledgers_original_answer() {
    let ledger = fresh_ledger();
    let first = authorizing(ledger.clone(), false)
        .process(&create("c1", "20", "60"))
        .await;
    // A gateway that lost its outcomes: the lineage is active and signed by the gateway's party.
    let fresh = authorizing(ledger.clone(), false);
    fresh.load_index().await.unwrap();
    let count = ledger.transaction_count();
    assert_eq!(
        fresh.process(&create("c1", "20", "60")).await.egress,
        first.egress
    );
    assert_eq!(ledger.transaction_count(), count);
    // The device signs none of it: the same requestId acting as the device would be answered with the gateway
    // party's original transaction under the device's name.
    let as_device = authorizing(ledger.clone(), false);
    as_device.load_index().await.unwrap();
    let m = json_of(
        &as_device
            .process(&with_party(create("c1", "20", "60"), "Device01"))
            .await,
    );
    assert_eq!(error_code(&m[0]), 4090, "{m:?}");
    assert_eq!(ledger.transaction_count(), count);
}
