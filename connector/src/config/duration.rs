//! Durations in the config as people write them: `7d`, `12h`, `30m`, `90s`, `2w`, `500ms`.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};

const EXPECTED: &str = "a whole number followed by ms, s, m, h, d or w, such as \"7d\" or \"30m\"";

/// A duration read from text like `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses `<whole number><unit>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{text:?} has no unit (expected {EXPECTED})"))?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().map_err(|_| {
            if number.is_empty() {
                format!("{text:?} does not start with a whole number (expected {EXPECTED})")
            } else {
                // Digits that do not fit 64 bits.
                format!("{text:?} is too long (expected {EXPECTED})")
            }
        })?;
        let seconds_per = match unit {
            "ms" => return Ok(Self(Duration::from_millis(number))),
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (expected {EXPECTED})"
                ));
            }
        };
        number
            .checked_mul(seconds_per)
            .map(|s| Self(Duration::from_secs(s)))
            .ok_or_else(|| format!("{text:?} is too long (expected {EXPECTED})"))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)
            .map_err(|_| serde::de::Error::custom(format!("expected {EXPECTED}")))?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "HumanDuration".into()
    }

    /// What [`HumanDuration::parse`] reads, as a pattern (it trims the text first). A number too large for its unit
    /// (`99999999999999999999w`) matches the pattern but is refused by the loader: a schema cannot count.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("A duration: {EXPECTED}."),
            "type": "string",
            "pattern": "^\\s*[0-9]+(ms|s|m|h|d|w)\\s*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_and_the_parser_agree() {
        let schema = schemars::schema_for!(HumanDuration);
        let validator = jsonschema::validator_for(schema.as_value()).unwrap();
        for text in [
            "7d", "2w", "12h", "30m", " 90s ", "500ms", "0s", "7", "d", "7 days", "-1d", "1.5h",
            "", "7D", "7days", "1 d", "ms", "10mss", "\t3h\n",
        ] {
            let parsed = HumanDuration::parse(text).is_ok();
            let value = serde_json::json!(text);
            assert_eq!(validator.is_valid(&value), parsed, "{text:?}");
        }
        assert!(!validator.is_valid(&serde_json::json!(7)), "a bare number");
    }

    #[test]
    fn units_and_refusals() {
        assert_eq!(
            HumanDuration::parse("7d").unwrap().0,
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            HumanDuration::parse("2w").unwrap().0,
            Duration::from_secs(14 * 86_400)
        );
        assert_eq!(
            HumanDuration::parse("12h").unwrap().0,
            Duration::from_secs(43_200)
        );
        assert_eq!(
            HumanDuration::parse("30m").unwrap().0,
            Duration::from_secs(1800)
        );
        assert_eq!(
            HumanDuration::parse(" 90s ").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            HumanDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        for bad in [
            "7",
            "d",
            "7 days",
            "-1d",
            "1.5h",
            "99999999999999999999w",
            "",
        ] {
            assert!(HumanDuration::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            HumanDuration::parse("7days")
                .unwrap_err()
                .contains("unknown unit \"days\"")
        );
        assert!(
            HumanDuration::parse("99999999999999999999w")
                .unwrap_err()
                .starts_with("\"99999999999999999999w\" is too long"),
            "a number past 64 bits is not said to be missing"
        );
    }
}
