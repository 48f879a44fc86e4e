//! CustomResourceDefinitions on the simulated API server, against the real `kubectl`
//! (from PATH) and kube-rs over real HTTP: a CRD applied with kubectl appears in
//! discovery, its custom resources are created, read, listed, watched, scaled and
//! deleted like built-in objects, the status subresource splits writes as on a real
//! server, and deleting the CRD takes its resources and its discovery entry with it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit::sim::{RunningSim, SimOptions};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);

struct Sim {
    sim: Option<RunningSim>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Sim {
    fn start() -> Self {
        let opts = SimOptions { api_only: true, ..SimOptions::default() };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start(opts)).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let s = Sim { sim: Some(sim), rt, dir, kubeconfig };
        // kubectl's typed `create namespace` sends protobuf, which the simulator refuses.
        let namespaces = cockpit::sim::resources::resource("namespaces").unwrap();
        s.sim().store().create(namespaces, json!({"metadata": {"name": "prod"}})).unwrap();
        s
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
        self.command(args).output().expect("kubectl runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn spawn(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = self.command(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
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

    fn client(&self) -> kube::Client {
        let kubeconfig = self.sim().kubeconfig();
        self.rt.block_on(async {
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
            kube::Client::try_from(config).unwrap()
        })
    }

    /// A raw request over plain HTTP as admin: (status, body).
    fn http(&self, method: &str, path: &str, content_type: &str, body: &Value) -> (u16, Value) {
        let client = self.client();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(serde_json::to_vec(body).unwrap())
            .unwrap();
        self.rt.block_on(async {
            let resp = client.send(req.map(kube::client::Body::from)).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
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

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Widget
    plural: widgets
    singular: widget
    shortNames: [wd]
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.size
          statusReplicasPath: .status.size
      additionalPrinterColumns:
        - name: Size
          type: integer
          jsonPath: .spec.size
        - name: Phase
          type: string
          jsonPath: .status.phase
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: blue
  namespace: prod
  labels: {colour: blue}
spec:
  size: 2
"#;

fn with_widgets(s: &Sim) {
    let crd = s.file("crd.yaml", WIDGET_CRD);
    s.ok(&["apply", "-f", &crd]);
}

fn resources_listed(s: &Sim) -> String {
    s.ok(&["api-resources", "--api-group=example.com"])
}

#[test]
fn kubectl_applies_a_crd_and_serves_its_custom_resources() {
    let s = Sim::start();
    with_widgets(&s);
    let crd = s.json(&["get", "crd", "widgets.example.com"]);
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    for kind in ["NamesAccepted", "Established"] {
        assert!(conditions.iter().any(|c| c["type"] == kind && c["status"] == "True"), "{kind}: {crd:#}");
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    let listed = resources_listed(&s);
    let line = listed.lines().find(|l| l.starts_with("widgets")).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("wd") && line.contains("example.com/v1") && line.contains("true") && line.contains("Widget"));

    let cr = s.file("cr.yaml", WIDGET);
    s.ok(&["apply", "-f", &cr]);
    let table = s.ok(&["get", "widgets", "-n", "prod"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "SIZE", "PHASE", "AGE"], "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with("blue"), "{table}");
    let obj = s.json(&["get", "widget", "blue", "-n", "prod"]);
    assert_eq!(obj["apiVersion"], "example.com/v1");
    assert_eq!(obj["spec"]["size"], 2);
    assert_eq!(obj["metadata"]["generation"], 1);
    assert!(obj["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(obj["metadata"]["creationTimestamp"].as_str().is_some());
    let yaml = s.ok(&["get", "wd", "blue", "-n", "prod", "-o", "yaml"]);
    assert!(yaml.contains("kind: Widget") && yaml.contains("size: 2"), "{yaml}");

    // Selectors, as for built-in kinds.
    assert!(
        s.ok(&["get", "widgets", "-n", "prod", "-l", "colour=blue", "-o", "name"]).contains("widget.example.com/blue")
    );
    assert_eq!(s.ok(&["get", "widgets", "-n", "prod", "-l", "colour=red", "-o", "name"]).trim(), "");
    let by_name = s.ok(&["get", "widgets", "-A", "--field-selector", "metadata.name=blue", "-o", "name"]);
    assert!(by_name.contains("blue"), "{by_name}");

    // Watch: a change made with kubectl shows up, then the deletion.
    let (mut watch, rx) = s.spawn(&["get", "widgets", "-n", "prod", "--watch", "-o", "name"]);
    wait_line(&rx, "the initial widget", |l| l.contains("blue"));
    s.ok(&["scale", "widget", "blue", "-n", "prod", "--replicas=5"]);
    wait_line(&rx, "the scaled widget", |l| l.contains("blue"));
    let obj = s.json(&["get", "widget", "blue", "-n", "prod"]);
    assert_eq!(obj["spec"]["size"], 5, "scale writes specReplicasPath");
    assert_eq!(obj["metadata"]["generation"], 2, "a spec change bumps the generation");
    s.ok(&["delete", "widget", "blue", "-n", "prod"]);
    wait_line(&rx, "the deletion", |l| l.contains("blue"));
    let _ = watch.kill();
    let _ = watch.wait();
    let gone = s.fails(&["get", "widget", "blue", "-n", "prod"]);
    assert!(gone.contains("widgets.example.com \"blue\" not found"), "{gone}");
}

#[test]
fn kube_rs_discovers_and_watches_custom_resources() {
    use futures::StreamExt;
    use kube::api::{Api, DynamicObject, PostParams};
    use kube::discovery::{Discovery, Scope};
    use kube::runtime::watcher;

    let s = Sim::start();
    with_widgets(&s);
    let client = s.client();
    s.rt.block_on(async {
        let discovery = Discovery::new(client.clone()).run().await.unwrap();
        let group = discovery.get("example.com").expect("the CRD's group is discovered");
        let (ar, caps) = group.recommended_kind("Widget").expect("Widget is discovered");
        assert_eq!((ar.plural.as_str(), ar.version.as_str()), ("widgets", "v1"));
        assert_eq!(caps.scope, Scope::Namespaced);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "prod", &ar);
        let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
        let obj: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "red"}, "spec": {"size": 1}}),
        )
        .unwrap();
        api.create(&PostParams::default(), &obj).await.unwrap();
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.checked_duration_since(Instant::now()).expect("the watch sees the created widget");
            let event = tokio::time::timeout(left, stream.next()).await.unwrap().unwrap().unwrap();
            let seen = match event {
                watcher::Event::Apply(o) | watcher::Event::InitApply(o) => o.metadata.name == Some("red".into()),
                _ => false,
            };
            if seen {
                break;
            }
        }
        let listed = api.list(&Default::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(api.get("red").await.unwrap().data["spec"]["size"], 1);
    });
}

#[test]
fn status_subresource_splits_writes_like_a_real_server() {
    let s = Sim::start();
    with_widgets(&s);
    let base = "/apis/example.com/v1/namespaces/prod/widgets";
    let (code, created) = s.http(
        "POST",
        base,
        "application/json",
        &json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}, "status": {"phase": "Ready"}}),
    );
    assert_eq!(code, 201, "{created}");
    assert!(created.get("status").is_none(), "create drops status when status is a subresource: {created}");
    // A main-resource patch ignores status.
    let (code, patched) = s.http(
        "PATCH",
        &format!("{base}/w"),
        "application/merge-patch+json",
        &json!({"spec": {"size": 3}, "status": {"phase": "Broken"}}),
    );
    assert_eq!(code, 200);
    assert_eq!(patched["spec"]["size"], 3);
    assert!(patched.get("status").is_none(), "{patched}");
    assert_eq!(patched["metadata"]["generation"], 2);
    // /status ignores everything but status, and does not bump the generation.
    let (code, status) = s.http(
        "PATCH",
        &format!("{base}/w/status"),
        "application/merge-patch+json",
        &json!({"spec": {"size": 9}, "status": {"phase": "Ready"}}),
    );
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["status"]["phase"], "Ready");
    assert_eq!(status["spec"]["size"], 3);
    assert_eq!(status["metadata"]["generation"], 2);
    let table = s.ok(&["get", "widgets", "-n", "prod"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], &["w", "3", "Ready"], "printer columns read the object: {table}");
}

