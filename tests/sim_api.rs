//! The simulated API server against the real `kubectl` (from PATH) and kube-rs, over
//! real HTTP. Objects are seeded straight into the store (the controllers belong to the
//! world half), then read and changed the way an operator would.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit::sim::resources::resource;
use cockpit::sim::spec::{FaultSpec, RuleSpec, UserSpec};
use cockpit::sim::store::Store;
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);

struct Sim {
    sim: Option<RunningSim>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Sim {
    fn start() -> Self {
        Sim::start_with(SimOptions::default())
    }

    fn start_with(mut opts: SimOptions) -> Self {
        opts.api_only = true;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start(opts)).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let s = Sim { sim: Some(sim), rt, dir, kubeconfig };
        s.namespace("prod");
        s
    }

    fn sim(&self) -> &RunningSim {
        self.sim.as_ref().unwrap()
    }

    fn store(&self) -> Arc<Store> {
        self.sim().store()
    }

    fn command(&self, kubeconfig: &std::path::Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig").arg(kubeconfig).arg("--cache-dir").arg(self.dir.path().join("cache"));
        cmd.args(args);
        cmd
    }

    fn kubectl_as(&self, kubeconfig: &std::path::Path, args: &[&str]) -> Output {
        self.command(kubeconfig, args).output().expect("kubectl runs")
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as(&self.kubeconfig, args)
    }

    /// Runs kubectl, expects success, returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, expects failure, returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn spawn(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child =
            self.command(&self.kubeconfig, args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }

    fn create(&self, plural: &str, obj: Value) -> Value {
        (*self.store().create(resource(plural).unwrap(), obj).unwrap()).clone()
    }

    fn get(&self, plural: &str, ns: &str, name: &str) -> Value {
        (*self.store().get(resource(plural).unwrap(), ns, name).unwrap()).clone()
    }

    fn modify(&self, plural: &str, ns: &str, name: &str, change: impl FnMut(&mut Value)) {
        self.store().modify_with(resource(plural).unwrap(), ns, name, change).unwrap();
    }

    fn namespace(&self, name: &str) {
        self.create("namespaces", json!({"metadata": {"name": name}, "status": {"phase": "Active"}}));
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn metrics(&self) -> Value {
        self.sim().metrics()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
}

/// Waits for a line matching `pred` from a child's output.
fn wait_line(rx: &mpsc::Receiver<String>, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let until = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no line {what} within {DEADLINE:?}; saw {seen:#?}");
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn ago(secs: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs)).round(jiff::Unit::Second).unwrap().to_string()
}

fn template(app: &str, images: &[(&str, &str)]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|(name, image)| json!({"name": name, "image": image, "env": [{"name": "POOL", "value": "5"}]}))
        .collect();
    json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": containers}})
}

fn deployment(ns: &str, name: &str, replicas: i64, status: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}, "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": template(name, &[("app", &format!("{name}:2")), ("proxy", "envoy:1")])},
        "status": status,
    })
}

fn running_pod(ns: &str, name: &str, app: &str, containers: &[&str]) -> Value {
    let specs: Vec<Value> = containers.iter().map(|c| json!({"name": c, "image": format!("{c}:1")})).collect();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "ready": true, "restartCount": 0, "image": format!("{c}:1"), "imageID": "", "state": {"running": {"startedAt": ago(60)}}}))
        .collect();
    json!({
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"nodeName": "node-1", "containers": specs},
        "status": {"phase": "Running", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}], "containerStatuses": statuses,
                   "conditions": [{"type": "Ready", "status": "True"}]},
    })
}

