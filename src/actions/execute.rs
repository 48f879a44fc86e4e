//! Executing a plan, shared by the cockpit and the headless commands: server-side
//! dry-run, the change with its precondition, the audit entry (written before the result
//! is shown), and following the rollout to its end.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::audit::{self, AuditEntry};
use super::scale::{ScalePlan, target_text};
use crate::cluster::mutate::{self, MutationError, RolloutEnd};

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
    pub fn record(&self, plan: &ScalePlan, dry_run: Option<String>, outcome: impl Into<String>) -> std::io::Result<()> {
        let entry = AuditEntry {
            time: jiff::Timestamp::now().to_string(),
            context: self.context.clone(),
            user: self.user.clone(),
            action: "scale".into(),
            target: target_text(&plan.service),
            before: json!({"replicas": plan.from}),
            after: json!({"replicas": plan.to}),
            dry_run,
            outcome: outcome.into(),
        };
        audit::append(&self.audit_log, &entry)
    }

    /// The server's verdict on the change, without making it.
    pub async fn dry_run(&self, plan: &ScalePlan) -> Result<(), MutationError> {
        mutate::scale(&self.client, &plan.service, plan.to, plan.resource_version.as_deref(), true).await
    }

    /// Makes the change and records the outcome (the dry-run's answer travels along).
    pub async fn apply(&self, plan: &ScalePlan, dry_run: &str) -> Result<(), MutationError> {
        let result = mutate::scale(&self.client, &plan.service, plan.to, plan.resource_version.as_deref(), false).await;
        let outcome = match &result {
            Ok(()) => "applied".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        if let Err(e) = self.record(plan, Some(dry_run.to_string()), outcome) {
            return Err(MutationError::Other(format!(
                "the change was made but the audit log could not be written: {e}"
            )));
        }
        result
    }

    pub async fn follow(&self, plan: &ScalePlan) -> Result<RolloutEnd, MutationError> {
        mutate::await_rollout(&self.client, &plan.service, FOLLOW_FOR).await
    }
}

/// The text an audit entry and the screen give a dry-run answer.
pub fn dry_run_text(result: &Result<(), MutationError>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}
