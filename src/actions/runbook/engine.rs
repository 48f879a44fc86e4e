//! Runs a runbook: plans each step from the live model, sends its change through the
//! guided actions' one execution path (guards, server dry-run, confirmation, precondition,
//! audit), then watches its gates on the same model and logs the overview and `gate` use.
//! The operator (a terminal prompt, `--yes`, or the cockpit's stepper) answers through
//! [`Control`]s; the engine reports through [`RunEvent`]s and the run-state file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::error::RunError;
use super::state::{self, GateRecord, RunLock, RunState, RunStatus, StepRecord, StepState};
use super::{NodeStep, StepPlan, more_increments, plan_step, resolve};
use crate::actions::drain::{self, DrainEnd};
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::actions::{Action, ActionPlan};
use crate::cluster::logs::{LogEvent, LogFollower, pod_targets};
use crate::cluster::nodes;
use crate::cluster::session::ClusterView;
use crate::model::budget::budget_of;
use crate::model::drain::NodeDrain;
use crate::model::gate::counted_checks;
use crate::model::pods::PodFacts;
use crate::model::runbook::{
    Gate, GateEvidence, GateStatus, OnFailure, Runbook, Step, StepAction, evaluate, steady_since,
};
use crate::model::sanitize::{Sgr, sanitize_bytes};
use crate::model::service::{Service, ServiceKey};
use crate::model::slo::{RuleSet, SloCounts, SloRule};

/// Containers whose logs one slo-clean gate follows at most.
const GATE_STREAM_CAP: usize = 24;
/// How often a waiting gate is judged again when nothing else happens (its countdown).
const TICK: Duration = Duration::from_secs(1);
/// How often a confirmed change is re-sent after a conflict caused by a status update.
const CONFLICT_RETRIES: usize = 3;
/// How long to wait for the watches to show a change that was just made.
const OBSERVE_CHANGE: Duration = Duration::from_secs(30);

