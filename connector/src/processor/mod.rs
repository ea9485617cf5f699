//! The processor: one ingress message in, its egress out — parse, idempotency check, map, submit (retrying
//! transient faults in place), build the egress, record the outcome.
//!
//! It is transport-free: `connector process` feeds it JSON lines, the AMQP gateway feeds it deliveries. The
//! `Disposition` tells the caller what to do with the original (ack, dead-letter, or stop consuming).

mod failure;
mod request_ids;
mod retry;
mod transaction_egress;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ledger_port::{
    Command, ErrorClass, Ledger, LedgerError, Submission, Transaction, UpdateFilter,
};
use message_schema::egress::{EgressMessage, FailureDetails, LedgerInfo, UpdateMessageName};
use message_schema::ingress::{
    CreateContractActionRequest, CreateContractRequest, IngressRequest, ReadContractRequest,
};
use message_schema::parse::parse_ingress;
use message_schema::properties::flatten;
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

pub use failure::{ledger_failure, mapping_failure, unavailable_failure};
pub use request_ids::{COMMAND_ID_PREFIX, command_id_for, linear_id_for};
pub use retry::backoff;
pub use transaction_egress::{ActionRequest, action_egress, create_egress};

use crate::config::RetryConfig;
use crate::contract_index::ContractIndex;
use crate::encoded_egress::EncodedEgress;
use crate::mapping::{MappingError, WorkflowMapping};
use crate::metrics_names;
use crate::outcome_store::OutcomeStore;

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

/// Who acts, and how to retry.
#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    /// The default acting party.
    pub party: String,
    /// When set, `userChainIdentifier` may name one of these parties to act as.
    pub allowed_request_parties: Option<Vec<String>>,
    pub retry: RetryConfig,
    pub info: LedgerInfo,
}

/// Turns requests into ledger commands and egress.
pub struct Processor {
    ledger: Arc<dyn Ledger>,
    mapping: Arc<WorkflowMapping>,
    index: Arc<RwLock<ContractIndex>>,
    outcomes: Arc<dyn OutcomeStore>,
    settings: ProcessorSettings,
    /// A Failure outcome was recorded but not yet made durable. Failures depend on ledger state, so one must be
    /// durable before a later command can change that state; otherwise a crash could replay it as a success.
    failure_pending_flush: AtomicBool,
}

enum Stop {
    Exhausted(String, Vec<EgressMessage>),
    Halted(String),
}

enum SubmitFailure {
    Rejected(LedgerError),
    Exhausted(LedgerError, u32),
    Halted(LedgerError),
}

