//! The runbooks screen's state: the runbooks found, the run in progress as the engine last
//! reported it, the question it waits on, and what a runbook's steps point at (for the log
//! pane beside the stepper). No I/O: the event loop starts runs and carries the answers.

use std::collections::VecDeque;

use crate::actions::runbook::engine::{Prompt, RunEvent, RunOutcome};
use crate::actions::runbook::state::{RunState, RunStatus, StepState};
use crate::config::runbook::ParamDecl;
pub use crate::effects::runner::{RunStart, RunnerEvent};
use crate::model::service::{Service, ServiceKey, WorkloadKind};
use crate::model::service_ref::ServiceRef;

/// Lines of the run's own log kept for the screen.
const NOTES_KEPT: usize = 200;

/// A runbook the operator can start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunbookChoice {
    pub name: String,
    pub description: String,
    pub params: Vec<ParamDecl>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveRun {
    pub start: RunStart,
    pub state: Option<RunState>,
    pub prompt: Option<Prompt>,
    pub notes: VecDeque<String>,
    pub outcome: Option<RunOutcome>,
}

impl ActiveRun {
    /// The step the run is at: the first not yet finished (or the failed one); before the
    /// engine's first report, the first.
    pub fn current(&self) -> Option<usize> {
        let Some(state) = self.state.as_ref() else { return (!self.start.services.is_empty()).then_some(0) };
        state.steps.iter().position(|s| !matches!(s.state, StepState::Passed | StepState::Skipped))
    }

