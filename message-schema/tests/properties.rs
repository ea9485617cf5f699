//! Property tests: the parser never panics on arbitrary or mutated input, and valid requests round-trip.

use message_schema::ingress::{
    CreateContractActionRequest, CreateContractRequest, IngressRequest, Parameter,
    ReadContractRequest,
};
use message_schema::parse::parse_ingress;
use proptest::prelude::*;
use serde_json::Value;

fn parameters() -> impl Strategy<Value = Vec<Parameter>> {
    proptest::collection::btree_map("[a-zA-Z][a-zA-Z0-9_]{0,8}", any::<String>(), 0..5).prop_map(
        |m| {
            m.into_iter()
                .map(|(name, value)| Parameter { name, value })
                .collect()
        },
    )
}

fn request() -> impl Strategy<Value = IngressRequest> {
    let id = "[a-zA-Z0-9-]{1,20}";
    let version = (0u32..50, 0u32..50).prop_map(|(a, b)| format!("1.{a}.{b}"));
    let uci = proptest::option::of("[A-Za-z]{1,8}");
    prop_oneof![
        (
            id,
            "[A-Za-z]{1,12}",
            parameters(),
            version.clone(),
            uci.clone()
        )
            .prop_map(
                |(r, w, p, v, u)| IngressRequest::Create(CreateContractRequest {
                    request_id: r,
                    workflow_name: w,
                    parameters: p,
                    message_schema_version: v,
                    user_chain_identifier: u
                })
            ),
        (
            id,
            any::<u128>(),
            "[A-Za-z]{1,12}",
            parameters(),
            version.clone(),
            uci.clone()
        )
            .prop_map(|(r, l, f, p, v, u)| {
                IngressRequest::Action(CreateContractActionRequest {
                    request_id: r,
                    contract_ledger_identifier: uuid::Uuid::from_u128(l),
                    workflow_function_name: f,
                    parameters: p,
                    message_schema_version: v,
                    user_chain_identifier: u,
                })
            }),
        (id, any::<u128>(), version, uci).prop_map(|(r, l, v, u)| IngressRequest::Read(
            ReadContractRequest {
                request_id: r,
                contract_ledger_identifier: uuid::Uuid::from_u128(l),
                message_schema_version: v,
                user_chain_identifier: u,
            }
        )),
    ]
}

fn mutate(value: &mut Value, choice: u8, text: &str) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    if keys.is_empty() {
        return;
    }
    let key = &keys[choice as usize % keys.len()];
    match choice % 5 {
        0 => {
            map.remove(key);
        }
        1 => {
            map.insert(key.clone(), Value::from(choice as i64 - 100));
        }
        2 => {
            map.insert(key.clone(), Value::String(text.to_owned()));
        }
        3 => {
            map.insert(
                key.clone(),
                Value::Array(vec![Value::Null, Value::Bool(true)]),
            );
        }
        _ => {
            if let Some(Value::Array(items)) = map.get_mut("parameters") {
                items.push(serde_json::json!({"name": text, "value": choice}));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_ingress(&bytes);
    }

    #[test]
    fn valid_requests_round_trip(request in request()) {
        let wire = serde_json::to_vec(&request).unwrap();
        let value: Value = serde_json::from_slice(&wire).unwrap();
        // The wire form is what a client sends: messageName first, camelCase keys.
        prop_assert!(value.get("messageName").is_some() && value.get("requestId").is_some());
        prop_assert_eq!(parse_ingress(&wire).unwrap(), request);
    }

    #[test]
    fn never_panics_on_mutated_valid_messages(request in request(), mutations in proptest::collection::vec((any::<u8>(), ".{0,12}"), 1..4)) {
        let mut value = serde_json::to_value(&request).unwrap();
        for (choice, text) in &mutations {
            mutate(&mut value, *choice, text);
        }
        let body = serde_json::to_vec(&value).unwrap();
        if let Err(e) = parse_ingress(&body) {
            prop_assert_eq!(e.code.code(), 4000);
            prop_assert!(!e.message.is_empty());
        }
    }
}
