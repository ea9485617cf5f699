//! The fault harnesses' workload (`tests/crash_harness.rs`, `tests/failover_harness.rs`) and the checks of what
//! came out of it: N mixed requests on the example workflow (creates, telemetry actions, reads, malformed ones and an
//! archiving phase), then, from the captured egress and the ledger's transactions, which requests were lost, which
//! had more than one ledger effect or none, and whether each contract's requests kept their queue order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::Captured;
use super::example_requests::is_terminal;

pub struct Workload {
    pub bodies: Vec<Vec<u8>>,
    /// requestId → (publish position, linear id targeted or created, effectful?)
    pub requests: BTreeMap<String, (usize, String, bool)>,
    pub malformed_without_id: usize,
}

/// The workload of `n` requests drawn from `seed` (the same seed gives the same bodies).
pub fn workload(n: usize, seed: u64) -> Workload {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let contracts = (n / 10).max(5);
    let mut bodies = Vec::with_capacity(n);
    let mut requests = BTreeMap::new();
    let mut created: Vec<String> = Vec::new();
    let mut malformed_without_id = 0;
    for i in 0..n {
        let roll: u32 = rng.random_range(0..100);
        let (value, id, lid, effectful): (Value, String, String, bool) = if created.len()
            < contracts
            && (created.is_empty() || roll < 30)
        {
            let id = format!("h-create-{i}");
            let lid = message_schema::linear_id::linear_id_for(&id).to_string();
            created.push(lid.clone());
            let v = json!({"messageName":"CreateContractRequest","requestId":id,"workflowName":"RefrigeratedTransportation",
                "parameters":[{"name":"device","value":"Device01"},{"name":"supplyChainOwner","value":"Retailer"},
                {"name":"supplyChainObserver","value":"Auditor"},{"name":"minHumidity","value":"20"},{"name":"maxHumidity","value":"60"},
                {"name":"minTemperature","value":"2"},{"name":"maxTemperature","value":"8"}],"messageSchemaVersion":"1.0.0"});
            (v, id, lid, true)
        } else if roll < 2 {
            if rng.random_bool(0.5) {
                malformed_without_id += 1;
                bodies.push(format!("{{not json {i}").into_bytes());
                continue;
            }
            let id = format!("h-bad-{i}");
            (
                json!({"messageName":"CreateContractRequest","requestId":id,"messageSchemaVersion":"1.0.0"}),
                id,
                String::new(),
                false,
            )
        } else {
            let lid = created[rng.random_range(0..created.len())].clone();
            if roll < 20 {
                let id = format!("h-read-{i}");
                (
                    json!({"messageName":"ReadContractRequest","requestId":id,"contractLedgerIdentifier":lid,"messageSchemaVersion":"1.0.0"}),
                    id,
                    lid,
                    false,
                )
            } else {
                let id = format!("h-act-{i}");
                (
                    json!({"messageName":"CreateContractActionRequest","requestId":id,"contractLedgerIdentifier":lid,
                    "workflowFunctionName":"IngestTelemetry","userChainIdentifier":"Device01",
                    "parameters":[{"name":"humidity","value":rng.random_range(25..55).to_string()},{"name":"temperature","value":"5"},
                    {"name":"timestamp","value":"1764000000"}],"messageSchemaVersion":"1.0.0"}),
                    id,
                    lid,
                    true,
                )
            }
        };
        requests.insert(id, (bodies.len(), lid, effectful));
        bodies.push(serde_json::to_vec(&value).unwrap_or_default());
    }
    // The archiving phase: a tenth of the shipments are transferred, completed and archived, so a kill between an
    // archive's commit and its recorded answer is among the moments the kills can hit.
    let to_archive = (created.len() / 10).max(3).min(created.len());
    for (k, lid) in created.iter().take(to_archive).enumerate() {
        let steps = [
            (
                "TransferResponsibility",
                json!([{"name":"newCounterparty","value":"Carrier"}]),
            ),
            ("Complete", json!([])),
            ("Archive", json!([])),
        ];
        for (function, parameters) in steps {
            let id = format!("h-{}-{k}", function.to_lowercase());
            let value = json!({"messageName":"CreateContractActionRequest","requestId":id,"contractLedgerIdentifier":lid,
                "workflowFunctionName":function,"parameters":parameters,"messageSchemaVersion":"1.0.0"});
            requests.insert(id, (bodies.len(), lid.clone(), true));
            bodies.push(serde_json::to_vec(&value).unwrap_or_default());
        }
    }
    Workload {
        bodies,
        requests,
        malformed_without_id,
    }
}

