//! Reads totals back from the gateway's own Prometheus text, so the operator page shows the very numbers `/metrics`
//! exports (one source of truth) without a second set of counters in the request path.

use std::collections::BTreeMap;

/// One sample line: family name, labels, value. Comments, blank lines and lines that do not parse are skipped.
fn samples(text: &str) -> impl Iterator<Item = (&str, Vec<(String, String)>, f64)> {
    text.lines().filter_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (series, value) = line.rsplit_once(' ')?;
        let value: f64 = value.parse().ok()?;
        match series.split_once('{') {
            None => Some((series, Vec::new(), value)),
            Some((name, rest)) => Some((name, labels(rest.strip_suffix('}')?)?, value)),
        }
    })
}

/// `a="x",b="y\"z"` → pairs, unescaping `\\`, `\"` and `\n` as the text format escapes them.
fn labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        pairs.push((name.trim_start_matches(',').trim().to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(pairs)
}

/// The sum of every series of a family (0 when it is absent).
pub fn family_total(text: &str, family: &str) -> f64 {
    samples(text)
        .filter(|(name, _, _)| *name == family)
        .map(|(_, _, v)| v)
        .sum()
}

/// The family's value when it has exactly one unlabelled series (a gauge), else none.
pub fn gauge(text: &str, family: &str) -> Option<f64> {
    samples(text)
        .find(|(name, labels, _)| *name == family && labels.is_empty())
        .map(|(_, _, v)| v)
}

/// The family's totals grouped by one label's value.
pub fn totals_by_label(text: &str, family: &str, label: &str) -> BTreeMap<String, f64> {
    let mut totals = BTreeMap::new();
    for (name, labels, value) in samples(text) {
        if name != family {
            continue;
        }
        if let Some((_, key)) = labels.into_iter().find(|(l, _)| l == label) {
            *totals.entry(key).or_insert(0.0) += value;
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# TYPE connector_failures_total counter
connector_failures_total{code="4090"} 3
connector_failures_total{code="5030",x="a\"b,c"} 2
connector_failures_total{code="4090",message_name="X"} 1
connector_observer_offset_lag 7
connector_ingress_messages_total{message_name="a",outcome="completed"} 10
connector_ingress_messages_total{message_name="b",outcome="replayed"} 5
garbage line
connector_broken{code="1 4
"#;

    #[test]
    fn totals_sum_every_series_of_the_family() {
        assert_eq!(family_total(TEXT, "connector_ingress_messages_total"), 15.0);
        assert_eq!(family_total(TEXT, "connector_failures_total"), 6.0);
        assert_eq!(family_total(TEXT, "connector_absent_total"), 0.0);
    }

    #[test]
    fn totals_group_by_a_label_with_escaped_neighbours() {
        let by_code = totals_by_label(TEXT, "connector_failures_total", "code");
        assert_eq!(by_code.get("4090"), Some(&4.0));
        assert_eq!(by_code.get("5030"), Some(&2.0));
        assert_eq!(by_code.len(), 2);
    }

    #[test]
    fn a_gauge_is_its_unlabelled_series() {
        assert_eq!(gauge(TEXT, "connector_observer_offset_lag"), Some(7.0));
        assert_eq!(gauge(TEXT, "connector_failures_total"), None);
    }
}
