//! The benchmark's command line: how many requests, which workload, the ledger and state store the gateway runs on,
//! and the broker and gateway settings both sides share (prefetch, queue type), so the relay and the gateway are
//! measured under the same conditions.

use clap::{Parser, ValueEnum};

use crate::gateway_target::GatewayTarget;
use crate::state_under_test::StateBackend;

use crate::error::BenchError;

/// Measures the gateway (`connector run`) against a bare RabbitMQ relay on the same preloaded requests.
#[derive(Debug, Clone, Parser)]
#[command(name = "gateway-bench", version, about, long_about = None)]
pub struct Options {
    /// Requests preloaded per workload.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub n: u64,

    /// Which workload(s) to run.
    #[arg(long, value_enum, default_value_t = MixChoice::All)]
    pub mix: MixChoice,

    /// Unacked deliveries in flight, for the relay and the gateway alike.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    pub prefetch: u16,

    /// Ingress queue type, for the relay and the gateway alike.
    #[arg(long, value_enum, default_value_t = QueueTypeChoice::Classic)]
    pub queue_type: QueueTypeChoice,

    /// The gateway's request ordering.
    #[arg(long, value_enum, default_value_t = OrderingChoice::Strict)]
    pub ordering: OrderingChoice,

    /// The ledger the gateway runs on: its own embedded ledger, or a Daml ledger (`connector sandbox`, started per
    /// gateway run with the same generated config and reached over the Ledger API).
    #[arg(long, value_enum, default_value_t = LedgerChoice::Embedded)]
    pub ledger: LedgerChoice,

    /// With `--ledger sandbox`: milliseconds the sandbox adds to every command submission (a remote participant).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Instead of the relay comparison: the `actions` workload (64 contracts) through the gateway under `strict`,
    /// then under `per-contract` ordering, each on fresh queues (and a fresh sandbox); reports both rates and their
    /// ratio, and fails if the per-contract run broke any contract's order.
    #[arg(long, conflicts_with_all = ["mix", "ordering"])]
    pub compare_ordering: bool,

    /// The gateway's state store: its default redb file, a fresh PostgreSQL database per gateway run
    /// (`state.backend: postgres`, created on the `--postgres-url` server and dropped after), or `both`: each workload
    /// runs the relay, then the gateway on redb and on PostgreSQL, alternating which goes first from round to round.
    #[arg(long, value_enum, default_value_t = StateChoice::Redb)]
    pub state: StateChoice,

    /// With `--state postgres|both`: the PostgreSQL server, as a URL to a database the bench may connect to (the
    /// user must be allowed to `CREATE DATABASE`). No password in it: the bench takes one from
    /// CONNECTOR_STATE_POSTGRES_PASSWORD and hands it to the gateway in a file.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,

    /// Runs every workload this many times (relay, then the gateway), so drift on a shared machine shows as spread
    /// instead of as a difference between backends.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Requests sent at the fixed offered load for the latency figures (default: n/4, at least 100, at most 5000).
    #[arg(long)]
    pub latency_n: Option<u64>,

    #[command(flatten)]
    pub target: GatewayTarget,

    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,

    /// Print only the JSON line (no table).
    #[arg(long)]
    pub json_only: bool,
}

/// `--mix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MixChoice {
    All,
    Creates,
    Actions,
    Mixed,
}

/// `--ledger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LedgerChoice {
    /// The gateway's embedded ledger with its journal.
    Embedded,
    /// `connector sandbox` (the embedded ledger with its journal, served over the Daml Ledger API v2).
    Sandbox,
}

/// `--state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateChoice {
    Redb,
    Postgres,
    Both,
}

