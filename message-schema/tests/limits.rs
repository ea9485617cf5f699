//! Each ingress limit at its edge: a message exactly at the limit parses, one unit over is refused with a message
//! that names the value seen, the limit and the `limits.*` setting that raises it.

use message_schema::error_code::ErrorCode;
use message_schema::ingress::IngressRequest;
use message_schema::limits::Limits;
use message_schema::parse::{IngressError, parse_ingress_with};
use serde_json::{Value, json};

fn create_with(params: Value) -> Value {
    json!({
        "messageName": "CreateContractRequest",
        "requestId": "r1",
        "workflowName": "W",
        "parameters": params,
        "messageSchemaVersion": "1.0.0"
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn refused(body: &[u8], limits: &Limits) -> IngressError {
    match parse_ingress_with(body, limits) {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e,
    }
}

fn assert_names(e: &IngressError, seen: usize, limit: usize, setting: &str) {
    assert_eq!(e.code, ErrorCode::BadRequest, "{e:?}");
    for part in [
        seen.to_string(),
        format!("limit of {limit}"),
        format!("limits.{setting}"),
    ] {
        assert!(e.message.contains(&part), "{part:?} not in {:?}", e.message);
    }
}

#[test]
fn message_size_at_the_limit_passes_and_one_byte_over_fails() {
    let body = bytes(&create_with(json!([])));
    let limits = Limits {
        max_message_bytes: body.len() + 10,
        ..Limits::default()
    };
    let mut at_limit = body.clone();
    at_limit.resize(limits.max_message_bytes, b' ');
    assert!(parse_ingress_with(&at_limit, &limits).is_ok());
    let mut over = at_limit;
    over.push(b' ');
    let e = refused(&over, &limits);
    assert_names(
        &e,
        over.len(),
        limits.max_message_bytes,
        "max_message_bytes",
    );
    assert_eq!(e.field, None);
    // The body is not built, but its requestId is still read so the sender can correlate the Failure.
    assert_eq!(e.request_id.as_deref(), Some("r1"));
}

#[test]
fn an_oversized_body_without_a_readable_request_id_gets_a_generic_failure() {
    let limits = Limits {
        max_message_bytes: 16,
        ..Limits::default()
    };
    let e = refused(&[0xff; 64], &limits);
    assert_names(&e, 64, 16, "max_message_bytes");
    assert!(!e.is_correlatable());
}

#[test]
fn request_id_at_the_limit_passes_and_one_byte_over_fails_naming_it_cut() {
    let limits = Limits::default();
    let read = |id: &str| {
        bytes(&json!({
            "messageName": "ReadContractRequest",
            "requestId": id,
            "contractLedgerIdentifier": "27b3b7ad-10ce-4bd4-a72c-1bf215709a21",
            "messageSchemaVersion": "1.0.0"
        }))
    };
    let at_limit = "a".repeat(limits.max_request_id_bytes);
    match parse_ingress_with(&read(&at_limit), &limits) {
        Ok(IngressRequest::Read(r)) => assert_eq!(r.request_id, at_limit),
        other => panic!("{other:?}"),
    }
    let over = format!("{}é", "b".repeat(limits.max_request_id_bytes - 1));
    let e = refused(&read(&over), &limits);
    assert_names(
        &e,
        over.len(),
        limits.max_request_id_bytes,
        "max_request_id_bytes",
    );
    assert_eq!(e.field.as_deref(), Some("requestId"));
    assert!(e.request_id_cut);
    let shown = e.request_id.as_deref().unwrap();
    assert!(shown.starts_with("bbbb") && shown.ends_with('…'), "{shown}");
    assert!(
        shown.len() <= 255,
        "fits an AMQP correlation id: {}",
        shown.len()
    );
    assert!(e.message.contains(&format!("{} bytes", over.len())));
}

#[test]
fn parameter_count_at_the_limit_passes_and_one_over_fails() {
    let limits = Limits::default();
    let params = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({"name": format!("p{i}"), "value": ""}))
            .collect()
    };
    match parse_ingress_with(&bytes(&create_with(params(limits.max_parameters))), &limits) {
        Ok(IngressRequest::Create(r)) => assert_eq!(r.parameters.len(), limits.max_parameters),
        other => panic!("{other:?}"),
    }
    let e = refused(
        &bytes(&create_with(params(limits.max_parameters + 1))),
        &limits,
    );
    assert_names(
        &e,
        limits.max_parameters + 1,
        limits.max_parameters,
        "max_parameters",
    );
    assert_eq!(e.field.as_deref(), Some("parameters"));
    assert_eq!(e.request_id.as_deref(), Some("r1"));
}

#[test]
fn parameter_value_at_the_limit_passes_and_one_byte_over_fails() {
    let limits = Limits::default();
    let value = |n: usize| create_with(json!([{"name": "a", "value": "x".repeat(n)}]));
    assert!(parse_ingress_with(&bytes(&value(limits.max_parameter_value_bytes)), &limits).is_ok());
    let e = refused(
        &bytes(&value(limits.max_parameter_value_bytes + 1)),
        &limits,
    );
    assert_names(
        &e,
        limits.max_parameter_value_bytes + 1,
        limits.max_parameter_value_bytes,
        "max_parameter_value_bytes",
    );
    assert_eq!(e.field.as_deref(), Some("parameters[0].value"));
}

#[test]
fn nesting_at_the_limit_passes_and_one_level_deeper_fails() {
    let limits = Limits::default();
    // The message object is level 1, so an extra field nested n - 1 deep reaches level n.
    let nested = |n: usize| {
        let mut text = bytes(&create_with(json!([])));
        text.pop();
        text.extend_from_slice(b",\"extra\":");
        text.extend(std::iter::repeat_n(b'[', n - 1));
        text.extend(std::iter::repeat_n(b']', n - 1));
        text.push(b'}');
        text
    };
    assert!(parse_ingress_with(&nested(limits.max_json_depth), &limits).is_ok());
    let e = refused(&nested(limits.max_json_depth + 1), &limits);
    assert_names(
        &e,
        limits.max_json_depth + 1,
        limits.max_json_depth,
        "max_json_depth",
    );
    assert_eq!(e.request_id.as_deref(), Some("r1"));
    // Far deeper than any parser recursion limit: refused by the byte scan, nothing is built.
    let e = refused(&nested(200_000), &limits);
    assert_names(&e, 200_000, limits.max_json_depth, "max_json_depth");
}

#[test]
fn duplicates_among_many_parameters_are_found_naming_the_first() {
    // Raised limits so the duplicate check itself meets 100,000 entries: it must stay linear (the pairwise check
    // it replaces compared every pair, 5·10⁹ comparisons here).
    let limits = Limits {
        max_message_bytes: 64 << 20,
        max_parameters: 200_000,
        ..Limits::default()
    };
    let mut params: Vec<Value> = (0..100_000)
        .map(|i| json!({"name": format!("p{i}"), "value": "1"}))
        .collect();
    params.push(json!({"name": "p7", "value": "2"}));
    let e = refused(&bytes(&create_with(Value::Array(params))), &limits);
    assert_eq!(e.field.as_deref(), Some("parameters[100000].name"));
    assert!(
        e.message
            .contains("duplicate parameter \"p7\" (first given at parameters[7])"),
        "{}",
        e.message
    );
    let all_same: Vec<Value> = (0..50_000)
        .map(|_| json!({"name": "same", "value": "1"}))
        .collect();
    let e = refused(&bytes(&create_with(Value::Array(all_same))), &limits);
    assert_eq!(e.field.as_deref(), Some("parameters[1].name"));
}
