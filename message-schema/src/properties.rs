//! `contractProperties`: a contract payload flattened to `[{workflowPropertyId: null, name, value}]`.
//!
//! Rules: record fields in order; nested records join names with `.` (`address.city`); list elements are `name[1]`,
//! `name[2]`, … (1-based); text maps are `name.key`; an optional holding a value flattens that value under the same
//! name and an empty optional is the value `""`; a variant is `name` = its constructor plus its value under
//! `name.<Constructor>`; every value is rendered as a string by [`render`]; the top-level linear id field is left out.

use crate::egress::ContractProperty;
use crate::time::{format_date, format_timestamp};
use crate::value::{LedgerValue, Record};

/// Flattens `record`, leaving out the top-level field `exclude_field` (the linear id).
///
/// ```
/// use message_schema::value::{LedgerValue, Record};
/// let r = Record::new()
///     .with("linearId", LedgerValue::Text("27b3b7ad-10ce-4bd4-a72c-1bf215709a21".into()))
///     .with("state", LedgerValue::Enum("Created".into()))
///     .with("readings", LedgerValue::List(vec![LedgerValue::Int64(4), LedgerValue::Int64(7)]));
/// let props = message_schema::properties::flatten(&r, "linearId");
/// let names: Vec<_> = props.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
/// assert_eq!(names, [("state", "Created"), ("readings[1]", "4"), ("readings[2]", "7")]);
/// ```
pub fn flatten(record: &Record, exclude_field: &str) -> Vec<ContractProperty> {
    let mut out = Vec::with_capacity(record.fields.len());
    for field in &record.fields {
        if field.label == exclude_field {
            continue;
        }
        flatten_value(&field.label, &field.value, &mut out);
    }
    out
}

fn push(out: &mut Vec<ContractProperty>, name: String, value: String) {
    out.push(ContractProperty {
        workflow_property_id: None,
        name,
        value,
    });
}

fn flatten_value(name: &str, value: &LedgerValue, out: &mut Vec<ContractProperty>) {
    match value {
        LedgerValue::Record(record) => {
            for field in &record.fields {
                flatten_value(&format!("{name}.{}", field.label), &field.value, out);
            }
        }
        LedgerValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_value(&format!("{name}[{}]", i + 1), item, out);
            }
        }
        LedgerValue::TextMap(entries) => {
            for (key, item) in entries {
                flatten_value(&format!("{name}.{key}"), item, out);
            }
        }
        LedgerValue::Optional(Some(inner)) => flatten_value(name, inner, out),
        LedgerValue::Optional(None) => push(out, name.to_owned(), String::new()),
        LedgerValue::Variant { constructor, value } => {
            push(out, name.to_owned(), constructor.clone());
            if !matches!(**value, LedgerValue::Unit) {
                flatten_value(&format!("{name}.{constructor}"), value, out);
            }
        }
        scalar => push(out, name.to_owned(), render(scalar)),
    }
}

/// Renders a value as one string: numbers in decimal, booleans `true`/`false`, timestamps RFC 3339 UTC, dates
/// `YYYY-MM-DD`, enums by constructor, unit as `""`; composite values as compact text.
///
/// ```
/// use message_schema::value::LedgerValue;
/// assert_eq!(message_schema::properties::render(&LedgerValue::Timestamp(0)), "1970-01-01T00:00:00Z");
/// assert_eq!(message_schema::properties::render(&LedgerValue::Bool(true)), "true");
/// ```
pub fn render(value: &LedgerValue) -> String {
    match value {
        LedgerValue::Unit => String::new(),
        LedgerValue::Bool(b) => b.to_string(),
        LedgerValue::Int64(i) => i.to_string(),
        LedgerValue::Numeric(n)
        | LedgerValue::Text(n)
        | LedgerValue::Party(n)
        | LedgerValue::ContractId(n) => n.clone(),
        LedgerValue::Timestamp(micros) => format_timestamp(*micros),
        LedgerValue::Date(days) => format_date(*days),
        LedgerValue::Enum(constructor) => constructor.clone(),
        LedgerValue::Optional(None) => String::new(),
        LedgerValue::Optional(Some(inner)) => render(inner),
        LedgerValue::Variant { constructor, .. } => constructor.clone(),
        LedgerValue::List(_) | LedgerValue::TextMap(_) | LedgerValue::Record(_) => flatten(
            &Record {
                fields: vec![crate::value::RecordField {
                    label: String::new(),
                    value: value.clone(),
                }],
            },
            "\u{0}",
        )
        .into_iter()
        .map(|p| format!("{}={}", p.name, p.value))
        .collect::<Vec<_>>()
        .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(props: &[ContractProperty]) -> Vec<(String, String)> {
        props
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect()
    }

    #[test]
    fn nested_shapes_flatten_in_order() {
        let address = Record::new()
            .with("city", LedgerValue::Text("Berlin".into()))
            .with("zip", LedgerValue::Int64(10115));
        let r = Record::new()
            .with("owner", LedgerValue::Party("Alice".into()))
            .with("linearId", LedgerValue::Text("x".into()))
            .with("address", LedgerValue::Record(address))
            .with(
                "tags",
                LedgerValue::List(vec![
                    LedgerValue::Text("a".into()),
                    LedgerValue::Text("b".into()),
                ]),
            )
            .with("note", LedgerValue::Optional(None))
            .with(
                "limit",
                LedgerValue::Optional(Some(Box::new(LedgerValue::Numeric("1.50".into())))),
            )
            .with("due", LedgerValue::Date(0))
            .with(
                "meta",
                LedgerValue::TextMap(vec![("k".into(), LedgerValue::Bool(false))]),
            )
            .with(
                "status",
                LedgerValue::Variant {
                    constructor: "Held".into(),
                    value: Box::new(LedgerValue::Int64(3)),
                },
            )
            .with(
                "grid",
                LedgerValue::List(vec![LedgerValue::List(vec![LedgerValue::Int64(1)])]),
            );
        assert_eq!(
            names(&flatten(&r, "linearId")),
            [
                ("owner", "Alice"),
                ("address.city", "Berlin"),
                ("address.zip", "10115"),
                ("tags[1]", "a"),
                ("tags[2]", "b"),
                ("note", ""),
                ("limit", "1.50"),
                ("due", "1970-01-01"),
                ("meta.k", "false"),
                ("status", "Held"),
                ("status.Held", "3"),
                ("grid[1][1]", "1"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert!(
            flatten(&r, "linearId")
                .iter()
                .all(|p| p.workflow_property_id.is_none())
        );
    }

    #[test]
    fn rendering_composites_is_compact_text() {
        let list = LedgerValue::List(vec![LedgerValue::Int64(1), LedgerValue::Int64(2)]);
        assert_eq!(render(&list), "[1]=1,[2]=2");
        assert_eq!(render(&LedgerValue::Unit), "");
        assert_eq!(render(&LedgerValue::Enum("On".into())), "On");
    }
}