#[test]
fn unknown_custom_resources_are_not_found_and_invalid_crds_are_refused() {
    let s = Sim::start();
    let (code, body) = s.http("GET", "/apis/example.com/v1/namespaces/prod/widgets", "application/json", &Value::Null);
    assert_eq!(code, 404, "{body}");
    let bad = WIDGET_CRD
        .replace("name: widgets.example.com", "name: gadgets.example.com")
        .replace("      storage: true\n", "      storage: false\n");
    let err = s.fails(&["apply", "-f", &s.file("bad.yaml", &bad)]);
    assert!(err.contains("is invalid"), "{err}");
    assert!(err.contains("must be spec.names.plural+\".\"+spec.group"), "{err}");
    assert!(err.contains("must have exactly one version marked as storage version"), "{err}");
    let (code, body) = s.http(
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "things.example.com"},
                "spec": {"group": "example.com", "scope": "Everywhere", "names": {"plural": "things"}, "versions": []}}),
    );
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["reason"], "Invalid");
    let fields: Vec<&str> =
        body["details"]["causes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"spec.names.kind") && fields.contains(&"spec.scope") && fields.contains(&"spec.versions"));
    assert!(!resources_listed(&s).contains("gadgets"));
}

#[test]
fn deleting_a_crd_deletes_its_resources_and_its_discovery_entry() {
    let s = Sim::start();
    with_widgets(&s);
    s.ok(&["apply", "-f", &s.file("cr.yaml", WIDGET)]);
    let (mut watch, rx) = s.spawn(&["get", "widgets", "-n", "prod", "--watch", "--output-watch-events"]);
    wait_line(&rx, "the widget", |l| l.contains("ADDED") && l.contains("blue"));
    s.ok(&["delete", "crd", "widgets.example.com"]);
    wait_line(&rx, "the widget's deletion", |l| l.contains("DELETED") && l.contains("blue"));
    let _ = watch.kill();
    let _ = watch.wait();
    wait_for("the CRD to leave discovery", || !resources_listed(&s).contains("widgets"));
    let (code, _) = s.http("GET", "/apis/example.com/v1/namespaces/prod/widgets", "application/json", &Value::Null);
    assert_eq!(code, 404);
    let (code, _) = s.http("GET", "/apis/example.com", "application/json", &Value::Null);
    assert_eq!(code, 404, "the group is gone with its only CRD");
    // Re-creating the CRD starts empty.
    with_widgets(&s);
    wait_for("the CRD to come back", || resources_listed(&s).contains("widgets"));
    assert_eq!(s.ok(&["get", "widgets", "-A", "-o", "name"]).trim(), "");
}

