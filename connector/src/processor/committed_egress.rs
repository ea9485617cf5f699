//! What a request room decided: an outcome at once, or a sequenced command with the recipe for its egress, which
//! the room of its kind builds from the transaction once it is durable.

use ledger_port::Transaction;
use message_schema::egress::{EgressMessage, LedgerInfo};
use message_schema::ingress::Parameter;
use uuid::Uuid;

use super::disposition::Commit;
use super::requests::{ActionRequest, action_egress, create_egress};
use crate::contract_index::IndexedContract;

/// What a committed request's egress is built from, besides its transaction.
pub(in crate::processor) enum CommittedEgress {
    Create {
        linear_id: Uuid,
        linear_id_field: String,
        party: String,
    },
    Action {
        function_name: String,
        parameters: Vec<Parameter>,
        linear_id_field: String,
        prior: IndexedContract,
        party: String,
    },
}

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

/// What mapping and sequencing decided.
pub(in crate::processor) enum Decision {
    /// The outcome, without a ledger effect to wait for (a Failure or a read).
    Egress(Vec<EgressMessage>),
    /// A sequenced command.
    Committing(Box<Commit>),
}
