//! Parameter types of the workflow mapping and the conversion of a request's string value into a ledger value.
//!
//! Workbench sends every parameter value as a JSON string; the mapping declares what it means. Each conversion is
//! strict (no silent truncation or rounding) and its error says what was expected, so the Failure a client gets
//! names the parameter, the value and the type.

use std::fmt;
use std::str::FromStr;

use message_schema::time::{MAX_TIMESTAMP, MIN_TIMESTAMP, parse_date, parse_timestamp_rfc3339};
use message_schema::value::LedgerValue;

use crate::closest_name::{did_you_mean, suggestion};

mod json_schema;

pub use json_schema::{IDENTIFIER, MAX_NESTING, long_form_type_pattern, short_form_pattern};

/// Default scale of `numeric` (Daml's `Decimal` = `Numeric 10`).
pub const DEFAULT_NUMERIC_SCALE: u32 = 10;
/// Daml numerics hold at most 38 significant digits.
const MAX_NUMERIC_DIGITS: usize = 38;

/// How a `time` parameter is written by clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 text, or whole unix seconds.
    Any,
    Rfc3339,
    UnixSeconds,
}

/// A declared parameter type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    Text,
    Int64,
    Numeric {
        scale: u32,
    },
    Bool,
    Party,
    Time {
        format: TimeFormat,
    },
    Date,
    ContractId,
    Optional(Box<ParamType>),
    /// A JSON array text, each element converted with the inner type.
    List(Box<ParamType>),
    /// A closed list of enum constructors.
    Enum(Vec<String>),
}

const TYPE_NAMES: &str = "text, int64, numeric, numeric(<scale>), bool, party, time, date, contract_id, optional<T>, list<T>, enum(A|B|…)";

impl FromStr for ParamType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        if let Some(inner) = t
            .strip_prefix("optional<")
            .and_then(|r| r.strip_suffix('>'))
        {
            return Ok(ParamType::Optional(Box::new(inner.parse()?)));
        }
        if let Some(inner) = t.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return Ok(ParamType::List(Box::new(inner.parse()?)));
        }
        if let Some(inner) = t.strip_prefix("numeric(").and_then(|r| r.strip_suffix(')')) {
            let scale = inner
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|s| *s <= 37)
                .ok_or_else(|| {
                    format!("numeric scale {inner:?}: expected a whole number from 0 to 37")
                })?;
            return Ok(ParamType::Numeric { scale });
        }
        if let Some(inner) = t.strip_prefix("enum(").and_then(|r| r.strip_suffix(')')) {
            return enum_of(inner.split('|').map(|s| s.trim().to_owned()).collect());
        }
        // Refused here, before `from_parts`, which hands these prefixes back to this parser: an unclosed
        // `optional<int64` went round between the two until the stack overflowed.
        for (prefix, shape) in [
            ("optional<", "optional<T>"),
            ("list<", "list<T>"),
            ("numeric(", "numeric(<scale>)"),
            ("enum(", "enum(A|B|…)"),
        ] {
            if t.starts_with(prefix) {
                return Err(format!("type {t:?} is not closed (expected {shape})"));
            }
        }
        ParamType::from_parts(t, None, None, None)
    }
}

/// Names other languages and schemas use for the simple types: `integer` is not a typo of `int64`, but it is what
/// its author meant.
const SYNONYMS: [(&str, &str); 14] = [
    ("integer", "int64"),
    ("int", "int64"),
    ("long", "int64"),
    ("i64", "int64"),
    ("string", "text"),
    ("str", "text"),
    ("boolean", "bool"),
    ("decimal", "numeric"),
    ("number", "numeric"),
    ("float", "numeric"),
    ("double", "numeric"),
    ("timestamp", "time"),
    ("datetime", "time"),
    ("contractid", "contract_id"),
];

/// ` — did you mean "int64"?` for an unknown simple type name, when one is meant.
fn type_suggestion(name: &str) -> String {
    SYNONYMS
        .iter()
        .find(|(other, _)| other.eq_ignore_ascii_case(name))
        .map(|(_, ours)| *ours)
        .or_else(|| did_you_mean(name, json_schema::SIMPLE_TYPES))
        .map(|ours| format!(" — did you mean {ours:?}?"))
        .unwrap_or_default()
}

