//! The benchmark's results: a table for people and one JSON line for machines (CI, the README's figures).

use serde::Serialize;

use crate::latency::LatencyStats;

/// One side's figures for one workload.
#[derive(Debug, Clone, Serialize)]
pub struct SideResult {
    /// Requests drained per second (from the first to the last egress message of the preload).
    pub msgs_per_s: f64,
    pub egress_per_s: f64,
    pub drain_seconds: f64,
    /// Egress messages counted on the capture queue for the preload, and how many were due.
    pub egress: u64,
    pub expected_egress: u64,
    /// Originals on the dead-letter queue, and how many were due.
    pub dead_letters: u64,
    pub expected_dead_letters: u64,
    pub latency: LatencyStats,
    /// The gateway process only: peak resident memory over its life, MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// The gateway process only: CPU seconds (user + system) per 1,000 preloaded requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_s_per_1000: Option<f64>,
    /// The gateway on PostgreSQL only: rows in its `outcomes` table after the latency phase (the preload's and the
    /// latency requests', all acked by then, so all written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcomes_in_postgres: Option<u64>,
    /// The gateway process only: contracts whose egress was checked to follow their requests' queue order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contracts_in_order: Option<u64>,
}

/// Both sides of one workload in one round. With `--state both` a round has two, one per state store, with the
/// same baseline (the relay run both gateway runs of the round are measured against).
#[derive(Debug, Clone, Serialize)]
pub struct MixResult {
    pub mix: &'static str,
    pub requests: u64,
    /// The gateway's state store: `redb` or `postgres`.
    pub state: &'static str,
    /// Which round (from 1) of `--rounds`.
    pub round: u32,
    pub baseline: SideResult,
    pub gateway: SideResult,
    /// Gateway requests/s over baseline requests/s.
    pub ratio: f64,
}

/// The gateway draining one preload under one ordering (`--compare-ordering`).
#[derive(Debug, Clone, Serialize)]
pub struct OrderingRun {
    pub ordering: &'static str,
    /// Requests drained per second (from the first to the last egress message of the preload).
    pub msgs_per_s: f64,
    pub egress_per_s: f64,
    pub drain_seconds: f64,
    /// Egress messages counted on the capture queue, and how many were due.
    pub egress: u64,
    pub expected_egress: u64,
    /// Contracts, and their requests, whose egress arrived in the requests' queue order (the run fails otherwise).
    pub contracts_in_order: u64,
    pub requests_in_order: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_s_per_1000: Option<f64>,
}

/// `--compare-ordering`: the same workload under strict and under per-contract ordering.
#[derive(Debug, Clone, Serialize)]
pub struct OrderingComparison {
    pub mix: &'static str,
    pub requests: u64,
    pub contracts: u64,
    pub strict: OrderingRun,
    pub per_contract: OrderingRun,
    /// Per-contract requests/s over strict requests/s.
    pub ratio: f64,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bench: &'static str,
    pub n: u64,
    pub latency_n: u64,
    pub prefetch: u16,
    pub queue_type: &'static str,
    pub ordering: &'static str,
    pub ledger: &'static str,
    /// The gateway's state store: `redb`, `postgres` or `redb vs postgres`.
    pub state: &'static str,
    pub rounds: u32,
    /// With `--ledger sandbox`: what the sandbox added to every submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_latency_ms: Option<u64>,
    pub connector: String,
    pub cores: usize,
    /// 1-minute load average before and after the run: figures taken on a busy machine are preliminary.
    pub load_average_before: f64,
    pub load_average_after: f64,
    pub mixes: Vec<MixResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<OrderingComparison>,
}

/// Rounds to `places` decimals, for readable JSON.
pub fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

impl Report {
    /// The machine-readable line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The human table.
    pub fn table(&self) -> String {
        let ledger = match self.sandbox_latency_ms {
            Some(ms) => format!("{} ledger (+{ms} ms per submission)", self.ledger),
            None => format!("{} ledger", self.ledger),
        };
        if let Some(comparison) = &self.comparison {
            return self.comparison_table(comparison, &ledger);
        }
        let mut out = format!(
            "gateway-bench: n={} per workload, prefetch {}, {} queue, {} ordering, {ledger}, {} state, {} round(s), \
             {} cores, load {:.2} → {:.2}\n\
             latency: {} requests at half the baseline's rate\n\n",
            self.n,
            self.prefetch,
            self.queue_type,
            self.ordering,
            self.state,
            self.rounds,
            self.cores,
            self.load_average_before,
            self.load_average_after,
            self.latency_n,
        );
        out.push_str(&format!(
            "{:<8} {:>5} {:<8} {:<8} {:>9} {:>10} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
            "mix",
            "round",
            "side",
            "state",
            "msg/s",
            "egress/s",
            "ratio",
            "offered/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "RSS MiB",
            "CPU s/1k"
        ));
        let mut previous: Option<(&str, u32)> = None;
        for m in &self.mixes {
            // Both gateway runs of a round share its relay run: print that once.
            let first_of_round = previous != Some((m.mix, m.round));
            previous = Some((m.mix, m.round));
            let baseline = first_of_round.then_some(("baseline", "-", &m.baseline, String::new()));
            let gateway = Some(("gateway", m.state, &m.gateway, format!("{:.3}", m.ratio)));
            for (side, state, r, ratio) in baseline.into_iter().chain(gateway) {
                out.push_str(&format!(
                    "{:<8} {:>5} {:<8} {:<8} {:>9.0} {:>10.0} {:>6} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>9}\n",
                    m.mix,
                    m.round,
                    side,
                    state,
                    r.msgs_per_s,
                    r.egress_per_s,
                    ratio,
                    r.latency.offered_per_s,
                    r.latency.p50_ms,
                    r.latency.p99_ms,
                    r.latency.max_ms,
                    optional(r.peak_rss_mib, 1),
                    optional(r.cpu_s_per_1000, 3),
                ));
            }
        }
        out.push_str(&self.state_ratios());
        out
    }

