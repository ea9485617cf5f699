//! The create room: a `CreateContractRequest` mapped onto its workflow's template — the lineage check (a linear id
//! is never taken over), the create arguments, the submission — handed to the submit room; and, once committed, its
//! egress (Submitted, Committed, ContractMessage) built from the transaction the ledger returned, so a deduplicated
//! resubmission yields the same messages.

use ledger_port::{Command, Event, Submission, Transaction};
use message_schema::egress::{EgressMessage, LedgerInfo, UpdateMessageName, UpdateStatus};
use message_schema::error_code::ErrorCode;
use message_schema::ingress::CreateContractRequest;
use message_schema::linear_id::linear_id_for;
use message_schema::parse::quoted;
use message_schema::properties::flatten;
use uuid::Uuid;

use crate::closest_name::suggestion;
use crate::contract_index::linear_id_of_payload;
use crate::mapping::MappingError;
use crate::processor::{
    CommittedEgress, Decision, Mapped, Processor, Stop, command_id_for, mapping_failure,
};

impl Processor {
    pub(in crate::processor) async fn create(
        &self,
        request: &CreateContractRequest,
        party: String,
    ) -> Result<Decision, Stop> {
        let name = UpdateMessageName::CreateContractUpdate;
        let fail = |e: MappingError| {
            Ok(Decision::Egress(vec![self.request_failure(
                &request.request_id,
                name,
                None,
                &mapping_failure(&e),
            )]))
        };
        let mapped = match self.map_create(request, &party) {
            Ok(mapped) => mapped,
            Err(e) => return fail(e),
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
            &mapped.linear_id,
            false,
            CommittedEgress::Create {
                linear_id: mapped.linear_id,
                linear_id_field: mapped.workflow.linear_id_field.clone(),
                party,
            },
        )
        .await
    }
}

impl Processor {
    /// A create request mapped onto its workflow as `party`: the workflow, the lineage check, the create arguments
    /// with contract ids resolved. Shared by the room and by `connector explain` ([`Processor::plan`]), so an
    /// explanation is the mapping that runs.
    pub(in crate::processor) fn map_create(
        &self,
        request: &CreateContractRequest,
        party: &str,
    ) -> Result<Mapped<'_>, MappingError> {
        let Some(workflow) = self.mapping.workflow(&request.workflow_name) else {
            return Err(MappingError::not_found(
                "workflowName",
                format!(
                    "workflowName: unknown workflow {}{} (expected one of: {})",
                    quoted(&request.workflow_name),
                    suggestion(&request.workflow_name, self.mapping.workflow_names()),
                    self.mapping.workflow_names().join(", ")
                ),
            ));
        };
        let linear_id = linear_id_for(&request.request_id);
        // The same party repeating its create goes on: the ledger's command deduplication answers it.
        if self
            .index_read()
            .get(&linear_id)
            .is_some_and(|current| !current.parties.is_signatory(party))
        {
            return Err(MappingError {
                code: ErrorCode::Conflict,
                field: Some("requestId".to_owned()),
                message: format!(
                    "requestId: the linear id it derives ({linear_id}) is already the active lineage of another \
                     party; use another requestId"
                ),
            });
        }
        let mut arguments = workflow.create_arguments(&request.parameters, &linear_id, party)?;
        self.resolve_contract_ids(&mut arguments);
        Ok(Mapped {
            workflow,
            function: None,
            linear_id,
            prior: None,
            command: Command::Create {
                template_id: workflow.template.clone(),
                arguments,
            },
        })
    }
}

/// Egress for a committed create.
pub(in crate::processor) fn create_egress(
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
