//! The simulated world end to end: the demo scenario running with its controllers,
//! kubelet, log generators and timeline, driven and read through the real `kubectl`
//! (from PATH) over real HTTP. The demo plays twenty times faster than written
//! (every scenario delay is data), so its whole story unfolds in seconds.
//!
//! Waits poll a condition up to a generous deadline; nothing here measures speed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit::sim::resources::resource;
use cockpit::sim::world::{self, ScenarioSource};
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::Value;

/// Real seconds per scenario second: the demo's 90 s progress deadline takes 4.5 s.
const DEMO_TIME_SCALE: f64 = 0.05;
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

// ------------------------------------------------------------------------------------
// Harness
// ------------------------------------------------------------------------------------

struct Sim {
    sim: Option<RunningSim>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Sim {
    /// The built-in demo (no users: every request is admin), played fast.
    fn demo() -> Self {
        let scenario = world::load(&ScenarioSource::Builtin("demo".into())).expect("the demo loads");
        Sim::start(scenario.with_time_scale(DEMO_TIME_SCALE))
    }

    fn start(scenario: world::Scenario) -> Self {
        Sim::start_with(scenario, SimOptions::default())
    }

    fn start_with(scenario: world::Scenario, options: SimOptions) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start_with(scenario, options)).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        Sim { sim: Some(sim), rt, dir, kubeconfig }
    }

    fn sim(&self) -> &RunningSim {
        self.sim.as_ref().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).arg("--cache-dir").arg(self.dir.path().join("cache"));
        cmd.args(args);
        cmd
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        assert!(!self.sim().world_finished(), "the world task ended before kubectl {args:?}");
        self.command(args).output().expect("kubectl runs")
    }

    /// Runs kubectl, expects success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, expects failure, returns stdout + stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "kubectl {args:?} unexpectedly succeeded: {text}");
        text
    }

    /// `kubectl ARGS -o json`, parsed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl prints JSON")
    }

    /// Starts a long-running kubectl (`-f`, `--watch`) whose stdout lines arrive on a channel.
    fn spawn(&self, args: &[&str]) -> Stream {
        let mut child = self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Stream { child, rx, what: format!("kubectl {}", args.join(" ")), seen: Vec::new() }
    }

    fn pods(&self, namespace: &str, selector: &str) -> Vec<Value> {
        items(&self.json(&["get", "pods", "-n", namespace, "-l", selector]))
    }

    fn deployment(&self, namespace: &str, name: &str) -> Value {
        self.json(&["get", "deployment", name, "-n", namespace])
    }

    /// Waits until the deployment has rolled out at its desired size.
    fn wait_available(&self, namespace: &str, name: &str) {
        wait_for(&format!("deployment {namespace}/{name} available"), || {
            let d = self.deployment(namespace, name);
            let want = int(&d, "/spec/replicas");
            int(&d, "/status/availableReplicas") == want
                && int(&d, "/status/updatedReplicas") == want
                && int(&d, "/status/replicas") == want
                && int(&d, "/status/observedGeneration") == int(&d, "/metadata/generation")
        });
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
}

/// A running `kubectl ... -f` / `--watch`; killed when dropped.
struct Stream {
    child: Child,
    rx: mpsc::Receiver<String>,
    what: String,
    seen: Vec<String>,
}

impl Stream {
    /// The next line, or a panic naming what was seen when none comes in time.
    fn next_line(&mut self, until: Instant) -> String {
        let left = until.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(_) => {
                let mut stderr = String::new();
                let _ = self.child.kill();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                let tail: Vec<_> = self.seen.iter().rev().take(30).rev().collect();
                panic!("{}: no line in time; stderr: {stderr}; last lines: {tail:#?}", self.what);
            }
        }
    }

    /// Reads lines until `done` says the story is complete (it sees every line).
    fn until(&mut self, what: &str, mut done: impl FnMut(&str) -> bool) {
        let until = Instant::now() + DEADLINE;
        loop {
            if Instant::now() >= until {
                panic!("{}: timed out waiting for {what}; last lines: {:#?}", self.what, self.seen);
            }
            let line = self.next_line(until);
            if done(&line) {
                return;
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(POLL);
    }
    panic!("timed out after {DEADLINE:?} waiting for {what}");
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn name(obj: &Value) -> &str {
    text(obj, "/metadata/name")
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

fn live_pods(pods: &[Value]) -> Vec<&Value> {
    pods.iter().filter(|p| !is_deleting(p)).collect()
}

fn images(pods: &[&Value]) -> BTreeSet<String> {
    pods.iter().map(|p| text(p, "/spec/containers/0/image").to_string()).collect()
}

/// Whitespace-separated cells of a table line.
fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The row of `table` whose cells start with `key` (e.g. `["app", "deployment.apps/web"]`).
fn row<'a>(table: &'a str, key: &[&str]) -> Vec<&'a str> {
    table
        .lines()
        .map(cells)
        .find(|c| c.len() >= key.len() && c[..key.len()] == *key)
        .unwrap_or_else(|| panic!("no row {key:?} in:\n{table}"))
}

/// The demo's manifests as written, so the tests check the world against its own source.
fn demo_manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenarios/demo.yaml")).unwrap();
    text.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .filter(|doc| doc.get("kind").is_some() && doc["kind"] != "Scenario")
        .collect()
}

