//! The cost of churn: the real cockpit binary in a 200x60 pseudo-terminal (`-A`) against
//! `sim serve --pods 10000` in its own process, at 0, 50 and 500 pod updates per second
//! (`/sim/churn`: readiness flips, restarts, heartbeats, Events, a rollout a minute).
//! Run: `cargo bench --bench churn` (or `-- SECONDS` per phase, default 60; `-- SECONDS PODS`).
//!
//! Each phase has two windows. In the first, nobody types: it prints the cockpit's CPU (%
//! of one core, from /proc), µs of cockpit CPU per update, and bytes written to the terminal
//! and write bursts (≈ frames) per second, all of them the cluster's doing. In the second
//! (half as long), a key every 0.7 s gives keypress → screen latency (p50/p99: `?` opens
//! the help, `Esc` closes it, timed until the screen shows it). RSS is read at the start of
//! the phase and at its end.
//!
//! `CHURN_BASELINE=/path/to/kubectl-cockpit cargo bench --bench churn` runs another build
//! (main's, say) beside this one, against the same simulator in the same phases: the
//! comparison a noisy machine allows.

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

/// One cockpit process in its own pseudo-terminal, and what its terminal showed.
struct Cockpit {
    name: String,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pid: u32,
    screen: Arc<Screen>,
    keys: Box<dyn Write + Send>,
    /// Whether the help popup is open (the next key closes it).
    open: bool,
}

/// One phase's counters at its start.
struct Start {
    rss: f64,
    cpu: u64,
    bytes: u64,
    bursts: u64,
    latencies: Vec<Duration>,
}

/// What the cluster's churn alone cost in a phase's first window, per second.
#[derive(Clone, Copy)]
struct Quiet {
    cpu_s: f64,
    bytes: f64,
    bursts: f64,
    elapsed: f64,
}

impl Cockpit {
    fn start(name: &str, binary: &str, kubeconfig: &std::path::Path, dir: &std::path::Path) -> Cockpit {
        let pair =
            native_pty_system().openpty(PtySize { rows: 60, cols: 200, pixel_width: 0, pixel_height: 0 }).unwrap();
        let mut cmd = CommandBuilder::new(binary);
        cmd.args(["--kubeconfig", kubeconfig.to_str().unwrap(), "-A"]);
        cmd.env("TERM", "xterm-256color");
        cmd.env("KUBECTL_COCKPIT_CONFIG", dir.join(format!("config-{name}")));
        cmd.env("KUBECTL_COCKPIT_DATA", dir.join(format!("data-{name}")));
        let child = pair.slave.spawn_command(cmd).unwrap();
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
        let keys = pair.master.take_writer().unwrap();
        // The master must outlive the child's use of the terminal.
        std::mem::forget(pair.master);
        Cockpit { name: name.to_string(), child, pid, screen, keys, open: false }
    }

    fn synced(&self) -> bool {
        let contents = self.screen.parser.lock().unwrap().as_ref().unwrap().screen().contents();
        contents.contains(" Services ") && !contents.contains("Loading services")
    }

    fn begin(&self) -> Start {
        Start {
            rss: rss_mb_of(self.pid),
            cpu: cpu_ticks(self.pid),
            bytes: self.screen.bytes.load(Ordering::Relaxed),
            bursts: self.screen.bursts.load(Ordering::Relaxed),
            latencies: Vec::new(),
        }
    }

    /// Opens or closes the help popup and times it until the screen shows it.
    fn time_a_key(&mut self) -> Duration {
        let sent = Instant::now();
        self.keys.write_all(if self.open { b"\x1b" } else { b"?" }).unwrap();
        self.keys.flush().unwrap();
        self.open = !self.open;
        let deadline = sent + Duration::from_secs(5);
        loop {
            let changed = *self.screen.help_changed.lock().unwrap();
            if let Some((shown, at)) = changed
                && shown == self.open
                && at >= sent
            {
                return at - sent;
            }
            if Instant::now() > deadline {
                return Duration::from_secs(5);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// The first window's figures, before any key is pressed.
    fn quiet(&self, start: &Start, elapsed: f64) -> Quiet {
        Quiet {
            cpu_s: (cpu_ticks(self.pid) - start.cpu) as f64 / ticks_per_second(),
            bytes: (self.screen.bytes.load(Ordering::Relaxed) - start.bytes) as f64 / elapsed,
            bursts: (self.screen.bursts.load(Ordering::Relaxed) - start.bursts) as f64 / elapsed,
            elapsed,
        }
    }

    fn report(&mut self, rate: f64, start: &mut Start, quiet: &Quiet) {
        if self.open {
            self.keys.write_all(b"\x1b").unwrap();
            self.open = false;
        }
        let Quiet { cpu_s, bytes, bursts, elapsed } = *quiet;
        let latencies = &mut start.latencies;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        let per_update = if rate > 0.0 { format!("{:.0}", cpu_s * 1e6 / (rate * elapsed)) } else { "-".into() };
        println!(
            "{:>8} {:>9} {:>8.1}% {:>10} {:>9.0} {:>9.1} {:>6.1} → {:<5.1} {:>6.1} / {:.1} ms",
            rate,
            self.name,
            cpu_s * 100.0 / elapsed,
            per_update,
            bytes,
            bursts,
            start.rss,
            rss_mb_of(self.pid),
            pct(0.5),
            pct(0.99)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(60);
    let pods: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    let (mut sim, addr) = support::start_sim(pods, &kubeconfig);

    // This build, and, side by side in the same run, another binary (e.g. main's) when
    // CHURN_BASELINE names one: both watch the same simulator through the same phases.
    let mut cockpits = vec![Cockpit::start("this", env!("CARGO_BIN_EXE_kubectl-cockpit"), &kubeconfig, dir.path())];
    if let Some(baseline) = std::env::var_os("CHURN_BASELINE") {
        cockpits.push(Cockpit::start("baseline", baseline.to_str().unwrap(), &kubeconfig, dir.path()));
    }
    let started = Instant::now();
    while !cockpits.iter().all(Cockpit::synced) {
        assert!(started.elapsed() < Duration::from_secs(60), "the cockpit did not show the overview");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("cockpits synced against {pods} pods in {:?}", started.elapsed());
    println!(
        "{:>8} {:>9} {:>9} {:>10} {:>9} {:>9} {:>14} {:>16}",
        "updates/s", "cockpit", "CPU %", "µs/update", "bytes/s", "bursts/s", "RSS MB", "key→screen p50/p99"
    );
    for rate in RATES {
        set_churn(&addr, rate);
        std::thread::sleep(Duration::from_secs(3));
        let mut starts: Vec<Start> = cockpits.iter().map(Cockpit::begin).collect();
        // What the churn costs with nobody at the keyboard (the measurement)...
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(seconds));
        let quiet: Vec<Quiet> =
            cockpits.iter().zip(&starts).map(|(c, s)| c.quiet(s, t.elapsed().as_secs_f64())).collect();
        // ...then how fast a key is answered while it goes on.
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(seconds.div_ceil(2).max(10)) {
            std::thread::sleep(Duration::from_millis(700));
            for (cockpit, start) in cockpits.iter_mut().zip(&mut starts) {
                start.latencies.push(cockpit.time_a_key());
            }
        }
        for ((cockpit, start), quiet) in cockpits.iter_mut().zip(&mut starts).zip(&quiet) {
            cockpit.report(rate, start, quiet);
        }
    }
    for cockpit in &mut cockpits {
        let _ = cockpit.child.kill();
    }
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
