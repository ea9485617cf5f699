//! The arguments of a planned command as `explain` shows them: each field of the record the processor would submit,
//! with its declared type and where its value comes from (a parameter, the derived linear id, a constant, the acting
//! party).

use message_schema::ingress::Parameter;
use message_schema::properties::render;
use message_schema::value::{LedgerValue, Record};
use serde::Serialize;

use crate::config::FieldConstant;
use crate::mapping::{FunctionMapping, Workflow};

/// One field of the command's record.
#[derive(Debug, Serialize)]
pub struct Argument {
    pub field: String,
    #[serde(rename = "type")]
    pub param_type: String,
    pub value: String,
    pub source: String,
}

/// Each field of a command's record with its declared type and where its value comes from.
pub fn arguments_of(
    workflow: &Workflow,
    function: Option<&FunctionMapping>,
    record: &Record,
    sent: &[Parameter],
) -> Vec<Argument> {
    let declared = match function {
        Some(f) => &f.parameters,
        None => &workflow.create_parameters,
    };
    record
        .fields
        .iter()
        .map(|f| {
            let value = render(&f.value);
            if function.is_none() && f.label == workflow.linear_id_field {
                return Argument {
                    field: f.label.clone(),
                    param_type: "text".to_owned(),
                    value,
                    source: "the linear id, derived from requestId".to_owned(),
                };
            }
            if let Some(p) = declared.iter().find(|p| p.field == f.label) {
                let source = match sent.iter().position(|s| s.name == p.name) {
                    Some(i) => format!("parameters[{i}] {:?} = {:?}", p.name, sent[i].value),
                    None if p.default.is_some() => {
                        format!("the default of parameter {:?} (not sent)", p.name)
                    }
                    None => format!("parameter {:?} not sent: optional, so none", p.name),
                };
                return Argument {
                    field: f.label.clone(),
                    param_type: p.param_type.to_string(),
                    value,
                    source,
                };
            }
            let source = match workflow.create_fields.iter().find(|(k, _)| *k == f.label) {
                Some((_, FieldConstant::ActingParty)) => {
                    "create.fields: \"{{party}}\", the acting party".to_owned()
                }
                Some(_) => "create.fields: a constant".to_owned(),
                None => "set by the gateway".to_owned(),
            };
            Argument {
                field: f.label.clone(),
                param_type: value_type(&f.value).to_owned(),
                value,
                source,
            }
        })
        .collect()
}

/// The type of a constant, as the config spells types.
fn value_type(value: &LedgerValue) -> &'static str {
    match value {
        LedgerValue::Bool(_) => "bool",
        LedgerValue::Int64(_) => "int64",
        LedgerValue::Numeric(_) => "numeric",
        LedgerValue::Text(_) => "text",
        LedgerValue::Party(_) => "party",
        LedgerValue::Timestamp(_) => "time",
        LedgerValue::Date(_) => "date",
        LedgerValue::ContractId(_) => "contract_id",
        LedgerValue::Enum(_) => "enum",
        _ => "value",
    }
}
