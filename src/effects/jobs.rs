//! Changes, measurements and audit reads run off the event loop; each reports back with a
//! [`JobEvent`]. The audit entry is written by the executor before the result reaches the screen.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::{Job, JobEvent};
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::cluster::connect::Connection;
use crate::cluster::mutate::RolloutEnd;

/// Runs changes off the event loop and reports back; the audit entry is written by the
/// executor before the result reaches the screen.
pub struct Jobs {
    pub events: mpsc::UnboundedSender<JobEvent>,
    pub audit_log: PathBuf,
}

impl Jobs {
    pub fn spawn(&self, job: Job, connection: Connection) {
        let exec = ExecContext::new(&connection, self.audit_log.clone());
        let events = self.events.clone();
        tokio::spawn(async move {
            match job {
                Job::DryRun(plan) => {
                    let result = exec.dry_run_plan(&plan).await;
                    if let Err(e) = &result {
                        let _ = exec.record_plan(&plan, Some(dry_run_text(&result)), format!("refused: {e}"));
                    }
                    let _ = events.send(JobEvent::DryRun { plan, result: result.map_err(|e| e.to_string()) });
                }
                Job::Measure(servers) => {
                    let readings = futures::future::join_all(
                        servers
                            .into_iter()
                            .map(|(db, env)| async move { (db, crate::cluster::measure::read_server(&env).await) }),
                    )
                    .await;
                    let _ = events.send(JobEvent::Measured(readings));
                }
                Job::LoadAudit => {
                    let path = exec.audit_log.clone();
                    let read = tokio::task::spawn_blocking(move || crate::actions::audit::read(&path)).await;
                    let entries = read.map(|(entries, _bad)| entries).map_err(|e| e.to_string());
                    let _ = events.send(JobEvent::Audit(entries));
                }
                Job::RecordRefusal { action, target, outcome } => {
                    if let Err(e) = exec.record_refusal(&action, target, outcome) {
                        let _ = events.send(JobEvent::Failed(format!("the audit log could not be written: {e}")));
                    }
                }
                Job::Record { plan, dry_run, outcome } => {
                    if let Err(e) = exec.record_plan(&plan, dry_run, outcome) {
                        let result = Err(format!("the audit log could not be written: {e}"));
                        let _ = events.send(JobEvent::Applied { plan, result });
                    }
                }
                Job::Apply { plan, dry_run } => {
                    let applied = exec.apply_plan(&plan, &dry_run).await.map_err(|e| e.to_string());
                    let follow = applied.is_ok() && plan.rolls_pods();
                    let _ = events.send(JobEvent::Applied { plan: plan.clone(), result: applied });
                    if follow {
                        let result = exec
                            .follow_service(plan.service())
                            .await
                            .map(|end| end == RolloutEnd::Complete)
                            .map_err(|e| e.to_string());
                        let _ = events.send(JobEvent::Followed { plan, result });
                    }
                }
            }
        });
    }
}
