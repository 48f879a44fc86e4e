//! What the cockpit asks the world to do, and what comes back: the screen emits [`Effect`]
//! values, this folder performs them (changes and their dry-runs, database measurements,
//! audit reads, runbook runs, log streams) and answers with messages the screen applies.
//! The only part of the interactive cockpit that does I/O besides the terminal itself.

pub mod checkout;
pub mod jobs;
pub mod logs;
pub mod runner;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::actions::ActionPlan;
use crate::actions::audit::AuditEntry;
use crate::actions::drain::{DrainEnd, DrainEvent};
use crate::actions::git_edit::GitEdit;
use crate::actions::runbook::engine::Control;
use crate::cluster::connect::Connection;
use crate::cluster::logs::LogEvent;
use crate::cluster::nodes::NodesLook;
use crate::cluster::session::{Intent, SessionHandle};
use crate::model::budget::ServerReading;
use crate::model::drain::NodeDrain;
use crate::model::service::Service;

pub use runner::{RunStart, RunbookSetup, RunnerEvent};

/// What the event loop must do for the app.
// A handful of effects exist at a time, moved once: boxing the job would only cost an
// allocation and the tests' patterns.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    Quit,
    Session(Intent),
    /// Run a change (or its dry-run) and report back with a [`JobEvent`].
    Execute(Job),
    /// Put text on the clipboard of the operator's terminal (OSC 52, so it works over SSH).
    Copy(String),
    /// Start (or resume) a runbook; the event loop reports back with [`RunnerEvent`]s.
    StartRunbook {
        name: String,
        params: Vec<(String, String)>,
        resume: bool,
        /// The one cluster it runs on, named when several are shown (a fleet).
        cluster: Option<String>,
    },
    /// An answer or a pause/abort for the running runbook.
    RunControl(Control),
}

/// A change to run, built from a plan the operator has seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    DryRun(ActionPlan),
    Apply {
        plan: ActionPlan,
        dry_run: String,
    },
    /// Read the audit trail for the audit screen.
    LoadAudit,
    /// Ask each database server for its connections: (database, env var with its URL).
    Measure(Vec<(String, String)>),
    /// A change refused before it had a plan (`--read-only`, a profile that does not load):
    /// audited like every refused attempt, by the command and the service it was for.
    RecordRefusal {
        action: String,
        target: String,
        outcome: String,
        /// In a fleet, the cluster it was for (its audit entry's context).
        cluster: Option<String>,
    },
    /// An attempt that ends without a change (refused by a guard, declined): audited all the same.
    Record {
        plan: ActionPlan,
        dry_run: Option<String>,
        outcome: String,
    },
    /// Look at every node, pod and budget of the cluster once (the nodes view opened); in
    /// a fleet, of the cluster named.
    ReadNodes {
        cluster: Option<String>,
    },
    /// The server's dry-run of a drain's cordon and evictions.
    DrainDryRun(NodeDrain),
    /// Cordon the node and evict its pods one owner at a time, reporting progress.
    Drain(NodeDrain),
    /// Stop the drain under way between two steps (the node stays cordoned).
    StopDrain,
    /// Let the node take pods again (in a fleet, the node of the cluster named).
    Uncordon {
        node: String,
        cluster: Option<String>,
    },
    /// Read the manifests of the local GitOps checkout for a change in git.
    ReadCheckout(std::path::PathBuf),
    /// Write a confirmed change in git to the checkout (never committed), audited.
    WriteCheckout(Box<GitEdit>),
    /// A change in git that ends without writing (declined, nothing to write to): audited.
    RecordGitEdit {
        edit: Box<GitEdit>,
        outcome: String,
    },
}

/// What came of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobEvent {
    DryRun {
        plan: ActionPlan,
        result: Result<(), String>,
    },
    Applied {
        plan: ActionPlan,
        result: Result<(), String>,
    },
    Followed {
        plan: ActionPlan,
        result: Result<bool, String>,
    },
    Audit(Result<Vec<AuditEntry>, String>),
    /// Per database: what its server reported, or why it could not be asked.
    Measured(Vec<(String, Result<ServerReading, String>)>),
    /// A job that failed with nothing else to report (the audit log could not be written).
    Failed(String),
    /// The cluster-wide look the nodes view asked for (in a fleet, of the cluster named).
    Nodes {
        cluster: Option<String>,
        look: std::sync::Arc<NodesLook>,
    },
    DrainChecked {
        node: String,
        result: Result<(), String>,
    },
    Draining {
        node: String,
        event: DrainEvent,
    },
    Drained {
        node: String,
        end: DrainEnd,
    },
    Uncordoned {
        node: String,
        result: Result<(), String>,
    },
    /// The checkout's manifests (path, text), or why they could not be read.
    Checkout(Result<Vec<(std::path::PathBuf, String)>, String>),
    /// How many files a change in git wrote.
    WrittenInGit(Result<usize, String>),
}

/// The hands of one cockpit session: they perform the effects that reach the cluster or
/// the disk, and their results arrive on [`Results`].
pub struct Effects {
    jobs: jobs::Jobs,
    runner: runner::Runner,
    followers: logs::Followers,
}

/// Where the results of effects arrive, for the event loop to hand to the screen.
pub struct Results {
    pub jobs: mpsc::UnboundedReceiver<JobEvent>,
    pub runs: mpsc::UnboundedReceiver<RunnerEvent>,
    pub logs: mpsc::UnboundedReceiver<(u64, LogEvent)>,
}

