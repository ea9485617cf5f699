//! The parameter type grammar (`int64`, `numeric(2)`, `optional<list<date>>`, `enum(A|B)`) as JSON Schema patterns,
//! so an editor flags `integer` or `numeric(40)` where `connector check` would.
//!
//! A regular expression cannot match brackets to any depth, so the pattern spells out nesting up to
//! [`MAX_NESTING`] levels of `optional<…>` / `list<…>`; deeper types are valid for the loader but flagged by the
//! schema. Enum constructors are matched as ASCII names (Daml's identifiers are), while the loader also takes other
//! Unicode letters.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::{ParamType, TYPE_NAMES};

/// `optional<list<optional<list<optional<int64>>>>>` and no deeper.
pub const MAX_NESTING: usize = 5;

/// The simple type names, in the order error messages list them.
pub const SIMPLE_TYPES: [&str; 8] = [
    "text",
    "int64",
    "numeric",
    "bool",
    "party",
    "time",
    "date",
    "contract_id",
];

/// An enum constructor (the ASCII subset of what the loader takes).
pub const IDENTIFIER: &str = "[A-Za-z_][A-Za-z0-9_]*";

/// A type without the surrounding whitespace the loader trims: a simple name, `numeric(0..37)`, `enum(A|B)`, or one of
/// them inside up to [`MAX_NESTING`] `optional<…>` / `list<…>`.
fn type_expression() -> String {
    // `u32` parsing takes a leading `+` and zeros, so `numeric(+007)` is scale 7.
    let scale = r"\s*\+?0*([0-9]|[12][0-9]|3[0-7])\s*";
    let enumeration = format!(r"enum\(\s*{IDENTIFIER}(\s*\|\s*{IDENTIFIER})*\s*\)");
    let leaf = format!(
        r"({}|numeric\({scale}\)|{enumeration})",
        SIMPLE_TYPES.join("|")
    );
    let mut expression = leaf.clone();
    for _ in 0..MAX_NESTING {
        expression = format!(r"({leaf}|(optional|list)<\s*{expression}\s*>)");
    }
    expression
}

/// The short form `humidity: int64` (surrounding whitespace allowed, as the loader trims it).
pub fn short_form_pattern() -> String {
    format!(r"^\s*{}\s*$", type_expression())
}

/// The long form's `type:`, which may also be a bare `enum` (its constructors then come in `values:`).
pub fn long_form_type_pattern() -> String {
    format!(r"^(enum|{})$", type_expression())
}

impl JsonSchema for ParamType {
    fn schema_name() -> Cow<'static, str> {
        "ParamType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("A parameter type: one of {TYPE_NAMES}."),
            "type": "string",
            "pattern": short_form_pattern()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(pattern: String) -> jsonschema::Validator {
        jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern }))
            .unwrap()
    }

    /// Type texts people write, right and wrong: the short-form pattern accepts exactly those the loader parses.
    #[test]
    fn the_short_form_pattern_and_the_parser_agree() {
        let short = validator(short_form_pattern());
        let mut texts: Vec<String> = [
            "text",
            "int64",
            "numeric",
            "bool",
            "party",
            "time",
            "date",
            "contract_id",
            " int64 ",
            "numeric(0)",
            "numeric(37)",
            "numeric( 2 )",
            "numeric(+7)",
            "numeric(007)",
            "numeric(38)",
            "numeric(-1)",
            "numeric()",
            "numeric(2",
            "numeric 2",
            "optional<int64>",
            "optional< int64 >",
            "optional <int64>",
            "list<optional<date>>",
            "list<list<list<list<list<text>>>>>",
            "optional<int64",
            "list<>",
            "optional<>>",
            "optional<int64>>",
            "enum(A|B|C)",
            "enum( A | B )",
            "enum(A)",
            "enum()",
            "enum(A|)",
            "enum(1A)",
            "enum(A-B)",
            "enum",
            "Int64",
            "integer",
            "string",
            "",
            " ",
            "contract-id",
            "time(rfc3339)",
            "list<enum(Red|Green)>",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every simple type at every depth the pattern spells out, and one past it.
        for depth in 0..=MAX_NESTING {
            texts.push(format!(
                "{}numeric(2){}",
                "optional<list<".repeat(depth / 2) + &"optional<".repeat(depth % 2),
                ">".repeat(depth)
            ));
        }
        for text in &texts {
            let parsed = text.parse::<ParamType>().is_ok();
            assert_eq!(short.is_valid(&serde_json::json!(text)), parsed, "{text:?}");
        }
        let too_deep = format!(
            "{}int64{}",
            "list<".repeat(MAX_NESTING + 1),
            ">".repeat(MAX_NESTING + 1)
        );
        assert!(too_deep.parse::<ParamType>().is_ok());
        assert!(
            !short.is_valid(&serde_json::json!(too_deep)),
            "the documented limit"
        );
    }

    #[test]
    fn the_long_form_takes_a_bare_enum_but_not_surrounding_whitespace() {
        let long = validator(long_form_type_pattern());
        for (text, valid) in [
            ("enum", true),
            ("numeric", true),
            ("optional<int64>", true),
            (" int64", false),
            ("integer", false),
        ] {
            assert_eq!(long.is_valid(&serde_json::json!(text)), valid, "{text:?}");
        }
    }
}
