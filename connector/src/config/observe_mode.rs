//! `observe:`: which ledger transactions the observer publishes. Its own file because both its parsing and its
//! JSON Schema are written by hand (YAML 1.1 reads a bare `off` as `false`), and the two must say the same thing.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::closest_name::suggestion;

/// What the ledger observer publishes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ObserveMode {
    /// Transactions the gateway's own requests did not cause.
    #[default]
    External,
    /// Every transaction on mapped templates (own ones are published twice: once as the request's outcome).
    All,
    /// Nothing.
    Off,
}

const NAMES: [&str; 3] = ["external", "all", "off"];

impl<'de> Deserialize<'de> for ObserveMode {
    /// `external`, `all` or `off`. A bare `off` is YAML 1.1's boolean false, so `false` means `off` too.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Flag(bool),
        }
        const EXPECTED: &str = "expected one of external, all, off";
        match Raw::deserialize(deserializer).map_err(|_| serde::de::Error::custom(EXPECTED))? {
            Raw::Text(text) => match text.as_str() {
                "external" => Ok(Self::External),
                "all" => Ok(Self::All),
                "off" => Ok(Self::Off),
                other => Err(serde::de::Error::custom(format!(
                    "unknown mode {other:?}{} ({EXPECTED})",
                    suggestion(other, NAMES)
                ))),
            },
            Raw::Flag(false) => Ok(Self::Off),
            Raw::Flag(true) => Err(serde::de::Error::custom(format!(
                "true is not a mode ({EXPECTED})"
            ))),
        }
    }
}

impl JsonSchema for ObserveMode {
    fn schema_name() -> Cow<'static, str> {
        "ObserveMode".into()
    }

    /// The three names, and `false`: what the parser reads from a bare `off` under YAML 1.1 (an editor following
    /// YAML 1.2 sees the text `off`, which is listed too).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Which ledger transactions the observer publishes: `external` (others' transactions), `all`, or `off` (`false` means `off`).",
            "enum": ["external", "all", "off", false]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema accepts exactly what the parser accepts, on the values people write.
    #[test]
    fn the_schema_and_the_parser_agree() {
        let schema = schemars::schema_for!(ObserveMode);
        let validator = jsonschema::validator_for(schema.as_value()).unwrap();
        for value in [
            serde_json::json!("external"),
            serde_json::json!("all"),
            serde_json::json!("off"),
            serde_json::json!(false),
            serde_json::json!(true),
            serde_json::json!("extrenal"),
            serde_json::json!("Off"),
            serde_json::json!(0),
            serde_json::json!(null),
        ] {
            let parsed = serde_json::from_value::<ObserveMode>(value.clone()).is_ok();
            assert_eq!(validator.is_valid(&value), parsed, "{value}");
        }
    }

    #[test]
    fn a_misspelt_mode_gets_the_closest_name() {
        let e = serde_json::from_value::<ObserveMode>(serde_json::json!("extrenal")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown mode \"extrenal\" — did you mean \"external\"?"),
            "{e}"
        );
    }
}