/// The requestIds that got their terminal message in `c`, and the number of Failures without a requestId (the
/// answers to bodies no requestId could be read from).
pub fn done_ids(c: &[Captured]) -> (BTreeSet<String>, usize) {
    let ids = c
        .iter()
        .filter(|c| is_terminal(c))
        .filter_map(|c| c.json.get("requestId")?.as_str().map(str::to_owned))
        .collect();
    let generic = c
        .iter()
        .filter(|c| {
            c.json.get("status").and_then(Value::as_str) == Some("Failure")
                && c.json.get("requestId").is_none()
        })
        .count();
    (ids, generic)
}

/// The transaction hashes the observer published in `c` (its messages carry no requestId).
pub fn observed_hashes(c: &[Captured]) -> BTreeSet<String> {
    c.iter()
        .filter(|c| c.json.get("requestId").is_none())
        .filter_map(|c| c.json.get("blockhash")?.as_str().map(str::to_owned))
        .collect()
}

/// The hash each transaction's egress carries as `blockhash`.
pub fn transaction_hashes(txs: &[ledger_port::Transaction]) -> BTreeSet<String> {
    txs.iter()
        .map(|tx| message_schema::ids::transaction_hash(&tx.update_id))
        .collect()
}

/// The ledger's transactions against the workload's answers.
#[derive(Debug, Default)]
pub struct Effects {
    /// Requests with more than one transaction under their command id, or a read or malformed one with any.
    pub duplicated: usize,
    /// Effectful requests answered as committed with no transaction.
    pub missing: usize,
    /// Contracts whose transactions are not in the queue order of the requests that made them.
    pub order_violations: usize,
    /// Requests whose command committed but whose answer was not a success (a redelivered archive answered "no
    /// active contract" after its own commit would be one).
    pub failed_though_committed: usize,
}

pub fn effects(
    work: &Workload,
    txs: &[ledger_port::Transaction],
    collected: &[Captured],
) -> Effects {
    let by_command: HashMap<String, Vec<i64>> = txs.iter().fold(HashMap::new(), |mut m, tx| {
        m.entry(tx.command_id.clone()).or_default().push(tx.offset);
        m
    });
    let succeeded: BTreeSet<String> = collected
        .iter()
        .filter(|c| c.routing_key == "ContractMessage")
        .filter_map(|c| c.json.get("requestId")?.as_str().map(str::to_owned))
        .collect();
    let mut out = Effects::default();
    let mut per_contract: BTreeMap<String, Vec<(i64, usize)>> = BTreeMap::new();
    for (id, (position, lid, effectful)) in &work.requests {
        let command = connector::processor::command_id_for(id);
        let effects = by_command.get(&command).map(Vec::len).unwrap_or(0);
        if effects > 1 {
            out.duplicated += 1;
        }
        if effects > 0 && !succeeded.contains(id) {
            out.failed_though_committed += 1;
        }
        if *effectful && succeeded.contains(id) {
            if effects == 0 {
                out.missing += 1;
            }
            if let Some(offsets) = by_command.get(&command) {
                per_contract
                    .entry(lid.clone())
                    .or_default()
                    .push((offsets[0], *position));
            }
        } else if effects > 0 && !*effectful {
            out.duplicated += 1;
        }
    }
    for effects in per_contract.values_mut() {
        effects.sort();
        if effects.windows(2).any(|w| w[0].1 > w[1].1) {
            out.order_violations += 1;
        }
    }
    out
}

/// Contracts whose requests' terminal messages, each taken at its first arrival in `collected` (the order it was
/// captured in), are not in the queue order of the requests: a copy republished after a failover does not count,
/// an answer overtaking an earlier request on its contract does.
pub fn egress_order_violations(work: &Workload, collected: &[Captured]) -> usize {
    let mut seen = BTreeSet::new();
    let mut per_contract: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for c in collected.iter().filter(|c| is_terminal(c)) {
        let Some(id) = c.json.get("requestId").and_then(Value::as_str) else {
            continue;
        };
        let Some((position, lid, _)) = work.requests.get(id) else {
            continue;
        };
        if lid.is_empty() || !seen.insert(id.to_owned()) {
            continue;
        }
        per_contract.entry(lid).or_default().push(*position);
    }
    per_contract
        .values()
        .filter(|positions| positions.windows(2).any(|w| w[0] > w[1]))
        .count()
}
