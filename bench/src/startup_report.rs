//! The start-up benchmark's results: each gateway start's figures, each side's spread over the runs, and the loaded
//! side minus the baseline (medians), as a table for people and one JSON line for machines.

use serde::Serialize;

use crate::report::round;

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Which journal a gateway started on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// An empty journal.
    Baseline,
    /// A journal of N active contracts.
    Loaded,
}

impl Side {
    /// As the report names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Loaded => "loaded",
        }
    }
}

/// One gateway start, as measured.
#[derive(Debug, Clone, Serialize)]
pub struct StartRun {
    /// 1-based.
    pub run: u32,
    pub side: Side,
    /// From spawning `connector run` to the first `/readyz` 200.
    pub startup_s: f64,
    /// `VmHWM` and `VmRSS` right after ready.
    #[serde(serialize_with = "as_mib")]
    pub peak_rss_at_ready: u64,
    #[serde(serialize_with = "as_mib")]
    pub rss_at_ready: u64,
    /// `VmHWM` and `VmRSS` after the read was answered (the baseline has no read: just before SIGTERM). The VmHWM
    /// is the start's peak.
    #[serde(serialize_with = "as_mib")]
    pub peak_rss: u64,
    #[serde(serialize_with = "as_mib")]
    pub rss_after_read: u64,
    /// From the read's publish to its ContractMessage (None for the baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_ms: Option<f64>,
}

/// Smallest, median and largest of a figure over the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// Over `values` (all zero when there are none), rounded to `places` decimals.
    pub fn of(values: impl IntoIterator<Item = f64>, places: i32) -> Self {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Self {
                min: 0.0,
                median: 0.0,
                max: 0.0,
            };
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Self {
            min: round(v[0], places),
            median: round(median, places),
            max: round(v[v.len() - 1], places),
        }
    }
}

/// The journal a side's gateways started on.
#[derive(Debug, Clone, Serialize)]
pub struct JournalFigures {
    pub contracts: u64,
    /// `connector process` of the creates, spawn to exit (not a target).
    pub build_s: f64,
    pub mib: f64,
    /// Egress lines `connector process` wrote (3 per create).
    pub egress_lines: u64,
}

/// The read that proved the loaded side's contracts were there.
#[derive(Debug, Clone, Serialize)]
pub struct ReadFigures {
    /// The message that answered each read (always `ContractMessage`: anything else fails the run).
    pub answered_with: String,
    pub contract_ledger_identifier: String,
    /// Reads answered, one per run.
    pub answered: u32,
    pub read_ms: Spread,
}

/// One side over all runs.
#[derive(Debug, Clone, Serialize)]
pub struct SideFigures {
    pub side: Side,
    pub contracts: u64,
    pub journal: JournalFigures,
    pub startup_s: Spread,
    /// `VmHWM` after the read (the start's peak), MiB.
    pub peak_rss_mib: Spread,
    /// `VmRSS` right after ready and after the read, MiB.
    pub rss_at_ready_mib: Spread,
    pub rss_after_read_mib: Spread,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadFigures>,
}

/// Loaded minus baseline, medians.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub startup_s: f64,
    pub peak_rss_mib: f64,
    pub rss_after_read_mib: f64,
    pub peak_rss_bytes_per_contract: f64,
    pub rss_bytes_per_contract: f64,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct StartupReport {
    pub bench: &'static str,
    pub contracts: u64,
    pub runs: u32,
    pub ledger: &'static str,
    pub observe: &'static str,
    pub connector: String,
    pub cores: usize,
    /// 1-minute load average before and after the run: figures taken on a busy machine are preliminary.
    pub load_average_before: f64,
    pub load_average_after: f64,
    pub baseline: SideFigures,
    pub loaded: SideFigures,
    pub delta: Delta,
    pub per_run: Vec<StartRun>,
}

