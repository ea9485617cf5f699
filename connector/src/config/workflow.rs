//! The `workflows:` section as written: how each Workbench workflow maps onto a template and its choices.
//!
//! These are the raw, deserialised shapes; `crate::mapping` compiles them into the mapping the processor uses and
//! the template catalog the embedded ledger runs.

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::closest_name::suggestion;
use crate::param_type::{IDENTIFIER, ParamType, long_form_type_pattern};

/// What `TemplateId::parse` takes, as a pattern: an optional package (`<package-id>` or `#<package-name>`), then
/// `Module:Entity` of dotted names (ASCII here; the parser also takes other Unicode letters).
const TEMPLATE_PATTERN: &str =
    r"^((#[^:]+|[^#:][^:]*):)?[A-Za-z0-9_']+(\.[A-Za-z0-9_']+)*:[A-Za-z0-9_']+(\.[A-Za-z0-9_']+)*$";

/// One workflow: `workflowName` → template.
// `JsonSchema` (here and below): see `Config`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// `Module:Entity`, `<package-id>:Module:Entity` or `#<package-name>:Module:Entity`.
    #[schemars(regex(pattern = TEMPLATE_PATTERN))]
    pub template: String,
    /// The payload field holding the linear id (a UUID as text).
    #[serde(default = "default_linear_id_field")]
    #[schemars(regex(pattern = r"\S"))]
    pub linear_id_field: String,
    /// Embedded ledger only: create preconditions (`"minHumidity <= maxHumidity"`); a failing one is Failure 4220.
    #[serde(default)]
    pub ensure: Vec<String>,
    #[serde(default)]
    pub create: CreateConfig,
    /// `workflowFunctionName` → choice.
    #[serde(default)]
    pub functions: IndexMap<String, FunctionConfig>,
}

fn default_linear_id_field() -> String {
    "linearId".to_owned()
}

/// How a `CreateContractRequest` becomes the create arguments.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConfig {
    #[serde(default)]
    pub parameters: IndexMap<String, ParameterSpec>,
    /// Constant fields; `"{{party}}"` is the acting party.
    #[serde(default)]
    pub fields: IndexMap<String, FieldConstant>,
}

/// How a `CreateContractActionRequest` becomes a choice exercise.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// The schema's copy of the mapping's rule that a choice cannot both archive and be nonconsuming.
#[schemars(extend("not" = {
    "required": ["archive", "nonconsuming"],
    "properties": { "archive": { "const": true }, "nonconsuming": { "const": true } }
}))]
pub struct FunctionConfig {
    /// The choice name; defaults to the function name.
    #[serde(default)]
    #[schemars(regex(pattern = r"\S"))]
    pub choice: Option<String>,
    #[serde(default)]
    pub parameters: IndexMap<String, ParameterSpec>,
    /// Embedded ledger only: fields the successor contract gets (constants or `"{{party}}"`).
    #[serde(default)]
    pub fields: IndexMap<String, FieldConstant>,
    /// Embedded ledger only: current field values the choice is allowed from (`state: [Created, InTransit]`).
    #[serde(default)]
    pub when: IndexMap<String, Vec<String>>,
    /// Embedded ledger only: payload fields holding the parties allowed to exercise the choice.
    #[serde(default)]
    pub controllers: Vec<String>,
    /// Embedded ledger only: conditions that must hold (`"arg.temperature < 100"`); a failing one is Failure 4220.
    #[serde(default)]
    pub assert: Vec<String>,
    /// Embedded ledger only: the first rule whose condition holds also sets its fields.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Embedded ledger only: the choice archives the contract and ends its lineage.
    #[serde(default)]
    pub archive: bool,
    /// Embedded ledger only: the choice changes nothing.
    #[serde(default)]
    pub nonconsuming: bool,
}

/// A conditional field update of a choice.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The condition (`"arg.humidity > maxHumidity"`).
    #[serde(rename = "if")]
    pub condition: String,
    pub fields: IndexMap<String, FieldConstant>,
}

/// A constant field value in `fields:`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldConstant {
    Text(String),
    Int64(i64),
    Numeric(String),
    Bool(bool),
    /// `{ enum: Created }`: an enum constructor (Daml enums need this rather than text).
    Enum(String),
    /// `"{{party}}"`: the acting party.
    ActingParty,
    /// `{ party: Alice }`: a party constant.
    Party(String),
}

impl<'de> Deserialize<'de> for FieldConstant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(s) if s == "{{party}}" => Ok(FieldConstant::ActingParty),
            serde_json::Value::String(s) if s.contains("{{") => Err(D::Error::custom(format!(
                "unknown placeholder in {s:?} (expected \"{{{{party}}}}\" or a constant)"
            ))),
            serde_json::Value::String(s) => Ok(FieldConstant::Text(s)),
            serde_json::Value::Bool(b) => Ok(FieldConstant::Bool(b)),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(FieldConstant::Int64(i)),
                None => Ok(FieldConstant::Numeric(n.to_string())),
            },
            serde_json::Value::Object(map) if map.len() == 1 => {
                let (kind, inner) = map
                    .into_iter()
                    .next()
                    .ok_or_else(|| D::Error::custom("empty mapping"))?;
                let text = inner
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| D::Error::custom(format!("{kind}: expected a string")))?;
                match kind.as_str() {
                    "enum" => Ok(FieldConstant::Enum(text)),
                    "party" => Ok(FieldConstant::Party(text)),
                    "text" => Ok(FieldConstant::Text(text)),
                    "numeric" => Ok(FieldConstant::Numeric(text)),
                    other => Err(D::Error::custom(format!(
                        "unknown constant kind {other:?}{} (expected one of enum, party, text, numeric)",
                        suggestion(other, CONSTANT_KINDS)
                    ))),
                }
            }
            other => Err(D::Error::custom(format!(
                "expected a string, number, boolean, \"{{{{party}}}}\" or {{ enum: Constructor }}, found {other}"
            ))),
        }
    }
}

