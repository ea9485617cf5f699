//! The run history's filters as text: the `GET /requests` query parameters and the `connector requests list`
//! flags, checked alike. A bad value is refused with a message naming the parameter, the value and the expected
//! form; nothing is clamped or guessed.

use serde_json::{Value, json};

use super::unix_time::parse_unix_ms_or_rfc3339;
use crate::outcome_store::{HistoryQuery, MAX_LIST_LIMIT, StatusFilter};

/// A refused parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub parameter: String,
    pub value: String,
    pub expected: String,
}

impl ParamError {
    fn new(parameter: &str, value: &str, expected: impl Into<String>) -> Self {
        Self {
            parameter: parameter.to_owned(),
            value: value.to_owned(),
            expected: expected.into(),
        }
    }

    /// The JSON body of the 400 answer.
    pub fn to_json(&self) -> Value {
        json!({
            "error": self.to_string(),
            "parameter": self.parameter,
            "value": self.value,
            "expected": self.expected,
        })
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {:?} is not accepted (expected {})",
            self.parameter, self.value, self.expected
        )
    }
}

/// What `status` accepts.
pub const STATUS_EXPECTED: &str = "committed or failure";
/// What `code` accepts.
pub const CODE_EXPECTED: &str = "an error code, a whole number from 1000 to 9999 such as 4090";
/// What `since` accepts.
pub const SINCE_EXPECTED: &str =
    "an RFC 3339 time such as 2026-11-30T04:39:23Z, or unix milliseconds such as 1796013563123";

/// What `limit` accepts.
pub fn limit_expected() -> String {
    format!("a whole number from 1 to {MAX_LIST_LIMIT}")
}

/// Reads `status`.
pub fn parse_status(value: &str) -> Result<StatusFilter, ParamError> {
    match value {
        "committed" => Ok(StatusFilter::Committed),
        "failure" => Ok(StatusFilter::Failure),
        _ => Err(ParamError::new("status", value, STATUS_EXPECTED)),
    }
}

/// Reads `code`.
pub fn parse_code(value: &str) -> Result<u16, ParamError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|code| (1000..=9999).contains(code))
        .ok_or_else(|| ParamError::new("code", value, CODE_EXPECTED))
}

/// Reads `since` (unix milliseconds).
pub fn parse_since(value: &str) -> Result<u64, ParamError> {
    parse_unix_ms_or_rfc3339(value).ok_or_else(|| ParamError::new("since", value, SINCE_EXPECTED))
}

/// Reads `limit`.
pub fn parse_limit(value: &str) -> Result<usize, ParamError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|limit| (1..=MAX_LIST_LIMIT).contains(limit))
        .ok_or_else(|| ParamError::new("limit", value, limit_expected()))
}

/// The query that `GET /requests?…` parameters ask for; each parameter at most once, no others.
pub fn query_from_params(params: &[(String, String)]) -> Result<HistoryQuery, ParamError> {
    let mut query = HistoryQuery::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in params {
        if seen.contains(&name.as_str()) {
            return Err(ParamError::new(name, value, "the parameter at most once"));
        }
        match name.as_str() {
            "status" => query.status = Some(parse_status(value)?),
            "code" => query.code = Some(parse_code(value)?),
            "since" => query.since_ms = Some(parse_since(value)?),
            "limit" => query.limit = parse_limit(value)?,
            _ => {
                return Err(ParamError::new(
                    name,
                    value,
                    "only the parameters status, code, since and limit",
                ));
            }
        }
        seen.push(name);
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome_store::DEFAULT_LIST_LIMIT;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn good_parameters_make_the_query_and_the_limit_has_a_default() {
        let query = query_from_params(&params(&[
            ("status", "failure"),
            ("code", "4090"),
            ("since", "2026-11-30T04:39:23.123Z"),
            ("limit", "1000"),
        ]))
        .unwrap();
        assert_eq!(query.status, Some(StatusFilter::Failure));
        assert_eq!(query.code, Some(4090));
        assert_eq!(query.since_ms, Some(1_796_013_563_123));
        assert_eq!(query.limit, 1000);
        assert_eq!(query_from_params(&[]).unwrap().limit, DEFAULT_LIST_LIMIT);
    }

    #[test]
    fn bad_parameters_are_refused_naming_parameter_value_and_form() {
        for (name, value) in [
            ("status", "done"),
            ("code", "40x"),
            ("code", "70000"),
            ("since", "yesterday"),
            ("limit", "0"),
            ("limit", "1001"),
            ("limit", "-1"),
            ("stauts", "failure"),
        ] {
            let error = query_from_params(&params(&[(name, value)])).unwrap_err();
            assert_eq!(
                (error.parameter.as_str(), error.value.as_str()),
                (name, value)
            );
            let text = error.to_string();
            assert!(text.contains(name) && text.contains("expected"), "{text}");
        }
        let twice = query_from_params(&params(&[("limit", "5"), ("limit", "6")])).unwrap_err();
        assert_eq!(twice.parameter, "limit");
    }
}
