//! The egress of a committed request: Submitted, Committed, EventMessage (exercises only), ContractMessage — built
//! from the transaction the ledger returned, so a deduplicated resubmission yields the same messages.

use ledger_port::{Event, Transaction};
use message_schema::egress::{
    EgressMessage, EventParameter, LedgerInfo, UpdateMessageName, UpdateStatus,
};
use message_schema::ingress::Parameter;
use message_schema::properties::flatten;
use uuid::Uuid;

use crate::contract_index::{IndexedContract, linear_id_of_payload};

/// Egress for a committed create.
pub fn create_egress(
    info: &LedgerInfo,
    request_id: &str,
    linear_id: &Uuid,
    linear_id_field: &str,
    tx: &Transaction,
    acting_party: &str,
) -> Vec<EgressMessage> {
    let name = UpdateMessageName::CreateContractUpdate;
    let mut out = vec![
        EgressMessage::update(info, name, request_id, linear_id, UpdateStatus::Submitted),
        EgressMessage::update(info, name, request_id, linear_id, UpdateStatus::Committed),
    ];
    if let Some(created) = tx.events.iter().find_map(|e| match e {
        Event::Created(c)
            if linear_id_of_payload(&c.arguments, linear_id_field) == Some(*linear_id) =>
        {
            Some(c)
        }
        _ => None,
    }) {
        out.push(EgressMessage::contract(
            info,
            Some(request_id),
            linear_id,
            flatten(&created.arguments, linear_id_field),
            &tx.update_id,
            acting_party,
            true,
        ));
    }
    out
}

/// What the request asked for, echoed in the EventMessage.
pub struct ActionRequest<'a> {
    pub request_id: &'a str,
    pub function_name: &'a str,
    pub parameters: &'a [Parameter],
    pub acting_party: &'a str,
}

/// Egress for a committed exercise on `prior`, the lineage's contract before the transaction.
pub fn action_egress(
    info: &LedgerInfo,
    request: &ActionRequest<'_>,
    linear_id_field: &str,
    prior: &IndexedContract,
    tx: &Transaction,
) -> Vec<EgressMessage> {
    let name = UpdateMessageName::CreateContractActionUpdate;
    let linear_id = &prior.linear_id;
    let mut out = vec![
        EgressMessage::update(
            info,
            name,
            request.request_id,
            linear_id,
            UpdateStatus::Submitted,
        ),
        EgressMessage::update(
            info,
            name,
            request.request_id,
            linear_id,
            UpdateStatus::Committed,
        ),
    ];
    let sequence = tx
        .events
        .iter()
        .position(|e| matches!(e, Event::Exercised(x) if *x.contract_id == *prior.contract_id))
        .unwrap_or(0);
    let parameters = request
        .parameters
        .iter()
        .map(|p| EventParameter {
            name: p.name.clone(),
            value: p.value.clone(),
        })
        .collect();
    out.push(EgressMessage::event(
        info,
        Some(request.request_id),
        request.acting_party,
        linear_id,
        request.function_name,
        parameters,
        &tx.update_id,
        sequence as u32 + 1,
    ));
    let successor = tx.events.iter().find_map(|e| match e {
        Event::Created(c)
            if linear_id_of_payload(&c.arguments, linear_id_field) == Some(*linear_id) =>
        {
            Some(c)
        }
        _ => None,
    });
    // Archive and nonconsuming choices leave no successor: the lineage's last state is the prior payload.
    let prior_payload;
    let payload = match successor {
        Some(c) => &c.arguments,
        None => match prior.payload.decode() {
            Ok(decoded) => {
                prior_payload = decoded;
                &prior_payload
            }
            Err(e) => {
                // Cannot happen short of a bug (this process encoded the bytes); the commit stands, so report it
                // without the Contract message rather than fail the request.
                tracing::error!(request_id = request.request_id, error = %e, "Contract message left out");
                return out;
            }
        },
    };
    out.push(EgressMessage::contract(
        info,
        Some(request.request_id),
        linear_id,
        flatten(payload, linear_id_field),
        &tx.update_id,
        request.acting_party,
        false,
    ));
    out
}