/// What the engine asks of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Send this change? (The server's dry-run said `dry_run`.)
    Change { step: usize, plan: Box<ActionPlan>, dry_run: String, typed_name: bool },
    /// Confirm every item of this checklist, or skip the step with a reason.
    Manual { step: usize, checklist: Vec<String> },
    /// Cordon, uncordon or drain this node? (`preview`: the drain's plan and guards, one
    /// line each; the server's dry-run said `dry_run`.)
    Node { step: usize, node: String, what: String, preview: Vec<String>, dry_run: String, typed_name: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Skip a manual step; the reason goes into the state file and the audit log.
    Skip(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    Answer(Answer),
    Pause,
    Resume,
    Abort,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// The run as it is now (after every transition and every new gate detail).
    State(Box<RunState>),
    Ask(Prompt),
    /// A line for the operator: what was sent, what passed, what failed.
    Note(String),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// The failure was a guard's (or RBAC's, or the server's dry-run's) refusal.
    pub refused: bool,
    pub message: String,
}

/// Finds and loads a runbook a failing step hands over to, given the parameters of the run
/// that failed (it takes those it declares).
pub type Related = Box<dyn Fn(&str, &[(String, String)]) -> Result<Runbook, String> + Send + Sync>;

/// What the engine talks to.
pub struct Io {
    pub exec: ExecContext,
    pub views: watch::Receiver<Arc<ClusterView>>,
    /// Where run states and locks live.
    pub runs_dir: PathBuf,
    pub auto_confirm: bool,
    pub events: mpsc::UnboundedSender<RunEvent>,
    pub controls: mpsc::UnboundedReceiver<Control>,
    pub related: Related,
}

/// Why a step stopped early.
enum Interrupt {
    Aborted,
    Declined,
    Failed { reason: String, refused: bool },
}

type Flow<T> = Result<T, Interrupt>;

fn now() -> Timestamp {
    Timestamp::now()
}

/// A run in progress: its runbook, its state, and the file that state is saved to.
pub struct Run {
    pub runbook: Runbook,
    pub state: RunState,
    pub path: PathBuf,
    pub namespace: String,
    _lock: RunLock,
}

impl Run {
    /// A new run of `runbook` on `namespace`, refused when one is already in progress
    /// (running elsewhere, or interrupted and waiting for `--resume`).
    pub fn start(runbook: Runbook, context: &str, namespace: &str, runs_dir: &Path) -> Result<Run, RunError> {
        let path = state::state_path(runs_dir, context, namespace, &runbook.name);
        let lock = lock(&path, &runbook, namespace)?;
        if let Some(old) = state::load(&path)?.filter(|s| !s.status.ended()) {
            return Err(RunError::Interrupted {
                runbook: runbook.name.clone(),
                namespace: namespace.to_string(),
                at: old.resume_at().map(|i| (i, old.steps[i].id.clone())),
                path,
            });
        }
        let stamp = now();
        let steps = runbook.steps.iter().map(|s| StepRecord::new(&s.id, &s.title, s.action.summary())).collect();
        let state = RunState {
            runbook: runbook.name.clone(),
            source: runbook.source.clone(),
            context: context.to_string(),
            namespace: namespace.to_string(),
            params: runbook.params.clone(),
            status: RunStatus::Running,
            started: stamp,
            updated: stamp,
            pid: std::process::id(),
            steps,
            rollback: None,
            message: String::new(),
        };
        Ok(Run { runbook, state, path, namespace: namespace.to_string(), _lock: lock })
    }

    /// Takes over an interrupted run. Its steps must still be the runbook's (a changed
    /// runbook is not resumed: its step numbers would mean something else).
    pub fn resume(runbook: Runbook, context: &str, namespace: &str, runs_dir: &Path) -> Result<Run, RunError> {
        let path = state::state_path(runs_dir, context, namespace, &runbook.name);
        let lock = lock(&path, &runbook, namespace)?;
        let Some(mut state) = state::load(&path)?.filter(|s| !s.status.ended()) else {
            return Err(RunError::NothingToResume { runbook: runbook.name.clone(), namespace: namespace.to_string() });
        };
        let ids: Vec<String> = runbook.steps.iter().map(|s| s.id.clone()).collect();
        let saved: Vec<String> = state.steps.iter().map(|s| s.id.clone()).collect();
        if ids != saved {
            return Err(RunError::Changed { runbook: runbook.name.clone(), then: saved, now: ids });
        }
        state.status = RunStatus::Running;
        state.pid = std::process::id();
        Ok(Run { runbook, state, path, namespace: namespace.to_string(), _lock: lock })
    }
}

/// The run's lock, or who holds it.
fn lock(path: &Path, runbook: &Runbook, namespace: &str) -> Result<RunLock, RunError> {
    RunLock::acquire(path).map_err(|cause| RunError::Lock {
        runbook: runbook.name.clone(),
        namespace: namespace.to_string(),
        cause: Box::new(cause),
    })
}

/// Runs (or continues) `run` to its end.
pub async fn execute(io: &mut Io, run: &mut Run) -> RunOutcome {
    let resumed = run.state.steps.iter().any(|s| s.state != StepState::Pending);
    let verb = if resumed { "resumed" } else { "started" };
    transition(io, run, None, verb);
    let outcome = steps(io, run).await;
    let (status, refused, message) = match outcome {
        Ok(()) => (RunStatus::Passed, false, format!("runbook {} passed", run.runbook.name)),
        Err(Interrupt::Aborted) => (RunStatus::Aborted, false, format!("runbook {} aborted", run.runbook.name)),
        Err(Interrupt::Declined) => (RunStatus::Declined, false, "not confirmed; the run stopped there".to_string()),
        Err(Interrupt::Failed { reason, refused }) => match failing_step(run).map(|s| s.on_failure.clone()) {
            Some(OnFailure::Runbook(name)) => {
                let (status, message) = roll_back(io, run, &name, &reason).await;
                (status, refused, message)
            }
            _ => (RunStatus::Failed, refused, reason),
        },
    };
    run.state.status = status;
    run.state.message = message.clone();
    transition(io, run, None, status.as_str());
    RunOutcome { status, refused, message }
}

fn failing_step(run: &Run) -> Option<&Step> {
    let i = run.state.steps.iter().rposition(|s| s.state == StepState::Failed)?;
    run.runbook.steps.get(i)
}

async fn steps(io: &mut Io, run: &mut Run) -> Flow<()> {
    let Some(first) = run.state.resume_at() else { return Ok(()) };
    // A step that failed and said "continue" still fails the run once the rest is done.
    let mut carried_on: Option<Interrupt> = None;
    for i in first..run.runbook.steps.len() {
        match step(io, run, i).await {
            Ok(()) => {}
            Err(Interrupt::Failed { reason, refused }) => {
                end_step(io, run, i, StepState::Failed, &reason);
                if run.runbook.steps[i].on_failure != OnFailure::Continue {
                    return Err(Interrupt::Failed { reason, refused });
                }
                io.note(format!("step {} failed; the runbook says continue", run.runbook.steps[i].id));
                let reason = format!("step {} failed: {reason}", run.runbook.steps[i].id);
                carried_on.get_or_insert(Interrupt::Failed { reason, refused });
            }
            Err(other) => return Err(other),
        }
    }
    carried_on.map_or(Ok(()), Err)
}

/// Runs the rollback runbook `name` after `reason`; its own state file and lock make it
/// resumable like any run.
async fn roll_back(io: &mut Io, run: &mut Run, name: &str, reason: &str) -> (RunStatus, String) {
    io.note(format!("{reason}: running the rollback runbook {name}"));
    let loaded = (io.related)(name, &run.runbook.params);
    let context = run.state.context.clone();
    let started = |rb| Run::start(rb, &context, &run.namespace, &io.runs_dir).map_err(|e| e.to_string());
    let mut nested = match loaded.and_then(started) {
        Ok(nested) => nested,
        Err(e) => {
            run.state.rollback = Some(format!("{name}: not started: {e}"));
            return (RunStatus::RollbackFailed, format!("{reason}; the rollback runbook {name} could not start: {e}"));
        }
    };
    run.state.rollback = Some(format!("{name}: running"));
    save(io, run);
    let outcome = Box::pin(execute(io, &mut nested)).await;
    run.state.rollback = Some(format!("{name}: {}", outcome.status.as_str()));
    match outcome.status {
        RunStatus::Passed => (RunStatus::RolledBack, format!("{reason}; rolled back with {name}")),
        other => (
            RunStatus::RollbackFailed,
            format!("{reason}; the rollback {name} {}: {}", other.as_str(), outcome.message),
        ),
    }
}

impl Io {
    fn note(&self, text: impl Into<String>) {
        let _ = self.events.send(RunEvent::Note(text.into()));
    }

    /// The current view once the watches have listed everything.
    async fn synced_view(&mut self) -> Flow<Arc<ClusterView>> {
        loop {
            let view = self.views.borrow_and_update().clone();
            if !view.syncing {
                return Ok(view);
            }
            if self.views.changed().await.is_err() {
                return Err(cluster_gone());
            }
        }
    }

    /// Waits for the operator's answer; `--yes` answers yes.
    async fn ask(&mut self, prompt: Prompt) -> Flow<Answer> {
        if self.auto_confirm {
            return Ok(Answer::Yes);
        }
        let _ = self.events.send(RunEvent::Ask(prompt));
        loop {
            match self.controls.recv().await {
                Some(Control::Answer(answer)) => return Ok(answer),
                Some(Control::Abort) | None => return Err(Interrupt::Aborted),
                Some(Control::Pause | Control::Resume) => {}
            }
        }
    }

    /// Handles a control that arrived while waiting: pause holds until resume.
    async fn obey(&mut self, run: &mut Run, control: Option<Control>) -> Flow<bool> {
        match control {
            Some(Control::Abort) | None => Err(Interrupt::Aborted),
            Some(Control::Pause) => {
                run.state.status = RunStatus::Paused;
                transition(self, run, None, "paused");
                loop {
                    match self.controls.recv().await {
                        Some(Control::Resume) => break,
                        Some(Control::Abort) | None => return Err(Interrupt::Aborted),
                        Some(_) => {}
                    }
                }
                run.state.status = RunStatus::Running;
                transition(self, run, None, "resumed");
                Ok(true)
            }
            Some(Control::Resume | Control::Answer(_)) => Ok(false),
        }
    }
}

fn cluster_gone() -> Interrupt {
    Interrupt::Failed { reason: "the connection to the cluster ended".into(), refused: false }
}

/// Saves the state (atomically) and shows it.
fn save(io: &Io, run: &mut Run) {
    run.state.updated = now();
    if let Err(e) = state::save(&run.path, &run.state) {
        io.note(format!("warning: the run state could not be saved to {}: {e}", run.path.display()));
    }
    publish(io, run);
}

fn publish(io: &Io, run: &Run) {
    let _ = io.events.send(RunEvent::State(Box::new(run.state.clone())));
}

/// A transition of the run or of step `step`: saved, shown, and in the audit log.
fn transition(io: &Io, run: &mut Run, step: Option<usize>, what: &str) {
    save(io, run);
    let target = format!("{}/runbook/{}", run.namespace, run.runbook.name);
    let before = step.map_or(json!(null), |i| json!({"step": run.state.steps[i].id}));
    let after = match step {
        Some(i) => json!({"state": run.state.steps[i].state.as_str(), "detail": run.state.steps[i].detail}),
        None => json!({"status": run.state.status.as_str(), "message": run.state.message}),
    };
    if let Err(e) = io.exec.record_runbook(&target, before, after, what) {
        io.note(format!("warning: the audit log could not be written: {e}"));
    }
}

fn begin_step(io: &Io, run: &mut Run, i: usize) {
    let record = &mut run.state.steps[i];
    record.state = StepState::Running;
    record.started.get_or_insert_with(now);
    record.detail.clear();
    transition(io, run, Some(i), "step started");
    io.note(format!(
        "step {}/{} {}: {}",
        i + 1,
        run.runbook.steps.len(),
        run.runbook.steps[i].id,
        run.runbook.steps[i].title
    ));
}

fn end_step(io: &Io, run: &mut Run, i: usize, to: StepState, detail: &str) {
    let record = &mut run.state.steps[i];
    record.state = to;
    record.detail = detail.to_string();
    record.finished = Some(now());
    record.sending = false;
    transition(io, run, Some(i), &format!("step {}", to.as_str()));
    io.note(format!("step {} {}: {detail}", run.runbook.steps[i].id, to.as_str()));
}

async fn step(io: &mut Io, run: &mut Run, i: usize) -> Flow<()> {
    let step = run.runbook.steps[i].clone();
    if !step.enabled {
        run.state.steps[i].skip_reason = Some("when: false for these parameters".into());
        end_step(io, run, i, StepState::Skipped, "not for these parameters (when: false)");
        return Ok(());
    }
    begin_step(io, run, i);
    loop {
        let view = io.synced_view().await?;
        if !run.state.steps[i].applied {
            match act(io, run, i, &step, &view).await? {
                Acted::Done => {}
                Acted::Skipped(reason) => {
                    run.state.steps[i].skip_reason = Some(reason.clone());
                    end_step(io, run, i, StepState::Skipped, &format!("skipped: {reason}"));
                    return Ok(());
                }
            }
        }
        run.state.steps[i].state = StepState::Waiting;
        transition(io, run, Some(i), "step waiting for gates");
        watch_gates(io, run, i, &step).await?;
        let view = io.synced_view().await?;
        let service = step.action.service().and_then(|n| resolve(&view.services, n, &run.namespace).ok());
        if service.is_some_and(|s| more_increments(&step, s)) {
            run.state.steps[i].applied = false;
            continue;
        }
        let record = &run.state.steps[i];
        let detail = if record.gates.is_empty() {
            record.detail.clone()
        } else {
            // A skipped gate says so in the step's line too: it judged nothing.
            let detail =
                |g: &GateRecord| if g.skipped() { format!("gate skipped: {}", g.detail) } else { g.detail.clone() };
            record.gates.iter().map(detail).collect::<Vec<_>>().join("; ")
        };
        end_step(io, run, i, StepState::Passed, &detail);
        return Ok(());
    }
}

enum Acted {
    Done,
    Skipped(String),
}

/// The restart stamp a step saved, as the annotation carries it: a resumed restart sends
/// the same one, so the cluster shows whether it already arrived.
fn restart_stamp(run: &Run, i: usize) -> Option<String> {
    run.state.steps[i].restarted_at.map(|at| at.to_string())
}

/// The step's action: a checklist confirmed, a wait, or a change sent (unless the cluster
/// already has it — which is what makes a resumed step safe).
async fn act(io: &mut Io, run: &mut Run, i: usize, step: &Step, view: &ClusterView) -> Flow<Acted> {
    let stamp = restart_stamp(run, i);
    let plan = plan_step(step, &view.services, &view.budgets, &|s| view.room(s), &run.namespace, stamp.as_deref())
        .map_err(|e| Interrupt::Failed { reason: e.to_string(), refused: false })?;
    match plan {
        StepPlan::Manual { checklist } => match io.ask(Prompt::Manual { step: i, checklist }).await? {
            Answer::Yes => {
                let by = if io.auto_confirm { "checklist confirmed (--yes)" } else { "checklist confirmed" };
                mark_applied(io, run, i, by);
                Ok(Acted::Done)
            }
            Answer::Skip(reason) => Ok(Acted::Skipped(reason)),
            Answer::No => Err(Interrupt::Declined),
        },
        StepPlan::Wait { seconds } => {
            wait(io, run, i, seconds).await?;
            mark_applied(io, run, i, "waited");
            Ok(Acted::Done)
        }
        StepPlan::Node(node_step) => {
            node_change(io, run, i, &node_step, view.profile.production).await?;
            Ok(Acted::Done)
        }
        StepPlan::Change(mut plan) => {
            if let Action::Rollout(p) = &mut plan.action
                && p.restarted_at.is_none()
                && matches!(step.action, StepAction::Restart { .. })
            {
                let at = now();
                run.state.steps[i].restarted_at = Some(at);
                p.restarted_at = Some(at.to_string());
            }
            change(io, run, i, &plan, view).await?;
            Ok(Acted::Done)
        }
    }
}

fn mark_applied(io: &Io, run: &mut Run, i: usize, detail: &str) {
    let record = &mut run.state.steps[i];
    record.applied = true;
    record.sending = false;
    record.detail = detail.to_string();
    save(io, run);
}

async fn change(io: &mut Io, run: &mut Run, i: usize, plan: &ActionPlan, view: &ClusterView) -> Flow<()> {
    let refused = |reason: String| Interrupt::Failed { reason, refused: true };
    if let Some(guard) = plan.stopped_by() {
        let _ = io.exec.record_plan(plan, None, format!("refused: {}", guard.id));
        let instead = guard.alternative.as_ref().map_or_else(String::new, |a| format!(" — instead: {a}"));
        return Err(refused(format!("{}: refused: {}{instead}", plan.describe(), guard.message)));
    }
    let service = view.services.iter().find(|s| &s.key == plan.service()).ok_or_else(cluster_gone)?;
    let needed = io.exec.would_change(plan, service).await.map_err(|e| refused(format!("{}: {e}", plan.describe())))?;
    if !needed {
        io.note(format!("already in the cluster: {}", plan.describe()));
        mark_applied(io, run, i, "already in the cluster");
        return Ok(());
    }
    let dry = io.exec.dry_run_plan(plan).await;
    let dry_text = dry_run_text(&dry);
    if let Err(e) = dry {
        let _ = io.exec.record_plan(plan, Some(dry_text), format!("refused: {e}"));
        return Err(refused(format!("{}: the API server refused it: {e}", plan.describe())));
    }
    let typed_name = plan.needs_typed_name(view.profile.production);
    let prompt = Prompt::Change { step: i, plan: Box::new(plan.clone()), dry_run: dry_text.clone(), typed_name };
    match io.ask(prompt).await? {
        Answer::Yes => {}
        Answer::No | Answer::Skip(_) => {
            let _ = io.exec.record_plan(plan, Some(dry_text), "declined");
            return Err(Interrupt::Declined);
        }
    }
    run.state.steps[i].sending = true;
    save(io, run);
    let sent = send(io, run, i, plan, &dry_text).await?;
    io.note(format!("applied: {}", sent.describe()));
    mark_applied(io, run, i, &format!("applied: {}", sent.describe()));
    let old = plan.resource_version().map(str::to_string);
    observe_change(io, &sent, old).await;
    Ok(())
}

/// A step on a node, through the same steps as the cockpit's and the CLI's: the preview
/// (for a drain, planned on a cluster-wide look), the guards, the server's dry-run, the
/// confirmation, then the change with its progress as notes; every step audited.
async fn node_change(io: &mut Io, run: &mut Run, i: usize, step: &NodeStep, production: bool) -> Flow<()> {
    let refused = |reason: String| Interrupt::Failed { reason, refused: true };
    let node = step.node().to_string();
    let target = format!("node/{node}");
    let (action, what, preview, drain) = match step {
        NodeStep::Cordon(_) | NodeStep::Uncordon(_) => {
            let cordon = matches!(step, NodeStep::Cordon(_));
            let word = if cordon { "cordon" } else { "uncordon" };
            let current = nodes::is_cordoned(&io.exec.client, &node)
                .await
                .map_err(|e| Interrupt::Failed { reason: format!("{word} {node}: {e}"), refused: false })?;
            if current == cordon {
                io.note(format!("already in the cluster: {word} {node}"));
                mark_applied(io, run, i, "already in the cluster");
                return Ok(());
            }
            let dry = nodes::set_cordon(&io.exec.client, &node, cordon, true).await;
            if let Err(e) = dry {
                let _ = io.exec.record_refusal(word, target, format!("refused: {e}"));
                return Err(refused(format!("{word} {node}: the API server refused it: {e}")));
            }
            (word, format!("{word} node {node}"), Vec::new(), None)
        }
        NodeStep::Drain { force, .. } => {
            let (drain, preview) = plan_drain(io, &node, *force).await?;
            if let Err(e) = drain::dry_run(&io.exec, &drain).await {
                let _ = io.exec.record_refusal("drain", target, format!("refused: {e}"));
                return Err(refused(format!("drain {node}: the API server refused it: {e}")));
            }
            ("drain", format!("drain node {node}"), preview, Some(drain))
        }
    };
    let prompt = Prompt::Node {
        step: i,
        node: node.clone(),
        what: what.clone(),
        preview,
        dry_run: "ok".into(),
        typed_name: production,
    };
    match io.ask(prompt).await? {
        Answer::Yes => {}
        Answer::No | Answer::Skip(_) => {
            let _ = io.exec.record_refusal(action, target, "declined".into());
            return Err(Interrupt::Declined);
        }
    }
    run.state.steps[i].sending = true;
    save(io, run);
    let Some(drain) = drain else {
        let cordon = matches!(step, NodeStep::Cordon(_));
        drain::set_cordon(&io.exec, &node, cordon)
            .await
            .map_err(|e| Interrupt::Failed { reason: format!("{what}: {e}"), refused: false })?;
        io.note(format!("applied: {what}"));
        mark_applied(io, run, i, &format!("applied: {what}"));
        return Ok(());
    };
    match follow_drain(io, &drain).await {
        DrainEnd::Drained => {
            io.note(format!("drained {node}"));
            mark_applied(io, run, i, &format!("drained {node}"));
            Ok(())
        }
        DrainEnd::Stopped(why) => Err(Interrupt::Failed {
            reason: format!("drain {node} stopped: {why}; {node} stays cordoned (uncordon it to take pods again)"),
            refused: false,
        }),
    }
}

/// The drain of `node` planned now on every namespace's pods and budgets, or why it may not start.
async fn plan_drain(io: &Io, node: &str, force: bool) -> Flow<(NodeDrain, Vec<String>)> {
    drain::plan_node(&io.exec, node, force).await.map_err(|reason| Interrupt::Failed { reason, refused: true })
}

/// Runs the confirmed drain, each step a note; an abort stops it between two steps.
async fn follow_drain(io: &mut Io, drain: &NodeDrain) -> DrainEnd {
    let events = io.events.clone();
    let (stop, abort) = watch::channel(false);
    let progress = move |event: drain::DrainEvent| {
        let _ = events.send(RunEvent::Note(event.describe()));
    };
    let run = drain::execute(&io.exec, drain, drain::DRAIN_TIMEOUT, &abort, progress);
    tokio::pin!(run);
    let mut listening = true;
    loop {
        tokio::select! {
            end = &mut run => return end,
            control = io.controls.recv(), if listening => {
                // No one left to answer (None) stops it as an abort does.
                listening = control.is_some();
                if matches!(control, Some(Control::Abort) | None) {
                    let _ = stop.send(true);
                }
            }
        }
    }
}

/// Sends the confirmed change. A conflict from a status update (pods getting ready move
/// the resourceVersion too) is retried with the plan rebuilt from the newer view, as long
/// as it is still the same change; a real concurrent change fails the step.
async fn send(io: &mut Io, run: &Run, i: usize, plan: &ActionPlan, dry_text: &str) -> Flow<ActionPlan> {
    use crate::cluster::mutate::MutationError;
    let step = &run.runbook.steps[i];
    let mut plan = plan.clone();
    for attempt in 0..=CONFLICT_RETRIES {
        match io.exec.apply_plan(&plan, dry_text).await {
            Ok(()) => return Ok(plan),
            Err(MutationError::Conflict(_)) if attempt < CONFLICT_RETRIES => {
                let old = plan.resource_version().map(str::to_string);
                observe_change(io, &plan, old).await;
                let view = io.synced_view().await?;
                let stamp = restart_stamp(run, i);
                let again =
                    plan_step(step, &view.services, &view.budgets, &|s| view.room(s), &run.namespace, stamp.as_deref());
                match again {
                    Ok(StepPlan::Change(newer)) if newer.same_change(&plan) => plan = *newer,
                    _ => break,
                }
            }
            Err(e) => {
                let refused = matches!(e, MutationError::Forbidden(_));
                return Err(Interrupt::Failed { reason: format!("{}: {e}", plan.describe()), refused });
            }
        }
    }
    Err(Interrupt::Failed {
        reason: format!("{}: the service changed since it was confirmed; nothing more was sent", plan.describe()),
        refused: false,
    })
}

/// The resourceVersion of what the change moves: the autoscaler for its bounds, else the
/// workload.
fn version_of(service: &Service, plan: &ActionPlan) -> Option<String> {
    match plan.change() {
        Some(crate::actions::change::Change::HpaBounds { .. }) => {
            service.hpa.as_ref().and_then(|h| h.resource_version.clone())
        }
        // The owner's state, as the model shows it: a suspend is seen when it says so.
        Some(crate::actions::change::Change::GitOpsSuspend { .. }) => {
            service.gitops.as_ref().and_then(|g| g.state.as_ref()).map(|o| o.suspended.to_string())
        }
        _ => service.resource_version.clone(),
    }
}

/// Waits until the watches show the change just made, so the gates judge the new state
/// and not the one before it (a rollout that was complete a moment ago).
async fn observe_change(io: &mut Io, plan: &ActionPlan, old: Option<String>) {
    let key = plan.service().clone();
    let seen =
        |view: &ClusterView| view.services.iter().find(|s| s.key == key).is_none_or(|s| version_of(s, plan) != old);
    let _ = tokio::time::timeout(OBSERVE_CHANGE, async {
        loop {
            if seen(&io.views.borrow_and_update()) {
                return;
            }
            if io.views.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
}

async fn wait(io: &mut Io, run: &mut Run, i: usize, seconds: i64) -> Flow<()> {
    let mut started = now();
    let mut tick = tokio::time::interval(TICK);
    loop {
        let waited = now().duration_since(started).as_secs();
        if waited >= seconds {
            return Ok(());
        }
        run.state.steps[i].detail = format!("waiting {} of {}", waited, crate::model::runbook::duration_words(seconds));
        publish(io, run);
        tokio::select! {
            _ = tick.tick() => {}
            control = io.controls.recv() => {
                if io.obey(run, control).await? {
                    started = now();
                }
            }
        }
    }
}

/// What an slo-clean gate reads: the logs of its service's pods, followed while it waits,
/// counted per rule (exact over the gate's window, however many lines arrive).
struct LogWatch {
    follower: LogFollower,
    counts: SloCounts,
    events: mpsc::UnboundedReceiver<LogEvent>,
}

impl LogWatch {
    fn new(io: &Io, key: &ServiceKey, window_s: i64, rules: RuleSet) -> LogWatch {
        let (tx, events) = mpsc::unbounded_channel();
        let pods = kube::Api::namespaced(io.exec.client.clone(), &key.namespace);
        let backfill = Duration::from_secs(u64::try_from(window_s).unwrap_or(0));
        let counts = SloCounts::new(rules, window_s);
        LogWatch { follower: LogFollower::new(pods, backfill, GATE_STREAM_CAP, tx), counts, events }
    }

    fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if let LogEvent::Line(line) = event {
                let text = sanitize_bytes(&line.bytes, Sgr::Strip);
                self.counts.push(line.at, line.pod_started, &text);
            }
        }
    }
}

/// Judges every gate of the step at once until all have passed (a passed gate stays
/// passed) or one fails.
async fn watch_gates(io: &mut Io, run: &mut Run, i: usize, step: &Step) -> Flow<()> {
    let gates = &step.gates;
    let mut started = now();
    // A gate that passed (or was skipped) stays so.
    let mut settled: Vec<Option<GateStatus>> = vec![None; gates.len()];
    let mut steady: Vec<Option<Timestamp>> = vec![None; gates.len()];
    let mut logs: BTreeMap<usize, LogWatch> = BTreeMap::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        let view = io.views.borrow_and_update().clone();
        let on_nodes = pods_on_gate_nodes(io, gates, &settled).await;
        let at = now();
        let mut records = Vec::with_capacity(gates.len());
        let mut failure = None;
        for (g, gate) in gates.iter().enumerate() {
            let status = match &settled[g] {
                Some(status) => status.clone(),
                None => {
                    let service = gate.service().and_then(|name| resolve(&view.services, name, &run.namespace).ok());
                    steady[g] = steady_since(steady[g], service, at);
                    let node_pods = gate.node().and_then(|n| on_nodes.get(n)).and_then(|p| p.as_deref());
                    let evidence = Evidence { service, steady_since: steady[g], node_pods };
                    let status = judge_gate(io, gate, g, evidence, &view, started, at, &mut logs);
                    if status.settled() {
                        io.note(format!("gate {}: {}: {}", status.word(), gate.summary(), status.detail()));
                        settled[g] = Some(status.clone());
                    }
                    status
                }
            };
            if let GateStatus::Failed(detail) = &status {
                failure.get_or_insert_with(|| format!("{}: {detail}", gate.summary()));
            }
            let deadline =
                matches!(status, GateStatus::Waiting(_)).then(|| crate::model::runbook::deadline(gate, started));
            records.push(GateRecord::new(gate.summary(), &status, deadline));
        }
        let changed_state = records.iter().map(|r| &r.state).ne(run.state.steps[i].gates.iter().map(|r| &r.state));
        run.state.steps[i].gates = records;
        if changed_state {
            save(io, run);
        } else {
            publish(io, run);
        }
        if let Some(reason) = failure {
            return Err(Interrupt::Failed { reason, refused: false });
        }
        if settled.iter().all(Option::is_some) {
            return Ok(());
        }
        tokio::select! {
            changed = io.views.changed() => if changed.is_err() { return Err(cluster_gone()) },
            _ = tick.tick() => {}
            control = io.controls.recv() => {
                if io.obey(run, control).await? {
                    // After a pause the gates watch afresh: a paused minute is not a clean one.
                    started = now();
                    steady.iter_mut().for_each(|s| *s = None);
                }
            }
        }
        for watch in logs.values_mut() {
            watch.drain();
        }
    }
}

/// The pods on each node an unsettled node-drained gate names (`None`: not listed).
async fn pods_on_gate_nodes(
    io: &Io,
    gates: &[Gate],
    settled: &[Option<GateStatus>],
) -> BTreeMap<String, Option<Vec<Arc<PodFacts>>>> {
    let mut pods = BTreeMap::new();
    for (gate, _) in gates.iter().zip(settled).filter(|(_, s)| s.is_none()) {
        if let Some(node) = gate.node()
            && !pods.contains_key(node)
        {
            pods.insert(node.to_string(), nodes::pods_on(&io.exec.client, node).await.ok());
        }
    }
    pods
}

/// What one gate is judged on besides the view and the clock.
struct Evidence<'a> {
    service: Option<&'a Service>,
    steady_since: Option<Timestamp>,
    node_pods: Option<&'a [Arc<PodFacts>]>,
}

