//! Every parameter type's conversions and every error path.

use super::*;

fn ok(t: &str, raw: &str) -> LedgerValue {
    t.parse::<ParamType>().unwrap().convert(raw).unwrap()
}

fn err(t: &str, raw: &str) -> String {
    t.parse::<ParamType>().unwrap().convert(raw).unwrap_err()
}

#[test]
fn type_names_parse_and_display_round_trip() {
    for name in [
        "text",
        "int64",
        "numeric(10)",
        "numeric(0)",
        "bool",
        "party",
        "time",
        "date",
        "contract_id",
        "optional<int64>",
        "list<text>",
        "list<optional<date>>",
        "enum(A|B|C)",
    ] {
        let t: ParamType = name.parse().unwrap();
        assert_eq!(t.to_string(), name);
    }
    assert_eq!(
        "numeric".parse::<ParamType>().unwrap(),
        ParamType::Numeric { scale: 10 }
    );
}

#[test]
fn unknown_types_list_the_expected_ones() {
    let e = "integer".parse::<ParamType>().unwrap_err();
    assert!(e.contains("unknown type \"integer\""), "{e}");
    assert!(e.contains("int64") && e.contains("optional<T>"), "{e}");
    assert!(
        "numeric(99)"
            .parse::<ParamType>()
            .unwrap_err()
            .contains("0 to 37")
    );
    assert!(
        "enum()"
            .parse::<ParamType>()
            .unwrap_err()
            .contains("enum constructors")
    );
    assert!(
        "list<integer>"
            .parse::<ParamType>()
            .unwrap_err()
            .contains("\"integer\"")
    );
}

#[test]
fn long_form_checks_its_options() {
    assert_eq!(
        ParamType::from_parts("time", None, Some("unix_seconds"), None).unwrap(),
        ParamType::Time {
            format: TimeFormat::UnixSeconds
        }
    );
    assert!(
        ParamType::from_parts("time", None, Some("epoch"), None)
            .unwrap_err()
            .contains("unknown time format")
    );
    assert!(
        ParamType::from_parts("text", Some(2), None, None)
            .unwrap_err()
            .contains("`scale` does not apply")
    );
    assert!(
        ParamType::from_parts("enum", None, None, None)
            .unwrap_err()
            .contains("values")
    );
    assert_eq!(
        ParamType::from_parts("enum", None, None, Some(vec!["On".into(), "Off".into()])).unwrap(),
        ParamType::Enum(vec!["On".into(), "Off".into()])
    );
    assert_eq!(
        ParamType::from_parts("numeric", Some(2), None, None).unwrap(),
        ParamType::Numeric { scale: 2 }
    );
}

#[test]
fn text_and_party() {
    assert_eq!(ok("text", ""), LedgerValue::Text(String::new()));
    assert_eq!(
        ok("party", "O=Charly GmbH, L=Berlin"),
        LedgerValue::Party("O=Charly GmbH, L=Berlin".into())
    );
    assert!(err("party", " ").contains("non-empty party"));
    assert!(err("party", "a\nb").contains("control"));
}

#[test]
fn int64_is_strict() {
    assert_eq!(ok("int64", "-12"), LedgerValue::Int64(-12));
    assert_eq!(
        ok("int64", "9223372036854775807"),
        LedgerValue::Int64(i64::MAX)
    );
    for bad in [
        "",
        "12.5",
        "+3",
        " 3",
        "1e3",
        "9223372036854775808",
        "-",
        "0x10",
    ] {
        assert!(err("int64", bad).contains("whole number"), "{bad:?}");
    }
}

#[test]
fn numeric_is_canonical_and_never_rounds() {
    assert_eq!(
        ok("numeric(2)", "12.5"),
        LedgerValue::Numeric("12.50".into())
    );
    assert_eq!(
        ok("numeric", "007"),
        LedgerValue::Numeric("7.0000000000".into())
    );
    assert_eq!(ok("numeric(0)", "-42"), LedgerValue::Numeric("-42".into()));
    assert_eq!(
        ok("numeric(2)", "-0.00"),
        LedgerValue::Numeric("0.00".into())
    );
    assert_eq!(
        ok("numeric(2)", "1.2300"),
        LedgerValue::Numeric("1.23".into())
    );
    assert!(err("numeric(2)", "1.234").contains("at most 2 digits"));
    for bad in ["", ".5", "5.", "1,5", "abc", "--1", "1e5"] {
        assert!(err("numeric(2)", bad).contains("decimal number"), "{bad:?}");
    }
    assert!(err("numeric(10)", &"9".repeat(29)).contains("at most 28 digits before the point"));
}

