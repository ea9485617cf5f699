//! Capped exponential backoff with jitter: how long to wait before the next try, for the processor's ledger
//! retries (`retry:` in the config) and the reconnects (`publishing/reconnect.rs`) alike.

use std::time::Duration;

use crate::config::RetryConfig;

/// The delay before retry number `attempt` (1 = the first retry): a random duration up to
/// `min(max, initial * 2^(attempt-1))`, never below a tenth of that cap so retries do not hammer the ledger.
pub fn backoff(config: &RetryConfig, attempt: u32) -> Duration {
    let cap = config
        .initial_backoff_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(32))
        .min(config.max_backoff_ms);
    let floor = cap / 10;
    let jittered = floor + (rand::random::<u64>() % (cap - floor + 1));
    Duration::from_millis(jittered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = RetryConfig {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
        };
        for _ in 0..200 {
            let first = backoff(&config, 1);
            assert!(
                first >= Duration::from_millis(10) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            let third = backoff(&config, 3);
            assert!(
                third >= Duration::from_millis(40) && third <= Duration::from_millis(400),
                "{third:?}"
            );
            let late = backoff(&config, 40);
            assert!(
                late >= Duration::from_millis(100) && late <= Duration::from_millis(1_000),
                "{late:?}"
            );
        }
    }
}
