//! One message's explanation, as `--json` prints it and `human.rs` renders it, built from the processor's plan
//! ([`Processor::plan`]) and judged by the embedded ledger's own interpreter ([`interpret`]), whose rejection becomes
//! the Failure exactly as the processor turns it into one ([`ledger_failure`]).

use std::collections::HashMap;

use embedded_ledger::{ChoiceKind, FieldValue, TemplateCatalog, interpret};
use ledger_port::{Command, CreatedEvent};
use message_schema::error_code::ErrorCode;
use message_schema::ingress::{IngressRequest, Parameter};
use message_schema::properties::render;
use message_schema::value::{LedgerValue, Record};
use serde::Serialize;

use super::arguments::{Argument, arguments_of};
use crate::config::Config;
use crate::mapping::MappingError;
use crate::processor::{Mapped, Plan, Processor, Sender, ledger_failure, mapping_failure};

/// What the gateway would do with one message.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The message's line in the input, from 1.
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<ActingParty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `create`, `exercise` or `read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// The lineage: derived from the requestId for a create, named by an action or a read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_id: Option<String>,
    /// The contract an exercise names, as this explanation's ledger holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The create arguments or the choice argument, after conversion, in the order the command carries them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<Argument>,
    /// What the ledger checks before it commits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<Guard>,
    /// What the choice does to the contract when it commits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Who the request acts as, and why.
#[derive(Debug, Serialize)]
pub struct ActingParty {
    pub name: String,
    pub why: String,
}

/// One check the ledger makes: `ensure`, `controllers`, `when` or `assert`.
#[derive(Debug, Serialize)]
pub struct Guard {
    pub kind: &'static str,
    pub rule: String,
    /// Whether it holds on the contract as it is now (none: it cannot be evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<bool>,
}

/// What the gateway answers.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `commit`, `failure`, `answer` (a read) or `replay` (a repeated requestId).
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_error: Option<String>,
}

impl Outcome {
    fn failure(
        code: ErrorCode,
        field: Option<String>,
        message: String,
        ledger_error: Option<String>,
    ) -> Self {
        Self {
            result: "failure",
            error_code: Some(code.code()),
            error_kind: Some(code.kind()),
            error_field: field,
            message: Some(message),
            ledger_error,
        }
    }

    fn refused(error: &MappingError) -> Self {
        let details = mapping_failure(error);
        Self::failure(details.code, details.field, details.message, None)
    }

    fn plain(result: &'static str) -> Self {
        Self {
            result,
            ..Self::default()
        }
    }
}

/// What an explanation is made from.
pub struct Explainer<'a> {
    pub config: &'a Config,
    /// The embedded ledger's templates, as `process` gets them.
    pub catalog: &'a TemplateCatalog,
    pub processor: &'a Processor,
    /// The config names a Daml ledger: its Daml code, not the mapping's guards, decides there.
    pub daml_ledger: bool,
}

impl Explainer<'_> {
    /// Explains one raw message; `seen` holds the requestIds of the earlier lines (a repeat replays the first).
    pub fn explain(
        &self,
        body: &[u8],
        line: u64,
        sender: &Sender,
        seen: &mut HashMap<String, u64>,
    ) -> Explanation {
        let mut x = Explanation {
            line,
            ..Explanation::default()
        };
        let request = match self.processor.parse(body) {
            Ok(request) => request,
            Err(error) => {
                x.request_id = error.request_id.clone();
                x.outcome = Outcome::failure(error.code, error.field.clone(), error.message, None);
                x.notes.push(
                    "malformed: answered with a Failure and dead-lettered; nothing is looked up"
                        .to_owned(),
                );
                return x;
            }
        };
        let request_id = request.request_id().to_owned();
        x.request_id = Some(request_id.clone());
        x.message_name = Some(request.message_name());
        if let Some(first) = seen.get(&request_id) {
            x.outcome = Outcome::plain("replay");
            x.notes.push(format!(
                "requestId {request_id:?} was used on line {first}: the gateway answers with that line's recorded \
                 outcome again, without looking at this message"
            ));
            return x;
        }
        seen.insert(request_id, line);
        if self.daml_ledger {
            x.notes.push(
                "the config names a Daml ledger: explained on an embedded one, whose guards come from the mapping; \
                 a participant runs its Daml code instead"
                    .to_owned(),
            );
        }
        let (sent, linear_id): (&[Parameter], _) = match &request {
            IngressRequest::Create(r) => {
                x.workflow = Some(r.workflow_name.clone());
                (&r.parameters, None)
            }
            IngressRequest::Action(r) => {
                x.function = Some(r.workflow_function_name.clone());
                (&r.parameters, Some(r.contract_ledger_identifier))
            }
            IngressRequest::Read(r) => (&[], Some(r.contract_ledger_identifier)),
        };
        x.linear_id = linear_id.map(|id| id.to_string());
        match self.processor.plan(&request, sender) {
            Plan::Refused(error) => {
                x.outcome = Outcome::refused(&error);
                x.notes.push(
                    "refused for its acting party before anything is looked up (workflow, function, contract)"
                        .to_owned(),
                );
            }
            Plan::Unmapped { party, error } => {
                x.party = Some(self.acting_party(&request, sender, party));
                if error.field.as_deref() == Some("contractLedgerIdentifier") {
                    x.notes.push(
                        "offline, the only contracts known are those the earlier messages of this input created; \
                         on a live ledger this lineage may exist"
                            .to_owned(),
                    );
                }
                x.outcome = Outcome::refused(&error);
            }
            Plan::Read { party, answer } => {
                x.party = Some(self.acting_party(&request, sender, party));
                x.command = Some("read");
                x.outcome = match answer.iter().find_map(failure_of) {
                    Some(outcome) => outcome,
                    None => Outcome::plain("answer"),
                };
            }
            Plan::Submit { party, mapped } => {
                self.submission(&mut x, &party, &mapped, sent);
                x.party = Some(self.acting_party(&request, sender, party));
            }
        }
        x
    }

    /// A mapped create or exercise: its arguments, the ledger's guards and its verdict.
    fn submission(
        &self,
        x: &mut Explanation,
        party: &str,
        mapped: &Mapped<'_>,
        sent: &[Parameter],
    ) {
        let workflow = mapped.workflow;
        x.workflow = Some(workflow.name.clone());
        x.template = Some(workflow.template.to_string());
        x.linear_id = Some(mapped.linear_id.to_string());
        let template = self.catalog.template(&workflow.template);
        let mut target = None;
        match &mapped.command {
            Command::Create { arguments, .. } => {
                x.command = Some("create");
                x.arguments = arguments_of(workflow, None, arguments, sent);
                for condition in template.map(|t| t.ensure.as_slice()).unwrap_or_default() {
                    x.guards.push(Guard {
                        kind: "ensure",
                        rule: condition.to_string(),
                        holds: condition.evaluate(arguments, None).ok(),
                    });
                }
            }
            Command::Exercise {
                contract_id,
                choice,
                argument,
                ..
            } => {
                x.command = Some("exercise");
                x.choice = Some(choice.clone());
                let argument_record = match argument {
                    LedgerValue::Record(r) => Some(r),
                    _ => None,
                };
                if let Some(record) = argument_record {
                    x.arguments = arguments_of(workflow, mapped.function, record, sent);
                }
                let payload = match mapped.prior.as_ref().map(|p| p.payload.decode()) {
                    Some(Ok(payload)) => payload,
                    Some(Err(e)) => {
                        x.notes
                            .push(format!("the contract's payload cannot be read: {e}"));
                        Record::new()
                    }
                    None => Record::new(),
                };
                x.target = Some(format!(
                    "the contract with linear id {}: {contract_id}, active (created or last changed by an earlier \
                     message of this input)",
                    mapped.linear_id
                ));
                let spec = template.and_then(|t| t.choice(choice));
                if let Some(spec) = spec {
                    exercise_guards(x, spec, party, &payload, argument_record);
                }
                target = mapped.prior.as_ref().map(|prior| CreatedEvent {
                    node_id: 0,
                    offset: 0,
                    contract_id: prior.contract_id.to_string(),
                    template_id: (*prior.template_id).clone(),
                    arguments: payload,
                    signatories: Vec::new(),
                    observers: Vec::new(),
                });
            }
        }
        let on_exercise = target.is_some();
        x.outcome = match interpret(
            self.catalog,
            target.as_ref(),
            &mapped.command,
            &[party.to_owned()],
            "explain",
            0,
        ) {
            Ok(_) => Outcome::plain("commit"),
            Err(error) => {
                let details = ledger_failure(&error, on_exercise);
                Outcome::failure(
                    details.code,
                    details.field,
                    details.message,
                    details.ledger_error,
                )
            }
        };
    }

    /// The acting party and why it is that one.
    fn acting_party(
        &self,
        request: &IngressRequest,
        sender: &Sender,
        party: String,
    ) -> ActingParty {
        let mut why = match (
            request.user_chain_identifier(),
            self.config.allowed_request_parties(),
        ) {
            (Some(named), Some(_)) => format!(
                "userChainIdentifier {named:?}, one of user_chain_identifier.allowed_parties"
            ),
            (Some(named), None) => format!(
                "the gateway's own party (`party`): userChainIdentifier {named:?} counts only with \
                 user_chain_identifier.allowed_parties"
            ),
            (None, _) => {
                "the gateway's own party (`party`): the message names no userChainIdentifier"
                    .to_owned()
            }
        };
        if let (Some(_), Some(user)) = (
            self.config.parties_by_amqp_user(),
            sender.amqp_user_id.as_deref(),
        ) {
            why.push_str(&format!("; AMQP user {user:?} may act as it"));
        }
        ActingParty { name: party, why }
    }
}

/// The controllers, `when` and `assert` of a choice, each judged on the contract as it is now; and its effects.
fn exercise_guards(
    x: &mut Explanation,
    spec: &embedded_ledger::ChoiceSpec,
    party: &str,
    payload: &Record,
    argument: Option<&Record>,
) {
    if !spec.controllers.is_empty() {
        let allowed: Vec<&str> = spec
            .controllers
            .iter()
            .filter_map(|field| match payload.get(field) {
                Some(LedgerValue::Party(p) | LedgerValue::Text(p)) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        x.guards.push(Guard {
            kind: "controllers",
            rule: format!(
                "the acting party is a controller: {} (now {})",
                spec.controllers.join(", "),
                if allowed.is_empty() {
                    "nobody".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
            holds: Some(allowed.contains(&party)),
        });
    }
    for (field, allowed) in &spec.when {
        let current = payload.get(field).map(render);
        x.guards.push(Guard {
            kind: "when",
            rule: format!(
                "{field} is one of {} (now {})",
                allowed.join(", "),
                current.as_deref().unwrap_or("unset")
            ),
            holds: Some(current.is_some_and(|c| allowed.contains(&c))),
        });
    }
    for condition in &spec.assert {
        x.guards.push(Guard {
            kind: "assert",
            rule: condition.to_string(),
            holds: condition.evaluate(payload, argument).ok(),
        });
    }
    x.effects.push(
        match spec.kind {
            ChoiceKind::Consuming => {
                "consuming: archives the contract and creates its successor with the argument's fields"
            }
            ChoiceKind::Archive => "archive: archives the contract; the lineage ends",
            ChoiceKind::NonConsuming => "nonconsuming: the contract stays as it is",
        }
        .to_owned(),
    );
    if spec.kind != ChoiceKind::Consuming {
        return;
    }
    if !spec.set_fields.is_empty() {
        x.effects
            .push(format!("then sets {}", fields_text(&spec.set_fields)));
    }
    let mut applied = false;
    for (i, rule) in spec.rules.iter().enumerate() {
        let holds = rule.condition.evaluate(payload, argument).unwrap_or(false);
        let verdict = if holds && !applied {
            applied = true;
            "holds: applies"
        } else if holds {
            "holds, but an earlier rule applies"
        } else {
            "does not hold"
        };
        x.effects.push(format!(
            "rule {}: if {} then sets {} — {verdict}",
            i + 1,
            rule.condition,
            fields_text(&rule.set_fields)
        ));
    }
}

fn fields_text(fields: &[(String, FieldValue)]) -> String {
    fields
        .iter()
        .map(|(field, value)| match value {
            FieldValue::Constant(v) => format!("{field} = {}", render(v)),
            FieldValue::ActingParty => format!("{field} = the acting party"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Failure among a read's answer, as an outcome.
fn failure_of(message: &message_schema::egress::EgressMessage) -> Option<Outcome> {
    let json: serde_json::Value = serde_json::from_slice(&message.to_json_vec()).ok()?;
    let info = json.get("additionalInformation")?;
    let code = ErrorCode::from_code(u16::try_from(info.get("errorCode")?.as_u64()?).ok()?)?;
    let text = |key: &str| info.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Outcome::failure(
        code,
        text("field"),
        text("errorMessage").unwrap_or_default(),
        None,
    ))
}
