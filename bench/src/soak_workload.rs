//! The soak's requests: shipments that live and end. Shipment `i` is created; once `active` shipments exist, each
//! new create is followed by the transfer, completion and archive of shipment `i - active`, so the active set stays
//! `active` contracts while the history (and, without compaction, the journal) grows with every request.

use serde_json::json;

/// The `n`-th request of the soak's stream (from 0), as its requestId and body.
pub fn request(n: u64, active: u64) -> (String, Vec<u8>) {
    // The stream is `active` creates, then groups of four: create i, transfer / complete / archive of i - active.
    let (shipment, step) = if n < active {
        (n, 0)
    } else {
        let k = n - active;
        let group = k / 4;
        match k % 4 {
            0 => (active + group, 0),
            step => (group, step),
        }
    };
    let request_id = match step {
        0 => format!("soak-create-{shipment}"),
        1 => format!("soak-transfer-{shipment}"),
        2 => format!("soak-complete-{shipment}"),
        _ => format!("soak-archive-{shipment}"),
    };
    let body = if step == 0 {
        json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
            "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
            {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
            {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"})
    } else {
        let linear_id =
            message_schema::linear_id::linear_id_for(&format!("soak-create-{shipment}"));
        let (function, parameters) = match step {
            1 => (
                "TransferResponsibility",
                json!([{"name":"newCounterparty","value":"Carrier"}]),
            ),
            2 => ("Complete", json!([])),
            _ => ("Archive", json!([])),
        };
        json!({"messageName":"CreateContractActionRequest","requestId":request_id,
            "contractLedgerIdentifier":linear_id.to_string(),"workflowFunctionName":function,
            "parameters":parameters,"messageSchemaVersion":"1.0.0"})
    };
    (request_id, body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipment_after_the_first_active_ones_is_created_then_ended_in_order() {
        let ids: Vec<String> = (0..10).map(|n| request(n, 2).0).collect();
        assert_eq!(
            ids,
            [
                "soak-create-0",
                "soak-create-1",
                "soak-create-2",
                "soak-transfer-0",
                "soak-complete-0",
                "soak-archive-0",
                "soak-create-3",
                "soak-transfer-1",
                "soak-complete-1",
                "soak-archive-1",
            ]
        );
        let (_, body) = request(5, 2);
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["workflowFunctionName"], "Archive");
        assert_eq!(
            body["contractLedgerIdentifier"],
            message_schema::linear_id::linear_id_for("soak-create-0").to_string()
        );
    }
}
