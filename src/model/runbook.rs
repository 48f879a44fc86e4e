//! Runbooks as data: ordered steps, each an action followed by gates that must pass
//! before the next step starts, and what to do when one fails. Parsing and validation
//! live in `config::runbook`; running them in `actions::runbook`. The gates are judged
//! here, from the same services model the overview shows and the same SLO verdicts as
//! `gate` (nothing here reads a clock or the cluster: `now` and the evidence are passed in).

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use std::sync::Arc;

use super::budget::{DatabaseBudget, format_percent};
use super::drain::moved_by_drain;
use super::gate::GateCheck;
use super::pods::PodFacts;
use super::sanitize::clean;
use super::service::{RolloutState, Service};
use super::slo::GateState;

/// A runbook after its parameters were filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    /// Where it came from (`<built-in runbook NAME>` or a path), for messages.
    pub source: String,
    /// The parameters as used (defaults and `--param` overrides).
    pub params: Vec<(String, String)>,
    /// The namespace its services live in (`None`: the one the command runs in).
    pub namespace: Option<String>,
    /// The services it changes, as written (`NAME`, `KIND/NAME`).
    pub services: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Unique within the runbook: run state and resumes refer to steps by it.
    pub id: String,
    pub title: String,
    pub action: StepAction,
    pub gates: Vec<Gate>,
    pub on_failure: OnFailure,
    /// `false` when its `when:` said so for these parameters: skipped, and recorded so.
    pub enabled: bool,
}

/// What a step does. Service names are resolved in the runbook's namespace.
#[derive(Clone, Debug, PartialEq)]
pub enum StepAction {
    /// To `replicas`, in increments of `step` with the gates after each increment.
    Scale {
        service: String,
        replicas: i32,
        step: Option<i32>,
    },
    SetEnv {
        service: String,
        container: Option<String>,
        vars: Vec<(String, Option<String>)>,
    },
    SetImage {
        service: String,
        container: Option<String>,
        image: String,
    },
    Restart {
        service: String,
    },
    /// `None`: the previous revision.
    Undo {
        service: String,
        revision: Option<i64>,
    },
    Patch {
        service: String,
        strategic: bool,
        body: Value,
    },
    HpaBounds {
        service: String,
        min: i32,
        max: i32,
    },
    /// The service's GitOps owner stops (`suspend: true`) or resumes reconciling: Flux
    /// `spec.suspend`, Argo CD auto-sync.
    GitOpsSuspend {
        service: String,
        suspend: bool,
    },
    /// Nothing changes; the gates (or the time) are the point.
    Wait {
        seconds: i64,
    },
    /// A checklist the operator confirms (or skips, with a reason).
    Manual {
        checklist: Vec<String>,
    },
    /// The node takes no new pods (`spec.unschedulable`).
    Cordon {
        node: String,
    },
    /// The node takes pods again.
    Uncordon {
        node: String,
    },
    /// The guided drain: cordon, then evictions one owner at a time within their budgets.
    /// `force` accepts what the drain's guards warn of (pods or data lost, a single replica
    /// down, replacements with no room); a budget that blocks it is never overridden.
    Drain {
        node: String,
        force: bool,
    },
}

impl StepAction {
    /// The service the step changes, which its gates default to.
    pub fn service(&self) -> Option<&str> {
        match self {
            StepAction::Scale { service, .. }
            | StepAction::SetEnv { service, .. }
            | StepAction::SetImage { service, .. }
            | StepAction::Restart { service }
            | StepAction::Undo { service, .. }
            | StepAction::Patch { service, .. }
            | StepAction::HpaBounds { service, .. }
            | StepAction::GitOpsSuspend { service, .. } => Some(service),
            StepAction::Wait { .. }
            | StepAction::Manual { .. }
            | StepAction::Cordon { .. }
            | StepAction::Uncordon { .. }
            | StepAction::Drain { .. } => None,
        }
    }

    /// The node the step acts on, which its gates default to.
    pub fn node(&self) -> Option<&str> {
        match self {
            StepAction::Cordon { node } | StepAction::Uncordon { node } | StepAction::Drain { node, .. } => Some(node),
            _ => None,
        }
    }

