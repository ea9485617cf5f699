//! A snapshot's body: a case's whole egress as one pretty-printed JSON array, one message per element in publishing
//! order, each message's keys in wire order.
//!
//! One array (rather than messages one after another) keeps the body a single JSON document that any JSON tool
//! reads, and a line diff of two bodies shows a changed value on its own line with its key. Wire order holds because
//! the egress is parsed with serde_json's `preserve_order` (the workspace enables it), and pretty-printing changes
//! only whitespace: JSON strings cannot hold a raw line break, so every line of the body is one key or bracket.

use serde_json::Value;

/// The body for `egress` (already parsed, in order).
pub fn render(egress: &[Value]) -> String {
    // Serialising a `Value` cannot fail: its map keys are strings and it holds no foreign types.
    serde_json::to_string_pretty(egress).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_wire_order_and_each_value_has_its_own_line() {
        let wire = br#"{"z":1,"messageName":"X","a":{"y":[1,"two"],"b":null}}"#;
        let message: Value = serde_json::from_slice(wire).unwrap();
        let body = render(&[message, Value::from(2)]);
        assert_eq!(
            body,
            "[\n  {\n    \"z\": 1,\n    \"messageName\": \"X\",\n    \"a\": {\n      \"y\": [\n        1,\n        \"two\"\n      ],\n      \"b\": null\n    }\n  },\n  2\n]"
        );
        assert_eq!(render(&[]), "[]");
    }
}