fn enum_of(values: Vec<String>) -> Result<ParamType, String> {
    if values.is_empty() || values.iter().any(|v| !is_identifier(v)) {
        return Err(format!(
            "enum constructors {values:?}: expected one or more names of letters, digits and _"
        ));
    }
    Ok(ParamType::Enum(values))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

impl ParamType {
    /// Builds a type from the long form `{ type, scale, format, values }`.
    pub fn from_parts(
        name: &str,
        scale: Option<u32>,
        format: Option<&str>,
        values: Option<Vec<String>>,
    ) -> Result<Self, String> {
        let only = |what: &str, allowed: bool| {
            if allowed {
                Ok(())
            } else {
                Err(format!("`{what}` does not apply to type {name:?}"))
            }
        };
        only("scale", scale.is_none() || name == "numeric")?;
        only("format", format.is_none() || name == "time")?;
        only("values", values.is_none() || name == "enum")?;
        match name {
            "text" => Ok(ParamType::Text),
            "int64" => Ok(ParamType::Int64),
            "numeric" => match scale {
                None => Ok(ParamType::Numeric {
                    scale: DEFAULT_NUMERIC_SCALE,
                }),
                Some(s) if s <= 37 => Ok(ParamType::Numeric { scale: s }),
                Some(s) => Err(format!(
                    "numeric scale {s}: expected a whole number from 0 to 37"
                )),
            },
            "bool" => Ok(ParamType::Bool),
            "party" => Ok(ParamType::Party),
            "time" => {
                let format = match format {
                    None | Some("any") => TimeFormat::Any,
                    Some("rfc3339") => TimeFormat::Rfc3339,
                    Some("unix_seconds") => TimeFormat::UnixSeconds,
                    Some(other) => {
                        return Err(format!(
                            "unknown time format {other:?}{} (expected one of any, rfc3339, unix_seconds)",
                            suggestion(other, ["any", "rfc3339", "unix_seconds"])
                        ));
                    }
                };
                Ok(ParamType::Time { format })
            }
            "date" => Ok(ParamType::Date),
            "contract_id" => Ok(ParamType::ContractId),
            "enum" => enum_of(values.ok_or_else(|| "enum needs `values: [A, B, …]`".to_owned())?),
            other
                if other.starts_with("optional<")
                    || other.starts_with("list<")
                    || other.starts_with("numeric(")
                    || other.starts_with("enum(") =>
            {
                other.parse()
            }
            other => Err(format!(
                "unknown type {other:?}{} (expected one of {TYPE_NAMES})",
                type_suggestion(other)
            )),
        }
    }

    /// Whether a request may leave the parameter out.
    pub fn is_optional(&self) -> bool {
        matches!(self, ParamType::Optional(_))
    }

    /// Converts a request's string value. The error is the expected form, to be prefixed with the parameter name.
    pub fn convert(&self, raw: &str) -> Result<LedgerValue, String> {
        match self {
            ParamType::Text => Ok(LedgerValue::Text(raw.to_owned())),
            ParamType::Int64 => parse_int64(raw).map(LedgerValue::Int64).ok_or_else(|| {
                "expected a whole number from -9223372036854775808 to 9223372036854775807"
                    .to_owned()
            }),
            ParamType::Numeric { scale } => parse_numeric(raw, *scale).map(LedgerValue::Numeric),
            ParamType::Bool => match raw {
                "true" => Ok(LedgerValue::Bool(true)),
                "false" => Ok(LedgerValue::Bool(false)),
                _ => Err("expected true or false".to_owned()),
            },
            ParamType::Party => {
                if raw.trim().is_empty() || raw.chars().any(char::is_control) {
                    Err(
                        "expected a non-empty party identifier without control characters"
                            .to_owned(),
                    )
                } else {
                    Ok(LedgerValue::Party(raw.to_owned()))
                }
            }
            ParamType::Time { format } => parse_time(raw, *format).map(LedgerValue::Timestamp),
            ParamType::Date => parse_date(raw)
                .map(LedgerValue::Date)
                .ok_or_else(|| "expected a date as YYYY-MM-DD".to_owned()),
            ParamType::ContractId => {
                if raw.trim().is_empty() || raw.chars().any(char::is_whitespace) {
                    Err("expected a contract id or a contract's linear id (UUID)".to_owned())
                } else {
                    Ok(LedgerValue::ContractId(raw.to_owned()))
                }
            }
            ParamType::Optional(inner) => {
                Ok(LedgerValue::Optional(Some(Box::new(inner.convert(raw)?))))
            }
            ParamType::List(inner) => convert_list(raw, inner),
            ParamType::Enum(values) => {
                if values.iter().any(|v| v == raw) {
                    Ok(LedgerValue::Enum(raw.to_owned()))
                } else {
                    Err(format!("expected one of {}", values.join(", ")))
                }
            }
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Text => f.write_str("text"),
            ParamType::Int64 => f.write_str("int64"),
            ParamType::Numeric { scale } => write!(f, "numeric({scale})"),
            ParamType::Bool => f.write_str("bool"),
            ParamType::Party => f.write_str("party"),
            ParamType::Time { format } => match format {
                TimeFormat::Any => f.write_str("time"),
                TimeFormat::Rfc3339 => f.write_str("time (rfc3339)"),
                TimeFormat::UnixSeconds => f.write_str("time (unix_seconds)"),
            },
            ParamType::Date => f.write_str("date"),
            ParamType::ContractId => f.write_str("contract_id"),
            ParamType::Optional(inner) => write!(f, "optional<{inner}>"),
            ParamType::List(inner) => write!(f, "list<{inner}>"),
            ParamType::Enum(values) => write!(f, "enum({})", values.join("|")),
        }
    }
}

fn parse_int64(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// Canonical Daml numeric text: `-?digits.digits` with exactly `scale` fractional digits (none when scale is 0).
fn parse_numeric(raw: &str, scale: u32) -> Result<String, String> {
    let expected = || {
        format!(
            "expected a decimal number with at most {scale} digits after the point (e.g. \"12.5\")"
        )
    };
    let (negative, unsigned) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, f),
        None => (unsigned, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
        || (unsigned.contains('.') && frac_part.is_empty())
    {
        return Err(expected());
    }
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > scale as usize {
        return Err(expected());
    }
    let int_trimmed = match int_part.trim_start_matches('0') {
        "" => "0",
        s => s,
    };
    if int_trimmed.len() + scale as usize > MAX_NUMERIC_DIGITS {
        return Err(format!(
            "expected at most {} digits before the point for numeric({scale})",
            MAX_NUMERIC_DIGITS - scale as usize
        ));
    }
    let is_zero = int_trimmed == "0" && frac_trimmed.is_empty();
    let mut out = String::with_capacity(int_trimmed.len() + scale as usize + 2);
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(int_trimmed);
    if scale > 0 {
        out.push('.');
        out.push_str(frac_trimmed);
        out.extend(std::iter::repeat_n(
            '0',
            scale as usize - frac_trimmed.len(),
        ));
    }
    Ok(out)
}

fn parse_time(raw: &str, format: TimeFormat) -> Result<i64, String> {
    let unix = || {
        parse_int64(raw)
            .and_then(|secs| secs.checked_mul(1_000_000))
            .filter(|micros| (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(micros))
    };
    let result = match format {
        TimeFormat::UnixSeconds => unix(),
        TimeFormat::Rfc3339 => parse_timestamp_rfc3339(raw),
        TimeFormat::Any => unix().or_else(|| parse_timestamp_rfc3339(raw)),
    };
    result.ok_or_else(|| {
        match format {
            TimeFormat::UnixSeconds => "expected whole unix seconds (e.g. \"1732442400\")",
            TimeFormat::Rfc3339 => "expected an RFC 3339 time (e.g. \"2026-11-24T10:00:00Z\")",
            TimeFormat::Any => {
                "expected an RFC 3339 time (e.g. \"2026-11-24T10:00:00Z\") or whole unix seconds"
            }
        }
        .to_owned()
    })
}

fn convert_list(raw: &str, inner: &ParamType) -> Result<LedgerValue, String> {
    let expected = || format!("expected a JSON array text of {inner} values (e.g. [\"a\", \"b\"])");
    let items: Vec<serde_json::Value> = serde_json::from_str(raw).map_err(|_| expected())?;
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let text = match item {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(format!("element [{}]: {}", i + 1, expected())),
        };
        values.push(
            inner
                .convert(&text)
                .map_err(|e| format!("element [{}] {:?}: {e}", i + 1, shown(&text)))?,
        );
    }
    Ok(LedgerValue::List(values))
}

/// An element's value as an error shows it: cut after 64 characters, like a parameter's value, so a long element
/// does not make the Failure as long as the request.
fn shown(text: &str) -> String {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz_findings {
    use super::*;

    /// Found probing the process_message fuzz target for echoed input: a list element was echoed whole, so one long
    /// element made the Failure as long as the request (the parameter's own value is cut at 64 characters).
    #[test]
    fn list_element_errors_cut_long_elements() {
        let long = "1".repeat(10_000);
        let raw = serde_json::to_string(&[&long]).unwrap();
        let e = ParamType::List(Box::new(ParamType::Numeric { scale: 3 }))
            .convert(&raw)
            .unwrap_err();
        assert!(e.len() < 300, "{} characters: {e}", e.len());
        assert!(e.starts_with("element [1] \"111"), "{e}");
        let nested = serde_json::to_string(&[&long]).unwrap();
        let e = "list<list<int64>>"
            .parse::<ParamType>()
            .unwrap()
            .convert(&serde_json::to_string(&[&nested]).unwrap())
            .unwrap_err();
        assert!(e.len() < 600, "{} characters: {e}", e.len());
    }

    /// Found probing the process_message fuzz target: unix seconds outside Daml's Timestamp range (0001-01-01T00:00:00Z
    /// to 9999-12-31T23:59:59.999999Z) were accepted and rendered as `287168-08-24T16:00:00Z`, which is not RFC 3339.
    #[test]
    fn unix_seconds_outside_the_ledger_range_are_refused() {
        let unix = ParamType::Time {
            format: TimeFormat::UnixSeconds,
        };
        for bad in ["253402300800", "9000000000000", "-62135596801"] {
            assert!(unix.convert(bad).is_err(), "{bad}");
        }
        assert!(
            ParamType::Time {
                format: TimeFormat::Any
            }
            .convert("253402300800")
            .is_err()
        );
        assert_eq!(
            unix.convert("253402300799"),
            Ok(LedgerValue::Timestamp(253_402_300_799_000_000))
        );
        assert_eq!(
            unix.convert("-62135596800"),
            Ok(LedgerValue::Timestamp(-62_135_596_800_000_000))
        );
    }
}
