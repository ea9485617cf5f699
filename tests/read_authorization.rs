//! Who may read and act as whom (issue 11, item 5), end to end: `connector run` with
//! `user_chain_identifier.parties_by_amqp_user` against the real broker, which vouches for each message's `user_id`.
//! Creates and reads act only as a party of their sender's broker user; a read answers only a stakeholder of the
//! lineage (anyone else gets the 4040 of a missing lineage); a message without `user_id` is refused; RabbitMQ
//! itself refuses a `user_id` that is not the publishing connection's user. Each test runs on the embedded ledger
//! and on a Daml ledger (`connector sandbox`, whose created events list the payload's parties as observers).

mod support;

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::{Value, json};
use support::*;

const IN_MEMORY: &str = "  embedded: {}";

fn request_id(c: &Captured) -> Option<&str> {
    c.json.get("requestId").and_then(Value::as_str)
}

fn is_terminal(c: &Captured) -> bool {
    c.routing_key == "ContractMessage"
        || c.json.get("status").and_then(Value::as_str) == Some("Failure")
}

fn error_code(c: &Captured) -> Option<u64> {
    c.json["additionalInformation"]["errorCode"].as_u64()
}

fn error_message(c: &Captured) -> &str {
    c.json["additionalInformation"]["errorMessage"]
        .as_str()
        .unwrap_or_default()
}

/// A shipment created as `party`: the device (Device01), owner Retailer and observer Auditor are in its payload.
fn create_as(request_id: &str, party: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "messageName": "CreateContractRequest", "requestId": request_id, "workflowName": "RefrigeratedTransportation",
        "parameters": [
            {"name": "device", "value": "Device01"}, {"name": "supplyChainOwner", "value": "Retailer"},
            {"name": "supplyChainObserver", "value": "Auditor"}, {"name": "minHumidity", "value": "30"},
            {"name": "maxHumidity", "value": "60"}, {"name": "minTemperature", "value": "2"},
            {"name": "maxTemperature", "value": "8"}
        ],
        "messageSchemaVersion": "1.0.0", "userChainIdentifier": party
    }))
    .unwrap()
}

fn read_as(request_id: &str, target: &str, party: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "messageName": "ReadContractRequest", "requestId": request_id, "contractLedgerIdentifier": target,
        "messageSchemaVersion": "1.0.0", "userChainIdentifier": party
    }))
    .unwrap()
}

fn transfer_as(request_id: &str, target: &str, party: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "messageName": "CreateContractActionRequest", "requestId": request_id, "contractLedgerIdentifier": target,
        "workflowFunctionName": "TransferResponsibility",
        "parameters": [{"name": "newCounterparty", "value": "Carrier"}],
        "messageSchemaVersion": "1.0.0", "userChainIdentifier": party
    }))
    .unwrap()
}

fn sent_by(user: Option<&str>) -> BasicProperties {
    let properties = BasicProperties::default().with_delivery_mode(2);
    match user {
        Some(user) => properties.with_user_id(user.into()),
        None => properties,
    }
}

/// Each request's terminal egress message, once every id in `ids` has one.
async fn terminals(broker: &Broker, ids: &[&str]) -> Vec<Captured> {
    let egress = broker
        .collect_until_quiet(
            &broker.names.capture_queue,
            Duration::from_secs(60),
            Duration::from_secs(20),
            |got| {
                ids.iter().all(|id| {
                    got.iter()
                        .any(|c| is_terminal(c) && request_id(c) == Some(id))
                })
            },
        )
        .await;
    egress.into_iter().filter(is_terminal).collect()
}

fn terminal_of<'a>(terminals: &'a [Captured], id: &str) -> &'a Captured {
    terminals
        .iter()
        .find(|c| request_id(c) == Some(id))
        .unwrap_or_else(|| panic!("no terminal egress for {id}: {terminals:?}"))
}

