//! `StateService.GetActiveContracts` read one contract at a time: the gateway builds its index as the participant
//! streams the set, so a large set (100,000 contracts with their payloads) is never held whole.

use std::collections::HashSet;

use daml_ledger_api::created_event_from_proto;
use daml_ledger_api::v2::{
    GetActiveContractsResponse, get_active_contracts_response::ContractEntry,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use ledger_port::{ActiveContract, LedgerError, TemplateId};
use tonic::Streaming;

use crate::package_names::prefer_configured_created;
use crate::rpc::{Next, Rpc, conversion_failed};

/// The gRPC call's name, in errors.
pub(crate) const CALL: &str = "GetActiveContracts";

/// Where reading the participant's answer has got to.
struct Reading {
    rpc: Rpc,
    responses: Streaming<GetActiveContractsResponse>,
    /// The gateway's forms of the mapped templates, to name contracts as the mapping does.
    templates: Vec<TemplateId>,
    /// A contract visible to several of the reading parties may be reported once per party.
    seen: HashSet<String>,
    handed_out: usize,
}

impl Reading {
    /// The next active contract, `None` at the end of the set.
    async fn next_contract(&mut self) -> Result<Option<ActiveContract>, LedgerError> {
        loop {
            let message = match self
                .rpc
                .next(CALL, &mut self.responses, self.rpc.call_timeout())
                .await?
            {
                Next::Message(message) => message,
                Next::End => return Ok(None),
                Next::Idle => {
                    return Err(LedgerError::transient(format!(
                        "{CALL}: the active contract stream stalled for {} ms",
                        self.rpc.call_timeout().as_millis()
                    )));
                }
            };
            // Reassignment entries (incomplete_assigned/unassigned) only matter to multi-synchronizer readers.
            let Some(ContractEntry::ActiveContract(active)) = message.contract_entry else {
                continue;
            };
            let Some(mut created) = active.created_event else {
                continue;
            };
            if !self.seen.insert(created.contract_id.clone()) {
                continue;
            }
            prefer_configured_created(&mut created, &self.templates);
            let path = format!("active_contracts[{}].created_event", self.handed_out);
            let created = created_event_from_proto(&created, &path)
                .map_err(|e| conversion_failed(CALL, e))?;
            self.handed_out += 1;
            return Ok(Some(ActiveContract {
                created,
                created_update_id: String::new(),
            }));
        }
    }
}

/// The contracts of an answered `GetActiveContracts`, in the participant's order; the stream ends after the last
/// contract or after the first error.
pub(crate) fn active_contracts(
    rpc: Rpc,
    responses: Streaming<GetActiveContractsResponse>,
    templates: Vec<TemplateId>,
) -> BoxStream<'static, Result<ActiveContract, LedgerError>> {
    let reading = Reading {
        rpc,
        responses,
        templates,
        seen: HashSet::new(),
        handed_out: 0,
    };
    futures::stream::unfold(Some(reading), |reading| async move {
        let mut reading = reading?;
        match reading.next_contract().await {
            Ok(Some(contract)) => Some((Ok(contract), Some(reading))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}