#[test]
fn bool_is_exact() {
    assert_eq!(ok("bool", "true"), LedgerValue::Bool(true));
    assert_eq!(ok("bool", "false"), LedgerValue::Bool(false));
    assert!(err("bool", "True").contains("true or false"));
}

#[test]
fn time_formats() {
    assert_eq!(
        ok("time", "1732442400"),
        LedgerValue::Timestamp(1_732_442_400_000_000)
    );
    assert_eq!(
        ok("time", "1970-01-01T00:00:01Z"),
        LedgerValue::Timestamp(1_000_000)
    );
    let rfc = ParamType::Time {
        format: TimeFormat::Rfc3339,
    };
    assert!(rfc.convert("1732442400").unwrap_err().contains("RFC 3339"));
    let unix = ParamType::Time {
        format: TimeFormat::UnixSeconds,
    };
    assert!(
        unix.convert("1970-01-01T00:00:01Z")
            .unwrap_err()
            .contains("unix seconds")
    );
    assert!(err("time", "yesterday").contains("RFC 3339"));
    assert!(
        err("time", "99999999999999999").contains("RFC 3339"),
        "overflowing seconds are refused"
    );
}

#[test]
fn dates() {
    assert_eq!(ok("date", "1970-01-02"), LedgerValue::Date(1));
    assert!(err("date", "2026-02-30").contains("YYYY-MM-DD"));
    assert!(err("date", "24.11.2026").contains("YYYY-MM-DD"));
}

#[test]
fn contract_ids() {
    assert_eq!(
        ok("contract_id", "00abc"),
        LedgerValue::ContractId("00abc".into())
    );
    assert!(err("contract_id", "").contains("contract id"));
    assert!(err("contract_id", "a b").contains("contract id"));
}

#[test]
fn optional_wraps_and_reports_inner_errors() {
    assert_eq!(
        ok("optional<int64>", "5"),
        LedgerValue::Optional(Some(Box::new(LedgerValue::Int64(5))))
    );
    assert!(err("optional<int64>", "x").contains("whole number"));
    assert!(
        "optional<int64>"
            .parse::<ParamType>()
            .unwrap()
            .is_optional()
    );
    assert!(!"int64".parse::<ParamType>().unwrap().is_optional());
}

#[test]
fn lists_are_json_array_text() {
    assert_eq!(
        ok("list<int64>", "[1, \"2\"]"),
        LedgerValue::List(vec![LedgerValue::Int64(1), LedgerValue::Int64(2)])
    );
    assert_eq!(ok("list<text>", "[]"), LedgerValue::List(vec![]));
    let e = err("list<int64>", "[1, \"x\"]");
    assert!(
        e.contains("element [2] \"x\"") && e.contains("whole number"),
        "{e}"
    );
    assert!(err("list<int64>", "1,2").contains("JSON array"));
    assert!(err("list<text>", "[{\"a\":1}]").contains("element [1]"));
}

#[test]
fn enums_are_closed() {
    assert_eq!(ok("enum(On|Off)", "On"), LedgerValue::Enum("On".into()));
    assert!(err("enum(On|Off)", "on").contains("one of On, Off"));
}

/// Found writing the type grammar's schema: an unclosed compound type went back and forth between `from_str` and
/// `from_parts` until the stack overflowed, so `connector check` crashed instead of naming the mistake.
#[test]
fn unclosed_compound_types_are_refused() {
    for t in ["optional<int64", "list<text", "numeric(2", "enum(A|B"] {
        let e = t.parse::<ParamType>().unwrap_err();
        assert!(e.contains("is not closed (expected "), "{t}: {e}");
        assert!(ParamType::from_parts(t, None, None, None).is_err(), "{t}");
    }
}

#[test]
fn unknown_type_names_suggest_the_meant_type() {
    for (given, meant) in [
        ("integer", "int64"),
        ("String", "text"),
        ("boolean", "bool"),
        ("decimal", "numeric"),
        ("timestamp", "time"),
        ("contract-id", "contract_id"),
        ("Int64", "int64"),
        ("dat", "date"),
    ] {
        let e = given.parse::<ParamType>().unwrap_err();
        assert!(
            e.starts_with(&format!(
                "unknown type {given:?} — did you mean {meant:?}? (expected one of text, int64"
            )),
            "{e}"
        );
    }
    let e = "blob".parse::<ParamType>().unwrap_err();
    assert!(
        e.starts_with("unknown type \"blob\" (expected one of"),
        "{e}"
    );
    let e = ParamType::from_parts("time", None, Some("unix"), None).unwrap_err();
    assert!(
        e.contains("\"unix\" — did you mean \"unix_seconds\"?"),
        "{e}"
    );
}
