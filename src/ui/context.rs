//! What every screen and popup shares: the cluster as last seen, the theme and keymap, the
//! log panes and runbooks that live on across screens, the status notice; and the typed
//! requests a component hands back (open this, go back, ask for that effect).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::panes::{LogPanes, SloWatches};
use super::runbooks::Runbooks;
use crate::actions::ActionPlan;
use crate::actions::audit::AuditEntry;
use crate::cluster::helm::HelmSetup;
use crate::cluster::session::{ClusterView, Intent};
use crate::config::commands::Command;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::effects::logs::Follow;
use crate::effects::{Effect, JobEvent};
use crate::model::budget::{DatabaseBudget, Measured, ServerReading};
use crate::model::service::{Service, ServiceKey, WorkloadKind};

/// Why every change is refused for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `--read-only`.
    ReadOnly,
    /// The profile exists and does not load: its guards are unknown.
    BrokenProfile,
}

impl Refusal {
    /// What the operator is told.
    pub fn why(self) -> &'static str {
        match self {
            Refusal::ReadOnly => "the cockpit is read-only (--read-only)",
            Refusal::BrokenProfile => "the profile does not load (its guards are unknown)",
        }
    }

    /// What the audit log says after `refused: `.
    pub fn audited_as(self) -> &'static str {
        match self {
            Refusal::ReadOnly => "read-only",
            Refusal::BrokenProfile => "profile does not load",
        }
    }
}

/// A line for the status bar: what went wrong or what just happened.
#[derive(Clone, Debug)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

/// Whether a component took a command; one that did not lets the next one under it try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    Yes,
    No,
}

/// A screen a component asks to show on top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Show {
    Detail(ServiceKey),
    Logs,
    Runbooks,
}

/// What a component asks of the app besides changing its own state: plain values, so a
/// component needs to know no other component.
#[derive(Debug)]
pub enum Request {
    /// Show this screen on top (unless it is already on top).
    Show(Show),
    /// Back to the screen under the top one.
    Pop,
    /// Close the popup.
    Close,
    /// Type a filter for the overview.
    OpenFilter,
    /// Choose a namespace to jump to in the overview.
    OpenNamespaceJump,
    /// Select the overview's first service of this namespace.
    JumpToNamespace(String),
    /// Type the focused log pane's filter (or, `search`, its search).
    OpenLogFilter { search: bool },
    /// Ask for a runbook's parameters, `line` filled in; in a fleet, for the one cluster
    /// it will run on.
    OpenRunParams { name: String, line: String, cluster: Option<String> },
    /// Ask for the service name a runbook step wants typed.
    ConfirmName(String),
    /// Ask why a manual step is skipped.
    AskSkipReason,
    /// Prepare a node's drain (its guards are judged on `services`).
    OpenDrain { drain: crate::model::drain::NodeDrain, services: Vec<Service> },
    /// Prepare this change (a chosen revision's plan).
    OpenChange { key: ServiceKey, plan: ActionPlan },
    /// The overview's filter as typed so far (the selection goes back to the top).
    Filter(String),
    /// The overview's filter from before the typing (cancelled).
    RestoreFilter(String),
    /// Run a command as if its key was pressed (the palette's choice).
    Run(Command),
    /// Leave for another namespace or context.
    Switch(Intent),
    /// Something for the world outside the screen.
    Effect(Effect),
}

/// Entry of the "all namespaces" choice in the namespace picker.
pub const ALL_NAMESPACES: &str = "(all namespaces)";

/// The state the screens and popups share.
pub struct Context {
    pub theme: Theme,
    pub keymap: Keymap,
    pub view: Arc<ClusterView>,
    pub read_only: bool,
    pub notice: Option<Notice>,
    /// The profile problems the operator has hidden (the banner comes back when they
    /// change or the profile is reloaded); changes stay refused all the same.
    pub banner_hidden: Option<Vec<String>>,
    /// The generation a switch asked for; until it arrives the status line says so.
    pub awaiting: Option<u64>,
    /// The terminal's size (set at start and on every resize): the layout that drawing
    /// uses, so paging knows a page's height without drawing.
    pub area: Rect,
    /// The audit trail as last read (for the audit screen).
    pub audit: Vec<AuditEntry>,
    /// The last live reading of each database server (by database name), taken when the
    /// budget screen opens; attributed to services when drawn, so it follows the pods.
    pub readings: BTreeMap<String, Result<ServerReading, String>>,
    /// A measurement is under way.
    pub measuring: bool,
    /// The live log panes (they keep streaming while other screens are shown).
    pub logs: LogPanes,
    /// Services with SLO rules followed in the background for the overview's SLO column.
    pub slo_watches: SloWatches,
    /// The runbooks found, and the run in progress.
    pub runbooks: Runbooks,
    /// The service the runbooks screen was opened from (its parameters are filled in).
    pub runbooks_for: Option<ServiceKey>,
    /// Where helm is and how it reaches this cluster (a rollback runs only with a helm).
    pub helm: HelmSetup,
    /// The local GitOps checkout the wizards' "change it in git" edits (`--gitops-repo`).
    pub gitops_repo: Option<std::path::PathBuf>,
}

impl Context {
    pub fn new(theme: Theme, keymap: Keymap, view: Arc<ClusterView>, read_only: bool) -> Context {
        let mut logs = LogPanes::default();
        logs.keep_sgr = theme.log_allow_sgr();
        Context {
            theme,
            keymap,
            view,
            read_only,
            notice: None,
            banner_hidden: None,
            awaiting: None,
            area: Rect::new(0, 0, 80, 24),
            audit: Vec::new(),
            readings: BTreeMap::new(),
            measuring: false,
            logs,
            slo_watches: SloWatches::default(),
            runbooks: Runbooks::default(),
            runbooks_for: None,
            helm: HelmSetup::default(),
            gitops_repo: None,
        }
    }

