//! Interpreting a command against the active contract set: the events it would commit, or why it is rejected.
//!
//! Pure: takes the current state by reference and returns events; the ledger commits them.

use ledger_port::{
    ArchivedEvent, Command, CreatedEvent, Event, ExercisedEvent, LedgerError, RejectionReason,
};
use message_schema::properties::render;
use message_schema::value::{LedgerValue, Record};
use sha2::{Digest, Sha256};

use crate::catalog::{ChoiceKind, FieldValue, TemplateCatalog};

/// The contract id of the `node_id`-th event of the transaction at `offset` for `command_id`: `00` + SHA-256 hex,
/// deterministic so a replayed journal reproduces every id.
pub fn contract_id(command_id: &str, offset: i64, node_id: i32) -> String {
    let mut h = Sha256::new();
    h.update(command_id.as_bytes());
    h.update(offset.to_be_bytes());
    h.update(node_id.to_be_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(66);
    out.push_str("00");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A payload value or party as a rejection shows it: cut after 64 characters, so a long value a request once put in
/// the contract does not make every later Failure on it as long.
fn shown(text: &str) -> String {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

fn rejected(reason: RejectionReason, id: &str, message: String) -> LedgerError {
    LedgerError::permanent(reason, message).with_ledger_error(id)
}

fn apply_fields(payload: &mut Record, fields: &[(String, FieldValue)], acting_party: &str) {
    for (field, value) in fields {
        let value = match value {
            FieldValue::Constant(v) => v.clone(),
            FieldValue::ActingParty => LedgerValue::Party(acting_party.to_owned()),
        };
        payload.set(field, value);
    }
}

/// The events of `command`, or its rejection. `target` is the active contract an exercise names, if it is active.
pub fn interpret(
    catalog: &TemplateCatalog,
    target_contract: Option<&CreatedEvent>,
    command: &Command,
    act_as: &[String],
    command_id: &str,
    offset: i64,
) -> Result<Vec<Event>, LedgerError> {
    let acting_party = act_as.first().map(String::as_str).unwrap_or("");
    if acting_party.is_empty() {
        return Err(rejected(
            RejectionReason::InvalidArgument,
            "MISSING_FIELD",
            "act_as: expected at least one party".to_owned(),
        ));
    }
    match command {
        Command::Create {
            template_id,
            arguments,
        } => {
            let template = catalog.template(template_id).ok_or_else(|| {
                rejected(
                    RejectionReason::NotFound,
                    "TEMPLATE_NOT_FOUND",
                    format!("unknown template {template_id}"),
                )
            })?;
            for condition in &template.ensure {
                match condition.evaluate(arguments, None) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(rejected(
                            RejectionReason::Rejected,
                            "DAML_INTERPRETATION_ERROR",
                            format!("template precondition failed: {condition}"),
                        ));
                    }
                    Err(why) => {
                        return Err(rejected(
                            RejectionReason::Rejected,
                            "DAML_INTERPRETATION_ERROR",
                            format!("template precondition {condition} cannot be evaluated: {why}"),
                        ));
                    }
                }
            }
            Ok(vec![Event::Created(CreatedEvent {
                node_id: 0,
                offset,
                contract_id: contract_id(command_id, offset, 0),
                template_id: template.id.clone(),
                arguments: arguments.clone(),
                signatories: act_as.to_vec(),
                observers: Vec::new(),
            })])
        }
        Command::Exercise {
            template_id,
            contract_id: target,
            choice,
            argument,
        } => {
            let contract = target_contract
                .filter(|c| c.contract_id == *target)
                .ok_or_else(|| {
                    rejected(
                        RejectionReason::NotFound,
                        "CONTRACT_NOT_FOUND",
                        format!("contract {target} is not active"),
                    )
                })?;
            if !contract.template_id.matches(template_id) {
                return Err(rejected(
                    RejectionReason::InvalidArgument,
                    "TEMPLATE_MISMATCH",
                    format!(
                        "contract {target} is a {}, not a {template_id}",
                        contract.template_id
                    ),
                ));
            }
            let template = catalog.template(&contract.template_id).ok_or_else(|| {
                rejected(
                    RejectionReason::NotFound,
                    "TEMPLATE_NOT_FOUND",
                    format!("unknown template {}", contract.template_id),
                )
            })?;
            let spec = template.choice(choice).ok_or_else(|| {
                rejected(
                    RejectionReason::NotFound,
                    "CHOICE_NOT_FOUND",
                    format!("template {} has no choice {choice:?}", template.id),
                )
            })?;
            let arg_record = match argument {
                LedgerValue::Record(r) => Some(r),
                LedgerValue::Unit => None,
                _ => {
                    return Err(rejected(
                        RejectionReason::InvalidArgument,
                        "INVALID_ARGUMENT",
                        format!("choice {choice} takes a record argument"),
                    ));
                }
            };
            let payload = &contract.arguments;
            if !spec.controllers.is_empty() {
                let allowed: Vec<&str> = spec
                    .controllers
                    .iter()
                    .filter_map(|f| match payload.get(f) {
                        Some(LedgerValue::Party(p)) | Some(LedgerValue::Text(p)) => {
                            Some(p.as_str())
                        }
                        _ => None,
                    })
                    .collect();
                if !act_as.iter().any(|p| allowed.contains(&p.as_str())) {
                    return Err(rejected(
                        RejectionReason::Forbidden,
                        "DAML_AUTHORIZATION_ERROR",
                        format!(
                            "choice {choice} may be exercised only by {} (controllers {:?}), not by {}",
                            if allowed.is_empty() {
                                "nobody".to_owned()
                            } else {
                                allowed
                                    .iter()
                                    .map(|p| shown(p))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            },
                            spec.controllers,
                            shown(acting_party)
                        ),
                    ));
                }
            }
            for (field, allowed) in &spec.when {
                let current = payload.get(field).map(render);
                if !current.as_ref().is_some_and(|c| allowed.contains(c)) {
                    return Err(rejected(
                        RejectionReason::Conflict,
                        "INVALID_STATE_TRANSITION",
                        format!(
                            "choice {choice} is not allowed when {field} is {} (allowed: {})",
                            current.as_deref().map_or("unset".to_owned(), shown),
                            allowed.join(", ")
                        ),
                    ));
                }
            }
            for condition in &spec.assert {
                if !condition.evaluate(payload, arg_record).map_err(|why| {
                    rejected(
                        RejectionReason::Rejected,
                        "DAML_INTERPRETATION_ERROR",
                        format!("assertion {condition}: {why}"),
                    )
                })? {
                    return Err(rejected(
                        RejectionReason::Rejected,
                        "DAML_INTERPRETATION_ERROR",
                        format!("assertion failed: {condition}"),
                    ));
                }
            }
            let mut events = vec![Event::Exercised(ExercisedEvent {
                node_id: 0,
                offset,
                contract_id: target.clone(),
                template_id: contract.template_id.clone(),
                choice: choice.clone(),
                argument: argument.clone(),
                acting_parties: act_as.to_vec(),
                consuming: spec.kind != ChoiceKind::NonConsuming,
            })];
            if spec.kind == ChoiceKind::NonConsuming {
                return Ok(events);
            }
            events.push(Event::Archived(ArchivedEvent {
                node_id: 1,
                offset,
                contract_id: target.clone(),
                template_id: contract.template_id.clone(),
            }));
            if spec.kind == ChoiceKind::Consuming {
                let mut successor = payload.clone();
                if let Some(arg) = arg_record {
                    for field in &arg.fields {
                        successor.set(&field.label, field.value.clone());
                    }
                }
                apply_fields(&mut successor, &spec.set_fields, acting_party);
                for rule in &spec.rules {
                    if rule
                        .condition
                        .evaluate(payload, arg_record)
                        .unwrap_or(false)
                    {
                        apply_fields(&mut successor, &rule.set_fields, acting_party);
                        break;
                    }
                }
                events.push(Event::Created(CreatedEvent {
                    node_id: 2,
                    offset,
                    contract_id: contract_id(command_id, offset, 2),
                    template_id: contract.template_id.clone(),
                    arguments: successor,
                    signatories: contract.signatories.clone(),
                    observers: contract.observers.clone(),
                }));
            }
            Ok(events)
        }
    }
}

#[cfg(test)]
mod tests {
    use ledger_port::{RejectionReason, TemplateId};

    use super::*;
    use crate::catalog::{ChoiceSpec, TemplateSpec};

    fn template() -> TemplateId {
        TemplateId::parse("Cold:Shipment").expect("template id")
    }

    fn catalog() -> TemplateCatalog {
        let choice = |name: &str| ChoiceSpec {
            name: name.into(),
            kind: ChoiceKind::Consuming,
            when: vec![],
            controllers: vec![],
            assert: vec![],
            set_fields: vec![],
            rules: vec![],
        };
        TemplateCatalog {
            templates: vec![TemplateSpec {
                id: template(),
                ensure: vec![],
                choices: vec![
                    ChoiceSpec {
                        controllers: vec!["device".into()],
                        ..choice("Ingest")
                    },
                    ChoiceSpec {
                        when: vec![("state".into(), vec!["Created".into()])],
                        ..choice("Move")
                    },
                ],
            }],
        }
    }

    fn exercise(choice: &str) -> Command {
        Command::Exercise {
            template_id: template(),
            contract_id: "c1".into(),
            choice: choice.into(),
            argument: LedgerValue::Record(Record::new()),
        }
    }

    /// Found probing the process_message fuzz target: a rejection echoed payload values whole (the controllers'
    /// parties, the guarded field's value), so a create with a 3000-character device party made every later
    /// Failure on that contract about 3000 characters long.
    #[test]
    fn rejections_cut_long_payload_values() {
        let long = "D".repeat(10_000);
        let contract = CreatedEvent {
            node_id: 0,
            offset: 1,
            contract_id: "c1".into(),
            template_id: template(),
            arguments: Record::new()
                .with("device", LedgerValue::Party(long.clone()))
                .with("state", LedgerValue::Text(long)),
            signatories: vec!["Op".into()],
            observers: vec![],
        };
        let act_as = ["Device01".to_owned()];
        for (choice, reason) in [
            ("Ingest", RejectionReason::Forbidden),
            ("Move", RejectionReason::Conflict),
        ] {
            let error = interpret(
                &catalog(),
                Some(&contract),
                &exercise(choice),
                &act_as,
                "cmd",
                2,
            )
            .expect_err("rejected");
            assert_eq!(error.reason, reason, "{choice}");
            assert!(
                error.message.len() < 400 && error.message.contains("DDDD"),
                "{choice}: {} characters: {}",
                error.message.len(),
                error.message
            );
        }
    }
}
