//! Conditions of the template catalog (`"arg.temperature > maxTemperature"`): parsed once, evaluated against a
//! contract payload and a choice argument.
//!
//! Form: `<operand> <op> <operand>`, op one of `== != < <= > >=`; an operand is `arg.<field>` (the choice argument),
//! `<field>` (the payload; for `ensure`, the create arguments), an integer or decimal literal, `true`/`false`, or a
//! quoted string. Numbers (int64, numeric, timestamps, dates) compare exactly as decimals; text, parties and enums by
//! equality and text order. A missing field or a type mismatch makes the condition fail with a message saying so.

use std::cmp::Ordering;
use std::fmt;

use message_schema::value::{LedgerValue, Record};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A payload field.
    Field(String),
    /// A field of the choice argument.
    Arg(String),
    /// A literal.
    Literal(LedgerValue),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub left: Operand,
    pub op: CmpOp,
    pub right: Operand,
    text: String,
}

/// Why a condition text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "condition {text:?}: {problem} (expected `<operand> <op> <operand>` with op one of == != < <= > >=, operands `arg.<field>`, `<field>`, a number, true/false or a quoted string)"
)]
pub struct ConditionError {
    pub text: String,
    pub problem: String,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated string".to_owned());
            }
            i += 1;
            tokens.push(chars[start..i].iter().collect());
        } else if "=!<>".contains(c) {
            let start = i;
            while i < chars.len() && "=!<>".contains(chars[i]) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"=!<>".contains(chars[i]) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    Ok(tokens)
}

fn parse_operand(token: &str) -> Result<Operand, String> {
    if let Some(quoted) = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| token.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
    {
        return Ok(Operand::Literal(LedgerValue::Text(quoted.to_owned())));
    }
    match token {
        "true" => return Ok(Operand::Literal(LedgerValue::Bool(true))),
        "false" => return Ok(Operand::Literal(LedgerValue::Bool(false))),
        _ => {}
    }
    if decimal(token).is_some() {
        return Ok(Operand::Literal(LedgerValue::Numeric(token.to_owned())));
    }
    let is_name = |s: &str| {
        let mut c = s.chars();
        matches!(c.next(), Some(f) if f.is_alphabetic() || f == '_')
            && c.all(|c| c.is_alphanumeric() || c == '_')
    };
    if let Some(field) = token.strip_prefix("arg.") {
        if is_name(field) {
            return Ok(Operand::Arg(field.to_owned()));
        }
    } else if is_name(token) {
        return Ok(Operand::Field(token.to_owned()));
    }
    Err(format!("{token:?} is not an operand"))
}

impl Condition {
    /// Parses a condition text.
    ///
    /// ```
    /// use embedded_ledger::Condition;
    /// assert!(Condition::parse("arg.temperature > maxTemperature").is_ok());
    /// assert!(Condition::parse("temperature >").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        let err = |problem: String| ConditionError {
            text: text.to_owned(),
            problem,
        };
        let tokens = tokenize(text).map_err(err)?;
        let [left, op, right] = tokens.as_slice() else {
            return Err(err(format!("found {} parts", tokens.len())));
        };
        let op = match op.as_str() {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            other => return Err(err(format!("unknown operator {other:?}"))),
        };
        Ok(Self {
            left: parse_operand(left).map_err(err)?,
            op,
            right: parse_operand(right).map_err(err)?,
            text: text.to_owned(),
        })
    }

    /// Evaluates against a payload and an argument: `Ok(holds)` or an error saying why it could not be evaluated.
    pub fn evaluate(&self, payload: &Record, argument: Option<&Record>) -> Result<bool, String> {
        let resolve = |operand: &Operand| -> Result<LedgerValue, String> {
            match operand {
                Operand::Literal(v) => Ok(v.clone()),
                Operand::Field(f) => payload
                    .get(f)
                    .cloned()
                    .ok_or_else(|| format!("field {f:?} is not in the contract")),
                Operand::Arg(f) => argument
                    .and_then(|a| a.get(f))
                    .cloned()
                    .ok_or_else(|| format!("argument field {f:?} was not given")),
            }
        };
        let left = unwrap_optional(resolve(&self.left)?);
        let right = unwrap_optional(resolve(&self.right)?);
        let ordering = compare(&left, &right)
            .ok_or_else(|| format!("cannot compare {} with {}", kind(&left), kind(&right)))?;
        Ok(match self.op {
            CmpOp::Eq => ordering == Ordering::Equal,
            CmpOp::Ne => ordering != Ordering::Equal,
            CmpOp::Lt => ordering == Ordering::Less,
            CmpOp::Le => ordering != Ordering::Greater,
            CmpOp::Gt => ordering == Ordering::Greater,
            CmpOp::Ge => ordering != Ordering::Less,
        })
    }
}

fn unwrap_optional(value: LedgerValue) -> LedgerValue {
    match value {
        LedgerValue::Optional(Some(inner)) => unwrap_optional(*inner),
        other => other,
    }
}

