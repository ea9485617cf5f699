//! Parsing raw ingress bytes into a typed request, or into an error precise enough to act on.
//!
//! The error says whether a `requestId` could be read (a *correlatable* error, answered with a Failure that carries
//! it) or not (a *generic* error), and its message names the field and the expected form, e.g.
//! `parameters[2].value: expected a string, found number 12`. The checks mirror the JSON Schemas in `schemas/`
//! (a test feeds both the same corpus), plus one the schemas cannot express: duplicate parameter names.
//!
//! [`parse_ingress_with`] applies the [`Limits`] first: the size before anything is read, the nesting depth in one
//! pass over the bytes, the parameter count before any parameter is read, so no message costs more than linear
//! time in its (bounded) size.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error_code::ErrorCode;
use crate::ingress::{
    CreateContractActionRequest, CreateContractRequest, IngressRequest, Parameter,
    ReadContractRequest,
};
use crate::limits::{Limits, cut, json_depth, over_limit};

/// How much of an over-long requestId a Failure repeats (bytes): enough to recognise it, short enough for an AMQP
/// correlation id.
pub const REQUEST_ID_SHOWN_BYTES: usize = 64;

/// The message names the gateway accepts.
pub const MESSAGE_NAMES: [&str; 3] = [
    "CreateContractRequest",
    "CreateContractActionRequest",
    "ReadContractRequest",
];

/// Why an ingress message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IngressError {
    /// The `requestId`, when one could be read.
    pub request_id: Option<String>,
    pub code: ErrorCode,
    /// The offending field (`parameters[2].value`), when there is one.
    pub field: Option<String>,
    /// A sentence naming the field and the expected form.
    pub message: String,
    /// `request_id` is only the beginning of a requestId over `limits.max_request_id_bytes`: it names the request
    /// for a person, but is not its idempotency key.
    pub request_id_cut: bool,
}

impl IngressError {
    /// True when a string `requestId` could be read, so the Failure can be correlated.
    ///
    /// ```
    /// let e = message_schema::parse::parse_ingress(br#"{"requestId":"r1"}"#).unwrap_err();
    /// assert!(e.is_correlatable());
    /// ```
    pub fn is_correlatable(&self) -> bool {
        self.request_id.is_some()
    }
}

/// Describes a JSON value for an error message: `number 12`, `null`, `an array`, `string "x"`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            if shown.len() < s.len() {
                format!("string {shown:?}…")
            } else {
                format!("string {s:?}")
            }
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A sender's text quoted for an error message, cut to its first 40 bytes (`"abc…"`), so a Failure never repeats an
/// unbounded value back.
pub fn quoted(text: &str) -> String {
    format!("{:?}", cut(text, QUOTED_BYTES))
}

/// How much of a sender's value an error message quotes.
const QUOTED_BYTES: usize = 40;

struct Reader<'a> {
    object: &'a Map<String, Value>,
    request_id: Option<String>,
    limits: &'a Limits,
}

