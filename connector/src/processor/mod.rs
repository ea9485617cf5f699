//! The processor: one ingress message in, its egress out. It is transport-free: `connector process` feeds it JSON
//! lines, the AMQP gateway feeds it deliveries, and the [`Disposition`] tells the caller what to do with the original.
//!
//! A request walks a corridor of rooms, never back into one it left:
//! 1. here, [`Processor::parse`] then [`Processor::begin_parsed`] (a malformed message goes to `outcome.rs`): wait out
//!    a copy in flight (`in_flight.rs`), injected test faults (`injected_faults.rs`), replay a recorded outcome;
//! 2. `requests/mod.rs`, the door: who it acts as (`acting_party.rs`), then the room of its kind —
//!    `requests/create.rs`, `requests/action.rs` (asking the ledger first when its lineage may have been archived by
//!    this very request: `requests/action/committed_before.rs`), `requests/read.rs` — each mapping the request and
//!    building its submission and the recipe for its egress;
//! 3. `submit.rs`: sequenced on the ledger in queue order, transient faults retried with backoff, the index updated;
//! 4. here, [`Processor::finish`]: wait until the transaction is durable, have the request's room build its egress
//!    (`requests/mod.rs` sends it to the room of its kind) and record it (`outcome.rs`).
//!
//! `begin` must run in queue order where order matters; `finish` may overlap with the next requests' `begin`, so a
//! ledger with group commit can sync many requests at once. Callers with no overlap use `one_call.rs`. The types
//! between the rooms are in `disposition.rs`, what a processor is told in `settings.rs`, and what it hands out in
//! `parts.rs`. The rooms' mapping, without the submission, is a request's [`Plan`] (`plan.rs`): what
//! `connector explain` shows.

mod acting_party;
mod disposition;
mod failure;
mod in_flight;
mod injected_faults;
mod one_call;
mod outcome;
mod parts;
mod plan;
mod poisoned;
mod recently_consumed;
mod request_ids;
mod requests;
mod settings;
mod submit;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use ledger_port::Ledger;
use message_schema::ingress::IngressRequest;
use message_schema::parse::{IngressError, parse_ingress_with};

pub use disposition::{Disposition, Processed, Staged};
pub use failure::{internal_failure, ledger_failure, mapping_failure, unavailable_failure};
pub use plan::{Mapped, Plan};
pub use poisoned::panic_message;
pub use recently_consumed::RecentlyConsumed;
pub use request_ids::{COMMAND_ID_PREFIX, body_digest, command_id_for};
pub use settings::{ProcessorSettings, Sender};

use crate::contract_index::ContractIndex;
use crate::contract_parties::StakeholderRule;
use crate::encoded_egress::EncodedEgress;
use crate::mapping::WorkflowMapping;
use crate::outcome_store::OutcomeStore;
use disposition::{Commit, CommittedEgress, Decision, Step};
use in_flight::InFlight;
use injected_faults::{after_commit_fault, before_processing};
use submit::Stop;

/// Turns requests into ledger commands and egress.
pub struct Processor {
    ledger: Arc<dyn Ledger>,
    mapping: Arc<WorkflowMapping>,
    index: Arc<RwLock<ContractIndex>>,
    outcomes: Arc<dyn OutcomeStore>,
    settings: ProcessorSettings,
    /// Which parties the index counts as a contract's stakeholders (who may read it).
    stakeholder_rule: StakeholderRule,
    /// A Failure outcome was recorded but not yet made durable. Failures depend on ledger state, so one must be
    /// durable before a later command can change that state; otherwise a crash could replay it as a success.
    failure_pending_flush: AtomicBool,
    in_flight: InFlight,
    /// The contracts recent actions exercised, for the observer ([`Processor::recently_consumed`]).
    recently_consumed: RecentlyConsumed,
}

impl Processor {
    /// Parses one raw ingress body within the processor's limits (an oversized body is refused unread).
    pub fn parse(&self, body: &[u8]) -> Result<IngressRequest, IngressError> {
        parse_ingress_with(body, &self.settings.limits)
    }

