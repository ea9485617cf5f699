//! The egress the observer publishes for a ledger transaction it did not cause ("An Event Occurs"), and for the
//! start-up sweep of active contracts.

use ledger_port::{ActiveContract, Event, Transaction};
use message_schema::egress::{EgressMessage, EventParameter, LedgerInfo};
use message_schema::properties::{flatten, render};
use message_schema::value::LedgerValue;

use crate::contract_index::{ContractIndex, IndexedContract, linear_id_of_payload};
use crate::mapping::WorkflowMapping;

/// Egress for one transaction, in event order: for each exercise on a mapped template an EventMessage and the
/// lineage's ContractMessage after it; for each create that starts a lineage a ContractMessage with
/// `isNewContract: true`. `index` is the linear id index *before* the transaction (it names exercised contracts);
/// `consumed` holds contracts the transaction archived that the index no longer has (see
/// [`unknown_archived_contracts`]).
pub fn messages_for_transaction(
    info: &LedgerInfo,
    mapping: &WorkflowMapping,
    index: &ContractIndex,
    tx: &Transaction,
    consumed: &[IndexedContract],
) -> Vec<EgressMessage> {
    let mut out = Vec::new();
    let mut continued = Vec::new();
    for (position, event) in tx.events.iter().enumerate() {
        match event {
            Event::Exercised(exercised) => {
                let Some(workflow) = mapping.workflow_for_template(&exercised.template_id) else {
                    continue;
                };
                let prior = index
                    .linear_id_of(&exercised.contract_id)
                    .and_then(|l| index.get(&l))
                    .cloned()
                    .or_else(|| {
                        consumed
                            .iter()
                            .find(|c| *c.contract_id == *exercised.contract_id)
                            .cloned()
                    });
                let prior = prior.as_ref();
                let successor = tx.events.iter().skip(position + 1).find_map(|e| match e {
                    Event::Created(c)
                        if mapping.workflow_for_template(&c.template_id).is_some() =>
                    {
                        linear_id_of_payload(&c.arguments, &workflow.linear_id_field)
                            .map(|l| (l, c))
                    }
                    _ => None,
                });
                // The lineage: known from the index, or (for a contract the gateway never saw) from the successor.
                let linear_id = match (prior, &successor) {
                    (Some(p), _) => p.linear_id,
                    (None, Some((l, _))) => *l,
                    (None, None) => continue,
                };
                if successor.as_ref().is_some_and(|(l, _)| *l == linear_id) {
                    continued.push(linear_id);
                }
                let caller = exercised
                    .acting_parties
                    .first()
                    .map(String::as_str)
                    .unwrap_or("");
                let function_name = workflow
                    .functions
                    .values()
                    .find(|f| f.choice == exercised.choice)
                    .map(|f| f.name.as_str())
                    .unwrap_or(exercised.choice.as_str());
                out.push(EgressMessage::event(
                    info,
                    None,
                    caller,
                    &linear_id,
                    function_name,
                    event_parameters(&exercised.argument),
                    &tx.update_id,
                    position as u32 + 1,
                ));
                let prior_payload = match (&successor, prior) {
                    (Some((l, _)), _) if *l == linear_id => None,
                    (_, Some(p)) => match p.payload.decode() {
                        Ok(decoded) => Some(decoded),
                        Err(e) => {
                            // A bug (this process encoded the bytes): leave the Contract message out, say so.
                            tracing::error!(update_id = %tx.update_id, error = %e, "Contract message left out");
                            None
                        }
                    },
                    _ => None,
                };
                let payload = match (&successor, &prior_payload) {
                    (Some((l, c)), _) if *l == linear_id => Some(&c.arguments),
                    (_, Some(decoded)) => Some(decoded),
                    _ => None,
                };
                if let Some(payload) = payload {
                    out.push(EgressMessage::contract(
                        info,
                        None,
                        &linear_id,
                        flatten(payload, &workflow.linear_id_field),
                        &tx.update_id,
                        caller,
                        false,
                    ));
                }
            }
            Event::Created(created) => {
                let Some(workflow) = mapping.workflow_for_template(&created.template_id) else {
                    continue;
                };
                let Some(linear_id) =
                    linear_id_of_payload(&created.arguments, &workflow.linear_id_field)
                else {
                    continue;
                };
                if continued.contains(&linear_id) {
                    continue;
                }
                let from = created
                    .signatories
                    .first()
                    .map(String::as_str)
                    .unwrap_or("");
                out.push(EgressMessage::contract(
                    info,
                    None,
                    &linear_id,
                    flatten(&created.arguments, &workflow.linear_id_field),
                    &tx.update_id,
                    from,
                    true,
                ));
            }
            Event::Archived(_) => {}
        }
    }
    out
}

/// The contracts `tx` archives on mapped templates that the index does not know, with no successor to name their
/// lineage: the gateway's own archive seen after the processor already dropped the lineage (or after a restart),
/// whose Event and last state only the contract's created event can give.
pub fn unknown_archived_contracts<'t>(
    mapping: &WorkflowMapping,
    index: &ContractIndex,
    tx: &'t Transaction,
) -> Vec<&'t str> {
    tx.events
        .iter()
        .enumerate()
        .filter_map(|(position, event)| match event {
            Event::Exercised(exercised)
                if exercised.consuming
                    && mapping.workflow_for_template(&exercised.template_id).is_some()
                    && index.linear_id_of(&exercised.contract_id).is_none()
                    && !tx.events.iter().skip(position + 1).any(|e| {
                        matches!(e, Event::Created(c) if mapping.workflow_for_template(&c.template_id).is_some())
                    }) =>
            {
                Some(exercised.contract_id.as_str())
            }
            _ => None,
        })
        .collect()
}

/// A ContractMessage (`isNewContract: false`) for an active contract found by the start-up sweep.
pub fn message_for_active_contract(
    info: &LedgerInfo,
    mapping: &WorkflowMapping,
    active: &ActiveContract,
) -> Option<EgressMessage> {
    let created = &active.created;
    let workflow = mapping.workflow_for_template(&created.template_id)?;
    let linear_id = linear_id_of_payload(&created.arguments, &workflow.linear_id_field)?;
    let from = created
        .signatories
        .first()
        .map(String::as_str)
        .unwrap_or("");
    Some(EgressMessage::contract(
        info,
        None,
        &linear_id,
        flatten(&created.arguments, &workflow.linear_id_field),
        &active.created_update_id,
        from,
        false,
    ))
}

/// A choice argument as Workbench parameters: a record's fields flattened, anything else as one `argument`.
fn event_parameters(argument: &LedgerValue) -> Vec<EventParameter> {
    match argument {
        LedgerValue::Record(record) => flatten(record, "")
            .into_iter()
            .map(|p| EventParameter {
                name: p.name,
                value: p.value,
            })
            .collect(),
        LedgerValue::Unit => Vec::new(),
        other => vec![EventParameter {
            name: "argument".to_owned(),
            value: render(other),
        }],
    }
}
