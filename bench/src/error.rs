//! What can stop a benchmark run: the flags, the broker, the gateway or sandbox process, a phase that did not finish
//! in time, egress that broke a contract's order; for the start-up benchmark also a journal that could not be built,
//! a read the started gateway did not answer with its contract, and a gateway that did not stop on SIGTERM.

use std::path::PathBuf;

/// A benchmark run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A broker operation failed (connecting, declaring, publishing, consuming).
    #[error("broker: {context}: {message}")]
    Broker { context: String, message: String },

    /// The configured topology could not be declared the way the gateway declares it.
    #[error("declaring the topology for {side}: {message}")]
    Topology { side: String, message: String },

    /// The `connector` binary is missing or could not be started.
    #[error(
        "cannot start the gateway {path}: {message} (build it with `cargo build --release -p connector` or pass \
         --connector PATH)"
    )]
    GatewayStart { path: PathBuf, message: String },

    /// The gateway never became ready.
    #[error("the gateway did not become ready within {seconds} s; last log lines:\n{log_tail}")]
    GatewayNotReady { seconds: u64, log_tail: String },

    /// The gateway process ended before the benchmark was done with it.
    #[error("the gateway exited during {phase}; last log lines:\n{log_tail}")]
    GatewayExited { phase: String, log_tail: String },

    /// A combination of flags that cannot be run.
    #[error("{flag}: {message}")]
    Options { flag: &'static str, message: String },

    /// `connector sandbox` did not start or did not say where it listens.
    #[error("cannot start the sandbox {path}: {message}")]
    SandboxStart { path: PathBuf, message: String },

    /// The sandbox process ended before the benchmark was done with it.
    #[error("the sandbox exited during {phase}; last log lines:\n{log_tail}")]
    SandboxExited { phase: String, log_tail: String },

    /// The egress of one contract's requests did not arrive in their queue order (or not one request after another).
    #[error(
        "{ordering} ordering broke contract {linear_id}'s order: requests were published as [{published}] but their \
         egress arrived as [{arrived}]"
    )]
    ContractOrder {
        ordering: &'static str,
        linear_id: String,
        published: String,
        arrived: String,
    },

    /// `connector process` could not build the journal.
    #[error("building the journal of {contracts} contracts with `connector process`: {message}")]
    JournalBuild { contracts: u64, message: String },

    /// The started gateway answered the read of a journal's contract with something other than its contract.
    #[error(
        "the read of contract {linear_id} (request {request_id}) was not answered with its ContractMessage but with \
         {answer}"
    )]
    ReadFailed {
        request_id: String,
        linear_id: String,
        answer: String,
    },

    /// The gateway did not exit cleanly (status 0) within the grace period after SIGTERM.
    #[error(
        "the gateway did not exit cleanly on SIGTERM after {phase}; last log lines:\n{log_tail}"
    )]
    GatewayStop { phase: String, log_tail: String },

    /// The mapping file could not be used.
    #[error("mapping {path}: {message}")]
    Mapping { path: PathBuf, message: String },

    /// A phase did not see everything it waited for.
    #[error(
        "{phase}: saw {got} of {expected} {what} within {seconds} s{}",
        log_hint(log_tail)
    )]
    Timeout {
        phase: String,
        what: &'static str,
        got: u64,
        expected: u64,
        seconds: u64,
        log_tail: Option<String>,
    },

    /// The PostgreSQL server of `--state postgres` refused or failed an operation of the bench's own.
    #[error(
        "PostgreSQL at {server}: {doing}: {message} (with --state postgres the bench creates a database per gateway \
         run: point --postgres-url at a server whose user may CREATE DATABASE)"
    )]
    Postgres {
        doing: String,
        server: String,
        message: String,
    },

    /// Local files (temp dir, config, logs).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn log_hint(log_tail: &Option<String>) -> String {
    match log_tail {
        Some(tail) if !tail.trim().is_empty() => format!("; details:\n{tail}"),
        _ => String::new(),
    }
}

impl BenchError {
    /// A timeout without a log gets the gateway's log tail; any other error is returned as it is.
    pub fn with_log_tail(self, tail: String) -> Self {
        match self {
            Self::Timeout {
                phase,
                what,
                got,
                expected,
                seconds,
                log_tail: None,
            } => Self::Timeout {
                phase,
                what,
                got,
                expected,
                seconds,
                log_tail: Some(tail),
            },
            other => other,
        }
    }

    /// A broker error with what was being done.
    pub fn broker(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        Self::Broker {
            context: context.into(),
            message: error.to_string(),
        }
    }

    /// A local I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
