//! Executing a plan, shared by the cockpit and the headless commands: server-side
//! dry-run, the change with its precondition, the audit entry (written before the result
//! is shown), and following the rollout to its end.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::audit::{self, AuditEntry};
use super::change::{Change, OwnerPatch, PatchStrategy};
use super::helm::HelmRollback;
use super::plan::{Action, ActionPlan, target_text};
use super::rollout::{RolloutAction, RolloutChange};
use super::scale::ScaleChange;
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
    fn record_scale(
        &self,
        target: String,
        scale: &ScaleChange,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let (before, after) = (json!({"replicas": scale.from}), json!({"replicas": scale.to}));
        self.record_attempt("scale", target, before, after, dry_run, outcome)
    }

    /// Appends the audit entry for one attempt at a rollout action.
    fn record_rollout(
        &self,
        target: String,
        rollout: &RolloutAction,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let (before, after) = match rollout.change {
            Some(RolloutChange::Undo { from, to }) => (json!({"revision": from}), json!({"revision": to})),
            _ => (json!(null), json!(null)),
        };
        let action = rollout.change.map_or("rollout", RolloutChange::name);
        self.record_attempt(action, target, before, after, dry_run, outcome)
    }

    /// Appends the audit entry for one attempt at a spec or autoscaler change.
    fn record_change(
        &self,
        target: String,
        change: &Change,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let (before, after) = match change {
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
            Change::GitOpsSuspend { owner, suspend } => {
                let name = format!("{}/{}/{}", owner.kind.as_str(), owner.namespace, owner.name);
                (
                    json!({"owner": name, "suspended": !suspend}),
                    json!({"owner": name, "suspended": suspend, "patch": owner.body}),
                )
            }
        };
        self.record_attempt(change.name(), target, before, after, dry_run, outcome)
    }

    /// Sends a spec or autoscaler change (or its dry-run).
    async fn change(&self, plan: &ActionPlan, change: &Change, dry_run: bool) -> Result<(), MutationError> {
        let (client, key, rv) = (&self.client, &plan.service, plan.resource_version.as_deref());
        if let Change::HpaBounds { hpa, to, .. } = change {
            return mutate::hpa_bounds(client, &key.namespace, hpa, *to, rv, dry_run).await;
        }
        if let Change::GitOpsSuspend { owner, .. } = change {
            let OwnerPatch { kind, namespace, name, body } = &**owner;
            return mutate::patch_gitops_owner(client, *kind, namespace, name, body, dry_run).await;
        }
        match workload_patch(change) {
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
        let patch = match &plan.action {
            Action::Change(change) => workload_patch(change),
            Action::Rollout(RolloutAction { restarted_at: Some(at), .. }) => {
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

    /// Appends a change made in git (or declined, or refused): the files and the setting.
    pub fn record_git_edit(&self, edit: &super::git_edit::GitEdit, outcome: String) -> std::io::Result<()> {
        let (before, after) = edit.audited();
        self.record_attempt("change in git", target_text(&edit.service), before, after, None, outcome)
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
    async fn rollout(&self, plan: &ActionPlan, rollout: &RolloutAction, dry_run: bool) -> Result<(), MutationError> {
        let (key, rv) = (&plan.service, plan.resource_version.as_deref());
        match rollout.change {
            None => Err(MutationError::Invalid("nothing to do".into())),
            Some(RolloutChange::Restart) => {
                let at = rollout.restarted_at.clone().unwrap_or_else(|| jiff::Timestamp::now().to_string());
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
        Change::HpaBounds { .. } | Change::GitOpsSuspend { .. } => None,
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
        let (target, outcome) = (target_text(&plan.service), outcome.into());
        match &plan.action {
            Action::Scale(scale) => self.record_scale(target, scale, dry_run, outcome),
            Action::Rollout(rollout) => self.record_rollout(target, rollout, dry_run, outcome),
            Action::Change(change) => self.record_change(target, change, dry_run, outcome),
            Action::HelmRollback(rollback) => self.record_helm_rollback(target, rollback, dry_run, outcome),
        }
    }

    pub async fn dry_run_plan(&self, plan: &ActionPlan) -> Result<(), MutationError> {
        self.send(plan, true).await
    }

    /// Sends the change (or its dry-run): to the API server, or through helm.
    async fn send(&self, plan: &ActionPlan, dry_run: bool) -> Result<(), MutationError> {
        match &plan.action {
            Action::Scale(scale) => {
                mutate::scale(&self.client, &plan.service, scale.to, plan.resource_version.as_deref(), dry_run).await
            }
            Action::Rollout(rollout) => self.rollout(plan, rollout, dry_run).await,
            Action::Change(change) => self.change(plan, change, dry_run).await,
            Action::HelmRollback(rollback) => run_helm(rollback, dry_run).await,
        }
    }

    /// Makes the change and records the outcome before returning it.
    pub async fn apply_plan(&self, plan: &ActionPlan, dry_run: &str) -> Result<(), MutationError> {
        let result = self.send(plan, false).await;
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
        target: String,
        rollback: &HelmRollback,
        dry_run: Option<String>,
        outcome: String,
    ) -> std::io::Result<()> {
        let (before, after) = (json!({"revision": rollback.from}), json!({"revision": rollback.to}));
        let target = format!("{target} (helm release {})", rollback.release);
        self.record_attempt("helm rollback", target, before, after, dry_run, outcome)
    }
}

/// `helm rollback` (or `--dry-run`, helm's own simulation), only with a helm to run.
async fn run_helm(plan: &HelmRollback, dry_run: bool) -> Result<(), MutationError> {
    let Some(program) = plan.program.as_deref() else {
        return Err(MutationError::Other("helm is not on PATH".into()));
    };
    crate::cluster::helm::run(program, &plan.args_for(dry_run)).await.map(drop).map_err(MutationError::Other)
}