    /// The action's name as the runbook file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            StepAction::Scale { .. } => "scale",
            StepAction::SetEnv { .. } => "set-env",
            StepAction::SetImage { .. } => "set-image",
            StepAction::Restart { .. } => "restart",
            StepAction::Undo { .. } => "undo",
            StepAction::Patch { .. } => "patch",
            StepAction::HpaBounds { .. } => "hpa-bounds",
            StepAction::GitOpsSuspend { suspend: true, .. } => "suspend-gitops",
            StepAction::GitOpsSuspend { suspend: false, .. } => "resume-gitops",
            StepAction::Wait { .. } => "wait",
            StepAction::Manual { .. } => "manual",
            StepAction::Cordon { .. } => "cordon",
            StepAction::Uncordon { .. } => "uncordon",
            StepAction::Drain { .. } => "drain",
        }
    }

    /// One line for the stepper and `runbook show`.
    pub fn summary(&self) -> String {
        match self {
            StepAction::Scale { service, replicas, step: None } => format!("scale {service} to {replicas}"),
            StepAction::Scale { service, replicas, step: Some(n) } => {
                format!("scale {service} to {replicas} in steps of {n}")
            }
            StepAction::SetEnv { service, vars, .. } => {
                let vars: Vec<String> = vars
                    .iter()
                    .map(|(k, v)| v.as_ref().map_or_else(|| format!("{k}-"), |v| format!("{k}={v}")))
                    .collect();
                format!("set env {service} {}", vars.join(" "))
            }
            StepAction::SetImage { service, container, image } => match container {
                Some(c) => format!("set image {service} {c}={image}"),
                None => format!("set image {service} {image}"),
            },
            StepAction::Restart { service } => format!("restart {service}"),
            StepAction::Undo { service, revision: None } => format!("undo {service} to the previous revision"),
            StepAction::Undo { service, revision: Some(n) } => format!("undo {service} to revision {n}"),
            StepAction::Patch { service, strategic, .. } => {
                format!("patch {service} ({})", if *strategic { "strategic" } else { "merge" })
            }
            StepAction::HpaBounds { service, min, max } => format!("autoscaler of {service} to {min}..{max}"),
            StepAction::GitOpsSuspend { service, suspend: true } => format!("suspend the GitOps owner of {service}"),
            StepAction::GitOpsSuspend { service, suspend: false } => format!("resume the GitOps owner of {service}"),
            StepAction::Wait { seconds } => format!("wait {}", duration_words(*seconds)),
            StepAction::Manual { checklist } => format!("confirm {} item(s)", checklist.len()),
            StepAction::Cordon { node } => format!("cordon node {node}"),
            StepAction::Uncordon { node } => format!("uncordon node {node}"),
            StepAction::Drain { node, force: false } => format!("drain node {node}"),
            StepAction::Drain { node, force: true } => format!("drain node {node} (forced)"),
        }
    }
}

