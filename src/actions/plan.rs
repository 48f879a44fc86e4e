//! A change as a value: which service, the precondition it is sent with, what the operator
//! is shown (preview, guards, the equivalent command) and what it does. Every kind of change
//! carries the same shared fields once; only what it does varies ([`Action`]).

use super::change::Change;
use super::guard::{Guard, PreviewLine, Verdict};
use super::helm::HelmRollback;
use super::rollout::{RolloutAction, RolloutChange};
use super::scale::ScaleChange;
use crate::model::service::{RolloutState, Service, ServiceKey, WorkloadKind};

/// Any plan the cockpit can preview, dry-run, confirm and execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionPlan {
    pub service: ServiceKey,
    /// The resourceVersion the change is sent with (the workload's, or the autoscaler's for
    /// its bounds), so a concurrent change between preview and execution is refused instead
    /// of overwritten. `None`: sent without one (a Helm rollback, a runbook's look-ahead).
    pub resource_version: Option<String>,
    pub preview: Vec<PreviewLine>,
    pub guards: Vec<Guard>,
    /// The same change as a command to copy or run by hand (`kubectl …`, or `helm rollback …`
    /// for a Helm release); empty when the request could not become a change.
    pub kubectl: String,
    pub action: Action,
}

/// What a plan does: the part that differs between kinds of change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Scale(ScaleChange),
    Rollout(RolloutAction),
    Change(Change),
    /// Boxed: a Helm rollback carries its command line, and plans travel inside every job.
    HelmRollback(Box<HelmRollback>),
}

/// How the audit log and the screen name a workload: `shop/deploy/api`.
pub fn target_text(key: &ServiceKey) -> String {
    format!("{}/{}/{}", key.namespace, key.kind.short(), key.name)
}

/// The resource kubectl names the workload by (`deployment`, `statefulset`).
pub fn kubectl_kind(key: &ServiceKey) -> &'static str {
    match key.kind {
        WorkloadKind::Deployment => "deployment",
        WorkloadKind::StatefulSet => "statefulset",
    }
}

impl ActionPlan {
    /// A plan for `service` that does `action`, with the service's own resourceVersion as
    /// its precondition; the builders add preview lines and guards.
    pub fn new(service: &Service, action: Action, kubectl: String) -> ActionPlan {
        // In a fleet the command by hand names the cluster, as the change does.
        let kubectl = match (&service.key.cluster, kubectl.strip_prefix("kubectl ")) {
            (Some(cluster), Some(rest)) => format!("kubectl --context {cluster} {rest}"),
            _ => kubectl,
        };
        ActionPlan {
            service: service.key.clone(),
            resource_version: service.resource_version.clone(),
            preview: Vec::new(),
            guards: Vec::new(),
            kubectl,
            action,
        }
    }

    pub fn service(&self) -> &ServiceKey {
        &self.service
    }

    pub fn describe(&self) -> String {
        // In a fleet every preview and confirmation names the cluster (the audit entry
        // carries it as its context).
        let target = match &self.service.cluster {
            Some(cluster) => format!("{} in {cluster}", target_text(&self.service)),
            None => target_text(&self.service),
        };
        match &self.action {
            Action::Scale(s) => format!("scale {target} from {} to {}", s.from, s.to),
            Action::Rollout(r) => format!("{} {target}", r.change.map_or("rollout", RolloutChange::name)),
            Action::Change(c) => c.describe(&target),
            Action::HelmRollback(h) => h.describe(),
        }
    }

    pub fn preview(&self) -> &[PreviewLine] {
        &self.preview
    }

    pub fn guards(&self) -> &[Guard] {
        &self.guards
    }

    /// The equivalent command to copy or run by hand (`helm rollback …` for a Helm release).
    pub fn kubectl(&self) -> &str {
        &self.kubectl
    }

    /// The scale this plan makes, if it is one.
    pub fn scale(&self) -> Option<&ScaleChange> {
        match &self.action {
            Action::Scale(s) => Some(s),
            _ => None,
        }
    }

    /// The rollout action this plan takes, if it is one.
    pub fn rollout(&self) -> Option<&RolloutAction> {
        match &self.action {
            Action::Rollout(r) => Some(r),
            _ => None,
        }
    }

    /// The spec or autoscaler change this plan sends, if it is one.
    pub fn change(&self) -> Option<&Change> {
        match &self.action {
            Action::Change(c) => Some(c),
            _ => None,
        }
    }

    /// The Helm rollback this plan runs, if it is one.
    pub fn helm_rollback(&self) -> Option<&HelmRollback> {
        match &self.action {
            Action::HelmRollback(h) => Some(h),
            _ => None,
        }
    }