fn kind(value: &LedgerValue) -> &'static str {
    match value {
        LedgerValue::Unit => "unit",
        LedgerValue::Bool(_) => "a boolean",
        LedgerValue::Int64(_) | LedgerValue::Numeric(_) => "a number",
        LedgerValue::Text(_) => "text",
        LedgerValue::Party(_) => "a party",
        LedgerValue::Timestamp(_) => "a time",
        LedgerValue::Date(_) => "a date",
        LedgerValue::ContractId(_) => "a contract id",
        LedgerValue::Optional(_) => "an empty optional",
        LedgerValue::List(_) => "a list",
        LedgerValue::TextMap(_) => "a map",
        LedgerValue::Record(_) => "a record",
        LedgerValue::Variant { .. } => "a variant",
        LedgerValue::Enum(_) => "an enum",
    }
}

/// An exact decimal: sign, integer digits without leading zeros, fraction digits without trailing zeros.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    int: String,
    frac: String,
}

fn decimal(text: &str) -> Option<Decimal> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0').to_owned();
    let frac = frac.trim_end_matches('0').to_owned();
    let zero = int.is_empty() && frac.is_empty();
    Some(Decimal {
        negative: negative && !zero,
        int,
        frac,
    })
}

fn cmp_decimal(a: &Decimal, b: &Decimal) -> Ordering {
    let magnitude = || {
        a.int
            .len()
            .cmp(&b.int.len())
            .then_with(|| a.int.cmp(&b.int))
            .then_with(|| a.frac.cmp(&b.frac))
    };
    match (a.negative, b.negative) {
        (false, false) => magnitude(),
        (true, true) => magnitude().reverse(),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn as_decimal(value: &LedgerValue) -> Option<Decimal> {
    match value {
        LedgerValue::Int64(i) => decimal(&i.to_string()),
        LedgerValue::Numeric(n) => decimal(n),
        LedgerValue::Timestamp(t) => decimal(&t.to_string()),
        LedgerValue::Date(d) => decimal(&d.to_string()),
        _ => None,
    }
}

fn as_text(value: &LedgerValue) -> Option<&str> {
    match value {
        LedgerValue::Text(s)
        | LedgerValue::Party(s)
        | LedgerValue::Enum(s)
        | LedgerValue::ContractId(s) => Some(s),
        _ => None,
    }
}

fn compare(a: &LedgerValue, b: &LedgerValue) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (as_decimal(a), as_decimal(b)) {
        return Some(cmp_decimal(&x, &y));
    }
    if let (Some(x), Some(y)) = (as_text(a), as_text(b)) {
        return Some(x.cmp(y));
    }
    match (a, b) {
        (LedgerValue::Bool(x), LedgerValue::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Record {
        Record::new()
            .with("maxHumidity", LedgerValue::Int64(60))
            .with("limit", LedgerValue::Numeric("12.50".into()))
            .with("state", LedgerValue::Enum("Created".into()))
            .with("owner", LedgerValue::Party("Alice".into()))
            .with(
                "flag",
                LedgerValue::Optional(Some(Box::new(LedgerValue::Bool(true)))),
            )
    }

    fn holds(text: &str, arg: Option<&Record>) -> Result<bool, String> {
        Condition::parse(text).unwrap().evaluate(&payload(), arg)
    }

    #[test]
    fn parses_every_operator_and_operand() {
        for text in [
            "a == b",
            "a!=b",
            "arg.x < 1",
            "x <= -2.5",
            "x > 'y z'",
            "x >= \"q\"",
            "flag == true",
        ] {
            assert!(Condition::parse(text).is_ok(), "{text}");
        }
        for bad in [
            "a",
            "a ==",
            "a =~ b",
            "a == b c",
            "arg. == 1",
            "1x == 2",
            "'open == 1",
        ] {
            let e = Condition::parse(bad).unwrap_err();
            assert!(
                e.to_string()
                    .contains("expected `<operand> <op> <operand>`"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn numbers_compare_exactly() {
        let arg = Record::new()
            .with("humidity", LedgerValue::Int64(61))
            .with("t", LedgerValue::Numeric("12.5".into()));
        assert_eq!(holds("arg.humidity > maxHumidity", Some(&arg)), Ok(true));
        assert_eq!(holds("arg.humidity <= maxHumidity", Some(&arg)), Ok(false));
        assert_eq!(
            holds("arg.t == limit", Some(&arg)),
            Ok(true),
            "12.5 == 12.50"
        );
        assert_eq!(
            holds("limit > 12.4999999999999999999", None),
            Ok(true),
            "no float rounding"
        );
        assert_eq!(holds("maxHumidity >= -100", None), Ok(true));
        assert_eq!(holds("-1 < -0.5", None), Ok(true));
    }

    #[test]
    fn text_bool_and_errors() {
        assert_eq!(holds("state == 'Created'", None), Ok(true));
        assert_eq!(holds("owner != \"Bob\"", None), Ok(true));
        assert_eq!(holds("flag == true", None), Ok(true));
        assert!(
            holds("missing == 1", None)
                .unwrap_err()
                .contains("\"missing\" is not in the contract")
        );
        assert!(
            holds("arg.x == 1", None)
                .unwrap_err()
                .contains("argument field \"x\"")
        );
        assert!(
            holds("owner > 3", None)
                .unwrap_err()
                .contains("cannot compare")
        );
    }
}
