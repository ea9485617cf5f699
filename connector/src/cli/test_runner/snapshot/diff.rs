//! What a failing snapshot case prints: the values that changed, each as a path, then a unified line diff of the
//! recorded body against the new one.
//!
//! The paths come first because a diff hunk shows a changed line but not which message or property it is in; an
//! array element that is an object with a string `name` (Workbench parameters and contract properties) is named by
//! it, `contractProperties[name=state].value`, since its index says little to a mapping's author.

use serde_json::Value;
use similar::TextDiff;

/// Lines of context around each change: enough to show a property's `name` line above its `value` line.
const CONTEXT_LINES: usize = 3;

/// A unified diff from `recorded` (the `.snap` body, empty when there is none) to `new`, every line indented by
/// `indent`.
pub fn line_diff(recorded: &str, new: &str, indent: &str) -> String {
    let recorded = with_final_newline(recorded);
    let new = with_final_newline(new);
    let diff = TextDiff::from_lines(recorded.as_str(), new.as_str());
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header("snapshot", "egress")
        .to_string();
    text.lines()
        .map(|line| format!("{indent}{line}\n"))
        .collect()
}

fn with_final_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

/// Every value that differs between two egress lists, as `path: was X, now Y` (e.g.
/// `egress[2].contractProperties[name=state].value: was "Created", now "Made"`), in message order; empty when they
/// are equal. All of them, not the first: one mapping change also changes ids derived from the transaction (its
/// hash, `blockId`), which come first in a message and would hide the cause.
pub fn differences(recorded: &[Value], new: &[Value]) -> Vec<String> {
    let mut found = Vec::new();
    differ_in_list(recorded, new, &mut String::from("egress"), &mut found);
    found
}

fn differ(recorded: &Value, new: &Value, path: &mut String, found: &mut Vec<String>) {
    match (recorded, new) {
        (Value::Object(r), Value::Object(n)) => {
            for (key, rv) in r {
                match n.get(key) {
                    None => found.push(format!("{path}.{key}: was {rv}, now absent")),
                    Some(nv) => {
                        let len = path.len();
                        path.push('.');
                        path.push_str(key);
                        differ(rv, nv, path, found);
                        path.truncate(len);
                    }
                }
            }
            for (key, nv) in n.iter().filter(|(key, _)| !r.contains_key(*key)) {
                found.push(format!("{path}.{key}: was absent, now {nv}"));
            }
            let recorded_keys: Vec<&String> = r.keys().filter(|k| n.contains_key(*k)).collect();
            let new_keys: Vec<&String> = n.keys().filter(|k| r.contains_key(*k)).collect();
            if recorded_keys != new_keys {
                found.push(format!(
                    "{path}: keys reordered: was {recorded_keys:?}, now {new_keys:?}"
                ));
            }
        }
        (Value::Array(r), Value::Array(n)) => differ_in_list(r, n, path, found),
        _ if recorded == new => {}
        _ => found.push(format!("{path}: was {recorded}, now {new}")),
    }
}

fn differ_in_list(recorded: &[Value], new: &[Value], path: &mut String, found: &mut Vec<String>) {
    for (i, (r, n)) in recorded.iter().zip(new).enumerate() {
        let len = path.len();
        match r.get("name").and_then(Value::as_str) {
            Some(name) => path.push_str(&format!("[name={name}]")),
            None => path.push_str(&format!("[{i}]")),
        }
        differ(r, n, path, found);
        path.truncate(len);
    }
    if recorded.len() != new.len() {
        found.push(format!(
            "{path}: was {} elements, now {}",
            recorded.len(),
            new.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_changed_value_is_named_by_its_path() {
        let recorded = [
            json!({"messageName": "A"}),
            json!({"blockId": 1, "contractProperties": [{"name": "owner", "value": "Op"}, {"name": "state", "value": "Created"}]}),
        ];
        let mut new = recorded.clone();
        new[1]["blockId"] = json!(2);
        new[1]["contractProperties"][1]["value"] = json!("Made");
        assert_eq!(
            differences(&recorded, &new),
            [
                "egress[1].blockId: was 1, now 2",
                "egress[1].contractProperties[name=state].value: was \"Created\", now \"Made\""
            ]
        );
        assert!(differences(&recorded, &recorded).is_empty());
        assert_eq!(
            differences(&recorded[..1], &recorded),
            ["egress: was 1 elements, now 2"]
        );
        assert_eq!(
            differences(&[json!({"a": 1, "c": 3})], &[json!({"a": 1, "b": 2})]),
            [
                "egress[0].c: was 3, now absent",
                "egress[0].b: was absent, now 2"
            ]
        );
        assert_eq!(
            differences(&[json!({"a": 1, "b": 2})], &[json!({"b": 2, "a": 1})]),
            ["egress[0]: keys reordered: was [\"a\", \"b\"], now [\"b\", \"a\"]"]
        );
    }

    #[test]
    fn the_line_diff_marks_removed_and_added_lines() {
        let diff = line_diff("[\n  1,\n  2\n]", "[\n  1,\n  3\n]", "  ");
        assert!(diff.starts_with("  --- snapshot\n  +++ egress\n"), "{diff}");
        assert!(diff.contains("\n  -  2\n  +  3\n"), "{diff}");
        let all_new = line_diff("", "[]", "");
        assert!(all_new.contains("\n+[]\n"), "{all_new}");
    }
}
