//! GitOps owners through the real binary and the real `kubectl` against the simulator:
//! Flux's CRDs applied with kubectl, a Kustomization- and a HelmRelease-owned Deployment
//! applied server-side as their controllers do, their owners' state in `status -o json`,
//! a `kubectl scale` behind Flux's back reported as drift naming the manager, the scale
//! preview warning about the revert, suspend → resume through a runbook, audited, and the
//! owners' Flux sources: their revision against the one applied (the `gitops-synced` gate)
//! and a source that cannot fetch, in status, the detail view and lint.

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
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/example/fleet
  ref: {branch: main}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: shop}
spec:
  interval: 1h
  url: https://charts.example.com
"#;

/// A clean cluster with Flux's CRDs served, two owners with a status, and a Deployment
/// applied server-side by each controller.
fn flux_cluster() -> Rig {
    flux_cluster_with(Vec::new())
}

fn flux_cluster_with(extra_users: Vec<cockpit::sim::spec::UserSpec>) -> Rig {
    let rig = Rig::start_scenario(SimOptions { scenario: Some("clean".into()), extra_users, ..Default::default() });
    let crds = [
        "flux-kustomizations.yaml",
        "flux-helmreleases.yaml",
        "flux-gitrepositories.yaml",
        "flux-helmrepositories.yaml",
    ];
    for crd in crds {
        let path = format!("{}/assets/crds/{crd}", env!("CARGO_MANIFEST_DIR"));
        rig.kubectl(&["apply", "-f", &path]);
    }
    rig.wait_until("the Flux kinds to be served", || {
        let served = rig.kubectl(&["api-resources", "-o", "name"]);
        [
            "helmreleases.helm.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "helmrepositories.source.toolkit.fluxcd.io",
            "gitrepositories.source.toolkit.fluxcd.io",
        ]
        .iter()
        .all(|kind| served.contains(kind))
    });
    let namespaces = write(
        &rig,
        "namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    rig.kubectl(&["apply", "-f", &namespaces]);
    let owners = write(&rig, "owners.yaml", OWNERS);
    rig.kubectl(&["apply", "-f", &owners]);
    patch_status(
        &rig,
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "flux-system/apps",
        r#"{"status":{"lastAppliedRevision":"main@sha1:4f2a","conditions":[{"type":"Ready","status":"True","reason":"ReconciliationSucceeded","message":"Applied revision: main@sha1:4f2a","lastTransitionTime":"2026-12-04T00:00:00Z"}]}}"#,
    );
    patch_status(
        &rig,
        "helmreleases.helm.toolkit.fluxcd.io",
        "shop/web",
        r#"{"status":{"conditions":[{"type":"Ready","status":"False","reason":"UpgradeFailed","message":"Helm upgrade failed: timed out","lastTransitionTime":"2026-12-04T00:00:00Z"}]}}"#,
    );
    set_source(&rig, "gitrepositories", "flux-system/flux-system", "True", "main@sha1:4f2a", "stored artifact");
    set_source(&rig, "helmrepositories", "shop/charts", "True", "sha256:9d1c", "stored artifact");
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
    let flag = |rig: &Rig| suspend_flag(rig, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system/apps");
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

    // hr-web is rendered by its chart: git holds its HelmRelease's values, not here.
    let missing = rig.cockpit(&["scale", "shop/hr-web", "2", "--gitops-repo", repo_arg]);
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing));
    assert!(
        text(&missing).contains("replicaCount: 2")
            && text(&missing).contains("sets spec.values.replicaCount of HelmRelease shop/web: nothing was written"),
        "{}",
        text(&missing)
    );
}

/// A Flux source's status as source-controller writes it: Ready (or not) and the revision
/// of the artifact it fetched last.
fn set_source(rig: &Rig, plural: &str, at: &str, ready: &str, revision: &str, message: &str) {
    let reason = if ready == "True" { "Succeeded" } else { "GitOperationFailed" };
    let status = serde_json::json!({"status": {
        "artifact": {"revision": revision},
        "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": message,
                        "lastTransitionTime": "2026-12-04T00:00:00Z"}],
    }});
    patch_status(rig, &format!("{plural}.source.toolkit.fluxcd.io"), at, &status.to_string());
}

