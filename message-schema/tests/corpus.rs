//! The bad-message corpus: every malformed shape yields the right error shape and code, names the field, never
//! panics — and the shipped JSON Schemas agree with the parser on what is valid.

use message_schema::limits::{JSON_DEPTH_CEILING, Limits};
use message_schema::parse::{parse_ingress, parse_ingress_with};
use serde_json::{Value, json};

fn create() -> Value {
    json!({"messageName":"CreateContractRequest","requestId":"r1","workflowName":"W",
           "parameters":[{"name":"a","value":"1"},{"name":"b","value":"2"}],"messageSchemaVersion":"1.0.0"})
}
fn action() -> Value {
    json!({"messageName":"CreateContractActionRequest","requestId":"r2","contractLedgerIdentifier":"27b3b7ad-10ce-4bd4-a72c-1bf215709a21",
           "workflowFunctionName":"F","parameters":[],"messageSchemaVersion":"1.2.3"})
}
fn read() -> Value {
    json!({"messageName":"ReadContractRequest","requestId":"r3","contractLedgerIdentifier":"27b3b7ad-10ce-4bd4-a72c-1bf215709a21","messageSchemaVersion":"1.0.0"})
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}
fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// (body, expected request id, expected field)
fn corpus() -> Vec<(Vec<u8>, Option<&'static str>, Option<&'static str>)> {
    let b = |v: Value| serde_json::to_vec(&v).unwrap();
    let mut cases: Vec<(Vec<u8>, Option<&str>, Option<&str>)> = vec![
        (b"not json".to_vec(), None, None),
        (b"".to_vec(), None, None),
        (b"   \n".to_vec(), None, None),
        (b"[1,2]".to_vec(), None, None),
        (b"42".to_vec(), None, None),
        (b"\"text\"".to_vec(), None, None),
        (b"null".to_vec(), None, None),
        (vec![0xff, 0xfe, b'{'], None, None),
        (b(without(create(), "requestId")), None, Some("requestId")),
        (
            b(with(create(), "requestId", json!(12))),
            None,
            Some("requestId"),
        ),
        (
            b(with(create(), "requestId", json!(""))),
            None,
            Some("requestId"),
        ),
        (
            b(with(
                create(),
                "messageName",
                json!("DeleteContractRequest"),
            )),
            Some("r1"),
            Some("messageName"),
        ),
        (
            b(with(create(), "messageName", json!(null))),
            Some("r1"),
            Some("messageName"),
        ),
        (
            b(with(create(), "messageSchemaVersion", json!("2.0.0"))),
            Some("r1"),
            Some("messageSchemaVersion"),
        ),
        (
            b(with(create(), "messageSchemaVersion", json!("1.0"))),
            Some("r1"),
            Some("messageSchemaVersion"),
        ),
        (
            b(with(create(), "messageSchemaVersion", json!(1))),
            Some("r1"),
            Some("messageSchemaVersion"),
        ),
        (
            b(with(create(), "parameters", json!({"a":"1"}))),
            Some("r1"),
            Some("parameters"),
        ),
        (
            b(with(
                create(),
                "parameters",
                json!([{"name":"a","value":12}]),
            )),
            Some("r1"),
            Some("parameters[0].value"),
        ),
        (
            b(with(
                create(),
                "parameters",
                json!([{"name":"a","value":"1"},{"name":"b"}]),
            )),
            Some("r1"),
            Some("parameters[1].value"),
        ),
        (
            b(with(create(), "parameters", json!(["a"]))),
            Some("r1"),
            Some("parameters[0]"),
        ),
        (
            b(with(
                create(),
                "parameters",
                json!([{"name":"a","value":"1"},{"name":"a","value":"2"}]),
            )),
            Some("r1"),
            Some("parameters[1].name"),
        ),
        (
            b(with(create(), "workflowName", json!(["W"]))),
            Some("r1"),
            Some("workflowName"),
        ),
        (
            b(with(create(), "userChainIdentifier", json!(7))),
            Some("r1"),
            Some("userChainIdentifier"),
        ),
        (
            b(with(
                action(),
                "contractLedgerIdentifier",
                json!("not-a-uuid"),
            )),
            Some("r2"),
            Some("contractLedgerIdentifier"),
        ),
        (
            b(with(
                action(),
                "contractLedgerIdentifier",
                json!("27b3b7ad10ce4bd4a72c1bf215709a21"),
            )),
            Some("r2"),
            Some("contractLedgerIdentifier"),
        ),
        (
            b(with(read(), "contractLedgerIdentifier", json!(5))),
            Some("r3"),
            Some("contractLedgerIdentifier"),
        ),
        (
            b(with(create(), "workflowName", json!("x".repeat(1 << 20)))),
            Some("r1"),
            None,
        ),
    ];
    // A missing required field, for each field of each message.
    for (base, id, fields) in [
        (
            create(),
            "r1",
            vec![
                "messageName",
                "workflowName",
                "parameters",
                "messageSchemaVersion",
            ],
        ),
        (
            action(),
            "r2",
            vec![
                "messageName",
                "contractLedgerIdentifier",
                "workflowFunctionName",
                "parameters",
                "messageSchemaVersion",
            ],
        ),
        (
            read(),
            "r3",
            vec![
                "messageName",
                "contractLedgerIdentifier",
                "messageSchemaVersion",
            ],
        ),
    ] {
        for field in fields {
            cases.push((b(without(base.clone(), field)), Some(id), Some(field)));
        }
    }
    // Nesting deeper than any parser recursion limit: refused before the parser builds anything, yet the
    // requestId before it is still read, so the Failure is correlated.
    let deep = format!(
        "{{\"requestId\":\"r9\",\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    cases.push((deep.into_bytes(), Some("r9"), None));
    cases
}

#[test]
fn every_bad_message_gets_the_right_shape_code_and_field() {
    for (body, request_id, field) in corpus() {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        match parse_ingress(&body) {
            Ok(_) if body.len() > (1 << 20) => {} // the 1 MiB string is valid: it must simply not break anything
            Ok(r) => panic!("{shown}: accepted as {r:?}"),
            Err(e) => {
                assert_eq!(e.code.code(), 4000, "{shown}");
                assert_eq!(e.request_id.as_deref(), request_id, "{shown}: {e:?}");
                assert_eq!(e.is_correlatable(), request_id.is_some());
                if let Some(field) = field {
                    assert_eq!(e.field.as_deref(), Some(field), "{shown}: {e:?}");
                    assert!(
                        e.message.starts_with(field),
                        "{shown}: the message names the field: {}",
                        e.message
                    );
                }
                assert!(
                    e.message.len() < 400,
                    "messages stay readable: {}",
                    e.message.len()
                );
            }
        }
    }
}

#[test]
fn messages_say_what_was_expected() {
    let e = parse_ingress(
        &serde_json::to_vec(&with(
            create(),
            "parameters",
            json!([{"name":"a","value":"1"},{"name":"b","value":"2"},{"name":"c","value":12}]),
        ))
        .unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "parameters[2].value: expected a string, found number 12"
    );
    let e = parse_ingress(
        &serde_json::to_vec(&with(create(), "messageSchemaVersion", json!("2.0.0"))).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "messageSchemaVersion: unsupported version \"2.0.0\" (expected 1.x.y)"
    );
    let e = parse_ingress(
        &serde_json::to_vec(&with(
            create(),
            "parameters",
            json!([{"name":"a","value":"1"},{"name":"a","value":"2"}]),
        ))
        .unwrap(),
    )
    .unwrap_err();
    assert!(
        e.message.contains("duplicate parameter \"a\""),
        "{}",
        e.message
    );
}

#[test]
fn valid_messages_parse_with_extra_fields() {
    let mut v = create();
    v["somethingElse"] = json!({"nested": true});
    v["userChainIdentifier"] = json!("Alice");
    let r = parse_ingress(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(r.request_id(), "r1");
    assert_eq!(r.user_chain_identifier(), Some("Alice"));
    assert!(parse_ingress(&serde_json::to_vec(&action()).unwrap()).is_ok());
    assert!(parse_ingress(&serde_json::to_vec(&read()).unwrap()).is_ok());
}

#[test]
fn the_schemas_agree_with_the_parser() {
    let validators: Vec<(&str, jsonschema::Validator)> = [
        "CreateContractRequest",
        "CreateContractActionRequest",
        "ReadContractRequest",
    ]
    .iter()
    .map(|n| {
        let schema: Value =
            serde_json::from_str(message_schema::schemas::ingress_schema(n).unwrap()).unwrap();
        (*n, jsonschema::validator_for(&schema).unwrap())
    })
    .collect();
    let mut bodies: Vec<Vec<u8>> = corpus().into_iter().map(|(b, _, _)| b).collect();
    bodies.extend(
        [create(), action(), read()]
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap()),
    );
    let no_limits = Limits {
        max_message_bytes: usize::MAX,
        max_request_id_bytes: usize::MAX,
        max_parameters: usize::MAX,
        max_parameter_value_bytes: usize::MAX,
        max_json_depth: JSON_DEPTH_CEILING,
    };
    for body in bodies {
        let Ok(value) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        let schema_valid = validators.iter().any(|(_, v)| v.is_valid(&value));
        // The schemas describe the shape; the size limits are the gateway's own (tests/limits.rs).
        let parser_valid = parse_ingress_with(&body, &no_limits).is_ok();
        let duplicates = value
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| {
                let names: Vec<_> = p.iter().filter_map(|x| x.get("name")).collect();
                names
                    .iter()
                    .enumerate()
                    .any(|(i, n)| names[..i].contains(n))
            });
        if duplicates {
            // JSON Schema cannot express unique names; the parser is stricter here, as documented.
            assert!(schema_valid && !parser_valid);
            continue;
        }
        assert_eq!(
            schema_valid,
            parser_valid,
            "schema and parser disagree on {}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
    }
}