impl Processor {
    /// A processor over a ledger; call [`Processor::load_index`] before the first message.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        mapping: Arc<WorkflowMapping>,
        outcomes: Arc<dyn OutcomeStore>,
        settings: ProcessorSettings,
    ) -> Self {
        Self {
            ledger,
            mapping,
            index: Arc::new(RwLock::new(ContractIndex::default())),
            outcomes,
            settings,
            failure_pending_flush: AtomicBool::new(false),
        }
    }

    /// Loads the linear id index from the ledger's active contracts on mapped templates; returns their offset.
    pub async fn load_index(&self) -> Result<i64, LedgerError> {
        let acs = self.ledger.active_contracts(&self.update_filter()).await?;
        *self.index_write() = ContractIndex::from_active_contracts(&acs, &self.mapping);
        Ok(acs.offset)
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

    /// Processes one raw ingress body.
    pub async fn process(&self, body: &[u8]) -> Processed {
        let request = match parse_ingress(body) {
            Ok(request) => request,
            Err(error) => {
                let message = EgressMessage::ingress_failure(&self.settings.info, &error);
                let origin = error
                    .request_id
                    .clone()
                    .unwrap_or_else(|| body_digest(body));
                return Processed {
                    request_id: error.request_id.clone(),
                    message_name: "Malformed",
                    egress: vec![EncodedEgress::encode(&message, &origin, 0)],
                    disposition: Disposition::Malformed {
                        code: error.code.code(),
                        reason: error.message.clone(),
                    },
                };
            }
        };
        let request_id = request.request_id().to_owned();
        let message_name = match &request {
            IngressRequest::Create(_) => "CreateContractRequest",
            IngressRequest::Action(_) => "CreateContractActionRequest",
            IngressRequest::Read(_) => "ReadContractRequest",
        };
        let processed = |egress, disposition| Processed {
            request_id: Some(request_id.clone()),
            message_name,
            egress,
            disposition,
        };
        match self.outcomes.get(&request_id) {
            Ok(Some(egress)) => return processed(egress, Disposition::Replayed),
            Ok(None) => {}
            Err(e) => {
                return processed(
                    vec![],
                    Disposition::Halted {
                        reason: e.to_string(),
                    },
                );
            }
        }
        let result = match &request {
            IngressRequest::Create(r) => self.create(r).await,
            IngressRequest::Action(r) => self.action(r).await,
            IngressRequest::Read(r) => Ok(self.read(r)),
        };
        match result {
            Ok(messages) => {
                let failed = messages.iter().any(is_failure);
                let egress = EncodedEgress::encode_all(&messages, &request_id);
                match self.outcomes.put(&request_id, &egress) {
                    Ok(()) => {
                        if failed {
                            self.failure_pending_flush.store(true, Ordering::Release);
                        }
                        processed(egress, Disposition::Completed)
                    }
                    Err(e) => processed(
                        vec![],
                        Disposition::Halted {
                            reason: e.to_string(),
                        },
                    ),
                }
            }
            Err(Stop::Exhausted(reason, messages)) => processed(
                EncodedEgress::encode_all(&messages, &request_id),
                Disposition::Exhausted { reason },
            ),
            Err(Stop::Halted(reason)) => processed(vec![], Disposition::Halted { reason }),
        }
    }

    fn acting_party(&self, request: &IngressRequest) -> Result<String, MappingError> {
        match (
            request.user_chain_identifier(),
            &self.settings.allowed_request_parties,
        ) {
            (Some(party), Some(allowed)) => {
                if allowed.iter().any(|p| p == party) {
                    Ok(party.to_owned())
                } else {
                    Err(MappingError {
                        code: message_schema::error_code::ErrorCode::Forbidden,
                        field: Some("userChainIdentifier".to_owned()),
                        message: format!(
                            "userChainIdentifier: party {party:?} may not act through this gateway (expected one of: {})",
                            allowed.join(", ")
                        ),
                    })
                }
            }
            // Without an allow-list the gateway acts as its own party, as Workbench clients expect.
            _ => Ok(self.settings.party.clone()),
        }
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

    async fn create(&self, request: &CreateContractRequest) -> Result<Vec<EgressMessage>, Stop> {
        let name = UpdateMessageName::CreateContractUpdate;
        let fail = |e: MappingError| {
            Ok(vec![self.request_failure(
                &request.request_id,
                name,
                None,
                &mapping_failure(&e),
            )])
        };
        let Some(workflow) = self.mapping.workflow(&request.workflow_name) else {
            return fail(MappingError::not_found(
                "workflowName",
                format!(
                    "workflowName: unknown workflow {:?} (expected one of: {})",
                    request.workflow_name,
                    self.mapping.workflow_names().join(", ")
                ),
            ));
        };
        let party = match self.acting_party(&IngressRequest::Create(request.clone())) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let linear_id = linear_id_for(&request.request_id);
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
        let submitted = EgressMessage::update(
            &self.settings.info,
            name,
            &request.request_id,
            &linear_id,
            message_schema::egress::UpdateStatus::Submitted,
        );
        match self.submit(submission).await {
            Ok(tx) => {
                self.index_write().apply(&tx, &self.mapping);
                Ok(create_egress(
                    &self.settings.info,
                    &request.request_id,
                    &linear_id,
                    workflow,
                    &tx,
                    &party,
                ))
            }
            Err(failure) => self.submit_failed(
                failure,
                &request.request_id,
                name,
                &linear_id,
                submitted,
                false,
            ),
        }
    }

    async fn action(
        &self,
        request: &CreateContractActionRequest,
    ) -> Result<Vec<EgressMessage>, Stop> {
        let name = UpdateMessageName::CreateContractActionUpdate;
        let linear_id = request.contract_ledger_identifier;
        let fail = |e: MappingError| {
            Ok(vec![self.request_failure(
                &request.request_id,
                name,
                Some(&linear_id),
                &mapping_failure(&e),
            )])
        };
        let Some(prior) = self.index_read().get(&linear_id).cloned() else {
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
                    "workflowFunctionName: unknown function {:?} for workflow {:?} (expected one of: {})",
                    request.workflow_function_name,
                    workflow.name,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        let party = match self.acting_party(&IngressRequest::Action(request.clone())) {
            Ok(p) => p,
            Err(e) => return fail(e),
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
                template_id: prior.template_id.clone(),
                contract_id: prior.contract_id.clone(),
                choice: function.choice.clone(),
                argument: LedgerValue::Record(argument),
            },
        };
        let submitted = EgressMessage::update(
            &self.settings.info,
            name,
            &request.request_id,
            &linear_id,
            message_schema::egress::UpdateStatus::Submitted,
        );
        match self.submit(submission).await {
            Ok(tx) => {
                self.index_write().apply(&tx, &self.mapping);
                let action = ActionRequest {
                    request_id: &request.request_id,
                    function_name: &request.workflow_function_name,
                    parameters: &request.parameters,
                    acting_party: &party,
                };
                Ok(action_egress(
                    &self.settings.info,
                    &action,
                    workflow,
                    &prior,
                    &tx,
                ))
            }
            Err(failure) => self.submit_failed(
                failure,
                &request.request_id,
                name,
                &linear_id,
                submitted,
                true,
            ),
        }
    }

    fn read(&self, request: &ReadContractRequest) -> Vec<EgressMessage> {
        let linear_id = request.contract_ledger_identifier;
        let found = self.index_read().get(&linear_id).cloned();
        let workflow = found
            .as_ref()
            .and_then(|c| self.mapping.workflow_for_template(&c.template_id));
        match (found, workflow) {
            (Some(contract), Some(workflow)) => vec![EgressMessage::read_reply(
                &self.settings.info,
                &request.request_id,
                &linear_id,
                flatten(&contract.payload, &workflow.linear_id_field),
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
            SubmitFailure::Halted(error) => Err(Stop::Halted(error.message)),
        }
    }

    async fn submit(&self, submission: Submission) -> Result<Transaction, SubmitFailure> {
        if self.failure_pending_flush.swap(false, Ordering::AcqRel)
            && let Err(e) = self.outcomes.flush()
        {
            return Err(SubmitFailure::Halted(LedgerError::configuration(
                ledger_port::RejectionReason::Internal,
                e.to_string(),
            )));
        }
        let max_attempts = self.settings.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.ledger.submit(submission.clone()).await {
                Ok(tx) => return Ok(tx),
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
                *id = contract.contract_id.clone();
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
