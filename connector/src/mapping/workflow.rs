//! Compiled workflows and the conversion of a request's parameters into create arguments or a choice argument.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use ledger_port::TemplateId;
use message_schema::ingress::Parameter;
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

use super::{MappingError, ParamType};
use crate::config::{ConfigError, FieldConstant, ParameterSpec, WorkflowConfig};

/// One request parameter's mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamMapping {
    /// The name in the request's `parameters`.
    pub name: String,
    /// The record field it fills.
    pub field: String,
    pub param_type: ParamType,
    /// Already converted at load, so a bad default is a config error, not a per-message one.
    pub default: Option<LedgerValue>,
}

/// A `workflowFunctionName` → choice mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionMapping {
    pub name: String,
    pub choice: String,
    pub parameters: Vec<ParamMapping>,
}

/// A `workflowName` → template mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub template: TemplateId,
    pub linear_id_field: String,
    pub create_parameters: Vec<ParamMapping>,
    pub create_fields: Vec<(String, FieldConstant)>,
    pub functions: IndexMap<String, FunctionMapping>,
}

/// All workflows, looked up by name or by template.
#[derive(Debug, Clone, Default)]
pub struct WorkflowMapping {
    workflows: IndexMap<String, Workflow>,
    by_template: HashMap<(String, String), String>,
}

impl WorkflowMapping {
    /// Compiles and checks the `workflows:` section.
    pub fn compile(config: &IndexMap<String, WorkflowConfig>) -> Result<Self, ConfigError> {
        let mut mapping = WorkflowMapping::default();
        for (name, wf) in config {
            let path = format!("workflows.{name}");
            let workflow = compile_workflow(name, wf, &path)?;
            let key = (
                workflow.template.module.clone(),
                workflow.template.entity.clone(),
            );
            if let Some(other) = mapping.by_template.insert(key, name.clone()) {
                return Err(ConfigError::invalid(
                    format!("{path}.template"),
                    format!(
                        "template {} is already mapped by workflow {other:?}; a template may back one workflow only",
                        workflow.template
                    ),
                ));
            }
            mapping.workflows.insert(name.clone(), workflow);
        }
        Ok(mapping)
    }

    /// The workflow named by a `CreateContractRequest`.
    pub fn workflow(&self, name: &str) -> Option<&Workflow> {
        self.workflows.get(name)
    }

    /// The workflow whose template a contract has.
    pub fn workflow_for_template(&self, template: &TemplateId) -> Option<&Workflow> {
        self.by_template
            .get(&(template.module.clone(), template.entity.clone()))
            .and_then(|name| self.workflows.get(name))
            .filter(|wf| wf.template.matches(template))
    }

    /// Every workflow, in config order.
    pub fn workflows(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows.values()
    }

    /// The names of all workflows, for error messages.
    pub fn workflow_names(&self) -> Vec<&str> {
        self.workflows.keys().map(String::as_str).collect()
    }

    /// Every mapped template.
    pub fn templates(&self) -> Vec<TemplateId> {
        self.workflows
            .values()
            .map(|w| w.template.clone())
            .collect()
    }
}

fn compile_workflow(name: &str, wf: &WorkflowConfig, path: &str) -> Result<Workflow, ConfigError> {
    let template = TemplateId::parse(&wf.template)
        .map_err(|e| ConfigError::invalid(format!("{path}.template"), e.to_string()))?;
    if wf.linear_id_field.trim().is_empty() {
        return Err(ConfigError::invalid(
            format!("{path}.linear_id_field"),
            "expected a field name",
        ));
    }
    let create_path = format!("{path}.create");
    let create_parameters =
        compile_parameters(&wf.create.parameters, &format!("{create_path}.parameters"))?;
    let create_fields: Vec<(String, FieldConstant)> = wf
        .create
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut seen: HashSet<&str> = HashSet::from([wf.linear_id_field.as_str()]);
    for p in &create_parameters {
        if !seen.insert(p.field.as_str()) {
            return Err(duplicate_field(
                &format!("{create_path}.parameters.{}", p.name),
                &p.field,
                &wf.linear_id_field,
            ));
        }
    }
    for (field, _) in &create_fields {
        if !seen.insert(field.as_str()) {
            return Err(duplicate_field(
                &format!("{create_path}.fields.{field}"),
                field,
                &wf.linear_id_field,
            ));
        }
    }
    let mut functions = IndexMap::new();
    for (fname, f) in &wf.functions {
        let fpath = format!("{path}.functions.{fname}");
        let parameters = compile_parameters(&f.parameters, &format!("{fpath}.parameters"))?;
        let mut fields_seen = HashSet::new();
        for p in &parameters {
            if p.field == wf.linear_id_field {
                return Err(duplicate_field(
                    &format!("{fpath}.parameters.{}", p.name),
                    &p.field,
                    &wf.linear_id_field,
                ));
            }
            if !fields_seen.insert(p.field.as_str()) {
                return Err(duplicate_field(
                    &format!("{fpath}.parameters.{}", p.name),
                    &p.field,
                    &wf.linear_id_field,
                ));
            }
        }
        if f.archive && f.nonconsuming {
            return Err(ConfigError::invalid(
                format!("{fpath}.archive"),
                "a choice cannot both archive and be nonconsuming",
            ));
        }
        let choice = f.choice.clone().unwrap_or_else(|| fname.clone());
        if choice.trim().is_empty() {
            return Err(ConfigError::invalid(
                format!("{fpath}.choice"),
                "expected a choice name",
            ));
        }
        functions.insert(
            fname.clone(),
            FunctionMapping {
                name: fname.clone(),
                choice,
                parameters,
            },
        );
    }
    Ok(Workflow {
        name: name.to_owned(),
        template,
        linear_id_field: wf.linear_id_field.clone(),
        create_parameters,
        create_fields,
        functions,
    })
}

