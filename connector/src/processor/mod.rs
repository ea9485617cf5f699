//! The processor: one ingress message in, its egress out — parse, idempotency check, map, submit (retrying
//! transient faults in place), build the egress, record the outcome.
//!
//! It is transport-free: `connector process` feeds it JSON lines, the AMQP gateway feeds it deliveries. The
//! `Disposition` tells the caller what to do with the original (ack, dead-letter, or stop consuming).
//!
//! Processing has two phases so that a ledger with group commit can sync many requests at once.
//! [`Processor::begin`] (parse, outcome lookup, mapping, sequencing the ledger command, updating the contract index)
//! must run in queue order, one request at a time, where order matters; [`Processor::finish`] (waiting for the
//! transaction to be durable, building and recording the egress) may overlap with the next requests' `begin`.
//! [`Processor::process`] runs both back to back.

mod committed_before;
mod failure;
mod in_flight;
mod poisoned;
mod recently_consumed;
mod request_ids;
mod retry;
mod transaction_egress;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use indexmap::IndexMap;

use ledger_port::{
    Command, ErrorClass, Ledger, LedgerError, PendingCommit, Submission, Transaction, UpdateFilter,
};
use message_schema::egress::{EgressMessage, FailureDetails, LedgerInfo, UpdateMessageName};
use message_schema::error_code::ErrorCode;
use message_schema::ingress::{
    CreateContractActionRequest, CreateContractRequest, IngressRequest, Parameter,
    ReadContractRequest,
};
use message_schema::limits::{Limits, cut};
use message_schema::parse::{parse_ingress_with, quoted};
use message_schema::properties::flatten;
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

pub use failure::{internal_failure, ledger_failure, mapping_failure, unavailable_failure};
pub use poisoned::panic_message;
pub use recently_consumed::RecentlyConsumed;
pub use request_ids::{COMMAND_ID_PREFIX, command_id_for, linear_id_for};
pub use retry::backoff;
pub use transaction_egress::{ActionRequest, action_egress, create_egress};

use crate::config::RetryConfig;
use crate::contract_index::{ContractIndex, IndexedContract};
use crate::contract_parties::StakeholderRule;
use crate::encoded_egress::EncodedEgress;
use crate::mapping::{MappingError, WorkflowMapping};
use crate::metrics_names;
use crate::outcome_store::OutcomeStore;
use crate::request_faults::{RequestFaultKind, RequestFaultPlan};
use in_flight::{InFlight, InFlightGuard};

/// What the caller must do with the original message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Processed; its outcome (success or Failure) is recorded. Publish the egress, then ack.
    Completed,
    /// Already processed before: the recorded egress is returned. Publish it again (same message ids), then ack.
    Replayed,
    /// Not a valid request: publish its Failure, dead-letter the original, ack.
    Malformed { code: u16, reason: String },
    /// The ledger stayed unavailable: publish Failure 5030, dead-letter the original, ack. Not recorded, so the
    /// original can be re-sent unchanged once the ledger is back.
    Exhausted { reason: String },
    /// The gateway cannot work (authentication fault, outcome store failure): publish nothing, do not ack, stop.
    Halted { reason: String },
    /// Processing it failed inside the gateway (a panic), or it kept ending the session: publish Failure 5000,
    /// dead-letter the original with code 5000, ack. Not recorded, so it can be re-sent once the fault is fixed.
    Poisoned { reason: String },
    /// An injected test fault: publish nothing, do not ack, end the broker session as a lost connection would.
    Abandoned { reason: String },
    /// The gateway's own storage failed (its state store, or the journal of its in-process ledger — a full disk):
    /// nothing more can be made durable. Publish nothing, do not ack; the gateway stops and exits.
    StorageFailed { reason: String },
}

/// One processed message.
#[derive(Debug, Clone)]
pub struct Processed {
    pub request_id: Option<String>,
    /// The ingress messageName, or `Malformed` when it could not be read.
    pub message_name: &'static str,
    pub egress: Vec<EncodedEgress>,
    pub disposition: Disposition,
}

