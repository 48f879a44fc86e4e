//! Executing a plan, shared by the cockpit and the headless commands: server-side
//! dry-run, the change with its precondition, the audit entry (written before the result
//! is shown), and following the rollout to its end.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::ActionPlan;
use super::audit::{self, AuditEntry};
use super::helm::HelmRollbackPlan;
use super::rollout::{RolloutChange, RolloutPlan};
use super::scale::{ScalePlan, target_text};
use crate::cluster::mutate::{self, MutationError, RolloutEnd};
use crate::model::service::ServiceKey;

/// How long a change is followed before the cockpit says it has not finished.
pub const FOLLOW_FOR: Duration = Duration::from_secs(300);

/// Where changes go and where they are recorded.
#[derive(Clone)]
pub struct ExecContext {
    pub client: kube::Client,
    pub context: String,
    pub user: Option<String>,
    pub audit_log: PathBuf,
}

impl ExecContext {
    /// Appends the audit entry for one attempt at `plan`.
    fn record(&self, plan: &ScalePlan, dry_run: Option<String>, outcome: impl Into<String>) -> std::io::Result<()> {
        let (before, after) = (json!({"replicas": plan.from}), json!({"replicas": plan.to}));
        self.record_attempt("scale", target_text(&plan.service), before, after, dry_run, outcome.into())
    }

    /// Appends the audit entry for one attempt at a rollout action.
    fn record_rollout(
        &self,
        plan: &RolloutPlan,
        dry_run: Option<String>,
        outcome: impl Into<String>,
    ) -> std::io::Result<()> {
        let (before, after) = match plan.change {
            Some(RolloutChange::Undo { from, to }) => (json!({"revision": from}), json!({"revision": to})),
            _ => (json!(null), json!(null)),
        };
        let action = plan.change.map_or("rollout", RolloutChange::name);
        self.record_attempt(action, target_text(&plan.service), before, after, dry_run, outcome.into())
    }

    fn record_attempt(
        &self,
        action: &str,
        target: String,
        before: serde_json::Value,
        after: serde_json::Value,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let entry = AuditEntry {
            time: jiff::Timestamp::now().to_string(),
            context: self.context.clone(),
            user: self.user.clone(),
            action: action.to_string(),
            target,
            before,
            after,
            dry_run,
            outcome,
        };
        audit::append(&self.audit_log, &entry)
    }

    /// Sends a rollout action (or its dry-run).
    async fn rollout(&self, plan: &RolloutPlan, dry_run: bool) -> Result<(), MutationError> {
        let (key, rv) = (&plan.service, plan.resource_version.as_deref());
        match plan.change {
            None => Err(MutationError::Invalid("nothing to do".into())),
            Some(RolloutChange::Restart) => mutate::restart(&self.client, key, rv, dry_run).await,
            Some(RolloutChange::Pause) => mutate::set_paused(&self.client, key, true, rv, dry_run).await,
            Some(RolloutChange::Resume) => mutate::set_paused(&self.client, key, false, rv, dry_run).await,
            Some(RolloutChange::Undo { to, .. }) => mutate::undo(&self.client, key, to, rv, dry_run).await,
        }
    }

    /// Waits for a service's rollout to finish.
    pub async fn follow_service(&self, key: &ServiceKey) -> Result<RolloutEnd, MutationError> {
        mutate::await_rollout(&self.client, key, FOLLOW_FOR).await
    }
}

/// The text an audit entry and the screen give a dry-run answer.
pub fn dry_run_text(result: &Result<(), MutationError>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

impl ExecContext {
    pub fn record_plan(
        &self,
        plan: &ActionPlan,
        dry_run: Option<String>,
        outcome: impl Into<String>,
    ) -> std::io::Result<()> {
        match plan {
            ActionPlan::Scale(p) => self.record(p, dry_run, outcome),
            ActionPlan::Rollout(p) => self.record_rollout(p, dry_run, outcome),
            ActionPlan::HelmRollback(p) => self.record_helm_rollback(p, dry_run, outcome.into()),
        }
    }

    pub async fn dry_run_plan(&self, plan: &ActionPlan) -> Result<(), MutationError> {
        match plan {
            ActionPlan::Scale(p) => {
                mutate::scale(&self.client, &p.service, p.to, p.resource_version.as_deref(), true).await
            }
            ActionPlan::Rollout(p) => self.rollout(p, true).await,
            ActionPlan::HelmRollback(p) => run_helm(p, true).await,
        }
    }

    /// Makes the change and records the outcome before returning it.
    pub async fn apply_plan(&self, plan: &ActionPlan, dry_run: &str) -> Result<(), MutationError> {
        let result = match plan {
            ActionPlan::Scale(p) => {
                mutate::scale(&self.client, &p.service, p.to, p.resource_version.as_deref(), false).await
            }
            ActionPlan::Rollout(p) => self.rollout(p, false).await,
            ActionPlan::HelmRollback(p) => run_helm(p, false).await,
        };
        let outcome = match &result {
            Ok(()) => "applied".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        if let Err(e) = self.record_plan(plan, Some(dry_run.to_string()), outcome) {
            return Err(MutationError::Other(format!(
                "the change was made but the audit log could not be written: {e}"
            )));
        }
        result
    }
}

impl ExecContext {
    fn record_helm_rollback(
        &self,
        plan: &HelmRollbackPlan,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let (before, after) = (json!({"revision": plan.from}), json!({"revision": plan.to}));
        let target = format!("{} (helm release {})", target_text(&plan.service), plan.release);
        self.record_attempt("helm rollback", target, before, after, dry_run, outcome)
    }
}

/// `helm rollback` (or `--dry-run`, helm's own simulation), only with a helm to run.
async fn run_helm(plan: &HelmRollbackPlan, dry_run: bool) -> Result<(), MutationError> {
    let Some(program) = plan.program.as_deref() else {
        return Err(MutationError::Other("helm is not on PATH".into()));
    };
    crate::cluster::helm::run(program, &plan.args_for(dry_run)).await.map(drop).map_err(MutationError::Other)
}
