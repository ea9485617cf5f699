//! The read room: a `ReadContractRequest` answered from the contract index, as the acting party may see it.

use message_schema::egress::{EgressMessage, UpdateMessageName};
use message_schema::ingress::ReadContractRequest;
use message_schema::properties::flatten;

use super::action::no_active_contract;
use crate::contract_index::IndexedContract;
use crate::processor::{Processor, internal_failure, mapping_failure};

impl Processor {
    /// Whether a request acting as `party` may see `contract`: the gateway's own party sees everything it indexes,
    /// any other party only contracts it is a stakeholder of.
    pub(in crate::processor) fn may_read(&self, party: &str, contract: &IndexedContract) -> bool {
        party == self.settings.party || contract.parties.is_stakeholder(party)
    }

    /// A read as `party`. A contract the party may not see is answered exactly as a missing one, so a read never
    /// tells whether a lineage exists.
    pub(in crate::processor) fn read(
        &self,
        request: &ReadContractRequest,
        party: &str,
    ) -> Vec<EgressMessage> {
        let linear_id = request.contract_ledger_identifier;
        let found = self
            .index_read()
            .get(&linear_id)
            .filter(|contract| self.may_read(party, contract))
            .cloned();
        let workflow = found
            .as_ref()
            .and_then(|c| self.mapping.workflow_for_template(&c.template_id));
        match (found.map(|c| c.payload.decode()), workflow) {
            (Some(Ok(payload)), Some(workflow)) => vec![EgressMessage::read_reply(
                &self.settings.info,
                &request.request_id,
                &linear_id,
                flatten(&payload, &workflow.linear_id_field),
            )],
            (Some(Err(e)), Some(_)) => vec![self.request_failure(
                &request.request_id,
                UpdateMessageName::ReadContractUpdate,
                Some(&linear_id),
                &internal_failure(&e),
            )],
            _ => vec![self.request_failure(
                &request.request_id,
                UpdateMessageName::ReadContractUpdate,
                Some(&linear_id),
                &mapping_failure(&no_active_contract(&linear_id)),
            )],
        }
    }
}
