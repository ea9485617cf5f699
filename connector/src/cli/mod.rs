//! The `connector` command line: one subcommand per file.

mod check;
mod compact;
mod dead_letters;
mod explain;
mod process;
mod requests;
mod run;
mod sandbox;
mod schema;
mod send;
mod test_runner;

pub use check::check;
pub use compact::compact;
pub use dead_letters::{list_dead_letters, replay_dead_letters};
pub use explain::{ExplainOptions, explain};
pub use process::{ProcessOptions, parse_clock, process};
pub use requests::{list_requests, show_request};
pub use run::run;
pub use sandbox::{SandboxOptions, sandbox};
pub use schema::{SchemaKind, schema, schema_text, test_file_schema};
pub use send::{SendOptions, send};
pub use test_runner::{TestOptions, TestReport, run_and_print as test_runner_main, run_test_files};

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::outcome_store::StatusFilter;

/// A Workbench-format message gateway between AMQP queues and a ledger.
#[derive(Debug, Parser)]
#[command(name = "connector", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a config file (and, against a Daml ledger, that its templates exist); exit 0 or a precise error.
    Check {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Offline: compact the embedded ledger's journal to a snapshot of its active contracts (refused while a
    /// gateway or sandbox has the journal open).
    Compact {
        /// The config file (its `ledger.embedded` journal and `state_dir`).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Read the dead-letter queue (`list`, removing nothing) or move chosen letters back to the ingress queue
    /// (`replay`, each confirmed by the broker before it leaves the dead-letter queue).
    DeadLetters {
        #[command(subcommand)]
        action: DeadLettersAction,
    },
    /// Offline: run ingress JSON Lines through the processor and print every egress message as a JSON line.
    Process {
        /// The config file (the ledger is embedded in-memory unless the config says otherwise).
        #[arg(long, short)]
        config: PathBuf,
        /// Ingress JSON Lines; `-` or absent reads standard input.
        #[arg(long, short)]
        input: Option<PathBuf>,
        /// Fix the ledger clock (RFC 3339) so the output is byte-for-byte deterministic.
        #[arg(long)]
        clock: Option<String>,
        /// Process every message as published by this broker user (its AMQP user_id), to try
        /// `user_chain_identifier.parties_by_amqp_user` offline.
        #[arg(long, value_name = "NAME")]
        amqp_user: Option<String>,
    },
    /// Offline, without a ledger: for each ingress message (JSON Lines), what the gateway would do — workflow,
    /// template, create or choice, converted arguments, acting party, the ledger's guards — or the Failure it would
    /// get. Each message is explained on an in-memory ledger that has processed the input's earlier messages.
    Explain {
        /// The config file (its workflows and parties; never its ledger).
        #[arg(long, short)]
        config: PathBuf,
        /// Ingress JSON Lines; `-` or absent reads standard input.
        #[arg(long, short)]
        input: Option<PathBuf>,
        /// Fix the ledger clock (RFC 3339), as `process --clock`.
        #[arg(long)]
        clock: Option<String>,
        /// Explain every message as published by this broker user (its AMQP user_id), as `process --amqp-user`.
        #[arg(long, value_name = "NAME")]
        amqp_user: Option<String>,
        /// One JSON object per message (JSON Lines) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What happened to a request (`show`) and the run history (`list`), from the running gateway over
    /// `http.listen`, or from the state store when no gateway listens there.
    Requests {
        #[command(subcommand)]
        action: RequestsAction,
    },
    /// The gateway: AMQP in and out, ledger, observer, HTTP. Stops cleanly on SIGTERM/SIGINT.
    Run {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Serve the config's embedded ledger over the Daml Ledger API v2 (gRPC) until SIGTERM/SIGINT; prints
    /// `listening on <address>` on stdout once bound.
    Sandbox {
        /// The config file (its `ledger.embedded`, journal included, and its workflows' templates).
        #[arg(long, short)]
        config: PathBuf,
        /// The address to serve on, e.g. 127.0.0.1:6865 (port 0 picks a free one).
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// A file holding the token every call must present as `authorization: Bearer <token>`.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Milliseconds added to every command submission (benchmarks).
        #[arg(long, default_value = "0")]
        latency_ms: u64,
        /// Append one JSON line per call to this file: the method and the `traceparent` / `tracestate` metadata it
        /// carried (for tests of trace propagation).
        #[arg(long)]
        record_trace_context: Option<PathBuf>,
    },
    /// Print a JSON Schema: `config` (connector.yaml) and `test` (test files) for editors, draft-07; `messages`
    /// (the Workbench ingress and egress messages, draft 2020-12).
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Publish ingress messages (JSON Lines) to the configured queue and print the egress that answers them.
    Send {
        /// The config file (for the broker and queue).
        #[arg(long, short)]
        config: PathBuf,
        /// JSON Lines of ingress messages, or `-` for standard input.
        file: PathBuf,
        /// Seconds to wait for every message's answer.
        #[arg(long, default_value = "30", value_parser = parse_seconds)]
        timeout: Duration,
    },
    /// Run YAML test cases (config + input messages + expected egress or a snapshot of it); non-zero exit when any
    /// fails. A failing snapshot case writes its new egress as `snapshots/<file>__<case>.snap.new` for review.
    Test {
        /// Test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// First turn the files' pending `.snap.new` snapshots into their `.snap` (then run the cases).
        #[arg(long, conflicts_with = "ci")]
        accept: bool,
        /// Write no snapshot file (also when the environment sets `CI`, unless to empty, `0` or `false`).
        #[arg(long)]
        ci: bool,
    },
}

/// `connector dead-letters …`.
#[derive(Debug, Subcommand)]
pub enum DeadLettersAction {
    /// One JSON line per dead letter in queue order (requestId when readable, x-error-code, x-error-reason, when,
    /// size); nothing is removed.
    List {
        /// The config file (for the broker and queues).
        #[arg(long, short)]
        config: PathBuf,
        /// At most this many letters, from the head of the queue.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Move the matching letters back to the ingress queue, in order; the others stay, in order. Needs a filter or
    /// `--all`; when several filters are given a letter must match each.
    Replay {
        /// The config file (for the broker and queues).
        #[arg(long, short)]
        config: PathBuf,
        /// Letters whose x-error-code is this (repeatable).
        #[arg(long = "code")]
        codes: Vec<u16>,
        /// Letters whose body's requestId is this (repeatable).
        #[arg(long = "request-id", value_name = "ID")]
        request_ids: Vec<String>,
        /// Every letter.
        #[arg(long)]
        all: bool,
        /// Print what would move; move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `connector requests …`.
#[derive(Debug, Subcommand)]
pub enum RequestsAction {
    /// One JSON document: the request's state (unknown, in_flight, done, dead_lettered), its outcome and error code,
    /// when it was processed, its names and latency, and its egress as published.
    Show {
        /// The config file (its `http.listen` and `state_dir`).
        #[arg(long, short)]
        config: PathBuf,
        /// The requestId, exactly as sent.
        #[arg(value_name = "REQUEST_ID", allow_hyphen_values = true)]
        request_id: String,
    },
    /// One JSON line per recent request, newest first.
    List {
        /// The config file (its `http.listen` and `state_dir`).
        #[arg(long, short)]
        config: PathBuf,
        /// Only `committed` or only `failure` requests.
        #[arg(long, value_parser = status_flag)]
        status: Option<StatusFilter>,
        /// Only Failures with this error code (e.g. 4090).
        #[arg(long, value_name = "N", value_parser = code_flag)]
        code: Option<u16>,
        /// Only requests processed at or after this time: RFC 3339 or unix milliseconds.
        #[arg(long, value_name = "TIME", value_parser = since_flag)]
        since: Option<u64>,
        /// At most this many lines (default 50, at most 1000).
        #[arg(long, value_name = "N", value_parser = limit_flag)]
        limit: Option<usize>,
    },
}

fn status_flag(text: &str) -> Result<StatusFilter, String> {
    crate::request_lookup::parse_status(text).map_err(|e| format!("expected {}", e.expected))
}

fn code_flag(text: &str) -> Result<u16, String> {
    crate::request_lookup::parse_code(text).map_err(|e| format!("expected {}", e.expected))
}

fn since_flag(text: &str) -> Result<u64, String> {
    crate::request_lookup::parse_since(text).map_err(|e| format!("expected {}", e.expected))
}

fn limit_flag(text: &str) -> Result<usize, String> {
    crate::request_lookup::parse_limit(text).map_err(|e| format!("expected {}", e.expected))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{text:?}: expected whole seconds"))
}
