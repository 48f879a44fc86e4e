//! A log pane under load: 50 pods writing 100 lines/s each (5,000 lines/s) into one pane
//! with the demo's SLO rules, drawn at the cockpit's frame cap (20 fps) on a 200x60
//! TestBackend. Each 50 ms of simulated time ingests 250 lines and draws one frame; the
//! budget is met when that takes well under 50 ms on one core. Memory must stay flat once
//! the pane's ring buffer is full. Run: `cargo bench --bench panes`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::rss_mb;

use cockpit::cluster::logs::{LogEvent, LogLine};
use cockpit::cluster::session::{ClusterView, ProfileStatus};
use cockpit::config::keymap::Keymap;
use cockpit::config::theme::{TerminalColors, Theme};
use cockpit::model::service::{ServiceKey, WorkloadKind};
use cockpit::model::slo::builtin_demo_rules;
use cockpit::ui::app::App;
use cockpit::ui::screens::Screen;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PODS: usize = 50;
const LINES_PER_POD_PER_S: usize = 100;
const FRAME: Duration = Duration::from_millis(50);
const SIMULATED_S: usize = 20;

fn view() -> Arc<ClusterView> {
    Arc::new(ClusterView {
        generation: 1,
        context: "bench".into(),
        server_url: "http://127.0.0.1:1".into(),
        namespace: None,
        services: Arc::new(Vec::new()),
        health: Default::default(),
        namespaces: Vec::new(),
        contexts: Vec::new(),
        built_at: jiff::Timestamp::now(),
        error: None,
        syncing: false,
        denied: Vec::new(),
        budgets: Arc::new(Vec::new()),
        discovery_notes: Arc::new(Vec::new()),
        namespace_findings: Arc::new(Vec::new()),
        slo_rules: Arc::new(builtin_demo_rules()),
        profile: ProfileStatus::default(),
        fleet: None,
        capacity: Default::default(),
    })
}

fn line(n: usize, at: jiff::Timestamp) -> LogEvent {
    let pod = format!("soundspan-backend-7d9f8-{:05}", n % PODS);
    let text = match n % 50 {
        0 => format!(
            "[ListenTogether/SLO] Reconnect latency {}ms exceeded target 5000ms (group=ab12cd34)",
            5000 + n % 4000
        ),
        1 => "\x1b[31m[HTTP]\x1b[0m GET /api/health 200 1ms\x1b]0;title\x07".to_string(),
        _ => format!("[HTTP] GET /api/library/tracks?page={} 200 {}ms", n % 40, n % 90),
    };
    LogEvent::Line(LogLine { pod, container: "backend".into(), at, bytes: text.into_bytes(), pod_started: None })
}

fn main() {
    let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "truecolor")).unwrap();
    let mut app = App::new(theme, Keymap::builtin("default").unwrap(), view(), false);
    let key = ServiceKey {
        namespace: "soundspan".into(),
        name: "soundspan-backend".into(),
        kind: WorkloadKind::Deployment,
        cluster: None,
    };
    let rules = builtin_demo_rules();
    app.logs.open(key, &rules, None).unwrap();
    app.screens.push(Screen::Logs);
    let id = app.logs.panes[0].id;
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let per_frame = PODS * LINES_PER_POD_PER_S * FRAME.as_millis() as usize / 1000;
    let frames = SIMULATED_S * 1000 / FRAME.as_millis() as usize;
    let start = jiff::Timestamp::now();
    let mut n = 0;
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut rss_full = 0.0;
    for frame in 0..frames {
        let now = start + jiff::SignedDuration::from_millis((frame as i64) * FRAME.as_millis() as i64);
        let t = Instant::now();
        for _ in 0..per_frame {
            app.logs.on_event(id, line(n, now));
            n += 1;
        }
        terminal.draw(|f| app.draw(f, now)).unwrap();
        let took = t.elapsed();
        worst = worst.max(took);
        total += took;
        if frame == frames / 2 {
            rss_full = rss_mb();
        }
    }
    let mean = total / frames as u32;
    let buffered = app.logs.panes[0].buffer.len();
    println!("{PODS} pods x {LINES_PER_POD_PER_S} lines/s into one pane, {frames} frames of {FRAME:?} at 200x60:");
    println!("  per frame (ingest {per_frame} lines + evaluate rules + draw): mean {mean:?}, worst {worst:?}");
    println!("  frame budget {FRAME:?} kept: {}", if worst < FRAME { "yes" } else { "no" });
    println!(
        "  buffered lines: {buffered} (cap 10000); RSS at half time {rss_full:.1} MB, at the end {:.1} MB",
        rss_mb()
    );
}
