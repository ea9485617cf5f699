//! The one reconnect setting: how long the gateway's broker sessions, its ledger gate and the observer wait before
//! trying again after a lost connection (capped exponential backoff with jitter).

use std::time::Duration;

use crate::config::RetryConfig;

/// The first reconnect waits up to this long.
const FIRST_RECONNECT_MS: u64 = 200;

/// No reconnect waits longer than this.
const LONGEST_RECONNECT_MS: u64 = 10_000;

/// The delay before reconnect attempt `attempt` (1-based).
pub fn reconnect_delay(attempt: u32) -> Duration {
    let retry = RetryConfig {
        max_attempts: u32::MAX,
        initial_backoff_ms: FIRST_RECONNECT_MS,
        max_backoff_ms: LONGEST_RECONNECT_MS,
    };
    crate::backoff::backoff(&retry, attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_up_to_the_cap() {
        for attempt in 1..40 {
            let delay = reconnect_delay(attempt);
            assert!(
                delay <= Duration::from_millis(LONGEST_RECONNECT_MS),
                "{attempt}: {delay:?}"
            );
        }
        assert!(reconnect_delay(1) <= Duration::from_millis(FIRST_RECONNECT_MS));
    }
}
