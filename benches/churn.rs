//! The cost of churn: the real cockpit binary in a 200x60 pseudo-terminal (`-A`) against
//! `sim serve --pods 10000` in its own process, at 0, 50 and 500 pod updates per second
//! (`/sim/churn`: readiness flips, restarts, heartbeats, Events, a rollout a minute).
//! Run: `cargo bench --bench churn` (or `-- SECONDS` per phase, default 60; `-- SECONDS PODS`).
//!
//! Per phase it prints the cockpit's CPU (% of one core, from /proc), µs of cockpit CPU per
//! update, bytes written to the terminal and write bursts (≈ frames) per second, RSS at the
//! start and end of the phase, and keypress → screen latency (p50/p99: `?` opens the help,
//! `Esc` closes it, timed until the screen shows it).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use support::rss_mb_of;

mod support;

const RATES: [f64; 3] = [0.0, 50.0, 500.0];

/// What the reader thread saw on the terminal.
#[derive(Default)]
struct Screen {
    bytes: AtomicU64,
    bursts: AtomicU64,
    parser: Mutex<Option<vt100::Parser>>,
    /// When the help popup last appeared or disappeared.
    help_changed: Mutex<Option<(bool, Instant)>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(60);
    let pods: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    let (mut sim, addr) = support::start_sim(pods, &kubeconfig);

    let pair = native_pty_system().openpty(PtySize { rows: 60, cols: 200, pixel_width: 0, pixel_height: 0 }).unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kubectl-cockpit"));
    cmd.args(["--kubeconfig", kubeconfig.to_str().unwrap(), "-A"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("KUBECTL_COCKPIT_CONFIG", dir.path().join("config"));
    cmd.env("KUBECTL_COCKPIT_DATA", dir.path().join("data"));
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let pid = child.process_id().unwrap();
    let screen = Arc::new(Screen {
        parser: Mutex::new(Some(vt100::Parser::new(60u16.try_into().unwrap(), 200u16.try_into().unwrap(), 0))),
        ..Default::default()
    });
    let mut reader = pair.master.try_clone_reader().unwrap();
    let seen = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut help_shown = false;
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                return;
            }
            seen.bytes.fetch_add(n as u64, Ordering::Relaxed);
            seen.bursts.fetch_add(1, Ordering::Relaxed);
            let mut parser = seen.parser.lock().unwrap();
            let Some(parser) = parser.as_mut() else { continue };
            parser.process(&buf[..n]);
            let shown = parser.screen().contents().contains(" Keys: ");
            if shown != help_shown {
                help_shown = shown;
                *seen.help_changed.lock().unwrap() = Some((shown, Instant::now()));
            }
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    let started = Instant::now();
    let synced = || {
        let contents = screen.parser.lock().unwrap().as_ref().unwrap().screen().contents();
        contents.contains(" Services ") && !contents.contains("Loading services")
    };
    while !synced() {
        assert!(started.elapsed() < Duration::from_secs(60), "the cockpit did not show the overview");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("cockpit synced against {pods} pods in {:?} (pid {pid})", started.elapsed());
    println!(
        "{:>8} {:>9} {:>10} {:>9} {:>9} {:>14} {:>16}",
        "updates/s", "CPU %", "µs/update", "bytes/s", "bursts/s", "RSS MB", "key→screen p50/p99"
    );
    for rate in RATES {
        set_churn(&addr, rate);
        std::thread::sleep(Duration::from_secs(3));
        let rss_start = rss_mb_of(pid);
        let (cpu_start, bytes_start, bursts_start) =
            (cpu_ticks(pid), screen.bytes.load(Ordering::Relaxed), screen.bursts.load(Ordering::Relaxed));
        let t = Instant::now();
        let mut latencies = Vec::new();
        let mut open = false;
        while t.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_millis(700));
            let sent = Instant::now();
            keys.write_all(if open { b"\x1b" } else { b"?" }).unwrap();
            keys.flush().unwrap();
            open = !open;
            let deadline = sent + Duration::from_secs(5);
            loop {
                let changed = *screen.help_changed.lock().unwrap();
                if let Some((shown, at)) = changed
                    && shown == open
                    && at >= sent
                {
                    latencies.push(at - sent);
                    break;
                }
                if Instant::now() > deadline {
                    latencies.push(Duration::from_secs(5));
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        if open {
            keys.write_all(b"\x1b").unwrap();
        }
        let elapsed = t.elapsed().as_secs_f64();
        let cpu_s = (cpu_ticks(pid) - cpu_start) as f64 / ticks_per_second();
        let bytes = (screen.bytes.load(Ordering::Relaxed) - bytes_start) as f64 / elapsed;
        let bursts = (screen.bursts.load(Ordering::Relaxed) - bursts_start) as f64 / elapsed;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        let per_update = if rate > 0.0 { format!("{:.0}", cpu_s * 1e6 / (rate * elapsed)) } else { "-".into() };
        println!(
            "{:>8} {:>8.1}% {:>10} {:>9.0} {:>9.1} {:>6.1} → {:<5.1} {:>6.1} / {:.1} ms",
            rate,
            cpu_s * 100.0 / elapsed,
            per_update,
            bytes,
            bursts,
            rss_start,
            rss_mb_of(pid),
            pct(0.5),
            pct(0.99)
        );
    }
    let _ = child.kill();
    let _ = sim.kill();
    let _ = sim.wait();
}

/// POST /sim/churn {"rate": N} on the simulator's port (plain HTTP is served there too).
fn set_churn(addr: &str, rate: f64) {
    let body = format!("{{\"rate\": {rate}}}");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /sim/churn HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat; here (from field 3 on) at 11 and 12.
    field(11) + field(12)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}
