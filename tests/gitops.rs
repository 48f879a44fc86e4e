//! GitOps owners through the real binary and the real `kubectl` against the simulator:
//! Flux's CRDs applied with kubectl, a Kustomization- and a HelmRelease-owned Deployment
//! applied server-side as their controllers do, their owners' state in `status -o json`,
//! a `kubectl scale` behind Flux's back reported as drift naming the manager, the scale
//! preview warning about the revert, and suspend → resume through a runbook, audited.

mod support;

use cockpit::sim::SimOptions;
use serde_json::Value;
use support::pty::{Pty, isolated_env};
use support::rig::{Rig, text};

fn json_of(rig: &Rig, args: &[&str]) -> Value {
    let out = rig.cockpit(args);
    assert!(out.status.code().is_some(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", text(&out)))
}

fn row<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status:#}"))
}

fn write(rig: &Rig, name: &str, content: &str) -> String {
    let path = rig.dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

const KUSTOMIZATION_OWNED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: ks-api
  namespace: shop
  labels:
    kustomize.toolkit.fluxcd.io/name: apps
    kustomize.toolkit.fluxcd.io/namespace: flux-system
spec:
  replicas: 2
  selector: {matchLabels: {app: ks-api}}
  template:
    metadata: {labels: {app: ks-api}}
    spec:
      containers:
        - {name: api, image: "ghcr.io/example/ks-api:1.0.0"}
"#;

const HELMRELEASE_OWNED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: hr-web
  namespace: shop
  labels:
    helm.toolkit.fluxcd.io/name: web
    helm.toolkit.fluxcd.io/namespace: shop
spec:
  replicas: 1
  selector: {matchLabels: {app: hr-web}}
  template:
    metadata: {labels: {app: hr-web}}
    spec:
      containers:
        - {name: web, image: "ghcr.io/example/hr-web:2.0.0"}
"#;

const OWNERS: &str = r#"apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: shop}
spec:
  interval: 5m
  chart:
    spec: {chart: web, sourceRef: {kind: HelmRepository, name: charts}}
"#;

/// A clean cluster with Flux's CRDs served, two owners with a status, and a Deployment
/// applied server-side by each controller.
fn flux_cluster() -> Rig {
    flux_cluster_with(Vec::new())
}

fn flux_cluster_with(extra_users: Vec<cockpit::sim::spec::UserSpec>) -> Rig {
    let rig = Rig::start_scenario(SimOptions { scenario: Some("clean".into()), extra_users, ..Default::default() });
    for crd in ["flux-kustomizations.yaml", "flux-helmreleases.yaml"] {
        let path = format!("{}/assets/crds/{crd}", env!("CARGO_MANIFEST_DIR"));
        rig.kubectl(&["apply", "-f", &path]);
    }
    rig.wait_until("the Flux kinds to be served", || {
        rig.kubectl(&["api-resources", "-o", "name"]).contains("helmreleases.helm.toolkit.fluxcd.io")
            && rig.kubectl(&["api-resources", "-o", "name"]).contains("kustomizations.kustomize.toolkit.fluxcd.io")
    });
    let namespaces = write(
        &rig,
        "namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    rig.kubectl(&["apply", "-f", &namespaces]);
    let owners = write(&rig, "owners.yaml", OWNERS);
    rig.kubectl(&["apply", "-f", &owners]);
    rig.kubectl(&[
        "patch",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "apps",
        "-n",
        "flux-system",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"lastAppliedRevision":"main@sha1:4f2a","conditions":[{"type":"Ready","status":"True","reason":"ReconciliationSucceeded","message":"Applied revision: main@sha1:4f2a","lastTransitionTime":"2026-12-04T00:00:00Z"}]}}"#,
    ]);
    rig.kubectl(&[
        "patch",
        "helmreleases.helm.toolkit.fluxcd.io",
        "web",
        "-n",
        "shop",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"False","reason":"UpgradeFailed","message":"Helm upgrade failed: timed out","lastTransitionTime":"2026-12-04T00:00:00Z"}]}}"#,
    ]);
    let ks = write(&rig, "ks-api.yaml", KUSTOMIZATION_OWNED);
    rig.kubectl(&["apply", "--server-side", "--field-manager=kustomize-controller", "-f", &ks]);
    let hr = write(&rig, "hr-web.yaml", HELMRELEASE_OWNED);
    rig.kubectl(&["apply", "--server-side", "--field-manager=helm-controller", "-f", &hr]);
    rig.wait_until("ks-api to run", || rig.stored_replicas("shop", "ks-api").1 == 2);
    rig
}

