//! insta's `.snap` file format, written and read without insta (a dev-dependency only), so `cargo insta review` and
//! insta's own reader (`insta::Snapshot::from_file`) take the files `connector test` writes.
//!
//! A file is a YAML header between two `---` lines, then the body, then one newline:
//!
//! ```text
//! ---
//! source: examples/refrigerated-transportation/tests.yaml
//! expression: a shipment is created
//! ---
//! <body>
//! ```
//!
//! The header's strings are written the way insta's own YAML emitter writes them (plain when YAML would read them
//! back as the same string, else double-quoted with insta's escapes), so a file insta rewrites on accepting stays
//! byte-identical. Reading follows insta's `Snapshot::from_file`: the header ends at the first line that is `---`
//! (trailing whitespace ignored), and bodies compare after trimming trailing whitespace and turning CRLF into LF.

/// The whole `.snap` text for a body.
pub fn render(source: &str, expression: &str, body: &str) -> String {
    let mut text = String::from("---\n");
    for (key, value) in [("source", source), ("expression", expression)] {
        text.push_str(key);
        text.push_str(": ");
        push_yaml_string(&mut text, value);
        text.push('\n');
    }
    text.push_str("---\n");
    text.push_str(&normalize(body));
    text.push('\n');
    text
}

/// The body of a `.snap` text, normalised as insta compares it; the error says what is wrong with the file.
pub fn body_of(text: &str) -> Result<String, String> {
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "---" => {}
        _ => return Err("its first line is not `---` (not an insta snapshot file)".to_owned()),
    }
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            return Ok(normalize(&lines.collect::<String>()));
        }
    }
    Err("its header has no closing `---` line".to_owned())
}

/// What insta compares: no trailing whitespace, LF line ends (a checkout with `core.autocrlf` still matches).
pub fn normalize(body: &str) -> String {
    body.trim_end().replace("\r\n", "\n")
}

/// A YAML scalar that reads back as `value`, spelled as insta's emitter spells it.
fn push_yaml_string(out: &mut String, value: &str) {
    if !needs_quotes(value) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\0'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// insta's rule (its vendored emitter's `need_quotes`): anything YAML could read as another type, or as syntax.
fn needs_quotes(value: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "True", "TRUE", "true", "False", "FALSE", "false",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
    ];
    value.is_empty()
        || value.starts_with(' ')
        || value.ends_with(' ')
        || value.starts_with(['&', '*', '?', '|', '-', '<', '>', '=', '!', '%', '@', '.'])
        || value.starts_with("0x")
        || value.contains(|c: char| {
            matches!(
                c,
                ':' | '{'
                    | '}'
                    | '['
                    | ']'
                    | ','
                    | '#'
                    | '`'
                    | '"'
                    | '\''
                    | '\\'
                    | '\0'..='\u{6}'
                    | '\t'
                    | '\n'
                    | '\r'
                    | '\u{e}'..='\u{1a}'
                    | '\u{1c}'..='\u{1f}'
            )
        })
        || KEYWORDS.contains(&value)
        || value.parse::<i64>().is_ok()
        || value.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// insta's own reader is the judge of compatibility: what it reads back must be what was written.
    fn read_with_insta(text: &str) -> insta::Snapshot {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tests__case.snap");
        std::fs::write(&path, text).unwrap();
        insta::Snapshot::from_file(&path).unwrap()
    }

    #[test]
    fn insta_reads_back_the_header_and_body() {
        let awkward = [
            "a shipment is created",
            "colon: and # hash",
            "- starts like a list item",
            "\"quoted\" and \\ backslash",
            "tab\tnew\nline \u{7} bell \u{7f} del",
            "true",
            "12",
            "1e3",
            "",
            " padded ",
            "0x1f",
            ".hidden",
            "Grüße, 日本",
        ];
        let body = "[\n  {\n    \"a\": 1\n  }\n]";
        for name in awkward {
            let text = render("dir/my tests.yaml", name, body);
            let snapshot = read_with_insta(&text);
            assert_eq!(snapshot.metadata().expression(), Some(name), "{text}");
            assert_eq!(
                snapshot.metadata().source(),
                Some("dir/my tests.yaml"),
                "{text}"
            );
            let contents = snapshot.contents().as_text().unwrap().to_string();
            assert_eq!(contents, body, "{text}");
            assert_eq!(body_of(&text).unwrap(), body);
        }
    }

    #[test]
    fn plain_strings_stay_plain_like_insta_writes_them() {
        assert_eq!(
            render("tests.yaml", "a shipment is created", "[]"),
            "---\nsource: tests.yaml\nexpression: a shipment is created\n---\n[]\n"
        );
        let text = render("t.yaml", "x: y", "[]");
        assert!(text.contains("expression: \"x: y\"\n"), "{text}");
    }

    #[test]
    fn bodies_compare_as_insta_compares_them() {
        let text = "---\r\nsource: t\r\nexpression: e\r\n---\r\n[\r\n  1\r\n]\r\n\r\n";
        assert_eq!(body_of(text).unwrap(), "[\n  1\n]");
        assert!(
            body_of("[]\n")
                .unwrap_err()
                .contains("first line is not `---`")
        );
        assert!(
            body_of("---\nsource: t\n[]\n")
                .unwrap_err()
                .contains("no closing `---`")
        );
    }
}
