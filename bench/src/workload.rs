//! The requests a benchmark sends, by workload ("mix"), and how many egress messages each one must produce.
//!
//! The same generator feeds the relay and the gateway, so both move exactly the same bodies. Every request id starts
//! with the run's id, so nothing collides with another run's state on the shared broker. Actions name the linear ids
//! the gateway assigns to the preload's creates (`message_schema::linear_id::linear_id_for`), so they succeed in
//! queue order.

use serde_json::{Value, json};

/// Contracts the `actions` workload spreads its actions over.
pub const ACTION_CONTRACTS: u64 = 64;

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Every request creates a new contract.
    Creates,
    /// 64 creates, then actions round-robin over those 64 contracts.
    Actions,
    /// Creates (5%), then actions (~75%), reads (~18%) and malformed requests (2%) over those contracts.
    Mixed,
}

/// What a request is, as far as its egress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Create,
    Action,
    Read,
    Malformed,
}

/// One request body with what it must produce.
#[derive(Debug, Clone)]
pub struct Request {
    /// None for bodies no request id can be read from (not JSON).
    pub request_id: Option<String>,
    pub kind: RequestKind,
    /// The linear id of the contract the request creates, acts on or reads (None for malformed requests): the key
    /// per-contract ordering keeps queue order under.
    pub contract: Option<String>,
    pub body: Vec<u8>,
}

impl Mix {
    /// As the command line and the report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creates => "creates",
            Self::Actions => "actions",
            Self::Mixed => "mixed",
        }
    }

    /// The contracts the preload of `n` requests creates first.
    fn contracts(self, n: u64) -> u64 {
        match self {
            Self::Creates => n,
            Self::Actions => ACTION_CONTRACTS.min(n),
            Self::Mixed => (n / 20).max(1),
        }
    }
}

impl RequestKind {
    /// Egress messages on the egress exchange: Submitted, Committed, [EventMessage,] ContractMessage for ledger
    /// commands, the ContractMessage for a read, one Failure for a malformed request.
    pub fn egress(self) -> u64 {
        match self {
            Self::Create => 3,
            Self::Action => 4,
            Self::Read => 1,
            Self::Malformed => 1,
        }
    }

    /// The routing keys (`messageName`s) of that egress, in emission order.
    pub fn routing_keys(self) -> &'static [&'static str] {
        match self {
            Self::Create => &[
                "CreateContractUpdate",
                "CreateContractUpdate",
                "ContractMessage",
            ],
            Self::Action => &[
                "CreateContractActionUpdate",
                "CreateContractActionUpdate",
                "EventMessage",
                "ContractMessage",
            ],
            Self::Read => &["ContractMessage"],
            Self::Malformed => &["Failure"],
        }
    }

    /// Copies of the original on the dead-letter exchange.
    pub fn dead_letters(self) -> u64 {
        match self {
            Self::Malformed => 1,
            _ => 0,
        }
    }
}

/// Totals a list of requests must produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    pub requests: u64,
    pub egress: u64,
    pub dead_letters: u64,
}

/// What `requests` must produce, in total.
pub fn expected(requests: &[Request]) -> Expected {
    requests
        .iter()
        .fold(Expected::default(), |acc, r| Expected {
            requests: acc.requests + 1,
            egress: acc.egress + r.kind.egress(),
            dead_letters: acc.dead_letters + r.kind.dead_letters(),
        })
}

/// The `n` requests preloaded before a side starts draining.
pub fn preload(mix: Mix, run_id: &str, n: u64) -> Vec<Request> {
    let contracts = mix.contracts(n);
    (0..n)
        .map(|i| {
            if i < contracts {
                create(&create_id(run_id, i))
            } else {
                let contract = create_id(run_id, i % contracts);
                match mix {
                    Mix::Creates => create(&format!("{run_id}-pre-create-{i}")),
                    Mix::Actions => action(&format!("{run_id}-pre-act-{i}"), &contract, i),
                    Mix::Mixed if i % 50 == 0 && i % 100 == 0 => not_json(i),
                    Mix::Mixed if i % 50 == 0 => schema_violation(&format!("{run_id}-pre-bad-{i}")),
                    Mix::Mixed if i % 5 == 0 => read(&format!("{run_id}-pre-read-{i}"), &contract),
                    Mix::Mixed => action(&format!("{run_id}-pre-act-{i}"), &contract, i),
                }
            }
        })
        .collect()
}

