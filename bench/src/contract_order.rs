//! Per-contract order, checked from the outside on the captured egress: for every contract (linear id), the requests
//! its egress answered, in arrival order, must be exactly that contract's requests in publish order, each answered in
//! one piece (no egress of a later request of the same contract before the last of an earlier one's).
//!
//! This is what `ordering: per-contract` promises and what `strict` gives as a special case, so both are checked.

use std::collections::HashMap;

use crate::error::BenchError;
use crate::workload::Request;

/// How many request ids an error shows from the first difference on.
const SHOWN: usize = 4;

/// What a passed check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderChecked {
    /// Contracts whose requests were checked.
    pub contracts: u64,
    /// Requests checked (those with a contract and a request id).
    pub requests: u64,
}

/// The first contract whose egress did not follow its publish order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderViolation {
    pub linear_id: String,
    /// The contract's request ids in publish order, from the first difference on (at most a few, "…" when cut).
    pub published: String,
    /// The request ids its egress answered, in arrival order, from the same position.
    pub arrived: String,
}

impl OrderViolation {
    /// The run's error, naming the ordering that broke it.
    pub fn into_error(self, ordering: &'static str) -> BenchError {
        BenchError::ContractOrder {
            ordering,
            linear_id: self.linear_id,
            published: self.published,
            arrived: self.arrived,
        }
    }
}

/// Checks `arrivals` (egress correlation ids in arrival order) against `published` (requests in publish order).
/// Egress whose correlation id names no published request with a contract (Failures of malformed requests) is
/// ignored; consecutive egress of one request counts once.
pub fn check(published: &[Request], arrivals: &[String]) -> Result<OrderChecked, OrderViolation> {
    let mut contract_of: HashMap<&str, &str> = HashMap::with_capacity(published.len());
    let mut expected: HashMap<&str, Vec<&str>> = HashMap::new();
    // Contracts in the order they were first published, so the error names the same one on every run.
    let mut contracts: Vec<&str> = Vec::new();
    for request in published {
        let (Some(id), Some(contract)) =
            (request.request_id.as_deref(), request.contract.as_deref())
        else {
            continue;
        };
        contract_of.insert(id, contract);
        let ids = expected.entry(contract).or_insert_with(|| {
            contracts.push(contract);
            Vec::new()
        });
        ids.push(id);
    }
    let mut arrived: HashMap<&str, Vec<&str>> = HashMap::with_capacity(expected.len());
    for id in arrivals {
        let Some(contract) = contract_of.get(id.as_str()) else {
            continue;
        };
        let ids = arrived.entry(contract).or_default();
        if ids.last() != Some(&id.as_str()) {
            ids.push(id);
        }
    }
    let mut requests = 0;
    for contract in &contracts {
        let want = &expected[contract];
        let got = arrived.get(contract).map_or(&[][..], Vec::as_slice);
        if want.as_slice() != got {
            let from = want.iter().zip(got).take_while(|(w, g)| w == g).count();
            return Err(OrderViolation {
                linear_id: (*contract).to_owned(),
                published: excerpt(want, from),
                arrived: excerpt(got, from),
            });
        }
        requests += want.len() as u64;
    }
    Ok(OrderChecked {
        contracts: contracts.len() as u64,
        requests,
    })
}

/// `ids[from..]`, at most [`SHOWN`] of them, comma-separated, with "…" around what was left out.
fn excerpt(ids: &[&str], from: usize) -> String {
    let from = from.min(ids.len());
    let end = (from + SHOWN).min(ids.len());
    let mut text = if from > 0 {
        "…, ".to_owned()
    } else {
        String::new()
    };
    text.push_str(&ids[from..end].join(", "));
    if end < ids.len() {
        text.push_str(", …");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Mix, RequestKind, preload};

    /// Each request's egress, request after request, in publish order: what a correct gateway produces.
    fn in_order(requests: &[Request]) -> Vec<String> {
        requests
            .iter()
            .flat_map(|r| {
                let id = r.request_id.clone();
                std::iter::repeat_n(id, r.kind.egress() as usize).flatten()
            })
            .collect()
    }

    #[test]
    fn egress_in_publish_order_passes_and_counts_what_it_checked() {
        let requests = preload(Mix::Mixed, "r", 400);
        let checked = check(&requests, &in_order(&requests)).expect("in order");
        assert_eq!(checked.contracts, 20, "n / 20 contracts");
        let with_contract = requests.iter().filter(|r| r.contract.is_some()).count();
        assert_eq!(checked.requests, with_contract as u64);
    }

    #[test]
    fn other_contracts_may_interleave() {
        let requests = preload(Mix::Actions, "r", 200);
        // Contract 0's requests last, everyone else's first: still each contract's own order.
        let first = requests[0].contract.clone();
        let (mine, others): (Vec<Request>, Vec<Request>) =
            requests.iter().cloned().partition(|r| r.contract == first);
        let mut arrivals = in_order(&others);
        arrivals.extend(in_order(&mine));
        assert!(check(&requests, &arrivals).is_ok());
    }

    #[test]
    fn a_swap_within_a_contract_is_named() {
        let requests = preload(Mix::Actions, "r", 200);
        // Requests 64 and 128 are the first two actions on contract 0; answer the second one first.
        let mut swapped = requests.clone();
        swapped.swap(64, 128);
        let violation = check(&requests, &in_order(&swapped)).expect_err("swapped");
        assert_eq!(
            Some(violation.linear_id.as_str()),
            requests[0].contract.as_deref()
        );
        assert_eq!(
            violation.published,
            "…, r-pre-act-64, r-pre-act-128, r-pre-act-192"
        );
        assert_eq!(
            violation.arrived,
            "…, r-pre-act-128, r-pre-act-64, r-pre-act-192"
        );
    }

    #[test]
    fn interleaved_egress_of_one_contract_and_a_lost_request_fail() {
        let requests = preload(Mix::Actions, "r", 200);
        let mut arrivals = in_order(&requests);
        // 64 creates of 3 egress messages, then actions of 4: the last message of request 64 (on contract 0)
        // arrives just after the first of request 128 (contract 0's next).
        let last_of_64 = 64 * 3 + 3;
        let first_of_128 = 64 * 3 + (128 - 64) * 4;
        let moved = arrivals.remove(last_of_64);
        arrivals.insert(first_of_128, moved);
        assert!(check(&requests, &arrivals).is_err(), "split egress");

        let lost: Vec<String> = in_order(&requests)
            .into_iter()
            .filter(|id| id != "r-pre-act-128")
            .collect();
        let violation = check(&requests, &lost).expect_err("lost");
        assert_eq!(violation.published, "…, r-pre-act-128, r-pre-act-192");
        assert_eq!(violation.arrived, "…, r-pre-act-192");
    }

    #[test]
    fn egress_that_names_no_contract_is_ignored() {
        let requests = preload(Mix::Mixed, "r", 400);
        let mut arrivals = in_order(&requests);
        arrivals.insert(3, "someone-else".to_owned());
        assert!(check(&requests, &arrivals).is_ok());
        assert!(
            requests
                .iter()
                .any(|r| r.kind == RequestKind::Malformed && r.contract.is_none())
        );
    }
}
