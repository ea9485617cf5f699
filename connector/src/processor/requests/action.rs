//! The action room: a `CreateContractActionRequest` mapped onto a choice of its lineage's current contract — the
//! lineage lookup (asking the ledger first when it may have been archived by this very request), the function, the
//! choice argument, the submission — handed to the submit room; and, once committed, its egress (Submitted,
//! Committed, EventMessage, ContractMessage) built from the transaction the ledger returned.

mod committed_before;

use ledger_port::{Command, Event, Submission, Transaction};
use message_schema::egress::{
    EgressMessage, EventParameter, LedgerInfo, UpdateMessageName, UpdateStatus,
};
use message_schema::ingress::{CreateContractActionRequest, Parameter};
use message_schema::parse::quoted;
use message_schema::properties::flatten;
use message_schema::value::LedgerValue;
use uuid::Uuid;

use crate::closest_name::suggestion;
use crate::contract_index::{IndexedContract, linear_id_of_payload};
use crate::mapping::MappingError;
use crate::processor::{
    CommittedEgress, Decision, Mapped, Processor, Stop, command_id_for, mapping_failure,
};

impl Processor {
    /// An exercise on the lineage's current contract. A lineage missing from the index may have been archived by
    /// this very request before a crash lost its answer: with `ask_ledger`, the ledger is asked first
    /// ([`Processor::committed_before`]).
    pub(in crate::processor) async fn action(
        &self,
        request: &CreateContractActionRequest,
        party: String,
        ask_ledger: bool,
    ) -> Result<Decision, Stop> {
        let name = UpdateMessageName::CreateContractActionUpdate;
        let linear_id = request.contract_ledger_identifier;
        let fail = |e: MappingError| {
            Ok(Decision::Egress(vec![self.request_failure(
                &request.request_id,
                name,
                Some(&linear_id),
                &mapping_failure(&e),
            )]))
        };
        // The guard is dropped here: committed_before awaits the ledger and may update the index.
        let missing = self.index_read().get(&linear_id).is_none();
        if ask_ledger
            && missing
            && let Some(messages) = self.committed_before(request, &party).await?
        {
            return Ok(Decision::Egress(messages));
        }
        let mapped = match self.map_action(request) {
            Ok(mapped) => mapped,
            Err(e) => return fail(e),
        };
        let Some(prior) = mapped.prior else {
            // map_action always names the prior of an exercise; reaching here is a bug, answered as a missing one.
            return fail(no_active_contract(&linear_id));
        };
        let submission = Submission {
            command_id: command_id_for(&request.request_id),
            act_as: vec![party.clone()],
            command: mapped.command,
        };
        self.sequence_request(
            submission,
            &request.request_id,
            name,
            &linear_id,
            true,
            CommittedEgress::Action {
                function_name: request.workflow_function_name.clone(),
                parameters: request.parameters.clone(),
                linear_id_field: mapped.workflow.linear_id_field.clone(),
                prior,
                party,
            },
        )
        .await
    }
}

impl Processor {
    /// An action request mapped onto its lineage's current contract: the lineage, its workflow, the function, the
    /// choice argument with contract ids resolved. Shared by the room and by `connector explain`
    /// ([`Processor::plan`]), so an explanation is the mapping that runs.
    pub(in crate::processor) fn map_action(
        &self,
        request: &CreateContractActionRequest,
    ) -> Result<Mapped<'_>, MappingError> {
        let linear_id = request.contract_ledger_identifier;
        let Some(prior) = self.index_read().get(&linear_id).cloned() else {
            return Err(no_active_contract(&linear_id));
        };
        let Some(workflow) = self.mapping.workflow_for_template(&prior.template_id) else {
            return Err(no_active_contract(&linear_id));
        };
        let Some(function) = workflow.functions.get(&request.workflow_function_name) else {
            let names: Vec<&str> = workflow.functions.keys().map(String::as_str).collect();
            return Err(MappingError::not_found(
                "workflowFunctionName",
                format!(
                    "workflowFunctionName: unknown function {} for workflow {:?}{} (expected one of: {})",
                    quoted(&request.workflow_function_name),
                    workflow.name,
                    suggestion(&request.workflow_function_name, names.iter().copied()),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        let mut argument = function.choice_argument(&request.parameters)?;
        self.resolve_contract_ids(&mut argument);
        Ok(Mapped {
            workflow,
            function: Some(function),
            linear_id,
            command: Command::Exercise {
                template_id: (*prior.template_id).clone(),
                contract_id: prior.contract_id.to_string(),
                choice: function.choice.clone(),
                argument: LedgerValue::Record(argument),
            },
            prior: Some(prior),
        })
    }
}

pub(in crate::processor) fn no_active_contract(linear_id: &Uuid) -> MappingError {
    MappingError::not_found(
        "contractLedgerIdentifier",
        format!("contractLedgerIdentifier: no active contract with linear id {linear_id}"),
    )
}

/// What the request asked for, echoed in the EventMessage.
pub(in crate::processor) struct ActionRequest<'a> {
    pub request_id: &'a str,
    pub function_name: &'a str,
    pub parameters: &'a [Parameter],
    pub acting_party: &'a str,
}

/// Egress for a committed exercise on `prior`, the lineage's contract before the transaction.
pub(in crate::processor) fn action_egress(
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