impl StateChoice {
    /// The backends each workload runs the gateway on in `round` (0-based): with `both`, redb first in even rounds
    /// and PostgreSQL first in odd ones, so neither always runs on a machine the other has just warmed or loaded.
    pub fn backends(self, round: u32) -> Vec<StateBackend> {
        match self {
            Self::Redb => vec![StateBackend::Redb],
            Self::Postgres => vec![StateBackend::Postgres],
            Self::Both if round % 2 == 0 => vec![StateBackend::Redb, StateBackend::Postgres],
            Self::Both => vec![StateBackend::Postgres, StateBackend::Redb],
        }
    }

    /// As the JSON report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redb => "redb",
            Self::Postgres => "postgres",
            Self::Both => "redb vs postgres",
        }
    }

    /// Whether any run needs the PostgreSQL server.
    pub fn uses_postgres(self) -> bool {
        self != Self::Redb
    }
}

/// `--queue-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueueTypeChoice {
    Classic,
    Quorum,
}

/// `--ordering`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderingChoice {
    Strict,
    PerContract,
}

impl QueueTypeChoice {
    /// The transport's queue type.
    pub fn transport(self) -> amqp_transport::QueueType {
        match self {
            Self::Classic => amqp_transport::QueueType::Classic,
            Self::Quorum => amqp_transport::QueueType::Quorum,
        }
    }

    /// As the config file and the JSON report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Quorum => "quorum",
        }
    }
}

impl OrderingChoice {
    /// As the config file and the JSON report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::PerContract => "per-contract",
        }
    }
}

impl LedgerChoice {
    /// As the command line spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Sandbox => "sandbox",
        }
    }
}

