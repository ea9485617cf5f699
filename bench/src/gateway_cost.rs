//! What the gateway cost, as the report states it: CPU seconds per 1,000 requests between two /proc readings, and
//! peak resident memory in MiB.

use crate::proc_stats::ProcStats;
use crate::report::round;
use crate::workload::Expected;

/// CPU seconds per 1,000 requests between two readings of the gateway's /proc figures.
pub fn cpu_per_1000(
    expected: Expected,
    before: Option<ProcStats>,
    after: Option<ProcStats>,
) -> Option<f64> {
    let (before, after) = (before?, after?);
    let thousands = (expected.requests as f64 / 1000.0).max(f64::MIN_POSITIVE);
    Some(round(
        (after.cpu_seconds - before.cpu_seconds) / thousands,
        3,
    ))
}

/// Peak resident memory in MiB.
pub fn peak_rss_mib(stats: ProcStats) -> f64 {
    round(stats.peak_rss_bytes as f64 / (1024.0 * 1024.0), 1)
}
