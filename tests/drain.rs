//! Node maintenance against the simulated cluster, over real HTTP: the eviction API with the
//! API server's budget rules, cordons the scheduler honours, and `nodes` / `drain-plan`
//! judged against what the real `kubectl drain` then does on the same cluster.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cockpit::sim::world::{self, ScenarioSource};
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::Value;

/// Two nodes: the pods go where the scheduler puts them, and the bigger node takes every
/// replacement. Budgets: one that never allows a disruption (1 of 1), one that allows one,
/// two that select the same pods, none at all; a pod no controller owns; a DaemonSet's pod;
/// a Deployment with emptyDir data.
const OBJECTS: &str = r#"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node-a}
      containers: [{name: c, image: "shop/guarded:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: guarded}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      containers: [{name: c, image: "shop/spread:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
      volumes: [{name: scratch, emptyDir: {}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: spread, namespace: shop}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: spread}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: twice, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: twice}}
  template:
    metadata: {labels: {app: twice, tier: web}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node-a}
      containers: [{name: c, image: "shop/twice:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: twice-by-app, namespace: shop}
spec: {maxUnavailable: 5, selector: {matchLabels: {app: twice}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: twice-by-tier, namespace: shop}
spec: {maxUnavailable: 5, selector: {matchLabels: {tier: web}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: free, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: free}}
  template:
    metadata: {labels: {app: free}}
    spec:
      containers: [{name: c, image: "shop/free:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
"#;

struct Cluster {
    sim: Option<RunningSim>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("drain.yaml");
        std::fs::write(&file, format!("{}{OBJECTS}", support::TWO_NODES)).unwrap();
        let scenario = world::load(&ScenarioSource::File(file)).expect("the scenario loads");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start_with(scenario, SimOptions::default())).expect("simulator starts");
        let kubeconfig = dir.path().join("admin.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let cluster = Cluster { sim: Some(sim), rt, dir, kubeconfig };
        cluster.wait_until("every pod ready and every budget computed", || cluster.settled());
        cluster
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn cockpit(&self, args: &[&str]) -> Output {
        cockpit_with(&self.kubeconfig, self.dir.path(), args)
    }

    fn json(&self, args: &[&str]) -> (Value, Option<i32>) {
        let out = self.cockpit(args);
        let text = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {text}{}", String::from_utf8_lossy(&out.stderr)));
        (value, out.status.code())
    }

    fn pods(&self) -> Vec<Value> {
        let text = self.kubectl_ok(&["get", "pods", "-A", "-o", "json"]);
        serde_json::from_str::<Value>(&text).unwrap()["items"].as_array().cloned().unwrap_or_default()
    }

    /// Every pod Running and Ready, every budget observed with the numbers settled.
    fn settled(&self) -> bool {
        let pods = self.pods();
        let ready = |p: &Value| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        };
        let pdbs: Value = serde_json::from_str(&self.kubectl_ok(&["get", "pdb", "-A", "-o", "json"])).unwrap();
        let observed = pdbs["items"].as_array().into_iter().flatten().all(|b| {
            b["status"]["observedGeneration"].as_i64() >= b["metadata"]["generation"].as_i64()
                && b["status"]["currentHealthy"] == b["status"]["expectedPods"]
        });
        !pods.is_empty() && pods.iter().filter(|p| p["metadata"]["ownerReferences"].is_array()).all(ready) && observed
    }

    fn wait_until(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The node of the live pod `namespace/prefix*` ("" while it is not scheduled).
    fn node_of(&self, namespace: &str, prefix: &str) -> String {
        let pods = self.pods();
        let pod = pods.iter().find(|p| {
            p["metadata"]["namespace"] == namespace
                && p["metadata"]["name"].as_str().unwrap().starts_with(prefix)
                && p["metadata"]["deletionTimestamp"].is_null()
        });
        pod.and_then(|p| p["spec"]["nodeName"].as_str()).unwrap_or_default().to_string()
    }

    /// Pods on `node` that a drain would have to move (not the DaemonSet's), `ns/name`.
    fn movable_on(&self, node: &str) -> BTreeSet<String> {
        self.pods()
            .iter()
            .filter(|p| p["spec"]["nodeName"] == node && p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| p["metadata"]["ownerReferences"][0]["kind"] != "DaemonSet")
            .map(|p| {
                format!("{}/{}", p["metadata"]["namespace"].as_str().unwrap(), p["metadata"]["name"].as_str().unwrap())
            })
            .collect()
    }

    fn apply(&self, manifest: &str) {
        let file = self.dir.path().join(format!("m{}.yaml", fastrand::u32(..)));
        std::fs::write(&file, manifest).unwrap();
        self.kubectl_ok(&["apply", "-f", file.to_str().unwrap()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
}

fn cockpit_with(kubeconfig: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("KUBECTL_COCKPIT_CONFIG", dir.join("config"))
        .env("KUBECTL_COCKPIT_DATA", dir.join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn names(pods: &Value) -> BTreeSet<String> {
    pods.as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("{}/{}", p["namespace"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect()
}

/// A bare pod (nothing re-creates it) and a DaemonSet's pod, both on node-a.
const EXTRAS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: debug-shell, namespace: shop}
spec:
  nodeName: node-a
  containers: [{name: c, image: "busybox:1"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logs-agent, namespace: shop}
spec:
  selector: {matchLabels: {app: logs-agent}}
  template:
    metadata: {labels: {app: logs-agent}}
    spec:
      containers: [{name: c, image: "agent:1"}]
"#;

fn daemon_pod(cluster: &Cluster) {
    let ds: Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "ds", "logs-agent", "-n", "shop", "-o", "json"])).unwrap();
    let uid = ds["metadata"]["uid"].as_str().unwrap();
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: logs-agent-a1
  namespace: shop
  labels: {{app: logs-agent}}
  ownerReferences: [{{apiVersion: apps/v1, kind: DaemonSet, name: logs-agent, uid: "{uid}", controller: true}}]
spec:
  nodeName: node-a
  tolerations: [{{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}}]
  containers: [{{name: c, image: "agent:1"}}]
"#
    ));
}

#[test]
fn drain_plan_names_what_blocks_and_real_kubectl_drain_is_blocked_by_exactly_that() {
    let cluster = Cluster::start();
    cluster.apply(EXTRAS);
    daemon_pod(&cluster);
    cluster.wait_until("the extra pods to run", || {
        let on_a = cluster.movable_on("node-a");
        cluster.settled() && on_a.contains("shop/debug-shell") && cluster.node_of("shop", "logs-agent-") == "node-a"
    });
    let free_on_a = cluster.node_of("shop", "free-") == "node-a";

    let (plan, code) = cluster.json(&["drain-plan", "node-a", "-o", "json"]);
    assert_eq!(code, Some(1), "a blocked drain exits 1: {plan:#}");
    assert_eq!(plan["drainable"], false);
    let node = &plan["nodes"][0];
    let blocked = names(&node["blocked"]);
    let guarded: Vec<&String> = blocked.iter().filter(|n| n.starts_with("shop/guarded-")).collect();
    let twice: Vec<&String> = blocked.iter().filter(|n| n.starts_with("shop/twice-")).collect();
    assert_eq!((guarded.len(), twice.len(), blocked.len()), (1, 1, 2), "blocked: {blocked:?}");
    let why = node["blocked"].as_array().unwrap().iter().find(|p| p["owner"] == "deploy/guarded").unwrap();
    assert_eq!(why["budget"]["state"], "blocked");
    assert_eq!(why["budget"]["pdb"], "guarded");
    assert_eq!(why["budget"]["never"], true, "1 of 1 never allows a disruption");
    assert!(why["budget"]["why"].as_str().unwrap().contains("minAvailable 1 of 1 healthy"), "{why:#}");
    let ambiguous = node["blocked"].as_array().unwrap().iter().find(|p| p["owner"] == "deploy/twice").unwrap();
    assert_eq!(ambiguous["budget"]["state"], "ambiguous");
    assert_eq!(names(&node["skip"]), BTreeSet::from(["shop/logs-agent-a1".to_string()]));
    let lost = names(&node["lose"]);
    assert!(lost.contains("shop/debug-shell"), "a pod with no controller is lost: {lost:?}");
    if free_on_a {
        let free = node["evict"].as_array().unwrap().iter().find(|p| p["owner"] == "deploy/free").unwrap();
        assert_eq!(free["budget"]["state"], "free", "no budget covers it");
    }
    assert_eq!(node["unplaced"].as_array().map(Vec::len), Some(0), "node-b takes every replacement");

    // The same cluster, drained for real: what stays behind is what the plan said blocks.
    let out = cluster.kubectl(&[
        "drain",
        "node-a",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
        "--timeout=20s",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "kubectl drain cannot finish: {stderr}");
    assert!(stderr.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{stderr}");
    assert!(stderr.contains("more than one PodDisruptionBudget"), "{stderr}");
    assert_eq!(cluster.movable_on("node-a"), blocked, "kubectl drain left exactly the blocked pods: {stderr}");
    let nodes = cluster.kubectl_ok(&["get", "node", "node-a", "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(nodes, "true", "kubectl cordoned it first");

    // Cordoned now: nothing new lands on it (the moved pods' replacements ran on node-b).
    cluster.wait_until("the replacements to be ready", || cluster.settled());
    assert_eq!(cluster.node_of("shop", "free-"), "node-b");
    let (nodes, code) = cluster.json(&["nodes", "-o", "json"]);
    assert_eq!(code, Some(0));
    let a = nodes["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "node-a").unwrap();
    assert_eq!(a["cordoned"], true);
    assert_eq!(a["drain"]["drainable"], false);
}

#[test]
fn the_eviction_api_answers_as_the_api_server_does() {
    let cluster = Cluster::start();
    let pods = cluster.pods();
    let pod_named = |prefix: &str| {
        pods.iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .find(|n| n.starts_with(prefix))
            .unwrap()
    };
    let evict = |name: &str, dry_run: bool| {
        let body = format!(
            r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{name}","namespace":"shop"}}{}}}"#,
            if dry_run { r#","deleteOptions":{"dryRun":["All"]}"# } else { "" }
        );
        let file = cluster.dir.path().join("eviction.json");
        std::fs::write(&file, body).unwrap();
        cluster.kubectl(&[
            "create",
            "--raw",
            &format!("/api/v1/namespaces/shop/pods/{name}/eviction"),
            "-f",
            file.to_str().unwrap(),
        ])
    };
    // 1 of 1: 429 with the budget's arithmetic, and the pod stays.
    let guarded = pod_named("guarded-");
    let out = evict(&guarded, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{stderr}");
    assert!(cluster.pods().iter().any(|p| p["metadata"]["name"] == guarded.as_str()));

    // A dry-run changes nothing; a real one takes one disruption from the budget, records the
    // pod as disrupted, and the pod goes; the budget comes back when the replacement is ready.
    let spread = pod_named("spread-");
    assert!(evict(&spread, true).status.success());
    let allowed =
        || cluster.kubectl_ok(&["get", "pdb", "spread", "-n", "shop", "-o", "jsonpath={.status.disruptionsAllowed}"]);
    assert_eq!(allowed(), "1");
    let out = evict(&spread, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Success"));
    cluster.wait_until("the evicted pod to go", || {
        !cluster.pods().iter().any(|p| p["metadata"]["name"] == spread.as_str())
    });
    cluster.wait_until("the budget to recover with the replacement", || cluster.settled() && allowed() == "1");

    // Two budgets over one pod: refused outright.
    let out = evict(&pod_named("twice-"), false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than one PodDisruptionBudget"));
}

#[test]
fn a_cordoned_node_takes_no_new_pods_until_uncordoned() {
    let cluster = Cluster::start();
    cluster.kubectl_ok(&["cordon", "node-a"]);
    cluster.kubectl_ok(&["delete", "pod", "-n", "shop", "-l", "app=guarded", "--wait=false"]);
    cluster.wait_until("the replacement to be refused by the cordon", || {
        let text = cluster.kubectl_ok(&["get", "events", "-n", "shop", "-o", "json"]);
        text.contains("node(s) were unschedulable")
    });
    assert!(cluster.node_of("shop", "guarded-").is_empty(), "guarded is pinned to node-a, which is cordoned");
    cluster.kubectl_ok(&["uncordon", "node-a"]);
    cluster.wait_until("the pod to land after the uncordon", || cluster.node_of("shop", "guarded-") == "node-a");
}

#[test]
fn drain_plan_refuses_an_unknown_node_with_a_usage_error() {
    let cluster = Cluster::start();
    let out = cluster.cockpit(&["drain-plan", "node-z"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("node \"node-z\" not found"));
    let out = cluster.cockpit(&["drain-plan", "node-b"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "node-b carries nothing that blocks: {text}");
    assert!(text.contains("drain node-b: can complete now"), "{text}");
    // A sequence: with both nodes in the plan, node-a's replacements have nowhere to go.
    let (plan, code) = cluster.json(&["drain-plan", "node-a", "node-b", "-o", "json"]);
    assert_eq!(code, Some(1));
    let steps: Vec<&str> = plan["nodes"].as_array().unwrap().iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert_eq!(steps, ["node-a", "node-b"]);
    let nowhere =
        plan["nodes"].as_array().unwrap().iter().map(|n| n["unplaced"].as_array().unwrap().len()).sum::<usize>();
    let moving = plan["nodes"].as_array().unwrap().iter().map(|n| n["evict"].as_array().unwrap().len()).sum::<usize>();
    assert_eq!(nowhere, moving, "no node outside the plan: every evicted pod is unplaced");
}

/// Three replicas of `web` behind a budget of minAvailable 2, all on node-a (node-b was
/// cordoned while they started); nothing else on node-a. Then node-b takes pods again.
fn web_on_node_a(cluster: &Cluster) {
    cluster.kubectl_ok(&["delete", "deploy", "guarded", "twice", "free", "spread", "-n", "shop"]);
    cluster.kubectl_ok(&["delete", "pdb", "guarded", "twice-by-app", "twice-by-tier", "spread", "-n", "shop"]);
    cluster.kubectl_ok(&["cordon", "node-b"]);
    cluster.apply(&support::web(3, 2));
    cluster.wait_until("web on node-a, alone", || {
        let on_a = cluster.movable_on("node-a");
        cluster.settled() && on_a.len() == 3 && on_a.iter().all(|p| p.starts_with("shop/web-"))
    });
    cluster.kubectl_ok(&["uncordon", "node-b"]);
}

/// Samples the simulator's own store while a drain runs: the fewest healthy `web` pods
/// seen, and the lowest disruptionsAllowed any budget showed.
struct Monitor {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(usize, i64, usize)>,
}

impl Monitor {
    fn start(cluster: &Cluster) -> Monitor {
        let store = cluster.sim.as_ref().unwrap().store();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let pods = cockpit::sim::resources::resource("pods").unwrap();
            let pdbs = cockpit::sim::resources::resource("poddisruptionbudgets").unwrap();
            let (mut fewest, mut lowest, mut samples) = (usize::MAX, i64::MAX, 0);
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let healthy = store
                    .list(pods, Some("shop"))
                    .0
                    .iter()
                    .filter(|p| p["metadata"]["labels"]["app"] == "web" && p["metadata"]["deletionTimestamp"].is_null())
                    .filter(|p| {
                        p["status"]["conditions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
                    .count();
                fewest = fewest.min(healthy);
                for pdb in store.list(pdbs, None).0 {
                    lowest = lowest.min(pdb["status"]["disruptionsAllowed"].as_i64().unwrap_or(0));
                }
                samples += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (fewest, lowest, samples)
        });
        Monitor { stop, thread }
    }

    fn finish(self) -> (usize, i64, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[test]
fn a_guided_drain_completes_with_every_budget_respected_at_every_moment() {
    let cluster = Cluster::start();
    web_on_node_a(&cluster);
    let monitor = Monitor::start(&cluster);
    let out = cluster.cockpit(&["drain", "node-a", "--yes", "--timeout", "60s"]);
    let (fewest, lowest, samples) = monitor.finish();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(samples > 10, "the monitor sampled the drain ({samples})");
    assert!(fewest >= 2, "minAvailable 2 held at every moment (fewest healthy seen: {fewest})");
    assert!(lowest >= 0, "disruptionsAllowed never went negative ({lowest})");
    for line in [
        "server dry-run: ok",
        "cordoned",
        "waiting on budget: shop/web-",
        "replacements ready: shop/deploy/web",
        "drained node-a",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }
    assert_eq!(stdout.matches("evicted shop/web-").count(), 3, "{stdout}");
    cluster.wait_until("web ready on node-b", || cluster.settled() && cluster.movable_on("node-a").is_empty());
    let audit = std::fs::read_to_string(cluster.dir.path().join("data").join("audit.jsonl")).unwrap();
    let entries: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
    assert_eq!(actions.iter().filter(|a| **a == ("evict", "applied")).count(), 3, "{actions:?}");
    assert!(actions.contains(&("cordon", "applied")) && actions.contains(&("drain", "drained")), "{actions:?}");
}

#[test]
fn a_drain_stopped_by_a_signal_leaves_the_node_cordoned_and_says_how_to_undo_it() {
    use std::io::{BufRead, BufReader};
    let cluster = Cluster::start();
    web_on_node_a(&cluster);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["drain", "node-a", "--yes"])
        .env("KUBECTL_COCKPIT_CONFIG", cluster.dir.path().join("config"))
        .env("KUBECTL_COCKPIT_DATA", cluster.dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_eviction = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("evicted "));
    assert!(first_eviction.is_some(), "the drain started evicting");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    assert!(stderr.contains("aborted by the operator") && stderr.contains("kubectl uncordon node-a"), "{stderr}");
    let cordoned = cluster.kubectl_ok(&["get", "node", "node-a", "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(cordoned, "true", "an aborted drain leaves the node cordoned");
    assert!(!cluster.movable_on("node-a").is_empty(), "the drain stopped before the end");
}

#[test]
fn a_drain_that_cannot_complete_is_refused_before_anything_changes() {
    let cluster = Cluster::start();
    let out = cluster.cockpit(&["drain", "node-a", "--yes", "--force"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cannot complete now") && stderr.contains("pdb guarded"), "{stderr}");
    let cordoned = cluster.kubectl_ok(&["get", "node", "node-a", "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(cordoned, "", "nothing was changed, not even the cordon");
    let out = cluster.cockpit(&["--read-only", "drain", "node-b", "--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A Deployment that completed once and then lost its only pod to a cordon (what a drain
/// can leave behind) is past its progress deadline without timing out. The simulator used
/// to requeue its progress check at once, forever: a core spinning. Upstream requeues it
/// rate-limited; so does the simulator now. Measured on its own process, in clock ticks.
#[test]
fn a_deployment_stuck_after_a_cordon_does_not_spin_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("stuck.yaml");
    std::fs::write(
        &scenario,
        r#"
apiVersion: sim.cockpit.dev/v1
kind: Scenario
metadata: {name: stuck}
spec:
  nodes: [{name: node-a, cpu: "4", memory: 8Gi}]
  defaults: {pull: 0s, start: 1s, shutdown: 1s}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "shop/web:1"}]
"#,
    )
    .unwrap();
    let kubeconfig = dir.path().join("kc.json");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["sim", "serve", "--scenario"])
        .arg(&scenario)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(sim.stdout.take().unwrap());
    let mut said = String::new();
    while !said.contains("kubeconfig written") {
        said.clear();
        std::io::BufRead::read_line(&mut out, &mut said).unwrap();
    }
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl").arg("--kubeconfig").arg(&kubeconfig).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let complete = || {
        kubectl(&[
            "get",
            "deploy",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}",
        ])
    };
    while complete() != "NewReplicaSetAvailable" {
        assert!(Instant::now() < deadline, "web never completed");
        std::thread::sleep(Duration::from_millis(200));
    }
    kubectl(&["cordon", "node-a"]);
    kubectl(&["delete", "pod", "-n", "shop", "-l", "app=web", "--wait=false"]);
    // Past the 1 s deadline, with the replacement Pending for good.
    while !kubectl(&["get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].status.phase}"]).contains("Pending") {
        assert!(Instant::now() < deadline, "the replacement never went Pending");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", sim.id())).unwrap();
        let rest: Vec<u64> =
            stat.rsplit_once(')').unwrap().1.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        // utime and stime: stat fields 14 and 15, here 11 and 12 after the state letter.
        rest[10] + rest[11]
    };
    let (before, at) = (ticks(), Instant::now());
    while at.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let used = ticks() - before;
    let _ = sim.kill();
    let _ = sim.wait();
    // A spinning world uses the whole 3 s (about 300 ticks); an idle one a handful.
    assert!(used < 100, "the simulator used {used} clock ticks in 3 s while nothing happened");
}

/// The cockpit's nodes view in a pseudo-terminal, scoped to one namespace: the nodes with
/// their verdicts (judged on the budgets of every namespace), a node's drain preview, then
/// its drain through the popup — dry-run, confirmation, progress, the end — and the node
/// cordoned with its pods gone, as `kubectl` sees it.
#[test]
fn the_nodes_view_previews_and_drains_a_node_with_progress() {
    let cluster = Cluster::start();
    web_on_node_a(&cluster);
    let env = support::pty::isolated_env(cluster.dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let mut pty = support::pty::Pty::spawn(&["--kubeconfig", &kubeconfig, "-n", "shop"], &env, 160, 44);
    pty.wait_until("the services", |s| s.contains("web") && s.contains("live"));
    pty.send(" d");
    pty.wait_until("both nodes with their verdicts", |s| {
        s.contains("Nodes · 2")
            && s.lines().any(|l| l.contains("node-a") && l.contains("drainable"))
            && s.lines().any(|l| l.contains("node-b") && l.contains("Ready"))
    });
    pty.wait_until("node-a's drain preview", |s| {
        s.contains("Drain preview · node-a")
            && s.contains("drain node-a: can complete now")
            && s.lines().filter(|l| l.contains("evict") && l.contains("shop/web-")).count() == 3
            && s.contains("pdb web allows 1 now")
    });
    pty.send("d");
    pty.wait_until("the drain popup", |s| s.contains("Drain node-a") && s.contains("Enter: ask the API server"));
    pty.send("\r");
    pty.wait_until("the server's dry-run answer", |s| s.contains("server dry-run: ok"));
    pty.send("\r");
    pty.wait_within(Duration::from_secs(90), "the drain to its end", |s| s.contains("drained node-a"));
    let screen = pty.screen_text();
    for line in ["cordoned", "evicted shop/web-", "replacements ready: shop/deploy/web"] {
        assert!(screen.contains(line), "{line:?} in:\n{screen}");
    }
    let node: Value = serde_json::from_str(&cluster.kubectl_ok(&["get", "node", "node-a", "-o", "json"])).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true, "node-a stays cordoned");
    cluster.wait_until("node-a empty, web ready on node-b", || {
        cluster.settled() && cluster.movable_on("node-a").is_empty()
    });
    pty.send("\r");
    pty.wait_until("the nodes looked at again", |s| {
        s.lines().any(|l| l.contains("node-a") && l.contains("Ready, cordoned"))
    });
    let audit = std::fs::read_to_string(cluster.dir.path().join("data").join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"outcome\":\"drained\"") && audit.contains("node/node-a"), "{audit}");
}
