//! serde's "unknown field" and "unknown variant" errors rewritten to teach: the name given, the closest valid one,
//! then every valid one. serde lists the choices but leaves the user to find their typo among twenty of them.
//!
//! The rewrite works on serde's message text because that is all `deny_unknown_fields` gives (the derive builds the
//! message, and no hook sees the expected names first). serde's wording has been stable since 1.0; a message that
//! does not match it is passed through unchanged, so a change there loses the suggestion, never the error.

use crate::closest_name::suggestion;

/// `unknown field `ordring`, expected one of `amqp`, …` → `unknown key "ordring" — did you mean "ordering"? (expected
/// one of: amqp, …)`; any other message is returned as it is.
pub fn teach_unknown_name(message: &str) -> String {
    let (what, rest) = if let Some(rest) = message.strip_prefix("unknown field `") {
        ("key", rest)
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        ("value", rest)
    } else {
        return message.to_owned();
    };
    // The given name ends where serde's wording resumes (a name holding a backtick is still read whole).
    let Some(end) = rest
        .find("`, expected ")
        .or_else(|| rest.find("`, there are no "))
    else {
        return message.to_owned();
    };
    let given = &rest[..end];
    let expected_text = &rest[end + "`, ".len()..];
    let expected: Vec<&str> = if expected_text.starts_with("there are no") {
        Vec::new()
    } else if let Some(list) = expected_text.strip_prefix("expected ") {
        // "`a`", "`a` or `b`", "one of `a`, `b`, …": the names are every other piece between backticks.
        list.split('`').skip(1).step_by(2).collect()
    } else {
        return message.to_owned();
    };
    let choices = if expected.is_empty() {
        format!("(no {what}s are allowed here)")
    } else {
        format!("(expected one of: {})", expected.join(", "))
    };
    format!(
        "unknown {what} {given:?}{} {choices}",
        suggestion(given, expected.iter().copied())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_get_the_closest_key_and_the_list() {
        assert_eq!(
            teach_unknown_name(
                "unknown field `prefetsh`, expected one of `url`, `ingress_queue`, `prefetch`"
            ),
            "unknown key \"prefetsh\" — did you mean \"prefetch\"? (expected one of: url, ingress_queue, prefetch)"
        );
        assert_eq!(
            teach_unknown_name("unknown field `nmae`, expected `name` or `input`"),
            "unknown key \"nmae\" — did you mean \"name\"? (expected one of: name, input)"
        );
        assert_eq!(
            teach_unknown_name("unknown field `x`, expected `rules`"),
            "unknown key \"x\" (expected one of: rules)"
        );
        assert_eq!(
            teach_unknown_name("unknown field `x`, there are no fields"),
            "unknown key \"x\" (no keys are allowed here)"
        );
    }

    #[test]
    fn unknown_variants_get_the_closest_value() {
        assert_eq!(
            teach_unknown_name("unknown variant `quorom`, expected `classic` or `quorum`"),
            "unknown value \"quorom\" — did you mean \"quorum\"? (expected one of: classic, quorum)"
        );
    }

    /// Serde's own wording, produced by a real `deny_unknown_fields` type: the rewrite must recognise it.
    #[test]
    fn serdes_own_message_is_recognised() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Settings {
            ingress_queue: Option<String>,
            egress_exchange: Option<String>,
        }
        let e = serde_json::from_value::<Settings>(serde_json::json!({"ingres_queue": "q"}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            teach_unknown_name(&e),
            "unknown key \"ingres_queue\" — did you mean \"ingress_queue\"? (expected one of: ingress_queue, egress_exchange)"
        );
    }

    #[test]
    fn other_messages_pass_through() {
        for message in [
            "invalid type: integer `3`, expected a string",
            "missing field `party`",
            "unknown field without backticks",
        ] {
            assert_eq!(teach_unknown_name(message), message);
        }
    }
}