#[test]
fn owners_and_their_state_are_in_status_json() {
    let rig = flux_cluster();
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let ks = &row(&status, "ks-api")["gitops"];
    assert_eq!(ks["kind"], "Kustomization", "{ks:#}");
    assert_eq!((ks["namespace"].as_str(), ks["name"].as_str()), (Some("flux-system"), Some("apps")));
    assert_eq!((ks["ready"].as_bool(), ks["suspended"].as_bool()), (Some(true), Some(false)));
    assert_eq!((ks["revision"].as_str(), ks["interval"].as_str()), (Some("main@sha1:4f2a"), Some("10m")));
    assert_eq!(ks["state"], "Ready");
    assert_eq!(ks["drift"], serde_json::json!([]), "nothing changed behind Flux's back yet");

    let hr = &row(&status, "hr-web")["gitops"];
    assert_eq!(
        (hr["kind"].as_str(), hr["namespace"].as_str(), hr["name"].as_str()),
        (Some("HelmRelease"), Some("shop"), Some("web"))
    );
    assert_eq!(hr["ready"], false);
    assert_eq!(hr["message"], "Helm upgrade failed: timed out");
    assert_eq!(hr["state"], "not ready: Helm upgrade failed: timed out");
    assert_eq!(hr["interval"], "5m");

    // A namespace scope still finds an owner in another namespace.
    let scoped = json_of(&rig, &["-n", "shop", "status", "-o", "json"]);
    assert_eq!(row(&scoped, "ks-api")["gitops"]["state"], "Ready");
}

#[test]
fn a_kubectl_scale_behind_fluxs_back_is_drift_naming_the_manager() {
    let rig = flux_cluster();
    rig.kubectl(&["scale", "deployment", "ks-api", "-n", "shop", "--replicas=4"]);
    rig.wait_until("the scale to be stored", || rig.stored_replicas("shop", "ks-api").0 == 4);

    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let drift = &row(&status, "ks-api")["gitops"]["drift"];
    assert_eq!(drift[0]["field"], "spec.replicas", "{drift:#}");
    assert_eq!(drift[0]["manager"], "kubectl");
    assert_eq!(drift[0]["operation"], "Update /scale");
    assert!(row(&status, "hr-web")["gitops"]["drift"].as_array().unwrap().is_empty());

    let lint = rig.cockpit(&["-A", "lint", "-o", "json"]);
    let found: Value = serde_json::from_slice(&lint.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&lint)));
    let all = found.to_string();
    assert!(
        all.contains("spec.replicas changed by kubectl (Update /scale)")
            && all.contains("Flux Kustomization flux-system/apps sets it back at its next reconcile"),
        "{found:#}"
    );
}

