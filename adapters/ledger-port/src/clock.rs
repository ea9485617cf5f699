//! Where a ledger's effective times come from: the system clock in production, a fixed one where a run must be
//! reproducible (tests, benchmarks, `connector process --clock`).
//!
//! It lives in the port, not in the embedded ledger, because callers choose it before they know which ledger the
//! configuration opens (`open_ledger` takes one for either kind). Only the embedded ledger reads it; a Daml
//! participant keeps its own time.

/// Where effective times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Deterministic: the transaction at offset N gets this instant plus N microseconds.
    Fixed(i64),
}
