//! User intent → action plan (pure preview) → dry-run → confirmation → execution → audit.
//! Plans are values built from the model; `cluster::mutate` executes them.

pub mod allowed;
pub mod audit;
pub mod change;
pub mod drain;
pub mod execute;
pub mod helm;
pub mod rollout;
pub mod runbook;
pub mod scale;
pub mod target;

use crate::model::service::{RolloutState, Service, ServiceKey};
use change::ChangePlan;
use helm::HelmRollbackPlan;
use rollout::{RolloutChange, RolloutPlan};
use scale::{Guard, PreviewLine, ScalePlan, Verdict};

/// Any plan the cockpit can preview, dry-run, confirm and execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionPlan {
    Scale(ScalePlan),
    Rollout(RolloutPlan),
    Change(Box<ChangePlan>),
    /// Boxed: a Helm plan carries its command line, and plans travel inside every job.
    HelmRollback(Box<HelmRollbackPlan>),
}

impl ActionPlan {
    pub fn service(&self) -> &ServiceKey {
        match self {
            ActionPlan::Scale(p) => &p.service,
            ActionPlan::Rollout(p) => &p.service,
            ActionPlan::Change(p) => &p.service,
            ActionPlan::HelmRollback(p) => &p.service,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ActionPlan::Scale(p) => p.describe(),
            ActionPlan::Rollout(p) => p.describe(),
            ActionPlan::Change(p) => p.describe(),
            ActionPlan::HelmRollback(p) => p.describe(),
        }
    }

    pub fn preview(&self) -> &[PreviewLine] {
        match self {
            ActionPlan::Scale(p) => &p.preview,
            ActionPlan::Rollout(p) => &p.preview,
            ActionPlan::Change(p) => &p.preview,
            ActionPlan::HelmRollback(p) => &p.preview,
        }
    }

    pub fn guards(&self) -> &[Guard] {
        match self {
            ActionPlan::Scale(p) => &p.guards,
            ActionPlan::Rollout(p) => &p.guards,
            ActionPlan::Change(p) => &p.guards,
            ActionPlan::HelmRollback(p) => &p.guards,
        }
    }

    /// The equivalent command to copy or run by hand (`helm rollback …` for a Helm release).
    pub fn kubectl(&self) -> &str {
        match self {
            ActionPlan::Scale(p) => &p.kubectl,
            ActionPlan::Rollout(p) => &p.kubectl,
            ActionPlan::Change(p) => &p.kubectl,
            ActionPlan::HelmRollback(p) => &p.command,
        }
    }

    /// Refusals are overridden (only a scale can be forced).
    pub fn force(&self) -> bool {
        matches!(self, ActionPlan::Scale(p) if p.force)
    }

    pub fn overrides_a_guard(&self) -> bool {
        matches!(self, ActionPlan::Scale(p) if p.overrides_a_guard())
    }

    /// A change that overrides a guard, or any change in a context the profile marks as
    /// production, is confirmed by typing the service name rather than a key.
    pub fn needs_typed_name(&self, production: bool) -> bool {
        self.overrides_a_guard() || production
    }

    pub fn stopped_by(&self) -> Option<&Guard> {
        match self {
            ActionPlan::Scale(p) => p.stopped_by(),
            ActionPlan::Rollout(p) => p.stopped_by(),
            ActionPlan::Change(p) => p.stopped_by(),
            ActionPlan::HelmRollback(p) => p.stopped_by(),
        }
    }

    /// Whether pods are replaced, so the change is worth following to its end.
    pub fn rolls_pods(&self) -> bool {
        match self {
            ActionPlan::Scale(_) => true,
            ActionPlan::Rollout(p) => p.change.is_some_and(|c| c.rolls_pods()),
            ActionPlan::Change(p) => p.rolls_pods(),
            ActionPlan::HelmRollback(_) => true,
        }
    }

    /// Whether `other` makes the same change with the same guards: a plan rebuilt after a
    /// status update (pods becoming ready bump the resourceVersion too) that an operator
    /// who confirmed this one has confirmed as well.
    pub fn same_change(&self, other: &ActionPlan) -> bool {
        let same = match (self, other) {
            (ActionPlan::Scale(a), ActionPlan::Scale(b)) => (a.from, a.to, a.force) == (b.from, b.to, b.force),
            (ActionPlan::Rollout(a), ActionPlan::Rollout(b)) => a.change == b.change,
            (ActionPlan::Change(a), ActionPlan::Change(b)) => a.change == b.change,
            _ => false,
        };
        let ids = |p: &ActionPlan| p.guards().iter().map(|g| g.id).collect::<Vec<_>>();
        same && self.service() == other.service() && ids(self) == ids(other)
    }

    /// The resourceVersion the change is sent with.
    pub fn resource_version(&self) -> Option<&str> {
        match self {
            ActionPlan::Scale(p) => p.resource_version.as_deref(),
            ActionPlan::Rollout(p) => p.resource_version.as_deref(),
            ActionPlan::Change(p) => p.resource_version.as_deref(),
            ActionPlan::HelmRollback(_) => None,
        }
    }

    /// The plan without its precondition, for a dry-run that only asks whether the server
    /// would take the change (a runbook's preview of later steps).
    pub fn unconditional(&self) -> ActionPlan {
        let mut plan = self.clone();
        match &mut plan {
            ActionPlan::Scale(p) => p.resource_version = None,
            ActionPlan::Rollout(p) => p.resource_version = None,
            ActionPlan::Change(p) => p.resource_version = None,
            ActionPlan::HelmRollback(_) => {}
        }
        plan
    }

    /// What the operator is told when the change has rolled out.
    pub fn rolled_out_message(&self) -> String {
        match self {
            ActionPlan::Scale(p) => format!("rolled out: {} replicas ready", p.to),
            ActionPlan::Rollout(_) | ActionPlan::Change(_) | ActionPlan::HelmRollback(_) => "rolled out".to_string(),
        }
    }

    /// Whether the cluster already shows this plan's effect, from the model alone (`None`:
    /// only the API server can tell). A runbook step whose effect is present is not sent
    /// again: that is what makes a resumed or repeated run safe.
    pub fn already_applied(&self, service: &Service) -> Option<bool> {
        match self {
            ActionPlan::Scale(p) => Some(service.replicas.desired == p.to),
            ActionPlan::Rollout(p) => match p.change? {
                RolloutChange::Pause => Some(service.rollout.state == RolloutState::Paused),
                RolloutChange::Resume => Some(service.rollout.state != RolloutState::Paused),
                // A new revision since the plan's: the undo (or another rollout) happened.
                RolloutChange::Undo { from, .. } => Some(service.rollout.revision.is_some_and(|r| r > from)),
                RolloutChange::Restart => None,
            },
            ActionPlan::Change(p) => p.already_applied(service),
            ActionPlan::HelmRollback(_) => None,
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
