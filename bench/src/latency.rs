//! End-to-end latency at a fixed offered load: requests are published at a steady pace (not as fast as possible),
//! each timestamped at its publish, and measured until the last of its egress arrives on the capture queue.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::broker::Broker;
use crate::capture::Capture;
use crate::error::BenchError;
use crate::workload::Request;

/// Latency figures of one side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    /// The pace requests were published at.
    pub offered_per_s: f64,
    /// Requests measured.
    pub samples: u64,
    /// Requests completed per second over the phase (below the offered load when the side could not keep up).
    pub completed_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Publishes `requests` to `queue` at `rate` per second and waits until each has all its egress (giving up early
/// once `gone()` says the side has stopped).
pub async fn measure(
    broker: &Broker,
    capture: &Capture,
    queue: &str,
    requests: &[Request],
    rate: f64,
    timeout: Duration,
    gone: impl FnMut() -> bool,
) -> Result<LatencyStats, BenchError> {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
    };
    let started = Instant::now();
    let mut confirms = Vec::with_capacity(requests.len());
    let mut measured = 0;
    for (i, request) in requests.iter().enumerate() {
        tokio::time::sleep_until((started + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        if let Some(id) = &request.request_id {
            capture.expect(id, request.kind.egress(), Instant::now());
            measured += 1;
        }
        confirms.push(broker.publish(queue, request).await?);
    }
    for confirm in confirms {
        confirm
            .await
            .map_err(|e| BenchError::broker(format!("publishing to {queue}"), e))?;
    }
    let left = timeout.saturating_sub(started.elapsed());
    let latencies = capture
        .wait_for_latencies(measured, left, gone)
        .await
        .map_err(|got| BenchError::Timeout {
            phase: format!("latency at {rate:.0} requests/s"),
            what: "requests with all their egress",
            got,
            expected: measured as u64,
            seconds: timeout.as_secs(),
            log_tail: capture.failure(),
        })?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(summarize(rate, latencies, elapsed))
}

fn summarize(rate: f64, mut latencies: Vec<Duration>, elapsed_secs: f64) -> LatencyStats {
    latencies.sort_unstable();
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    LatencyStats {
        offered_per_s: rate.round(),
        samples: latencies.len() as u64,
        completed_per_s: if elapsed_secs > 0.0 {
            (latencies.len() as f64 / elapsed_secs).round()
        } else {
            0.0
        },
        p50_ms: ms(percentile(&latencies, 0.50)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        max_ms: ms(latencies.last().copied().unwrap_or_default()),
    }
}

/// Nearest-rank percentile of sorted samples (zero for none).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 1.0), Duration::from_millis(100));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 0.5),
            Duration::from_millis(7)
        );
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn summary_sorts_and_rounds() {
        let stats = summarize(
            1000.4,
            vec![
                Duration::from_micros(3_333),
                Duration::from_micros(1_111),
                Duration::from_micros(2_222),
            ],
            0.5,
        );
        assert_eq!(stats.offered_per_s, 1000.0);
        assert_eq!(stats.samples, 3);
        assert_eq!(stats.completed_per_s, 6.0);
        assert_eq!(stats.p50_ms, 2.22);
        assert_eq!(stats.p99_ms, 3.33);
        assert_eq!(stats.max_ms, 3.33);
    }
}
