//! Reading the metric names out of a PromQL expression as Grafana and Prometheus hold them, for
//! `tests/ops_files.rs`: the expression is tokenized (strings, durations, label matchers, Grafana's `$variables`),
//! its brackets must balance and its functions must be PromQL's, and what remains in selector position is a metric
//! name. A hand-written reader, so the check needs no PromQL crate; it is strict where a typo would otherwise slip
//! through (an unknown function, a name without the `connector_` prefix that is not Prometheus's own `up`).

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// A Grafana variable (`$instance`, `$__rate_interval`), replaced by Grafana before PromQL sees it.
    Variable,
    Number,
    Str,
    Open(char),
    Close(char),
    Comma,
    Operator,
}

/// Aggregations, functions and Grafana's `label_values` that may be called.
const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "delta",
    "deriv",
    "floor",
    "histogram_quantile",
    "idelta",
    "increase",
    "irate",
    "label_values",
    "last_over_time",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "quantile",
    "rate",
    "resets",
    "round",
    "scalar",
    "sum",
    "sum_over_time",
    "time",
    "topk",
    "vector",
];

/// Keywords; those in `GROUPING` are followed by a parenthesized list of label names.
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset"];
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Metric names that need not start with `connector_`: Prometheus's own.
const FOREIGN_METRICS: &[&str] = &["up"];

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '"' | '\'' | '`' => {
                let quote = c;
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string in {expr:?}")),
                        Some('\\') if quote != '`' => i += 2,
                        Some(&d) if d == quote => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                tokens.push(Token::Str);
            }
            '$' => {
                i += 1;
                let start = i;
                while chars.get(i).is_some_and(|&d| ident_char(d)) {
                    i += 1;
                }
                if i == start {
                    return Err(format!("a lone `$` in {expr:?}"));
                }
                tokens.push(Token::Variable);
            }
            c if ident_start(c) => {
                let start = i;
                while chars.get(i).is_some_and(|&d| ident_char(d)) {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            c if c.is_ascii_digit() || c == '.' => {
                // Numbers and durations (`0.99`, `5m`, `1h30m`).
                while chars
                    .get(i)
                    .is_some_and(|&d| d.is_ascii_alphanumeric() || d == '.')
                {
                    i += 1;
                }
                tokens.push(Token::Number);
            }
            '(' | '{' | '[' => {
                tokens.push(Token::Open(c));
                i += 1;
            }
            ')' | '}' | ']' => {
                tokens.push(Token::Close(c));
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '=' | '!' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | '^' => {
                let len = match (c, chars.get(i + 1)) {
                    ('=' | '!', Some('=' | '~')) | ('<' | '>', Some('=')) => 2,
                    ('!', _) => return Err(format!("a lone `!` in {expr:?}")),
                    _ => 1,
                };
                i += len;
                tokens.push(Token::Operator);
            }
            other => return Err(format!("unexpected {other:?} in {expr:?}")),
        }
    }
    Ok(tokens)
}

/// The metric names a PromQL expression selects (Grafana's `$variables` allowed; `label_values(m, label)` too).
/// Errors name what is wrong: unbalanced brackets, an unterminated string, an unknown function, a label matcher
/// that is not `name op "value"`, a metric without the `connector_` prefix.
pub fn metric_names(expr: &str) -> Result<BTreeSet<String>, String> {
    let tokens = tokenize(expr)?;
    let mut names = BTreeSet::new();
    let mut stack: Vec<char> = Vec::new();
    // Open parentheses that hold label names (`by (le)`, `label_values(m, label)`'s second argument).
    let mut label_list_depth: Option<usize> = None;
    let mut label_values_depth: Option<usize> = None;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open(c) => {
                if *c == '(' && i > 0 {
                    if let Token::Ident(prev) = &tokens[i - 1] {
                        if GROUPING.contains(&prev.as_str()) {
                            label_list_depth = Some(stack.len());
                        } else if prev == "label_values" {
                            label_values_depth = Some(stack.len());
                        }
                    }
                }
                if *c == '{' {
                    // Label matchers, `name op "value"` separated by commas, up to the closing brace.
                    i += 1;
                    loop {
                        match &tokens[i..] {
                            [Token::Close('}'), ..] => break,
                            [Token::Ident(_), Token::Operator, Token::Str, rest @ ..] => {
                                i += 3;
                                match rest.first() {
                                    Some(Token::Comma) => i += 1,
                                    Some(Token::Close('}')) => {}
                                    _ => {
                                        return Err(format!(
                                            "a malformed label matcher in {expr:?}"
                                        ));
                                    }
                                }
                            }
                            _ => return Err(format!("a malformed label matcher in {expr:?}")),
                        }
                    }
                    i += 1;
                    continue;
                }
                stack.push(*c);
            }
            Token::Close(c) => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(want) {
                    return Err(format!("unbalanced {c:?} in {expr:?}"));
                }
                if label_list_depth == Some(stack.len()) {
                    label_list_depth = None;
                }
                if label_values_depth == Some(stack.len()) {
                    label_values_depth = None;
                }
            }
            Token::Comma if label_values_depth == Some(stack.len().saturating_sub(1)) => {
                // `label_values(metric, label)`: what follows the comma is a label name.
                label_list_depth = Some(stack.len() - 1);
            }
            Token::Ident(name) => {
                // `sum by (le) (…)` calls `sum` too.
                let called = match tokens.get(i + 1) {
                    Some(Token::Open('(')) => true,
                    Some(Token::Ident(next)) => next == "by" || next == "without",
                    _ => false,
                };
                if label_list_depth.is_some() {
                    // A label name.
                } else if called {
                    if !FUNCTIONS.contains(&name.as_str()) && !GROUPING.contains(&name.as_str()) {
                        return Err(format!("unknown function {name:?} in {expr:?}"));
                    }
                } else if KEYWORDS.contains(&name.as_str()) || GROUPING.contains(&name.as_str()) {
                    // `sum(x) by (le)` puts the grouping after the call.
                } else if name.starts_with("connector_") || FOREIGN_METRICS.contains(&name.as_str())
                {
                    names.insert(name.clone());
                } else {
                    return Err(format!(
                        "{name:?} in {expr:?} is neither a connector_ metric, nor up, nor a PromQL keyword"
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(open) = stack.pop() {
        return Err(format!("unclosed {open:?} in {expr:?}"));
    }
    Ok(names)
}

/// The metric family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count` series are its own.
pub fn family<'a>(name: &'a str, histograms: &BTreeSet<String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && histograms.contains(base)
        {
            return base;
        }
    }
    name
}