fn manifests_of_kind(kind: &str) -> Vec<Value> {
    demo_manifests().into_iter().filter(|m| m["kind"] == kind).collect()
}

// ------------------------------------------------------------------------------------
// kubectl get
// ------------------------------------------------------------------------------------

#[test]
fn get_lists_every_demo_workload_with_the_api_server_columns() {
    let s = Sim::demo();
    s.wait_available("honeydue", "admin");
    s.wait_available("app", "gitserver");
    let out = s.ok(&["get", "deploy,sts,rs,pods,pdb,hpa", "-A"]);
    let headers: Vec<String> = out
        .split("\n\n")
        .map(|section| section.lines().next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        headers,
        [
            "NAMESPACE NAME READY UP-TO-DATE AVAILABLE AGE",
            "NAMESPACE NAME READY AGE",
            "NAMESPACE NAME DESIRED CURRENT READY AGE",
            "NAMESPACE NAME READY STATUS RESTARTS AGE",
            "NAMESPACE NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE",
            "NAMESPACE NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE",
        ],
        "{out}"
    );
    for (kind, prefix) in [
        ("Deployment", "deployment.apps"),
        ("StatefulSet", "statefulset.apps"),
        ("PodDisruptionBudget", "poddisruptionbudget.policy"),
        ("HorizontalPodAutoscaler", "horizontalpodautoscaler.autoscaling"),
    ] {
        for m in manifests_of_kind(kind) {
            row(&out, &[text(&m, "/metadata/namespace"), &format!("{prefix}/{}", name(&m))]);
        }
    }
    let admin = row(&out, &["honeydue", "deployment.apps/admin"]);
    assert_eq!(admin[2..5], ["1/1", "1", "1"], "{admin:?}");
    let staging_worker = row(&out, &["soundspan-staging", "deployment.apps/soundspan-backend-worker"]);
    assert_eq!(staging_worker[2..5], ["0/0", "0", "0"], "{staging_worker:?}");
    let gitserver_pdb = row(&out, &["app", "poddisruptionbudget.policy/gitserver-pdb"]);
    assert_eq!(gitserver_pdb[2..5], ["1", "N/A", "0"], "{gitserver_pdb:?}");
    let app_pdb = row(&out, &["app", "poddisruptionbudget.policy/app-pdb"]);
    assert_eq!(app_pdb[2..4], ["N/A", "1"], "{app_pdb:?}");
    let hpa = row(&out, &["app", "horizontalpodautoscaler.autoscaling/app"]);
    assert_eq!(hpa[2], "Deployment/app", "{hpa:?}");
    assert!(hpa[3..].join(" ").contains("/70%"), "TARGETS shows the cpu target: {hpa:?}");
    let admin_pod = out
        .lines()
        .map(cells)
        .find(|c| c.len() > 1 && c[0] == "honeydue" && c[1].starts_with("pod/admin-"))
        .unwrap_or_else(|| panic!("no admin pod in:\n{out}"));
    // The demo starts settled: a pod may have restarted before (RESTARTS is a count).
    assert_eq!(admin_pod[2..4], ["1/1", "Running"], "{admin_pod:?}");
    assert!(admin_pod[4].parse::<u32>().is_ok(), "{admin_pod:?}");
    // Older revisions are kept scaled to 0: the current ReplicaSet is the one with pods.
    let admin_rs = out
        .lines()
        .map(cells)
        .find(|c| c.len() > 2 && c[0] == "honeydue" && c[1].starts_with("replicaset.apps/admin-") && c[2] != "0")
        .unwrap_or_else(|| panic!("no admin replicaset in:\n{out}"));
    assert_eq!(admin_rs[2..5], ["1", "1", "1"], "{admin_rs:?}");
    let pg = row(&out, &["statewave", "statefulset.apps/statewave-pg"]);
    assert!(pg[2].ends_with("/1"), "{pg:?}");
}

#[test]
fn describe_pod_reads_like_a_real_cluster() {
    let s = Sim::demo();
    s.wait_available("honeydue", "admin");
    let out = s.ok(&["describe", "pod", "-n", "honeydue", "-l", "app.kubernetes.io/name=admin"]);
    // Column widths depend on the longest label in each block: compare words.
    let out = out.lines().map(|l| cells(l).join(" ")).collect::<Vec<_>>().join("\n");
    for expected in [
        "Namespace: honeydue",
        "Status: Running",
        "Controlled By: ReplicaSet/admin-",
        "Image: gitea.treytartt.com/admin/honeydue-admin:237c6b8",
        "Startup: http-get http://:3000/ delay=0s timeout=1s period=5s #success=1 #failure=24",
        "Normal Scheduled",
        "Normal Started",
        "Ready True",
    ] {
        assert!(out.contains(expected), "describe lacks {expected:?}:\n{out}");
    }
    // Events list in the order they happened, as their names carry the time.
    let pod = s.pods("honeydue", "app.kubernetes.io/name=admin")[0].clone();
    let selector = format!("involvedObject.name={}", name(&pod));
    let events = items(&s.json(&["get", "events", "-n", "honeydue", "--field-selector", &selector]));
    let reasons: Vec<&str> = events.iter().map(|e| text(e, "/reason")).collect();
    let position = |r: &str| reasons.iter().position(|x| *x == r).unwrap_or_else(|| panic!("no {r} in {reasons:?}"));
    assert!(
        position("Scheduled") < position("Pulling")
            && position("Pulling") < position("Pulled")
            && position("Pulled") < position("Created")
            && position("Created") < position("Started"),
        "{reasons:?}"
    );
}