#[test]
fn the_scale_preview_warns_that_flux_reverts_it_at_the_next_reconcile() {
    let rig = flux_cluster();
    let out = rig.cockpit(&["scale", "shop/ks-api", "3", "--dry-run"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(
            "managed by Flux Kustomization flux-system/apps: the next reconcile (every 10m) reverts this change"
        ),
        "{said}"
    );
}

const SUSPEND: &str = "\
name: hold-flux
namespace: shop
steps:
  - id: suspend
    title: Suspend Flux before a manual change
    suspend-gitops: {service: ks-api}
  - id: scale
    title: Scale by hand while Flux holds off
    scale: {service: ks-api, replicas: 3}
    gates:
      - rollout-complete: {timeout: 1m}
";

const RESUME: &str = "\
name: release-flux
namespace: shop
steps:
  - id: resume
    title: Resume Flux
    resume-gitops: {service: ks-api}
    gates:
      - gitops-synced: {timeout: 30s}
";

#[test]
fn suspend_then_resume_through_runbooks_is_audited_and_reminded() {
    let rig = flux_cluster();
    let suspend = write(&rig, "hold-flux.yaml", SUSPEND);
    let run = rig.cockpit(&["runbook", "run", &suspend, "--yes"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let flag = |rig: &Rig| {
        rig.kubectl(&[
            "get",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "apps",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.spec.suspend}",
        ])
    };
    assert_eq!(flag(&rig), "true");

    // While suspended: a reminder in status, and the scale warning says so.
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    assert_eq!(row(&status, "ks-api")["gitops"]["state"], "suspended");
    let drift = &row(&status, "ks-api")["gitops"]["drift"];
    assert_eq!(drift[0]["manager"], "kubectl-cockpit", "the runbook's own scale is drift too: {drift:#}");
    assert_eq!(
        status["gitops_suspended"],
        serde_json::json!([{"owner": "Flux Kustomization flux-system/apps", "services": ["shop/ks-api"]}])
    );
    let table = text(&rig.cockpit(&["-A", "status"]));
    assert!(table.contains("suspended: Flux Kustomization flux-system/apps (applies shop/ks-api)"), "{table}");

    let resume = write(&rig, "release-flux.yaml", RESUME);
    let run = rig.cockpit(&["runbook", "run", &resume, "--yes"]);
    let said = text(&run);
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert_eq!(flag(&rig), "false");
    assert!(said.contains("gate passed: gitops-synced ks-api: Flux Kustomization flux-system/apps Ready"), "{said}");

    let audited: Vec<(String, String, Value)> = rig
        .audit()
        .iter()
        .filter(|e| e["outcome"] == "applied")
        .map(|e| {
            (e["action"].as_str().unwrap().to_string(), e["target"].as_str().unwrap().to_string(), e["after"].clone())
        })
        .collect();
    let actions: Vec<&str> = audited.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["suspend gitops", "scale", "resume gitops"], "{audited:#?}");
    assert_eq!(audited[0].2["owner"], "Kustomization/flux-system/apps");
    assert_eq!(audited[0].2["suspended"], true);
    assert_eq!(audited[2].2["suspended"], false);
}

#[test]
fn change_it_in_git_edits_the_checkout_and_without_one_prints_the_patch() {
    let rig = flux_cluster();
    // No checkout: the preview says what to put in git.
    let out = rig.cockpit(&["scale", "shop/ks-api", "3", "--dry-run"]);
    let said = text(&out);
    assert!(said.contains("in git (Flux Kustomization flux-system/apps applies it), as a patch to commit:"), "{said}");
    assert!(
        said.contains(
            "  kind: Deployment\n  metadata:\n    name: ks-api\n    namespace: shop\n  spec:\n    replicas: 3"
        ),
        "{said}"
    );

    let repo = rig.dir.path().join("fleet");
    std::fs::create_dir_all(repo.join("apps/shop")).unwrap();
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let manifest = repo.join("apps/shop/ks-api.yaml");
    std::fs::write(&manifest, KUSTOMIZATION_OWNED.replace("replicas: 2", "replicas: 2 # by hand? no: here")).unwrap();
    std::fs::write(repo.join(".git/ks-api.yaml"), KUSTOMIZATION_OWNED).unwrap();
    let repo_arg = repo.to_str().unwrap();

    let dry = rig.cockpit(&["scale", "shop/ks-api", "5", "--gitops-repo", repo_arg, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("-  replicas: 2 # by hand? no: here\n+  replicas: 5 # by hand? no: here"),
        "{}",
        text(&dry)
    );
    assert!(std::fs::read_to_string(&manifest).unwrap().contains("replicas: 2 #"), "--dry-run writes nothing");

    let wrote = rig.cockpit(&["scale", "shop/ks-api", "5", "--gitops-repo", repo_arg]);
    assert_eq!(wrote.status.code(), Some(0), "{}", text(&wrote));
    assert!(text(&wrote).contains("nothing was committed or pushed"), "{}", text(&wrote));
    assert!(std::fs::read_to_string(&manifest).unwrap().contains("replicas: 5 # by hand? no: here"));
    assert!(std::fs::read_to_string(repo.join(".git/ks-api.yaml")).unwrap().contains("replicas: 2"), ".git untouched");
    assert_eq!(rig.stored_replicas("shop", "ks-api").0, 2, "the cluster is not changed: Flux applies the commit");

    let missing = rig.cockpit(&["scale", "shop/hr-web", "2", "--gitops-repo", repo_arg]);
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing));
    assert!(
        text(&missing).contains("replicas: 2") && text(&missing).contains("nothing was written"),
        "{}",
        text(&missing)
    );
}