async fn parties_are_bound_to_broker_users_and_reads_answer_only_stakeholders(kind: LedgerKind) {
    let names = Names::new(&format!("authz-{}", kind.name()));
    let broker = Broker::connect(&names).await;
    // A second sender with a broker user of its own, which may only publish to the default exchange.
    let retail_app = BrokerUser::create("it-authz-retail", "^$", "^amq\\.default$", "^$");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let user_chain_identifier = format!(
        "  allowed_parties: [Operator, Device01, Carrier, Retailer]\n  parties_by_amqp_user:\n    \
         guest: [Device01, Carrier]\n    {}: [Retailer]\n",
        retail_app.name
    );
    let parts = ConfigParts {
        user_chain_identifier: &user_chain_identifier,
        ..ConfigParts::default()
    };
    let (config, _sandbox) = config_on_with(kind, &names, dir.path(), port, IN_MEMORY, &parts);
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );

    // The test's connection is guest's, so guest is the user_id the broker lets it set.
    broker
        .publish_with(
            &create_as("create-device", "Device01"),
            sent_by(Some("guest")),
        )
        .await;
    let created = terminals(&broker, &["create-device"]).await;
    let contract = terminal_of(&created, "create-device");
    assert_eq!(
        contract.routing_key,
        "ContractMessage",
        "acting as a party of guest's commits: {:?}\n{}",
        contract.json,
        gw.log_text()
    );
    let lineage = contract.json["contractLedgerIdentifier"]
        .as_str()
        .unwrap()
        .to_owned();

    broker
        .publish_with(
            &read_as("read-device", &lineage, "Device01"),
            sent_by(Some("guest")),
        )
        .await;
    broker
        .publish_with(
            &read_as("read-carrier", &lineage, "Carrier"),
            sent_by(Some("guest")),
        )
        .await;
    broker
        .publish_with(
            &read_as(
                "read-missing",
                "00000000-0000-0000-0000-000000000000",
                "Carrier",
            ),
            sent_by(Some("guest")),
        )
        .await;
    broker
        .publish_with(
            &read_as("read-no-user", &lineage, "Device01"),
            sent_by(None),
        )
        .await;
    broker
        .publish_with(
            &read_as("read-retailer-as-guest", &lineage, "Retailer"),
            sent_by(Some("guest")),
        )
        .await;
    broker
        .publish_with(
            &create_as("create-retailer-as-guest", "Retailer"),
            sent_by(Some("guest")),
        )
        .await;

    let retail = Connection::connect(&retail_app.amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let retail_channel = retail.create_channel().await.unwrap();
    retail_channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    for (body, id) in [
        (
            read_as("read-retailer", &lineage, "Retailer"),
            "read-retailer",
        ),
        (
            transfer_as("transfer-device-as-retail", &lineage, "Device01"),
            "transfer-device-as-retail",
        ),
    ] {
        retail_channel
            .basic_publish(
                "".into(),
                names.ingress_queue.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                sent_by(Some(&retail_app.name)),
            )
            .await
            .unwrap()
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }

    // RabbitMQ refuses a user_id that is not the connection's user: the channel is closed, nothing is queued.
    let forging = broker.connection.create_channel().await.unwrap();
    forging
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let forged = match forging
        .basic_publish(
            "".into(),
            names.ingress_queue.as_str().into(),
            BasicPublishOptions::default(),
            &read_as("read-forged", &lineage, "Retailer"),
            sent_by(Some(&retail_app.name)),
        )
        .await
    {
        Ok(confirm) => confirm.await.map(|_| ()),
        Err(e) => Err(e),
    };
    let refusal = format!(
        "{:?}",
        forged.expect_err("the broker refuses a forged user_id")
    );
    assert!(refusal.contains("PRECONDITION"), "{refusal}");

    let ids = [
        "read-device",
        "read-carrier",
        "read-missing",
        "read-no-user",
        "read-retailer-as-guest",
        "create-retailer-as-guest",
        "read-retailer",
        "transfer-device-as-retail",
    ];
    let answers = terminals(&broker, &ids).await;
    let answer = |id| terminal_of(&answers, id);

    let device = answer("read-device");
    assert_eq!(device.routing_key, "ContractMessage", "{:?}", device.json);
    assert_eq!(device.json["contractLedgerIdentifier"], lineage.as_str());
    // Retailer only appears in the payload: on Daml the gateway knows it as an observer the sandbox reported.
    let retailer = answer("read-retailer");
    assert_eq!(
        retailer.routing_key, "ContractMessage",
        "a stakeholder reads through its own broker user: {:?}",
        retailer.json
    );

    let carrier = answer("read-carrier");
    let missing = answer("read-missing");
    assert_eq!(error_code(carrier), Some(4040), "{:?}", carrier.json);
    assert_eq!(
        error_message(carrier).replace(&lineage, "<lineage>"),
        error_message(missing).replace("00000000-0000-0000-0000-000000000000", "<lineage>"),
        "not a stakeholder: answered as a missing lineage"
    );

    let no_user = answer("read-no-user");
    assert_eq!(error_code(no_user), Some(4030), "{:?}", no_user.json);
    assert!(
        error_message(no_user).contains("no AMQP user_id"),
        "{:?}",
        no_user.json
    );
    for (id, named) in [
        ("read-retailer-as-guest", ["\"guest\"", "\"Retailer\""]),
        ("create-retailer-as-guest", ["\"guest\"", "\"Retailer\""]),
        (
            "transfer-device-as-retail",
            [retail_app.name.as_str(), "\"Device01\""],
        ),
    ] {
        let refused = answer(id);
        assert_eq!(error_code(refused), Some(4030), "{id}: {:?}", refused.json);
        assert_eq!(
            refused.json["additionalInformation"]["field"],
            "userChainIdentifier"
        );
        for name in named {
            assert!(
                error_message(refused).contains(name),
                "{id}: {:?}",
                refused.json
            );
        }
    }
    assert!(
        answers.iter().all(|c| request_id(c) != Some("read-forged")),
        "the forged message never reached the gateway"
    );
    // The refused create and transfer never reached the ledger: one create is all it holds.
    assert_eq!(gw.ledger_end().await, 1, "{}", gw.log_text());

    let _ = retail.close(200, "done".into()).await;
    assert!(gw.terminate());
    broker.cleanup().await;
}

/// Each test above, once per ledger: `embedded::<name>` and `daml::<name>`.
macro_rules! on_every_ledger {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Embedded).await
                }
            )*
        }
        mod daml {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::LedgerKind::Daml).await
                }
            )*
        }
    };
}

on_every_ledger!(parties_are_bound_to_broker_users_and_reads_answer_only_stakeholders);
