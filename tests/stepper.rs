//! The runbook stepper in the real binary, in a pseudo-terminal, on the built-in
//! simulated cluster: a short runbook run step by step with the keys an operator uses,
//! and an interrupted run offered (and resumed) when the cockpit starts.

mod support;

use std::path::Path;
use std::time::Duration;

use support::pty::{Pty, isolated_env};

const SHORT: &str = "\
name: short
description: confirm, then enable the worker
namespace: soundspan-staging
steps:
  - id: check
    title: The worker image is pinned
    manual: [the worker image is pinned]
  - id: backup
    title: A backup was taken
    manual: [a fresh backup of the music library exists]
  - id: worker
    title: Enable the worker
    scale: {service: soundspan-backend-worker, replicas: 1}
    gates: [rollout-complete]
";

fn cockpit(dir: &Path, cols: u16, rows: u16) -> Pty {
    let runbooks = dir.join("config").join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap();
    std::fs::write(runbooks.join("short.yaml"), SHORT).unwrap();
    let env = isolated_env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Pty::spawn(&["--demo"], &env, cols, rows)
}

fn audit(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("data").join("audit.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Confirms the worker's scale when the stepper asks, and waits for the run to pass.
fn confirm_the_scale_and_pass(pty: &mut Pty) {
    pty.wait_until("the change to confirm", |s| {
        s.contains("scale soundspan-staging/deploy/soundspan-backend-worker from 0 to 1")
            && s.contains("server dry-run")
            && s.contains("send this change")
    });
    pty.send("\r");
    pty.wait_until("the run to pass", |s| s.contains("runbook short passed") && s.contains("✓  3 worker"));
}

#[test]
fn a_short_runbook_runs_through_the_stepper_confirming_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut pty = cockpit(dir.path(), 130, 36);
    pty.wait_until("the demo services", |s| s.contains("soundspan-backend") && s.contains("live"));
    pty.send(" r");
    pty.wait_until("the runbooks", |s| s.contains("Runbooks") && s.contains("confirm, then enable the worker"));
    pty.send("\r");
    pty.wait_for("Run short");
    pty.send("\r");
    pty.wait_until("the checklist", |s| {
        s.contains("[ ] the worker image is pinned") && s.contains("confirm every item")
    });
    pty.send("\r");
    pty.wait_until("the second checklist", |s| s.contains("[ ] a fresh backup of the music library exists"));
    pty.send("s");
    pty.wait_for("Skip this step");
    pty.send("staging has no library\r");
    confirm_the_scale_and_pass(&mut pty);
    assert!(pty.screen_text().contains("↷  2 backup"), "{}", pty.screen_text());
    let skipped = audit(dir.path())
        .into_iter()
        .find(|e| e["action"] == "runbook" && e["outcome"] == "step skipped")
        .expect("the skip is audited");
    assert_eq!(skipped["after"]["detail"], "skipped: staging has no library");
    let applied: Vec<serde_json::Value> = audit(dir.path()).into_iter().filter(|e| e["outcome"] == "applied").collect();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["target"], "soundspan-staging/deploy/soundspan-backend-worker");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn an_interrupted_run_is_offered_at_start_and_resumes_where_it_stopped() {
    use cockpit::actions::runbook::state::{StepRecord, StepState};
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("data").join("runs");
    let mut steps = vec![
        StepRecord::new("check", "The worker image is pinned", "confirm 1 item(s)".into()),
        StepRecord::new("backup", "A backup was taken", "confirm 1 item(s)".into()),
        StepRecord::new("worker", "Enable the worker", "scale soundspan-backend-worker to 1".into()),
    ];
    steps[0].state = StepState::Passed;
    steps[1].state = StepState::Skipped;
    steps[2].state = StepState::Running;
    let source = dir.path().join("config/runbooks/short.yaml");
    support::save_interrupted_run(&runs, &source, ("cockpit-sim", "soundspan-staging", "short"), vec![], steps);
    let mut pty = cockpit(dir.path(), 100, 30);
    pty.wait_until("the offer to resume", |s| {
        s.contains("Interrupted runbook") && s.contains("short on soundspan-staging stopped at step 3 (worker)")
    });
    pty.send("\r");
    confirm_the_scale_and_pass(&mut pty);
    assert!(!pty.screen_text().contains("[ ] the worker image is pinned"), "the confirmed step is not asked again");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}