const ARGO: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: storefront, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/fleet.git", path: apps/storefront, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: shop}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
status:
  sync: {status: Synced, revision: 9c1e2d}
  health: {status: Healthy}
"#;

const ARGO_OWNED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: argo-api
  namespace: shop
  annotations:
    argocd.argoproj.io/tracking-id: "storefront:apps/Deployment:shop/argo-api"
spec:
  replicas: 1
  selector: {matchLabels: {app: argo-api}}
  template:
    metadata: {labels: {app: argo-api}}
    spec:
      containers:
        - {name: api, image: "ghcr.io/example/argo-api:3.1.0"}
"#;

const ARGO_HOLD: &str = "\
name: hold-argo
namespace: shop
steps:
  - id: suspend
    title: Turn auto-sync off
    suspend-gitops: {service: argo-api}
";

const ARGO_RELEASE: &str = "\
name: release-argo
namespace: shop
steps:
  - id: resume
    title: Turn auto-sync back on
    resume-gitops: {service: argo-api}
    gates:
      - gitops-synced: {timeout: 30s}
";

#[test]
fn an_argo_application_owns_by_tracking_id_and_auto_sync_is_suspended_and_restored() {
    let rig = Rig::start_scenario(SimOptions { scenario: Some("clean".into()), ..Default::default() });
    let crd = format!("{}/assets/crds/argocd-applications.yaml", env!("CARGO_MANIFEST_DIR"));
    rig.kubectl(&["apply", "-f", &crd]);
    rig.wait_until("the Application kind to be served", || {
        rig.kubectl(&["api-resources", "-o", "name"]).contains("applications.argoproj.io")
    });
    let app = write(&rig, "argo.yaml", ARGO);
    rig.kubectl(&["apply", "-f", &app]);
    let owned = write(&rig, "argo-api.yaml", ARGO_OWNED);
    rig.kubectl(&["apply", "--server-side", "--field-manager=argocd-controller", "-f", &owned]);
    rig.wait_until("argo-api to run", || rig.stored_replicas("shop", "argo-api").1 == 1);

    // Flux is not installed here: its kinds are skipped without a word.
    let quiet = rig.cockpit(&["-A", "status"]);
    let stderr = String::from_utf8_lossy(&quiet.stderr).to_string();
    assert!(!stderr.contains("kustomizations") && !stderr.contains("helmreleases"), "{stderr}");
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    assert_eq!(status["no_access"], serde_json::json!([]));
    let g = &row(&status, "argo-api")["gitops"];
    assert_eq!((g["kind"].as_str(), g["tool"].as_str()), (Some("Application"), Some("Argo CD")), "{g:#}");
    assert_eq!((g["namespace"].as_str(), g["name"].as_str()), (Some("argocd"), Some("storefront")));
    assert_eq!((g["ready"].as_bool(), g["suspended"].as_bool()), (Some(true), Some(false)));
    assert_eq!(g["revision"], "9c1e2d");

    let automated = |rig: &Rig| {
        let app: Value = serde_json::from_str(&rig.kubectl(&[
            "get",
            "applications.argoproj.io",
            "storefront",
            "-n",
            "argocd",
            "-o",
            "json",
        ]))
        .unwrap();
        (
            app["spec"]["syncPolicy"]["automated"].clone(),
            app["metadata"]["annotations"]["cockpit.dev/suspended-automated"].clone(),
        )
    };
    let hold = write(&rig, "hold-argo.yaml", ARGO_HOLD);
    let run = rig.cockpit(&["runbook", "run", &hold, "--yes"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let (now, kept) = automated(&rig);
    assert_eq!(now, Value::Null, "auto-sync off");
    let kept: Value = serde_json::from_str(kept.as_str().unwrap()).unwrap();
    assert_eq!(kept, serde_json::json!({"prune": true, "selfHeal": true}));
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    assert_eq!(row(&status, "argo-api")["gitops"]["state"], "suspended");

    let release = write(&rig, "release-argo.yaml", ARGO_RELEASE);
    let run = rig.cockpit(&["runbook", "run", &release, "--yes"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_eq!(automated(&rig), (serde_json::json!({"prune": true, "selfHeal": true}), Value::Null));
    let actions: Vec<String> = rig
        .audit()
        .iter()
        .filter(|e| e["outcome"] == "applied")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["suspend gitops", "resume gitops"]);
}

#[test]
fn a_user_who_may_not_list_the_owners_sees_the_owner_as_unknown_and_no_complaint() {
    use cockpit::sim::spec::{RuleSpec, UserSpec};
    let shop_only = UserSpec {
        name: "shop-dev".into(),
        token: "shop-dev-token".into(),
        groups: vec![],
        rules: vec![RuleSpec { verbs: vec!["*".into()], resources: vec!["*".into()], namespaces: vec!["shop".into()] }],
    };
    let rig = flux_cluster_with(vec![shop_only]);
    let kubeconfig = rig.dir.path().join("shop-dev.json");
    cockpit::sim::kubeconfig::write(&kubeconfig, &rig.sim().kubeconfig_for_user("shop-dev").unwrap()).unwrap();
    let out = rig.cockpit_as(&kubeconfig, &["-n", "shop", "status", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("kustomizations") && !stderr.contains("helmreleases"), "quiet: {stderr}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &row(&status, "ks-api")["gitops"];
    assert_eq!(
        (g["kind"].as_str(), g["name"].as_str(), g["state"].as_str()),
        (Some("Kustomization"), Some("apps"), Some("unknown")),
        "{g:#}"
    );
    assert!(g["ready"].is_null() && g["suspended"].is_null());
    assert_eq!(status["no_access"], serde_json::json!([]));

    // Nothing to suspend that cannot be read: refused before anything is sent.
    let hold = write(&rig, "hold-flux.yaml", SUSPEND);
    let run = rig.cockpit_as(&kubeconfig, &["runbook", "run", &hold, "--yes"]);
    assert_ne!(run.status.code(), Some(0), "{}", text(&run));
    assert!(text(&run).contains("could not be read"), "{}", text(&run));
}

#[test]
fn the_cockpit_shows_the_owner_live_and_a_suspend_made_elsewhere_as_a_reminder() {
    let rig = flux_cluster();
    let dir = tempfile::tempdir().unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let kubeconfig = rig.kubeconfig.display().to_string();
    let mut pty = Pty::spawn(&["--kubeconfig", &kubeconfig, "-A"], &env, 200, 40);
    pty.wait_until("the GITOPS column with both owners' state", |s| {
        s.contains("GITOPS") && s.contains("Ready") && s.contains("not ready: Helm upgrade failed")
    });
    // Flux suspended by someone else: the owner's change reaches every service it applies.
    rig.kubectl(&[
        "patch",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "apps",
        "-n",
        "flux-system",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    pty.wait_until("the reminder on the status line", |s| s.contains("suspended: Flux Kustomization flux-system/apps"));
    rig.kubectl(&["scale", "deployment", "ks-api", "-n", "shop", "--replicas=3"]);
    pty.wait_until("the drift badge", |s| s.contains("suspended + drift"));
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
}
