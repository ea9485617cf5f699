//! `VersionService.GetLedgerApiVersion`: the Ledger API version the sandbox speaks, and what it supports.

use daml_ledger_api::v2::version_service_server::VersionService;
use daml_ledger_api::{LEDGER_API_VERSION, v2};

/// The version service (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxVersionService;

/// The features the sandbox offers: no user management (it knows no users, only the token) and no party
/// management; offset checkpoints are not emitted, so that feature is absent.
pub fn features() -> v2::FeaturesDescriptor {
    v2::FeaturesDescriptor {
        user_management: Some(v2::UserManagementFeature {
            supported: false,
            max_rights_per_user: 0,
            max_users_page_size: 0,
        }),
        party_management: Some(v2::PartyManagementFeature {
            max_parties_page_size: 0,
        }),
        offset_checkpoint: None,
    }
}

#[tonic::async_trait]
impl VersionService for SandboxVersionService {
    async fn get_ledger_api_version(
        &self,
        _request: tonic::Request<v2::GetLedgerApiVersionRequest>,
    ) -> Result<tonic::Response<v2::GetLedgerApiVersionResponse>, tonic::Status> {
        Ok(tonic::Response::new(v2::GetLedgerApiVersionResponse {
            version: LEDGER_API_VERSION.to_owned(),
            features: Some(features()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_the_shared_version_and_its_features() {
        let response = SandboxVersionService
            .get_ledger_api_version(tonic::Request::new(v2::GetLedgerApiVersionRequest {}))
            .await
            .expect("answers")
            .into_inner();
        assert_eq!(response.version, LEDGER_API_VERSION);
        let features = response.features.expect("features");
        assert_eq!(features.user_management.map(|u| u.supported), Some(false));
        assert_eq!(features.offset_checkpoint, None);
    }
}
