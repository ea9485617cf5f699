//! The soak's command line: how many requests, how many shipments stay active, how fast the state store forgets,
//! how often to sample, and anything else the gateway's config should say (compaction settings, for instance).

use clap::Parser;

use crate::gateway_target::GatewayTarget;

/// Runs a long stream of requests through the real gateway (`connector run`) with its default durable state and
/// samples its memory and the size of its state (journal, outcome store) over time: flat once retention applies.
#[derive(Debug, Clone, Parser)]
#[command(name = "soak", version, about, long_about = None)]
pub struct SoakOptions {
    /// Requests to send in all.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(4..))]
    pub requests: u64,

    /// Shipments kept active: each shipment is created, and `active` shipments later transferred, completed and
    /// archived, so the active set stays this size while history grows.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub active: u64,

    /// Requests published but not yet answered, at most (the ingress queue stays short).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,

    /// Seconds between samples.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_every_secs: u64,

    /// `state.outcome_retention` for the run (a duration string).
    #[arg(long, default_value = "2m")]
    pub outcome_retention: String,

    /// `state.sweep_every` for the run.
    #[arg(long, default_value = "20s")]
    pub sweep_every: String,

    /// The `ledger.embedded` settings, as a YAML flow map (the journal stays in `state_dir`), e.g.
    /// `"{ deduplication_window: 2m }"`.
    #[arg(long, default_value = "{}")]
    pub embedded: String,

    /// Extra YAML appended to the gateway's config (top-level keys).
    #[arg(long, default_value = "")]
    pub extra_config: String,

    #[command(flatten)]
    pub target: GatewayTarget,

    /// Give up when no request has been answered for this many seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub stall_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_brief() {
        let o = SoakOptions::parse_from(["soak"]);
        assert_eq!(o.requests, 1_000_000);
        assert_eq!(o.active, 10_000);
        assert_eq!(o.outcome_retention, "2m");
        assert!(SoakOptions::try_parse_from(["soak", "--requests", "3"]).is_err());
    }
}
