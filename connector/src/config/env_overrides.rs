//! `CONNECTOR_<PATH>` environment overrides, applied to the parsed YAML tree before typed deserialisation.
//!
//! `__` separates path segments (`CONNECTOR_AMQP__URL` → `amqp.url`) because single underscores occur inside keys
//! (`ingress_queue`). Environment names are upper case, so segments match existing keys case-insensitively
//! (`CONNECTOR_WORKFLOWS__REFRIGERATEDTRANSPORTATION__TEMPLATE`); a segment naming no existing key creates it in
//! lower case. The value keeps the type of the value it replaces (a string stays a string, so a queue named "123"
//! works); a new value is read as a number or boolean when it looks like one, and the loader falls back to the text
//! when the config wants text at that path.

use serde_json::{Map, Value};

use super::ConfigError;

const PREFIX: &str = "CONNECTOR_";

/// A value that was set at a path the YAML did not have, so its type was guessed from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredOverride {
    /// The dotted config path, as the typed loader reports it (`amqp.ingress_queue`).
    pub path: String,
    pub raw: String,
}

/// Applies every `CONNECTOR_*` variable of `env` to `tree`; returns the values whose type was guessed.
pub fn apply_env_overrides(
    tree: &mut Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<InferredOverride>, ConfigError> {
    let mut inferred = Vec::new();
    let mut overrides: Vec<(String, String)> = env
        .into_iter()
        // The PostgreSQL password is read from the environment by the state store itself, never put in the config.
        .filter(|(name, _)| {
            name.starts_with(PREFIX)
                && name.len() > PREFIX.len()
                && name != super::STATE_POSTGRES_PASSWORD_ENV
        })
        .collect();
    // Deterministic regardless of the environment's iteration order.
    overrides.sort();
    for (name, value) in overrides {
        let segments: Vec<&str> = name[PREFIX.len()..].split("__").collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(ConfigError::Env {
                variable: name.clone(),
                message:
                    "expected CONNECTOR_<SECTION>__<KEY>, with `__` between non-empty segments"
                        .to_owned(),
            });
        }
        let mut path = Vec::new();
        let guessed =
            set_path(tree, &segments, &value, &mut path).map_err(|message| ConfigError::Env {
                variable: name.clone(),
                message,
            })?;
        if guessed {
            inferred.push(InferredOverride {
                path: path.join("."),
                raw: value,
            });
        }
    }
    Ok(inferred)
}

/// Sets `path` (dotted, existing keys) to the string `raw`: the fallback when a guessed type was wrong.
pub fn set_as_string(tree: &mut Value, path: &str, raw: &str) {
    let mut node = tree;
    for key in path.split('.') {
        let Value::Object(map) = node else { return };
        let Some(next) = map.get_mut(key) else { return };
        node = next;
    }
    *node = Value::String(raw.to_owned());
}

/// Sets the value; returns whether its type had to be guessed (no value was there before).
fn set_path(
    node: &mut Value,
    segments: &[&str],
    raw: &str,
    path: &mut Vec<String>,
) -> Result<bool, String> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(false);
    };
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else {
        return Err(format!(
            "cannot set {first:?} inside a value that is not a mapping"
        ));
    };
    let key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case(first))
        .cloned()
        .unwrap_or_else(|| first.to_ascii_lowercase());
    path.push(key.clone());
    let slot = map.entry(key).or_insert(Value::Null);
    if rest.is_empty() {
        let guessed = slot.is_null();
        *slot = typed_like(slot, raw)?;
        Ok(guessed && !slot.is_string())
    } else {
        set_path(slot, rest, raw, path)
    }
}

fn typed_like(existing: &Value, raw: &str) -> Result<Value, String> {
    match existing {
        Value::String(_) => Ok(Value::String(raw.to_owned())),
        Value::Bool(_) => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, found {raw:?}")),
        },
        Value::Number(_) => serde_json::from_str::<serde_json::Number>(raw)
            .map(Value::Number)
            .map_err(|_| format!("expected a number, found {raw:?}")),
        Value::Object(_) | Value::Array(_) => serde_json::from_str(raw).map_err(|_| {
            format!("this key holds a mapping or list: expected it as JSON, found {raw:?}")
        }),
        Value::Null => Ok(infer(raw)),
    }
}

fn infer(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match serde_json::from_str::<serde_json::Number>(raw) {
            Ok(n) if !raw.starts_with('+') => Value::Number(n),
            _ => Value::String(raw.to_owned()),
        },
    }
}
