//! The machine's 1-minute load average, which both benchmarks report before and after a run so that figures taken
//! on a busy machine show it.

/// The 1-minute load average (0 when /proc/loadavg cannot be read).
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}
