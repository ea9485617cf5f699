//! Who a request acts as: its `userChainIdentifier` against the allow-list and the sender's broker user, settled
//! before anything is looked up, and the Failure of a request refused for it.

use message_schema::egress::{EgressMessage, UpdateMessageName};
use message_schema::error_code::ErrorCode;
use message_schema::ingress::IngressRequest;
use message_schema::limits::cut;

use crate::mapping::MappingError;
use crate::processor::{Processor, Sender, mapping_failure};

/// How much of a refused party id or broker user a Failure repeats: a whole Daml party id (name and fingerprint)
/// fits, and so does any AMQP user_id (a short string).
const PARTY_SHOWN_BYTES: usize = 255;

impl Processor {
    /// The party a request acts as: its `userChainIdentifier` when the allow-list is set and names it (else 4030),
    /// otherwise the gateway's own party; then, when parties are bound to broker users, one of its sender's parties.
    pub(in crate::processor) fn acting_party(
        &self,
        user_chain_identifier: Option<&str>,
        sender: &Sender,
    ) -> Result<String, MappingError> {
        let party = match (
            user_chain_identifier,
            &self.settings.allowed_request_parties,
        ) {
            (Some(party), Some(allowed)) => {
                if !allowed.iter().any(|p| p == party) {
                    return Err(forbidden(format!(
                        "userChainIdentifier: party {} may not act through this gateway",
                        shown(party)
                    )));
                }
                party
            }
            // Without an allow-list the gateway acts as its own party, as Workbench clients expect.
            _ => self.settings.party.as_str(),
        };
        if let Some(bindings) = &self.settings.parties_by_amqp_user {
            let Some(user) = sender.amqp_user_id.as_deref() else {
                return Err(forbidden(
                    "userChainIdentifier: the message carries no AMQP user_id; this gateway binds parties to \
                     broker users, so a message must be published with its sender's user name as user_id"
                        .to_owned(),
                ));
            };
            let Some(parties) = bindings.get(user) else {
                return Err(forbidden(format!(
                    "userChainIdentifier: AMQP user {} may not send requests to this gateway",
                    shown(user)
                )));
            };
            if !parties.iter().any(|p| p == party) {
                return Err(forbidden(format!(
                    "userChainIdentifier: AMQP user {} may not act as party {}",
                    shown(user),
                    shown(party)
                )));
            }
        }
        Ok(party.to_owned())
    }

    /// The Failure of a request refused before anything was looked up for it.
    pub(in crate::processor) fn refused(
        &self,
        request: &IngressRequest,
        error: &MappingError,
    ) -> EgressMessage {
        let (name, linear_id) = match request {
            IngressRequest::Create(_) => (UpdateMessageName::CreateContractUpdate, None),
            IngressRequest::Action(r) => (
                UpdateMessageName::CreateContractActionUpdate,
                Some(&r.contract_ledger_identifier),
            ),
            IngressRequest::Read(r) => (
                UpdateMessageName::ReadContractUpdate,
                Some(&r.contract_ledger_identifier),
            ),
        };
        self.request_failure(
            request.request_id(),
            name,
            linear_id,
            &mapping_failure(error),
        )
    }
}

/// A sender's party or user name as a Failure quotes it: cut, and escaped.
pub(in crate::processor) fn shown(value: &str) -> String {
    format!("{:?}", cut(value, PARTY_SHOWN_BYTES))
}

pub(in crate::processor) fn forbidden(message: String) -> MappingError {
    MappingError {
        code: ErrorCode::Forbidden,
        field: Some("userChainIdentifier".to_owned()),
        message,
    }
}
