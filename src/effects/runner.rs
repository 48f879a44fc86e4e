//! Runbooks started from the cockpit: one run at a time, off the event loop, with its own
//! watches of its namespace; the engine's reports come back as [`RunnerEvent`]s and the
//! operator's answers go to it as [`Control`]s.

use tokio::sync::mpsc;

use crate::actions::execute::ExecContext;
use crate::actions::runbook::engine::{self, Control, Io, RunEvent, RunOutcome};
use crate::actions::runbook::launch::{self, Request};
use crate::cluster::connect::{ConnectOptions, Connection};
use crate::config::paths::Paths;
use crate::config::profile::ProfileChoice;
use crate::model::runbook::{OnFailure, Runbook, Step};

/// What the event loop tells the screen about a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunnerEvent {
    Started(RunStart),
    Engine(RunEvent),
    Ended(RunOutcome),
    /// The run could not start (bad parameters, a lock, the cluster): nothing was changed.
    Refused(String),
}

/// A run that has started: what its steps are about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStart {
    pub runbook: String,
    pub namespace: String,
    /// Per step: the service it changes (or its first gate watches).
    pub services: Vec<Option<String>>,
    /// Per step: the runbook its failure hands over to.
    pub rollbacks: Vec<Option<String>>,
    pub params: Vec<(String, String)>,
    /// The cluster it runs on, when the cockpit shows several (a fleet).
    pub cluster: Option<String>,
}

/// What starting a runbook from the cockpit needs besides the current connection.
#[derive(Clone)]
pub struct RunbookSetup {
    pub paths: Paths,
    pub options: ConnectOptions,
    pub profiles: ProfileChoice,
}

/// Runs one runbook at a time off the event loop: its own watches of its namespace, the
/// engine, and its reports turned into [`RunnerEvent`]s.
pub struct Runner {
    setup: RunbookSetup,
    events: mpsc::UnboundedSender<RunnerEvent>,
    controls: Option<mpsc::UnboundedSender<Control>>,
}

impl Runner {
    pub fn new(setup: RunbookSetup, events: mpsc::UnboundedSender<RunnerEvent>) -> Runner {
        Runner { setup, events, controls: None }
    }

    pub fn control(&self, control: Control) {
        if let Some(controls) = &self.controls {
            let _ = controls.send(control);
        }
    }

    /// Starts a run through `connection` (in a fleet, the one cluster named `cluster`).
    pub fn start(
        &mut self,
        name: String,
        params: Vec<(String, String)>,
        resume: bool,
        connection: Connection,
        cluster: Option<String>,
    ) {
        if self.controls.as_ref().is_some_and(|c| !c.is_closed()) {
            let _ = self.events.send(RunnerEvent::Refused("a runbook is already running in this cockpit".into()));
            return;
        }
        let (controls_tx, controls) = mpsc::unbounded_channel();
        self.controls = Some(controls_tx);
        let (setup, events) = (self.setup.clone(), self.events.clone());
        tokio::spawn(async move {
            let request = Request {
                name: &name,
                params: &params,
                resume,
                connection: connection.clone(),
                // The run's own watches are of its cluster alone, whatever the cockpit shows.
                options: ConnectOptions { context: Some(connection.context.clone()), ..setup.options.clone() },
                profiles: setup.profiles.clone(),
                paths: &setup.paths,
            };
            let prepared = match launch::prepare(request).await {
                Ok(prepared) => prepared,
                Err(e) => {
                    let _ = events.send(RunnerEvent::Refused(e.to_string()));
                    return;
                }
            };
            let mut run = match prepared.begin(resume, &setup.paths) {
                Ok(run) => run,
                Err(e) => {
                    let _ = events.send(RunnerEvent::Refused(e.to_string()));
                    return;
                }
            };
            let _ = events.send(RunnerEvent::Started(run_start(&prepared.runbook, &prepared.namespace, cluster)));
            let (engine_events, mut reports) = mpsc::unbounded_channel();
            let forward = events.clone();
            tokio::spawn(async move {
                while let Some(event) = reports.recv().await {
                    if forward.send(RunnerEvent::Engine(event)).is_err() {
                        return;
                    }
                }
            });
            let mut io = Io {
                exec: ExecContext::new(&prepared.connection, setup.paths.audit_log()),
                views: prepared.views.clone(),
                runs_dir: setup.paths.runbook_state(),
                auto_confirm: false,
                events: engine_events,
                controls,
                related: prepared.related(&setup.paths),
            };
            let outcome = engine::execute(&mut io, &mut run).await;
            drop(io);
            let _ = events.send(RunnerEvent::Ended(outcome));
        });
    }
}

/// What the stepper needs to know of a runbook's steps.
fn run_start(runbook: &Runbook, namespace: &str, cluster: Option<String>) -> RunStart {
    let service =
        |s: &Step| s.action.service().or_else(|| s.gates.first().and_then(|g| g.service())).map(str::to_string);
    let rollback = |s: &Step| match &s.on_failure {
        OnFailure::Runbook(name) => Some(name.clone()),
        _ => None,
    };
    RunStart {
        runbook: runbook.name.clone(),
        namespace: namespace.to_string(),
        services: runbook.steps.iter().map(service).collect(),
        rollbacks: runbook.steps.iter().map(rollback).collect(),
        params: runbook.params.clone(),
        cluster,
    }
}
