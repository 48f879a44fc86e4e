//! What the benchmarks share.

/// This process's resident memory, from `/proc/self/status`.
#[allow(dead_code)] // not every bench measures itself
pub fn rss_mb() -> f64 {
    status_mb("self", "VmRSS:")
}

/// Another process's resident memory.
#[allow(dead_code)] // not every bench measures another process
pub fn rss_mb_of(pid: u32) -> f64 {
    status_mb(&pid.to_string(), "VmRSS:")
}

/// `sim serve --pods N` in its own process (so what a bench measures is not the
/// simulator's), once its kubeconfig is written; with its `HOST:PORT`.
#[allow(dead_code)] // not every bench needs a simulated cluster
pub fn start_sim(pods: usize, kubeconfig: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["sim", "serve", "--pods", &pods.to_string(), "--kubeconfig-out"])
        .arg(kubeconfig)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(sim.stdout.take().unwrap());
    let (mut said, mut addr) = (String::new(), String::new());
    while !said.contains("kubeconfig written") {
        said.clear();
        out.read_line(&mut said).unwrap();
        if let Some(url) = said.trim().strip_prefix("simulated cluster listening on https://") {
            addr = url.to_string();
        }
    }
    // Kept open: a closed pipe would make the simulator's next line on stdout fail.
    sim.stdout = Some(out.into_inner());
    (sim, addr)
}

/// The most this process has had resident so far.
#[allow(dead_code)] // not every bench reports it
pub fn peak_rss_mb() -> f64 {
    status_mb("self", "VmHWM:")
}

/// The most another process has had resident so far.
#[allow(dead_code)] // not every bench reports it
pub fn peak_rss_mb_of(pid: u32) -> f64 {
    status_mb(&pid.to_string(), "VmHWM:")
}

fn status_mb(process: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}
