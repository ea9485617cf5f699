//! Draining a side's preload: waiting for all of its egress on the capture queue, letting it settle so duplicates
//! would show, and the rate over the window from its first to its last egress message. The relay, the gateway and
//! both orderings of the comparison are timed by this same code, so none is favoured by where its clock starts.

use std::time::Duration;

use crate::capture::{Capture, Window};
use crate::error::BenchError;
use crate::options::Options;
use crate::workload::{Expected, Mix};

/// After the last expected egress, how long to keep counting so duplicates would show.
const SETTLE: Duration = Duration::from_millis(300);

/// A drained preload: its window, the egress counted once settled, and the egress correlation ids in arrival order.
pub struct Drained {
    pub window: Window,
    pub egress: u64,
    pub arrivals: Vec<String>,
}

/// Waits for the preload's egress (giving up early once `gone()` says the side stopped); returns its window, the
/// egress count once it has settled, and the egress correlation ids in arrival order.
pub async fn drain(
    options: &Options,
    capture: &Capture,
    mix: Mix,
    expected: Expected,
    side: &str,
    gone: impl FnMut() -> bool,
) -> Result<Drained, BenchError> {
    let timeout = Duration::from_secs(options.timeout_secs);
    let window = capture
        .wait_for_count(expected.egress, timeout, gone)
        .await
        .map_err(|got| BenchError::Timeout {
            phase: format!("{} {side} drain", mix.as_str()),
            what: "egress messages",
            got,
            expected: expected.egress,
            seconds: timeout.as_secs(),
            log_tail: capture.failure(),
        })?;
    tokio::time::sleep(SETTLE).await;
    let egress = capture.count();
    let arrivals = capture.arrivals();
    capture.reset_window();
    Ok(Drained {
        window,
        egress,
        arrivals,
    })
}

/// Per second over the window (a window shorter than a millisecond counts as one).
pub fn rate(count: u64, window: &Window) -> f64 {
    count as f64 / window.elapsed().as_secs_f64().max(0.001)
}
