//! The request rooms, one per request kind, each the same shape: map the request onto the workflow (finding the
//! lineage an action or read names), build the submission, and build its egress once committed; the submit room
//! (`../submit.rs`) takes it in between. A read has no submission: its room answers at once. Shared by the rooms:
//! contract-id parameters resolved to current contracts (`contract_ids.rs`).

mod action;
mod contract_ids;
mod create;
mod read;

pub(in crate::processor) use action::{ActionRequest, action_egress};
pub(in crate::processor) use create::create_egress;

use ledger_port::Transaction;
use message_schema::egress::{EgressMessage, LedgerInfo};
use message_schema::ingress::IngressRequest;

use super::Processor;
use super::disposition::{CommittedEgress, Decision};
use super::settings::Sender;
use super::submit::Stop;
use crate::request_faults::RequestFaultKind;

impl Processor {
    /// The door to the rooms: who the request acts as (settled before anything is looked up, so a refused request
    /// learns nothing about workflows, functions or lineages), then the room of its kind; an injected after-commit
    /// fault is attached to the commit it decided.
    pub(in crate::processor) async fn decide(
        &self,
        request: &IngressRequest,
        sender: &Sender,
        fault: Option<RequestFaultKind>,
    ) -> Result<Decision, Stop> {
        let decision = match self.acting_party(request.user_chain_identifier(), sender) {
            Err(refusal) => Ok(Decision::Egress(vec![self.refused(request, &refusal)])),
            Ok(party) => match request {
                IngressRequest::Create(r) => self.create(r, party).await,
                IngressRequest::Action(r) => {
                    self.action(r, party, self.may_ask_ledger_for_commit(sender.redelivered))
                        .await
                }
                IngressRequest::Read(r) => Ok(Decision::Egress(self.read(r, &party))),
            },
        };
        match (decision, fault) {
            (
                Ok(Decision::Committing(mut commit)),
                Some(
                    kind
                    @ (RequestFaultKind::PanicAfterCommit | RequestFaultKind::AbortAfterCommit),
                ),
            ) => {
                commit.after_commit = Some(kind);
                Ok(Decision::Committing(commit))
            }
            (decision, _) => decision,
        }
    }
}

/// Each room builds its own committed egress.
impl CommittedEgress {
    pub(in crate::processor) fn build(
        &self,
        info: &LedgerInfo,
        request_id: &str,
        tx: &Transaction,
    ) -> Vec<EgressMessage> {
        match self {
            CommittedEgress::Create {
                linear_id,
                linear_id_field,
                party,
            } => create_egress(info, request_id, linear_id, linear_id_field, tx, party),
            CommittedEgress::Action {
                function_name,
                parameters,
                linear_id_field,
                prior,
                party,
            } => {
                let action = ActionRequest {
                    request_id,
                    function_name,
                    parameters,
                    acting_party: party,
                };
                action_egress(info, &action, linear_id_field, prior, tx)
            }
        }
    }
}
