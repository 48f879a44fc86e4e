//! What the benchmarks share.

/// This process's resident memory, from `/proc/self/status`.
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// The most this process has had resident so far.
#[allow(dead_code)] // not every bench reports it
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}