/// The Kustomization's `status.lastAppliedRevision`, as kustomize-controller writes it.
fn set_applied(rig: &Rig, revision: &str) {
    let status = serde_json::json!({"status": {"lastAppliedRevision": revision}});
    patch_status(rig, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system/apps", &status.to_string());
}

/// Writes an object's status through the status subresource, as its controller does.
fn patch_status(rig: &Rig, resource: &str, at: &str, status: &str) {
    let (namespace, name) = at.split_once('/').unwrap();
    rig.kubectl(&["patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", status]);
}

const SYNCED: &str = "\
name: synced
namespace: shop
steps:
  - id: check
    title: Flux applied what git holds
    wait: 0s
    gates:
      - gitops-synced: {service: ks-api, timeout: 2s}
";

/// The `gitops-synced` gate of one runbook run: the exit code and what it said.
fn synced_gate(rig: &Rig) -> (Option<i32>, String) {
    let book = write(rig, "synced.yaml", SYNCED);
    let run = rig.cockpit(&["runbook", "run", &book, "--yes"]);
    (run.status.code(), text(&run))
}

#[test]
fn the_gate_passes_only_once_the_kustomization_applied_its_sources_revision() {
    let rig = flux_cluster();
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let source = &row(&status, "ks-api")["gitops"]["source"];
    assert_eq!(
        (source["kind"].as_str(), source["namespace"].as_str(), source["name"].as_str()),
        (Some("GitRepository"), Some("flux-system"), Some("flux-system")),
        "{source:#}"
    );
    assert_eq!((source["ready"].as_bool(), source["revision"].as_str()), (Some(true), Some("main@sha1:4f2a")));
    assert_eq!(source["url"], "https://github.com/example/fleet");
    assert_eq!(row(&status, "hr-web")["gitops"]["source"]["kind"], "HelmRepository");
    let (code, said) = synced_gate(&rig);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(
            "gate passed: gitops-synced ks-api: Flux Kustomization flux-system/apps Ready at main@sha1:4f2a; \
             the revision of source GitRepository flux-system/flux-system"
        ),
        "{said}"
    );

    // A commit is fetched: the owner is still Ready, at the old revision.
    set_source(&rig, "gitrepositories", "flux-system/flux-system", "True", "main@sha1:b7e9", "stored artifact");
    let (code, said) = synced_gate(&rig);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "applied rev main@sha1:4f2a, source GitRepository flux-system/flux-system at main@sha1:b7e9 (not yet reconciled)"
        ),
        "{said}"
    );

    // Applied: synced again.
    set_applied(&rig, "main@sha1:b7e9");
    let (code, said) = synced_gate(&rig);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("Ready at main@sha1:b7e9; the revision of source"), "{said}");
}

#[test]
fn a_source_that_cannot_fetch_is_shown_warned_by_lint_and_holds_the_gate() {
    let rig = flux_cluster();
    set_source(
        &rig,
        "gitrepositories",
        "flux-system/flux-system",
        "False",
        "main@sha1:4f2a",
        "authentication required",
    );
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let source = &row(&status, "ks-api")["gitops"]["source"];
    assert_eq!(source["ready"], false, "{source:#}");
    assert_eq!(source["message"], "authentication required");
    assert_eq!(source["state"], "not ready: authentication required");

    let lint = json_of(&rig, &["-A", "lint", "-o", "json"]);
    let all = lint.to_string();
    assert!(
        all.contains("gitops-source-not-ready")
            && all.contains(
                "source GitRepository flux-system/flux-system of Flux Kustomization flux-system/apps \
                 not ready: authentication required"
            ),
        "{lint:#}"
    );
    let (code, said) = synced_gate(&rig);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("source GitRepository flux-system/flux-system not ready: authentication required"), "{said}");

    // Its kind no longer served: unknown, so the gate refuses rather than pass on Ready.
    rig.kubectl(&["delete", "crd", "gitrepositories.source.toolkit.fluxcd.io"]);
    rig.wait_until("GitRepositories gone", || {
        !rig.kubectl(&["api-resources", "-o", "name"]).contains("gitrepositories.source.toolkit.fluxcd.io")
    });
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let source = &row(&status, "ks-api")["gitops"]["source"];
    assert!(source["ready"].is_null() && source["revision"].is_null(), "{source:#}");
    let (code, said) = synced_gate(&rig);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("could not be read (GitRepository is not served or may not be listed here)"), "{said}");
}

