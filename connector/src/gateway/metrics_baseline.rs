//! The counters the shipped alerts watch (`ops/prometheus/alerts.yml`), made to exist at zero when the gateway
//! starts. Prometheus's `increase()` needs a sample before the first increment: a series born at 1 shows no increase,
//! so the first panic, dead letter or reconnect would never fire its alert, and a dashboard would show "no data"
//! instead of a flat zero. Only bounded label values are listed: the spec's error codes and the dead-letter reasons.

use super::failure_code::{ALL_CODES, code_label};
use crate::metrics_names;

/// The `reason` values of `connector_dead_letters_total`, as `outcome_publishing.rs` and `session.rs` set them.
const DEAD_LETTER_REASONS: [&str; 3] = ["malformed", "exhausted", "poisoned"];

/// Registers each watched series at zero (adding 0 leaves a series that already counted something as it is).
pub fn register_at_zero() {
    for code in ALL_CODES {
        metrics::counter!(metrics_names::FAILURES, "code" => code_label(code)).increment(0);
    }
    for reason in DEAD_LETTER_REASONS {
        metrics::counter!(metrics_names::DEAD_LETTERS, "reason" => reason).increment(0);
    }
    for name in [
        metrics_names::PANICS_CAUGHT,
        metrics_names::RECONNECTS,
        metrics_names::LEDGER_RETRIES,
        metrics_names::OUTCOMES_EXPIRED,
    ] {
        metrics::counter!(name).increment(0);
    }
}