    pub fn paused(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.status == RunStatus::Paused)
    }

    /// After an abort, the rollback runbook of the step it stopped at.
    pub fn rollback_offer(&self) -> Option<&str> {
        let aborted = self.outcome.as_ref().is_some_and(|o| o.status == RunStatus::Aborted);
        aborted.then(|| self.current().and_then(|i| self.start.rollbacks.get(i)?.as_deref())).flatten()
    }

    /// The service of the current step, as a key for a log pane: the one in the view when
    /// it is there, else a Deployment of that name in the run's namespace.
    pub fn current_service(&self, services: &[std::sync::Arc<Service>]) -> Option<ServiceKey> {
        let name = self.start.services.get(self.current()?)?.as_deref()?;
        let wanted = ServiceRef::parse(name).ok()?;
        // In a fleet only the run's own cluster's services are candidates.
        let own: Vec<&Service> =
            services.iter().map(|s| &**s).filter(|s| s.key.cluster == self.start.cluster).collect();
        if let Ok(found) = wanted.resolve(&own, &self.start.namespace) {
            return Some(found.key.clone());
        }
        Some(ServiceKey {
            namespace: wanted.namespace.unwrap_or_else(|| self.start.namespace.clone()),
            name: wanted.name,
            kind: wanted.kind.unwrap_or(WorkloadKind::Deployment),
            cluster: self.start.cluster.clone(),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Runbooks {
    pub choices: Vec<RunbookChoice>,
    pub selected: usize,
    pub active: Option<ActiveRun>,
    /// Interrupted runs found at start (not held by another cockpit), offered to resume.
    pub interrupted: Vec<RunState>,
    /// Why the last start was refused.
    pub refused: Option<String>,
}

impl Runbooks {
    /// A run is going on (one at a time in a cockpit: its prompts need the keys).
    pub fn running(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.outcome.is_none())
    }

    pub fn selected_choice(&self) -> Option<&RunbookChoice> {
        self.choices.get(self.selected.min(self.choices.len().saturating_sub(1)))
    }

    /// The question the stepper showed is answered (or the run aborted).
    pub fn clear_prompt(&mut self) {
        if let Some(active) = self.active.as_mut() {
            active.prompt = None;
        }
    }

    pub fn on_event(&mut self, event: RunnerEvent) {
        match event {
            RunnerEvent::Started(start) => {
                self.refused = None;
                self.interrupted.retain(|s| s.runbook != start.runbook || s.namespace != start.namespace);
                self.active =
                    Some(ActiveRun { start, state: None, prompt: None, notes: VecDeque::new(), outcome: None });
            }
            RunnerEvent::Refused(why) => self.refused = Some(why),
            RunnerEvent::Ended(outcome) => {
                if let Some(active) = self.active.as_mut() {
                    active.prompt = None;
                    active.outcome = Some(outcome);
                }
            }
            RunnerEvent::Engine(event) => {
                let Some(active) = self.active.as_mut() else { return };
                match event {
                    RunEvent::State(state) => active.state = Some(*state),
                    RunEvent::Ask(prompt) => active.prompt = Some(prompt),
                    RunEvent::Note(text) => {
                        active.notes.push_back(text);
                        while active.notes.len() > NOTES_KEPT {
                            active.notes.pop_front();
                        }
                    }
                }
            }
        }
    }

    /// `service=ns/name namespace=ns` and the other defaults, for the parameters line of a
    /// runbook started from a service.
    pub fn param_line(choice: &RunbookChoice, service: Option<&ServiceKey>) -> String {
        choice
            .params
            .iter()
            .filter_map(|p| {
                // A runbook's own default namespace wins over where the cursor happens to be.
                let from_service = match (p.name.as_str(), service) {
                    ("service", Some(key)) => Some(format!("{}/{}", key.namespace, key.name)),
                    ("namespace", Some(key)) if p.default.is_none() => Some(key.namespace.clone()),
                    _ => None,
                };
                let value = from_service.or_else(|| p.default.clone())?;
                Some(format!("{}={value}", p.name))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `k=v k=v` as typed: every word needs an `=`.
pub fn parse_param_line(line: &str) -> Result<Vec<(String, String)>, String> {
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    crate::config::runbook::parse_param_args(&words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::runbook::state::StepRecord;

    fn choice() -> RunbookChoice {
        let p = |name: &str, default: Option<&str>| ParamDecl {
            name: name.into(),
            default: default.map(str::to_string),
            description: String::new(),
        };
        RunbookChoice {
            name: "rollback-service".into(),
            description: String::new(),
            params: vec![
                p("service", None),
                p("observe", Some("1m")),
                p("revision", None),
                p("namespace", Some("music")),
            ],
        }
    }

    #[test]
    fn parameters_are_prefilled_from_the_service_and_the_defaults() {
        let key =
            ServiceKey { namespace: "shop".into(), name: "api".into(), kind: WorkloadKind::Deployment, cluster: None };
        assert_eq!(Runbooks::param_line(&choice(), Some(&key)), "service=shop/api observe=1m namespace=music");
        assert_eq!(Runbooks::param_line(&choice(), None), "observe=1m namespace=music");
        assert_eq!(
            parse_param_line(" service=shop/api  observe=5s ").unwrap(),
            [("service".into(), "shop/api".into()), ("observe".into(), "5s".into())]
        );
        assert!(parse_param_line("service").unwrap_err().contains("expected NAME=VALUE"));
    }

    #[test]
    fn the_current_step_follows_the_state_and_an_abort_offers_the_rollback() {
        let mut runbooks = Runbooks::default();
        let start = RunStart {
            runbook: "rb".into(),
            namespace: "shop".into(),
            services: vec![Some("api".into()), Some("web".into())],
            rollbacks: vec![None, Some("rb-rollback".into())],
            params: vec![],
            cluster: None,
        };
        runbooks.on_event(RunnerEvent::Started(start));
        let mut state = RunState {
            runbook: "rb".into(),
            source: String::new(),
            context: "c".into(),
            namespace: "shop".into(),
            params: vec![],
            status: RunStatus::Running,
            started: jiff::Timestamp::UNIX_EPOCH,
            updated: jiff::Timestamp::UNIX_EPOCH,
            pid: 1,
            steps: vec![StepRecord::new("one", "One", String::new()), StepRecord::new("two", "Two", String::new())],
            rollback: None,
            message: String::new(),
        };
        state.steps[0].state = StepState::Passed;
        runbooks.on_event(RunnerEvent::Engine(RunEvent::State(Box::new(state))));
        let active = runbooks.active.as_ref().unwrap();
        assert_eq!(active.current(), Some(1));
        assert_eq!(active.current_service(&[]).unwrap().name, "web");
        assert!(runbooks.running());
        let aborted = RunOutcome { status: RunStatus::Aborted, refused: false, message: String::new() };
        runbooks.on_event(RunnerEvent::Ended(aborted));
        assert_eq!(runbooks.active.as_ref().unwrap().rollback_offer(), Some("rb-rollback"));
        assert!(!runbooks.running());
    }
}