/// RBAC that lets a user read the owners but not their GitRepository: quiet in status,
/// and the gate waits, naming what it cannot read, rather than pass on the owner's Ready.
#[test]
fn a_user_who_may_not_list_the_sources_gets_a_gate_that_waits_not_a_pass() {
    use cockpit::sim::spec::{RuleSpec, UserSpec};
    let readable = [
        "deployments",
        "statefulsets",
        "replicasets",
        "pods",
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
        "persistentvolumeclaims",
        "events",
        "controllerrevisions",
        "nodes",
        "secrets",
        "services",
        "configmaps",
        "kustomizations",
        "helmreleases",
        "helmrepositories",
    ];
    let no_git = UserSpec {
        name: "no-git".into(),
        token: "no-git-token".into(),
        groups: vec![],
        rules: vec![RuleSpec {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            resources: readable.iter().map(|r| r.to_string()).collect(),
            namespaces: vec![],
        }],
    };
    let rig = flux_cluster_with(vec![no_git]);
    let kubeconfig = rig.dir.path().join("no-git.json");
    cockpit::sim::kubeconfig::write(&kubeconfig, &rig.sim().kubeconfig_for_user("no-git").unwrap()).unwrap();
    let out = rig.cockpit_as(&kubeconfig, &["-A", "status", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("gitrepositories"), "quiet: {stderr}");
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &row(&status, "ks-api")["gitops"];
    assert_eq!(g["state"], "Ready", "{g:#}");
    assert_eq!(g["source"]["state"], "not readable: GitRepository is not served or may not be listed here");
    assert!(g["source"]["ready"].is_null());
    assert_eq!(row(&status, "hr-web")["gitops"]["source"]["state"], "Ready", "HelmRepositories may be listed");

    let book = write(&rig, "synced.yaml", SYNCED);
    let run = rig.cockpit_as(&kubeconfig, &["runbook", "run", &book, "--yes"]);
    let said = text(&run);
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert!(said.contains("Ready, but source GitRepository flux-system/flux-system could not be read"), "{said}");
}

/// An owner's `spec.suspend` as kubectl prints it (empty when unset).
fn suspend_flag(rig: &Rig, resource: &str, at: &str) -> String {
    let (namespace, name) = at.split_once('/').unwrap();
    rig.kubectl(&["get", resource, name, "-n", namespace, "-o", "jsonpath={.spec.suspend}"])
}

/// Two text fields of each audit entry.
fn fields<'a>(entries: &'a [Value], a: &str, b: &str) -> Vec<(&'a str, &'a str)> {
    entries.iter().map(|e| (e[a].as_str().unwrap_or_default(), e[b].as_str().unwrap_or_default())).collect()
}

