//! Transport errors: what failed, never with a password in it.

/// A broker operation that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    /// The connection or channel is gone: reconnect.
    pub connection_lost: bool,
}

impl TransportError {
    pub(crate) fn lost(context: &str, error: impl std::fmt::Display) -> Self {
        Self {
            message: format!("{context}: {}", crate::redact::redact(&error.to_string())),
            connection_lost: true,
        }
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            connection_lost: false,
        }
    }

    /// Whether reconnecting is the remedy.
    pub fn is_connection_lost(&self) -> bool {
        self.connection_lost
    }
}
