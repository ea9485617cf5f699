//! A process's peak and current resident memory and its CPU time, from Linux's /proc: what the gateway costs per
//! message, and what it holds once started.

use std::sync::OnceLock;

/// CPU time and peak memory of one process at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStats {
    /// User plus system CPU seconds so far.
    pub cpu_seconds: f64,
    /// Peak resident set size so far (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; None once the process is gone.
pub fn read(pid: u32) -> Option<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(ProcStats {
        cpu_seconds: cpu_ticks(&stat)? as f64 / clock_ticks_per_second(),
        peak_rss_bytes: peak_rss_kib(&status)? * 1024,
    })
}

/// utime + stime (fields 14 and 15) of a `stat` line, in clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Peak and current resident memory of one process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Peak resident set size so far (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
    /// Resident set size now (`VmRSS`), in bytes.
    pub rss_bytes: u64,
}

/// Reads `VmHWM` and `VmRSS` from `/proc/<pid>/status`; None once the process is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Memory {
        peak_rss_bytes: peak_rss_kib(&status)? * 1024,
        rss_bytes: rss_kib(&status)? * 1024,
    })
}

/// `VmHWM:  1234 kB` of a `status` file.
fn peak_rss_kib(status: &str) -> Option<u64> {
    status_kib(status, "VmHWM:")
}

/// `VmRSS:  1234 kB` of a `status` file.
fn rss_kib(status: &str) -> Option<u64> {
    status_kib(status, "VmRSS:")
}

/// The kB figure of the `status` line starting with `key`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The kernel's clock ticks per second for /proc times (`getconf CLK_TCK`; 100 on every common Linux platform,
/// which is also the fallback when getconf is unavailable).
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_an_awkward_command_name() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 9 0 123 456 789";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn parses_vm_hwm() {
        let status =
            "Name:\tconnector\nVmPeak:\t 99999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 10000 kB\n";
        assert_eq!(peak_rss_kib(status), Some(20480));
        assert_eq!(peak_rss_kib("Name: x\n"), None);
        assert_eq!(rss_kib(status), Some(10000));
        assert_eq!(rss_kib("Name: x\nVmHWM:\t 5 kB\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let stats = read(std::process::id()).expect("our own /proc entry");
        assert!(stats.peak_rss_bytes > 0);
        assert!(stats.cpu_seconds >= 0.0);
        let mem = memory(std::process::id()).expect("our own /proc entry");
        assert!(mem.rss_bytes > 0);
        assert!(mem.peak_rss_bytes >= mem.rss_bytes);
    }
}
