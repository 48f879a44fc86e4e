//! `kubectl-cockpit status` (the real binary) against the demo scenario running in the
//! simulated cluster, checked against what the real `kubectl` says about the same objects.
//! The demo keeps changing (crash loops, flapping readiness), so each comparison takes
//! both snapshots back to back and is retried a few times before it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cockpit::sim::world::{self, ScenarioSource};
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::Value;

const SETTLE_DEADLINE: Duration = Duration::from_secs(120);
const ATTEMPTS: usize = 6;

struct Demo {
    _sim: RunningSim,
    _rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Demo {
    /// The demo, played twice as fast so the slowest service (a 45 s start) settles sooner.
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let scenario = world::load(&ScenarioSource::Builtin("demo".into())).unwrap().with_time_scale(0.5);
        let sim = rt.block_on(cockpit::sim::start_with(scenario, SimOptions::default())).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let demo = Demo { _sim: sim, _rt: rt, dir, kubeconfig };
        demo.wait_settled();
        demo
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    fn kubectl_json(&self, args: &[&str]) -> Value {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn cockpit(&self, args: &[&str]) -> Output {
        cockpit_with(&self.kubeconfig, args)
    }

    fn status_json(&self) -> Value {
        let out = self.cockpit(&["-A", "status", "-o", "json"]);
        assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status prints JSON")
    }

    /// Every workload listed, and the slowest-starting service (honeydue/api) ready.
    fn wait_settled(&self) {
        let start = Instant::now();
        loop {
            let list = self.kubectl_json(&["get", "deploy", "-n", "honeydue", "api", "-o", "json"]);
            if list.pointer("/status/readyReplicas").and_then(Value::as_i64) == Some(3) {
                return;
            }
            assert!(start.elapsed() < SETTLE_DEADLINE, "demo did not settle: {}", list["status"]);
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn cockpit_with(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("kubectl-cockpit runs")
}

/// Retries `compare` (which returns the differences it found) until it finds none.
fn agree_eventually(what: &str, mut compare: impl FnMut() -> Vec<String>) {
    let mut last = Vec::new();
    for _ in 0..ATTEMPTS {
        last = compare();
        if last.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("{what}: cockpit and kubectl disagree after {ATTEMPTS} attempts:\n{}", last.join("\n"));
}

fn key(namespace: &Value, name: &Value) -> (String, String) {
    (namespace.as_str().unwrap_or_default().to_string(), name.as_str().unwrap_or_default().to_string())
}

fn services_by_key(status: &Value) -> BTreeMap<(String, String, String), Value> {
    status["services"]
        .as_array()
        .expect("services array")
        .iter()
        .map(|s| {
            let (ns, name) = key(&s["namespace"], &s["name"]);
            ((ns, name, s["kind"].as_str().unwrap().to_string()), s.clone())
        })
        .collect()
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

#[test]
fn status_agrees_with_kubectl_on_the_demo() {
    let demo = Demo::start();

    agree_eventually("replicas", || {
        let status = demo.status_json();
        let workloads = demo.kubectl_json(&["get", "deploy,sts", "-A", "-o", "json"]);
        let ours = services_by_key(&status);
        let items = workloads["items"].as_array().unwrap();
        let mut diffs = Vec::new();
        if ours.len() != items.len() {
            diffs.push(format!("{} services, kubectl lists {} workloads", ours.len(), items.len()));
        }
        for item in items {
            let (ns, name) = key(&item["metadata"]["namespace"], &item["metadata"]["name"]);
            let kind = item["kind"].as_str().unwrap().to_string();
            let Some(s) = ours.get(&(ns.clone(), name.clone(), kind.clone())) else {
                diffs.push(format!("{kind} {ns}/{name} missing from status"));
                continue;
            };
            let theirs = [
                item.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1),
                int(item, "/status/readyReplicas"),
                int(item, "/status/updatedReplicas"),
                int(item, "/status/availableReplicas"),
            ];
            let mine = ["desired", "ready", "updated", "available"].map(|f| int(&s["replicas"], &format!("/{f}")));
            if mine != theirs {
                diffs.push(format!("{ns}/{name}: status {mine:?}, kubectl {theirs:?}"));
            }
        }
        diffs
    });

    agree_eventually("PDB disruptions allowed", || {
        let status = demo.status_json();
        let pdbs = demo.kubectl_json(&["get", "pdb", "-A", "-o", "json"]);
        let mut diffs = Vec::new();
        let mut compared = 0;
        for s in status["services"].as_array().unwrap() {
            let Some(pdb_name) = s["pdb"]["name"].as_str() else { continue };
            let theirs = pdbs["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["metadata"]["name"] == pdb_name && p["metadata"]["namespace"] == s["namespace"]);
            let Some(theirs) = theirs else {
                diffs.push(format!("{}: PDB {pdb_name} unknown to kubectl", s["name"]));
                continue;
            };
            compared += 1;
            for (field, pointer) in [
                ("disruptions_allowed", "/status/disruptionsAllowed"),
                ("current_healthy", "/status/currentHealthy"),
                ("desired_healthy", "/status/desiredHealthy"),
            ] {
                let (mine, other) = (int(&s["pdb"], &format!("/{field}")), int(theirs, pointer));
                if mine != other {
                    diffs.push(format!("{}/{}: {field} {mine}, kubectl {other}", s["namespace"], s["name"]));
                }
            }
        }
        // The demo has PDBs on api, web, worker (honeydue), app, gitserver (app), statewave.
        if compared < 6 {
            diffs.push(format!("only {compared} services carry a PDB"));
        }
        diffs
    });

    agree_eventually("rollout state", || {
        let status = demo.status_json();
        let ours = services_by_key(&status);
        let mut diffs = Vec::new();
        for (ns, name) in [
            ("honeydue", "api"),
            ("honeydue", "web"),
            ("app", "gitserver"),
            ("statewave", "statewave"),
            ("soundspan", "soundspan-frontend"),
        ] {
            let out = demo.kubectl(&["rollout", "status", &format!("deploy/{name}"), "-n", ns, "--watch=false"]);
            let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let theirs = if said.contains("exceeded its progress deadline") {
                "stalled"
            } else if said.contains("successfully rolled out") {
                "complete"
            } else if said.contains("Waiting for") {
                "progressing"
            } else {
                diffs.push(format!("{ns}/{name}: unexpected kubectl output {said:?}"));
                continue;
            };
            let s = &ours[&(ns.to_string(), name.to_string(), "Deployment".to_string())];
            let state = s["rollout"]["state"].as_str().unwrap();
            if state != theirs {
                diffs.push(format!("{ns}/{name}: status says {state}, kubectl says {said:?}"));
            }
            let message = s["rollout"]["message"].as_str().unwrap();
            if !said.contains(message) {
                diffs.push(format!("{ns}/{name}: message {message:?} not in kubectl's {said:?}"));
            }
        }
        diffs
    });
}

#[test]
fn table_has_the_header_and_one_row_per_service() {
    let demo = Demo::start();
    agree_eventually("table rows", || {
        let out = demo.cockpit(&["-A", "status", "-o", "table"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAMESPACE",
                "SERVICE",
                "KIND",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "HPA",
                "ROLLOUT",
                "PROBES",
                "PDB",
                "AGE"
            ]
        );
        // Cells like `2-10 (3)` and `no access` hold spaces: rows are told apart by their
        // first three cells; namespace findings (`ns: message`) follow the rows.
        let rows: Vec<Vec<&str>> = lines
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|r| r.len() >= 11 && !r[0].ends_with(':'))
            .collect();
        let workloads = demo.kubectl_json(&["get", "deploy,sts", "-A", "-o", "json"]);
        let items = workloads["items"].as_array().unwrap();
        let mut diffs = Vec::new();
        if rows.len() != items.len() {
            diffs.push(format!("{} rows for {} workloads:\n{text}", rows.len(), items.len()));
        }
        for item in items {
            let (ns, name) = key(&item["metadata"]["namespace"], &item["metadata"]["name"]);
            let kind = if item["kind"] == "StatefulSet" { "sts" } else { "deploy" };
            if !rows.iter().any(|r| r[0] == ns && r[1] == name && r[2] == kind) {
                diffs.push(format!("no row for {kind} {ns}/{name}"));
            }
        }
        diffs
    });
    let wide = demo.cockpit(&["-A", "status", "-o", "wide"]);
    let text = String::from_utf8(wide.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert!(header.ends_with(&["REVISION", "RESTARTS", "FLAPPING", "BUDGET", "FINDINGS"]), "{text}");
}

#[test]
fn unreachable_cluster_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters: [{{name: gone, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: gone, context: {{cluster: gone, user: u}}}}]\n"
        ),
    )
    .unwrap();
    let out = cockpit_with(&kubeconfig, &["--request-timeout", "5s", "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("127.0.0.1:{port}")));
}

/// The demo as `--demo` starts it (real time, nothing waited for) looks like a cluster
/// that has run for days: every service hours or days old, and no rollout in progress
/// but the demo's deliberate problems (a flapping frontend, a crash loop).
#[test]
fn the_demo_starts_settled() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let scenario = world::load(&ScenarioSource::Builtin("demo".into())).unwrap();
    let sim = rt.block_on(cockpit::sim::start_with(scenario, SimOptions::default())).expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    sim.write_kubeconfig(&kubeconfig).unwrap();

    let out = cockpit_with(&kubeconfig, &["-A", "status", "-o", "table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.len() >= 11 && !r[0].ends_with(':'))
        .collect();
    assert!(rows.len() > 10, "{text}");
    for row in &rows {
        let age = row.last().unwrap();
        assert!(age.contains('d') || age.contains('h'), "{}/{} is {age} old:\n{text}", row[0], row[1]);
    }

    let out = cockpit_with(&kubeconfig, &["-A", "status", "-o", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let progressing: Vec<String> = services_by_key(&status)
        .into_iter()
        .filter(|(_, s)| s["rollout"]["state"] == "progressing")
        .map(|((ns, name, _), _)| format!("{ns}/{name}"))
        .collect();
    let deliberate = ["soundspan/soundspan-frontend", "app/metrics-aggregator"];
    let unexpected: Vec<&String> = progressing.iter().filter(|p| !deliberate.contains(&p.as_str())).collect();
    assert!(unexpected.is_empty(), "progressing at start: {unexpected:?}\n{text}");
    let _guard = rt.enter();
    drop(sim);
}
