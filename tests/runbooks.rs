//! Runbooks end to end: the real binary runs them against the simulated cluster (its
//! controllers moving pods, its pods writing logs), and the outcome is read back through
//! the real `kubectl`, the audit log and the run-state file.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cockpit::sim::SimOptions;
use support::rig::{Rig, text};

fn write(path: PathBuf, body: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, body).unwrap();
    path
}

fn env_var(rig: &Rig, ns: &str, deploy: &str, var: &str) -> String {
    let path = format!("jsonpath={{.spec.template.spec.containers[0].env[?(@.name==\"{var}\")].value}}");
    rig.kubectl(&["get", "deploy", deploy, "-n", ns, "-o", &path])
}

fn applied(rig: &Rig) -> Vec<(String, String)> {
    rig.audit()
        .iter()
        .filter(|e| e["outcome"] == "applied")
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["target"].as_str().unwrap().to_string()))
        .collect()
}

fn state(rig: &Rig, runbook: &str) -> Option<serde_json::Value> {
    let path = rig.data_dir().join("runs").join(format!("cockpit-sim__soundspan-staging__{runbook}.json"));
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The demo's profile (its SLO rules) as the profile of the simulator's context.
fn with_demo_profile(rig: &Rig) {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/profiles/demo.toml")).unwrap();
    write(rig.config_dir().join("profiles").join("cockpit-sim.toml"), &demo);
}

#[test]
fn the_staged_rollout_runs_to_completion_on_the_demo() {
    let rig = Rig::start(SimOptions::default());
    with_demo_profile(&rig);
    let ns = "soundspan-staging";
    rig.wait_until("staging to settle", || rig.stored_replicas(ns, "soundspan-backend").1 == 1);

    let dry = rig.cockpit(&["runbook", "run", "soundspan-staged-rollout", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let plan = text(&dry);
    assert!(plan.contains("BACKEND_PROCESS_ROLE: \"all\" → \"api\""), "{plan}");
    assert!(plan.contains("soundspan-backend: 0 allowed now → 1 after"), "the PDB headroom of the scale: {plan}");
    assert!(!plan.contains("refused"), "{plan}");
    assert_eq!(rig.replicas(ns, "soundspan-backend-worker").0, 0, "a dry run changes nothing");
    assert_eq!(env_var(&rig, ns, "soundspan-backend", "BACKEND_PROCESS_ROLE"), "all");

    let run = rig.cockpit(&["runbook", "run", "soundspan-staged-rollout", "--yes", "--param", "observe=5s"]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(out.contains("runbook soundspan-staged-rollout: passed"), "{out}");
    assert!(out.contains("gate passed: pdb-allows ≥ 1 for soundspan-backend: soundspan-backend: 1 allowed"), "{out}");
    assert_eq!(rig.replicas(ns, "soundspan-backend-worker"), (1, 1));
    assert_eq!(rig.replicas(ns, "soundspan-backend"), (2, 2));
    assert_eq!(rig.replicas(ns, "soundspan-frontend"), (2, 2));
    assert_eq!(env_var(&rig, ns, "soundspan-backend", "BACKEND_PROCESS_ROLE"), "api");
    let expected = [
        ("scale", "soundspan-staging/deploy/soundspan-backend-worker"),
        ("set env", "soundspan-staging/deploy/soundspan-backend"),
        ("scale", "soundspan-staging/deploy/soundspan-backend"),
        ("scale", "soundspan-staging/deploy/soundspan-frontend"),
    ];
    assert_eq!(applied(&rig), expected.map(|(a, t)| (a.to_string(), t.to_string())));
    let ended = state(&rig, "soundspan-staged-rollout").expect("a state file");
    assert_eq!(ended["status"], "passed");
    let transitions = rig.audit().iter().filter(|e| e["action"] == "runbook").count();
    assert!(transitions >= 2 + 7 * 2, "run started/ended and every step's transitions are audited: {transitions}");

    let again = rig.cockpit(&["runbook", "run", "soundspan-staged-rollout", "--yes", "--param", "observe=1s"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("already in the cluster: scale"), "a second run changes nothing: {}", text(&again));
    assert_eq!(applied(&rig).len(), expected.len(), "no change was sent twice");
}

const RISKY: &str = "\
name: risky-scale
namespace: soundspan
on_failure: {runbook: risky-scale-rollback}
steps:
  - id: scale-analyzer
    scale: {service: soundspan-audio-analyzer, replicas: 2}
    gates:
      - rollout-complete: {timeout: 2m}
      - slo-clean: {service: soundspan-backend, rules: [reconnect-exceeded], window: 5m, for: 3m}
";

const RISKY_ROLLBACK: &str = "\
name: risky-scale-rollback
namespace: soundspan
steps:
  - id: analyzer-back
    scale: {service: soundspan-audio-analyzer, replicas: 1}
    gates: [rollout-complete]
";

/// The demo's reconnect warnings, failing at the first one (the built-in rule waits for
/// three minutes of them).
const PROFILE: &str = "\
[[slo]]
name = \"reconnect-exceeded\"
service = \"soundspan-backend\"
pattern = 'ListenTogether/SLO.*exceeded target'
window = \"5m\"
threshold = 1
severity = \"error\"
";

#[test]
fn a_failing_slo_gate_runs_the_rollback_runbook_and_the_cluster_ends_rolled_back() {
    let rig = Rig::start(SimOptions::default());
    let runbook = write(rig.dir.path().join("books").join("risky-scale.yaml"), RISKY);
    write(rig.dir.path().join("books").join("risky-scale-rollback.yaml"), RISKY_ROLLBACK);
    let profile = write(rig.dir.path().join("profile.toml"), PROFILE);
    let run =
        rig.cockpit(&["--profile", profile.to_str().unwrap(), "runbook", "run", runbook.to_str().unwrap(), "--yes"]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "the gate failed: {out}");
    assert!(out.contains("reconnect-exceeded") && out.contains("exceeded target"), "the evidence: {out}");
    assert!(out.contains("running the rollback runbook risky-scale-rollback"), "{out}");
    assert!(out.contains("rolled back"), "{out}");
    assert_eq!(rig.replicas("soundspan", "soundspan-audio-analyzer"), (1, 1), "the cluster is rolled back");
    let expected = [
        ("scale", "soundspan/deploy/soundspan-audio-analyzer"),
        ("scale", "soundspan/deploy/soundspan-audio-analyzer"),
    ];
    assert_eq!(applied(&rig), expected.map(|(a, t)| (a.to_string(), t.to_string())));
    let scales: Vec<i64> = rig
        .audit()
        .iter()
        .filter(|e| e["outcome"] == "applied")
        .map(|e| e["after"]["replicas"].as_i64().unwrap())
        .collect();
    assert_eq!(scales, [2, 1]);
}

const TWO_STEPS: &str = "\
name: two-steps
namespace: soundspan-staging
steps:
  - id: worker
    scale: {service: soundspan-backend-worker, replicas: 1}
    gates:
      - rollout-complete
      - ready-stable: {for: 40s}
  - id: role
    set-env: {service: soundspan-backend, env: {BACKEND_PROCESS_ROLE: api}}
    gates: [rollout-complete]
";

#[test]
fn a_killed_run_resumes_without_repeating_its_change_and_a_second_run_is_refused() {
    let rig = Rig::start(SimOptions::default());
    write(rig.config_dir().join("runbooks").join("two-steps.yaml"), TWO_STEPS);
    let mut first = rig.spawn(&["runbook", "run", "two-steps", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = state(&rig, "two-steps")
            .is_some_and(|s| s["steps"][0]["state"] == "waiting" && s["steps"][0]["applied"] == true);
        if waiting && rig.stored_replicas("soundspan-staging", "soundspan-backend-worker").0 == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the first run never reached its gates: {:?}", state(&rig, "two-steps"));
        std::thread::sleep(Duration::from_millis(100));
    }

    let second = rig.cockpit(&["runbook", "run", "two-steps", "--yes"]);
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    assert!(text(&second).contains("already running (pid"), "{}", text(&second));

    first.kill().unwrap();
    first.wait().unwrap();
    let left = state(&rig, "two-steps").unwrap();
    assert_eq!(left["status"], "running", "a killed run is left as it was");

    let fresh = rig.cockpit(&["runbook", "run", "two-steps", "--yes"]);
    assert_eq!(fresh.status.code(), Some(4), "{}", text(&fresh));
    assert!(text(&fresh).contains("was interrupted at step 1 (worker): continue it with --resume"), "{}", text(&fresh));

    let resumed = rig.cockpit(&["runbook", "run", "two-steps", "--yes", "--resume"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert_eq!(rig.replicas("soundspan-staging", "soundspan-backend-worker"), (1, 1));
    assert_eq!(env_var(&rig, "soundspan-staging", "soundspan-backend", "BACKEND_PROCESS_ROLE"), "api");
    let expected = [
        ("scale", "soundspan-staging/deploy/soundspan-backend-worker"),
        ("set env", "soundspan-staging/deploy/soundspan-backend"),
    ];
    assert_eq!(applied(&rig), expected.map(|(a, t)| (a.to_string(), t.to_string())), "the scale was not sent again");
    assert_eq!(state(&rig, "two-steps").unwrap()["status"], "passed");
}

#[test]
fn validation_and_rbac_refusals_change_nothing() {
    let rig = Rig::start(SimOptions { extra_users: vec![support::viewer()], ..Default::default() });
    let bad = write(rig.dir.path().join("bad.yaml"), "name: bad\nsteps:\n  - scale: {service: api, replicas: many}\n");
    let out = rig.cockpit(&["runbook", "validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("bad.yaml:3: error: steps[0].scale.replicas: expected a whole number, got \"many\""),
        "{}",
        text(&out)
    );
    let out = rig.cockpit(&["runbook", "run", "scale-out-in-steps", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs a value: pass --param service=…"), "{}", text(&out));

    let viewer = rig.dir.path().join("viewer.json");
    cockpit::sim::kubeconfig::write(&viewer, &rig.sim().kubeconfig_for_user("viewer").unwrap()).unwrap();
    let out = rig.cockpit_as(&viewer, &["runbook", "run", "two", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "an unknown runbook: {}", text(&out));
    let steps = [
        "scale-out-in-steps",
        "--yes",
        "--param",
        "service=soundspan/soundspan-audio-analyzer",
        "--param",
        "replicas=2",
    ];
    let args: Vec<&str> = ["runbook", "run"].into_iter().chain(steps).collect();
    let out = rig.cockpit_as(&viewer, &args);
    assert_eq!(out.status.code(), Some(4), "RBAC refuses the change: {}", text(&out));
    assert!(text(&out).contains("forbidden") && text(&out).contains("viewer"), "{}", text(&out));
    assert_eq!(rig.stored_replicas("soundspan", "soundspan-audio-analyzer").0, 1);
    let read_only: Vec<&str> = ["--read-only"].into_iter().chain(args.iter().copied()).collect();
    assert_eq!(rig.cockpit(&read_only).status.code(), Some(4));
    let last = rig.audit().pop().expect("the read-only refusal is audited");
    assert_eq!(last["outcome"], "refused: read-only", "{last}");
    assert_eq!(rig.stored_replicas("soundspan", "soundspan-audio-analyzer").0, 1);
}

const CARRY_ON: &str = "\
name: carry-on
namespace: statewave
steps:
  - id: no-pdb
    wait: 0s
    gates:
      - pdb-allows: {service: statewave-pg, timeout: 0s}
    on_failure: continue
  - id: room
    wait: 0s
    gates:
      - budget-below: {service: statewave, percent: 100}
";

const BUDGET: &str = "\
name: budget-check
namespace: statewave
steps:
  - id: room
    wait: 0s
    gates:
      - budget-below: {service: statewave, percent: 100}
  - id: tight
    wait: 0s
    gates:
      - budget-below: {service: statewave, percent: 10}
";

#[test]
fn budget_gates_judge_the_same_budget_the_cockpit_shows() {
    let rig = Rig::start(SimOptions::default());
    with_demo_profile(&rig);
    let runbook = write(rig.dir.path().join("budget-check.yaml"), BUDGET);
    let out = rig.cockpit(&["runbook", "run", runbook.to_str().unwrap(), "--yes"]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The autoscaler moves the replicas (and so the budget) while the demo runs: the gate
    // and `budget` are compared on what each saw, not on a fixed number.
    let seen = text.split("statewave-pg at ").nth(2).and_then(|t| t.split(" %").next()).unwrap_or_default();
    let seen: f64 = seen.parse().unwrap_or_else(|_| panic!("a percentage in: {text}"));
    assert!(text.contains("step room passed: statewave-pg at"), "{text}");
    assert!(text.contains("(needs below 10 %)"), "{text}");
    let budget = rig.cockpit(&["-n", "statewave", "budget", "-o", "json"]);
    let budget: serde_json::Value = serde_json::from_slice(&budget.stdout).unwrap();
    let percent = budget["databases"][0]["percent"].as_f64().unwrap();
    assert!(seen > 10.0 && percent > 10.0, "gate {seen} %, budget {percent} %");
}

#[test]
fn a_step_that_fails_and_continues_still_fails_the_run_once_the_rest_is_done() {
    let rig = Rig::start(SimOptions::default());
    with_demo_profile(&rig);
    let runbook = write(rig.dir.path().join("carry-on.yaml"), CARRY_ON);
    let out = rig.cockpit(&["runbook", "run", runbook.to_str().unwrap(), "--yes"]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("step no-pdb failed; the runbook says continue"), "{text}");
    assert!(text.contains("step room passed"), "the rest still runs: {text}");
    assert!(text.contains("runbook carry-on: failed — step no-pdb failed: pdb-allows"), "{text}");
}

/// Two slo-clean gates on a service no SLO rule applies to: the first is skipped (and says
/// so, in the output and the state file), the second is `required` and fails the run.
const NOTHING_TO_JUDGE: &str = "\
name: nothing-to-judge
namespace: statewave
steps:
  - id: look
    wait: 1s
    gates:
      - slo-clean: {service: statewave, for: 1s}
  - id: strict
    wait: 1s
    gates:
      - slo-clean: {service: statewave, required: true}
";

#[test]
fn an_slo_gate_with_no_rule_to_judge_is_skipped_and_a_required_one_fails() {
    let rig = Rig::start(SimOptions::default());
    with_demo_profile(&rig);
    let runbook = write(rig.dir.path().join("nothing-to-judge.yaml"), NOTHING_TO_JUDGE);
    let out = rig.cockpit(&["runbook", "run", runbook.to_str().unwrap(), "--yes"]);
    let text = text(&out);
    assert_eq!(out.status.code(), Some(1), "the required gate fails the run: {text}");
    assert!(
        text.contains("gate skipped: slo-clean statewave (every rule; 15 m window, watched 1 s): no SLO rule applies to statewave: nothing to judge"),
        "{text}"
    );
    assert!(!text.contains("gate passed: slo-clean"), "skipped is not passed: {text}");
    assert!(text.contains("gate skipped (nothing to judge): slo-clean statewave"), "the summary says so: {text}");
    assert!(text.contains("nothing to judge, and the gate is required"), "{text}");
    let path = rig.data_dir().join("runs").join("cockpit-sim__statewave__nothing-to-judge.json");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(state["steps"][0]["state"], "passed", "{state}");
    assert_eq!(state["steps"][0]["gates"][0]["state"], "skipped", "{state}");
    assert!(state["steps"][0]["detail"].as_str().unwrap().starts_with("gate skipped: "), "{state}");
    assert_eq!(state["steps"][1]["state"], "failed", "{state}");
    assert_eq!(state["steps"][1]["gates"][0]["state"], "failed", "{state}");
}

/// Node maintenance as a runbook: cordon, the guided drain (its gate: every pod to move
/// gone from the node), uncordon; every step audited, the node taking pods again at the end.
#[test]
fn a_node_maintenance_runbook_cordons_drains_and_uncordons_a_node() {
    let dir = tempfile::tempdir().unwrap();
    // Two replicas of web behind a budget that allows one disruption.
    let scenario = format!("{}---{}", support::TWO_NODES, support::web(2, 1));
    let scenario = write(dir.path().join("nodes.yaml"), &scenario).display().to_string();
    let rig = Rig::start_scenario(SimOptions { scenario: Some(scenario), ..SimOptions::default() });
    rig.wait_until("web ready", || rig.stored_replicas("shop", "web").1 == 2);
    let mut node = String::new();
    rig.wait_until("a drainable node carrying pods", || {
        let out = rig.cockpit(&["nodes", "-o", "json"]);
        let nodes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let found =
            nodes["nodes"].as_array().into_iter().flatten().find(|n| {
                n["drain"]["drainable"] == true && n["drain"]["evict"].as_array().is_some_and(|p| !p.is_empty())
            });
        node = found.and_then(|n| n["name"].as_str()).unwrap_or_default().to_string();
        !node.is_empty()
    });
    let runbook = write(
        rig.dir.path().join("node-maintenance.yaml"),
        "name: node-maintenance\nparams:\n  node: {}\nsteps:\n  - id: cordon\n    cordon: \"{{node}}\"\n  - id: drain\n    drain: {node: \"{{node}}\", force: true}\n    gates:\n      - node-drained: {timeout: 3m}\n  - id: uncordon\n    uncordon: \"{{node}}\"\n",
    );
    let path = runbook.display().to_string();
    let param = format!("node={node}");
    let check = rig.cockpit(&["runbook", "validate", &path]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let dry = rig.cockpit(&["runbook", "run", &path, "--dry-run", "--param", &param]);
    let preview = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{preview}");
    assert!(preview.contains(&format!("drain {node}: can complete now")), "the drain's plan: {preview}");
    assert!(preview.contains("server dry-run     ok"), "{preview}");
    let untouched = rig.kubectl(&["get", "node", &node, "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(untouched.trim(), "", "a dry run cordons nothing");
    let run = rig.cockpit(&["runbook", "run", &path, "--yes", "--param", &param]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    for line in ["cordoned", "evicted ", &format!("drained {node}"), &format!("gate passed: node-drained {node}")] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    assert!(out.contains("runbook node-maintenance: passed"), "{out}");
    let unschedulable = rig.kubectl(&["get", "node", &node, "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(unschedulable.trim(), "", "uncordoned at the end");
    let target = format!("node/{node}");
    let audited: Vec<(String, String)> = rig
        .audit()
        .iter()
        .filter(|e| e["target"] == target.as_str())
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect();
    for (action, outcome) in [("cordon", "applied"), ("drain", "drained"), ("uncordon", "applied")] {
        assert!(audited.contains(&(action.to_string(), outcome.to_string())), "{action} {outcome} in {audited:?}");
    }

    // Every web pod is now on the other node; a budget of 2 of 2 blocks its drain, which
    // the step refuses before anything changes, as `drain` does.
    let other = if node == "node-a" { "node-b" } else { "node-a" };
    rig.kubectl(&["patch", "pdb", "web", "-n", "shop", "--type", "merge", "-p", r#"{"spec":{"minAvailable":2}}"#]);
    rig.wait_until("the other node blocked by the budget", || {
        let out = rig.cockpit(&["drain-plan", other]);
        out.status.code() == Some(1) && text(&out).contains("BLOCKED  shop/web-")
    });
    let blocked = rig.cockpit(&["runbook", "run", &path, "--yes", "--param", &format!("node={other}")]);
    let out = text(&blocked);
    assert_eq!(blocked.status.code(), Some(4), "refused: {out}");
    assert!(out.contains(&format!("drain {other}: refused: cannot complete now: shop/web-")), "{out}");
    let cordoned = rig.kubectl(&["get", "node", other, "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(cordoned.trim(), "true", "the cordon step before it ran; the drain evicted nothing");
    assert!(rig.kubectl(&["get", "pods", "-n", "shop", "-o", "wide"]).matches(other).count() >= 2, "web stays");
}
