//! Poison containment at the boundary of one delivery: a panic anywhere in its processing or publishing is caught
//! and turned into its message, and the delivery is answered with Failure 5000 and a dead letter instead of taking
//! the gateway down.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::metrics_names;
use crate::processor::{Processed, Processor, panic_message};

/// Runs `work`, turning a panic inside it into its message: the boundary of one delivery.
pub async fn contained<T>(work: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|payload| panic_message(&*payload))
}

/// Runs synchronous `work` (the per-contract parse), turning a panic inside it into its message.
pub fn contained_now<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(&*payload))
}

/// The outcome of a delivery whose processing panicked.
pub fn panicked(processor: &Processor, body: &[u8], panic: &str) -> Processed {
    metrics::counter!(metrics_names::PANICS_CAUGHT).increment(1);
    tracing::error!(
        panic,
        "processing a message panicked; it gets Failure 5000 and is dead-lettered"
    );
    processor.poisoned(body, &format!("processing it panicked: {panic}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_contained_and_its_message_kept() {
        let caught = contained(async { panic!("boom at {}", 7) }).await;
        assert_eq!(caught.unwrap_err(), "boom at 7");
        assert_eq!(contained(async { 5 }).await, Ok(5));
        let caught_now = contained_now(|| -> u8 { panic!("boom at {}", 8) });
        assert_eq!(caught_now.unwrap_err(), "boom at 8");
        assert_eq!(contained_now(|| 6), Ok(6));
    }
}