// ------------------------------------------------------------------------------------
// PodDisruptionBudgets
// ------------------------------------------------------------------------------------

/// Upstream's `GetScaledValueFromIntOrPercent(.., roundUp=true)`.
fn scaled(value: &Value, total: i64) -> i64 {
    match value {
        Value::String(p) => {
            let percent: i64 = p.trim_end_matches('%').parse().expect("a percentage");
            (percent * total + 99) / 100
        }
        v => v.as_i64().expect("an int or a percentage"),
    }
}

/// The disruption controller's arithmetic, from the PDB's spec and the cluster as read.
fn allowed_disruptions(pdb: &Value, pods: &[Value], replicasets: &[Value], deployments: &[Value]) -> i64 {
    let ns = text(pdb, "/metadata/namespace");
    let wanted: BTreeMap<String, String> =
        serde_json::from_value(pdb.pointer("/spec/selector/matchLabels").cloned().unwrap_or_default()).unwrap();
    assert!(pdb.pointer("/spec/selector/matchExpressions").is_none(), "the demo's PDBs use matchLabels");
    let selected: Vec<&Value> = pods
        .iter()
        .filter(|p| text(p, "/metadata/namespace") == ns)
        .filter(|p| {
            wanted.iter().all(|(k, v)| {
                p.pointer(&format!("/metadata/labels/{}", k.replace('/', "~1"))) == Some(&Value::from(v.as_str()))
            })
        })
        .collect();
    let healthy = selected.iter().filter(|p| !is_deleting(p) && is_ready(p)).count() as i64;
    // The scale of the controllers behind the selected pods (one count per controller).
    let controller_scale = || {
        let mut scales: BTreeMap<String, i64> = BTreeMap::new();
        for pod in &selected {
            let rs_name = text(pod, "/metadata/ownerReferences/0/name");
            let rs = replicasets.iter().find(|r| text(r, "/metadata/namespace") == ns && name(r) == rs_name).unwrap();
            let d_name = text(rs, "/metadata/ownerReferences/0/name");
            let d = deployments.iter().find(|d| text(d, "/metadata/namespace") == ns && name(d) == d_name).unwrap();
            scales.insert(d_name.to_string(), int(d, "/spec/replicas"));
        }
        scales.values().sum::<i64>()
    };
    let (expected, desired) = match (pdb.pointer("/spec/minAvailable"), pdb.pointer("/spec/maxUnavailable")) {
        (_, Some(max)) => {
            let expected = controller_scale();
            (expected, (expected - scaled(max, expected)).max(0))
        }
        (Some(Value::Number(min)), None) => (selected.len() as i64, min.as_i64().unwrap()),
        (Some(min), None) => {
            let expected = controller_scale();
            (expected, scaled(min, expected))
        }
        (None, None) => (0, 0),
    };
    if expected <= 0 { 0 } else { (healthy - desired).max(0) }
}

/// What the PDB arithmetic depends on, to know when two reads saw the same cluster.
type Snapshot = (Vec<(String, bool, bool)>, Vec<(String, i64)>);

fn readiness_snapshot(pods: &[Value], deployments: &[Value]) -> Snapshot {
    let pods = pods.iter().map(|p| (name(p).to_string(), is_ready(p), is_deleting(p))).collect();
    let scales = deployments.iter().map(|d| (name(d).to_string(), int(d, "/spec/replicas"))).collect();
    (pods, scales)
}

#[test]
fn get_pdb_allowed_disruptions_follows_the_disruption_arithmetic() {
    let s = Sim::demo();
    s.wait_available("app", "gitserver");
    s.wait_available("honeydue", "api");
    let pdbs = items(&s.json(&["get", "pdb", "-A"]));
    assert_eq!(pdbs.len(), manifests_of_kind("PodDisruptionBudget").len());
    let mut last = String::new();
    let until = Instant::now() + DEADLINE;
    // Pods flap and HPAs scale while we read: compare only when the cluster read the
    // same before and after the table, and require that to match.
    while Instant::now() < until {
        let before = items(&s.json(&["get", "pods", "-A"]));
        let deployments = items(&s.json(&["get", "deployments", "-A"]));
        let replicasets = items(&s.json(&["get", "replicasets", "-A"]));
        let table = s.ok(&["get", "pdb", "-A"]);
        let after = items(&s.json(&["get", "pods", "-A"]));
        let deployments_after = items(&s.json(&["get", "deployments", "-A"]));
        if readiness_snapshot(&before, &deployments) != readiness_snapshot(&after, &deployments_after) {
            continue;
        }
        let mut mismatches = Vec::new();
        for pdb in &pdbs {
            let shown = row(&table, &[text(pdb, "/metadata/namespace"), name(pdb)]);
            let want = allowed_disruptions(pdb, &before, &replicasets, &deployments);
            let spec_min = pdb.pointer("/spec/minAvailable").map(|v| v.to_string().trim_matches('"').to_string());
            let spec_max = pdb.pointer("/spec/maxUnavailable").map(|v| v.to_string().trim_matches('"').to_string());
            assert_eq!(shown[2], spec_min.as_deref().unwrap_or("N/A"), "{shown:?}");
            assert_eq!(shown[3], spec_max.as_deref().unwrap_or("N/A"), "{shown:?}");
            if shown[4] != want.to_string() {
                mismatches.push(format!("{}: shown {} expected {want}", name(pdb), shown[4]));
            }
        }
        if mismatches.is_empty() {
            return;
        }
        last = mismatches.join("; ");
        std::thread::sleep(POLL);
    }
    panic!("ALLOWED DISRUPTIONS never matched the arithmetic on a steady read: {last}");
}

