//! `kubectl-cockpit lint` (the real binary) on the built-in demo: the output matches the
//! checked-in expectation (`tests/expected/lint-demo.json`), the demo's deliberate problems
//! are among the findings, exit codes follow the contract, and a profile can switch a check
//! off or change its severity.

use std::process::{Command, Output};

use serde_json::Value;

const EXPECTED: &str = include_str!("expected/lint-demo.json");

fn cockpit(args: &[&str], dir: &tempfile::TempDir) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(args)
        .env("KUBECTL_COCKPIT_CONFIG", dir.path().join("config"))
        .env("KUBECTL_COCKPIT_DATA", dir.path().join("data"))
        .output()
        .expect("the cockpit runs")
}

fn lint_json(extra: &[&str], dir: &tempfile::TempDir) -> (Option<i32>, Value) {
    let mut args = vec!["--demo"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["lint", "-o", "json"]);
    let out = cockpit(&args, dir);
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

fn has(json: &Value, workload: &str, id: &str) -> bool {
    json["findings"].as_array().unwrap().iter().any(|f| f["workload"] == workload && f["id"] == id)
}

#[test]
fn the_demo_matches_the_checked_in_expectation_and_its_problems_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json) = lint_json(&[], &dir);
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    assert_eq!(
        json, expected,
        "regenerate with `cargo run -- --demo lint -o json > tests/expected/lint-demo.json` if a change is intended"
    );
    assert_eq!(code, Some(1), "an error-level finding remains");
    // The problems the demo was built with.
    assert!(has(&json, "deploy/gitserver", "pdb-blocks-disruptions"), "minAvailable 1 of 1 replica");
    assert!(has(&json, "deploy/soundspan-backend", "image-unpinned"), ":latest");
    assert!(has(&json, "deploy/app", "budget-at-hpa-max"), "HPA max 10 x 10 connections over 97 usable");
    assert!(has(&json, "deploy/redis", "single-replica-stateful"));
    let table = cockpit(&["--demo", "lint"], &dir);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("pdb-blocks-disruptions [warning]") && text.contains("fix: allow at least one disruption"),
        "{text}"
    );
}

#[test]
fn a_profile_switches_a_check_off_or_changes_its_severity() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/profiles/demo.toml")).unwrap();
    let profile = dir.path().join("profile.toml");
    let rules = r#"
[[lint]]
check = "budget-at-hpa-max"
severity = "off"

[[lint]]
check = "image-unpinned"
severity = "error"
namespace = "soundspan-staging"

[[lint]]
check = "run-as-root"
severity = "off"
service = "honeydue/admin"
"#;
    std::fs::write(&profile, format!("{demo}\n{rules}")).unwrap();
    let (code, json) = lint_json(&["--profile", profile.to_str().unwrap()], &dir);
    assert!(!has(&json, "deploy/app", "budget-at-hpa-max"), "switched off");
    let image = |ns: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["namespace"] == ns && f["workload"] == "deploy/soundspan-redis" && f["id"] == "image-unpinned")
            .map(|f| f["severity"].clone())
    };
    assert_eq!(image("soundspan-staging"), Some("error".into()), "raised for one namespace");
    assert_eq!(image("soundspan"), Some("warning".into()), "left alone elsewhere");
    let run_as_root = |ns: &str, w: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["namespace"] == ns && f["workload"] == w && f["id"] == "run-as-root")
    };
    assert!(
        !run_as_root("honeydue", "deploy/admin") && run_as_root("honeydue", "deploy/worker"),
        "off for one service only"
    );
    assert_eq!(code, Some(1), "the raised severity is an error");

    std::fs::write(&profile, "[[lint]]\ncheck = \"image-unpined\"\nseverity = \"off\"\n").unwrap();
    let out = cockpit(&["--demo", "--profile", profile.to_str().unwrap(), "lint"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "profile.toml:2: error: lint[0].check: unknown check \"image-unpined\"; did you mean \"image-unpinned\"?"
        ),
        "{stderr}"
    );
}

#[test]
fn a_hand_scaled_gitops_workload_is_drift() {
    use cockpit::sim::world::{self, ScenarioSource};
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let scenario = world::load(&ScenarioSource::Builtin("clean".into())).unwrap();
    let sim = rt.block_on(cockpit::sim::start_with(scenario, cockpit::sim::SimOptions::default())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig.json");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let manifest = dir.path().join("shop.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\n\
         metadata: {name: api, namespace: shop, labels: {argocd.argoproj.io/instance: shop}}\n\
         spec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n\
         \x20 template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: api, image: 'api:1.0.0'}]}\n",
    )
    .unwrap();
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    kubectl(&["apply", "-f", manifest.to_str().unwrap()]);
    let lint = || {
        let out = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["-n", "shop", "lint", "-o", "json"])
            .env("KUBECTL_COCKPIT_CONFIG", dir.path().join("config"))
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert!(!has(&lint(), "deploy/api", "gitops-drift"), "as applied");
    kubectl(&["scale", "deploy/api", "-n", "shop", "--replicas=3"]);
    let after = lint();
    let drift = after["findings"].as_array().unwrap().iter().find(|f| f["id"] == "gitops-drift").cloned();
    assert_eq!(drift.map(|f| f["message"].clone()), Some("Argo CD declares 2 replicas; 3 are set".into()), "{after}");
    drop(sim);
}
