//! `gateway-bench`: measures the real gateway (`connector run`) against the broker's own ceiling on this machine.
//!
//! For each workload it preloads the same persistent requests for a bare lapin relay (parse, publish the gateway's
//! egress with confirms, ack) and for the gateway, measures how fast each drains them, then the end-to-end latency
//! of each at a fixed offered load of half the relay's rate, and the gateway's peak memory and CPU per request. The
//! gateway runs on its embedded ledger or on a Daml ledger (`connector sandbox`, optionally with added latency), and
//! `--compare-ordering` measures per-contract against strict ordering instead.
//!
//! `soak` (`soak.rs`) runs a long stream of shipments that are created and archived through the gateway and samples
//! its memory and state sizes over time.
//!
//! The second binary, `startup-bench` (`startup.rs`), measures what it costs the gateway to start on a journal of N
//! active contracts against the same gateway starting on an empty journal.

pub mod broker;
pub mod capture;
pub mod child_command;
pub mod comparison;
pub mod contract_order;
pub mod drain;
pub mod error;
pub mod gateway_config;
pub mod gateway_cost;
pub mod gateway_process;
pub mod gateway_target;
pub mod gateway_under_test;
pub mod journal_build;
pub mod latency;
pub mod load_average;
pub mod options;
pub mod postgres_database;
pub mod proc_stats;
pub mod read_probe;
pub mod relay;
pub mod report;
pub mod run;
pub mod run_context;
pub mod sandbox_process;
pub mod soak;
pub mod soak_options;
pub mod soak_workload;
pub mod startup;
pub mod startup_options;
pub mod startup_report;
pub mod startup_workload;
pub mod state_under_test;
pub mod topology;
pub mod workload;

pub use error::BenchError;
pub use options::Options;
pub use report::Report;
pub use run::run;
pub use soak_options::SoakOptions;
pub use startup_options::StartupOptions;
pub use startup_report::StartupReport;