impl Reader<'_> {
    fn fail(&self, field: impl Into<String>, message: String) -> IngressError {
        IngressError {
            request_id: self.request_id.clone(),
            code: ErrorCode::BadRequest,
            field: Some(field.into()),
            message,
            request_id_cut: false,
        }
    }

    fn string(&self, field: &str, what: &str) -> Result<String, IngressError> {
        match self.object.get(field) {
            None => Err(self.fail(field, format!("{field}: missing (expected {what})"))),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => {
                Err(self.fail(field, format!("{field}: empty (expected {what})")))
            }
            Some(other) => Err(self.fail(
                field,
                format!("{field}: expected {what}, found {}", describe(other)),
            )),
        }
    }

    fn uuid(&self, field: &str) -> Result<Uuid, IngressError> {
        let text = self.string(field, "a UUID such as 27b3b7ad-10ce-4bd4-a72c-1bf215709a21")?;
        let canonical_shape = text.len() == 36
            && text.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        match Uuid::parse_str(&text) {
            Ok(uuid) if canonical_shape => Ok(uuid),
            _ => Err(self.fail(
                field,
                format!(
                    "{field}: {} is not a UUID (expected the form 27b3b7ad-10ce-4bd4-a72c-1bf215709a21)",
                    describe(&Value::String(text))
                ),
            )),
        }
    }

    fn parameters(&self) -> Result<Vec<Parameter>, IngressError> {
        let items = match self.object.get("parameters") {
            None => {
                return Err(self.fail(
                    "parameters",
                    "parameters: missing (expected an array of {\"name\": string, \"value\": string})".to_owned(),
                ));
            }
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.fail(
                    "parameters",
                    format!(
                        "parameters: expected an array of {{\"name\": string, \"value\": string}}, found {}",
                        describe(other)
                    ),
                ));
            }
        };
        if items.len() > self.limits.max_parameters {
            return Err(self.fail(
                "parameters",
                over_limit(
                    "parameters",
                    items.len(),
                    "entries",
                    self.limits.max_parameters,
                    "max_parameters",
                ),
            ));
        }
        let mut out: Vec<Parameter> = Vec::with_capacity(items.len());
        // Name → first index: duplicates are found in linear time, whatever the count.
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(p) = item else {
                return Err(self.fail(
                    format!("parameters[{i}]"),
                    format!(
                        "parameters[{i}]: expected an object {{\"name\": string, \"value\": string}}, found {}",
                        describe(item)
                    ),
                ));
            };
            let field = |key: &str| match p.get(key) {
                Some(Value::String(s)) => Ok(s.as_str()),
                None => Err(self.fail(
                    format!("parameters[{i}].{key}"),
                    format!("parameters[{i}].{key}: missing (expected a string)"),
                )),
                Some(other) => Err(self.fail(
                    format!("parameters[{i}].{key}"),
                    format!(
                        "parameters[{i}].{key}: expected a string, found {}",
                        describe(other)
                    ),
                )),
            };
            let name = field("name")?;
            let value = field("value")?;
            if name.is_empty() {
                return Err(self.fail(
                    format!("parameters[{i}].name"),
                    format!("parameters[{i}].name: empty (expected a parameter name)"),
                ));
            }
            if value.len() > self.limits.max_parameter_value_bytes {
                return Err(self.fail(
                    format!("parameters[{i}].value"),
                    over_limit(
                        &format!("parameters[{i}].value"),
                        value.len(),
                        "bytes",
                        self.limits.max_parameter_value_bytes,
                        "max_parameter_value_bytes",
                    ),
                ));
            }
            if let Some(first) = seen.insert(name, i) {
                return Err(self.fail(
                    format!("parameters[{i}].name"),
                    format!(
                        "parameters[{i}].name: duplicate parameter {} (first given at parameters[{first}])",
                        quoted(name)
                    ),
                ));
            }
            out.push(Parameter {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        Ok(out)
    }

    fn user_chain_identifier(&self) -> Result<Option<String>, IngressError> {
        match self.object.get("userChainIdentifier") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.fail(
                "userChainIdentifier",
                format!(
                    "userChainIdentifier: expected a string, found {}",
                    describe(other)
                ),
            )),
        }
    }

    fn version(&self) -> Result<String, IngressError> {
        let field = "messageSchemaVersion";
        let version = self.string(field, "a version such as \"1.0.0\"")?;
        let parts: Vec<&str> = version.split('.').collect();
        let well_formed = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            return Err(self.fail(
                field,
                format!(
                    "{field}: {} is not MAJOR.MINOR.PATCH (expected a version such as \"1.0.0\")",
                    quoted(&version)
                ),
            ));
        }
        if parts[0].trim_start_matches('0') != "1" {
            return Err(self.fail(
                field,
                format!(
                    "{field}: unsupported version {} (expected 1.x.y)",
                    quoted(&version)
                ),
            ));
        }
        Ok(version)
    }
}

fn generic(message: String, field: Option<&str>) -> IngressError {
    IngressError {
        request_id: None,
        code: ErrorCode::BadRequest,
        field: field.map(str::to_owned),
        message,
        request_id_cut: false,
    }
}

/// Only the requestId of a body, every other value skipped without being built.
#[derive(Deserialize)]
struct RequestIdOnly {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
}

/// The requestId of a body the parser refuses to build (too large or too deep), so its Failure can still be
/// correlated: one pass that keeps nothing but that string. None when it cannot be read (or is too long to be one).
pub fn request_id_hint(bytes: &[u8], limits: &Limits) -> Option<String> {
    serde_json::from_slice::<RequestIdOnly>(bytes)
        .ok()?
        .request_id
        .filter(|id| !id.is_empty() && id.len() <= limits.max_request_id_bytes)
}

/// A Failure for a body refused as a whole, correlated when its requestId can still be read.
fn refused_whole(bytes: &[u8], limits: &Limits, message: String) -> IngressError {
    IngressError {
        request_id: request_id_hint(bytes, limits),
        ..generic(message, None)
    }
}

/// Parses one ingress message body.
///
/// ```
/// use message_schema::parse::parse_ingress;
/// use message_schema::ingress::IngressRequest;
/// let body = br#"{"messageName":"ReadContractRequest","requestId":"r1",
///   "contractLedgerIdentifier":"27b3b7ad-10ce-4bd4-a72c-1bf215709a21","messageSchemaVersion":"1.0.0"}"#;
/// assert!(matches!(parse_ingress(body), Ok(IngressRequest::Read(_))));
/// let err = parse_ingress(b"[]").unwrap_err();
/// assert_eq!(err.code.code(), 4000);
/// assert!(!err.is_correlatable());
/// ```
pub fn parse_ingress(bytes: &[u8]) -> Result<IngressRequest, IngressError> {
    parse_ingress_with(bytes, &Limits::default())
}