/// The next replica count on the way to `target` in increments of `step`.
pub fn next_increment(current: i32, target: i32, step: Option<i32>) -> i32 {
    match step {
        Some(n) if n > 0 && current < target => current.saturating_add(n).min(target),
        Some(n) if n > 0 && current > target => current.saturating_sub(n).max(target),
        _ => target,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// The rollout finished: every replica updated, ready and available.
    RolloutComplete { service: String, timeout_s: i64 },
    /// Every replica ready, continuously, for `for_s`.
    ReadyStable { service: String, for_s: i64, timeout_s: i64 },
    /// No SLO rule fails over `window_s` of logs, watched for `for_s`. With no rule to
    /// judge the gate is skipped, or fails when `required`.
    SloClean { service: String, rules: Vec<String>, window_s: i64, for_s: i64, timeout_s: i64, required: bool },
    /// The service's database budget is below `percent`.
    BudgetBelow { service: String, percent: u32, timeout_s: i64 },
    /// The PDB allows at least `at_least` voluntary disruptions.
    PdbAllows { service: String, at_least: i32, timeout_s: i64 },
    /// Every pod a drain moves (not a DaemonSet's, a mirror or a finished one) is gone
    /// from the node.
    NodeDrained { node: String, timeout_s: i64 },
    /// The service's GitOps owner is Ready and not suspended.
    GitOpsSynced { service: String, timeout_s: i64 },
}

impl Gate {
    /// The service the gate judges; `None` for a node's gate.
    pub fn service(&self) -> Option<&str> {
        match self {
            Gate::RolloutComplete { service, .. }
            | Gate::ReadyStable { service, .. }
            | Gate::SloClean { service, .. }
            | Gate::BudgetBelow { service, .. }
            | Gate::PdbAllows { service, .. }
            | Gate::GitOpsSynced { service, .. } => Some(service),
            Gate::NodeDrained { .. } => None,
        }
    }

    /// The node the gate judges; `None` for a service's gate.
    pub fn node(&self) -> Option<&str> {
        match self {
            Gate::NodeDrained { node, .. } => Some(node),
            _ => None,
        }
    }

    pub fn timeout_s(&self) -> i64 {
        match self {
            Gate::RolloutComplete { timeout_s, .. }
            | Gate::ReadyStable { timeout_s, .. }
            | Gate::SloClean { timeout_s, .. }
            | Gate::BudgetBelow { timeout_s, .. }
            | Gate::PdbAllows { timeout_s, .. }
            | Gate::NodeDrained { timeout_s, .. }
            | Gate::GitOpsSynced { timeout_s, .. } => *timeout_s,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Gate::RolloutComplete { .. } => "rollout-complete",
            Gate::ReadyStable { .. } => "ready-stable",
            Gate::SloClean { .. } => "slo-clean",
            Gate::BudgetBelow { .. } => "budget-below",
            Gate::PdbAllows { .. } => "pdb-allows",
            Gate::NodeDrained { .. } => "node-drained",
            Gate::GitOpsSynced { .. } => "gitops-synced",
        }
    }

    /// `ready-stable soundspan-backend for 1m`: the gate as the stepper lists it.
    pub fn summary(&self) -> String {
        let service = self.service().or(self.node()).unwrap_or_default();
        match self {
            Gate::RolloutComplete { .. } => format!("rollout-complete {service}"),
            Gate::ReadyStable { for_s, .. } => format!("ready-stable {service} for {}", duration_words(*for_s)),
            Gate::SloClean { rules, window_s, for_s, required, .. } => {
                let rules = if rules.is_empty() { "every rule".to_string() } else { rules.join(", ") };
                format!(
                    "slo-clean {service} ({rules}; {} window, watched {}{})",
                    duration_words(*window_s),
                    duration_words(*for_s),
                    if *required { "; required" } else { "" }
                )
            }
            Gate::BudgetBelow { percent, .. } => format!("budget-below {percent} % for {service}"),
            Gate::PdbAllows { at_least, .. } => format!("pdb-allows ≥ {at_least} for {service}"),
            Gate::NodeDrained { node, .. } => format!("node-drained {node}"),
            Gate::GitOpsSynced { .. } => format!("gitops-synced {service}"),
        }
    }
}

/// What happens when a step's action or a gate fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnFailure {
    Stop,
    Continue,
    /// Run this runbook (by name) with the same parameters where it declares them.
    Runbook(String),
}

/// Where a gate is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateStatus {
    Waiting(String),
    Passed(String),
    /// There was nothing to judge (no SLO rule applies): the run goes on, but nobody may
    /// read this as a clean bill of health.
    Skipped(String),
    Failed(String),
}

impl GateStatus {
    pub fn detail(&self) -> &str {
        match self {
            GateStatus::Waiting(d) | GateStatus::Passed(d) | GateStatus::Skipped(d) | GateStatus::Failed(d) => d,
        }
    }

    /// Passed or skipped: nothing more to wait for.
    pub fn settled(&self) -> bool {
        matches!(self, GateStatus::Passed(_) | GateStatus::Skipped(_))
    }

    /// `waiting`, `passed`, `skipped`, `failed`: the state file's and the CLI's word.
    pub fn word(&self) -> &'static str {
        match self {
            GateStatus::Waiting(_) => "waiting",
            GateStatus::Passed(_) => "passed",
            GateStatus::Skipped(_) => "skipped",
            GateStatus::Failed(_) => "failed",
        }
    }
}

