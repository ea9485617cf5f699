//! Why a request's parameters could not be mapped: always names the ingress field, the value and what was expected.

use message_schema::error_code::ErrorCode;

/// A request that the mapping refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MappingError {
    pub code: ErrorCode,
    /// The ingress field, e.g. `parameters[2].value` or `workflowName`.
    pub field: Option<String>,
    pub message: String,
}

impl MappingError {
    /// A 4000 about `field`.
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 4040 about `field`.
    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::NotFound,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}
