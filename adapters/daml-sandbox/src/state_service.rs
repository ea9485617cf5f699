//! `StateService`: `GetLedgerEnd`, and `GetActiveContracts` at an offset, filtered by party and template.
//!
//! Offset 0 means the current end (Canton answers an empty set for 0; the sandbox follows the project's contract
//! that 0 and the end both mean "now"); an offset beyond the end is OUT_OF_RANGE / `OFFSET_AFTER_LEDGER_END`.

use std::sync::Arc;

use daml_ledger_api::v2;
use daml_ledger_api::v2::state_service_server::StateService;

use crate::active_contracts_at::active_contracts_at;
use crate::context::{Context, ResponseStream};
use crate::event_filter::EventFilter;
use crate::request_errors::{check_offset, ledger_failure};
use crate::transaction_view::visible_created_event;

/// The state service.
pub struct SandboxStateService {
    context: Arc<Context>,
}

impl SandboxStateService {
    pub fn new(context: Arc<Context>) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl StateService for SandboxStateService {
    type GetActiveContractsStream = ResponseStream<v2::GetActiveContractsResponse>;

    async fn get_active_contracts(
        &self,
        request: tonic::Request<v2::GetActiveContractsRequest>,
    ) -> Result<tonic::Response<Self::GetActiveContractsStream>, tonic::Status> {
        let request = request.into_inner();
        let filter = EventFilter::from_proto(
            request.event_format.as_ref(),
            "event_format",
            self.context.known(),
        )?;
        let end = self.context.ledger_end().await?;
        check_offset("active_at_offset", request.active_at_offset, end)?;
        let contracts = active_contracts_at(self.context.ledger.as_ref(), request.active_at_offset)
            .await
            .map_err(|e| ledger_failure(&e))?;
        let responses: Vec<Result<v2::GetActiveContractsResponse, tonic::Status>> = contracts
            .iter()
            .filter_map(|active| {
                visible_created_event(&active.created, active.created_at_micros, &filter)
            })
            .map(|created_event| {
                Ok(v2::GetActiveContractsResponse {
                    workflow_id: String::new(),
                    contract_entry: Some(
                        v2::get_active_contracts_response::ContractEntry::ActiveContract(
                            v2::ActiveContract {
                                created_event: Some(created_event),
                                synchronizer_id: String::new(),
                                reassignment_counter: 0,
                            },
                        ),
                    ),
                })
            })
            .collect();
        Ok(tonic::Response::new(
            self.context
                .until_shutdown(futures::stream::iter(responses)),
        ))
    }

    async fn get_ledger_end(
        &self,
        _request: tonic::Request<v2::GetLedgerEndRequest>,
    ) -> Result<tonic::Response<v2::GetLedgerEndResponse>, tonic::Status> {
        Ok(tonic::Response::new(v2::GetLedgerEndResponse {
            offset: self.context.ledger_end().await?,
        }))
    }
}