impl Options {
    /// Refuses combinations the parser cannot: a latency only the sandbox can add, both stores in the ordering
    /// comparison (which has no relay run to compare them against).
    pub fn validate(&self) -> Result<(), BenchError> {
        if self.latency_ms > 0 && self.ledger != LedgerChoice::Sandbox {
            return Err(BenchError::Options {
                flag: "--latency-ms",
                message: format!(
                    "{} ms needs `--ledger sandbox` (the embedded ledger runs inside the gateway, nothing to delay)",
                    self.latency_ms
                ),
            });
        }
        if self.compare_ordering && self.state == StateChoice::Both {
            return Err(BenchError::Options {
                flag: "--state",
                message: "`both` compares the stores against the relay; with `--compare-ordering` pick one store"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// Requests sent at the fixed offered load.
    pub fn latency_requests(&self) -> u64 {
        self.latency_n
            .unwrap_or_else(|| (self.n / 4).clamp(100, 5_000))
            .max(1)
    }

    /// A progress line on stderr (none with `--json-only`).
    pub fn progress(&self, message: impl std::fmt::Display) {
        if !self.json_only {
            eprintln!("gateway-bench: {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_issue() {
        let o = Options::parse_from(["gateway-bench"]);
        assert_eq!(o.n, 20_000);
        assert_eq!(o.mix, MixChoice::All);
        assert_eq!(o.prefetch, 256);
        assert_eq!(o.queue_type, QueueTypeChoice::Classic);
        assert_eq!(o.ordering, OrderingChoice::Strict);
        assert_eq!(o.latency_requests(), 5_000);
        assert_eq!(o.ledger, LedgerChoice::Embedded);
        assert_eq!(o.latency_ms, 0);
        assert!(!o.compare_ordering);
        assert_eq!(o.state, StateChoice::Redb);
        assert_eq!(o.rounds, 1);
        assert_eq!(
            o.postgres_url,
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert!(o.validate().is_ok());
        assert!(!o.json_only);
        assert!(
            o.target
                .mapping
                .ends_with("refrigerated-transportation/connector.yaml")
        );
    }

    #[test]
    fn flags_parse_and_latency_requests_are_clamped() {
        let o = Options::parse_from([
            "gateway-bench",
            "--n",
            "2000",
            "--mix",
            "mixed",
            "--prefetch",
            "64",
            "--queue-type",
            "quorum",
            "--ordering",
            "per-contract",
            "--json-only",
            "--connector",
            "/opt/connector",
        ]);
        assert_eq!(o.n, 2000);
        assert_eq!(o.mix, MixChoice::Mixed);
        assert_eq!(o.prefetch, 64);
        assert_eq!(o.queue_type.as_str(), "quorum");
        assert_eq!(o.ordering.as_str(), "per-contract");
        assert!(o.json_only);
        assert_eq!(o.latency_requests(), 500);
        assert_eq!(
            o.target.connector_path(),
            std::path::PathBuf::from("/opt/connector")
        );
        assert_eq!(
            Options::parse_from(["gateway-bench", "--n", "10"]).latency_requests(),
            100
        );
        assert_eq!(
            Options::parse_from(["gateway-bench", "--latency-n", "7"]).latency_requests(),
            7
        );
    }

    #[test]
    fn the_ordering_comparison_on_a_sandbox_parses() {
        let o = Options::parse_from([
            "gateway-bench",
            "--ledger",
            "sandbox",
            "--latency-ms",
            "5",
            "--compare-ordering",
            "--n",
            "300",
        ]);
        assert_eq!(o.ledger, LedgerChoice::Sandbox);
        assert_eq!(o.ledger.as_str(), "sandbox");
        assert_eq!(o.latency_ms, 5);
        assert!(o.compare_ordering);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn both_state_stores_alternate_which_runs_first() {
        let o = Options::parse_from([
            "gateway-bench",
            "--state",
            "both",
            "--postgres-url",
            "postgres://bench@db:5433/postgres",
            "--rounds",
            "3",
        ]);
        assert_eq!(o.postgres_url, "postgres://bench@db:5433/postgres");
        assert_eq!(o.rounds, 3);
        assert!(o.state.uses_postgres() && o.validate().is_ok());
        assert_eq!(o.state.as_str(), "redb vs postgres");
        assert_eq!(
            o.state.backends(0),
            [StateBackend::Redb, StateBackend::Postgres]
        );
        assert_eq!(
            o.state.backends(1),
            [StateBackend::Postgres, StateBackend::Redb]
        );
        assert_eq!(o.state.backends(2), o.state.backends(0));
        assert_eq!(StateChoice::Postgres.backends(1), [StateBackend::Postgres]);
        assert!(!StateChoice::Redb.uses_postgres());
    }

    #[test]
    fn nonsense_is_refused() {
        let latency_without_sandbox = Options::parse_from(["gateway-bench", "--latency-ms", "5"]);
        let error = latency_without_sandbox
            .validate()
            .expect_err("refused")
            .to_string();
        assert!(
            error.starts_with("--latency-ms: 5 ms needs `--ledger sandbox`"),
            "{error}"
        );
        assert!(
            Options::try_parse_from(["gateway-bench", "--compare-ordering", "--mix", "mixed"])
                .is_err(),
            "the comparison runs the actions workload only"
        );
        assert!(
            Options::try_parse_from([
                "gateway-bench",
                "--compare-ordering",
                "--ordering",
                "strict"
            ])
            .is_err(),
            "the comparison runs both orderings"
        );
        assert!(Options::try_parse_from(["gateway-bench", "--ledger", "canton"]).is_err());
        assert!(Options::try_parse_from(["gateway-bench", "--state", "sqlite"]).is_err());
        assert!(Options::try_parse_from(["gateway-bench", "--rounds", "0"]).is_err());
        let both_orderings_and_stores =
            Options::parse_from(["gateway-bench", "--compare-ordering", "--state", "both"]);
        assert!(
            both_orderings_and_stores
                .validate()
                .expect_err("refused")
                .to_string()
                .starts_with("--state: `both`"),
        );
        assert!(Options::try_parse_from(["gateway-bench", "--n", "0"]).is_err());
        assert!(Options::try_parse_from(["gateway-bench", "--prefetch", "0"]).is_err());
        assert!(Options::try_parse_from(["gateway-bench", "--mix", "reads"]).is_err());
        assert!(Options::try_parse_from(["gateway-bench", "--queue-type", "stream"]).is_err());
    }
}
