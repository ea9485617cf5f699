//! `PartyManagementService.GetParticipantId`: the sandbox's participant id, which a gateway records in its state
//! directory to tell this ledger from another. It is derived from the served ledger's own id (`sandbox::<id>`), so
//! a sandbox restarted on the same journal is the same participant and one on a fresh journal is another.

use daml_ledger_api::v2::admin;
use daml_ledger_api::v2::admin::party_management_service_server::PartyManagementService;

/// The party management service: only the participant id (no parties are managed here).
#[derive(Debug, Clone)]
pub struct SandboxPartyManagementService {
    participant_id: String,
}

impl SandboxPartyManagementService {
    pub fn new(participant_id: String) -> Self {
        Self { participant_id }
    }
}

#[tonic::async_trait]
impl PartyManagementService for SandboxPartyManagementService {
    async fn get_participant_id(
        &self,
        _request: tonic::Request<admin::GetParticipantIdRequest>,
    ) -> Result<tonic::Response<admin::GetParticipantIdResponse>, tonic::Status> {
        Ok(tonic::Response::new(admin::GetParticipantIdResponse {
            participant_id: self.participant_id.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_participant_id_it_was_given() {
        let service = SandboxPartyManagementService::new("sandbox::abc".to_owned());
        let response = service
            .get_participant_id(tonic::Request::new(admin::GetParticipantIdRequest {}))
            .await
            .expect("answers")
            .into_inner();
        assert_eq!(response.participant_id, "sandbox::abc");
    }
}