/// A side's figures over its runs.
pub fn side_figures(
    side: Side,
    journal: JournalFigures,
    runs: &[StartRun],
    read: Option<(String, String)>,
) -> SideFigures {
    let mine: Vec<&StartRun> = runs.iter().filter(|r| r.side == side).collect();
    let mib = |pick: fn(&StartRun) -> u64| Spread::of(mine.iter().map(|r| pick(r) as f64 / MIB), 1);
    let read_ms: Vec<f64> = mine.iter().filter_map(|r| r.read_ms).collect();
    SideFigures {
        side,
        contracts: journal.contracts,
        startup_s: Spread::of(mine.iter().map(|r| r.startup_s), 3),
        peak_rss_mib: mib(|r| r.peak_rss),
        rss_at_ready_mib: mib(|r| r.rss_at_ready),
        rss_after_read_mib: mib(|r| r.rss_after_read),
        read: read.map(|(answered_with, contract_ledger_identifier)| ReadFigures {
            answered_with,
            contract_ledger_identifier,
            answered: read_ms.len() as u32,
            read_ms: Spread::of(read_ms.iter().copied(), 2),
        }),
        journal,
    }
}

/// Loaded minus baseline, from the medians of the raw figures (bytes per contract from bytes, not rounded MiB).
pub fn delta(runs: &[StartRun], contracts: u64) -> Delta {
    let median = |side: Side, pick: fn(&StartRun) -> f64| {
        Spread::of(runs.iter().filter(|r| r.side == side).map(pick), 9).median
    };
    let diff =
        |pick: fn(&StartRun) -> f64| median(Side::Loaded, pick) - median(Side::Baseline, pick);
    let peak = diff(|r| r.peak_rss as f64);
    let rss = diff(|r| r.rss_after_read as f64);
    let per_contract = |bytes: f64| round(bytes / (contracts.max(1) as f64), 0);
    Delta {
        startup_s: round(diff(|r| r.startup_s), 3),
        peak_rss_mib: round(peak / MIB, 1),
        rss_after_read_mib: round(rss / MIB, 1),
        peak_rss_bytes_per_contract: per_contract(peak),
        rss_bytes_per_contract: per_contract(rss),
    }
}

/// Bytes in MiB with one decimal.
pub fn mib(bytes: u64) -> f64 {
    round(bytes as f64 / MIB, 1)
}

fn as_mib<S: serde::Serializer>(bytes: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(mib(*bytes))
}

