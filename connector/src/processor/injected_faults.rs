//! Injected test faults (`faults.rules`): which one hits a request (an action is matched on its mapped choice), and
//! what it does before the request is processed or after its command is committed.

use message_schema::ingress::IngressRequest;

use super::Processor;
use super::disposition::Disposition;
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

/// What `fault` does before its request is processed: panic, or end the broker session on it (the disposition).
pub(in crate::processor) fn before_processing(
    fault: Option<RequestFaultKind>,
    request_id: &str,
) -> Option<Disposition> {
    match fault {
        Some(RequestFaultKind::Panic) => {
            panic!("injected fault: panic while mapping request {request_id:?}")
        }
        Some(RequestFaultKind::EndSession) => Some(Disposition::Abandoned {
            reason: "injected fault: the session ends on this request".to_owned(),
        }),
        _ => None,
    }
}

/// What `fault` does once its request's command is durable: panic, or abort the whole process.
pub(in crate::processor) fn after_commit_fault(fault: Option<RequestFaultKind>, request_id: &str) {
    match fault {
        Some(RequestFaultKind::PanicAfterCommit) => {
            panic!("injected fault: panic after request {request_id:?} was committed")
        }
        Some(RequestFaultKind::AbortAfterCommit) => {
            tracing::error!(request_id = ?request_id, "injected fault: aborting the process after the request was committed");
            std::process::abort()
        }
        _ => {}
    }
}