    /// Phase 1, in queue order: parse, answer a repeated request from the outcome store, map, and sequence the
    /// ledger command (retrying transient faults in place), updating the contract index with its transaction so the
    /// next request is mapped on top of it. A Failure is recorded here, and made durable before the next command.
    pub async fn begin(&self, body: &[u8], sender: &Sender) -> Staged {
        self.begin_parsed(body, self.parse(body), sender).await
    }

    /// [`Processor::begin`] for a body already parsed with [`Processor::parse`] (the per-contract gateway parses
    /// once, for the ordering key, and hands the result on).
    pub async fn begin_parsed(
        &self,
        body: &[u8],
        parsed: Result<IngressRequest, IngressError>,
        sender: &Sender,
    ) -> Staged {
        let request = match parsed {
            Ok(request) => request,
            Err(error) => return self.malformed(body, &error),
        };
        let request_id = request.request_id().to_owned();
        let message_name = request.message_name();
        let in_flight = self.in_flight.enter(&request_id).await;
        let fault = self.injected_fault(&request);
        if let Some(disposition) = before_processing(fault, &request_id) {
            return Staged {
                request_id: Some(request_id),
                message_name,
                step: Step::Done(vec![], disposition),
                failure_code: None,
            };
        }
        let mut failure_code = None;
        let step = match self.outcomes.get(&request_id) {
            Ok(Some(egress)) => Step::Done(egress, Disposition::Replayed),
            Ok(None) => {
                let decision = self.decide(&request, sender, fault).await;
                match decision {
                    Ok(Decision::Egress(messages)) => {
                        failure_code = outcome::failure_code(&messages);
                        let (egress, disposition) = self.record(&request_id, &messages);
                        Step::Done(egress, disposition)
                    }
                    Ok(Decision::Committing(commit)) => Step::Committing(commit, in_flight),
                    Err(Stop::Exhausted(reason, messages)) => Step::Done(
                        EncodedEgress::encode_all(&messages, &request_id),
                        Disposition::Exhausted { reason },
                    ),
                    Err(Stop::Halted(reason)) => Step::Done(vec![], Disposition::Halted { reason }),
                    Err(Stop::StorageFailed(reason)) => {
                        Step::Done(vec![], Disposition::StorageFailed { reason })
                    }
                }
            }
            Err(e) => Step::Done(vec![], Disposition::of_store_error(&e)),
        };
        Staged {
            request_id: Some(request_id),
            message_name,
            step,
            failure_code,
        }
    }

    /// Phase 2, may overlap with later requests' phase 1: waits until the request's transaction is durable, then
    /// builds and records its egress. A transaction the ledger could not make durable halts processing: nothing is
    /// recorded or published, and the delivery is redelivered later.
    pub async fn finish(&self, staged: Staged) -> Processed {
        let Staged {
            request_id,
            message_name,
            step,
            mut failure_code,
        } = staged;
        let (egress, disposition) = match step {
            Step::Done(egress, disposition) => (egress, disposition),
            Step::Committing(commit, _in_flight) => {
                let Commit {
                    pending,
                    egress,
                    after_commit,
                } = *commit;
                let id = request_id.as_deref().unwrap_or_default();
                match pending.committed().await {
                    Ok(tx) => {
                        after_commit_fault(after_commit, id);
                        let messages = egress.build(&self.settings.info, id, &tx);
                        failure_code = outcome::failure_code(&messages);
                        self.record(id, &messages)
                    }
                    Err(e) => {
                        let reason = format!(
                            "the ledger did not make the transaction durable: {}",
                            e.message
                        );
                        let disposition = if self.is_own_storage_failure(&e) {
                            Disposition::StorageFailed { reason }
                        } else {
                            Disposition::Halted { reason }
                        };
                        (vec![], disposition)
                    }
                }
            }
        };
        Processed {
            request_id,
            message_name,
            egress,
            disposition,
            failure_code,
        }
    }
}

#[cfg(test)]
mod tests;
