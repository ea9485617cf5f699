//! Which PostgreSQL failures are an outage and which are not.
//!
//! An outage (the server down or unreachable, a connection lost or refused, the server shutting down or not
//! accepting connections yet, too many connections, a serialization failure or deadlock that a retry resolves)
//! makes the gateway pause and wait, as a ledger outage does: nothing is acked that is not durable, and work resumes
//! once the server answers. Anything else (a constraint violation, a missing table, a full disk on the server, bad
//! data) will not mend by itself: the gateway stops with its storage-failure exit code, like a full local disk.
//!
//! Messages carry the driver's text and the SQLSTATE; the driver never includes the password in them.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use super::StoreError;

/// A driver error as a store error, classified.
pub(super) fn from_db(context: &str, error: tokio_postgres::Error) -> StoreError {
    let message = describe(context, &error);
    if is_outage(&error) {
        StoreError::unavailable(message)
    } else {
        StoreError::new(message)
    }
}

/// A pool error (no connection could be had) as a store error, classified.
pub(super) fn from_pool(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => from_db("cannot connect to PostgreSQL", e),
        PoolError::Timeout(kind) => StoreError::unavailable(format!(
            "cannot connect to PostgreSQL: timed out ({kind:?})"
        )),
        PoolError::Closed => StoreError::new("the PostgreSQL pool is closed"),
        other => StoreError::unavailable(format!("cannot connect to PostgreSQL: {other}")),
    }
}

fn describe(context: &str, error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!(
            "{context}: PostgreSQL error {}: {}",
            db.code().code(),
            db.message()
        ),
        None => {
            // The driver's top-level text ("error connecting to server") hides the cause ("connection refused").
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            format!("{context}: {text}")
        }
    }
}

/// Whether trying again later can succeed without anyone changing anything.
fn is_outage(error: &tokio_postgres::Error) -> bool {
    let Some(db) = error.as_db_error() else {
        // No answer from the server: I/O, a closed connection, a timeout while connecting.
        return true;
    };
    let code = db.code();
    // Class 08: connection exception.
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::QUERY_CANCELED,
        ]
        .contains(code)
}