/// `count` requests for the latency phase, after the preload of `preload_n` has been drained: actions and reads
/// name the preload's contracts, creates are new. Every one carries a request id, so its egress can be correlated.
pub fn latency(mix: Mix, run_id: &str, preload_n: u64, count: u64) -> Vec<Request> {
    let contracts = mix.contracts(preload_n).max(1);
    (0..count)
        .map(|i| {
            let contract = create_id(run_id, i % contracts);
            match mix {
                Mix::Creates => create(&format!("{run_id}-lat-create-{i}")),
                Mix::Actions => action(&format!("{run_id}-lat-act-{i}"), &contract, i),
                Mix::Mixed if i % 50 == 0 => schema_violation(&format!("{run_id}-lat-bad-{i}")),
                Mix::Mixed if i % 20 == 0 => create(&format!("{run_id}-lat-create-{i}")),
                Mix::Mixed if i % 5 == 0 => read(&format!("{run_id}-lat-read-{i}"), &contract),
                Mix::Mixed => action(&format!("{run_id}-lat-act-{i}"), &contract, i),
            }
        })
        .collect()
}

fn create_id(run_id: &str, i: u64) -> String {
    format!("{run_id}-pre-create-{i}")
}

fn linear_id(create_request_id: &str) -> String {
    message_schema::linear_id::linear_id_for(create_request_id).to_string()
}

fn create(request_id: &str) -> Request {
    let body = json!({"messageName":"CreateContractRequest","requestId":request_id,"workflowName":"RefrigeratedTransportation",
        "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},{"name":"supplyChainObserver","value":"Auditor"},
        {"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},{"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],
        "messageSchemaVersion":"1.0.0"});
    request(
        request_id,
        RequestKind::Create,
        Some(linear_id(request_id)),
        &body,
    )
}

/// Telemetry inside the ranges, so the contract stays compliant and every later action is still allowed.
fn action(request_id: &str, contract_request_id: &str, i: u64) -> Request {
    let body = json!({"messageName":"CreateContractActionRequest","requestId":request_id,
        "contractLedgerIdentifier":linear_id(contract_request_id),
        "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
        "parameters":[{"name":"humidity","value":format!("{}", 25 + i % 30)},{"name":"temperature","value":"5"},{"name":"timestamp","value":"1764000000"}],
        "messageSchemaVersion":"1.0.0"});
    request(
        request_id,
        RequestKind::Action,
        Some(linear_id(contract_request_id)),
        &body,
    )
}

fn read(request_id: &str, contract_request_id: &str) -> Request {
    let body = json!({"messageName":"ReadContractRequest","requestId":request_id,
        "contractLedgerIdentifier":linear_id(contract_request_id),"messageSchemaVersion":"1.0.0"});
    request(
        request_id,
        RequestKind::Read,
        Some(linear_id(contract_request_id)),
        &body,
    )
}

/// Valid JSON with a request id, but a create without its workflow and parameters: a correlatable Failure.
fn schema_violation(request_id: &str) -> Request {
    let body = json!({"messageName":"CreateContractRequest","requestId":request_id,"messageSchemaVersion":"1.0.0"});
    request(request_id, RequestKind::Malformed, None, &body)
}

/// Not JSON at all: a generic Failure without a request id.
fn not_json(i: u64) -> Request {
    Request {
        request_id: None,
        kind: RequestKind::Malformed,
        contract: None,
        body: format!("this is not JSON (request {i})").into_bytes(),
    }
}

fn request(request_id: &str, kind: RequestKind, contract: Option<String>, body: &Value) -> Request {
    Request {
        request_id: Some(request_id.to_owned()),
        kind,
        contract,
        body: body.to_string().into_bytes(),
    }
}

