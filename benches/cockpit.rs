//! The cockpit's performance figures against a large simulated cluster (`--pods N`,
//! default 10,000 pods, about 1,000 services), measured through the real code paths:
//! kubeconfig → kube-rs watches over HTTP → services model → overview drawn on a
//! 200x60 TestBackend. Run: `cargo bench --bench cockpit` (or `-- PODS`).
//!
//! Prints: start to synced overview, model rebuild time, overview frame time, RSS, and
//! requests made at idle beyond the open watches (read from `/sim/metrics`).

use std::time::{Duration, Instant};

use cockpit::cluster::connect::{ConnectOptions, connect};
use cockpit::cluster::session;
use cockpit::config::keymap::Keymap;
use cockpit::config::theme::{TerminalColors, Theme};
use cockpit::sim::SimOptions;
use cockpit::ui::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Requests other than watches, from a `/sim/metrics` snapshot.
fn non_watch_requests(metrics: &serde_json::Value) -> u64 {
    metrics["by"]
        .as_array()
        .map(|by| by.iter().filter(|b| b["verb"] != "watch").filter_map(|b| b["count"].as_u64()).sum())
        .unwrap_or(0)
}

fn main() {
    let pods: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let t = Instant::now();
        let sim = cockpit::sim::start(SimOptions { pods: Some(pods), ..Default::default() }).await.unwrap();
        println!("simulator with {pods} pods ready in {:?}", t.elapsed());
        let rss_sim = rss_mb();

        let options =
            ConnectOptions { inline_kubeconfig: Some(sim.kubeconfig()), all_namespaces: true, ..Default::default() };
        let start = Instant::now();
        let connection = connect(&options).await.unwrap();
        let mut handle = session::start(connection, options);
        let view = loop {
            handle.views.changed().await.unwrap();
            let view = handle.views.borrow_and_update().clone();
            if !view.syncing && !view.services.is_empty() {
                break view;
            }
        };
        let synced = start.elapsed();
        println!("start to synced overview: {synced:?} ({} services)", view.services.len());

        let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "truecolor")).unwrap();
        let keymap = Keymap::builtin("default").unwrap();
        let mut app = App::new(theme, keymap, view.clone(), false);
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        let frames = 200;
        let now = jiff::Timestamp::now();
        let t = Instant::now();
        for i in 0..frames {
            // Move the selection so every frame really differs.
            app.overview.selected = i % view.services.len().max(1);
            terminal.draw(|f| app.draw(f, now)).unwrap();
        }
        let per_frame = t.elapsed() / frames as u32;
        println!("overview frame at 200x60: {per_frame:?} (target ≤ 5 ms)");

        let t = Instant::now();
        let rows = 20;
        for _ in 0..rows {
            app.set_view(view.clone());
        }
        println!("view update (filter + sort of all rows): {:?}", t.elapsed() / rows);

        println!(
            "RSS: {:.1} MB total, {:.1} MB of it the simulator (cockpit share ≈ {:.1} MB; target ≤ 80 MB)",
            rss_mb(),
            rss_sim,
            rss_mb() - rss_sim
        );

        let before = non_watch_requests(&sim.metrics());
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after = non_watch_requests(&sim.metrics());
        println!(
            "idle for 5 s: {} requests beyond the {} open watches (target 0)",
            after - before,
            sim.metrics()["watches_open"]
        );
        drop(handle);
    });
}