    /// With `--state both`: for each workload and round, PostgreSQL's rate over redb's (same relay, same round).
    fn state_ratios(&self) -> String {
        let mut out = String::new();
        for redb in self.mixes.iter().filter(|m| m.state == "redb") {
            let postgres = self
                .mixes
                .iter()
                .find(|m| m.state == "postgres" && m.mix == redb.mix && m.round == redb.round);
            if let Some(postgres) = postgres {
                out.push_str(&format!(
                    "{} round {}: postgres / redb {:.3} ({:.0} / {:.0} msg/s)\n",
                    redb.mix,
                    redb.round,
                    postgres.gateway.msgs_per_s / redb.gateway.msgs_per_s.max(f64::MIN_POSITIVE),
                    postgres.gateway.msgs_per_s,
                    redb.gateway.msgs_per_s,
                ));
            }
        }
        out
    }

    fn comparison_table(&self, c: &OrderingComparison, ledger: &str) -> String {
        let mut out = format!(
            "gateway-bench: ordering comparison, {} workload ({} contracts), n={} per ordering, prefetch {}, {} queue, \
             {ledger}, {} cores, load {:.2} → {:.2}\n\n",
            c.mix,
            c.contracts,
            c.requests,
            self.prefetch,
            self.queue_type,
            self.cores,
            self.load_average_before,
            self.load_average_after,
        );
        out.push_str(&format!(
            "{:<13} {:>9} {:>10} {:>9} {:>8} {:>9}  {}\n",
            "ordering",
            "msg/s",
            "egress/s",
            "drain s",
            "RSS MiB",
            "CPU s/1k",
            "each contract's order"
        ));
        for r in [&c.strict, &c.per_contract] {
            out.push_str(&format!(
                "{:<13} {:>9.0} {:>10.0} {:>9.3} {:>8} {:>9}  kept ({} contracts, {} requests)\n",
                r.ordering,
                r.msgs_per_s,
                r.egress_per_s,
                r.drain_seconds,
                optional(r.peak_rss_mib, 1),
                optional(r.cpu_s_per_1000, 3),
                r.contracts_in_order,
                r.requests_in_order,
            ));
        }
        out.push_str(&format!("per-contract / strict: {:.2}×\n", c.ratio));
        out
    }
}

