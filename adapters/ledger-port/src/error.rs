//! Ledger errors, classified so the core knows whether to retry, fail the request, or stop.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the core must treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorClass {
    /// Retry with backoff (ledger unavailable, deadline exceeded, contention, overload).
    Transient,
    /// The request fails with a Failure message; retrying cannot help.
    Permanent,
    /// The gateway is misconfigured (bad token, unknown user), or the ledger cannot go on without an operator (an
    /// embedded journal that failed to write or sync): stop consuming, report unhealthy, dead-letter nothing.
    Configuration,
}

/// Why the ledger refused a command; maps one-to-one onto Workbench error codes in the core.
// `JsonSchema`: the embedded ledger's injected faults name one in the gateway's config, whose schema is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// The command was malformed for the ledger (bad value, unknown field): 4000.
    InvalidArgument,
    /// The acting party may not do this: 4030.
    Forbidden,
    /// The contract (or template, or choice) does not exist or is not active: 4040.
    NotFound,
    /// The contract was archived or changed concurrently, or a `when` guard did not hold: 4090.
    Conflict,
    /// A precondition or assertion in the ledger's logic failed: 4220.
    Rejected,
    /// The ledger cannot be reached or is overloaded: 5030 once retries are exhausted.
    Unavailable,
    /// Authentication failed: a configuration fault.
    Unauthenticated,
    /// Anything else: 5000.
    Internal,
}

/// An error from a ledger call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{reason:?} ({class:?}): {message}")]
pub struct LedgerError {
    pub class: ErrorClass,
    pub reason: RejectionReason,
    /// The ledger's own error id when it has one (`CONTRACT_NOT_FOUND`, `DUPLICATE_COMMAND`).
    pub ledger_error: Option<String>,
    /// A sentence a person can act on. Never contains secrets.
    pub message: String,
    /// Set when the read asked for pruned history ([`crate::PrunedOffset`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned: Option<crate::PrunedOffset>,
}

impl LedgerError {
    /// A permanent rejection.
    pub fn permanent(reason: RejectionReason, message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Permanent,
            reason,
            ledger_error: None,
            message: message.into(),
            pruned: None,
        }
    }

    /// A transient fault worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Transient,
            reason: RejectionReason::Unavailable,
            ledger_error: None,
            message: message.into(),
            pruned: None,
        }
    }

    /// A configuration fault (e.g. authentication).
    pub fn configuration(reason: RejectionReason, message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Configuration,
            reason,
            ledger_error: None,
            message: message.into(),
            pruned: None,
        }
    }

    /// Attaches the ledger's own error id.
    pub fn with_ledger_error(mut self, id: impl Into<String>) -> Self {
        self.ledger_error = Some(id.into());
        self
    }

    /// Whether retrying may help.
    pub fn is_transient(&self) -> bool {
        self.class == ErrorClass::Transient
    }
}