/// The evidence a gate is judged on at `now`.
#[derive(Clone, Copy, Debug)]
pub struct GateEvidence<'a> {
    /// The gate's service as the model shows it now (`None`: not in the cluster).
    pub service: Option<&'a Service>,
    /// When the gate started waiting.
    pub started: Timestamp,
    /// Since when the service has been steady without interruption (see [`steady`]).
    pub steady_since: Option<Timestamp>,
    /// The SLO checks of the service's logs over the gate's window (slo-clean only); empty
    /// when no SLO rule applies to the service.
    pub slo: Option<&'a [GateCheck]>,
    /// The database budget the service is part of.
    pub budget: Option<&'a DatabaseBudget>,
    /// The pods on the gate's node (node-drained only; `None`: they could not be listed).
    pub node_pods: Option<&'a [Arc<PodFacts>]>,
    pub now: Timestamp,
}

/// Every replica updated, ready and available, and the rollout complete: the state a
/// ready-stable gate needs to hold without interruption.
pub fn steady(service: &Service) -> bool {
    let r = service.replicas;
    service.rollout.state == RolloutState::Complete
        && r.ready == r.desired
        && r.available == r.desired
        && service.pods.iter().filter(|p| p.updated).all(|p| p.ready)
}

/// Since when the service has been steady: kept while it stays steady, restarted when it
/// becomes steady again, gone while it is not.
pub fn steady_since(previous: Option<Timestamp>, service: Option<&Service>, now: Timestamp) -> Option<Timestamp> {
    if service.is_some_and(steady) { Some(previous.unwrap_or(now)) } else { None }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    to.duration_since(from).as_secs().max(0)
}

/// `90 s`, `5 m`, `1 m 30 s`: how the stepper says a duration.
pub fn duration_words(seconds: i64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} m"),
        (m, s) => format!("{m} m {s} s"),
    }
}

/// Judges `gate` on the evidence. A gate that waits past its timeout fails with what it
/// was waiting for; a gate that cannot be judged (no such service, no PDB, no budget)
/// fails at once rather than passing on a guess.
pub fn evaluate(gate: &Gate, evidence: &GateEvidence<'_>) -> GateStatus {
    let status = judge(gate, evidence);
    let waited = seconds_between(evidence.started, evidence.now);
    match status {
        GateStatus::Waiting(detail) if waited >= gate.timeout_s() => {
            GateStatus::Failed(format!("timed out after {}: {detail}", duration_words(gate.timeout_s())))
        }
        other => other,
    }
}

fn judge(gate: &Gate, e: &GateEvidence<'_>) -> GateStatus {
    if let Gate::NodeDrained { node, .. } = gate {
        return node_drained(node, e.node_pods);
    }
    let Some(service) = e.service else {
        return GateStatus::Waiting(format!("{} is not in the cluster", gate.service().unwrap_or_default()));
    };
    let r = service.replicas;
    match gate {
        Gate::RolloutComplete { .. } => match service.rollout.state {
            RolloutState::Complete if r.ready == r.desired => {
                GateStatus::Passed(format!("rollout complete, {}/{} ready", r.ready, r.desired))
            }
            RolloutState::Stalled => GateStatus::Failed(format!("rollout stalled: {}", service.rollout.message)),
            RolloutState::Paused => GateStatus::Waiting("rollout paused".into()),
            _ => GateStatus::Waiting(format!("{}/{} ready; {}", r.ready, r.desired, service.rollout.message)),
        },
        Gate::ReadyStable { for_s, .. } => {
            let stable = e.steady_since.map_or(0, |since| seconds_between(since, e.now));
            let detail = format!(
                "{}/{} ready, stable {} of {}",
                r.ready,
                r.desired,
                duration_words(stable.min(*for_s)),
                duration_words(*for_s)
            );
            if e.steady_since.is_some() && stable >= *for_s {
                GateStatus::Passed(detail)
            } else {
                GateStatus::Waiting(detail)
            }
        }
        Gate::SloClean { window_s, for_s, required, .. } => match e.slo.unwrap_or_default() {
            [] => nothing_to_judge(&service.key.name, *required),
            checks => slo_clean(checks, *window_s, *for_s, e),
        },
        Gate::BudgetBelow { percent, .. } => match e.budget {
            None => GateStatus::Failed(format!(
                "no connection budget is known for {}: declare its database in the profile",
                service.key.name
            )),
            Some(b) if !b.limit_known() => GateStatus::Failed(format!(
                "{}'s connection limit is unknown ({}): declare max_connections in the profile",
                b.name,
                b.demand()
            )),
            Some(b) if b.percent() < f64::from(*percent) => {
                GateStatus::Passed(format!("{} at {} (below {percent} %)", b.name, format_percent(b.percent())))
            }
            Some(b) => {
                GateStatus::Waiting(format!("{} at {} (needs below {percent} %)", b.name, format_percent(b.percent())))
            }
        },
        Gate::PdbAllows { at_least, .. } => match &service.pdb {
            None => GateStatus::Failed(format!("no PodDisruptionBudget selects the pods of {}", service.key.name)),
            Some(pdb) if pdb.disruptions_allowed >= *at_least => {
                GateStatus::Passed(format!("{}: {} allowed", pdb.name, pdb.disruptions_allowed))
            }
            Some(pdb) => GateStatus::Waiting(format!(
                "{}: {} allowed, needs {at_least} ({})",
                pdb.name, pdb.disruptions_allowed, pdb.explanation
            )),
        },
        Gate::GitOpsSynced { .. } => gitops_synced(service),
        Gate::NodeDrained { .. } => unreachable!("judged above"),
    }
}