/// Parses one ingress message body within `limits`.
///
/// ```
/// use message_schema::limits::Limits;
/// use message_schema::parse::parse_ingress_with;
/// let limits = Limits { max_request_id_bytes: 4, ..Limits::default() };
/// let body = br#"{"messageName":"ReadContractRequest","requestId":"r-12345",
///   "contractLedgerIdentifier":"27b3b7ad-10ce-4bd4-a72c-1bf215709a21","messageSchemaVersion":"1.0.0"}"#;
/// let err = parse_ingress_with(body, &limits).unwrap_err();
/// assert!(err.message.contains("limits.max_request_id_bytes"));
/// assert!(err.request_id_cut);
/// ```
pub fn parse_ingress_with(bytes: &[u8], limits: &Limits) -> Result<IngressRequest, IngressError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(refused_whole(
            bytes,
            limits,
            over_limit(
                "body",
                bytes.len(),
                "bytes",
                limits.max_message_bytes,
                "max_message_bytes",
            ),
        ));
    }
    let depth = json_depth(bytes);
    if depth > limits.max_json_depth {
        return Err(refused_whole(
            bytes,
            limits,
            over_limit(
                "body: JSON nesting",
                depth,
                "levels deep",
                limits.max_json_depth,
                "max_json_depth",
            ),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(generic(
            "body is empty (expected a JSON object)".to_owned(),
            None,
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        generic(
            format!("body is not valid JSON ({e}); expected a JSON object"),
            None,
        )
    })?;
    let Value::Object(object) = &value else {
        return Err(generic(
            format!("body: expected a JSON object, found {}", describe(&value)),
            None,
        ));
    };
    let request_id = match object.get("requestId") {
        Some(Value::String(s)) if s.len() > limits.max_request_id_bytes => {
            return Err(IngressError {
                request_id: Some(cut(s, REQUEST_ID_SHOWN_BYTES)),
                request_id_cut: true,
                ..generic(
                    format!(
                        "{}; it begins {:?}",
                        over_limit(
                            "requestId",
                            s.len(),
                            "bytes",
                            limits.max_request_id_bytes,
                            "max_request_id_bytes"
                        ),
                        cut(s, REQUEST_ID_SHOWN_BYTES)
                    ),
                    Some("requestId"),
                )
            });
        }
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        None => {
            return Err(generic(
                "requestId: missing (expected a non-empty string)".to_owned(),
                Some("requestId"),
            ));
        }
        Some(Value::String(_)) => {
            return Err(generic(
                "requestId: empty (expected a non-empty string)".to_owned(),
                Some("requestId"),
            ));
        }
        Some(other) => {
            return Err(generic(
                format!(
                    "requestId: expected a non-empty string, found {}",
                    describe(other)
                ),
                Some("requestId"),
            ));
        }
    };
    let reader = Reader {
        object,
        request_id,
        limits,
    };
    let expected_names = MESSAGE_NAMES.join(", ");
    let message_name = reader.string("messageName", &format!("one of {expected_names}"))?;
    if !MESSAGE_NAMES.contains(&message_name.as_str()) {
        return Err(reader.fail(
            "messageName",
            format!(
                "messageName: unknown message {} (expected one of {expected_names})",
                describe(&Value::String(message_name))
            ),
        ));
    }
    let message_schema_version = reader.version()?;
    let request_id = reader.request_id.clone().unwrap_or_default();
    let user_chain_identifier = reader.user_chain_identifier()?;
    Ok(match message_name.as_str() {
        "CreateContractRequest" => IngressRequest::Create(CreateContractRequest {
            request_id,
            workflow_name: reader.string("workflowName", "a workflow name")?,
            parameters: reader.parameters()?,
            message_schema_version,
            user_chain_identifier,
        }),
        "CreateContractActionRequest" => IngressRequest::Action(CreateContractActionRequest {
            request_id,
            contract_ledger_identifier: reader.uuid("contractLedgerIdentifier")?,
            workflow_function_name: reader
                .string("workflowFunctionName", "a workflow function name")?,
            parameters: reader.parameters()?,
            message_schema_version,
            user_chain_identifier,
        }),
        _ => IngressRequest::Read(ReadContractRequest {
            request_id,
            contract_ledger_identifier: reader.uuid("contractLedgerIdentifier")?,
            message_schema_version,
            user_chain_identifier,
        }),
    })
}