/// What the relay decides from a parsed body alone: the message name and the fields the Workbench format requires
/// for it (`workbench-format.md`, "Ingress"). A body failing that check is malformed, as the gateway would find.
pub fn classify(body: &[u8]) -> (RequestKind, Option<String>) {
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(body) else {
        return (RequestKind::Malformed, None);
    };
    let request_id = message
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let has_text = |key: &str| message.get(key).is_some_and(Value::is_string);
    let has_list = |key: &str| message.get(key).is_some_and(Value::is_array);
    if request_id.is_none() || !has_text("messageSchemaVersion") {
        return (RequestKind::Malformed, request_id);
    }
    let kind = match message.get("messageName").and_then(Value::as_str) {
        Some("CreateContractRequest") if has_text("workflowName") && has_list("parameters") => {
            RequestKind::Create
        }
        Some("CreateContractActionRequest")
            if has_text("contractLedgerIdentifier")
                && has_text("workflowFunctionName")
                && has_list("parameters") =>
        {
            RequestKind::Action
        }
        Some("ReadContractRequest") if has_text("contractLedgerIdentifier") => RequestKind::Read,
        _ => RequestKind::Malformed,
    };
    (kind, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(requests: &[Request], kind: RequestKind) -> usize {
        requests.iter().filter(|r| r.kind == kind).count()
    }

    #[test]
    fn the_mixed_preload_has_the_issues_shape() {
        let requests = preload(Mix::Mixed, "r", 2000);
        assert_eq!(requests.len(), 2000);
        assert_eq!(count(&requests, RequestKind::Create), 100);
        assert_eq!(count(&requests, RequestKind::Malformed), 38);
        assert_eq!(count(&requests, RequestKind::Read), 342);
        assert_eq!(count(&requests, RequestKind::Action), 1520);
        assert!(
            requests
                .iter()
                .any(|r| r.kind == RequestKind::Malformed && r.request_id.is_none()),
            "some malformed bodies are not JSON at all"
        );
        let e = expected(&requests);
        assert_eq!(e.requests, 2000);
        assert_eq!(e.egress, 100 * 3 + 1520 * 4 + 342 + 38);
        assert_eq!(e.dead_letters, 38);
    }

    #[test]
    fn creates_and_actions_have_their_shape() {
        let creates = preload(Mix::Creates, "r", 500);
        assert_eq!(count(&creates, RequestKind::Create), 500);
        let ids: std::collections::HashSet<_> = creates.iter().map(|r| &r.request_id).collect();
        assert_eq!(ids.len(), 500, "every create has its own request id");
        let actions = preload(Mix::Actions, "r", 500);
        assert_eq!(count(&actions, RequestKind::Create), 64);
        assert_eq!(count(&actions, RequestKind::Action), 436);
        assert_eq!(preload(Mix::Actions, "r", 10).len(), 10);
    }

    #[test]
    fn actions_name_the_linear_ids_of_the_preloads_creates() {
        let requests = preload(Mix::Actions, "run", 100);
        let action: Value = serde_json::from_slice(&requests[64].body).expect("JSON");
        assert_eq!(
            action["contractLedgerIdentifier"],
            linear_id("run-pre-create-0")
        );
        assert_eq!(
            requests[64].contract.as_deref(),
            Some(linear_id("run-pre-create-0").as_str())
        );
        assert_eq!(requests[0].contract, requests[64].contract);
        let later = latency(Mix::Actions, "run", 100, 3);
        let action: Value = serde_json::from_slice(&later[1].body).expect("JSON");
        assert_eq!(
            action["contractLedgerIdentifier"],
            linear_id("run-pre-create-1")
        );
    }

    #[test]
    fn latency_requests_are_all_correlatable_and_new() {
        for mix in [Mix::Creates, Mix::Actions, Mix::Mixed] {
            let pre = preload(mix, "r", 1000);
            let lat = latency(mix, "r", 1000, 400);
            assert_eq!(lat.len(), 400);
            assert!(lat.iter().all(|r| r.request_id.is_some()), "{mix:?}");
            let pre_ids: std::collections::HashSet<_> =
                pre.iter().filter_map(|r| r.request_id.clone()).collect();
            assert!(
                lat.iter()
                    .all(|r| !pre_ids.contains(r.request_id.as_deref().unwrap_or_default())),
                "{mix:?}: a reused request id would be answered from the outcome store"
            );
        }
        let mixed = latency(Mix::Mixed, "r", 1000, 400);
        for kind in [
            RequestKind::Create,
            RequestKind::Action,
            RequestKind::Read,
            RequestKind::Malformed,
        ] {
            assert!(count(&mixed, kind) > 0, "{kind:?}");
        }
    }

    #[test]
    fn the_contract_of_a_request_is_the_gateways_ordering_key() {
        for mix in [Mix::Creates, Mix::Actions, Mix::Mixed] {
            for r in preload(mix, "r", 1000)
                .into_iter()
                .chain(latency(mix, "r", 1000, 200))
            {
                if r.kind == RequestKind::Malformed {
                    assert_eq!(r.contract, None);
                    continue;
                }
                let key = message_schema::parse::parse_ingress(&r.body)
                    .ok()
                    .map(|parsed| message_schema::linear_id::ordering_key(&parsed).to_string());
                assert_eq!(r.contract, key, "{}", String::from_utf8_lossy(&r.body));
            }
        }
    }

    #[test]
    fn the_relays_classification_agrees_with_the_generator() {
        for mix in [Mix::Creates, Mix::Actions, Mix::Mixed] {
            for r in preload(mix, "r", 1000)
                .into_iter()
                .chain(latency(mix, "r", 1000, 200))
            {
                assert_eq!(
                    classify(&r.body),
                    (r.kind, r.request_id.clone()),
                    "{}",
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
        assert_eq!(
            classify(br#"{"messageName":"ReadContractRequest","requestId":"x"}"#),
            (RequestKind::Malformed, Some("x".to_owned()))
        );
        assert_eq!(classify(b"[]"), (RequestKind::Malformed, None));
    }

    #[test]
    fn egress_counts_match_the_routing_keys() {
        for kind in [
            RequestKind::Create,
            RequestKind::Action,
            RequestKind::Read,
            RequestKind::Malformed,
        ] {
            assert_eq!(kind.routing_keys().len() as u64, kind.egress());
        }
    }
}