fn shipped_crds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/crds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn every_shipped_crd_loads_and_serves_its_kind() {
    let s = Sim::start();
    let files = shipped_crds();
    assert_eq!(files.len(), 8);
    for file in &files {
        s.ok(&["apply", "-f", &file.display().to_string()]);
    }
    let listed = s.ok(&["api-resources"]);
    for (plural, group_version) in [
        ("clusters", "postgresql.cnpg.io/v1"),
        ("postgresqls", "acid.zalan.do/v1"),
        ("kustomizations", "kustomize.toolkit.fluxcd.io/v1"),
        ("helmreleases", "helm.toolkit.fluxcd.io/v2"),
        ("gitrepositories", "source.toolkit.fluxcd.io/v1"),
        ("ocirepositories", "source.toolkit.fluxcd.io/v1"),
        ("helmrepositories", "source.toolkit.fluxcd.io/v1"),
        ("applications", "argoproj.io/v1alpha1"),
    ] {
        assert!(
            listed.lines().any(|l| l.starts_with(plural) && l.contains(group_version)),
            "{plural} {group_version} in\n{listed}"
        );
    }
    // One of each, through the names kubectl users type.
    let cluster = r#"{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "prod"}, "spec": {"instances": 3}}"#;
    s.ok(&["apply", "-f", &s.file("cluster.json", cluster)]);
    s.ok(&["scale", "clusters.postgresql.cnpg.io", "pg", "-n", "prod", "--replicas=2"]);
    assert_eq!(s.json(&["get", "clusters.postgresql.cnpg.io", "pg", "-n", "prod"])["spec"]["instances"], 2);
    let table = s.ok(&["get", "clusters.postgresql.cnpg.io", "-n", "prod"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "AGE", "INSTANCES", "READY", "STATUS", "PRIMARY"], "{table}");
    let ks = r#"{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "apps", "namespace": "prod"}, "spec": {"interval": "5m", "path": "./apps"}}"#;
    s.ok(&["apply", "-f", &s.file("ks.json", ks)]);
    assert!(
        s.ok(&["get", "ks", "-n", "prod", "-o", "name"]).contains("kustomization.kustomize.toolkit.fluxcd.io/apps")
    );
    let app = r#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "web", "namespace": "prod"}, "spec": {"project": "default"}, "status": {"sync": {"status": "Synced"}}}"#;
    s.ok(&["apply", "-f", &s.file("app.json", app)]);
    let apps = s.ok(&["get", "applications.argoproj.io", "-n", "prod"]);
    assert!(apps.contains("Synced"), "no status subresource: a create keeps status\n{apps}");
}

#[test]
fn a_manifests_directory_seeds_crds_and_their_custom_resources() {
    let dir = tempfile::tempdir().unwrap();
    let crd =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/crds/cnpg-clusters.yaml")).unwrap();
    std::fs::write(dir.path().join("00-crd.yaml"), crd).unwrap();
    std::fs::write(
        dir.path().join("10-db.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: db}\n---\n\
         apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: db}\n\
         spec: {instances: 3}\nstatus: {instances: 3, readyInstances: 3, phase: Cluster in healthy state}\n",
    )
    .unwrap();
    let opts = SimOptions { manifests: Some(dir.path().to_path_buf()), ..SimOptions::default() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sim = rt.block_on(cockpit::sim::start(opts)).expect("simulator starts");
    let kubeconfig = dir.path().join("kubeconfig.json");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "clusters.postgresql.cnpg.io", "-n", "db"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row: Vec<&str> = table.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(row[0], "pg", "{table}");
    assert_eq!(&row[2..4], &["3", "3"], "the seeded status is kept (no operator runs here): {table}");
    assert!(table.contains("Cluster in healthy state"), "{table}");

    // A custom resource no CRD of the scenario serves is a clear load error.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("x.yaml"),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n",
    )
    .unwrap();
    let opts = SimOptions { manifests: Some(bad.path().to_path_buf()), ..SimOptions::default() };
    let err = rt.block_on(cockpit::sim::start(opts)).err().expect("an unserved kind fails");
    let chain = err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ");
    assert!(chain.contains("no CustomResourceDefinition in the scenario serves example.com/v1 Widget"), "{chain}");
    let _guard = rt.enter();
    drop(sim);
}