fn duplicate_field(path: &str, field: &str, linear_id_field: &str) -> ConfigError {
    if field == linear_id_field {
        ConfigError::invalid(
            path,
            format!("field {field:?} is the linear id field, which the gateway sets"),
        )
    } else {
        ConfigError::invalid(path, format!("field {field:?} is filled twice"))
    }
}

fn compile_parameters(
    specs: &IndexMap<String, ParameterSpec>,
    path: &str,
) -> Result<Vec<ParamMapping>, ConfigError> {
    specs
        .iter()
        .map(|(name, spec)| {
            let default = match &spec.default {
                None => None,
                Some(raw) => Some(spec.param_type.convert(raw).map_err(|e| {
                    ConfigError::invalid(format!("{path}.{name}.default"), format!("{raw:?}: {e}"))
                })?),
            };
            Ok(ParamMapping {
                name: name.clone(),
                field: spec.field.clone().unwrap_or_else(|| name.clone()),
                param_type: spec.param_type.clone(),
                default,
            })
        })
        .collect()
}

/// Converts request parameters into `(field, value)` pairs in mapping order.
///
/// Every request parameter must be declared (a typo is an error, not silently dropped), every declared parameter
/// without a default and not optional must be sent. Duplicate names were refused by the parser already.
pub fn convert_parameters(
    declared: &[ParamMapping],
    sent: &[Parameter],
) -> Result<Vec<(String, LedgerValue)>, MappingError> {
    for (i, p) in sent.iter().enumerate() {
        if !declared.iter().any(|d| d.name == p.name) {
            let names: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
            return Err(MappingError::bad_request(
                format!("parameters[{i}].name"),
                format!(
                    "parameters[{i}].name: unknown parameter {} (expected one of: {})",
                    message_schema::parse::quoted(&p.name),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(declared.len());
    for d in declared {
        match sent.iter().position(|p| p.name == d.name) {
            Some(i) => {
                let raw = &sent[i].value;
                let value = d.param_type.convert(raw).map_err(|e| {
                    MappingError::bad_request(
                        format!("parameters[{i}].value"),
                        format!(
                            "parameters[{i}].value: parameter {:?} = {:?} is not a valid {}: {e}",
                            d.name,
                            truncate(raw),
                            d.param_type
                        ),
                    )
                })?;
                out.push((d.field.clone(), value));
            }
            None => match (&d.default, d.param_type.is_optional()) {
                (Some(default), _) => out.push((d.field.clone(), default.clone())),
                (None, true) => out.push((d.field.clone(), LedgerValue::Optional(None))),
                (None, false) => {
                    return Err(MappingError::bad_request(
                        "parameters",
                        format!(
                            "parameters: missing required parameter {:?} ({})",
                            d.name, d.param_type
                        ),
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// Long values are cut in error messages so a 1 MiB parameter does not produce a 1 MiB Failure.
fn truncate(raw: &str) -> String {
    const LIMIT: usize = 64;
    if raw.chars().count() <= LIMIT {
        raw.to_owned()
    } else {
        let cut: String = raw.chars().take(LIMIT).collect();
        format!("{cut}…")
    }
}

impl Workflow {
    /// The create arguments for a request: linear id first, then the parameters, then the constant fields.
    pub fn create_arguments(
        &self,
        sent: &[Parameter],
        linear_id: &Uuid,
        acting_party: &str,
    ) -> Result<Record, MappingError> {
        let mut record = Record::new().with(
            &self.linear_id_field,
            LedgerValue::Text(linear_id.to_string()),
        );
        for (field, value) in convert_parameters(&self.create_parameters, sent)? {
            record.fields.push(message_schema::value::RecordField {
                label: field,
                value,
            });
        }
        for (field, constant) in &self.create_fields {
            record.fields.push(message_schema::value::RecordField {
                label: field.clone(),
                value: constant_value(constant, acting_party),
            });
        }
        Ok(record)
    }
}

impl FunctionMapping {
    /// The choice argument record for a request.
    pub fn choice_argument(&self, sent: &[Parameter]) -> Result<Record, MappingError> {
        let mut record = Record::new();
        for (field, value) in convert_parameters(&self.parameters, sent)? {
            record.fields.push(message_schema::value::RecordField {
                label: field,
                value,
            });
        }
        Ok(record)
    }
}

/// The ledger value of a constant field for an acting party.
pub fn constant_value(constant: &FieldConstant, acting_party: &str) -> LedgerValue {
    match constant {
        FieldConstant::Text(s) => LedgerValue::Text(s.clone()),
        FieldConstant::Int64(i) => LedgerValue::Int64(*i),
        FieldConstant::Numeric(n) => LedgerValue::Numeric(n.clone()),
        FieldConstant::Bool(b) => LedgerValue::Bool(*b),
        FieldConstant::Enum(e) => LedgerValue::Enum(e.clone()),
        FieldConstant::Party(p) => LedgerValue::Party(p.clone()),
        FieldConstant::ActingParty => LedgerValue::Party(acting_party.to_owned()),
    }
}