impl StartupReport {
    /// The machine-readable line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The human table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "startup-bench: {} contracts, {} runs, {} ledger, observe {}, {} cores, load {:.2} → {:.2}\n\
             connector: {}\n\n",
            self.contracts,
            self.runs,
            self.ledger,
            self.observe,
            self.cores,
            self.load_average_before,
            self.load_average_after,
            self.connector,
        );
        out.push_str(&format!(
            "{:<9} {:>10} {:>11} {:>9} {:>13}\n",
            "journal", "contracts", "built in s", "MiB", "egress lines"
        ));
        for s in [&self.baseline, &self.loaded] {
            out.push_str(&format!(
                "{:<9} {:>10} {:>11.3} {:>9.1} {:>13}\n",
                s.side.as_str(),
                s.journal.contracts,
                s.journal.build_s,
                s.journal.mib,
                s.journal.egress_lines,
            ));
        }
        out.push_str(&format!(
            "\n{:<9} {:>10} {:>27} {:>23} {:>25} {:>27}  {}\n",
            "side",
            "contracts",
            "start-up s min/median/max",
            "VmHWM MiB min/med/max",
            "VmRSS MiB at ready (med)",
            "VmRSS MiB after read (med)",
            "read answered (median ms)"
        ));
        for s in [&self.baseline, &self.loaded] {
            let read = s.read.as_ref().map_or_else(
                || "-".to_owned(),
                |r| {
                    format!(
                        "{} ×{} ({:.2})",
                        r.answered_with, r.answered, r.read_ms.median
                    )
                },
            );
            out.push_str(&format!(
                "{:<9} {:>10} {:>27} {:>23} {:>25.1} {:>27.1}  {read}\n",
                s.side.as_str(),
                s.contracts,
                format!(
                    "{:.3} / {:.3} / {:.3}",
                    s.startup_s.min, s.startup_s.median, s.startup_s.max
                ),
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    s.peak_rss_mib.min, s.peak_rss_mib.median, s.peak_rss_mib.max
                ),
                s.rss_at_ready_mib.median,
                s.rss_after_read_mib.median,
            ));
        }
        let d = &self.delta;
        out.push_str(&format!(
            "\nloaded − baseline (medians): start-up {:+.3} s, VmHWM {:+.1} MiB ({:.0} bytes per contract), \
             VmRSS after read {:+.1} MiB ({:.0} bytes per contract)\n",
            d.startup_s,
            d.peak_rss_mib,
            d.peak_rss_bytes_per_contract,
            d.rss_after_read_mib,
            d.rss_bytes_per_contract,
        ));
        out.push_str(&format!(
            "\n{:<4} {:<9} {:>11} {:>16} {:>16} {:>10} {:>20} {:>8}\n",
            "run",
            "side",
            "start-up s",
            "VmHWM at ready",
            "VmRSS at ready",
            "VmHWM",
            "VmRSS after read",
            "read ms"
        ));
        for r in &self.per_run {
            out.push_str(&format!(
                "{:<4} {:<9} {:>11.3} {:>16.1} {:>16.1} {:>10.1} {:>20.1} {:>8}\n",
                r.run,
                r.side.as_str(),
                r.startup_s,
                mib(r.peak_rss_at_ready),
                mib(r.rss_at_ready),
                mib(r.peak_rss),
                mib(r.rss_after_read),
                r.read_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}")),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 1024 * 1024;

    fn start(
        run: u32,
        side: Side,
        startup_s: f64,
        peak_mib: u64,
        read_ms: Option<f64>,
    ) -> StartRun {
        StartRun {
            run,
            side,
            startup_s,
            peak_rss_at_ready: peak_mib * M - M,
            rss_at_ready: peak_mib * M - 2 * M,
            peak_rss: peak_mib * M,
            rss_after_read: peak_mib * M - M,
            read_ms,
        }
    }

    #[test]
    fn spreads_take_the_middle_value() {
        assert_eq!(
            Spread::of([3.0, 1.0, 2.0], 3),
            Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            }
        );
        assert_eq!(Spread::of([4.0, 1.0, 2.0, 3.0], 3).median, 2.5);
        assert_eq!(Spread::of(std::iter::empty(), 3).max, 0.0);
    }

    #[test]
    fn the_delta_and_both_outputs_carry_every_figure() {
        let runs = vec![
            start(1, Side::Baseline, 0.1, 10, None),
            start(1, Side::Loaded, 5.1, 610, Some(3.0)),
            start(2, Side::Baseline, 0.2, 12, None),
            start(2, Side::Loaded, 5.3, 612, Some(4.0)),
            start(3, Side::Baseline, 0.3, 14, None),
            start(3, Side::Loaded, 5.2, 614, Some(5.0)),
        ];
        let journal = |contracts| JournalFigures {
            contracts,
            build_s: 1.5,
            mib: 2.0,
            egress_lines: contracts * 3,
        };
        let baseline = side_figures(Side::Baseline, journal(0), &runs, None);
        let loaded = side_figures(
            Side::Loaded,
            journal(100_000),
            &runs,
            Some(("ContractMessage".into(), "abc".into())),
        );
        assert_eq!(baseline.startup_s.median, 0.2);
        assert_eq!(loaded.peak_rss_mib.median, 612.0);
        let read = loaded.read.as_ref().expect("a read");
        assert_eq!((read.answered, read.read_ms.median), (3, 4.0));
        let delta = delta(&runs, 100_000);
        assert_eq!(delta.startup_s, 5.0);
        assert_eq!(delta.peak_rss_mib, 600.0);
        assert_eq!(delta.peak_rss_bytes_per_contract, 6291.0);
        let report = StartupReport {
            bench: "startup",
            contracts: 100_000,
            runs: 3,
            ledger: "embedded+journal",
            observe: "external (default)",
            connector: "target/release/connector".into(),
            cores: 2,
            load_average_before: 0.5,
            load_average_after: 1.0,
            baseline,
            loaded,
            delta,
            per_run: runs,
        };
        let line = report.json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(v["loaded"]["read"]["answered_with"], "ContractMessage");
        assert!(v["baseline"].get("read").is_none());
        assert_eq!(v["delta"]["startup_s"], 5.0);
        assert_eq!(v["per_run"][1]["side"], "loaded");
        assert_eq!(v["per_run"][1]["peak_rss"], 610.0);
        assert_eq!(v["loaded"]["journal"]["egress_lines"], 300_000);
        let table = report.table();
        assert!(table.contains("0.100 / 0.200 / 0.300"), "{table}");
        assert!(table.contains("ContractMessage ×3 (4.00)"), "{table}");
        assert!(
            table.contains("start-up +5.000 s, VmHWM +600.0 MiB (6291 bytes per contract)"),
            "{table}"
        );
    }
}
