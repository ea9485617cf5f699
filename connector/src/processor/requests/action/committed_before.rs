//! Part of the action room: answering an action whose lineage is gone from what the ledger remembers of its command.
//!
//! A lineage disappears from the index when its contract is archived. If the archiving command was this very
//! request's, and the gateway stopped after the commit but before the answer was recorded, the redelivered request
//! would otherwise find "no active contract" (4040) although its effect happened. So before that Failure the
//! processor asks the ledger whether the request's command id already committed and, if it did, rebuilds the
//! original egress from that transaction and the contract it consumed.
//!
//! The question is cheap on the embedded ledger (its command index) and costly on a Daml participant (a scan of the
//! acting party's completions), so there it is asked only for a redelivered message, which is what a crash leaves
//! behind; a fresh message naming a missing lineage gets its 4040 without a ledger round trip, so senders cannot
//! turn unknown linear ids into scans.

use ledger_port::{CommittedCommand, ErrorClass, Event, LedgerError};
use message_schema::egress::{EgressMessage, UpdateMessageName};
use message_schema::ingress::CreateContractActionRequest;

use super::{ActionRequest, action_egress};
use crate::contract_index::IndexedContract;
use crate::processor::{Processor, Stop, command_id_for, unavailable_failure};

impl Processor {
    /// Whether a missing lineage is worth asking the ledger about for this delivery.
    pub(in crate::processor) fn may_ask_ledger_for_commit(&self, redelivered: bool) -> bool {
        redelivered || self.ledger.ledger_type() == "embedded"
    }

    /// The original egress of `request` when its command already committed on the lineage it names; `None` when it
    /// did not (or the ledger no longer remembers it), and the caller answers 4040 as before.
    pub(super) async fn committed_before(
        &self,
        request: &CreateContractActionRequest,
        party: &str,
    ) -> Result<Option<Vec<EgressMessage>>, Stop> {
        let command_id = command_id_for(&request.request_id);
        let filter = self.update_filter();
        let acting = [party.to_owned()];
        let asked = self
            .with_retries("committed_command", &command_id, || {
                self.ledger.committed_command(&command_id, &acting, &filter)
            })
            .await;
        let found = match asked {
            Ok(found) => found,
            Err((error, _)) if error.class == ErrorClass::Configuration => {
                return Err(Stop::Halted(format!(
                    "could not ask the ledger whether command {command_id} already committed: {}",
                    error.message
                )));
            }
            // Not knowing must never become a 4040 recorded for a request that may have committed (a pruned
            // participant cannot say, an outage may not end soon): answer 5030, which is not recorded, and
            // dead-letter the original so it can be re-sent once the ledger can answer.
            Err((error, attempts)) => {
                let unknown = LedgerError::transient(format!(
                    "could not determine whether command {command_id} already committed: {}",
                    error.message
                ));
                let details = unavailable_failure(&unknown, attempts);
                return Err(Stop::Exhausted(
                    details.message.clone(),
                    vec![self.request_failure(
                        &request.request_id,
                        UpdateMessageName::CreateContractActionUpdate,
                        Some(&request.contract_ledger_identifier),
                        &details,
                    )],
                ));
            }
        };
        let Some(committed) = found else {
            return Ok(None);
        };
        let Some(prior) = self.consumed_lineage(&committed, request) else {
            tracing::warn!(%command_id, linear_id = %request.contract_ledger_identifier, "the request's command id committed, but exercised no contract of a mapped workflow (its requestId was used before for another request); answering from the index");
            return Ok(None);
        };
        tracing::info!(%command_id, linear_id = %request.contract_ledger_identifier, "the request's command had already committed; answering with its original egress");
        let action = ActionRequest {
            request_id: &request.request_id,
            function_name: &request.workflow_function_name,
            parameters: &request.parameters,
            acting_party: party,
        };
        let (linear_id_field, prior) = prior;
        let messages = action_egress(
            &self.settings.info,
            &action,
            &linear_id_field,
            &prior.contract,
            &committed.transaction,
        );
        Ok(Some(if prior.payload_known {
            messages
        } else {
            // The contract's last state is no longer on the ledger: the answer says what happened, without it.
            messages
                .into_iter()
                .filter(|m| !matches!(m, EgressMessage::Contract(_)))
                .collect()
        }))
    }

    /// The contract the committed transaction exercised, as the index knew it, with its workflow's linear id field.
    fn consumed_lineage(
        &self,
        committed: &CommittedCommand,
        request: &CreateContractActionRequest,
    ) -> Option<(String, RecoveredPrior)> {
        let exercised = committed.transaction.events.iter().find_map(|e| match e {
            Event::Exercised(x) => Some(x),
            _ => None,
        })?;
        let workflow = self.mapping.workflow_for_template(&exercised.template_id)?;
        // The command id is the request's own (derived from its requestId), so its transaction is this request's
        // effect, as a recorded outcome would be: the lineage it names in the egress is the one it acted on.
        let prior = match committed.consumed_contract(&exercised.contract_id) {
            Some(created) => RecoveredPrior {
                contract: IndexedContract::of_created(
                    created,
                    &self.mapping,
                    self.stakeholder_rule,
                )?,
                payload_known: true,
            },
            None => RecoveredPrior {
                contract: IndexedContract::without_payload(
                    request.contract_ledger_identifier,
                    &exercised.contract_id,
                    &exercised.template_id,
                ),
                payload_known: false,
            },
        };
        Some((workflow.linear_id_field.clone(), prior))
    }
}

/// The exercised contract rebuilt for the egress, and whether its payload is the real one.
struct RecoveredPrior {
    contract: IndexedContract,
    payload_known: bool,
}
