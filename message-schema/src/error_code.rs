//! The stable, documented error codes of Failure messages.

use serde::{Deserialize, Serialize};

/// A Failure's `additionalInformation.errorCode`. The numeric values are part of the wire contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// 4000: not JSON, schema violation, unknown messageName, bad version, unconvertible or missing parameter.
    BadRequest,
    /// 4030: acting party not allowed, ledger denied authorization.
    Forbidden,
    /// 4040: unknown workflow or function, no active contract with that linear id.
    NotFound,
    /// 4090: contract archived or changed concurrently, transition not allowed in the current state.
    Conflict,
    /// 4220: a template precondition or choice guard failed on the ledger.
    Rejected,
    /// 5000: anything else (a bug).
    Internal,
    /// 5030: ledger unavailable, retries exhausted; the original was dead-lettered.
    Unavailable,
}

impl ErrorCode {
    /// The integer written on the wire.
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 4000,
            ErrorCode::Forbidden => 4030,
            ErrorCode::NotFound => 4040,
            ErrorCode::Conflict => 4090,
            ErrorCode::Rejected => 4220,
            ErrorCode::Internal => 5000,
            ErrorCode::Unavailable => 5030,
        }
    }

    /// The machine-readable kind written as `additionalInformation.errorKind`.
    pub fn kind(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Rejected => "rejected",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The code for a wire integer, if it is one of ours.
    pub fn from_code(code: u16) -> Option<Self> {
        [
            ErrorCode::BadRequest,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Rejected,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}
