//! Getting a run ready, the same way for `runbook run` and the cockpit's runbooks screen:
//! find and fill in the runbook, scope the connection to its namespace, check the profile,
//! watch that namespace until it is listed, and refuse before anything changes when the
//! runbook names services or SLO rules that are not there.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::engine::{Related, Run};
use super::error::RunError;
use super::state;
use super::{namespace_of, preflight};
use crate::cluster::connect::{ConnectOptions, Connection};
use crate::cluster::session::{self, ClusterView, SessionHandle};
use crate::config::paths::Paths;
use crate::config::profile::ProfileChoice;
use crate::config::runbook::{self as files, Fill, RunbookFile};
use crate::model::runbook::Runbook;

/// Why a run did not start (nothing was changed), sorted by the exit code it means.
#[derive(Debug, PartialEq, Eq)]
pub enum LaunchError {
    /// The runbook, its parameters or the profile are wrong.
    Usage(String),
    /// Already running, interrupted and not resumed, or nothing to resume.
    Refused(String),
    /// The cluster did not answer.
    Cluster(String),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Usage(m) | LaunchError::Refused(m) | LaunchError::Cluster(m) => f.write_str(m),
        }
    }
}

/// What a run is asked with.
pub struct Request<'a> {
    pub name: &'a str,
    pub params: &'a [(String, String)],
    pub resume: bool,
    pub connection: Connection,
    pub options: ConnectOptions,
    pub profiles: ProfileChoice,
    pub paths: &'a Paths,
}

/// A runbook ready to run, with the watches of its namespace.
pub struct Prepared {
    pub runbook: Runbook,
    pub file: RunbookFile,
    pub namespace: String,
    pub connection: Connection,
    pub views: watch::Receiver<Arc<ClusterView>>,
    pub view: Arc<ClusterView>,
    /// Keeps the watches open while the run goes on.
    pub session: SessionHandle,
}

fn problems_text(problems: &[crate::config::diagnostic::Diagnostic]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

pub async fn prepare(request: Request<'_>) -> Result<Prepared, LaunchError> {
    let file = files::find(request.name, request.paths).map_err(LaunchError::Usage)?;
    let load = |params: &[(String, String)]| {
        files::load(&file, Fill::Run(params)).map_err(|p| LaunchError::Usage(problems_text(&p)))
    };
    let mut runbook = load(request.params)?;
    let handovers = files::check_handovers(&file, request.paths);
    if !handovers.is_empty() {
        return Err(LaunchError::Usage(problems_text(&handovers)));
    }
    let mut connection = request.connection;
    let namespace = namespace_of(&runbook).unwrap_or_else(|| connection.namespace.clone());
    connection.namespace = namespace.clone();
    connection.all_namespaces = false;
    if request.resume {
        let runs = request.paths.runbook_state();
        let path = state::state_path(&runs, &connection.context, &namespace, &runbook.name);
        let saved = state::load(&path).map_err(|e| LaunchError::Usage(e.to_string()))?.ok_or_else(|| {
            let nothing = RunError::NothingToResume { runbook: runbook.name.clone(), namespace: namespace.clone() };
            LaunchError::Refused(nothing.to_string())
        })?;
        runbook = load(&saved.params)?;
    }
    let (_, problems) = request.profiles.load(&connection.context);
    if let Some(refusal) = crate::config::profile::refusal(&problems) {
        return Err(LaunchError::Usage(format!("{}\n{refusal}", problems_text(&problems))));
    }
    let session = session::start(connection.clone(), request.options, request.profiles);
    let mut views = session.views.clone();
    let view = synced(&mut views, &connection).await?;
    let problems = preflight(&runbook, &view.services, &view.slo_rules, &namespace);
    if !problems.is_empty() {
        let list = problems.join("\n  ");
        return Err(LaunchError::Usage(format!("runbook {} cannot run on {namespace}:\n  {list}", runbook.name)));
    }
    Ok(Prepared { runbook, file, namespace, connection, views, view, session })
}

/// The first synced view of the namespace, or why there is none.
async fn synced(
    views: &mut watch::Receiver<Arc<ClusterView>>,
    conn: &Connection,
) -> Result<Arc<ClusterView>, LaunchError> {
    let wait = async {
        loop {
            let view = views.borrow_and_update().clone();
            if !view.syncing {
                return Some(view);
            }
            views.changed().await.ok()?;
        }
    };
    match tokio::time::timeout(conn.request_timeout.max(Duration::from_secs(5)), wait).await {
        Ok(Some(view)) => Ok(view),
        _ => Err(LaunchError::Cluster(format!(
            "cannot list workloads from {} (context \"{}\") in time",
            conn.server_url, conn.context
        ))),
    }
}

impl Prepared {
    /// Takes the run's lock and its state (a new run, or the interrupted one).
    pub fn begin(&self, resume: bool, paths: &Paths) -> Result<Run, LaunchError> {
        let (runbook, context, runs) = (self.runbook.clone(), &self.connection.context, paths.runbook_state());
        let run = if resume {
            Run::resume(runbook, context, &self.namespace, &runs)
        } else {
            Run::start(runbook, context, &self.namespace, &runs)
        };
        run.map_err(|e| LaunchError::Refused(e.to_string()))
    }

    /// Loads the runbook a failing step hands over to, next to this one or by name, with
    /// the failing run's parameters it declares.
    pub fn related(&self, paths: &Paths) -> Related {
        let (primary, paths) = (self.file.clone(), paths.clone());
        Box::new(move |name, params| {
            let file = files::find_related(name, &primary, &paths)?;
            let declared = files::declared_params(&file);
            let given: Vec<(String, String)> =
                params.iter().filter(|(k, _)| declared.iter().any(|d| &d.name == k)).cloned().collect();
            files::load(&file, Fill::Run(&given)).map_err(|p| problems_text(&p))
        })
    }
}
