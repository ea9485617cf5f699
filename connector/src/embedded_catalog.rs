//! The embedded ledger's template catalog, built from the workflow mapping: the choice semantics (consuming,
//! archive, guards, controllers, conditions, field updates) that a Daml ledger would get from Daml code.

use embedded_ledger::{
    ChoiceKind, ChoiceSpec, Condition, FieldValue, Rule, TemplateCatalog, TemplateSpec,
};
use indexmap::IndexMap;

use crate::config::{ConfigError, FieldConstant, WorkflowConfig};
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
        let ensure = parse_conditions(&wf.ensure, &format!("{path}.ensure"))?;
        let mut choices = Vec::new();
        for (fname, f) in &wf.functions {
            let fpath = format!("{path}.functions.{fname}");
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
                rules.push(Rule {
                    condition,
                    set_fields: field_values(&rule.fields),
                });
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
                assert: parse_conditions(&f.assert, &format!("{fpath}.assert"))?,
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
    fields
}

fn check_known(known: &[String], field: &str, path: &str) -> Result<(), ConfigError> {
    if known.iter().any(|k| k == field) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            path,
            format!(
                "unknown field {field:?} (expected a field the create or a function sets: {})",
                known.join(", ")
            ),
        ))
    }
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
