//! The example workflow's (`RefrigeratedTransportation`) requests as the gateway's end-to-end tests send them, and
//! how those tests read the answers: which request an egress message answers and whether it is that request's last.

use serde_json::{Value, json};

use super::Captured;

pub fn request_id(c: &Captured) -> Option<String> {
    c.json
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub fn is_terminal(c: &Captured) -> bool {
    c.routing_key == "ContractMessage"
        || c.json.get("status").and_then(Value::as_str) == Some("Failure")
}

pub fn terminal_count(got: &[Captured]) -> usize {
    got.iter().filter(|c| is_terminal(c)).count()
}

pub fn create(request_id: &str) -> Value {
    json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
        {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
        {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"})
}

pub fn linear_id(create_request_id: &str) -> String {
    message_schema::linear_id::linear_id_for(create_request_id).to_string()
}

pub fn telemetry(request_id: &str, target: &str, humidity: u32) -> Value {
    json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
        "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
        "parameters":[{"name":"humidity","value":humidity.to_string()},{"name":"temperature","value":"5"},
        {"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0"})
}

pub fn action(request_id: &str, target: &str, function: &str, params: &[(&str, &str)]) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!({"messageName":"CreateContractActionRequest","requestId":request_id,"contractLedgerIdentifier":target,
        "workflowFunctionName":function,"parameters":parameters,"messageSchemaVersion":"1.0.0"})
}

pub fn read(request_id: &str, target: &str) -> Value {
    json!({"messageName":"ReadContractRequest","requestId":request_id,"contractLedgerIdentifier":target,"messageSchemaVersion":"1.0.0"})
}

pub fn bodies(values: &[Value]) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect()
}
