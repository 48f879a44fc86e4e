//! The cockpit's performance figures against a large simulated cluster (`--pods N`,
//! default 10,000 pods, about 1,000 services), measured through the real code paths:
//! kubeconfig → kube-rs watches over https → services model → overview drawn on a
//! 200x60 TestBackend. Run: `cargo bench --bench cockpit` (or `-- PODS`).
//!
//! Prints: start to synced overview, model rebuild time, overview frame time, RSS (with
//! the heap really in use, counted by this binary's allocator), requests made at idle
//! beyond the open watches (read from `/sim/metrics`), and where the heap goes.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use support::{peak_rss_mb, rss_mb};

use cockpit::cluster::connect::{ConnectOptions, connect};
use cockpit::cluster::session;
use cockpit::config::keymap::Keymap;
use cockpit::config::profile::ProfileChoice;
use cockpit::config::theme::{TerminalColors, Theme};
use cockpit::ui::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Counts what the process holds on the heap (bytes and blocks), so RSS can be told
/// apart from what is really in use: the rest is the allocator's (freed memory it keeps,
/// per-block headers, one arena per thread) and the binary's code.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            BLOCKS.fetch_add(1, Relaxed);
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        BLOCKS.fetch_sub(1, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new) };
        if !q.is_null() {
            LIVE.fetch_add(new, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Heap in use now: (bytes, blocks).
fn heap() -> (usize, usize) {
    (LIVE.load(Relaxed), BLOCKS.load(Relaxed))
}

fn heap_line() -> String {
    let (bytes, blocks) = heap();
    format!("heap in use {:.1} MB in {}k blocks", mb(bytes), blocks / 1000)
}

/// The heap a deep copy of `items` takes: what the store holds for them (a map shared
/// between objects, such as pods' labels, is not counted).
fn deep_copy<K: Clone>(items: &[Arc<K>]) -> String {
    let (bytes, blocks) = heap();
    let copy: Vec<K> = items.iter().map(|k| (**k).clone()).collect();
    let (after, after_blocks) = heap();
    drop(copy);
    format!("{} objects {:.1} MB in {}k blocks", items.len(), mb(after - bytes), (after_blocks - blocks) / 1000)
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
    // The simulator runs in its own process, so the memory measured here is the cockpit's.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    let t = Instant::now();
    let (mut sim, _) = support::start_sim(pods, &kubeconfig);
    println!("simulator ({pods} pods, separate process) ready in {:?}", t.elapsed());
    // The runtime the cockpit itself runs on (its worker count shows in RSS).
    let rt = cockpit::cli::runtime(&clap::Parser::parse_from(["kubectl-cockpit"])).unwrap();
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
        println!("  RSS at sync: {:.1} MB, {}", rss_mb(), heap_line());

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
        println!(
            "cockpit RSS: {:.1} MB, peak {:.1} MB ({rss_before:.1} MB before connecting; {}; target ≤ 80 MB)",
            rss_mb(),
            peak_rss_mb(),
            heap_line()
        );

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
        drop((view, app, handle));
        // The session's task ends on the runtime: let it go before counting again.
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Where the heap goes: the watch stores alone (each kind as a deep copy), then
        // the services model built from them.
        let (base, _) = heap();
        let watches = cockpit::cluster::watch::Watches::start(client, "", None, 1, None);
        watches.wait_synced(Duration::from_secs(30)).await;
        println!("heap of the watch stores: {:.1} MB", mb(heap().0.saturating_sub(base)));
        let objects = watches.objects();
        println!("  deployments: {}", deep_copy(&objects.deployments));
        println!("  statefulsets: {}", deep_copy(&objects.statefulsets));
        println!("  replicasets: {}", deep_copy(&objects.replicasets));
        println!("  pods: {}", deep_copy(&objects.pods));
        println!("  pdbs: {}", deep_copy(&objects.pdbs));
        println!("  hpas: {}", deep_copy(&objects.hpas));
        println!("  pvcs: {}", deep_copy(&objects.pvcs));
        println!("  events: {}", deep_copy(&objects.events));
        println!("  controllerrevisions: {}", deep_copy(&objects.controller_revisions));
        println!("  nodes: {}", deep_copy(&objects.nodes));
        println!("  helm release metadata: {}", deep_copy(&objects.helm_releases));
        // Across all namespaces the node capacity reads the pod store itself.
        if !Arc::ptr_eq(&watches.pods, &watches.node_pods) {
            println!("  pods of every namespace: {}", deep_copy(&objects.node_pods));
        }
        let (base, _) = heap();
        let history = cockpit::model::services::ReadinessHistory::default();
        let visibility = cockpit::model::services::Visibility::ALL;
        let built = cockpit::model::services::build_scope(&objects, &history, jiff::Timestamp::now(), visibility);
        println!("heap of the services model: {:.1} MB", mb(heap().0.saturating_sub(base)));
        let (base, _) = heap();
        let rows: Vec<_> = built.services.iter().map(|s| s.pods.clone()).collect();
        println!("  of which pod rows: {:.1} MB", mb(heap().0.saturating_sub(base)));
        drop(rows);
    });
    let _ = sim.kill();
    let _ = sim.wait();
}
