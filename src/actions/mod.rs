//! User intent → action plan (pure preview) → dry-run → confirmation → execution → audit.
//! Plans are values built from the model; `cluster::mutate` executes them.

pub mod audit;
pub mod execute;
pub mod helm;
pub mod rollout;
pub mod scale;
pub mod target;

use crate::model::service::ServiceKey;
use helm::HelmRollbackPlan;
use rollout::RolloutPlan;
use scale::{Guard, PreviewLine, ScalePlan, Verdict};

/// Any plan the cockpit can preview, dry-run, confirm and execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionPlan {
    Scale(ScalePlan),
    Rollout(RolloutPlan),
    /// Boxed: a Helm plan carries its command line, and plans travel inside every job.
    HelmRollback(Box<HelmRollbackPlan>),
}

impl ActionPlan {
    pub fn service(&self) -> &ServiceKey {
        match self {
            ActionPlan::Scale(p) => &p.service,
            ActionPlan::Rollout(p) => &p.service,
            ActionPlan::HelmRollback(p) => &p.service,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ActionPlan::Scale(p) => p.describe(),
            ActionPlan::Rollout(p) => p.describe(),
            ActionPlan::HelmRollback(p) => p.describe(),
        }
    }

    pub fn preview(&self) -> &[PreviewLine] {
        match self {
            ActionPlan::Scale(p) => &p.preview,
            ActionPlan::Rollout(p) => &p.preview,
            ActionPlan::HelmRollback(p) => &p.preview,
        }
    }

    pub fn guards(&self) -> &[Guard] {
        match self {
            ActionPlan::Scale(p) => &p.guards,
            ActionPlan::Rollout(p) => &p.guards,
            ActionPlan::HelmRollback(p) => &p.guards,
        }
    }

    /// The equivalent command to copy or run by hand (`helm rollback …` for a Helm release).
    pub fn kubectl(&self) -> &str {
        match self {
            ActionPlan::Scale(p) => &p.kubectl,
            ActionPlan::Rollout(p) => &p.kubectl,
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
            ActionPlan::HelmRollback(p) => p.stopped_by(),
        }
    }

    /// Whether pods are replaced, so the change is worth following to its end.
    pub fn rolls_pods(&self) -> bool {
        match self {
            ActionPlan::Scale(_) => true,
            ActionPlan::Rollout(p) => p.change.is_some_and(|c| c.rolls_pods()),
            ActionPlan::HelmRollback(_) => true,
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