/// A deployment with two owned ReplicaSets (revisions 1 and 2), a PDB, an HPA, a
/// statefulset and pods, as the world's controllers would leave them.
fn seed_workloads(s: &Sim) {
    let d = s.create(
        "deployments",
        deployment(
            "prod",
            "api",
            3,
            json!({"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}),
        ),
    );
    let uid = d["metadata"]["uid"].as_str().unwrap().to_string();
    for (rev, image, replicas) in [("1", "api:1", 0), ("2", "api:2", 3)] {
        let hash = format!("hash{rev}");
        let mut tpl = template("api", &[("app", image), ("proxy", "envoy:1")]);
        tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        s.create(
            "replicasets",
            json!({
                "metadata": {"name": format!("api-{hash}"), "namespace": "prod",
                    "labels": {"app": "api", "pod-template-hash": hash},
                    "annotations": {"deployment.kubernetes.io/revision": rev},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": uid, "controller": true}]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api", "pod-template-hash": hash}}, "template": tpl},
                "status": {"replicas": replicas, "readyReplicas": replicas.min(2)},
            }),
        );
    }
    s.create(
        "statefulsets",
        json!({"metadata": {"name": "redis", "namespace": "prod"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "redis"}}, "template": template("redis", &[("redis", "redis:7")])},
               "status": {"replicas": 1, "readyReplicas": 1}}),
    );
    s.create(
        "poddisruptionbudgets",
        json!({"metadata": {"name": "api", "namespace": "prod"},
               "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "api"}}},
               "status": {"currentHealthy": 2, "desiredHealthy": 2, "disruptionsAllowed": 0, "expectedPods": 3}}),
    );
    s.create(
        "horizontalpodautoscalers",
        json!({"metadata": {"name": "api", "namespace": "prod"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}, "minReplicas": 2, "maxReplicas": 10,
                        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
               "status": {"currentReplicas": 3, "desiredReplicas": 3,
                          "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 42}}}]}}),
    );
    s.create("pods", running_pod("prod", "api-hash2-aaaaa", "api", &["app", "proxy"]));
    let mut crashing = running_pod("prod", "api-hash2-bbbbb", "api", &["app", "proxy"]);
    crashing["status"]["containerStatuses"][0] = json!({"name": "app", "ready": false, "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(150)}}});
    s.create("pods", crashing);
    s.create("pods", running_pod("prod", "redis-0", "redis", &["redis"]));
}

fn lines_with<'a>(out: &'a str, needle: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.contains(needle)).collect()
}

fn columns(line: &str) -> Vec<&str> {
    line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect()
}

#[test]
fn get_workloads_across_namespaces_prints_server_side_tables() {
    let s = Sim::start();
    seed_workloads(&s);
    let out = s.ok(&["get", "deploy,sts,rs,pods,pdb,hpa", "-A"]);
    let header = |needle: &str| {
        let line =
            out.lines().find(|l| l.starts_with("NAMESPACE") && l.contains(needle)).unwrap_or_else(|| panic!("{out}"));
        columns(line)
    };
    assert_eq!(header("UP-TO-DATE"), ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(header("DESIRED"), ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "AGE"]);
    assert_eq!(header("RESTARTS"), ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(
        header("MIN AVAILABLE"),
        ["NAMESPACE", "NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]
    );
    assert_eq!(
        header("REFERENCE"),
        ["NAMESPACE", "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    );

    let deploy = columns(lines_with(&out, "deployment.apps/api")[0]);
    assert_eq!(deploy[..5], ["prod", "deployment.apps/api", "2/3", "3", "2"]);
    let sts = columns(lines_with(&out, "statefulset.apps/redis")[0]);
    assert_eq!(sts[..3], ["prod", "statefulset.apps/redis", "1/1"]);
    let rs = columns(lines_with(&out, "replicaset.apps/api-hash1")[0]);
    assert_eq!(rs[..5], ["prod", "replicaset.apps/api-hash1", "0", "0", "0"]);
    let crashing = columns(lines_with(&out, "pod/api-hash2-bbbbb")[0]);
    assert_eq!(crashing[..4], ["prod", "pod/api-hash2-bbbbb", "1/2", "CrashLoopBackOff"]);
    // The last restart was 150 s before seeding; the age ticks while kubectl runs.
    assert!(crashing[4].starts_with("4 (2m") && crashing[4].ends_with("s ago)"), "{crashing:?}");
    let hpa = columns(lines_with(&out, "horizontalpodautoscaler.autoscaling/api")[0]);
    assert_eq!(hpa[2..7], ["Deployment/api", "cpu: 42%/70%", "2", "10", "3"]);

    let wide = s.ok(&["get", "pods", "-n", "prod", "-o", "wide"]);
    let header = columns(wide.lines().next().unwrap());
    assert_eq!(header[5..], ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
    assert_eq!(columns(lines_with(&wide, "redis-0")[0])[5..7], ["10.0.0.7", "node-1"]);
    let wide = s.ok(&["get", "deploy", "-n", "prod", "-o", "wide"]);
    assert_eq!(columns(lines_with(&wide, "api")[0])[5..], ["app,proxy", "api:2,envoy:1", "app=api"]);
}

#[test]
fn pdb_allowed_disruptions_come_from_status() {
    let s = Sim::start();
    seed_workloads(&s);
    let before = s.ok(&["get", "pdb", "api", "-n", "prod", "--no-headers"]);
    assert_eq!(columns(&before)[..4], ["api", "2", "N/A", "0"]);
    s.modify("poddisruptionbudgets", "prod", "api", |p| p["status"]["disruptionsAllowed"] = json!(1));
    let after = s.ok(&["get", "pdb", "api", "-n", "prod", "--no-headers"]);
    assert_eq!(columns(&after)[3], "1");
}

#[test]
fn get_pods_watch_sees_a_change_made_in_the_store() {
    let s = Sim::start();
    s.create("pods", running_pod("prod", "web-1", "web", &["app"]));
    let (mut child, rx) = s.spawn(&["get", "pods", "-n", "prod", "--watch"]);
    wait_line(&rx, "with the initial pod", |l| l.starts_with("web-1") && l.contains("Running"));
    s.modify("pods", "prod", "web-1", |p| {
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        p["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
    });
    wait_line(&rx, "with the pod crash-looping", |l| l.starts_with("web-1") && l.contains("CrashLoopBackOff"));
    s.create("pods", running_pod("prod", "web-2", "web", &["app"]));
    wait_line(&rx, "with the new pod", |l| l.starts_with("web-2"));
    wait_for("the watch to be counted open", || s.metrics()["watches_open"] == 1);
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for("the watch to end when kubectl goes away", || s.metrics()["watches_open"] == 0);
}

#[test]
fn describe_pod_shows_spec_status_and_its_events() {
    let s = Sim::start();
    seed_workloads(&s);
    let pod = s.get("pods", "prod", "api-hash2-bbbbb");
    s.create(
        "events",
        json!({"metadata": {"name": "api-hash2-bbbbb.1", "namespace": "prod"},
               "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "api-hash2-bbbbb", "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
               "reason": "BackOff", "message": "Back-off restarting failed container app", "type": "Warning", "count": 7,
               "firstTimestamp": ago(600), "lastTimestamp": ago(20), "source": {"component": "kubelet"}}),
    );
    s.create(
        "events",
        json!({"metadata": {"name": "other.1", "namespace": "prod"},
               "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "redis-0", "apiVersion": "v1"},
               "reason": "Pulled", "message": "not about this pod", "type": "Normal"}),
    );
    let out = s.ok(&["describe", "pod", "api-hash2-bbbbb", "-n", "prod"]);
    assert!(
        out.contains("Name:             api-hash2-bbbbb") || out.contains("Name:         api-hash2-bbbbb"),
        "{out}"
    );
    assert!(out.contains("node-1"), "{out}");
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    assert!(out.contains("Restart Count:  4"), "{out}");
    assert!(out.contains("Back-off restarting failed container app"), "{out}");
    assert!(!out.contains("not about this pod"), "events are filtered by involvedObject: {out}");
    let events = s.ok(&["get", "events", "-n", "prod"]);
    assert!(events.contains("pod/api-hash2-bbbbb") && events.contains("BackOff"), "{events}");
}

#[test]
fn logs_tail_since_container_previous_and_follow() {
    let s = Sim::start();
    s.create("pods", running_pod("prod", "web-1", "web", &["app", "proxy"]));
    let logs = s.sim().logs();
    let now = jiff::Timestamp::now();
    logs.append("prod", "web-1", "app", now - jiff::SignedDuration::from_secs(600), "old line");
    logs.append("prod", "web-1", "app", now - jiff::SignedDuration::from_secs(5), "recent line 1");
    logs.append("prod", "web-1", "app", now, "recent line 2");
    logs.append("prod", "web-1", "proxy", now, "proxy says hi");

    assert_eq!(s.ok(&["logs", "web-1", "-n", "prod", "-c", "app"]), "old line\nrecent line 1\nrecent line 2\n");
    assert_eq!(s.ok(&["logs", "web-1", "-n", "prod", "-c", "proxy"]), "proxy says hi\n");
    assert_eq!(s.ok(&["logs", "web-1", "-n", "prod", "-c", "app", "--tail=1"]), "recent line 2\n");
    assert_eq!(s.ok(&["logs", "web-1", "-n", "prod", "-c", "app", "--since=1m"]), "recent line 1\nrecent line 2\n");
    let stamped = s.ok(&["logs", "web-1", "-n", "prod", "-c", "app", "--tail=1", "--timestamps"]);
    assert!(stamped.starts_with(&now.to_string()[..19]) && stamped.ends_with(" recent line 2\n"), "{stamped}");
    let err = s.fails(&["get", "--raw", "/api/v1/namespaces/prod/pods/web-1/log"]);
    assert!(err.contains("a container name must be specified for pod web-1, choose one of: [app proxy]"), "{err}");
    let err = s.fails(&["logs", "web-1", "-n", "prod", "-c", "nope"]);
    assert!(err.contains("container nope is not valid for pod web-1"), "{err}");

    let (mut follow, rx) = s.spawn(&["logs", "-f", "web-1", "-n", "prod", "-c", "app", "--tail=1"]);
    wait_line(&rx, "from the backlog", |l| l == "recent line 2");
    logs.append("prod", "web-1", "app", jiff::Timestamp::now(), "streamed line");
    wait_line(&rx, "streamed after the follow started", |l| l == "streamed line");

    // A restart ends the follow and makes the old run the previous log.
    logs.restart_container("prod", "web-1", "app");
    s.modify("pods", "prod", "web-1", |p| p["status"]["containerStatuses"][0]["restartCount"] = json!(1));
    wait_for("the follow to end on restart", || follow.try_wait().unwrap().is_some());
    let previous = s.ok(&["logs", "web-1", "-n", "prod", "-c", "app", "--previous"]);
    assert!(previous.ends_with("recent line 2\nstreamed line\n"), "{previous}");
    let err = s.fails(&["logs", "web-1", "-n", "prod", "-c", "proxy", "--previous"]);
    assert!(err.contains("previous terminated container \"proxy\" in pod \"web-1\" not found"), "{err}");
}

#[test]
fn scale_goes_through_the_scale_subresource_and_dry_run_changes_nothing() {
    let s = Sim::start();
    seed_workloads(&s);
    let rv_before = s.get("deployments", "prod", "api")["metadata"]["resourceVersion"].clone();
    let out = s.ok(&["scale", "deploy", "api", "-n", "prod", "--replicas=7", "--dry-run=server"]);
    assert!(out.contains("scaled (server dry run)"), "{out}");
    let d = s.get("deployments", "prod", "api");
    assert_eq!((d["spec"]["replicas"].clone(), d["metadata"]["resourceVersion"].clone()), (json!(3), rv_before));

    s.ok(&["scale", "deploy", "api", "-n", "prod", "--replicas=5"]);
    assert_eq!(s.get("deployments", "prod", "api")["spec"]["replicas"], 5);
    s.ok(&["scale", "sts", "redis", "-n", "prod", "--replicas=3"]);
    assert_eq!(s.get("statefulsets", "prod", "redis")["spec"]["replicas"], 3);
    let scale = s.ok(&["get", "--raw", "/apis/apps/v1/namespaces/prod/deployments/api/scale"]);
    let scale: Value = serde_json::from_str(&scale).unwrap();
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(5)));
    assert_eq!(scale["status"]["selector"], "app=api");

    let err = s.fails(&[
        "patch",
        "deploy",
        "api",
        "-n",
        "prod",
        "--subresource=scale",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":-1}}"#,
    ]);
    assert!(err.contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"), "{err}");
    assert_eq!(s.get("deployments", "prod", "api")["spec"]["replicas"], 5);
}

#[test]
fn set_image_changes_only_that_container() {
    let s = Sim::start();
    seed_workloads(&s);
    s.ok(&["set", "image", "deploy/api", "-n", "prod", "app=api:3"]);
    let containers = s.get("deployments", "prod", "api")["spec"]["template"]["spec"]["containers"].clone();
    assert_eq!(containers[0]["image"], "api:3");
    assert_eq!(containers[0]["env"], json!([{"name": "POOL", "value": "5"}]), "other fields of the container stay");
    assert_eq!(containers[1], json!({"name": "proxy", "image": "envoy:1", "env": [{"name": "POOL", "value": "5"}]}));
    assert_eq!(s.get("deployments", "prod", "api")["metadata"]["generation"], 2);
}

#[test]
fn rollout_pause_resume_restart_undo_and_history() {
    let s = Sim::start();
    seed_workloads(&s);
    s.ok(&["rollout", "pause", "deploy/api", "-n", "prod"]);
    assert_eq!(s.get("deployments", "prod", "api")["spec"]["paused"], true);
    s.ok(&["rollout", "resume", "deploy/api", "-n", "prod"]);
    assert_ne!(s.get("deployments", "prod", "api")["spec"]["paused"], true);
    s.ok(&["rollout", "restart", "deploy/api", "-n", "prod"]);
    let restarted = s.get("deployments", "prod", "api")["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].clone();
    assert!(restarted.as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{restarted}");

    let history = s.ok(&["rollout", "history", "deploy/api", "-n", "prod"]);
    let revisions: Vec<&str> =
        history.lines().filter_map(|l| l.split_whitespace().next()).filter(|w| w.parse::<u32>().is_ok()).collect();
    assert_eq!(revisions, ["1", "2"], "{history}");

    let out = s.ok(&["rollout", "undo", "deploy/api", "-n", "prod"]);
    assert!(out.contains("rolled back"), "{out}");
    let d = s.get("deployments", "prod", "api");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "api:1");
    assert!(d["spec"]["template"]["metadata"]["labels"].get("pod-template-hash").is_none());
}

fn users() -> Vec<UserSpec> {
    let rule = |verbs: &[&str], resources: &[&str], namespaces: &[&str]| RuleSpec {
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        resources: resources.iter().map(|s| s.to_string()).collect(),
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        UserSpec {
            name: "viewer".into(),
            token: "viewer-token".into(),
            groups: vec![],
            rules: vec![rule(&["get", "list", "watch"], &["*"], &[])],
        },
        UserSpec {
            name: "deployer".into(),
            token: "deployer-token".into(),
            groups: vec![],
            rules: vec![
                rule(&["get", "list", "watch", "patch"], &["deployments", "deployments/scale"], &["prod"]),
                rule(&["get", "list"], &["pods", "pods/log"], &["prod"]),
            ],
        },
    ]
}

#[test]
fn auth_can_i_agrees_with_enforcement() {
    let s = Sim::start_with(SimOptions { extra_users: users(), ..Default::default() });
    seed_workloads(&s);
    let path = |user: &str| {
        let p = s.dir.path().join(format!("{user}.json"));
        cockpit::sim::kubeconfig::write(&p, &s.sim().kubeconfig_for_user(user).unwrap()).unwrap();
        p
    };
    let (viewer, deployer) = (path("viewer"), path("deployer"));
    let can = |kc: &PathBuf, args: &[&str]| {
        let mut full = vec!["auth", "can-i"];
        full.extend_from_slice(args);
        String::from_utf8(s.kubectl_as(kc, &full).stdout).unwrap().trim().to_string()
    };
    assert_eq!(can(&viewer, &["list", "pods", "-A"]), "yes");
    assert_eq!(can(&viewer, &["delete", "pods", "-n", "prod"]), "no");
    assert_eq!(can(&deployer, &["patch", "deployments/scale", "-n", "prod"]), "yes");
    assert_eq!(can(&deployer, &["patch", "deployments/scale", "-n", "dev"]), "no");
    assert_eq!(can(&deployer, &["list", "pods", "-A"]), "no");
    assert_eq!(can(&s.kubeconfig, &["delete", "nodes"]), "yes", "the admin kubeconfig can do anything");
    assert_eq!(can(&s.kubeconfig, &["delete", "pods", "-n", "prod", "--as=viewer"]), "no", "impersonation");

    // What can-i said is what happens.
    let deny = String::from_utf8(s.kubectl_as(&viewer, &["delete", "pod", "redis-0", "-n", "prod"]).stderr).unwrap();
    assert!(deny.contains(r#"pods "redis-0" is forbidden: User "viewer" cannot delete resource "pods" in API group "" in the namespace "prod""#), "{deny}");
    let deny = String::from_utf8(s.kubectl_as(&deployer, &["get", "pods", "-A"]).stderr).unwrap();
    assert!(
        deny.contains(
            r#"pods is forbidden: User "deployer" cannot list resource "pods" in API group "" at the cluster scope"#
        ),
        "{deny}"
    );
    let out = s.kubectl_as(&deployer, &["scale", "deploy", "api", "-n", "prod", "--replicas=4"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(s.kubectl_as(&viewer, &["get", "pods", "-n", "prod"]).status.success());
    let as_viewer = s.kubectl(&["delete", "pod", "redis-0", "-n", "prod", "--as=viewer"]);
    assert!(String::from_utf8_lossy(&as_viewer.stderr).contains(r#"User "viewer" cannot delete"#));

    // A forbid fault is enforced and reported by can-i alike.
    s.sim().faults().inject(FaultSpec::Forbid { user: "viewer".into(), verb: "list".into(), resource: "pods".into() });
    assert_eq!(can(&viewer, &["list", "pods", "-n", "prod"]), "no");
    assert!(!s.kubectl_as(&viewer, &["get", "pods", "-n", "prod"]).status.success());

    // Over https, so that kubectl really sends the wrong token.
    let bad = s.dir.path().join("bad.json");
    let wrong = cockpit::sim::kubeconfig::tls_kubeconfig(&s.sim().https_url(), s.sim().ca_pem(), "wrong");
    cockpit::sim::kubeconfig::write(&bad, &wrong).unwrap();
    let err = String::from_utf8(s.kubectl_as(&bad, &["get", "pods"]).stderr).unwrap();
    assert!(err.contains("Unauthorized") || err.contains("must be logged in"), "{err}");
}

#[test]
fn kubectl_verifies_the_simulators_certificate() {
    let s = Sim::start();
    let server = std::fs::read_to_string(&s.kubeconfig).unwrap();
    assert!(server.contains(&s.sim().https_url()), "the admin kubeconfig is https: {server}");
    assert!(s.ok(&["get", "namespaces", "-o", "name"]).contains("namespace/prod"));

    let stranger = cockpit::sim::tls::generate().unwrap().ca_pem;
    let path = s.dir.path().join("other-ca.json");
    let config = cockpit::sim::kubeconfig::tls_kubeconfig(&s.sim().https_url(), &stranger, "any");
    cockpit::sim::kubeconfig::write(&path, &config).unwrap();
    let out = s.kubectl_as(&path, &["get", "namespaces"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("x509: certificate signed by unknown authority"), "{err}");
}

#[test]
fn plain_http_is_served_on_the_same_port() {
    let s = Sim::start();
    let path = s.dir.path().join("plain.json");
    let plain = cockpit::sim::kubeconfig::kubeconfig(&s.sim().url(), "unused");
    cockpit::sim::kubeconfig::write(&path, &plain).unwrap();
    let out = s.kubectl_as(&path, &["get", "namespaces", "-o", "name"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/prod"));
    assert!(s.ok(&["get", "namespaces", "-o", "name"]).contains("namespace/prod"), "and https alike");
}

#[test]
fn stale_update_conflicts() {
    let s = Sim::start();
    seed_workloads(&s);
    let stale = s.ok(&["get", "deploy", "api", "-n", "prod", "-o", "json"]);
    s.modify("deployments", "prod", "api", |d| d["spec"]["replicas"] = json!(4));
    let mut edited: Value = serde_json::from_str(&stale).unwrap();
    edited["spec"]["replicas"] = json!(9);
    let file = s.file("stale.json", &edited.to_string());
    let err = s.fails(&["replace", "-f", &file]);
    assert!(
        err.contains(r#"Operation cannot be fulfilled on deployments.apps "api": the object has been modified"#),
        "{err}"
    );
    assert_eq!(s.get("deployments", "prod", "api")["spec"]["replicas"], 4);
}

#[test]
fn create_generate_name_selectors_chunking_and_dry_run() {
    let s = Sim::start();
    seed_workloads(&s);
    let cm = s.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: settings-\n  namespace: prod\ndata:\n  a: \"1\"\n  b: \"2\"\n");
    let dry = s.ok(&["create", "-f", &cm, "--dry-run=server", "-o", "name"]);
    assert!(dry.starts_with("configmap/settings-"), "{dry}");
    assert_eq!(s.store().list(resource("configmaps").unwrap(), Some("prod")).0.len(), 0, "dry run stores nothing");
    let created = s.ok(&["create", "-f", &cm, "-o", "name"]);
    let name = created.trim().trim_start_matches("configmap/");
    assert_eq!(name.len(), "settings-".len() + 5);
    let out = s.ok(&["get", "cm", "-n", "prod", "--no-headers"]);
    assert_eq!(columns(&out)[..2], [name, "2"]);

    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["get", "pods", "-n", "prod", "-o", "name"];
        full.extend_from_slice(args);
        s.ok(&full).lines().map(String::from).collect()
    };
    assert_eq!(names(&["-l", "app in (redis)"]), ["pod/redis-0"]);
    assert_eq!(names(&["-l", "app!=redis"]), ["pod/api-hash2-aaaaa", "pod/api-hash2-bbbbb"]);
    assert_eq!(names(&["-l", "!app"]), Vec::<String>::new());
    assert_eq!(names(&["--field-selector", "metadata.name=redis-0"]), ["pod/redis-0"]);
    assert_eq!(names(&["--field-selector", "spec.nodeName=node-1,status.phase!=Pending"]).len(), 3);
    assert_eq!(names(&["--chunk-size=1"]).len(), 3, "kubectl follows continue tokens");
    let err = s.fails(&["get", "pods", "-n", "prod", "--field-selector", "spec.bogus=x"]);
    assert!(err.contains("field label not supported: spec.bogus"), "{err}");

    let secret = s.file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\ntype: Opaque\nstringData:\n  password: hunter2\n");
    s.ok(&["create", "-f", &secret]);
    let out = s.ok(&["get", "secrets", "-n", "prod"]);
    assert_eq!(columns(out.lines().next().unwrap()), ["NAME", "TYPE", "DATA", "AGE"]);
    assert!(!out.contains("hunter2"));

    let bad = s.file("bad.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\n  namespace: prod\nspec:\n  replicas: -2\n  selector: {matchLabels: {app: bad}}\n  template:\n    metadata: {labels: {app: bad}}\n    spec: {containers: [{name: c, image: i}]}\n");
    let err = s.fails(&["create", "-f", &bad]);
    // kubectl rewrites the API's `Deployment.apps "bad" is invalid` into this form.
    assert!(err.contains(r#"The Deployment "bad" is invalid: spec.replicas: Invalid value: -2"#), "{err}");
}

#[test]
fn raw_watch_protocol_bookmarks_timeout_and_expiry() {
    let s = Sim::start_with(SimOptions { bookmark_interval: Some(Duration::from_millis(300)), ..Default::default() });
    s.create("pods", running_pod("prod", "web-1", "web", &["app"]));
    let out = s.ok(&["get", "--raw", "/api/v1/namespaces/prod/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=1"]);
    let events: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "web-1");
    assert_eq!(events[1]["type"], "BOOKMARK", "a bookmark right after the initial events");
    assert!(events.iter().skip(2).all(|e| e["type"] == "BOOKMARK"));
    assert!(events.len() >= 3, "periodic bookmarks before the timeout ended the stream: {out}");

    let initial = s.ok(&["get", "--raw", "/api/v1/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"]);
    let marker: Value = serde_json::from_str(initial.lines().nth(1).unwrap()).unwrap();
    assert_eq!(marker["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");

    let rv = s.store().current_rv();
    s.modify("pods", "prod", "web-1", |p| p["metadata"]["labels"]["v"] = json!("2"));
    let resumed =
        s.ok(&["get", "--raw", &format!("/api/v1/namespaces/prod/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1")]);
    let first: Value = serde_json::from_str(resumed.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["type"].as_str(), first["object"]["metadata"]["labels"]["v"].as_str()),
        (Some("MODIFIED"), Some("2"))
    );

    // A filtered watch resumed from a version before the pod left the selection replays
    // that change as DELETED (the server compares the object before and after).
    let before_leaving = s.store().current_rv();
    s.modify("pods", "prod", "web-1", |p| p["metadata"]["labels"]["v"] = json!("3"));
    let filtered = format!(
        "/api/v1/namespaces/prod/pods?watch=1&resourceVersion={before_leaving}&labelSelector=v%3D2&timeoutSeconds=1"
    );
    let replayed = s.ok(&["get", "--raw", &filtered]);
    let first: Value = serde_json::from_str(replayed.lines().next().unwrap_or("{}")).unwrap();
    assert_eq!(first["type"], "DELETED", "{replayed}");

    s.sim().faults().inject(FaultSpec::ExpireVersions);
    let expired = s.ok(&["get", "--raw", &format!("/api/v1/pods?watch=1&resourceVersion={rv}")]);
    let error: Value = serde_json::from_str(expired.trim()).unwrap();
    assert_eq!((error["type"].as_str(), error["object"]["code"].as_i64()), (Some("ERROR"), Some(410)));
    assert_eq!(error["object"]["reason"], "Expired");
}

#[test]
fn admin_endpoint_injects_faults_and_reports_metrics() {
    let s = Sim::start();
    let fault = s.file("fault.json", r#"{"fault":"fail_next","count":2,"code":503}"#);
    s.ok(&["create", "--raw", "/sim/faults", "-f", &fault]);
    let armed = s.ok(&["get", "--raw", "/sim/faults"]);
    assert_eq!(serde_json::from_str::<Value>(&armed).unwrap()["fail_next"], json!({"count": 2, "code": 503}));
    let bad = s.file("bad.json", r#"{"fault":"boom"}"#);
    let err = s.fails(&["create", "--raw", "/sim/faults", "-f", &bad]);
    assert!(err.contains("unknown fault"), "{err}");

    let reset = s.file("empty.json", "{}");
    s.ok(&["create", "--raw", "/sim/metrics/reset", "-f", &reset]);
    // kubectl retries 503s on GET; the two injected failures are used up either way.
    let _ = s.kubectl(&["get", "pods", "-n", "prod"]);
    s.ok(&["get", "pods", "-n", "prod"]);
    let metrics: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/sim/metrics"])).unwrap();
    let pod_lists =
        metrics["by"].as_array().unwrap().iter().find(|b| b["verb"] == "list" && b["resource"] == "pods").cloned();
    assert!(pod_lists.as_ref().is_some_and(|b| b["count"].as_u64().unwrap() >= 2), "{metrics}");
    let after: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/sim/faults"])).unwrap();
    assert!(after.get("fail_next").is_none_or(Value::is_null), "the injected failures were used up: {after}");
}

// ---- kube-rs watchers under faults ----

mod watcher_faults {
    use super::*;
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::WatchStreamExt;
    use kube::runtime::watcher::{self, Event};
    use tokio::sync::mpsc as tmpsc;

    /// What the watcher reported: `init` for a (re)list, or the name of an applied pod.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Init,
        Applied(String),
    }

    fn start_watcher(s: &Sim, config: watcher::Config) -> tmpsc::UnboundedReceiver<Seen> {
        let kubeconfig = s.sim().kubeconfig();
        let (tx, rx) = tmpsc::unbounded_channel();
        s.rt.spawn(async move {
            let options = kube::config::KubeConfigOptions::default();
            let mut config_ = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.unwrap();
            // As the cockpit does: no hidden client retries, so the watcher's own backoff
            // (what these tests measure) sees every failure.
            config_.default_retry = false;
            let client = kube::Client::try_from(config_).unwrap();
            let api: kube::Api<Pod> = kube::Api::all(client);
            let mut events = watcher::watcher(api, config).default_backoff().boxed();
            while let Some(event) = events.next().await {
                let seen = match event {
                    Ok(Event::Init) => Seen::Init,
                    Ok(Event::Apply(p) | Event::InitApply(p)) => Seen::Applied(p.metadata.name.unwrap_or_default()),
                    _ => continue,
                };
                if tx.send(seen).is_err() {
                    return;
                }
            }
        });
        rx
    }

    fn expect(s: &Sim, rx: &mut tmpsc::UnboundedReceiver<Seen>, want: Seen) {
        expect_within(s, rx, want, DEADLINE)
    }

    fn expect_within(s: &Sim, rx: &mut tmpsc::UnboundedReceiver<Seen>, want: Seen, limit: Duration) {
        s.rt.block_on(async {
            let found = tokio::time::timeout(limit, async {
                while let Some(seen) = rx.recv().await {
                    if seen == want {
                        return true;
                    }
                }
                false
            })
            .await;
            assert_eq!(found, Ok(true), "the watcher never reported {want:?}");
        });
    }

    fn add_pod(s: &Sim, name: &str) {
        s.create("pods", running_pod("prod", name, "web", &["app"]));
    }

    fn synced(s: &Sim) -> tmpsc::UnboundedReceiver<Seen> {
        add_pod(s, "first");
        let mut rx = start_watcher(s, watcher::Config::default());
        expect(s, &mut rx, Seen::Applied("first".into()));
        wait_for("the watch to open", || s.metrics()["watches_open"] == 1);
        rx
    }

    #[test]
    fn expired_versions_and_dropped_watches_make_it_relist_and_continue() {
        let s = Sim::start();
        let mut rx = synced(&s);
        add_pod(&s, "before-expiry");
        expect(&s, &mut rx, Seen::Applied("before-expiry".into()));
        s.sim().faults().inject(FaultSpec::ExpireVersions);
        s.sim().faults().inject(FaultSpec::DropWatches);
        expect(&s, &mut rx, Seen::Init);
        add_pod(&s, "after-relist");
        expect(&s, &mut rx, Seen::Applied("after-relist".into()));
    }

    #[test]
    fn a_burst_of_503s_is_retried_with_backoff() {
        let s = Sim::start();
        let mut rx = synced(&s);
        // A retry is a watch from the last version or, when the watcher chooses to, a relist:
        // count both, since the five failures may land on either.
        let watches = |s: &Sim| {
            s.metrics()["by"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["verb"] == "watch" || b["verb"] == "list")
                .map(|b| b["count"].as_u64().unwrap())
                .sum::<u64>()
        };
        let before = watches(&s);
        s.sim().faults().inject(FaultSpec::FailNext { count: 5, code: 503 });
        s.sim().faults().inject(FaultSpec::DropWatches);
        // Only the watcher talks to this server: every 503 is one of its attempts. Five of
        // them under exponential backoff take tens of seconds on a quiet machine.
        let limit = Instant::now() + Duration::from_secs(90);
        while watches(&s) < before + 5 {
            assert!(Instant::now() < limit, "the watcher stopped retrying: {before} then {}", watches(&s));
            std::thread::sleep(Duration::from_millis(100));
        }
        add_pod(&s, "after-503s");
        expect_within(&s, &mut rx, Seen::Applied("after-503s".into()), Duration::from_secs(90));
        let after = watches(&s);
        assert!(after >= before + 6, "five failed attempts, then one that worked: {before} then {after}");
    }

    #[test]
    fn a_listener_restart_is_survived() {
        let s = Sim::start();
        let mut rx = synced(&s);
        s.sim().faults().inject(FaultSpec::RestartListener);
        wait_for("the old watch to close", || s.metrics()["watches_open"] == 0);
        add_pod(&s, "after-restart");
        expect(&s, &mut rx, Seen::Applied("after-restart".into()));
        assert!(
            s.ok(&["get", "pods", "-n", "prod", "-o", "name"]).contains("pod/after-restart"),
            "kubectl reconnects too"
        );
    }

    #[test]
    fn latency_and_a_hang_only_slow_it_down() {
        let s = Sim::start();
        let mut rx = synced(&s);
        s.sim().faults().inject(FaultSpec::Latency { duration: Duration::from_millis(200) });
        s.sim().faults().inject(FaultSpec::Hang { count: 1, duration: Duration::from_secs(2) });
        s.sim().faults().inject(FaultSpec::DropWatches);
        add_pod(&s, "while-slow");
        expect(&s, &mut rx, Seen::Applied("while-slow".into()));
        s.sim().faults().inject(FaultSpec::Clear);
        add_pod(&s, "after-clear");
        expect(&s, &mut rx, Seen::Applied("after-clear".into()));
    }

    #[test]
    fn streaming_lists_get_initial_events_and_the_end_marker() {
        let s = Sim::start();
        add_pod(&s, "first");
        let mut rx = start_watcher(&s, watcher::Config::default().streaming_lists());
        expect(&s, &mut rx, Seen::Applied("first".into()));
        add_pod(&s, "second");
        expect(&s, &mut rx, Seen::Applied("second".into()));
    }
}

/// The managedFields entry of one manager and operation, if any.
fn managed_entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"].as_array()?.iter().find(|e| e["manager"] == manager && e["operation"] == operation)
}

#[test]
fn managed_fields_follow_server_side_apply_scale_and_conflicts() {
    let s = Sim::start();
    let manifest = |replicas: i64| {
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {{app: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: app, image: "web:1"}}]
"#
        )
    };
    let file = s.file("web.yaml", &manifest(2));
    s.ok(&["apply", "--server-side", "--field-manager=flux", "-f", &file]);
    let get = || -> Value {
        serde_json::from_str(&s.ok(&["get", "deploy", "web", "-n", "prod", "-o", "json", "--show-managed-fields"]))
            .unwrap()
    };
    let d = get();
    let flux = managed_entry(&d, "flux", "Apply").unwrap_or_else(|| panic!("no flux Apply entry: {d:#}"));
    assert_eq!(flux["apiVersion"], "apps/v1");
    assert_eq!(flux["fieldsType"], "FieldsV1");
    assert!(flux["time"].as_str().is_some());
    assert_eq!(flux["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    assert_eq!(flux["fieldsV1"]["f:metadata"]["f:labels"]["f:app"], json!({}));
    assert!(flux["fieldsV1"]["f:spec"]["f:template"].is_object());
    assert!(flux.get("subresource").is_none());
    // Without --show-managed-fields kubectl hides them, as for a real server.
    let plain = s.ok(&["get", "deploy", "web", "-n", "prod", "-o", "yaml"]);
    assert!(!plain.contains("managedFields"), "{plain}");

    // kubectl scale writes /scale: replicas move to kubectl's Update entry.
    s.ok(&["scale", "deploy", "web", "-n", "prod", "--replicas=5"]);
    let d = get();
    let scaler = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "Update" && e["subresource"] == "scale")
        .unwrap_or_else(|| panic!("no scale entry: {d:#}"));
    assert!(scaler["manager"].as_str().unwrap().starts_with("kubectl"), "{scaler:#}");
    assert_eq!(scaler["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    let flux = managed_entry(&d, "flux", "Apply").unwrap();
    assert!(flux["fieldsV1"]["f:spec"].get("f:replicas").is_none(), "{flux:#}");
    assert!(flux["fieldsV1"]["f:spec"]["f:template"].is_object());

    // Re-applying replicas 2 now conflicts with the scaler, until forced.
    let err = s.fails(&["apply", "--server-side", "--field-manager=flux", "-f", &file]);
    assert!(err.contains("conflict") && err.contains(".spec.replicas"), "{err}");
    assert_eq!(get()["spec"]["replicas"], 5);
    // The same value is no conflict: ownership is shared.
    let same = s.file("web5.yaml", &manifest(5));
    s.ok(&["apply", "--server-side", "--field-manager=argocd", "-f", &same]);
    s.ok(&["apply", "--server-side", "--field-manager=flux", "--force-conflicts", "-f", &file]);
    let d = get();
    assert_eq!(d["spec"]["replicas"], 2);
    let flux = managed_entry(&d, "flux", "Apply").unwrap();
    assert_eq!(flux["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    let scaler_left = d["metadata"]["managedFields"].as_array().unwrap().iter().any(|e| e["subresource"] == "scale");
    assert!(!scaler_left, "the forced field left the scaler, whose entry is now empty: {d:#}");
}