    pub fn say(&mut self, text: impl Into<String>, now: Timestamp) {
        self.notice = Some(Notice { text: text.into(), error: false, at: now });
    }

    pub fn report_error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice { text: text.into(), error: true, at: Timestamp::now() });
    }

    /// Why no change may be made now, if none may: `--read-only`, or a profile that does
    /// not load (its singletons and production flag are unknown, so no guard can be trusted).
    pub fn changes_refused(&self) -> Option<Refusal> {
        if self.read_only {
            return Some(Refusal::ReadOnly);
        }
        self.view.profile.refusal.as_ref().map(|_| Refusal::BrokenProfile)
    }

    /// The profile's problems while it does not load and the operator has not hidden them.
    pub fn banner(&self) -> Option<&[String]> {
        let profile = &self.view.profile;
        profile.refusal.as_ref()?;
        (self.banner_hidden.as_ref() != Some(&profile.problems)).then_some(profile.problems.as_slice())
    }

    /// Whether a change to `key` is a change in production: its own cluster's profile
    /// says so in a fleet, the context's otherwise.
    pub fn production_of(&self, key: &ServiceKey) -> bool {
        self.production_in(key.cluster.as_deref())
    }

    /// Whether `cluster` (in a fleet; else the context) is production by its profile.
    pub fn production_in(&self, cluster: Option<&str>) -> bool {
        match (&self.view.fleet, cluster) {
            (Some(fleet), Some(cluster)) => fleet.member(cluster).is_some_and(|m| m.production),
            _ => self.view.profile.production,
        }
    }

    /// What the operator types to confirm a change to `key`: its name, and in a fleet its
    /// cluster too (`api@eu`), so a confirmation cannot be given for the wrong cluster.
    pub fn typed_name(key: &ServiceKey) -> String {
        Context::named_in(&key.name, key.cluster.as_deref())
    }

    /// A service's or node's name as typed to confirm: `name@cluster` in a fleet.
    pub fn named_in(name: &str, cluster: Option<&str>) -> String {
        match cluster {
            Some(cluster) => format!("{name}@{cluster}"),
            None => name.to_string(),
        }
    }

    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.view.services.iter().find(|s| &s.key == key).map(|s| &**s)
    }

    /// `budget` judged on its server's last reading, when the server was measured: the
    /// budget screen and the detail view show the same numbers as `budget` headless.
    pub fn measured_budget(&self, budget: &DatabaseBudget) -> DatabaseBudget {
        let measured = match self.readings.get(&budget.name) {
            Some(Ok(reading)) => reading.measured(budget, &self.view.services),
            Some(Err(cause)) => Measured::Unavailable(cause.clone()),
            None => return budget.clone(),
        };
        budget.clone().with_measured(measured)
    }

    /// The SLO gate of every service with rules: from its pane when one is open, else from
    /// its background watch (the overview's SLO column).
    pub fn slo_gates(&self, now: Timestamp) -> BTreeMap<ServiceKey, crate::model::slo::GateState> {
        let mut gates = self.slo_watches.gates(now);
        gates.extend(self.logs.gates(now));
        gates
    }

    /// The results of jobs that are the context's (measurements, the audit trail, a
    /// failure); the others (about a change) are handed back for the change wizard.
    pub fn on_job(&mut self, event: JobEvent) -> Option<JobEvent> {
        match event {
            JobEvent::Failed(why) => self.report_error(why),
            JobEvent::Measured(readings) => {
                self.measuring = false;
                self.readings.extend(readings);
            }
            JobEvent::Audit(Ok(entries)) => self.audit = entries,
            JobEvent::Audit(Err(e)) => self.report_error(e),
            change => return Some(change),
        }
        None
    }

    /// The log streams wanted now: the open panes, and the background SLO watches of the
    /// services with rules (matched to the current view first).
    pub fn wanted_logs(&mut self) -> Vec<Follow> {
        self.slo_watches.sync(&self.view.services, &self.view.slo_rules, &self.logs);
        self.logs.follows().chain(self.slo_watches.follows()).collect()
    }

    /// Opens (or focuses) a log pane for `key`; false (and said) when it cannot.
    pub fn open_logs(&mut self, key: ServiceKey, now: Timestamp) -> bool {
        let service = self.service(&key).cloned();
        match self.logs.open(key, &self.view.slo_rules, service.as_ref()) {
            Ok(()) => true,
            Err(e) => {
                self.say(e, now);
                false
            }
        }
    }
}

/// The kubectl command that looks at `service`.
pub fn kubectl_get(service: &Service) -> String {
    let kind = match service.key.kind {
        WorkloadKind::Deployment => "deployment",
        WorkloadKind::StatefulSet => "statefulset",
    };
    format!("kubectl get {kind}/{} -n {} -o wide", service.key.name, service.key.namespace)
}

/// A one-line text entry with a placeholder.
pub fn text_input(placeholder: &str) -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_placeholder_text(placeholder);
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

/// What is typed in `input`, trimmed.
pub fn typed(input: &TextArea<'static>) -> String {
    input.lines().first().map(|l| l.trim().to_string()).unwrap_or_default()
}

/// What is typed in `input`, as typed.
pub fn raw_text(input: &TextArea<'static>) -> String {
    input.lines().first().cloned().unwrap_or_default()
}