/// A request after [`Processor::begin`]: either its outcome is already known, or its ledger command is sequenced and
/// [`Processor::finish`] completes it once the transaction is durable.
#[derive(Debug)]
pub struct Staged {
    request_id: Option<String>,
    message_name: &'static str,
    step: Step,
}

enum Step {
    /// Known in phase 1: a replay, a Failure (recorded already), a read, a malformed message, exhaustion, a halt.
    Done(Vec<EncodedEgress>, Disposition),
    /// Sequenced; the outcome is built and recorded once the transaction is durable. The guard keeps a second copy
    /// of the request waiting until then.
    Committing(Box<Commit>, InFlightGuard),
}

/// A sequenced command and how to build its egress once it is committed.
struct Commit {
    pending: PendingCommit,
    egress: CommittedEgress,
    /// An injected test fault once the transaction is committed: panic, or abort the process.
    after_commit: Option<RequestFaultKind>,
}

impl Staged {
    /// The request's id, when one could be read.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Why processing must halt, when phase 1 already knows it must.
    pub fn halted(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::Halted { reason }) => Some(reason),
            _ => None,
        }
    }

    /// Why the gateway's storage failed, when phase 1 already knows it did.
    pub fn storage_failed(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::StorageFailed { reason }) => Some(reason),
            _ => None,
        }
    }

    /// Why the broker session must end, when phase 1 already knows it must (an injected fault).
    pub fn abandoned(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::Abandoned { reason }) => Some(reason),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Done(egress, disposition) => f
                .debug_struct("Done")
                .field("egress", &egress.len())
                .field("disposition", disposition)
                .finish(),
            Step::Committing(commit, _) => f
                .debug_struct("Committing")
                .field("pending", &commit.pending)
                .finish(),
        }
    }
}

/// What a committed request's egress is built from, besides its transaction.
enum CommittedEgress {
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
    fn build(&self, info: &LedgerInfo, request_id: &str, tx: &Transaction) -> Vec<EgressMessage> {
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
enum Decision {
    /// The outcome, without a ledger effect to wait for (a Failure or a read).
    Egress(Vec<EgressMessage>),
    /// A sequenced command.
    Committing(Box<Commit>),
}

/// Who acts, and how to retry.
#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    /// The default acting party.
    pub party: String,
    /// When set, `userChainIdentifier` may name one of these parties to act as.
    pub allowed_request_parties: Option<Vec<String>>,
    /// When set, a message may act only as a party of its AMQP `user_id`'s list (broker user → parties).
    pub parties_by_amqp_user: Option<IndexMap<String, Vec<String>>>,
    pub retry: RetryConfig,
    pub info: LedgerInfo,
    /// What one message may hold.
    pub limits: Limits,
    /// Injected gateway faults (tests only).
    pub faults: Option<RequestFaultPlan>,
}

/// What the transport knows about a message beyond its body: who sent it, and whether it was delivered before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    /// The AMQP `user_id` property, which RabbitMQ checks against the publishing connection's user.
    pub amqp_user_id: Option<String>,
    /// The message may have been processed before (the broker redelivered it, or `connector process` reads a file
    /// that may repeat one): an action whose lineage is gone then asks the ledger whether it already committed.
    pub redelivered: bool,
}

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
    /// The offset of the active set the index was loaded from: a transaction at or before it is already in the
    /// index, and applying it again (a redelivered request's original, returned by deduplication) would bring back
    /// a lineage archived since.
    index_loaded_at: AtomicI64,
    /// The contracts recent actions exercised, for the observer ([`Processor::recently_consumed`]).
    recently_consumed: RecentlyConsumed,
}

enum Stop {
    Exhausted(String, Vec<EgressMessage>),
    Halted(String),
    StorageFailed(String),
}

enum SubmitFailure {
    Rejected(LedgerError),
    Exhausted(LedgerError, u32),
    Halted(LedgerError),
    StorageFailed(String),
}

