//! The one error both conversion directions report when a wire message does not fit the port's model.
//!
//! It sits on its own so that value conversion and transaction conversion can both use it while only transaction
//! conversion depends on value conversion (transactions contain values, never the other way round).

/// Why a wire message could not be turned into the port's model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: unexpected {found}")]
pub struct ConversionError {
    /// Where in the message (e.g. `transaction.events[2].created.create_arguments.owner`).
    pub path: String,
    pub found: String,
}

impl ConversionError {
    pub(crate) fn new(path: &str, found: &str) -> Self {
        Self {
            path: if path.is_empty() {
                "value".to_owned()
            } else {
                path.to_owned()
            },
            found: found.to_owned(),
        }
    }
}
