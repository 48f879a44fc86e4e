//! Benchmark of the simulated cluster at scale (`sim serve --pods N`): start-up time,
//! full-list latency of pods through kube-rs and through `kubectl`, and memory (RSS).
//! Prints figures; asserts only that the answers are complete, never a speed.
//!
//! `cargo bench --bench sim_large` (release profile), or a quick look without a release
//! build: `cargo bench --bench sim_large --profile dev`. `SIM_BENCH_PODS=N` changes the size.

use std::time::{Duration, Instant};

use cockpit::sim::{SimOptions, start};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const LIST_ROUNDS: usize = 5;

/// Resident memory of this process in MiB, from /proc/self/status.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let median = samples[samples.len() / 2];
    format!("min {}, median {}, max {}", ms(samples[0]), ms(median), ms(*samples.last().unwrap()))
}

fn main() {
    // `cargo bench` passes --bench; a filter argument that is not ours means "not me".
    if std::env::args().skip(1).any(|a| !a.starts_with("--")) {
        return;
    }
    let pods: usize = std::env::var("SIM_BENCH_PODS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(pods));
}

async fn run(pods: usize) {
    let rss_before = rss_mib();
    let started = Instant::now();
    let sim = match start(SimOptions { pods: Some(pods), ..SimOptions::default() }).await {
        Ok(sim) => sim,
        Err(e) => {
            panic!("the simulator does not start: {}", e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": "))
        }
    };
    let startup = started.elapsed();
    let rss_started = rss_mib();
    println!("sim --pods {pods}: {} objects in the store", sim.store().len());
    println!("start-up (generate + seed + listen): {}", ms(startup));

    let config = kube::Config::from_custom_kubeconfig(sim.kubeconfig(), &Default::default()).await.unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<Pod> = Api::all(client);

    let mut first = None;
    let mut samples = Vec::new();
    for round in 0..=LIST_ROUNDS {
        let t = Instant::now();
        let list = api.list(&ListParams::default()).await.expect("listing pods");
        let took = t.elapsed();
        assert!(list.items.len() >= pods, "a full list: {} of {pods} pods", list.items.len());
        match round {
            0 => first = Some(took),
            _ => samples.push(took),
        }
    }
    println!("first full list of pods (kube-rs, world settling): {}", ms(first.unwrap()));
    println!("full list of pods (kube-rs, {LIST_ROUNDS} rounds): {}", summary(samples));

    let paged = Instant::now();
    let mut params = ListParams::default().limit(500);
    let mut seen = 0;
    loop {
        let page = api.list(&params).await.expect("listing a page of pods");
        seen += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert!(seen >= pods, "paged list complete: {seen} of {pods}");
    println!("paged list of pods (kube-rs, limit 500): {}", ms(paged.elapsed()));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let kubectl = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["get", "pods", "-A", "--no-headers"])
            .output();
        (t.elapsed(), out)
    })
    .await
    .unwrap();
    match kubectl {
        (took, Ok(out)) if out.status.success() => {
            let rows = out.stdout.iter().filter(|b| **b == b'\n').count();
            println!("kubectl get pods -A ({rows} rows, server-side Table, includes kubectl start-up): {}", ms(took));
        }
        (_, Ok(out)) => println!("kubectl get pods -A failed: {}", String::from_utf8_lossy(&out.stderr)),
        (_, Err(e)) => println!("kubectl not run: {e}"),
    }

    let rss_after = rss_mib();
    println!(
        "RSS: {rss_before:.1} MiB before, {rss_started:.1} MiB after start-up, {rss_after:.1} MiB after the lists \
         ({:.1} MiB for the cluster and its lists)",
        rss_after - rss_before
    );
    println!("world task still running: {}", !sim.world_finished());
}
