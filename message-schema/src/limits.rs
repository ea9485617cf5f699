//! Limits on what one ingress message may hold, checked before the expensive work so that no single message can
//! make the gateway spend unbounded time or memory on it.
//!
//! The size is checked before anything is parsed, the nesting depth by one pass over the bytes before the JSON tree
//! is built, and the parameter count before any parameter is read. Each refusal names the limit, the value seen and
//! the setting that raises it (`limits.max_message_bytes` and so on, under the gateway's `limits:` section).

use schemars::JsonSchema;
use serde::Deserialize;

/// The limits, with the gateway's defaults.
// The `range` attributes repeat [`Limits::invalid_setting`] for the config's JSON Schema, so an editor flags a zero or
// a depth past the ceiling as `connector check` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    #[schemars(range(min = 1))]
    pub max_message_bytes: usize,
    /// Longest `requestId`, in UTF-8 bytes.
    #[schemars(range(min = 1))]
    pub max_request_id_bytes: usize,
    /// Most entries in `parameters`.
    #[schemars(range(min = 1))]
    pub max_parameters: usize,
    /// Longest parameter value, in UTF-8 bytes.
    #[schemars(range(min = 1))]
    pub max_parameter_value_bytes: usize,
    /// Deepest nesting of JSON arrays and objects (the message object itself is level 1).
    #[schemars(range(min = 1, max = JSON_DEPTH_CEILING))]
    pub max_json_depth: usize,
}

/// serde_json refuses nesting deeper than this on its own; a larger limit could never be reached.
pub const JSON_DEPTH_CEILING: usize = 128;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1024 * 1024,
            max_request_id_bytes: 200,
            max_parameters: 1000,
            max_parameter_value_bytes: 256 * 1024,
            max_json_depth: 32,
        }
    }
}

impl Limits {
    /// The first setting that cannot work, as `(setting, why)`.
    pub fn invalid_setting(&self) -> Option<(&'static str, String)> {
        let at_least_one = [
            ("max_message_bytes", self.max_message_bytes),
            ("max_request_id_bytes", self.max_request_id_bytes),
            ("max_parameters", self.max_parameters),
            ("max_parameter_value_bytes", self.max_parameter_value_bytes),
            ("max_json_depth", self.max_json_depth),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Some((name, "expected a whole number of at least 1".to_owned()));
        }
        if self.max_json_depth > JSON_DEPTH_CEILING {
            return Some((
                "max_json_depth",
                format!(
                    "{} is deeper than the JSON parser ever goes (expected at most {JSON_DEPTH_CEILING})",
                    self.max_json_depth
                ),
            ));
        }
        None
    }
}

/// The sentence for a value over a limit: names the limit, the value seen and the setting that raises it.
pub fn over_limit(what: &str, seen: usize, unit: &str, limit: usize, setting: &str) -> String {
    format!(
        "{what} is {seen} {unit}, over the limit of {limit} (raise limits.{setting} to accept it)"
    )
}

/// The deepest nesting of arrays and objects in `bytes`, read without building anything: brackets inside strings
/// do not count. Linear in the length, so it can run before the parser on a body of any depth.
pub fn json_depth(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `s` cut to at most `max_bytes` bytes on a character boundary, with `…` when something was cut.
pub fn cut(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_owned();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth(b"{}"), 1);
        assert_eq!(json_depth(br#"{"a":[{"b":[]}]}"#), 4);
        assert_eq!(json_depth(br#"{"a":"[[[[{{{{"}"#), 1);
        assert_eq!(json_depth(br#"{"a":"\"[[[","b":[1]}"#), 2);
        assert_eq!(json_depth(br#"{"a":"\\","b":[[1]]}"#), 3);
        assert_eq!(json_depth(b"not json at all"), 0);
        assert_eq!(json_depth(&[b'['; 200_000]), 200_000);
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc…");
        assert_eq!(cut("ééé", 3), "é…");
        assert_eq!(cut("🚚🚚", 5), "🚚…");
        assert_eq!(cut("🚚", 3), "…");
    }

    #[test]
    fn settings_that_cannot_work_are_named() {
        assert_eq!(Limits::default().invalid_setting(), None);
        let zero = Limits {
            max_parameters: 0,
            ..Limits::default()
        };
        assert_eq!(
            zero.invalid_setting().map(|(n, _)| n),
            Some("max_parameters")
        );
        let deep = Limits {
            max_json_depth: 129,
            ..Limits::default()
        };
        assert_eq!(
            deep.invalid_setting().map(|(n, _)| n),
            Some("max_json_depth")
        );
    }

    #[test]
    fn over_limit_names_value_limit_and_setting() {
        assert_eq!(
            over_limit("body", 2_000_000, "bytes", 1_048_576, "max_message_bytes"),
            "body is 2000000 bytes, over the limit of 1048576 (raise limits.max_message_bytes to accept it)"
        );
    }
}
