//! Issue #20's fleet targets: five `sim serve --pods 2000` clusters, each in its own
//! process, reached through one kubeconfig merged from a file per cluster (`$KUBECONFIG=a:b`,
//! as kubectl merges it), and the real cockpit binary with `--all-contexts -A` in a 200x50
//! pseudo-terminal. Run: `cargo bench --bench fleet` (or `-- CLUSTERS PODS`, default 5 2000).
//!
//! It prints the time from start until every cluster is `live` on the status line with all
//! services shown (target ≤ 3 s), the cockpit's RSS and peak (≤ 150 MB), the requests it
//! makes at idle beyond its watches per cluster (from each simulator's `/sim/metrics`,
//! target 0), and, with the last simulator killed, how long until it is `stale` while the
//! others stay `live` (within its watch timeout).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use support::{peak_rss_mb_of, rss_mb_of};

mod support;

const COLS: u16 = 200;
const ROWS: u16 = 50;

/// One simulated cluster: its process, its `HOST:PORT`, its context name.
struct Cluster {
    context: String,
    sim: Child,
    addr: String,
}

/// The cockpit in its own pseudo-terminal; the screen as a reader thread parses it.
struct Cockpit {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pid: u32,
    screen: Arc<Mutex<vt100::Parser>>,
}

impl Cockpit {
    fn start(kubeconfig: &str, dir: &Path) -> Cockpit {
        let size = PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 };
        let pair = native_pty_system().openpty(size).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kubectl-cockpit"));
        cmd.args(["--all-contexts", "-A"]);
        cmd.env("TERM", "xterm-256color");
        cmd.env("KUBECONFIG", kubeconfig);
        cmd.env("KUBECTL_COCKPIT_CONFIG", dir.join("config"));
        cmd.env("KUBECTL_COCKPIT_DATA", dir.join("data"));
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let pid = child.process_id().unwrap();
        let parser = vt100::Parser::new(ROWS.try_into().unwrap(), COLS.try_into().unwrap(), 0);
        let screen = Arc::new(Mutex::new(parser));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let seen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    return;
                }
                seen.lock().unwrap().process(&buf[..n]);
            }
        });
        // The master must outlive the child's use of the terminal.
        std::mem::forget(pair.master);
        Cockpit { child, pid, screen }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits (polling the screen, up to `deadline`) until `cond` holds; how long it took.
    fn wait_until(&self, what: &str, deadline: Duration, cond: impl Fn(&str) -> bool) -> Duration {
        let start = Instant::now();
        while !cond(&self.contents()) {
            assert!(start.elapsed() < deadline, "{what}: not within {deadline:?}:\n{}", self.contents());
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }
}

/// The simulator's kubeconfig with its context, cluster and user all called `context`, so
/// several merge without clashing.
fn rename(path: &Path, context: &str) {
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for list in ["clusters", "users", "contexts"] {
        for entry in config[list].as_array_mut().unwrap() {
            entry["name"] = context.into();
        }
    }
    let named = &mut config["contexts"][0]["context"];
    named["cluster"] = context.into();
    named["user"] = context.into();
    config["current-context"] = context.into();
    std::fs::write(path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
}

/// `GET /sim/metrics` on the simulator's port (plain HTTP is served there too): the
/// requests it has answered other than watches. `/sim/metrics` itself is not counted.
fn non_watch_requests(addr: &str) -> u64 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET /sim/metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let metrics: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    metrics["by"]
        .as_array()
        .map(|by| by.iter().filter(|b| b["verb"] != "watch").filter_map(|b| b["count"].as_u64()).sum())
        .unwrap_or(0)
}

/// Every service of every cluster, as `status --all-contexts -A -o json` counts them (what
/// the overview's title says when all are shown); and how long that headless look took.
fn services_in_all(kubeconfig: &str, dir: &Path) -> (usize, Duration) {
    let start = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["status", "--all-contexts", "-A", "-o", "json"])
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECTL_COCKPIT_CONFIG", dir.join("config"))
        .env("KUBECTL_COCKPIT_DATA", dir.join("data"))
        .output()
        .unwrap();
    let took = start.elapsed();
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (value["services"].as_array().map_or(0, Vec::len), took)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let count = args.first().copied().unwrap_or(5).max(2);
    let pods = args.get(1).copied().unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let mut clusters: Vec<Cluster> = (1..=count)
        .map(|i| {
            let context = format!("c{i}");
            let file = dir.path().join(format!("{context}.json"));
            let (sim, addr) = support::start_sim(pods, &file);
            rename(&file, &context);
            Cluster { context, sim, addr }
        })
        .collect();
    println!("{count} simulators ({pods} pods each, separate processes) ready in {:?}", t.elapsed());
    let files: Vec<PathBuf> = clusters.iter().map(|c| dir.path().join(format!("{}.json", c.context))).collect();
    let kubeconfig = std::env::join_paths(files).unwrap().into_string().unwrap();

    let (services, took) = services_in_all(&kubeconfig, dir.path());
    println!("status --all-contexts -A: {services} services in {took:?}");

    let start = Instant::now();
    let cockpit = Cockpit::start(&kubeconfig, dir.path());
    let contexts: Vec<String> = clusters.iter().map(|c| c.context.clone()).collect();
    let all_live = |s: &str, of: &[String]| of.iter().all(|c| s.contains(&format!("{c} live")));
    cockpit.wait_until("every cluster live with every service", Duration::from_secs(120), |s| {
        all_live(s, &contexts) && s.contains(&format!("Services {services}"))
    });
    let synced = start.elapsed();
    println!("start to every cluster live, {services} services shown: {synced:?} (target ≤ 3 s)");
    println!("cockpit RSS at sync: {:.1} MB", rss_mb_of(cockpit.pid));

    // Settle, then count what each simulator answers besides watches for 5 s.
    std::thread::sleep(Duration::from_secs(3));
    let before: Vec<u64> = clusters.iter().map(|c| non_watch_requests(&c.addr)).collect();
    std::thread::sleep(Duration::from_secs(5));
    let idle: Vec<u64> =
        clusters.iter().zip(&before).map(|(c, b)| non_watch_requests(&c.addr).saturating_sub(*b)).collect();
    println!("idle for 5 s: {idle:?} requests beyond the open watches per cluster (target 0 each)");
    println!(
        "cockpit RSS at idle: {:.1} MB, peak {:.1} MB (target ≤ 150 MB)",
        rss_mb_of(cockpit.pid),
        peak_rss_mb_of(cockpit.pid)
    );

    // One cluster killed mid-run: stale within its watch timeout, the others stay live.
    let mut killed = clusters.pop().unwrap();
    let _ = killed.sim.kill();
    let _ = killed.sim.wait();
    let stale = format!("{} stale", killed.context);
    let others: Vec<String> = clusters.iter().map(|c| c.context.clone()).collect();
    let took = cockpit.wait_until("the killed cluster stale, the others live", Duration::from_secs(120), |s| {
        s.contains(&stale) && all_live(s, &others)
    });
    println!("{} killed: `stale` after {took:?}, {} still live", killed.context, others.join(", "));

    let mut cockpit = cockpit;
    let _ = cockpit.child.kill();
    for mut c in clusters {
        let _ = c.sim.kill();
        let _ = c.sim.wait();
    }
}