impl Processor {
    /// A processor over a ledger; call [`Processor::load_index`] before the first message.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        mapping: Arc<WorkflowMapping>,
        outcomes: Arc<dyn OutcomeStore>,
        settings: ProcessorSettings,
    ) -> Self {
        // The embedded ledger records no observers; a Daml ledger (`connector sandbox` included) reports them.
        let stakeholder_rule = if ledger.ledger_type() == "embedded" {
            StakeholderRule::DeclaredAndPayload
        } else {
            StakeholderRule::Declared
        };
        Self {
            ledger,
            mapping,
            index: Arc::new(RwLock::new(ContractIndex::new(stakeholder_rule))),
            outcomes,
            settings,
            stakeholder_rule,
            failure_pending_flush: AtomicBool::new(false),
            in_flight: InFlight::default(),
            index_loaded_at: AtomicI64::new(0),
            recently_consumed: RecentlyConsumed::default(),
        }
    }

    /// Loads the linear id index from the ledger's active contracts on mapped templates; returns their offset.
    pub async fn load_index(&self) -> Result<i64, LedgerError> {
        let acs = self
            .ledger
            .active_contract_stream(&self.update_filter())
            .await?;
        let index = ContractIndex::from_active_contracts(
            acs.contracts,
            &self.mapping,
            self.stakeholder_rule,
        )
        .await?;
        *self.index_write() = index;
        self.index_loaded_at.store(acs.offset, Ordering::Release);
        Ok(acs.offset)
    }

    /// Which parties the index counts as a contract's stakeholders.
    pub fn stakeholder_rule(&self) -> StakeholderRule {
        self.stakeholder_rule
    }

    /// The contract with this id as it was when a recent action of this gateway exercised it (the observer names
    /// the gateway's own archives with it; see `recently_consumed.rs`).
    pub fn recently_consumed(&self, contract_id: &str) -> Option<IndexedContract> {
        self.recently_consumed.get(contract_id)
    }

    /// The filter matching every mapped template, as the acting party.
    pub fn update_filter(&self) -> UpdateFilter {
        let mut parties = vec![self.settings.party.clone()];
        if let Some(extra) = &self.settings.allowed_request_parties {
            parties.extend(extra.iter().cloned());
        }
        parties.dedup();
        UpdateFilter {
            templates: self.mapping.templates(),
            parties,
        }
    }

    /// The shared linear id index (the observer keeps it current with others' transactions).
    pub fn index(&self) -> Arc<RwLock<ContractIndex>> {
        Arc::clone(&self.index)
    }

    /// The workflow mapping.
    pub fn mapping(&self) -> &Arc<WorkflowMapping> {
        &self.mapping
    }

    /// The ledger info written into egress.
    pub fn info(&self) -> &LedgerInfo {
        &self.settings.info
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    fn index_read(&self) -> RwLockReadGuard<'_, ContractIndex> {
        // A poisoned lock only means another task panicked mid-update of a plain map; the data is still usable.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn index_write(&self) -> RwLockWriteGuard<'_, ContractIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Processes one raw ingress body from no particular sender: [`Processor::begin`] then [`Processor::finish`].
    pub async fn process(&self, body: &[u8]) -> Processed {
        self.process_from(body, &Sender::default()).await
    }

    /// Processes one raw ingress body from `sender`.
    pub async fn process_from(&self, body: &[u8], sender: &Sender) -> Processed {
        let staged = self.begin(body, sender).await;
        self.finish(staged).await
    }

    /// What one message may hold.
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }

    /// Phase 1, in queue order: parse, answer a repeated request from the outcome store, map, and sequence the
    /// ledger command (retrying transient faults in place), updating the contract index with its transaction so the
    /// next request is mapped on top of it. A Failure is recorded here, and made durable before the next command.
    pub async fn begin(&self, body: &[u8], sender: &Sender) -> Staged {
        let request = match parse_ingress_with(body, &self.settings.limits) {
            Ok(request) => request,
            Err(error) => {
                let message = EgressMessage::ingress_failure(&self.settings.info, &error);
                // A cut requestId is not the request's identity: two could share their first bytes.
                let origin = match &error.request_id {
                    Some(id) if !error.request_id_cut => id.clone(),
                    _ => body_digest(body),
                };
                return Staged {
                    request_id: error.request_id.clone(),
                    message_name: "Malformed",
                    step: Step::Done(
                        vec![EncodedEgress::encode(&message, &origin, 0)],
                        Disposition::Malformed {
                            code: error.code.code(),
                            reason: error.message.clone(),
                        },
                    ),
                };
            }
        };
        let request_id = request.request_id().to_owned();
        let message_name = match &request {
            IngressRequest::Create(_) => "CreateContractRequest",
            IngressRequest::Action(_) => "CreateContractActionRequest",
            IngressRequest::Read(_) => "ReadContractRequest",
        };
        let in_flight = self.in_flight.enter(&request_id).await;
        let fault = self.injected_fault(&request);
        match fault {
            Some(RequestFaultKind::Panic) => {
                panic!("injected fault: panic while mapping request {request_id:?}")
            }
            Some(RequestFaultKind::EndSession) => {
                return Staged {
                    request_id: Some(request_id),
                    message_name,
                    step: Step::Done(
                        vec![],
                        Disposition::Abandoned {
                            reason: "injected fault: the session ends on this request".to_owned(),
                        },
                    ),
                };
            }
            _ => {}
        }
        let step = match self.outcomes.get(&request_id) {
            Ok(Some(egress)) => Step::Done(egress, Disposition::Replayed),
            Ok(None) => {
                // Who acts is settled before anything is looked up, so a refused request learns nothing about
                // workflows, functions or lineages.
                let decision = match self.acting_party(request.user_chain_identifier(), sender) {
                    Err(refusal) => Ok(Decision::Egress(vec![self.refused(&request, &refusal)])),
                    Ok(party) => match &request {
                        IngressRequest::Create(r) => self.create(r, party).await,
                        IngressRequest::Action(r) => {
                            self.action(
                                r,
                                party,
                                self.may_ask_ledger_for_commit(sender.redelivered),
                            )
                            .await
                        }
                        IngressRequest::Read(r) => Ok(Decision::Egress(self.read(r, &party))),
                    },
                };
                let decision = match (decision, fault) {
                    (
                        Ok(Decision::Committing(mut commit)),
                        Some(
                            kind @ (RequestFaultKind::PanicAfterCommit
                            | RequestFaultKind::AbortAfterCommit),
                        ),
                    ) => {
                        commit.after_commit = Some(kind);
                        Ok(Decision::Committing(commit))
                    }
                    (decision, _) => decision,
                };
                match decision {
                    Ok(Decision::Egress(messages)) => {
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
            Err(e) => Step::Done(
                vec![],
                Disposition::StorageFailed {
                    reason: e.to_string(),
                },
            ),
        };
        Staged {
            request_id: Some(request_id),
            message_name,
            step,
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
                    Ok(_) if after_commit == Some(RequestFaultKind::PanicAfterCommit) => {
                        panic!("injected fault: panic after request {id:?} was committed")
                    }
                    Ok(_) if after_commit == Some(RequestFaultKind::AbortAfterCommit) => {
                        tracing::error!(request_id = ?id, "injected fault: aborting the process after the request was committed");
                        std::process::abort()
                    }
                    Ok(tx) => self.record(id, &egress.build(&self.settings.info, id, &tx)),
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
        }
    }

    /// Records an outcome (a Failure is flagged to be made durable before the next ledger command).
    fn record(
        &self,
        request_id: &str,
        messages: &[EgressMessage],
    ) -> (Vec<EncodedEgress>, Disposition) {
        let failed = messages.iter().any(is_failure);
        let egress = EncodedEgress::encode_all(messages, request_id);
        match self.outcomes.put(request_id, &egress) {
            Ok(()) => {
                if failed {
                    self.failure_pending_flush.store(true, Ordering::Release);
                }
                (egress, Disposition::Completed)
            }
            Err(e) => (
                vec![],
                Disposition::StorageFailed {
                    reason: e.to_string(),
                },
            ),
        }
    }

    /// Whether a ledger error says the in-process embedded ledger's journal failed (a full disk, an I/O error): the
    /// gateway's own storage, which a restart with space recovers. A remote participant's failures are not ours.
    fn is_own_storage_failure(&self, error: &LedgerError) -> bool {
        self.ledger.ledger_type() == "embedded"
            && error.ledger_error.as_deref() == Some(JOURNAL_FAILED)
    }

    /// The injected test fault that hits a request, if any (an action is matched on its mapped choice).
    fn injected_fault(&self, request: &IngressRequest) -> Option<RequestFaultKind> {
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

    /// The party a request acts as: its `userChainIdentifier` when the allow-list is set and names it (else 4030),
    /// otherwise the gateway's own party; then, when parties are bound to broker users, one of its sender's parties.
    fn acting_party(
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
    fn refused(&self, request: &IngressRequest, error: &MappingError) -> EgressMessage {
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

    /// Whether a request acting as `party` may see `contract`: the gateway's own party sees everything it indexes,
    /// any other party only contracts it is a stakeholder of.
    fn may_read(&self, party: &str, contract: &IndexedContract) -> bool {
        party == self.settings.party || contract.parties.is_stakeholder(party)
    }

    fn request_failure(
        &self,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: Option<&Uuid>,
        details: &FailureDetails,
    ) -> EgressMessage {
        EgressMessage::request_failure(&self.settings.info, request_id, name, linear_id, details)
    }

    async fn create(
        &self,
        request: &CreateContractRequest,
        party: String,
    ) -> Result<Decision, Stop> {
        let name = UpdateMessageName::CreateContractUpdate;
        let fail = |e: MappingError| {
            Ok(Decision::Egress(vec![self.request_failure(
                &request.request_id,
                name,
                None,
                &mapping_failure(&e),
            )]))
        };
        let Some(workflow) = self.mapping.workflow(&request.workflow_name) else {
            return fail(MappingError::not_found(
                "workflowName",
                format!(
                    "workflowName: unknown workflow {} (expected one of: {})",
                    quoted(&request.workflow_name),
                    self.mapping.workflow_names().join(", ")
                ),
            ));
        };
        let linear_id = linear_id_for(&request.request_id);
        // The same party repeating its create goes on: the ledger's command deduplication answers it.
        if self
            .index_read()
            .get(&linear_id)
            .is_some_and(|current| !current.parties.is_signatory(&party))
        {
            return fail(MappingError {
                code: ErrorCode::Conflict,
                field: Some("requestId".to_owned()),
                message: format!(
                    "requestId: the linear id it derives ({linear_id}) is already the active lineage of another \
                     party; use another requestId"
                ),
            });
        }
        let mut arguments = match workflow.create_arguments(&request.parameters, &linear_id, &party)
        {
            Ok(a) => a,
            Err(e) => return fail(e),
        };
        self.resolve_contract_ids(&mut arguments);
        let submission = Submission {
            command_id: command_id_for(&request.request_id),
            act_as: vec![party.clone()],
            command: Command::Create {
                template_id: workflow.template.clone(),
                arguments,
            },
        };
        self.sequence_request(
            submission,
            &request.request_id,
            name,
            &linear_id,
            false,
            CommittedEgress::Create {
                linear_id,
                linear_id_field: workflow.linear_id_field.clone(),
                party,
            },
        )
        .await
    }

    /// An exercise on the lineage's current contract. A lineage missing from the index may have been archived by
    /// this very request before a crash lost its answer: with `ask_ledger`, the ledger is asked first
    /// ([`Processor::committed_before`]).
    async fn action(
        &self,
        request: &CreateContractActionRequest,
        party: String,
        ask_ledger: bool,
    ) -> Result<Decision, Stop> {
        let name = UpdateMessageName::CreateContractActionUpdate;
        let linear_id = request.contract_ledger_identifier;
        let fail = |e: MappingError| {
            Ok(Decision::Egress(vec![self.request_failure(
                &request.request_id,
                name,
                Some(&linear_id),
                &mapping_failure(&e),
            )]))
        };
        let Some(prior) = self.index_read().get(&linear_id).cloned() else {
            if ask_ledger && let Some(messages) = self.committed_before(request, &party).await? {
                return Ok(Decision::Egress(messages));
            }
            return fail(no_active_contract(&linear_id));
        };
        let Some(workflow) = self.mapping.workflow_for_template(&prior.template_id) else {
            return fail(no_active_contract(&linear_id));
        };
        let Some(function) = workflow.functions.get(&request.workflow_function_name) else {
            let names: Vec<&str> = workflow.functions.keys().map(String::as_str).collect();
            return fail(MappingError::not_found(
                "workflowFunctionName",
                format!(
                    "workflowFunctionName: unknown function {} for workflow {:?} (expected one of: {})",
                    quoted(&request.workflow_function_name),
                    workflow.name,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        let mut argument = match function.choice_argument(&request.parameters) {
            Ok(a) => a,
            Err(e) => return fail(e),
        };
        self.resolve_contract_ids(&mut argument);
        let submission = Submission {
            command_id: command_id_for(&request.request_id),
            act_as: vec![party.clone()],
            command: Command::Exercise {
                template_id: (*prior.template_id).clone(),
                contract_id: prior.contract_id.to_string(),
                choice: function.choice.clone(),
                argument: LedgerValue::Record(argument),
            },
        };
        self.sequence_request(
            submission,
            &request.request_id,
            name,
            &linear_id,
            true,
            CommittedEgress::Action {
                function_name: request.workflow_function_name.clone(),
                parameters: request.parameters.clone(),
                linear_id_field: workflow.linear_id_field.clone(),
                prior,
                party,
            },
        )
        .await
    }

    /// The common tail of a create or an action: sequence the command in queue order and index its transaction, or
    /// turn the ledger's refusal into the request's Failure (after its Submitted).
    async fn sequence_request(
        &self,
        submission: Submission,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: &Uuid,
        on_exercise: bool,
        egress: CommittedEgress,
    ) -> Result<Decision, Stop> {
        let submitted = EgressMessage::update(
            &self.settings.info,
            name,
            request_id,
            linear_id,
            message_schema::egress::UpdateStatus::Submitted,
        );
        match self.sequence(submission).await {
            Ok(pending) => {
                if let CommittedEgress::Action { prior, .. } = &egress {
                    self.recently_consumed.remember(prior);
                }
                if pending.transaction().offset > self.index_loaded_at.load(Ordering::Acquire) {
                    self.index_write()
                        .apply(pending.transaction(), &self.mapping);
                }
                Ok(Decision::Committing(Box::new(Commit {
                    pending,
                    egress,
                    after_commit: None,
                })))
            }
            Err(failure) => self
                .submit_failed(failure, request_id, name, linear_id, submitted, on_exercise)
                .map(Decision::Egress),
        }
    }

    /// A read as `party`. A contract the party may not see is answered exactly as a missing one, so a read never
    /// tells whether a lineage exists.
    fn read(&self, request: &ReadContractRequest, party: &str) -> Vec<EgressMessage> {
        let linear_id = request.contract_ledger_identifier;
        let found = self
            .index_read()
            .get(&linear_id)
            .filter(|contract| self.may_read(party, contract))
            .cloned();
        let workflow = found
            .as_ref()
            .and_then(|c| self.mapping.workflow_for_template(&c.template_id));
        match (found.map(|c| c.payload.decode()), workflow) {
            (Some(Ok(payload)), Some(workflow)) => vec![EgressMessage::read_reply(
                &self.settings.info,
                &request.request_id,
                &linear_id,
                flatten(&payload, &workflow.linear_id_field),
            )],
            (Some(Err(e)), Some(_)) => vec![self.request_failure(
                &request.request_id,
                UpdateMessageName::ReadContractUpdate,
                Some(&linear_id),
                &internal_failure(&e),
            )],
            _ => vec![self.request_failure(
                &request.request_id,
                UpdateMessageName::ReadContractUpdate,
                Some(&linear_id),
                &mapping_failure(&no_active_contract(&linear_id)),
            )],
        }
    }

    fn submit_failed(
        &self,
        failure: SubmitFailure,
        request_id: &str,
        name: UpdateMessageName,
        linear_id: &Uuid,
        submitted: EgressMessage,
        on_exercise: bool,
    ) -> Result<Vec<EgressMessage>, Stop> {
        match failure {
            SubmitFailure::Rejected(error) => Ok(vec![
                submitted,
                self.request_failure(
                    request_id,
                    name,
                    Some(linear_id),
                    &ledger_failure(&error, on_exercise),
                ),
            ]),
            SubmitFailure::Exhausted(error, attempts) => {
                let details = unavailable_failure(&error, attempts);
                Err(Stop::Exhausted(
                    details.message.clone(),
                    vec![self.request_failure(request_id, name, Some(linear_id), &details)],
                ))
            }
            SubmitFailure::Halted(error) if self.is_own_storage_failure(&error) => {
                Err(Stop::StorageFailed(error.message))
            }
            SubmitFailure::Halted(error) => Err(Stop::Halted(error.message)),
            SubmitFailure::StorageFailed(reason) => Err(Stop::StorageFailed(reason)),
        }
    }

    /// Sequences a command, retrying transient faults in place; first makes a recorded Failure durable.
    async fn sequence(&self, submission: Submission) -> Result<PendingCommit, SubmitFailure> {
        if self.failure_pending_flush.swap(false, Ordering::AcqRel)
            && let Err(e) = self.outcomes.flush()
        {
            // Still not durable: the next command must try again rather than run ahead of it.
            self.failure_pending_flush.store(true, Ordering::Release);
            return Err(SubmitFailure::StorageFailed(e.to_string()));
        }
        let max_attempts = self.settings.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.ledger.sequence(submission.clone()).await {
                Ok(pending) => return Ok(pending),
                Err(error) => match error.class {
                    ErrorClass::Permanent => return Err(SubmitFailure::Rejected(error)),
                    ErrorClass::Configuration => return Err(SubmitFailure::Halted(error)),
                    ErrorClass::Transient if attempt >= max_attempts => {
                        return Err(SubmitFailure::Exhausted(error, attempt));
                    }
                    ErrorClass::Transient => {
                        metrics::counter!(metrics_names::LEDGER_RETRIES).increment(1);
                        tracing::warn!(command_id = %submission.command_id, attempt, error = %error.message, "transient ledger fault; retrying");
                        tokio::time::sleep(backoff(&self.settings.retry, attempt)).await;
                        attempt += 1;
                    }
                },
            }
        }
    }

    /// Contract-id parameters may name a lineage by its linear id; they are resolved to its current contract id.
    fn resolve_contract_ids(&self, record: &mut Record) {
        let index = self.index_read();
        for field in &mut record.fields {
            resolve_value(&mut field.value, &index);
        }
    }
}

fn resolve_value(value: &mut LedgerValue, index: &ContractIndex) {
    match value {
        LedgerValue::ContractId(id) => {
            if let Some(contract) = Uuid::parse_str(id).ok().and_then(|l| index.get(&l)) {
                *id = contract.contract_id.to_string();
            }
        }
        LedgerValue::Optional(Some(inner)) => resolve_value(inner, index),
        LedgerValue::List(items) => items.iter_mut().for_each(|v| resolve_value(v, index)),
        LedgerValue::Record(r) => r
            .fields
            .iter_mut()
            .for_each(|f| resolve_value(&mut f.value, index)),
        _ => {}
    }
}

/// The embedded ledger's error id once its journal failed (it stops until restarted).
const JOURNAL_FAILED: &str = "JOURNAL_FAILED";

/// How much of a refused party id or broker user a Failure repeats: a whole Daml party id (name and fingerprint)
/// fits, and so does any AMQP user_id (a short string).
const PARTY_SHOWN_BYTES: usize = 255;

/// A sender's party or user name as a Failure quotes it: cut, and escaped.
fn shown(value: &str) -> String {
    format!("{:?}", cut(value, PARTY_SHOWN_BYTES))
}

fn forbidden(message: String) -> MappingError {
    MappingError {
        code: ErrorCode::Forbidden,
        field: Some("userChainIdentifier".to_owned()),
        message,
    }
}

/// Whether an egress message is a Failure (decided on the typed message, before it is encoded).
fn is_failure(message: &EgressMessage) -> bool {
    matches!(
        message,
        EgressMessage::RequestFailure(_)
            | EgressMessage::CorrelatableFailure(_)
            | EgressMessage::GenericFailure(_)
    )
}

fn no_active_contract(linear_id: &Uuid) -> MappingError {
    MappingError::not_found(
        "contractLedgerIdentifier",
        format!("contractLedgerIdentifier: no active contract with linear id {linear_id}"),
    )
}

/// A stable origin for the message id of a Failure that has no requestId.
fn body_digest(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    message_schema::ids::lower_hex(&digest)
}

#[cfg(test)]
mod tests;
