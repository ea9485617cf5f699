//! The shipped Grafana dashboard (`ops/grafana/connector.json`) and Prometheus alert rules
//! (`ops/prometheus/alerts.yml`) against a real gateway: the real binary is sent a create, an action, an action the
//! ledger refuses (4090), one that hits a transient ledger fault once (a retry), one that panics (5000) and a body
//! that is not JSON (4000), and has its broker connection closed once (a reconnect); then every metric name in every
//! PromQL expression of both files must be one its `/metrics` actually exports. A renamed metric, or a panel
//! written against a name the gateway never had, fails here rather than on the on-call's screen. The files are
//! also checked for what makes them usable: JSON and YAML that parse, a data-source variable so the dashboard
//! imports anywhere, the panels the operator needs, and alerts that each say how long, how bad and what to do.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use support::example_requests::{action, bodies, create, linear_id, terminal_count};
use support::gateway_harness::Harness;
use support::promql_names::{family, metric_names};
use support::*;

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/grafana/connector.json");
const ALERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ops/prometheus/alerts.yml");

/// The families the dashboard must chart: each topic the operator asks about.
const CHARTED: &[&str] = &[
    "connector_ingress_messages_total",
    "connector_egress_messages_total",
    "connector_processing_seconds",
    "connector_failures_total",
    "connector_dead_letters_total",
    "connector_observer_offset_lag",
    "connector_ready",
    "connector_broker_reconnects_total",
    "connector_ledger_retries_total",
    "connector_panics_caught_total",
    "connector_outcomes_kept",
    "connector_outcomes_expired_total",
];

const MIN_PANELS: usize = 12;

#[derive(Debug, Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).expect("ops/grafana/connector.json is readable");
    serde_json::from_str(&text).expect("ops/grafana/connector.json is JSON")
}

fn rule_file() -> RuleFile {
    let text = std::fs::read_to_string(ALERTS).expect("ops/prometheus/alerts.yml is readable");
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("ops/prometheus/alerts.yml is not a Prometheus rule file: {e}"))
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every PromQL expression the dashboard runs: its panels' targets and its query variables, named for messages.
fn dashboard_expressions(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("panel {title:?} has a target without expr"));
            out.push((format!("panel {title:?}"), expr.to_owned()));
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]
            .get("query")
            .unwrap_or(&variable["query"])
            .as_str()
            .expect("a query variable has its query as text");
        out.push((format!("variable {}", variable["name"]), query.to_owned()));
    }
    out
}

fn alert_expressions(rules: &RuleFile) -> Vec<(String, String)> {
    rules
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .map(|r| (format!("alert {}", r.alert), r.expr.clone()))
        .collect()
}

/// The metric families a `/metrics` text exports (`# TYPE` lines, and the names of its samples), and which of them
/// are histograms.
fn exported(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut families = BTreeSet::new();
    let mut histograms = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (words.next(), words.next()) {
                families.insert(name.to_owned());
                if kind == "histogram" || kind == "summary" {
                    histograms.insert(name.to_owned());
                }
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            families.insert(line[..end].to_owned());
        }
    }
    (families, histograms)
}

fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_and_the_alerts_query_is_exported_by_a_real_gateway() {
    let h = Harness::new("ops-files", LedgerKind::Embedded).await;
    // The ledger (durable, in the test's own state dir) refuses the first transfer once: a retry.
    let ledger = "  embedded:\n    faults:\n      rules:\n        - { choice: TransferResponsibility, kind: transient, times: 1 }";
    // A sweep every second (outcomes kept/expired); one request whose processing panics.
    let extra = "state: { sweep_every: 1s }\nfaults:\n  rules:\n    - { request_id: ops-panic, kind: panic }";
    let config = h.config(ledger, extra);
    let gw = h.start(&config).await;

    let target = linear_id("ops-create");
    let mut messages = bodies(&[
        create("ops-create"),
        // The shipment is Created, not InTransit: Failure 4090.
        action("ops-complete", &target, "Complete", &[]),
        action(
            "ops-transfer",
            &target,
            "TransferResponsibility",
            &[("newCounterparty", "Carrier")],
        ),
        create("ops-panic"),
    ]);
    messages.push(b"not json at all".to_vec());
    h.broker.publish_all(&messages).await;
    let capture = h.names.capture_queue.clone();
    let egress = h
        .broker
        .collect_until(&capture, Duration::from_secs(60), |g| {
            terminal_count(g) >= 5
        })
        .await;
    assert_eq!(
        terminal_count(&egress),
        5,
        "every request answered: {egress:?}\n{}",
        gw.log_text()
    );
    assert!(
        close_connections(&h.names.connection_name) >= 1,
        "the test closes the gateway's broker connection"
    );

    let wanted = |m: &str| {
        metric_sum(m, "connector_failures_total", &[("code", "4090")]) >= 1.0
            && metric_sum(m, "connector_failures_total", &[("code", "4000")]) >= 1.0
            && metric_sum(m, "connector_failures_total", &[("code", "5000")]) >= 1.0
            && metric_sum(
                m,
                "connector_dead_letters_total",
                &[("reason", "malformed")],
            ) >= 1.0
            && metric_sum(m, "connector_dead_letters_total", &[("reason", "poisoned")]) >= 1.0
            && metric_sum(m, "connector_panics_caught_total", &[]) >= 1.0
            && metric_sum(m, "connector_ledger_retries_total", &[]) >= 1.0
            && metric_sum(m, "connector_broker_reconnects_total", &[]) >= 1.0
            && sample(m, "connector_ready") == Some(1.0)
            && m.contains("connector_outcomes_kept ")
            && m.contains("connector_observer_offset_lag ")
            && m.contains("connector_processing_seconds_bucket")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut metrics = gw.metrics().await;
    while !wanted(&metrics) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        metrics = gw.metrics().await;
    }
    assert!(
        wanted(&metrics),
        "the traffic shows in every family (failures by code, dead letters, panics, retries, reconnects, ready again, \
         outcomes kept, observer lag, latency):\n{metrics}\n{}",
        gw.log_text()
    );
    assert_eq!(
        metric_sum(&metrics, "connector_failures_total", &[]),
        3.0,
        "one failure per failed request (4090, 4000, 5000), none for the three that committed:\n{metrics}"
    );

    let (families, histograms) = exported(&metrics);
    let rules = rule_file();
    let mut missing = Vec::new();
    let mut checked = BTreeSet::new();
    for (place, expr) in dashboard_expressions(&dashboard())
        .into_iter()
        .chain(alert_expressions(&rules))
    {
        let names = metric_names(&expr).unwrap_or_else(|e| panic!("{place}: {e}"));
        assert!(!names.is_empty(), "{place} queries no metric: {expr}");
        for name in names {
            if name == "up" {
                // Prometheus's own, about the scrape: no gateway exports it.
                continue;
            }
            let base = family(&name, &histograms);
            // A histogram's `_bucket` must be exported as such, and its family with it.
            if !families.contains(&name) || !families.contains(base) {
                missing.push(format!("{place}: {name}"));
            }
            checked.insert(base.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "metrics queried but not exported by the gateway:\n  {}\nexported: {families:?}",
        missing.join("\n  ")
    );
    for family in CHARTED {
        assert!(
            checked.contains(*family),
            "neither the dashboard nor the alerts use {family}"
        );
    }
    drop(gw);
    h.broker.cleanup().await;
}

#[test]
fn the_dashboard_imports_anywhere_and_charts_what_the_operator_asks_about() {
    let dashboard = dashboard();
    assert!(
        dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "a current Grafana schema: {}",
        dashboard["schemaVersion"]
    );
    assert!(dashboard["uid"].as_str().is_some_and(|u| !u.is_empty()));
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    assert!(
        variables.iter().any(|v| v["name"] == "DS_PROMETHEUS"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "a Prometheus data-source variable, so the dashboard imports into any Grafana"
    );
    let charts: Vec<&Value> = panels(&dashboard)
        .into_iter()
        .filter(|p| p["type"] != "row")
        .collect();
    assert!(
        charts.len() >= MIN_PANELS,
        "at least {MIN_PANELS} panels, found {}",
        charts.len()
    );
    let mut ids = BTreeSet::new();
    for panel in &charts {
        let title = panel["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(panel["id"].as_u64()),
            "panel ids are unique: {title}"
        );
        assert!(panel["gridPos"]["w"].as_u64().is_some(), "{title}: gridPos");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} queries nothing");
        for datasource in
            std::iter::once(&panel["datasource"]).chain(targets.iter().map(|t| &t["datasource"]))
        {
            assert_eq!(
                datasource["uid"], "${DS_PROMETHEUS}",
                "{title}: every query goes to the chosen data source, not to one named in some other Grafana"
            );
        }
    }
    let quantiles = dashboard_expressions(&dashboard)
        .into_iter()
        .filter(|(_, e)| {
            e.contains("histogram_quantile(") && e.contains("connector_processing_seconds_bucket")
        })
        .count();
    assert!(quantiles >= 3, "p50, p90 and p99 of the processing time");
}

#[test]
fn every_alert_says_how_long_how_bad_and_what_to_do() {
    let rules = rule_file();
    let group = rules
        .groups
        .iter()
        .find(|g| g.name == "connector")
        .expect("a rule group named connector");
    let duration = |d: &str| {
        let digits = d.trim_end_matches(['s', 'm', 'h', 'd']);
        !digits.is_empty() && digits.len() < d.len() && digits.chars().all(|c| c.is_ascii_digit())
    };
    for rule in &group.rules {
        let name = &rule.alert;
        let for_ = rule
            .for_
            .as_deref()
            .unwrap_or_else(|| panic!("{name} has no `for`"));
        assert!(duration(for_), "{name}: `for: {for_}` is not a duration");
        assert!(
            matches!(
                rule.labels.get("severity").map(String::as_str),
                Some("critical" | "warning")
            ),
            "{name}: severity critical or warning, got {:?}",
            rule.labels.get("severity")
        );
        let summary = rule.annotations.get("summary").map(String::as_str);
        assert!(
            summary.is_some_and(|s| !s.trim().is_empty()),
            "{name}: a summary"
        );
        let description = rule
            .annotations
            .get("description")
            .unwrap_or_else(|| panic!("{name}: a description"));
        assert!(
            description.contains("README") && description.contains("Operating"),
            "{name}: the description points the person on call at the README's Operating section"
        );
        metric_names(&rule.expr).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let alert = |name: &str| {
        group
            .rules
            .iter()
            .find(|r| r.alert == name)
            .unwrap_or_else(|| panic!("an alert {name}"))
    };
    let not_ready = alert("ConnectorNotReady");
    assert!(not_ready.expr.contains("connector_ready"));
    assert_eq!(not_ready.for_.as_deref(), Some("1m"));
    let dead_letters: Vec<&Rule> = group
        .rules
        .iter()
        .filter(|r| {
            r.expr
                .contains("increase(connector_dead_letters_total[5m])")
        })
        .collect();
    assert!(
        dead_letters.len() >= 2,
        "dead letters rising, and a stronger alert for many"
    );
    assert!(
        dead_letters
            .iter()
            .all(|r| r.annotations["description"].contains("connector dead-letters")),
        "the dead-letter alerts name the command that lists and replays them"
    );
    let lag = alert("ConnectorObserverLagGrowing");
    assert!(
        lag.expr
            .contains("deriv(connector_observer_offset_lag[10m]) > 0")
    );
    assert!(lag.expr.contains("and connector_observer_offset_lag >"));
    assert!(
        alert("ConnectorPanicsCaught")
            .expr
            .contains("connector_panics_caught_total")
    );
    assert!(
        alert("ConnectorBrokerReconnectStorm")
            .expr
            .contains("connector_broker_reconnects_total")
    );
}

#[test]
fn the_promql_reader_finds_names_and_refuses_what_prometheus_would() {
    let names = |e: &str| metric_names(e).map(|n| n.into_iter().collect::<Vec<_>>());
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (le) (rate(connector_processing_seconds_bucket{instance=~"$instance"}[$__rate_interval])))"#
        ),
        Ok(vec!["connector_processing_seconds_bucket".to_owned()])
    );
    assert_eq!(
        names(
            "deriv(connector_observer_offset_lag[10m]) > 0 and connector_observer_offset_lag > 1000"
        ),
        Ok(vec!["connector_observer_offset_lag".to_owned()])
    );
    assert_eq!(
        names("label_values(connector_ready, instance)"),
        Ok(vec!["connector_ready".to_owned()])
    );
    assert_eq!(
        names(r#"up{job="connector"} == 0"#),
        Ok(vec!["up".to_owned()])
    );
    for broken in [
        "rate(connector_ingress_messages_total[5m]",
        r#"connector_ready{instance=~"x}"#,
        "rat(connector_ingress_messages_total[5m])",
        "conector_ready == 0",
        r#"connector_ready{instance}"#,
    ] {
        assert!(names(broken).is_err(), "{broken} is refused");
    }
    let histograms = BTreeSet::from(["connector_processing_seconds".to_owned()]);
    assert_eq!(
        family("connector_processing_seconds_count", &histograms),
        "connector_processing_seconds"
    );
    assert_eq!(
        family("connector_dead_letters_total", &histograms),
        "connector_dead_letters_total"
    );
}
