//! The cockpit's performance figures against a large simulated cluster (`--pods N`,
//! default 10,000 pods, about 1,000 services), measured through the real code paths:
//! kubeconfig → kube-rs watches over https → services model → overview drawn on a
//! 200x60 TestBackend. Run: `cargo bench --bench cockpit` (or `-- PODS`).
//!
//! Prints: start to synced overview, model rebuild time, overview frame time, RSS, and
//! requests made at idle beyond the open watches (read from `/sim/metrics`).

mod support;

use std::time::{Duration, Instant};
use support::rss_mb;

use cockpit::cluster::connect::{ConnectOptions, connect};
use cockpit::cluster::session;
use cockpit::config::keymap::Keymap;
use cockpit::config::profile::ProfileChoice;
use cockpit::config::theme::{TerminalColors, Theme};
use cockpit::ui::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Requests other than watches, from a `/sim/metrics` snapshot.
fn non_watch_requests(metrics: &serde_json::Value) -> u64 {
    metrics["by"]
        .as_array()
        .map(|by| by.iter().filter(|b| b["verb"] != "watch").filter_map(|b| b["count"].as_u64()).sum())
        .unwrap_or(0)
}

fn main() {
    let pods: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    // The simulator runs in its own process, so the memory measured here is the cockpit's.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    let t = Instant::now();
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["sim", "serve", "--pods", &pods.to_string(), "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(sim.stdout.take().unwrap());
    let mut said = String::new();
    while !said.contains("kubeconfig written") {
        said.clear();
        std::io::BufRead::read_line(&mut out, &mut said).unwrap();
    }
    println!("simulator ({pods} pods, separate process) ready in {:?}", t.elapsed());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rss_before = rss_mb();
    rt.block_on(async move {
        let admin = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let options = ConnectOptions { inline_kubeconfig: Some(admin), all_namespaces: true, ..Default::default() };
        let start = Instant::now();
        let connection = connect(&options).await.unwrap();
        // No profile: the large scenario declares no databases.
        let profiles = ProfileChoice { explicit: None, profiles_dir: "/nonexistent".into(), demo: false };
        let mut handle = session::start(connection, options, profiles);
        let view = loop {
            handle.views.changed().await.unwrap();
            let view = handle.views.borrow_and_update().clone();
            if !view.syncing && !view.services.is_empty() {
                break view;
            }
        };
        println!("start to synced overview: {:?} ({} services; target ≤ 2 s)", start.elapsed(), view.services.len());

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
        println!("overview frame at 200x60: {:?} (target ≤ 5 ms)", t.elapsed() / frames as u32);

        let t = Instant::now();
        let rounds = 20;
        for _ in 0..rounds {
            app.set_view(view.clone());
        }
        println!("view update (filter + sort of all rows): {:?}", t.elapsed() / rounds);
        println!("cockpit RSS: {:.1} MB ({rss_before:.1} MB before connecting; target ≤ 80 MB)", rss_mb());

        let client = handle.connection.borrow().client.clone();
        let metrics = || async {
            let request = http::Request::get("/sim/metrics").body(Vec::new()).unwrap();
            client.request::<serde_json::Value>(request).await.unwrap()
        };
        let before = non_watch_requests(&metrics().await);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let after = non_watch_requests(&metrics().await);
        // `/sim/metrics` is not an API request and is not counted.
        println!("idle for 5 s: {} requests beyond the open watches (target 0)", after.saturating_sub(before));
        drop(handle);
    });
    let _ = sim.kill();
    let _ = sim.wait();
}
