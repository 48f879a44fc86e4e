//! Changes, measurements and audit reads run off the event loop; each reports back with a
//! [`JobEvent`]. The audit entry is written by the executor before the result reaches the screen.

use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use super::{Job, JobEvent};
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::cluster::connect::Connection;
use crate::cluster::mutate::RolloutEnd;

/// Runs changes off the event loop and reports back; the audit entry is written by the
/// executor before the result reaches the screen.
pub struct Jobs {
    pub events: mpsc::UnboundedSender<JobEvent>,
    pub audit_log: PathBuf,
    /// Stops the drain under way, if one is.
    pub drain_stop: Option<watch::Sender<bool>>,
}

impl Jobs {
    pub fn spawn(&mut self, job: Job, connection: Connection) {
        let exec = ExecContext::new(&connection, self.audit_log.clone());
        let events = self.events.clone();
        let job = match job {
            Job::StopDrain => {
                if let Some(stop) = &self.drain_stop {
                    let _ = stop.send(true);
                }
                return;
            }
            Job::Drain(drain) => {
                let (stop, abort) = watch::channel(false);
                self.drain_stop = Some(stop);
                tokio::spawn(drain_node(exec, drain, abort, events));
                return;
            }
            other => other,
        };
        let server_url = connection.server_url.clone();
        let timeout = connection.request_timeout;
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
                Job::RecordRefusal { action, target, outcome, .. } => {
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
                Job::ReadNodes { cluster } => {
                    let look = crate::cluster::nodes::look(&exec.client, &server_url, timeout).await;
                    let _ = events.send(JobEvent::Nodes { cluster, look: std::sync::Arc::new(look) });
                }
                Job::DrainDryRun(drain) => {
                    let result = crate::actions::drain::dry_run(&exec, &drain).await;
                    if let Err(e) = &result {
                        let outcome = format!("refused: {e}");
                        let _ = exec.record_refusal("drain", format!("node/{}", drain.node), outcome);
                    }
                    let _ = events
                        .send(JobEvent::DrainChecked { node: drain.node, result: result.map_err(|e| e.to_string()) });
                }
                Job::Uncordon { node, .. } => {
                    let result = crate::actions::drain::set_cordon(&exec, &node, false).await;
                    let _ = events.send(JobEvent::Uncordoned { node, result: result.map_err(|e| e.to_string()) });
                }
                Job::StopDrain | Job::Drain(_) => {}
                Job::ReadCheckout(repo) => {
                    let read = tokio::task::spawn_blocking(move || super::checkout::read_manifests(&repo)).await;
                    let _ = events.send(JobEvent::Checkout(read.unwrap_or_else(|e| Err(e.to_string()))));
                }
                Job::WriteCheckout(edit) => {
                    let written = super::checkout::write(&edit);
                    let outcome =
                        written.as_ref().map_or_else(|e| format!("failed: {e}"), |n| format!("written: {n} file(s)"));
                    let audited = exec
                        .record_git_edit(&edit, outcome)
                        .map_err(|e| format!("the audit log could not be written: {e}"));
                    let _ = events.send(JobEvent::WrittenInGit(audited.and(written)));
                }
                Job::RecordGitEdit { edit, outcome } => {
                    if let Err(e) = exec.record_git_edit(&edit, outcome) {
                        let _ = events.send(JobEvent::Failed(format!("the audit log could not be written: {e}")));
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

/// A confirmed drain: cordon, evictions one owner at a time, each step reported as it
/// happens; the audit log has every step before the screen hears of it.
async fn drain_node(
    exec: ExecContext,
    drain: crate::model::drain::NodeDrain,
    abort: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<JobEvent>,
) {
    let node = drain.node.clone();
    let progress = |event| {
        let _ = events.send(JobEvent::Draining { node: node.clone(), event });
    };
    let end =
        crate::actions::drain::execute(&exec, &drain, crate::actions::drain::DRAIN_TIMEOUT, &abort, progress).await;
    let _ = events.send(JobEvent::Drained { node: drain.node, end });
}
