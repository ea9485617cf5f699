//! The embedded ledger's template catalog, built from the workflow mapping: the choice semantics (consuming,
//! archive, guards, controllers, conditions, field updates) that a Daml ledger would get from Daml code.
//!
//! Every name the semantics refer to is checked here, at load: a field in `when` or `controllers`, and the fields
//! and `arg.` fields a condition reads. A misspelt one would otherwise only show as a Failure on some later message
//! ("field … is not in the contract"); here it is a config error naming the closest field.

use embedded_ledger::{
    ChoiceKind, ChoiceSpec, Condition, FieldValue, Operand, Rule, TemplateCatalog, TemplateSpec,
};
use indexmap::IndexMap;

use crate::closest_name::suggestion;
use crate::config::{ConfigError, FieldConstant, FunctionConfig, WorkflowConfig};
use crate::mapping::WorkflowMapping;
use crate::mapping::constant_value;

/// Builds the catalog; conditions are parsed here, so a bad one is a config error naming its path.
pub fn template_catalog(
    config: &IndexMap<String, WorkflowConfig>,
    mapping: &WorkflowMapping,
) -> Result<TemplateCatalog, ConfigError> {
    let mut templates = Vec::new();
    for workflow in mapping.workflows() {
        let Some(wf) = config.get(&workflow.name) else {
            continue;
        };
        let path = format!("workflows.{}", workflow.name);
        let known_fields = known_fields(wf);
        let create_fields = create_fields(wf);
        let ensure = parse_conditions(&wf.ensure, &format!("{path}.ensure"))?;
        for (i, condition) in ensure.iter().enumerate() {
            check_operands(
                condition,
                &format!("{path}.ensure[{i}]"),
                (&create_fields, "the create does not set"),
                None,
            )?;
        }
        let mut choices = Vec::new();
        for (fname, f) in &wf.functions {
            let fpath = format!("{path}.functions.{fname}");
            let arguments = argument_fields(f);
            let operands_of = |condition: &Condition, at: &str| {
                check_operands(
                    condition,
                    at,
                    (&known_fields, "neither the create nor a function sets"),
                    Some((&arguments, fname.as_str())),
                )
            };
            for (field, _) in &f.when {
                check_known(&known_fields, field, &format!("{fpath}.when.{field}"))?;
            }
            for (i, field) in f.controllers.iter().enumerate() {
                check_known(&known_fields, field, &format!("{fpath}.controllers[{i}]"))?;
            }
            let mut rules = Vec::new();
            for (i, rule) in f.rules.iter().enumerate() {
                let condition = Condition::parse(&rule.condition).map_err(|e| {
                    ConfigError::invalid(format!("{fpath}.rules[{i}].if"), e.to_string())
                })?;
                operands_of(&condition, &format!("{fpath}.rules[{i}].if"))?;
                rules.push(Rule {
                    condition,
                    set_fields: field_values(&rule.fields),
                });
            }
            let assert = parse_conditions(&f.assert, &format!("{fpath}.assert"))?;
            for (i, condition) in assert.iter().enumerate() {
                operands_of(condition, &format!("{fpath}.assert[{i}]"))?;
            }
            let choice_name = f.choice.clone().unwrap_or_else(|| fname.clone());
            if choices.iter().any(|c: &ChoiceSpec| c.name == choice_name) {
                // Two functions may share a choice only if they mean the same thing; keep the first's semantics.
                continue;
            }
            choices.push(ChoiceSpec {
                name: choice_name,
                kind: if f.archive {
                    ChoiceKind::Archive
                } else if f.nonconsuming {
                    ChoiceKind::NonConsuming
                } else {
                    ChoiceKind::Consuming
                },
                when: f.when.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                controllers: f.controllers.clone(),
                assert,
                set_fields: field_values(&f.fields),
                rules,
            });
        }
        templates.push(TemplateSpec {
            id: workflow.template.clone(),
            ensure,
            choices,
        });
    }
    Ok(TemplateCatalog { templates })
}

