//! Matching actual egress against expected egress with placeholders.
//!
//! Placeholders (whole string values): `{{any}}` matches anything; `{{bind:NAME}}` matches anything the first time
//! and the same value every later time; `{{linear_id:REQ}}` is the linear id a create with requestId REQ gets, and
//! `{{contract_id:REQ}}` its 64-bit contractId. In inputs, `{{linear_id:REQ}}` is replaced before sending.

use std::collections::HashMap;

use message_schema::linear_id::linear_id_for;
use serde_json::Value;

/// Values bound by `{{bind:NAME}}`.
#[derive(Debug, Default)]
pub struct Bindings(HashMap<String, Value>);

fn placeholder(s: &str) -> Option<&str> {
    s.strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .map(str::trim)
}

/// Replaces `{{linear_id:REQ}}` occurrences in input text.
pub fn substitute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{linear_id:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{linear_id:".len()..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&linear_id_for(after[..end].trim()).to_string());
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Matches `actual` against `expected` at `path`; the error names the path and both values.
pub fn match_value(
    expected: &Value,
    actual: &Value,
    path: &str,
    exact: bool,
    bindings: &mut Bindings,
) -> Result<(), String> {
    let mismatch = |what: String| Err(format!("{path}: {what}"));
    if let Value::String(s) = expected
        && let Some(p) = placeholder(s)
    {
        return match p.split_once(':') {
            None if p == "any" => Ok(()),
            Some(("bind", name)) => match bindings.0.get(name) {
                None => {
                    bindings.0.insert(name.to_owned(), actual.clone());
                    Ok(())
                }
                Some(bound) if bound == actual => Ok(()),
                Some(bound) => mismatch(format!(
                    "expected {{{{bind:{name}}}}} = {bound}, got {actual}"
                )),
            },
            Some(("linear_id", req)) => {
                let want = Value::String(linear_id_for(req.trim()).to_string());
                if &want == actual {
                    Ok(())
                } else {
                    mismatch(format!(
                        "expected {want} (linear id of {req:?}), got {actual}"
                    ))
                }
            }
            Some(("contract_id", req)) => {
                let want =
                    Value::from(message_schema::ids::contract_id(&linear_id_for(req.trim())));
                if &want == actual {
                    Ok(())
                } else {
                    mismatch(format!(
                        "expected {want} (contractId of {req:?}), got {actual}"
                    ))
                }
            }
            _ => mismatch(format!(
                "unknown placeholder {s:?} (expected {{{{any}}}}, {{{{bind:NAME}}}}, {{{{linear_id:REQ}}}} or {{{{contract_id:REQ}}}})"
            )),
        };
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                match a.get(key) {
                    Some(av) => match_value(ev, av, &format!("{path}.{key}"), exact, bindings)?,
                    None => return mismatch(format!("missing key {key:?}")),
                }
            }
            if exact {
                let expected_keys: Vec<&String> = e.keys().collect();
                let actual_keys: Vec<&String> = a.keys().collect();
                if expected_keys != actual_keys {
                    return mismatch(format!(
                        "keys differ: expected {expected_keys:?}, got {actual_keys:?}"
                    ));
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return mismatch(format!("expected {} elements, got {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                match_value(ev, av, &format!("{path}[{i}]"), exact, bindings)?;
            }
            Ok(())
        }
        // YAML authors write 64-bit ids as numbers or strings; compare their text when types differ.
        (Value::String(e), Value::Number(a)) if e == &a.to_string() => Ok(()),
        _ if expected == actual => Ok(()),
        _ => mismatch(format!("expected {expected}, got {actual}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_and_exact_matching() {
        let mut b = Bindings::default();
        let actual = json!({"a": 1, "b": {"c": [1, 2]}, "d": "x"});
        assert!(match_value(&json!({"a": 1}), &actual, "m", false, &mut b).is_ok());
        let err = match_value(&json!({"a": 1}), &actual, "m", true, &mut b).unwrap_err();
        assert!(err.contains("keys differ"), "{err}");
        let err =
            match_value(&json!({"b": {"c": [1, 3]}}), &actual, "m", false, &mut b).unwrap_err();
        assert_eq!(err, "m.b.c[1]: expected 3, got 2");
        let err = match_value(&json!({"z": 1}), &actual, "m", false, &mut b).unwrap_err();
        assert!(err.contains("missing key \"z\""));
    }

    #[test]
    fn placeholders() {
        let mut b = Bindings::default();
        assert!(match_value(&json!("{{any}}"), &json!([1]), "p", false, &mut b).is_ok());
        assert!(match_value(&json!("{{bind:tx}}"), &json!(7), "p", false, &mut b).is_ok());
        assert!(match_value(&json!("{{bind:tx}}"), &json!(7), "p", false, &mut b).is_ok());
        assert!(match_value(&json!("{{bind:tx}}"), &json!(8), "p", false, &mut b).is_err());
        let lid = linear_id_for("c1").to_string();
        assert!(match_value(&json!("{{linear_id:c1}}"), &json!(lid), "p", false, &mut b).is_ok());
        assert!(match_value(&json!("{{linear_id:c2}}"), &json!(lid), "p", false, &mut b).is_err());
        let cid = message_schema::ids::contract_id(&linear_id_for("c1"));
        assert!(
            match_value(
                &json!("{{contract_id:c1}}"),
                &json!(cid),
                "p",
                false,
                &mut b
            )
            .is_ok()
        );
        assert!(
            match_value(&json!("{{nope}}"), &json!(1), "p", false, &mut b)
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(
            match_value(
                &json!("18446744073709551615"),
                &json!(u64::MAX),
                "p",
                false,
                &mut b
            )
            .is_ok()
        );
    }

    #[test]
    fn input_substitution() {
        let lid = linear_id_for("c1").to_string();
        assert_eq!(substitute("x {{linear_id:c1}} y"), format!("x {lid} y"));
        assert_eq!(substitute("no placeholder"), "no placeholder");
        assert_eq!(substitute("{{linear_id:broken"), "{{linear_id:broken");
    }
}