    /// Whether helm, not the API server, makes (and dry-runs) this change.
    pub fn is_helm_rollback(&self) -> bool {
        self.helm_rollback().is_some()
    }

    /// What the wizard's title calls the change (`rollout undo`, `set image`); `None` for a
    /// scale, whose wizard names itself.
    pub fn title(&self) -> Option<&'static str> {
        match &self.action {
            Action::Scale(_) => None,
            Action::Rollout(r) => Some(r.change.map_or("Rollout", RolloutChange::name)),
            Action::Change(c) => Some(c.name()),
            Action::HelmRollback(_) => Some("helm rollback"),
        }
    }

    /// Refusals are overridden (only a scale can be forced).
    pub fn force(&self) -> bool {
        self.scale().is_some_and(|s| s.force)
    }

    /// A guard was overridden: the confirmation must be the typed service name.
    pub fn overrides_a_guard(&self) -> bool {
        self.force() && self.guards.iter().any(|g| g.verdict == Verdict::Refuse)
    }

    /// A change that overrides a guard, or any change in a context the profile marks as
    /// production, is confirmed by typing the service name rather than a key.
    pub fn needs_typed_name(&self, production: bool) -> bool {
        self.overrides_a_guard() || production
    }

    /// The guard that stops this plan, if any (a `Refuse` only without `--force`).
    pub fn stopped_by(&self) -> Option<&Guard> {
        self.guards.iter().find(|g| g.stops(self.force()))
    }

    /// Whether pods are replaced, so the change is worth following to its end.
    pub fn rolls_pods(&self) -> bool {
        match &self.action {
            Action::Scale(_) | Action::HelmRollback(_) => true,
            Action::Rollout(r) => r.change.is_some_and(RolloutChange::rolls_pods),
            Action::Change(c) => c.rolls_pods(),
        }
    }

    /// Whether `other` makes the same change with the same guards: a plan rebuilt after a
    /// status update (pods becoming ready bump the resourceVersion too) that an operator
    /// who confirmed this one has confirmed as well.
    pub fn same_change(&self, other: &ActionPlan) -> bool {
        let same = match (&self.action, &other.action) {
            (Action::Scale(a), Action::Scale(b)) => a == b,
            (Action::Rollout(a), Action::Rollout(b)) => a.change == b.change,
            (Action::Change(a), Action::Change(b)) => a == b,
            _ => false,
        };
        let ids = |p: &ActionPlan| p.guards.iter().map(|g| g.id).collect::<Vec<_>>();
        same && self.service == other.service && ids(self) == ids(other)
    }

    /// The resourceVersion the change is sent with.
    pub fn resource_version(&self) -> Option<&str> {
        self.resource_version.as_deref()
    }

    /// The plan without its precondition, for a dry-run that only asks whether the server
    /// would take the change (a runbook's preview of later steps).
    pub fn unconditional(&self) -> ActionPlan {
        ActionPlan { resource_version: None, ..self.clone() }
    }

    /// What the operator is told when the change has rolled out.
    pub fn rolled_out_message(&self) -> String {
        match &self.action {
            Action::Scale(s) => format!("rolled out: {} replicas ready", s.to),
            Action::Rollout(_) | Action::Change(_) | Action::HelmRollback(_) => "rolled out".to_string(),
        }
    }

    /// Whether the cluster already shows this plan's effect, from the model alone (`None`:
    /// only the API server can tell). A runbook step whose effect is present is not sent
    /// again: that is what makes a resumed or repeated run safe.
    pub fn already_applied(&self, service: &Service) -> Option<bool> {
        match &self.action {
            Action::Scale(s) => Some(service.replicas.desired == s.to),
            Action::Rollout(r) => match r.change? {
                RolloutChange::Pause => Some(service.rollout.state == RolloutState::Paused),
                RolloutChange::Resume => Some(service.rollout.state != RolloutState::Paused),
                // A new revision since the plan's: the undo (or another rollout) happened.
                RolloutChange::Undo { from, .. } => Some(service.rollout.revision.is_some_and(|r| r > from)),
                RolloutChange::Restart => None,
            },
            Action::Change(c) => c.already_applied(service),
            Action::HelmRollback(_) => None,
        }
    }

    /// The guards as the screen tags them.
    pub fn guard_tag(&self, guard: &Guard) -> &'static str {
        match guard.verdict {
            Verdict::Block => "blocked",
            Verdict::Refuse if self.force() => "override needed",
            Verdict::Refuse => "refused",
            Verdict::Warn => "warning",
        }
    }
}

impl From<HelmRollback> for Action {
    fn from(rollback: HelmRollback) -> Action {
        Action::HelmRollback(Box::new(rollback))
    }
}
