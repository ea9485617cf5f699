//! Which injected test fault (`faults.rules`) hits a request: an action is matched on its mapped choice.

use message_schema::ingress::IngressRequest;

use super::Processor;
use crate::request_faults::RequestFaultKind;

impl Processor {
    /// The injected test fault that hits a request, if any (an action is matched on its mapped choice).
    pub(in crate::processor) fn injected_fault(
        &self,
        request: &IngressRequest,
    ) -> Option<RequestFaultKind> {
        let plan = self.settings.faults.as_ref()?;
        let choice = match request {
            IngressRequest::Action(action) => self
                .index_read()
                .get(&action.contract_ledger_identifier)
                .and_then(|prior| self.mapping.workflow_for_template(&prior.template_id))
                .and_then(|workflow| workflow.functions.get(&action.workflow_function_name))
                .map(|function| function.choice.clone()),
            _ => None,
        };
        plan.fault_for(request.request_id(), choice.as_deref())
    }
}