/// A figure with `places` decimals, or "-" when there is none.
fn optional(value: Option<f64>, places: usize) -> String {
    value
        .map(|v| format!("{v:.places$}"))
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(rate: f64, rss: Option<f64>) -> SideResult {
        SideResult {
            msgs_per_s: rate,
            egress_per_s: rate * 3.0,
            drain_seconds: 1.0,
            egress: 30,
            expected_egress: 30,
            dead_letters: 0,
            expected_dead_letters: 0,
            latency: LatencyStats {
                offered_per_s: 500.0,
                samples: 10,
                completed_per_s: 500.0,
                p50_ms: 1.5,
                p99_ms: 3.0,
                max_ms: 4.0,
            },
            peak_rss_mib: rss,
            cpu_s_per_1000: rss.map(|_| 0.25),
            contracts_in_order: rss.map(|_| 7),
            outcomes_in_postgres: None,
        }
    }

    #[test]
    fn json_line_and_table_carry_every_figure() {
        let report = Report {
            bench: "gateway",
            n: 10,
            latency_n: 10,
            prefetch: 256,
            queue_type: "classic",
            ordering: "strict",
            ledger: "embedded+journal",
            state: "redb",
            rounds: 1,
            sandbox_latency_ms: None,
            connector: "target/release/connector".into(),
            cores: 2,
            load_average_before: 0.5,
            load_average_after: 1.0,
            mixes: vec![MixResult {
                mix: "creates",
                requests: 10,
                state: "redb",
                round: 1,
                baseline: side(1000.0, None),
                gateway: side(250.0, Some(12.5)),
                ratio: 0.25,
            }],
            comparison: None,
        };
        let line = report.json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(v["mixes"][0]["gateway"]["peak_rss_mib"], 12.5);
        assert_eq!(v["mixes"][0]["ratio"], 0.25);
        assert!(v["mixes"][0]["baseline"].get("peak_rss_mib").is_none());
        assert_eq!(v["mixes"][0]["gateway"]["latency"]["p99_ms"], 3.0);
        let table = report.table();
        assert!(table.contains("creates      1 gateway  redb"), "{table}");
        assert!(!table.contains("postgres / redb"), "{table}");
        assert!(table.contains("0.250"), "{table}");
        assert!(table.contains("12.5"), "{table}");
        assert_eq!(v["mixes"][0]["gateway"]["contracts_in_order"], 7);
        assert!(v.get("comparison").is_none() && v.get("sandbox_latency_ms").is_none());
        assert_eq!(round(1.23456, 2), 1.23);
    }

    #[test]
    fn both_state_stores_share_their_rounds_relay_run_and_are_compared() {
        let result = |state, round, baseline: f64, gateway: f64| MixResult {
            mix: "mixed",
            requests: 10,
            state,
            round,
            baseline: side(baseline, None),
            gateway: side(gateway, Some(20.0)),
            ratio: round_to_test(gateway / baseline),
        };
        let report = Report {
            bench: "gateway",
            n: 10,
            latency_n: 10,
            prefetch: 256,
            queue_type: "classic",
            ordering: "strict",
            ledger: "embedded+journal",
            state: "redb vs postgres",
            rounds: 2,
            sandbox_latency_ms: None,
            connector: "target/release/connector".into(),
            cores: 2,
            load_average_before: 0.5,
            load_average_after: 1.0,
            mixes: vec![
                result("redb", 1, 1000.0, 900.0),
                result("postgres", 1, 1000.0, 600.0),
                result("postgres", 2, 1100.0, 660.0),
                result("redb", 2, 1100.0, 880.0),
            ],
            comparison: None,
        };
        let v: serde_json::Value = serde_json::from_str(&report.json_line()).expect("JSON");
        assert_eq!(v["state"], "redb vs postgres");
        assert_eq!(v["rounds"], 2);
        assert_eq!(v["mixes"][1]["state"], "postgres");
        assert_eq!(v["mixes"][1]["round"], 1);
        assert_eq!(v["mixes"][1]["ratio"], 0.6);
        let table = report.table();
        assert_eq!(
            table.matches(" baseline ").count(),
            2,
            "one relay row per round: {table}"
        );
        assert!(
            table.contains("mixed        2 gateway  postgres"),
            "{table}"
        );
        assert!(
            table.contains("mixed round 1: postgres / redb 0.667 (600 / 900 msg/s)"),
            "{table}"
        );
        assert!(
            table.contains("mixed round 2: postgres / redb 0.750 (660 / 880 msg/s)"),
            "{table}"
        );
    }

    fn round_to_test(value: f64) -> f64 {
        round(value, 3)
    }

    fn ordering_run(ordering: &'static str, rate: f64) -> OrderingRun {
        OrderingRun {
            ordering,
            msgs_per_s: rate,
            egress_per_s: rate * 4.0,
            drain_seconds: 2.5,
            egress: 40,
            expected_egress: 40,
            contracts_in_order: 64,
            requests_in_order: 300,
            peak_rss_mib: Some(30.0),
            cpu_s_per_1000: Some(0.5),
        }
    }

    #[test]
    fn the_ordering_comparison_carries_both_runs_and_the_ratio() {
        let report = Report {
            bench: "gateway",
            n: 300,
            latency_n: 0,
            prefetch: 256,
            queue_type: "classic",
            ordering: "strict vs per-contract",
            ledger: "daml (connector sandbox, embedded+journal)",
            state: "redb",
            rounds: 1,
            sandbox_latency_ms: Some(5),
            connector: "target/release/connector".into(),
            cores: 2,
            load_average_before: 0.5,
            load_average_after: 1.0,
            mixes: Vec::new(),
            comparison: Some(OrderingComparison {
                mix: "actions",
                requests: 300,
                contracts: 64,
                strict: ordering_run("strict", 150.0),
                per_contract: ordering_run("per-contract", 1800.0),
                ratio: 12.0,
            }),
        };
        let v: serde_json::Value = serde_json::from_str(&report.json_line()).expect("JSON");
        assert_eq!(v["sandbox_latency_ms"], 5);
        assert_eq!(v["comparison"]["ratio"], 12.0);
        assert_eq!(v["comparison"]["strict"]["msgs_per_s"], 150.0);
        assert_eq!(v["comparison"]["per_contract"]["msgs_per_s"], 1800.0);
        assert_eq!(v["comparison"]["per_contract"]["contracts_in_order"], 64);
        let table = report.table();
        assert!(table.contains("+5 ms per submission"), "{table}");
        assert!(table.contains("strict              150"), "{table}");
        assert!(table.contains("per-contract       1800"), "{table}");
        assert!(
            table.contains("kept (64 contracts, 300 requests)"),
            "{table}"
        );
        assert!(table.contains("per-contract / strict: 12.00×"), "{table}");
    }
}
