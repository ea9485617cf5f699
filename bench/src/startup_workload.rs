//! What the start-up benchmark puts in a journal and asks of the started gateway: N `CreateContractRequest`s of the
//! example's `RefrigeratedTransportation` workflow, each with its own request id and its own field values (so the
//! contracts differ as real ones would), and the `ReadContractRequest` for the last of them that proves they were
//! loaded.
//!
//! The read names the linear id the gateway assigned to that create (`message_schema::linear_id::linear_id_for`), as
//! a client that kept the `contractLedgerIdentifier` of the create's egress would.

use serde_json::json;

use crate::workload::{Request, RequestKind};

/// The fields the create with index `i` sets, as the request's `{name, value}` parameters (string values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFields {
    pub device: String,
    pub min_humidity: i64,
    pub max_humidity: i64,
    pub min_temperature: i64,
    pub max_temperature: i64,
}

/// The `i`-th contract's fields: varied, and always within the template's `ensure` (min ≤ max).
pub fn create_fields(i: u64) -> CreateFields {
    let spread = |modulus: u64| (i % modulus) as i64;
    let min_humidity = 10 + spread(20);
    let min_temperature = -5 + spread(7);
    CreateFields {
        device: format!("Device{:02}", i % 100),
        min_humidity,
        max_humidity: min_humidity + 20 + spread(31),
        min_temperature,
        max_temperature: min_temperature + 3 + spread(11),
    }
}

/// The request id of the `i`-th create of a run.
pub fn create_request_id(run_id: &str, i: u64) -> String {
    format!("{run_id}-startup-create-{i}")
}

/// The linear id (`contractLedgerIdentifier`) the gateway gives the contract of the create with `request_id`.
pub fn linear_id(create_request_id: &str) -> String {
    message_schema::linear_id::linear_id_for(create_request_id).to_string()
}

/// The `i`-th create as one JSON line (no newline).
pub fn create_line(run_id: &str, i: u64) -> String {
    let f = create_fields(i);
    json!({
        "messageName": "CreateContractRequest",
        "requestId": create_request_id(run_id, i),
        "workflowName": "RefrigeratedTransportation",
        "parameters": [
            {"name": "device", "value": f.device},
            {"name": "supplyChainOwner", "value": "Retailer"},
            {"name": "supplyChainObserver", "value": "Auditor"},
            {"name": "minHumidity", "value": f.min_humidity.to_string()},
            {"name": "maxHumidity", "value": f.max_humidity.to_string()},
            {"name": "minTemperature", "value": f.min_temperature.to_string()},
            {"name": "maxTemperature", "value": f.max_temperature.to_string()},
        ],
        "messageSchemaVersion": "1.0.0",
    })
    .to_string()
}

/// The read of the contract created by `create_request_id`, under its own `request_id`.
pub fn read_request(request_id: &str, create_request_id: &str) -> Request {
    let linear_id = linear_id(create_request_id);
    let body = json!({
        "messageName": "ReadContractRequest",
        "requestId": request_id,
        "contractLedgerIdentifier": linear_id,
        "messageSchemaVersion": "1.0.0",
    });
    Request {
        request_id: Some(request_id.to_owned()),
        kind: RequestKind::Read,
        contract: Some(linear_id),
        body: body.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::Value;

    use super::*;

    #[test]
    fn creates_are_distinct_valid_and_varied() {
        let lines: Vec<Value> = (0..500)
            .map(|i| serde_json::from_str(&create_line("r", i)).expect("JSON"))
            .collect();
        let ids: HashSet<_> = lines.iter().map(|l| l["requestId"].clone()).collect();
        assert_eq!(ids.len(), 500, "every create has its own request id");
        let parameters: HashSet<String> =
            lines.iter().map(|l| l["parameters"].to_string()).collect();
        assert!(
            parameters.len() > 100,
            "field values vary: {}",
            parameters.len()
        );
        for i in 0..1000 {
            let f = create_fields(i);
            assert!(f.min_humidity <= f.max_humidity, "{f:?}");
            assert!(f.min_temperature <= f.max_temperature, "{f:?}");
        }
        assert_eq!(lines[7]["workflowName"], "RefrigeratedTransportation");
        assert_eq!(lines[7]["parameters"][0]["value"], "Device07");
    }

    #[test]
    fn the_read_names_the_linear_id_the_gateway_assigns() {
        let read = read_request("r-read", &create_request_id("r", 41));
        let body: Value = serde_json::from_slice(&read.body).expect("JSON");
        let expected = message_schema::linear_id::linear_id_for("r-startup-create-41").to_string();
        assert_eq!(body["contractLedgerIdentifier"], expected.as_str());
        assert_eq!(body["messageName"], "ReadContractRequest");
        assert_eq!(read.contract.as_deref(), Some(expected.as_str()));
        assert_eq!(
            crate::workload::classify(&read.body),
            (RequestKind::Read, Some("r-read".to_owned()))
        );
    }
}