/// Runs git in `repo`; its standard output.
fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(repo)
        .args(["-c", "user.name=cockpit-test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A git checkout of `files` (path, text), committed: `git diff` shows what the cockpit wrote.
fn checkout(rig: &Rig, files: &[(&str, &str)]) -> std::path::PathBuf {
    let repo = rig.dir.path().join("fleet-repo");
    for (path, text) in files {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "the fleet"]);
    repo
}

/// The changed lines of `git diff` (no headers, no context).
fn changed_lines(repo: &std::path::Path) -> Vec<String> {
    git(repo, &["diff", "-U0"])
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
        .map(String::from)
        .collect()
}

const WEB_RELEASE: &str = r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: shop
spec:
  interval: 5m
  chart:
    spec: {chart: web, sourceRef: {kind: HelmRepository, name: charts}}
  values:
    replicaCount: 1 # the chart's default is 3
    image:
      repository: ghcr.io/example/hr-web
      tag: "2.0.0"
"#;

#[test]
fn change_it_in_git_edits_the_helmrelease_values_and_set_image_goes_there_too() {
    let rig = flux_cluster();
    let repo = checkout(&rig, &[("apps/shop/web.yaml", WEB_RELEASE), ("apps/shop/ks-api.yaml", KUSTOMIZATION_OWNED)]);
    let repo_arg = repo.to_str().unwrap();
    let scaled = rig.cockpit(&["scale", "shop/hr-web", "4", "--gitops-repo", repo_arg]);
    assert_eq!(scaled.status.code(), Some(0), "{}", text(&scaled));
    assert_eq!(
        changed_lines(&repo),
        ["-    replicaCount: 1 # the chart's default is 3", "+    replicaCount: 4 # the chart's default is 3"]
    );
    git(&repo, &["checkout", "."]);

    let imaged = rig.cockpit(&["set-image", "shop/hr-web", "ghcr.io/example/hr-web:2.1.0", "--gitops-repo", repo_arg]);
    assert_eq!(imaged.status.code(), Some(0), "{}", text(&imaged));
    assert_eq!(changed_lines(&repo), ["-      tag: \"2.0.0\"", "+      tag: \"2.1.0\""]);
    git(&repo, &["checkout", "."]);

    // A Kustomization-owned workload: its own manifest's image line.
    let dry = rig.cockpit(&[
        "set-image",
        "shop/ks-api",
        "api=ghcr.io/example/ks-api:1.1.0",
        "--gitops-repo",
        repo_arg,
        "--dry-run",
    ]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("+        - {name: api, image: \"ghcr.io/example/ks-api:1.1.0\"}"), "{}", text(&dry));
    assert!(changed_lines(&repo).is_empty(), "--dry-run writes nothing");
    let wrote =
        rig.cockpit(&["set-image", "shop/ks-api", "api=ghcr.io/example/ks-api:1.1.0", "--gitops-repo", repo_arg]);
    assert_eq!(wrote.status.code(), Some(0), "{}", text(&wrote));
    assert_eq!(
        changed_lines(&repo),
        [
            "-        - {name: api, image: \"ghcr.io/example/ks-api:1.0.0\"}",
            "+        - {name: api, image: \"ghcr.io/example/ks-api:1.1.0\"}"
        ]
    );
    let image = rig.kubectl(&[
        "get",
        "deploy",
        "ks-api",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "ghcr.io/example/ks-api:1.0.0", "the cluster is not changed: Flux applies the commit");

    // Without a checkout: the preview names the patch, then the change goes through the usual path.
    let plain = rig.cockpit(&["set-image", "shop/hr-web", "ghcr.io/example/hr-web:2.2.0", "--dry-run"]);
    let said = text(&plain);
    assert_eq!(plain.status.code(), Some(0), "{said}");
    assert!(said.contains("in git (Flux HelmRelease shop/web applies it), as a patch to commit:"), "{said}");
    assert!(said.contains("    image:\n        repository: ghcr.io/example/hr-web\n        tag: 2.2.0"), "{said}");
    assert!(said.contains("server dry-run: ok"), "{said}");

    // The cockpit's checkout that is not there: said before the terminal is taken over.
    let missing = rig.cockpit(&["--gitops-repo", rig.dir.path().join("no-such-checkout").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("no-such-checkout: not a directory"), "{}", text(&missing));

    let in_git: Vec<Value> = rig.audit().into_iter().filter(|e| e["action"] == "change in git").collect();
    assert_eq!(
        fields(&in_git, "target", "outcome"),
        [
            ("shop/deploy/hr-web", "written: 1 file(s)"),
            ("shop/deploy/hr-web", "written: 1 file(s)"),
            ("shop/deploy/ks-api", "dry-run"),
            ("shop/deploy/ks-api", "written: 1 file(s)"),
        ]
    );
    assert_eq!(in_git[0]["after"]["in"], "HelmRelease shop/web");
    assert_eq!(in_git[0]["after"]["files"], serde_json::json!(["apps/shop/web.yaml"]));
}

#[test]
fn gitops_suspend_and_resume_are_one_command_each_audited() {
    let rig = flux_cluster();
    let flag = |rig: &Rig| suspend_flag(rig, "helmreleases.helm.toolkit.fluxcd.io", "shop/web");
    let dry = rig.cockpit(&["gitops", "suspend", "shop/hr-web", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("suspend Flux HelmRelease shop/web (owner of shop/deploy/hr-web)"), "{}", text(&dry));
    assert_eq!(flag(&rig), "", "--dry-run changes nothing");
    let read_only = rig.cockpit(&["--read-only", "gitops", "suspend", "shop/hr-web", "--yes"]);
    assert_eq!(read_only.status.code(), Some(4), "{}", text(&read_only));
    let suspended = rig.cockpit(&["gitops", "suspend", "shop/hr-web", "--yes"]);
    assert_eq!(suspended.status.code(), Some(0), "{}", text(&suspended));
    assert_eq!(flag(&rig), "true");
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    assert_eq!(status["gitops_suspended"][0]["owner"], "Flux HelmRelease shop/web");
    let resumed = rig.cockpit(&["gitops", "resume", "shop/hr-web", "--yes"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert_eq!(flag(&rig), "false");
    assert_eq!(
        fields(&rig.audit(), "action", "outcome"),
        [
            ("suspend gitops", "dry-run"),
            ("suspend gitops", "refused: read-only"),
            ("suspend gitops", "applied"),
            ("resume gitops", "applied"),
        ]
    );
}

/// Resume respects RBAC (the API server's answer to the dry-run, refused and audited) and
/// refuses an owner it cannot read: whether it is suspended cannot be known.
#[test]
fn gitops_resume_is_refused_without_rbac_or_when_the_owner_cannot_be_read() {
    use cockpit::sim::spec::{RuleSpec, UserSpec};
    let user = |name: &str, rules: Vec<RuleSpec>| UserSpec {
        name: name.into(),
        token: format!("{name}-token"),
        groups: vec![],
        rules,
    };
    let rule = |verbs: &[&str], namespaces: &[&str]| RuleSpec {
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        resources: vec!["*".into()],
        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
    };
    let viewer = user("viewer", vec![rule(&["get", "list", "watch"], &[])]);
    let shop_only = user("shop-only", vec![rule(&["*"], &["shop"])]);
    let rig = flux_cluster_with(vec![viewer, shop_only]);
    let suspended = rig.cockpit(&["gitops", "suspend", "shop/ks-api", "--yes"]);
    assert_eq!(suspended.status.code(), Some(0), "{}", text(&suspended));
    let as_user = |name: &str, args: &[&str]| {
        let kubeconfig = rig.dir.path().join(format!("{name}.json"));
        cockpit::sim::kubeconfig::write(&kubeconfig, &rig.sim().kubeconfig_for_user(name).unwrap()).unwrap();
        rig.cockpit_as(&kubeconfig, args)
    };

    let forbidden = as_user("viewer", &["gitops", "resume", "shop/ks-api", "--yes"]);
    assert_eq!(forbidden.status.code(), Some(4), "{}", text(&forbidden));
    assert!(text(&forbidden).contains("forbidden"), "{}", text(&forbidden));
    let unknown = as_user("shop-only", &["gitops", "resume", "shop/ks-api", "--yes"]);
    assert_eq!(unknown.status.code(), Some(4), "{}", text(&unknown));
    assert!(text(&unknown).contains("could not be read"), "{}", text(&unknown));
    let still = suspend_flag(&rig, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system/apps");
    assert_eq!(still, "true", "nothing was resumed");
    let resumes: Vec<Value> = rig.audit().into_iter().filter(|e| e["action"] == "resume gitops").collect();
    let outcomes: Vec<&str> = resumes.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes[0].starts_with("refused: ") && outcomes[0].contains("forbidden"), "{outcomes:?}");
    assert_eq!(outcomes[1], "refused: gitops-owner-unknown");
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
    pty.send("/ks-api\r");
    pty.wait_until("ks-api alone", |s| s.contains("Services 1 of"));
    pty.send("\r");
    pty.wait_until("the owner's source in the detail view", |s| {
        s.contains("source GitRepository flux-system/flux-system  Ready  rev main@sha1:4f2a")
    });
    pty.send("\x1b");
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

/// The two-path preview in the cockpit: the scale wizard on a Flux-owned service offers
/// "change it in git" (the diff of the checkout, confirmed, written: `git diff` shows
/// exactly the replicas) and "suspend, change, remember" (the owner suspended as kubectl
/// sees it, the scale applied, the reminder shown); `R` resumes the owner. All audited.
#[test]
fn the_scale_wizard_offers_git_or_suspend_and_one_key_resumes() {
    let rig = flux_cluster();
    let repo = checkout(&rig, &[("apps/shop/ks-api.yaml", KUSTOMIZATION_OWNED), ("apps/shop/web.yaml", WEB_RELEASE)]);
    let dir = tempfile::tempdir().unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let kubeconfig = rig.kubeconfig.display().to_string();
    let repo_arg = repo.display().to_string();
    let mut pty = Pty::spawn(&["--kubeconfig", &kubeconfig, "-n", "shop", "--gitops-repo", &repo_arg], &env, 200, 50);
    pty.wait_until("the owned services", |s| s.contains("GITOPS") && s.contains("ks-api"));
    pty.send("/ks-api\r");
    pty.wait_until("ks-api alone", |s| s.contains("Services 1 of"));

    // Path 1: change it in git.
    pty.send("s");
    pty.wait_until("both paths offered", |s| {
        s.contains("Scale shop/ks-api")
            && s.contains("C-g: change it in git: edit the manifest in")
            && s.contains("C-s: suspend the owner, then change")
            && s.contains("reverts this change")
    });
    pty.send("\x7f5");
    pty.wait_until("the preview of 5", |s| s.contains("2 → 5"));
    pty.send("\x07");
    pty.wait_until("the diff", |s| s.contains("+++ b/apps/shop/ks-api.yaml") && s.contains("+  replicas: 5"));
    assert!(changed_lines(&repo).is_empty(), "nothing is written before Enter");
    pty.send("\r");
    pty.wait_until("written", |s| s.contains("written to 1 file(s); nothing was committed or pushed"));
    assert_eq!(changed_lines(&repo), ["-  replicas: 2", "+  replicas: 5"]);
    assert_eq!(rig.stored_replicas("shop", "ks-api").0, 2, "the cluster waits for Flux");
    pty.send("\r");

    // Path 2: suspend, change, remember.
    let suspend = |rig: &Rig| suspend_flag(rig, "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system/apps");
    pty.send("s");
    pty.wait_until("the wizard again", |s| s.contains("Scale shop/ks-api") && s.contains("C-s: suspend"));
    pty.send("\x7f3");
    pty.wait_until("the preview of 3", |s| s.contains("2 → 3"));
    pty.send("\x13");
    pty.wait_until("the suspend's dry-run, the scale after it", |s| {
        s.contains("server dry-run: ok · Enter: suspend Flux Kustomization flux-system/apps")
            && s.contains("then:             scale shop/deploy/ks-api from 2 to 3")
    });
    assert_eq!(suspend(&rig), "", "nothing before Enter");
    pty.send("\r");
    pty.wait_until("the scale's dry-run once suspended", |s| {
        s.contains("server dry-run: ok · Enter: scale shop/deploy/ks-api from 2 to 3")
    });
    assert_eq!(suspend(&rig), "true", "kubectl sees the owner suspended");
    pty.send("\r");
    pty.wait_until("scaled", |s| s.contains("rolled out: 3 replicas ready · Enter: close"));
    rig.wait_until("3 replicas", || rig.stored_replicas("shop", "ks-api").0 == 3);
    pty.send("\r");
    pty.wait_until("the reminder", |s| s.contains("suspended: Flux Kustomization flux-system/apps"));

    // One key resumes.
    pty.send("R");
    pty.wait_until("the resume preview", |s| {
        s.contains("resume gitops") && s.contains("reconciliation resumes") && s.contains("spec.replicas changed by")
    });
    pty.send("\r");
    pty.wait_until("the resume's dry-run", |s| s.contains("server dry-run: ok · Enter: resume Flux Kustomization"));
    pty.send("\r");
    pty.wait_until("resumed", |s| s.contains("done: resume Flux Kustomization"));
    assert_eq!(suspend(&rig), "false");
    pty.send("\r");
    pty.wait_until("the reminder gone, the owner Ready", |s| s.contains("Ready + drift") && !s.contains("suspended"));
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);

    let audit = std::fs::read_to_string(dir.path().join("data").join("audit.jsonl")).unwrap();
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["outcome"] != "dry-run")
        .collect();
    let pairs = fields(&entries, "action", "outcome");
    assert_eq!(
        pairs,
        [
            ("change in git", "written: 1 file(s)"),
            ("suspend gitops", "applied"),
            ("scale", "applied"),
            ("resume gitops", "applied")
        ]
    );
}
