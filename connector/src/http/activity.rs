//! The last fifteen minutes of activity for the operator page's chart: every [`SAMPLE_EVERY`] the totals of answered
//! and failed requests are read from the gateway's own metrics, and the page is given the differences per window.
//! Bounded: [`WINDOWS`] windows, whatever the uptime.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;

use super::metric_totals::family_total;
use crate::metrics_names;

/// One window of the chart.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Fifteen minutes of windows.
pub const WINDOWS: usize = 90;

/// Counter totals at one moment.
#[derive(Debug, Clone, Copy)]
struct Totals {
    at_unix_ms: u64,
    answered: f64,
    failed: f64,
}

/// One window, as the page draws it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityWindow {
    /// When the window ended.
    pub at_unix_ms: u64,
    /// Requests settled in the window (answered, replayed or dead-lettered).
    pub answered: u64,
    /// Of those, the ones whose outcome was a Failure (any error code).
    pub failed: u64,
}

/// The sampled totals, oldest first.
#[derive(Default)]
pub struct ActivityLog {
    totals: Mutex<VecDeque<Totals>>,
}

impl ActivityLog {
    /// Reads the totals now from the metrics text.
    pub fn sample(&self, metrics_text: &str, at_unix_ms: u64) {
        let totals = Totals {
            at_unix_ms,
            answered: family_total(metrics_text, metrics_names::INGRESS_MESSAGES),
            failed: family_total(metrics_text, metrics_names::FAILURES),
        };
        let mut all = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        all.push_back(totals);
        while all.len() > WINDOWS + 1 {
            all.pop_front();
        }
    }

    /// The windows between consecutive samples, oldest first, and a last one still open: from the newest sample to
    /// `now` as `metrics_text` counts it, so a page opened a moment after start already shows what happened.
    pub fn windows_until(&self, metrics_text: &str, now_unix_ms: u64) -> Vec<ActivityWindow> {
        let all = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let now = Totals {
            at_unix_ms: now_unix_ms,
            answered: family_total(metrics_text, metrics_names::INGRESS_MESSAGES),
            failed: family_total(metrics_text, metrics_names::FAILURES),
        };
        let open = all.back().filter(|last| now.at_unix_ms > last.at_unix_ms);
        all.iter()
            .zip(all.iter().skip(1))
            .chain(open.map(|last| (last, &now)))
            .map(|(before, after)| ActivityWindow {
                at_unix_ms: after.at_unix_ms,
                // Counters only grow; a difference below 0 could only come from a restarted recorder.
                answered: (after.answered - before.answered).max(0.0) as u64,
                failed: (after.failed - before.failed).max(0.0) as u64,
            })
            .collect()
    }

    /// Samples every [`SAMPLE_EVERY`] until the task is dropped.
    pub async fn keep_sampling(&self, metrics: PrometheusHandle) {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sample(&metrics.render(), crate::outcome_store::now_ms());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(answered: u64, failed: u64) -> String {
        format!(
            "{}{{message_name=\"a\",outcome=\"completed\"}} {answered}\n{}{{code=\"4090\"}} {failed}\n",
            metrics_names::INGRESS_MESSAGES,
            metrics_names::FAILURES
        )
    }

    #[test]
    fn windows_are_the_differences_between_samples_and_the_last_one_is_open() {
        let log = ActivityLog::default();
        log.sample(&text(0, 0), 1_000);
        log.sample(&text(10, 2), 11_000);
        log.sample(&text(25, 2), 21_000);
        assert_eq!(
            log.windows_until(&text(27, 3), 24_000),
            [
                ActivityWindow {
                    at_unix_ms: 11_000,
                    answered: 10,
                    failed: 2
                },
                ActivityWindow {
                    at_unix_ms: 21_000,
                    answered: 15,
                    failed: 0
                },
                ActivityWindow {
                    at_unix_ms: 24_000,
                    answered: 2,
                    failed: 1
                },
            ]
        );
        // No open window when nothing has passed since the last sample.
        assert_eq!(log.windows_until(&text(25, 2), 21_000).len(), 2);
    }

    #[test]
    fn the_log_keeps_only_the_last_fifteen_minutes() {
        let log = ActivityLog::default();
        for i in 0..(WINDOWS as u64 * 3) {
            log.sample(&text(i, 0), i * 10_000);
        }
        let last = (WINDOWS as u64 * 3 - 1) * 10_000;
        let windows = log.windows_until(&text(0, 0), last);
        assert_eq!(windows.len(), WINDOWS);
        assert_eq!(windows.last().map(|w| w.at_unix_ms), Some(last));
    }
}