// ------------------------------------------------------------------------------------
// Deployments: scale, rollouts
// ------------------------------------------------------------------------------------

#[test]
fn scale_then_rollout_status_completes_with_the_pods_asked_for() {
    let s = Sim::demo();
    s.wait_available("honeydue", "admin");
    let out = s.ok(&["scale", "deploy/admin", "-n", "honeydue", "--replicas=3"]);
    assert!(out.contains("deployment.apps/admin scaled"), "{out}");
    let out = s.ok(&["rollout", "status", "deploy/admin", "-n", "honeydue", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let pods = s.pods("honeydue", "app.kubernetes.io/name=admin");
    let live = live_pods(&pods);
    assert_eq!(live.len(), 3, "{pods:#?}");
    assert!(live.iter().all(|p| is_ready(p)), "every pod ready once rolled out");
    let nodes: BTreeSet<&str> = live.iter().map(|p| text(p, "/spec/nodeName")).collect();
    assert!(nodes.iter().all(|n| n.starts_with("k3s-node-")), "{nodes:?}");

    s.ok(&["scale", "deploy/admin", "-n", "honeydue", "--replicas=1"]);
    s.ok(&["rollout", "status", "deploy/admin", "-n", "honeydue", "--timeout=60s"]);
    wait_for("the scaled-down pods to be gone", || s.pods("honeydue", "app.kubernetes.io/name=admin").len() == 1);
    let d = s.deployment("honeydue", "admin");
    assert_eq!(int(&d, "/status/replicas"), 1);
    assert_eq!(int(&d, "/status/readyReplicas"), 1);
}

fn replicasets_of(s: &Sim, namespace: &str, deployment: &str) -> Vec<Value> {
    items(&s.json(&["get", "rs", "-n", namespace]))
        .into_iter()
        .filter(|rs| text(rs, "/metadata/ownerReferences/0/name") == deployment)
        .collect()
}

fn revision(obj: &Value) -> String {
    text(obj, "/metadata/annotations/deployment.kubernetes.io~1revision").to_string()
}

fn history_revisions(s: &Sim, namespace: &str, deployment: &str) -> Vec<String> {
    let out = s.ok(&["rollout", "history", &format!("deploy/{deployment}"), "-n", namespace]);
    assert!(out.contains("REVISION"), "{out}");
    out.lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn set_image_rolls_out_and_undo_history_restart_work() {
    const OLD: &str = "gitea.treytartt.com/admin/honeydue-admin:237c6b8";
    const NEW: &str = "gitea.treytartt.com/admin/honeydue-admin:v2";
    let s = Sim::demo();
    s.wait_available("honeydue", "admin");
    // The demo starts settled, with a few revisions of history already: count from there.
    let base: u64 = revision(&s.deployment("honeydue", "admin")).parse().unwrap();
    let rev = |n: u64| (base + n).to_string();
    let history_before = history_revisions(&s, "honeydue", "admin");
    let rss_before = replicasets_of(&s, "honeydue", "admin").len();
    let out = s.ok(&["set", "image", "deploy/admin", "-n", "honeydue", &format!("admin={NEW}")]);
    assert!(out.contains("deployment.apps/admin image updated"), "{out}");
    let out = s.ok(&["rollout", "status", "deploy/admin", "-n", "honeydue", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");

    let d = s.deployment("honeydue", "admin");
    assert_eq!(revision(&d), rev(1));
    let rss = replicasets_of(&s, "honeydue", "admin");
    assert_eq!(rss.len(), rss_before + 1, "a new ReplicaSet next to the old ones");
    let new_rs = rss.iter().find(|r| revision(r) == rev(1)).expect("a ReplicaSet at the new revision");
    assert_eq!(text(new_rs, "/spec/template/spec/containers/0/image"), NEW);
    assert_eq!(int(new_rs, "/spec/replicas"), 1);
    let old_rs = rss.iter().find(|r| revision(r) == rev(0)).expect("the old ReplicaSet at the previous revision");
    assert_eq!(int(old_rs, "/spec/replicas"), 0);
    assert_ne!(text(new_rs, "/metadata/labels/pod-template-hash"), text(old_rs, "/metadata/labels/pod-template-hash"));
    wait_for("only new pods", || {
        let pods = s.pods("honeydue", "app.kubernetes.io/name=admin");
        pods.len() == 1 && images(&live_pods(&pods)) == BTreeSet::from([NEW.to_string()])
    });
    let mut expected = history_before.clone();
    expected.push(rev(1));
    assert_eq!(history_revisions(&s, "honeydue", "admin"), expected);

    let out = s.ok(&["rollout", "undo", "deploy/admin", "-n", "honeydue"]);
    assert!(out.contains("deployment.apps/admin rolled back"), "{out}");
    s.ok(&["rollout", "status", "deploy/admin", "-n", "honeydue", "--timeout=60s"]);
    let d = s.deployment("honeydue", "admin");
    assert_eq!(text(&d, "/spec/template/spec/containers/0/image"), OLD, "undo restores the previous template");
    assert_eq!(revision(&d), rev(2));
    wait_for("only old-image pods", || {
        let pods = s.pods("honeydue", "app.kubernetes.io/name=admin");
        pods.len() == 1 && images(&live_pods(&pods)) == BTreeSet::from([OLD.to_string()])
    });
    let mut expected: Vec<String> = history_before.iter().filter(|r| **r != rev(0)).cloned().collect();
    expected.extend([rev(1), rev(2)]);
    assert_eq!(history_revisions(&s, "honeydue", "admin"), expected, "the previous revision became the newest");

    let before: BTreeSet<String> =
        s.pods("honeydue", "app.kubernetes.io/name=admin").iter().map(|p| name(p).to_string()).collect();
    let out = s.ok(&["rollout", "restart", "deploy/admin", "-n", "honeydue"]);
    assert!(out.contains("deployment.apps/admin restarted"), "{out}");
    s.ok(&["rollout", "status", "deploy/admin", "-n", "honeydue", "--timeout=60s"]);
    let d = s.deployment("honeydue", "admin");
    assert!(
        !text(&d, "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt").is_empty(),
        "restart stamps the template: {d:#}"
    );
    assert_eq!(revision(&d), rev(3));
    wait_for("restarted pods replacing the old ones", || {
        let pods = s.pods("honeydue", "app.kubernetes.io/name=admin");
        pods.len() == 1 && pods.iter().all(|p| !before.contains(name(p)) && is_ready(p))
    });
}

#[test]
fn server_dry_run_scale_changes_nothing() {
    let s = Sim::demo();
    s.wait_available("honeydue", "admin");
    let before = s.deployment("honeydue", "admin");
    let out = s.ok(&["scale", "deploy/admin", "-n", "honeydue", "--replicas=5", "--dry-run=server"]);
    assert!(out.contains("deployment.apps/admin scaled (server dry run)"), "{out}");
    let after = s.deployment("honeydue", "admin");
    assert_eq!(int(&after, "/spec/replicas"), 1);
    assert_eq!(int(&after, "/metadata/generation"), int(&before, "/metadata/generation"));
    assert_eq!(after["spec"], before["spec"]);
    let rss = replicasets_of(&s, "honeydue", "admin");
    let scaled: Vec<&Value> = rss.iter().filter(|r| int(r, "/spec/replicas") > 0).collect();
    assert_eq!(scaled.len(), 1, "one current ReplicaSet; older revisions stay at 0");
    assert_eq!(int(scaled[0], "/spec/replicas"), 1);
}

// ------------------------------------------------------------------------------------
// StatefulSets
// ------------------------------------------------------------------------------------

#[test]
fn statefulset_scales_up_in_order_with_its_claims() {
    let s = Sim::demo();
    let sts_ready = |want: i64| {
        let sts = s.json(&["get", "sts", "statewave-pg", "-n", "statewave"]);
        int(&sts, "/status/readyReplicas") == want && int(&sts, "/status/replicas") == want
    };
    wait_for("statewave-pg ready", || sts_ready(1));
    let out = s.ok(&["scale", "sts/statewave-pg", "-n", "statewave", "--replicas=3"]);
    assert!(out.contains("statefulset.apps/statewave-pg scaled"), "{out}");

    // OrderedReady: pod N exists only once pod N-1 is Running and Ready. Watched in the
    // store itself, where every intermediate state is visible.
    let store = s.sim().store();
    let pods_rt = resource("pods").unwrap();
    let mut first_seen: Vec<String> = Vec::new();
    let until = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < until, "statewave-pg never reached 3 ready pods; saw {first_seen:?}");
        let (pods, _) = store.list(pods_rt, Some("statewave"));
        // Ordered by name, so pods that first appear in the same look are listed by ordinal.
        let by_name: BTreeMap<&str, &Value> =
            pods.iter().filter(|p| name(p).starts_with("statewave-pg-")).map(|p| (name(p), p.as_ref())).collect();
        for ordinal in 1..3 {
            if by_name.contains_key(format!("statewave-pg-{ordinal}").as_str()) {
                let previous = by_name.get(format!("statewave-pg-{}", ordinal - 1).as_str());
                assert!(
                    previous.is_some_and(|p| is_ready(p) && text(p, "/status/phase") == "Running"),
                    "statewave-pg-{ordinal} exists before statewave-pg-{} is ready",
                    ordinal - 1
                );
            }
        }
        for n in by_name.keys() {
            if !first_seen.iter().any(|f| f == n) {
                first_seen.push(n.to_string());
            }
        }
        if by_name.len() == 3 && by_name.values().all(|p| is_ready(p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(first_seen, ["statewave-pg-0", "statewave-pg-1", "statewave-pg-2"]);
    let out = s.ok(&["rollout", "status", "sts/statewave-pg", "-n", "statewave", "--timeout=60s"]);
    assert!(out.contains("complete"), "{out}");
    let claims: BTreeSet<String> =
        items(&s.json(&["get", "pvc", "-n", "statewave"])).iter().map(|c| name(c).to_string()).collect();
    for ordinal in 0..3 {
        assert!(claims.contains(&format!("data-statewave-pg-{ordinal}")), "{claims:?}");
    }

    s.ok(&["scale", "sts/statewave-pg", "-n", "statewave", "--replicas=1"]);
    wait_for("statewave-pg back to one pod", || {
        s.pods("statewave", "app.kubernetes.io/name=statewave-pg")
            .iter()
            .map(|p| name(p).to_string())
            .collect::<Vec<_>>()
            == ["statewave-pg-0"]
    });
}

#[test]
fn statefulset_revisions_are_controller_revisions_as_a_real_cluster_keeps_them() {
    let s = Sim::demo();
    s.ok(&["rollout", "status", "sts/statewave-pg", "-n", "statewave", "--timeout=60s"]);
    s.ok(&["set", "image", "sts/statewave-pg", "-n", "statewave", "postgres=pgvector/pgvector:pg17"]);
    s.ok(&["rollout", "status", "sts/statewave-pg", "-n", "statewave", "--timeout=60s"]);
    let sts = s.json(&["get", "sts", "statewave-pg", "-n", "statewave"]);
    let uid = text(&sts, "/metadata/uid").to_string();
    let mut revisions = items(&s.json(&["get", "controllerrevisions", "-n", "statewave"]));
    revisions.sort_by_key(|r| int(r, "/revision"));
    assert_eq!(revisions.iter().map(|r| int(r, "/revision")).collect::<Vec<_>>(), [1, 2]);
    for r in &revisions {
        let hash = text(r, "/metadata/labels/controller.kubernetes.io~1hash");
        assert_eq!(name(r), format!("statewave-pg-{hash}"), "named after the template hash it is labelled with");
        assert_eq!(text(r, "/metadata/ownerReferences/0/uid"), uid);
        assert_eq!(r.pointer("/metadata/ownerReferences/0/controller"), Some(&Value::Bool(true)));
        assert_eq!(text(r, "/data/spec/template/$patch"), "replace", "the template as upstream's getPatch stores it");
    }
    let image = |r: &Value| text(r, "/data/spec/template/spec/containers/0/image").to_string();
    assert_eq!(
        (image(&revisions[0]), image(&revisions[1])),
        ("pgvector/pgvector:pg16".into(), "pgvector/pgvector:pg17".into())
    );
    assert_eq!(text(&sts, "/status/updateRevision"), name(&revisions[1]));

    // The real kubectl's undo patches the template with revision 1's data; that revision
    // is then renumbered as the newest.
    s.ok(&["rollout", "undo", "sts/statewave-pg", "-n", "statewave", "--to-revision=1"]);
    wait_for("revision 1 renumbered", || {
        let now = items(&s.json(&["get", "controllerrevisions", "-n", "statewave"]));
        now.iter().any(|r| name(r) == name(&revisions[0]) && int(r, "/revision") == 3)
    });
    let sts = s.json(&["get", "sts", "statewave-pg", "-n", "statewave"]);
    assert_eq!(text(&sts, "/spec/template/spec/containers/0/image"), "pgvector/pgvector:pg16");
}

// ------------------------------------------------------------------------------------
// Logs and watches
// ------------------------------------------------------------------------------------

#[test]
fn logs_follow_streams_new_lines_from_the_generators() {
    let s = Sim::demo();
    s.wait_available("soundspan", "soundspan-backend");
    let pod = s.pods("soundspan", "app.kubernetes.io/component=backend")[0].clone();
    let logs = s.sim().logs();
    let existing: BTreeSet<String> = logs
        .read("soundspan", name(&pod), "backend", false)
        .unwrap_or_default()
        .iter()
        .map(|l| String::from_utf8_lossy(&l.text).into_owned())
        .collect();
    let mut stream = s.spawn(&["logs", "-f", "deploy/soundspan-backend", "-n", "soundspan", "--since=1m"]);
    let mut new_lines = 0;
    stream.until("three lines written after kubectl started", |line| {
        assert!(
            ["[HTTP] ", "[Socket] ", "[ListenTogether/SLO] "].iter().any(|p| line.starts_with(p)),
            "a line from the backend's generators: {line:?}"
        );
        if !existing.contains(line) {
            new_lines += 1;
        }
        new_lines >= 3
    });
}

#[test]
fn get_pods_watch_sees_readiness_flap() {
    let s = Sim::demo();
    let mut stream =
        s.spawn(&["get", "pods", "-n", "soundspan", "-l", "app.kubernetes.io/component=frontend", "--watch"]);
    let header = stream.next_line(Instant::now() + DEADLINE);
    assert_eq!(cells(&header), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    let mut shown: HashMap<String, BTreeSet<String>> = HashMap::new();
    stream.until("a frontend pod shown both ready and unready", |line| {
        let c = cells(line);
        let states = shown.entry(c[0].to_string()).or_default();
        states.insert(c[1].to_string());
        states.contains("1/1") && states.contains("0/1") && c[2] == "Running"
    });
}

// ------------------------------------------------------------------------------------
// The problems the demo promises
// ------------------------------------------------------------------------------------

#[test]
fn demo_has_a_readiness_flapping_pod() {
    let s = Sim::demo();
    let mut stream = s.spawn(&[
        "get",
        "pods",
        "-n",
        "soundspan",
        "-l",
        "app.kubernetes.io/component=frontend",
        "--watch",
        "--no-headers",
        "-o",
        "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type==\"Ready\")].status",
    ]);
    let mut last: HashMap<String, String> = HashMap::new();
    let mut toggles: HashMap<String, u32> = HashMap::new();
    stream.until("a pod toggling Ready four times", |line| {
        let c = cells(line);
        let (pod, ready) = (c[0].to_string(), c.get(1).copied().unwrap_or("<none>").to_string());
        if let Some(previous) = last.insert(pod.clone(), ready.clone())
            && previous != ready
            && previous != "<none>"
        {
            *toggles.entry(pod.clone()).or_default() += 1;
        }
        toggles.get(&pod).is_some_and(|n| *n >= 4)
    });
    let events = s.ok(&["get", "events", "-n", "soundspan", "--field-selector", "reason=Unhealthy"]);
    assert!(events.contains("Readiness probe failed"), "{events}");
}

fn assert_sustained_slo_burst(s: &Sim, namespace: &str, deployment: &str, tag: &str, warning: &str) {
    let mut stream = s.spawn(&["logs", "-f", &format!("deploy/{deployment}"), "-n", namespace, "--since=1m"]);
    let mut warnings = 0;
    stream.until(&format!("ten {tag} warnings"), |line| {
        if line.starts_with(tag) && line.contains(warning) {
            warnings += 1;
        }
        warnings >= 10
    });
}

#[test]
fn demo_has_sustained_slo_warning_bursts() {
    let s = Sim::demo();
    s.wait_available("soundspan", "soundspan-backend");
    s.wait_available("soundspan", "soundspan-backend-worker");
    assert_sustained_slo_burst(&s, "soundspan", "soundspan-backend", "[ListenTogether/SLO]", "exceeded target 5000ms");
    assert_sustained_slo_burst(
        &s,
        "soundspan",
        "soundspan-backend-worker",
        "[SchedulerClaim/SLO]",
        "consecutive times (threshold 3)",
    );
}

#[test]
fn demo_has_a_stalled_rollout() {
    let s = Sim::demo();
    wait_for("honeydue/web to pass its progress deadline", || {
        let d = s.deployment("honeydue", "web");
        d.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "Progressing" && c["status"] == "False" && c["reason"] == "ProgressDeadlineExceeded"
            })
        })
    });
    let out = s.fails(&["rollout", "status", "deploy/web", "-n", "honeydue", "--timeout=60s"]);
    assert!(out.contains("exceeded its progress deadline"), "{out}");
    let d = s.deployment("honeydue", "web");
    assert_eq!(text(&d, "/spec/template/spec/containers/0/image"), "gitea.treytartt.com/admin/honeydue-web:9c3a1f0");
    assert_eq!(int(&d, "/status/availableReplicas"), 3, "the old pods keep serving (maxUnavailable 0)");
    assert_eq!(int(&d, "/status/updatedReplicas"), 1, "one surge pod of the new image");
    assert_eq!(int(&d, "/status/unavailableReplicas"), 1);
}

#[test]
fn demo_has_a_pdb_allowing_no_disruption_while_healthy() {
    let s = Sim::demo();
    wait_for("gitserver-pdb to see its healthy pod", || {
        let pdb = s.json(&["get", "pdb", "gitserver-pdb", "-n", "app"]);
        int(&pdb, "/status/currentHealthy") == 1 && int(&pdb, "/status/expectedPods") == 1
    });
    let pdb = s.json(&["get", "pdb", "gitserver-pdb", "-n", "app"]);
    assert_eq!(int(&pdb, "/status/desiredHealthy"), 1);
    assert_eq!(int(&pdb, "/status/disruptionsAllowed"), 0);
    let pods = s.pods("app", "app.kubernetes.io/name=gitserver");
    assert!(!pods.is_empty() && pods.iter().all(is_ready), "every gitserver pod healthy");
    let table = s.ok(&["get", "pdb", "gitserver-pdb", "-n", "app"]);
    assert_eq!(row(&table, &["gitserver-pdb"])[1..4], ["1", "N/A", "0"], "{table}");
}

#[test]
fn demo_has_a_single_replica_on_a_read_write_once_volume() {
    let s = Sim::demo();
    s.wait_available("honeydue", "redis");
    let d = s.deployment("honeydue", "redis");
    assert_eq!(int(&d, "/spec/replicas"), 1);
    let claim = d
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find_map(|v| v.pointer("/persistentVolumeClaim/claimName")?.as_str()))
        .expect("redis mounts a claim")
        .to_string();
    wait_for("the claim to be bound", || {
        text(&s.json(&["get", "pvc", &claim, "-n", "honeydue"]), "/status/phase") == "Bound"
    });
    let pvc = s.json(&["get", "pvc", &claim, "-n", "honeydue"]);
    assert_eq!(pvc["spec"]["accessModes"], serde_json::json!(["ReadWriteOnce"]));
    let pods = s.pods("honeydue", "app.kubernetes.io/name=redis");
    assert_eq!(pods.len(), 1);
    assert_eq!(text(&pods[0], "/spec/nodeName"), "k3s-node-1", "nodeSelector honeydue/redis=true");
}

/// The seeds' connection-budget rule: replicas × (pool + overflow) + ~15 headroom.
const BUDGET_HEADROOM: i64 = 15;

#[test]
fn demo_has_a_connection_budget_above_seventy_percent() {
    let s = Sim::demo();
    let max_connections: i64 =
        text(&s.json(&["get", "configmap", "statewave-pg-config", "-n", "statewave"]), "/data/max_connections")
            .parse()
            .expect("max_connections in the ConfigMap");
    let env_of = |d: &Value, key: &str| -> i64 {
        d.pointer("/spec/template/spec/containers/0/env")
            .and_then(Value::as_array)
            .and_then(|env| env.iter().find(|e| e["name"] == key))
            .and_then(|e| e["value"].as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in statewave's env"))
    };
    let mut percent = 0.0;
    wait_for("the HPA to raise statewave's connection budget above 70 %", || {
        let d = s.deployment("statewave", "statewave");
        let per_replica =
            env_of(&d, "STATEWAVE_DATABASE_POOL_SIZE") + env_of(&d, "STATEWAVE_DATABASE_POOL_MAX_OVERFLOW");
        let required = int(&d, "/spec/replicas") * per_replica + BUDGET_HEADROOM;
        percent = 100.0 * required as f64 / max_connections as f64;
        percent > 70.0
    });
    assert!(percent <= 100.0, "above 70 % but not yet over: {percent}");
    let hpa = s.json(&["get", "hpa", "statewave", "-n", "statewave"]);
    let d = s.deployment("statewave", "statewave");
    assert_eq!(int(&hpa, "/status/desiredReplicas"), int(&d, "/spec/replicas"), "the HPA set the scale");
    assert!(int(&d, "/spec/replicas") <= int(&hpa, "/spec/maxReplicas"));
}

// ------------------------------------------------------------------------------------
// Scale mode (`--pods N`)
// ------------------------------------------------------------------------------------

#[test]
fn generated_large_cluster_serves_every_pod_settled() {
    let scenario = world::load(&ScenarioSource::Large { pods: 300 }).expect("the generated cluster loads");
    let s = Sim::start(scenario);
    let out = s.ok(&["get", "pods", "-A", "--no-headers"]);
    let rows: Vec<Vec<&str>> = out.lines().map(cells).collect();
    assert_eq!(rows.len(), 300, "{out}");
    assert!(rows.iter().all(|r| r[2] == "1/1" && r[3] == "Running"), "every pod settled:\n{out}");
    for d in items(&s.json(&["get", "deployments", "-A"])) {
        assert_eq!(int(&d, "/status/availableReplicas"), int(&d, "/spec/replicas"), "{}", name(&d));
    }
    let namespaces = items(&s.json(&["get", "namespaces"]));
    assert!(namespaces.len() > 3, "the generated teams' namespaces exist");
}

#[test]
fn churn_makes_real_watch_events_at_the_rate_set_and_stops_at_zero() {
    let s = Sim::demo();
    let file = s.dir.path().join("churn.json");
    std::fs::write(&file, r#"{"rate": 200}"#).unwrap();
    s.ok(&["create", "--raw", "/sim/churn", "-f", file.to_str().unwrap()]);
    let rate: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/sim/churn"])).unwrap();
    assert_eq!(rate["rate"], 200.0);
    let heartbeats = || {
        let pods: Value = serde_json::from_str(&s.ok(&["get", "pods", "-A", "-o", "json"])).unwrap();
        items(&pods)
            .iter()
            .filter_map(|p| {
                p.pointer("/metadata/annotations/sim.cockpit.dev~1heartbeat")?.as_str()?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0)
    };
    wait_for("pods to be updated by the churn", || heartbeats() > 50);
    std::fs::write(&file, r#"{"rate": 0}"#).unwrap();
    s.ok(&["create", "--raw", "/sim/churn", "-f", file.to_str().unwrap()]);
    // Stopped: two reads a while apart see the same last heartbeat.
    let mut last = heartbeats();
    wait_for("the churn to stop", || {
        std::thread::sleep(Duration::from_millis(300));
        let now = heartbeats();
        std::mem::replace(&mut last, now) == now
    });
    std::fs::write(&file, r#"{"rate": -1}"#).unwrap();
    let out = s.kubectl(&["create", "--raw", "/sim/churn", "-f", file.to_str().unwrap()]);
    assert!(!out.status.success(), "a negative rate is refused");
}

#[test]
fn events_expire_a_ttl_after_their_last_write_as_the_api_servers_leases_make_them() {
    let scenario = world::load(&ScenarioSource::Builtin("demo".into())).expect("the demo loads");
    let options = SimOptions { event_ttl: Some(Duration::from_secs(2)), ..Default::default() };
    let s = Sim::start_with(scenario.with_time_scale(DEMO_TIME_SCALE), options);
    let file = s.dir.path().join("event.json");
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "api.probe", "namespace": "soundspan"},
        "involvedObject": {"kind": "Pod", "namespace": "soundspan", "name": "api"},
        "reason": "Unhealthy", "message": "Readiness probe failed", "type": "Warning",
    });
    std::fs::write(&file, event.to_string()).unwrap();
    let mut watch = s.spawn(&[
        "get",
        "events",
        "-n",
        "soundspan",
        "--watch-only",
        "--output-watch-events",
        "-o",
        "custom-columns=TYPE:.type,NAME:.object.metadata.name",
    ]);
    s.ok(&["create", "-f", file.to_str().unwrap()]);
    assert!(s.ok(&["get", "event", "-n", "soundspan", "api.probe", "-o", "name"]).contains("api.probe"));
    wait_for("the Event to expire", || !s.kubectl(&["get", "event", "-n", "soundspan", "api.probe"]).status.success());
    watch.until("its deletion on the watch", |l| l.contains("DELETED") && l.contains("api.probe"));
}
