//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod postgres;
pub mod pty;
pub mod rig;

use cockpit::sim::spec::{RuleSpec, UserSpec};

/// A simulator user who may read everything and change nothing.
pub fn viewer() -> UserSpec {
    UserSpec {
        name: "viewer".into(),
        token: "viewer-token".into(),
        groups: vec![],
        rules: vec![RuleSpec {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            resources: vec!["*".into()],
            namespaces: vec![],
        }],
    }
}

/// A profile whose reconnect rule fails at three matches of the demo's SLO burst, so a
/// test need not wait out the demo's sustained minutes. Written into `dir`.
pub fn quick_slo_profile(dir: &std::path::Path) -> std::path::PathBuf {
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[[slo]]\nname = \"listen-together-reconnect\"\nservice = \"soundspan-backend\"\n\
         pattern = 'ListenTogether/SLO.*Reconnect latency (?P<ms>\\d+)ms exceeded target'\n\
         capture = { group = \"ms\", above = 5000 }\nthreshold = 3\n",
    )
    .unwrap();
    profile
}

/// Two nodes (node-a small, node-b large), pods that start and stop in a second, and the
/// namespace `shop`: where the node maintenance tests' scenarios start.
pub const TWO_NODES: &str = r#"
apiVersion: sim.cockpit.dev/v1
kind: Scenario
metadata: {name: nodes}
spec:
  nodes:
    - {name: node-a, cpu: "4", memory: 8Gi}
    - {name: node-b, cpu: "16", memory: 64Gi}
  defaults: {pull: 0s, start: 1s, shutdown: 1s}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
"#;

/// `web` in `shop`: `replicas` small pods behind a budget of `min_available`.
pub fn web(replicas: u32, min_available: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: c, image: "shop/web:1", resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web, namespace: shop}}
spec: {{minAvailable: {min_available}, selector: {{matchLabels: {{app: web}}}}}}
"#
    )
}

/// The state a run leaves when its cockpit dies mid-run (its process gone), saved where the
/// cockpit looks for interrupted runs of `context`: `runs` is `$KUBECTL_COCKPIT_DATA/runs`.
pub fn save_interrupted_run(
    runs: &std::path::Path,
    source: &std::path::Path,
    (context, namespace, runbook): (&str, &str, &str),
    params: Vec<(String, String)>,
    steps: Vec<cockpit::actions::runbook::state::StepRecord>,
) {
    use cockpit::actions::runbook::state::{RunState, RunStatus, save, state_path};
    let state = RunState {
        runbook: runbook.into(),
        source: source.display().to_string(),
        context: context.into(),
        namespace: namespace.into(),
        params,
        status: RunStatus::Running,
        started: "2026-12-02T03:00:00Z".parse().unwrap(),
        updated: "2026-12-02T03:01:00Z".parse().unwrap(),
        pid: 999_999,
        steps,
        rollback: None,
        message: String::new(),
    };
    save(&state_path(runs, context, namespace, runbook), &state).unwrap();
}