/// The connection a job goes through: in a fleet, the cluster of the service it changes
/// (a change never goes to another cluster than the one its preview named), or of the
/// nodes it looks at or drains (the cluster the nodes view was opened for).
fn connection_for(job: &Job, session: &SessionHandle) -> Result<Connection, String> {
    let clusters = session.clusters.borrow();
    if clusters.is_empty() {
        return Ok(session.connection.borrow().clone());
    }
    let named = match job {
        Job::DryRun(plan) | Job::Apply { plan, .. } | Job::Record { plan, .. } => {
            let Some(cluster) = plan.service().cluster.as_deref() else {
                return Err("this change names no cluster; nothing was sent".into());
            };
            cluster
        }
        Job::RecordRefusal { cluster: Some(cluster), .. } => cluster,
        // A change in git is audited with the context of the service it was for.
        Job::WriteCheckout(edit) | Job::RecordGitEdit { edit, .. } if edit.service.cluster.is_some() => {
            edit.service.cluster.as_deref().unwrap_or_default()
        }
        Job::LoadAudit
        | Job::Measure(_)
        | Job::RecordRefusal { cluster: None, .. }
        | Job::StopDrain
        | Job::ReadCheckout(_)
        | Job::WriteCheckout(_)
        | Job::RecordGitEdit { .. } => {
            return Ok(session.connection.borrow().clone());
        }
        Job::ReadNodes { cluster } | Job::Uncordon { cluster, .. } => nodes_cluster(cluster.as_deref())?,
        Job::DrainDryRun(drain) | Job::Drain(drain) => nodes_cluster(drain.cluster.as_deref())?,
    };
    connected(&clusters, named)
}

/// In a fleet, node work names its one cluster or is refused.
fn nodes_cluster(cluster: Option<&str>) -> Result<&str, String> {
    cluster.ok_or_else(|| {
        "nodes belong to one cluster: select a service of that cluster, then open the nodes (Space d), \
         or start the cockpit with that cluster's --context"
            .into()
    })
}

/// The connection a runbook runs through: in a fleet, the one cluster it was started for
/// (from a service of that cluster), never the first or all of them.
fn runbook_connection(cluster: Option<&str>, session: &SessionHandle) -> Result<Connection, String> {
    let clusters = session.clusters.borrow();
    if clusters.is_empty() {
        return Ok(session.connection.borrow().clone());
    }
    let Some(cluster) = cluster else {
        return Err("a runbook runs on one cluster at a time: open the runbooks (Space r) on a service of that \
                    cluster, or start the cockpit with that cluster's --context"
            .into());
    };
    connected(&clusters, cluster)
}

/// A fleet cluster's connection; one that is not connected (now) is refused, never replaced.
fn connected(clusters: &std::collections::BTreeMap<String, Connection>, cluster: &str) -> Result<Connection, String> {
    clusters.get(cluster).cloned().ok_or_else(|| format!("cluster {cluster} is not connected; nothing was sent"))
}

impl Effects {
    pub fn start(setup: runner::RunbookSetup) -> (Effects, Results) {
        let (job_events, jobs) = mpsc::unbounded_channel();
        let (runner_events, runs) = mpsc::unbounded_channel();
        let (log_events, logs) = mpsc::unbounded_channel();
        let jobs_runner = jobs::Jobs { events: job_events, audit_log: setup.paths.audit_log(), drain_stop: None };
        let effects = Effects {
            jobs: jobs_runner,
            runner: runner::Runner::new(setup, runner_events),
            followers: logs::Followers::new(log_events),
        };
        (effects, Results { jobs, runs, logs })
    }

    /// Performs one effect that reaches the cluster or the disk; the error is one line for
    /// the operator. The terminal's own effects (quit, copy) are the event loop's.
    pub fn perform(&mut self, effect: Effect, session: &SessionHandle) -> Result<(), String> {
        match effect {
            Effect::Execute(job) => {
                let connection = connection_for(&job, session)?;
                self.jobs.spawn(job, connection)
            }
            Effect::StartRunbook { name, params, resume, cluster } => {
                let connection = runbook_connection(cluster.as_deref(), session)?;
                // Only a fleet names the cluster on the run's screen.
                let cluster = (!session.clusters.borrow().is_empty()).then_some(connection.context.clone());
                self.runner.start(name, params, resume, connection, cluster);
            }
            Effect::RunControl(control) => self.runner.control(control),
            Effect::Session(intent) => {
                if session.intents.try_send(intent).is_err() {
                    return Err("the cluster session is busy; try again".into());
                }
            }
            Effect::Quit | Effect::Copy(_) => {}
        }
        Ok(())
    }

    /// Follows the log streams the screen wants; answers how many streams each follows.
    /// In a fleet each service's streams go through its own cluster's connection, as its
    /// changes do: a pane never shows another cluster's pods.
    pub fn follow_logs(
        &mut self,
        wanted: &[logs::Follow],
        services: &[Arc<Service>],
        session: &SessionHandle,
    ) -> HashMap<u64, usize> {
        let clusters = session.clusters.borrow();
        let connection = session.connection.borrow();
        self.followers.sync(wanted, services, |key| match &key.cluster {
            None => Some(connection.client.clone()),
            Some(cluster) => clusters.get(cluster).map(|c| c.client.clone()),
        })
    }
}
