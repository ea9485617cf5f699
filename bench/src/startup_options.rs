//! The start-up benchmark's command line: how many contracts the loaded journal holds, how many baseline/loaded
//! pairs to run, which `connector` to start, and how long any one step may take.

use std::time::Duration;

use clap::Parser;

use crate::gateway_target::GatewayTarget;

/// Measures what it costs the gateway (`connector run`) to start on a journal of N active contracts, against the same
/// gateway starting on an empty journal in the same run.
#[derive(Debug, Clone, Parser)]
#[command(name = "startup-bench", version, about, long_about = None)]
pub struct StartupOptions {
    /// Active contracts in the loaded side's journal (the baseline's has none).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub contracts: u64,

    /// Baseline/loaded pairs of gateway starts, each on a fresh copy of the journals built once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,

    #[command(flatten)]
    pub target: GatewayTarget,

    /// Give up on a step (building a journal, a start-up, the read) after this many seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,

    /// Print only the JSON line (no table, no progress).
    #[arg(long)]
    pub json_only: bool,
}

impl StartupOptions {
    /// `--timeout-secs`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// A progress line on stderr (none with `--json-only`).
    pub fn progress(&self, message: impl std::fmt::Display) {
        if !self.json_only {
            eprintln!("startup-bench: {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_brief() {
        let o = StartupOptions::parse_from(["startup-bench"]);
        assert_eq!(o.contracts, 100_000);
        assert_eq!(o.runs, 3);
        assert_eq!(o.timeout(), Duration::from_secs(600));
        assert!(!o.json_only);
        assert!(o.target.connector.is_none());
        assert!(o.target.connector_path().ends_with("connector"));
        assert!(
            o.target
                .mapping
                .ends_with("refrigerated-transportation/connector.yaml")
        );
    }

    #[test]
    fn flags_parse_and_nonsense_is_refused() {
        let o = StartupOptions::parse_from([
            "startup-bench",
            "--contracts",
            "2000",
            "--runs",
            "1",
            "--json-only",
            "--timeout-secs",
            "120",
            "--connector",
            "/opt/connector",
        ]);
        assert_eq!(o.contracts, 2000);
        assert_eq!(o.runs, 1);
        assert!(o.json_only);
        assert_eq!(o.timeout_secs, 120);
        assert_eq!(
            o.target.connector_path(),
            std::path::PathBuf::from("/opt/connector")
        );
        for bad in [
            ["startup-bench", "--contracts", "0"],
            ["startup-bench", "--runs", "0"],
            ["startup-bench", "--timeout-secs", "0"],
            ["startup-bench", "--contracts", "many"],
        ] {
            assert!(StartupOptions::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
