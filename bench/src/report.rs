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
}

/// Both sides of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct MixResult {
    pub mix: &'static str,
    pub requests: u64,
    pub baseline: SideResult,
    pub gateway: SideResult,
    /// Gateway requests/s over baseline requests/s.
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
    pub connector: String,
    pub cores: usize,
    /// 1-minute load average before and after the run: figures taken on a busy machine are preliminary.
    pub load_average_before: f64,
    pub load_average_after: f64,
    pub mixes: Vec<MixResult>,
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
        let mut out = format!(
            "gateway-bench: n={} per workload, prefetch {}, {} queue, {} ordering, {} ledger, {} cores, load {:.2} → {:.2}\n\
             latency: {} requests at half the baseline's rate\n\n",
            self.n,
            self.prefetch,
            self.queue_type,
            self.ordering,
            self.ledger,
            self.cores,
            self.load_average_before,
            self.load_average_after,
            self.latency_n,
        );
        out.push_str(&format!(
            "{:<8} {:<8} {:>9} {:>10} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
            "mix",
            "side",
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
        for m in &self.mixes {
            for (side, r, ratio) in [
                ("baseline", &m.baseline, String::new()),
                ("gateway", &m.gateway, format!("{:.3}", m.ratio)),
            ] {
                let opt = |v: Option<f64>, places: usize| {
                    v.map(|v| format!("{v:.places$}"))
                        .unwrap_or_else(|| "-".to_owned())
                };
                out.push_str(&format!(
                    "{:<8} {:<8} {:>9.0} {:>10.0} {:>6} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>9}\n",
                    m.mix,
                    side,
                    r.msgs_per_s,
                    r.egress_per_s,
                    ratio,
                    r.latency.offered_per_s,
                    r.latency.p50_ms,
                    r.latency.p99_ms,
                    r.latency.max_ms,
                    opt(r.peak_rss_mib, 1),
                    opt(r.cpu_s_per_1000, 3),
                ));
            }
        }
        out
    }
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
            connector: "target/release/connector".into(),
            cores: 2,
            load_average_before: 0.5,
            load_average_after: 1.0,
            mixes: vec![MixResult {
                mix: "creates",
                requests: 10,
                baseline: side(1000.0, None),
                gateway: side(250.0, Some(12.5)),
                ratio: 0.25,
            }],
        };
        let line = report.json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(v["mixes"][0]["gateway"]["peak_rss_mib"], 12.5);
        assert_eq!(v["mixes"][0]["ratio"], 0.25);
        assert!(v["mixes"][0]["baseline"].get("peak_rss_mib").is_none());
        assert_eq!(v["mixes"][0]["gateway"]["latency"]["p99_ms"], 3.0);
        let table = report.table();
        assert!(table.contains("creates  gateway"), "{table}");
        assert!(table.contains("0.250"), "{table}");
        assert!(table.contains("12.5"), "{table}");
        assert_eq!(round(1.23456, 2), 1.23);
    }
}