/// Passed once the service's GitOps owner is Ready and reconciling; a service no owner
/// applies fails at once (nothing will ever sync it).
fn gitops_synced(service: &Service) -> GateStatus {
    let Some(g) = &service.gitops else {
        return GateStatus::Failed(format!("no Flux or Argo CD object applies {}", service.key.name));
    };
    match g.synced() {
        Ok(checked) => GateStatus::Passed(checked),
        Err(waiting) => GateStatus::Waiting(waiting),
    }
}

/// Passed once no pod a drain moves is left on `node` (a terminating one still counts:
/// it is not gone yet).
fn node_drained(node: &str, pods: Option<&[Arc<PodFacts>]>) -> GateStatus {
    let Some(pods) = pods else {
        return GateStatus::Waiting(format!("the pods on {node} could not be listed"));
    };
    let left: Vec<String> = pods
        .iter()
        .filter(|p| p.node.as_deref() == Some(node) && moved_by_drain(p))
        .map(|p| clean(&format!("{}/{}", p.namespace, p.name)))
        .collect();
    match left.as_slice() {
        [] => GateStatus::Passed(format!("no pod to move is left on {node}")),
        [one] => GateStatus::Waiting(format!("{one} is still on {node}")),
        [first, ..] => GateStatus::Waiting(format!("{} pods still on {node} ({first}, …)", left.len())),
    }
}

/// An slo-clean gate on a service no SLO rule applies to: skipped, visibly not passed; a
/// failure when the runbook said the gate is required.
fn nothing_to_judge(service: &str, required: bool) -> GateStatus {
    if required {
        GateStatus::Failed(format!(
            "no SLO rule applies to {service}: nothing to judge, and the gate is required (add an [[slo]] rule to the profile)"
        ))
    } else {
        GateStatus::Skipped(format!("no SLO rule applies to {service}: nothing to judge"))
    }
}

/// Fails as soon as a rule fails; passes once the logs were watched for `for_s` without
/// a failure (a rule at warn does not hold the gate: it is shown).
fn slo_clean(checks: &[GateCheck], window_s: i64, for_s: i64, e: &GateEvidence<'_>) -> GateStatus {
    let window = duration_words(window_s);
    if let Some(failed) = checks.iter().find(|c| c.state == GateState::Fail) {
        let last = failed.last.as_ref().map_or_else(String::new, |(_, line)| format!(" — last: {line}"));
        return GateStatus::Failed(format!("{}: {}{last}", failed.name, failed.detail));
    }
    let matches: u32 = checks.iter().map(|c| c.matches).sum();
    let watched = seconds_between(e.started, e.now);
    let detail = format!(
        "SLO: {matches} matches in {window}, watched {} of {}",
        duration_words(watched.min(for_s)),
        duration_words(for_s)
    );
    if watched >= for_s { GateStatus::Passed(detail) } else { GateStatus::Waiting(detail) }
}

/// When a gate that started at `started` gives up.
pub fn deadline(gate: &Gate, started: Timestamp) -> Timestamp {
    started.checked_add(SignedDuration::from_secs(gate.timeout_s())).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests;
