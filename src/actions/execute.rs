//! Executing a plan, shared by the cockpit and the headless commands: server-side
//! dry-run, the change with its precondition, the audit entry (written before the result
//! is shown), and following the rollout to its end.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::ActionPlan;
use super::audit::{self, AuditEntry};
use super::change::{Change, ChangePlan, PatchStrategy};
use super::helm::HelmRollbackPlan;
use super::rollout::{RolloutChange, RolloutPlan};
use super::scale::{ScalePlan, target_text};
use crate::cluster::mutate::{self, MutationError, RolloutEnd};
use crate::model::service::{Service, ServiceKey};

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
    /// Changes go through `connection` and are recorded in `audit_log`.
    pub fn new(connection: &crate::cluster::connect::Connection, audit_log: PathBuf) -> Self {
        ExecContext {
            client: connection.client.clone(),
            context: connection.context.clone(),
            user: connection.user.clone(),
            audit_log,
        }
    }

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

    /// Appends the audit entry for one attempt at a spec or autoscaler change.
    fn record_change(&self, plan: &ChangePlan, dry_run: Option<String>, outcome: String) -> std::io::Result<()> {
        let (before, after) = match &plan.change {
            Change::SetImage { container, image, from } => {
                (json!({"container": container, "image": from}), json!({"container": container, "image": image}))
            }
            // Values before are not recorded: they may have come from a Secret.
            Change::SetEnv { containers, vars } => {
                let after: serde_json::Map<String, serde_json::Value> =
                    vars.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                (json!({"containers": containers}), serde_json::Value::Object(after))
            }
            Change::Patch { strategy, body } => (json!({"strategy": strategy.as_str()}), body.clone()),
            Change::HpaBounds { hpa, from, to, .. } => {
                (json!({"hpa": hpa, "min": from.0, "max": from.1}), json!({"hpa": hpa, "min": to.0, "max": to.1}))
            }
        };
        self.record_attempt(plan.change.name(), target_text(&plan.service), before, after, dry_run, outcome)
    }

    /// Sends a spec or autoscaler change (or its dry-run).
    async fn change(&self, plan: &ChangePlan, dry_run: bool) -> Result<(), MutationError> {
        let (client, key, rv) = (&self.client, &plan.service, plan.resource_version.as_deref());
        if let Change::HpaBounds { hpa, to, .. } = &plan.change {
            return mutate::hpa_bounds(client, &key.namespace, hpa, *to, rv, dry_run).await;
        }
        match workload_patch(&plan.change) {
            Some((strategy, body)) => mutate::patch(client, key, strategy, &body, rv, dry_run).await,
            None => Err(MutationError::Invalid("nothing to send".into())),
        }
    }

    /// Whether sending `plan` would change anything: the model answers where it can, the
    /// API server's dry-run where only it can (a patch, a restart with a fixed stamp).
    pub async fn would_change(&self, plan: &ActionPlan, service: &Service) -> Result<bool, MutationError> {
        if let Some(applied) = plan.already_applied(service) {
            return Ok(!applied);
        }
        let patch = match plan {
            ActionPlan::Change(p) => workload_patch(&p.change),
            ActionPlan::Rollout(RolloutPlan { restarted_at: Some(at), .. }) => {
                Some((PatchStrategy::Merge, mutate::restart_patch(at)))
            }
            _ => None,
        };
        let Some((strategy, body)) = patch else { return Ok(true) };
        mutate::patch_would_change(&self.client, plan.service(), strategy, body).await
    }

    /// Appends a change refused before it had a plan (read-only, a profile that does not load).
    pub fn record_refusal(&self, action: &str, target: String, outcome: String) -> std::io::Result<()> {
        self.record_attempt(action, target, serde_json::Value::Null, serde_json::Value::Null, None, outcome)
    }

    /// Appends a runbook's transition (a step started, passed, failed; the run ended).
    pub fn record_runbook(
        &self,
        target: &str,
        before: serde_json::Value,
        after: serde_json::Value,
        outcome: &str,
    ) -> std::io::Result<()> {
        self.record_attempt("runbook", target.to_string(), before, after, None, outcome.to_string())
    }

    pub(crate) fn record_attempt(
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
            Some(RolloutChange::Restart) => {
                let at = plan.restarted_at.clone().unwrap_or_else(|| jiff::Timestamp::now().to_string());
                mutate::restart(&self.client, key, &at, rv, dry_run).await
            }
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

/// The patch of the workload a change sends; `None` for the autoscaler's bounds, which
/// patch another object.
fn workload_patch(change: &Change) -> Option<(PatchStrategy, serde_json::Value)> {
    match change {
        Change::SetImage { container, image, .. } => {
            Some((PatchStrategy::Strategic, mutate::set_image_patch(container, image)))
        }
        Change::SetEnv { containers, vars } => {
            Some((PatchStrategy::Strategic, mutate::set_env_patch(containers, vars)))
        }
        Change::Patch { strategy, body } => Some((*strategy, body.clone())),
        Change::HpaBounds { .. } => None,
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
            ActionPlan::Change(p) => self.record_change(p, dry_run, outcome.into()),
            ActionPlan::HelmRollback(p) => self.record_helm_rollback(p, dry_run, outcome.into()),
        }
    }

    pub async fn dry_run_plan(&self, plan: &ActionPlan) -> Result<(), MutationError> {
        match plan {
            ActionPlan::Scale(p) => {
                mutate::scale(&self.client, &p.service, p.to, p.resource_version.as_deref(), true).await
            }
            ActionPlan::Rollout(p) => self.rollout(p, true).await,
            ActionPlan::Change(p) => self.change(p, true).await,
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
            ActionPlan::Change(p) => self.change(p, false).await,
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