fn known_fields(wf: &WorkflowConfig) -> Vec<String> {
    let mut fields = vec![wf.linear_id_field.clone()];
    let named =
        |name: &String, field: &Option<String>| field.clone().unwrap_or_else(|| name.clone());
    fields.extend(wf.create.parameters.iter().map(|(n, s)| named(n, &s.field)));
    fields.extend(wf.create.fields.keys().cloned());
    for f in wf.functions.values() {
        fields.extend(f.parameters.iter().map(|(n, s)| named(n, &s.field)));
        fields.extend(f.fields.keys().cloned());
        for rule in &f.rules {
            fields.extend(rule.fields.keys().cloned());
        }
    }
    // Each once, first mention first: the list is shown in errors.
    let mut seen = std::collections::HashSet::new();
    fields.retain(|f| seen.insert(f.clone()));
    fields
}

/// The fields a create sets: the linear id, its parameters' fields and its constants (what `ensure` can read).
fn create_fields(wf: &WorkflowConfig) -> Vec<String> {
    let mut fields = vec![wf.linear_id_field.clone()];
    fields.extend(
        wf.create
            .parameters
            .iter()
            .map(|(n, s)| s.field.clone().unwrap_or_else(|| n.clone())),
    );
    fields.extend(wf.create.fields.keys().cloned());
    fields
}

/// The fields of a function's choice argument: its parameters' fields (what `arg.` can read).
fn argument_fields(f: &FunctionConfig) -> Vec<String> {
    f.parameters
        .iter()
        .map(|(n, s)| s.field.clone().unwrap_or_else(|| n.clone()))
        .collect()
}

fn check_known(known: &[String], field: &str, path: &str) -> Result<(), ConfigError> {
    if known.iter().any(|k| k == field) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            path,
            format!(
                "unknown field {field:?}{} (expected a field the create or a function sets: {})",
                suggestion(field, known.iter().map(String::as_str)),
                known.join(", ")
            ),
        ))
    }
}

/// Checks that a condition reads only fields that exist: payload fields among `fields` (with the phrase saying
/// where they were looked for), `arg.` fields among the function's argument fields; `arguments` is `None` for
/// `ensure`, which has no choice argument.
fn check_operands(
    condition: &Condition,
    path: &str,
    (fields, where_not): (&[String], &str),
    arguments: Option<(&[String], &str)>,
) -> Result<(), ConfigError> {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let text = condition.to_string();
    for operand in [&condition.left, &condition.right] {
        match operand {
            Operand::Literal(_) => {}
            Operand::Field(field) if !fields.contains(field) => {
                return Err(ConfigError::invalid(
                    path,
                    format!(
                        "condition {text:?} reads field {field:?}, which {where_not}{} (expected one of: {})",
                        suggestion(field, fields.iter().map(String::as_str)),
                        list(fields)
                    ),
                ));
            }
            Operand::Field(_) => {}
            Operand::Arg(field) => match arguments {
                None => {
                    return Err(ConfigError::invalid(
                        path,
                        format!(
                            "condition {text:?} reads arg.{field}, but a create has no choice argument \
                             (expected the field without `arg.`: {field})"
                        ),
                    ));
                }
                Some((names, function)) if !names.contains(field) => {
                    return Err(ConfigError::invalid(
                        path,
                        format!(
                            "condition {text:?} reads arg.{field}, which function {function:?} does not \
                             send{} (expected one of its parameters' fields: {})",
                            suggestion(field, names.iter().map(String::as_str)),
                            list(names)
                        ),
                    ));
                }
                Some(_) => {}
            },
        }
    }
    Ok(())
}

fn parse_conditions(texts: &[String], path: &str) -> Result<Vec<Condition>, ConfigError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Condition::parse(text)
                .map_err(|e| ConfigError::invalid(format!("{path}[{i}]"), e.to_string()))
        })
        .collect()
}

fn field_values(fields: &IndexMap<String, FieldConstant>) -> Vec<(String, FieldValue)> {
    fields
        .iter()
        .map(|(k, v)| {
            let value = match v {
                FieldConstant::ActingParty => FieldValue::ActingParty,
                other => FieldValue::Constant(constant_value(other, "")),
            };
            (k.clone(), value)
        })
        .collect()
}
