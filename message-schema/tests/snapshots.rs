//! insta snapshots of every egress shape, stored in the workspace's top-level `snapshots/` folder, each also
//! validated against its JSON Schema.

use message_schema::egress::*;
use message_schema::error_code::ErrorCode;
use message_schema::parse::parse_ingress;
use serde_json::Value;
use uuid::Uuid;

fn info() -> LedgerInfo {
    LedgerInfo {
        ledger_type: "embedded".into(),
        platform_version: 1,
        connection_id: 1,
    }
}

fn shipment() -> Uuid {
    Uuid::parse_str("9b81be37-d434-569a-8807-4a3e3a029f63").unwrap()
}

fn props() -> Vec<ContractProperty> {
    [
        ("device", "Device01"),
        ("minHumidity", "20"),
        ("maxHumidity", "60"),
        ("owner", "Operator"),
        ("state", "InTransit"),
    ]
    .iter()
    .map(|(n, v)| ContractProperty {
        workflow_property_id: None,
        name: (*n).into(),
        value: (*v).into(),
    })
    .collect()
}

const UPDATE_ID: &str = "2f1c0d5b9e4a7c3d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d";

fn all_shapes() -> Vec<(&'static str, EgressMessage)> {
    let not_found = FailureDetails {
        code: ErrorCode::NotFound,
        message: "contractLedgerIdentifier: no active contract with linear id 9b81be37-d434-569a-8807-4a3e3a029f63".into(),
        field: Some("contractLedgerIdentifier".into()),
        ledger_error: None,
    };
    let guard = FailureDetails {
        code: ErrorCode::Conflict,
        message: "the ledger rejected the command: choice Complete is not allowed when state is Created (allowed: InTransit)".into(),
        field: None,
        ledger_error: Some("INVALID_STATE_TRANSITION".into()),
    };
    let bad_param = parse_ingress(br#"{"messageName":"CreateContractRequest","requestId":"r-7","workflowName":"W","parameters":[{"name":"a","value":12}],"messageSchemaVersion":"1.0.0"}"#).unwrap_err();
    let not_json = parse_ingress(b"{oops").unwrap_err();
    vec![
        (
            "create_submitted",
            EgressMessage::update(
                &info(),
                UpdateMessageName::CreateContractUpdate,
                "shipment-1",
                &shipment(),
                UpdateStatus::Submitted,
            ),
        ),
        (
            "create_committed",
            EgressMessage::update(
                &info(),
                UpdateMessageName::CreateContractUpdate,
                "shipment-1",
                &shipment(),
                UpdateStatus::Committed,
            ),
        ),
        (
            "action_submitted",
            EgressMessage::update(
                &info(),
                UpdateMessageName::CreateContractActionUpdate,
                "transfer-1",
                &shipment(),
                UpdateStatus::Submitted,
            ),
        ),
        (
            "action_committed",
            EgressMessage::update(
                &info(),
                UpdateMessageName::CreateContractActionUpdate,
                "transfer-1",
                &shipment(),
                UpdateStatus::Committed,
            ),
        ),
        (
            "event_message",
            EgressMessage::event(
                &info(),
                Some("transfer-1"),
                "Operator",
                &shipment(),
                "TransferResponsibility",
                vec![EventParameter {
                    name: "newCounterparty".into(),
                    value: "Carrier".into(),
                }],
                UPDATE_ID,
                1,
            ),
        ),
        (
            "event_message_observed",
            EgressMessage::event(
                &info(),
                None,
                "Carrier",
                &shipment(),
                "Complete",
                vec![],
                UPDATE_ID,
                1,
            ),
        ),
        (
            "contract_message_created",
            EgressMessage::contract(
                &info(),
                Some("shipment-1"),
                &shipment(),
                props(),
                UPDATE_ID,
                "Operator",
                true,
            ),
        ),
        (
            "contract_message_observed",
            EgressMessage::contract(
                &info(),
                None,
                &shipment(),
                props(),
                UPDATE_ID,
                "Carrier",
                false,
            ),
        ),
        (
            "read_reply",
            EgressMessage::read_reply(&info(), "read-1", &shipment(), props()),
        ),
        (
            "request_failure_not_found",
            EgressMessage::request_failure(
                &info(),
                "read-2",
                UpdateMessageName::ReadContractUpdate,
                Some(&shipment()),
                &not_found,
            ),
        ),
        (
            "request_failure_ledger",
            EgressMessage::request_failure(
                &info(),
                "complete-1",
                UpdateMessageName::CreateContractActionUpdate,
                Some(&shipment()),
                &guard,
            ),
        ),
        (
            "correlatable_failure",
            EgressMessage::ingress_failure(&info(), &bad_param),
        ),
        (
            "generic_failure",
            EgressMessage::ingress_failure(&info(), &not_json),
        ),
    ]
}

#[test]
fn egress_shapes() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, message) in all_shapes() {
            let wire = message.to_json_string();
            // The snapshot is the exact wire text (key order included), pretty-printed for review.
            let value: Value = serde_json::from_str(&wire).unwrap();
            insta::assert_snapshot!(
                name,
                format!(
                    "{wire}\n\n{}",
                    serde_json::to_string_pretty(&value).unwrap()
                )
            );
        }
    });
}

#[test]
fn every_shape_validates_against_its_schema_and_reads_back() {
    for (name, message) in all_shapes() {
        let schema: Value =
            serde_json::from_str(message_schema::schemas::egress_schema(&message)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let value: Value = serde_json::from_slice(&message.to_json_vec()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(
            EgressMessage::from_json_slice(&message.to_json_vec()).unwrap(),
            message,
            "{name}"
        );
    }
}

#[test]
fn ids_above_i64_are_plain_unsigned_integers() {
    let ids = message_schema::ids::TransactionIds::from_digest(&[0xFF; 32]);
    let m = EgressMessage::contract_with_ids(&info(), None, &shipment(), vec![], &ids, "A", false);
    assert!(
        m.to_json_string()
            .contains("\"blockId\":18446744073709551615,")
    );
}