#[allow(clippy::too_many_arguments)]
fn judge_gate(
    io: &Io,
    gate: &Gate,
    g: usize,
    Evidence { service, steady_since, node_pods }: Evidence<'_>,
    view: &ClusterView,
    started: Timestamp,
    now: Timestamp,
    logs: &mut BTreeMap<usize, LogWatch>,
) -> GateStatus {
    let budget = service.and_then(|s| budget_of(&view.budgets, &s.key));
    let mut evidence = GateEvidence { service, started, steady_since, slo: None, budget, node_pods, now };
    let Gate::SloClean { rules, window_s, .. } = gate else { return evaluate(gate, &evidence) };
    let Some(service) = service else { return evaluate(gate, &evidence) };
    let chosen = match slo_rules(&view.slo_rules, rules, service) {
        Ok(chosen) => chosen,
        Err(reason) => return GateStatus::Failed(reason),
    };
    if chosen.is_empty() {
        // Nothing to judge: the model says skipped (or failed, for a required gate).
        evidence.slo = Some(&[][..]);
        return evaluate(gate, &evidence);
    }
    let names: Vec<&str> = chosen.iter().map(|r| r.name.as_str()).collect();
    // The rules the gate judges are fixed when it starts watching; a profile reloaded
    // with other rules starts the counts afresh.
    if logs.get(&g).is_some_and(|w| w.counts.rules().rules().iter().map(|r| r.name.as_str()).ne(names.iter().copied()))
    {
        logs.remove(&g);
    }
    let watch = match logs.entry(g) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            let rules = match RuleSet::new(chosen.iter().map(|r| (*r).clone()).collect()) {
                Ok(rules) => rules,
                Err(reason) => return GateStatus::Failed(reason),
            };
            e.insert(LogWatch::new(io, &service.key, *window_s, rules))
        }
    };
    watch.follower.sync(&pod_targets(service));
    watch.drain();
    let checks = counted_checks(&watch.counts, service, *window_s, now);
    evidence.slo = Some(&checks);
    evaluate(gate, &evidence)
}

/// The profile's rules a gate names (all that apply to the service when it names none).
fn slo_rules<'r>(all: &'r [SloRule], names: &[String], service: &Service) -> Result<Vec<&'r SloRule>, String> {
    if names.is_empty() {
        return Ok(all.iter().filter(|r| r.applies_to(service)).collect());
    }
    names
        .iter()
        .map(|name| {
            all.iter().find(|r| &r.name == name).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
                format!("no SLO rule named {name:?} in the profile (it has: {})", known.join(", "))
            })
        })
        .collect()
}