/// The kinds of `{ kind: value }` constants.
const CONSTANT_KINDS: [&str; 4] = ["enum", "party", "text", "numeric"];

impl JsonSchema for FieldConstant {
    fn schema_name() -> Cow<'static, str> {
        "FieldConstant".into()
    }

    /// The shapes `deserialize` above takes: `"{{party}}"`, text without other placeholders, a number, a boolean, or
    /// a one-key mapping naming the constant's kind.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A constant field value: text, a number, true/false, \"{{party}}\" (the acting party), or { enum: Constructor } / { party: Alice } / { text: … } / { numeric: \"12.5\" }.",
            "anyOf": [
                { "const": "{{party}}" },
                { "type": "string", "not": { "pattern": "\\{\\{" } },
                { "type": ["number", "boolean"] },
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": false,
                    "properties": {
                        "enum": { "type": "string" },
                        "party": { "type": "string" },
                        "text": { "type": "string" },
                        "numeric": { "type": "string" }
                    }
                }
            ]
        })
    }
}

/// How one request parameter is converted and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSpec {
    pub param_type: ParamType,
    /// The record field it fills; defaults to the parameter name.
    pub field: Option<String>,
    /// Used when the request does not carry the parameter (converted like a sent value).
    pub default: Option<String>,
}

impl<'de> Deserialize<'de> for ParameterSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            #[serde(rename = "type")]
            type_name: String,
            #[serde(default)]
            field: Option<String>,
            #[serde(default)]
            default: Option<serde_json::Value>,
            #[serde(default)]
            scale: Option<u32>,
            #[serde(default)]
            format: Option<String>,
            #[serde(default)]
            values: Option<Vec<String>>,
        }
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(text) => Ok(ParameterSpec {
                param_type: text.parse().map_err(D::Error::custom)?,
                field: None,
                default: None,
            }),
            serde_json::Value::Object(_) => {
                let full: Full = serde_json::from_value(value).map_err(D::Error::custom)?;
                let param_type = ParamType::from_parts(
                    &full.type_name,
                    full.scale,
                    full.format.as_deref(),
                    full.values,
                )
                .map_err(D::Error::custom)?;
                let default = match full.default {
                    None => None,
                    Some(serde_json::Value::String(s)) => Some(s),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
                    Some(other) => {
                        return Err(D::Error::custom(format!(
                            "default: expected a string (as a request would send it), found {other}"
                        )));
                    }
                };
                Ok(ParameterSpec {
                    param_type,
                    field: full.field,
                    default,
                })
            }
            other => Err(D::Error::custom(format!(
                "expected a type name such as \"int64\" or a mapping {{ type: …, field: …, default: … }}, found {other}"
            ))),
        }
    }
}

impl JsonSchema for ParameterSpec {
    fn schema_name() -> Cow<'static, str> {
        "ParameterSpec".into()
    }

    /// The short form (a type text) or the long form `deserialize` above reads through `Full`, with
    /// `ParamType::from_parts`'s rules between its keys: `scale` only for `numeric`, `format` only for `time`,
    /// `values` only for (and always with) `enum`. Whether a `default` converts under the type is left to the loader.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let short = generator.subschema_for::<ParamType>();
        let only_with = |key: &str, type_name: &str| {
            serde_json::json!({
                "if": { "required": [key], "properties": { key: { "not": { "type": "null" } } } },
                "then": { "properties": { "type": { "const": type_name } } }
            })
        };
        json_schema!({
            "description": "How a request parameter is converted: a type (`int64`, `numeric(2)`, `optional<date>`, `enum(A|B)`, …) or { type, field, default, scale, format, values }.",
            "anyOf": [
                short,
                {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": false,
                    "properties": {
                        "type": { "type": "string", "pattern": long_form_type_pattern() },
                        "field": {
                            "description": "The record field it fills; defaults to the parameter name.",
                            "type": ["string", "null"]
                        },
                        "default": {
                            "description": "Used when the request does not carry the parameter, converted like a sent value.",
                            "type": ["string", "number", "boolean", "null"]
                        },
                        "scale": { "type": ["integer", "null"], "minimum": 0, "maximum": 37 },
                        "format": { "enum": ["any", "rfc3339", "unix_seconds", null] },
                        "values": {
                            "type": ["array", "null"],
                            "minItems": 1,
                            "items": { "type": "string", "pattern": format!("^{IDENTIFIER}$") }
                        }
                    },
                    "allOf": [
                        only_with("scale", "numeric"),
                        only_with("format", "time"),
                        only_with("values", "enum"),
                        {
                            "if": { "required": ["type"], "properties": { "type": { "const": "enum" } } },
                            "then": { "required": ["values"], "properties": { "values": { "type": "array" } } }
                        }
                    ]
                }
            ]
        })
    }
}
