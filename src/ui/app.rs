//! The application: the screen stack with the overview at its bottom, the popup slot,
//! pending prefix keys, and the pump that turns a key into a command (through the keymap)
//! and offers it to the popup, then the screen on top, then the overview, then the global
//! commands. Components answer with requests (show, close, an effect); nothing here does
//! I/O: effects go to the event loop, which hands them to `effects/`.

use std::sync::Arc;

use crossterm::event::KeyEvent;
use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::context::{Context, Handled, Request, Show, kubectl_get};
use super::frame::{self, Shown};
use super::layout::main_area;
use super::popups::Overlay;
use super::popups::change_wizard::ChangeWizard;
use super::popups::choices::{PalettePopup, PickerKind, PickerPopup};
use super::popups::drain::DrainWizard;
use super::popups::filter::{FilterPopup, LogFilterPopup};
use super::popups::help::HelpPopup;
use super::popups::runbook_entry::{ConfirmName, ResumeOffer, RunParams, SkipReason};
use super::runbooks::RunnerEvent;
use super::screens::nodes::NodesScreen;
use super::screens::overview::OverviewScreen;
use super::screens::{Screen, audit::AuditScreen, budget::BudgetScreen, detail::DetailScreen, runbook};
use crate::actions::runbook::state::RunState;
use crate::cluster::session::{ClusterView, Intent};
use crate::config::commands::{Command, Mode};
use crate::config::keymap::{Keymap, Lookup};
use crate::config::theme::Theme;
pub use crate::effects::{Effect, Job, JobEvent};
use crate::model::service::Service;

pub struct App {
    /// What every screen and popup shares (the app reads as its context: `app.view`).
    pub ctx: Context,
    /// The navigation stack, the overview first and the top one shown.
    pub screens: Vec<Screen>,
    /// The overview's own state: it lives beside the stack because its keys (moving,
    /// filtering, sorting) act under every screen, and a switch keeps it.
    pub overview: OverviewScreen,
    pub overlay: Option<Overlay>,
    pub pending: Vec<KeyEvent>,
}

impl std::ops::Deref for App {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Context {
        &mut self.ctx
    }
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, view: Arc<ClusterView>, read_only: bool) -> App {
        let ctx = Context::new(theme, keymap, view, read_only);
        let overview = OverviewScreen::new(&ctx);
        App { ctx, screens: vec![Screen::Overview], overview, overlay: None, pending: Vec::new() }
    }

    pub fn screen(&self) -> &Screen {
        self.screens.last().unwrap_or(&Screen::Overview)
    }

    /// The keymap mode of what has the keyboard now.
    pub fn mode(&self) -> Mode {
        self.overlay.as_ref().and_then(Overlay::mode).unwrap_or_else(|| self.screen_mode())
    }

    /// The mode of the screen under any popup (what palette commands run against).
    pub fn screen_mode(&self) -> Mode {
        self.screen().mode()
    }

    /// The terminal was resized (or its size first learned).
    pub fn resize(&mut self, area: Rect) {
        self.ctx.area = area;
    }

    /// A new cluster view from the session; the overview keeps the chosen service selected.
    pub fn set_view(&mut self, view: Arc<ClusterView>) {
        let selected = self.overview.chosen(&self.ctx);
        if self.ctx.awaiting.is_some_and(|g| view.generation >= g) {
            self.ctx.awaiting = None;
        }
        if let Some(error) = view.error.clone().filter(|_| view.generation != self.ctx.view.generation) {
            self.ctx.report_error(error);
        }
        let before = std::mem::replace(&mut self.ctx.view, view);
        self.overview.on_view(selected, &self.ctx, &before.services);
    }

    /// Whether the clock changes what is on screen (ages, "reconnecting 12s").
    pub fn clock_matters(&self) -> bool {
        true
    }

    pub fn selected_service(&self) -> Option<&Service> {
        self.overview.selected_service(&self.ctx)
    }

    /// The service an action applies to: the selected row, or the one in detail.
    fn acted_on(&self) -> Option<&Service> {
        match self.screen() {
            Screen::Detail(d) => self.ctx.service(&d.key),
            Screen::Overview => self.selected_service(),
            _ => None,
        }
    }

    pub fn handle_paste(&mut self, text: &str) {
        let line = text.lines().next().unwrap_or_default();
        self.type_into(|input| {
            input.insert_str(line);
        });
    }

    pub fn handle_key(&mut self, key: KeyEvent, now: Timestamp) -> Vec<Effect> {
        let mode = self.mode();
        let pending = std::mem::take(&mut self.pending);
        match self.ctx.keymap.lookup(mode, &pending, key) {
            Lookup::Pending(_) => {
                self.pending = pending;
                self.pending.push(key);
            }
            Lookup::Command(command) => {
                let effects = self.run(command, now);
                return self.without_refused_changes(effects);
            }
            Lookup::None if matches!(mode, Mode::Palette | Mode::Input) && pending.is_empty() => {
                self.type_into(|input| {
                    input.input(key);
                });
            }
            Lookup::None => {
                if matches!(self.overlay, Some(Overlay::Help(_))) {
                    self.overlay = None;
                }
            }
        }
        Vec::new()
    }

    /// Typing into the popup's line, and what the popup does with it at once.
    fn type_into(&mut self, edit: impl FnOnce(&mut TextArea<'static>)) {
        let Some(overlay) = self.overlay.as_mut() else { return };
        let Some(input) = overlay.input_mut() else { return };
        edit(input);
        let mut out = Vec::new();
        overlay.after_text_change(&mut self.ctx, &mut out);
        self.apply(out, Timestamp::now());
    }

    /// Runs one command: the popup, then the screen on top, then the overview under every
    /// screen, then the global meaning.
    pub fn run(&mut self, command: Command, now: Timestamp) -> Vec<Effect> {
        if command == Command::CopyCommand {
            return self.copy_command(now);
        }
        let mut out = Vec::new();
        let main = main_area(&self.ctx, self.ctx.area, false);
        let mut handled = match self.overlay.as_mut() {
            Some(overlay) => overlay.on_command(command, &mut self.ctx, &mut out, now),
            None => Handled::No,
        };
        if handled == Handled::No
            && let Some(screen) = self.screens.last_mut()
        {
            handled = screen.on_command(command, &mut self.ctx, main, &mut out, now);
        }
        if handled == Handled::No {
            let on_top = matches!(self.screen(), Screen::Overview);
            handled = self.overview.on_command(command, &mut self.ctx, on_top, &mut out, now);
        }
        if handled == Handled::No {
            self.global(command, &mut out, now);
        }
        self.apply(out, now)
    }

    /// The commands that mean the same on every screen.
    fn global(&mut self, command: Command, out: &mut Vec<Request>, now: Timestamp) {
        match command {
            Command::Quit => out.push(Request::Effect(Effect::Quit)),
            Command::Help => self.overlay = Some(Overlay::Help(HelpPopup::default())),
            Command::CommandPalette => self.overlay = Some(Overlay::Palette(PalettePopup::default())),
            Command::Back | Command::Cancel if self.ctx.banner().is_some() => {
                self.ctx.banner_hidden = Some(self.ctx.view.profile.problems.clone());
            }
            Command::ReloadProfile => {
                self.ctx.banner_hidden = None;
                self.ctx.say("reading the profile again…", now);
                out.push(Request::Effect(Effect::Session(Intent::ReloadProfile)));
            }
            Command::Back | Command::Cancel => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                } else if !self.overview.filter.is_empty() {
                    self.overview.set_filter(String::new(), &self.ctx);
                }
            }
            Command::OpenOverview => self.screens.truncate(1),
            Command::SwitchNamespace => self.overlay = Some(Overlay::Picker(PickerPopup::new(PickerKind::Namespace))),
            Command::SwitchContext => self.overlay = Some(Overlay::Picker(PickerPopup::new(PickerKind::Context))),
            Command::NoOp | Command::MoveLeft | Command::MoveRight => {}
            Command::Scale
            | Command::RolloutRestart
            | Command::RolloutPause
            | Command::RolloutResume
            | Command::RolloutUndo
            | Command::HelmRollback
            | Command::SetImage
            | Command::ResumeGitOps
            | Command::HpaBounds => self.prepare_change(command, out, now),
            Command::OpenBudget => self.open_budget(out),
            Command::OpenRunbooks => {
                self.ctx.runbooks_for = self.acted_on().map(|s| s.key.clone());
                self.show(Show::Runbooks);
            }
            Command::OpenLogs => {
                if let Some(key) = self.acted_on().map(|s| s.key.clone())
                    && self.ctx.open_logs(key, now)
                {
                    self.show(Show::Logs);
                }
            }
            Command::OpenFindings => self.push_unless_on_top(Screen::Findings(Default::default())),
            Command::OpenNodes => self.open_nodes(out),
            Command::OpenAudit => {
                self.push_unless_on_top(Screen::Audit(AuditScreen::default()));
                out.push(Request::Effect(Effect::Execute(Job::LoadAudit)));
            }
            other => self.ctx.say(format!("{}: not available yet", other.name()), now),
        }
    }

    /// A change key: its wizard or revision chooser opens for the service acted on, unless
    /// changes are refused (then it is said and audited).
    fn prepare_change(&mut self, command: Command, out: &mut Vec<Request>, now: Timestamp) {
        if self.ctx.changes_refused().is_some() {
            return self.refuse_change(command, out);
        }
        let Some(service) = self.acted_on() else { return };
        match Overlay::for_change(command, service) {
            Ok(overlay) => self.overlay = Some(overlay),
            Err(why) => self.ctx.say(why, now),
        }
    }

    /// A change key pressed while changes are refused: said, and audited with the service
    /// it was for.
    fn refuse_change(&mut self, command: Command, out: &mut Vec<Request>) {
        let Some(refusal) = self.ctx.changes_refused() else { return };
        self.ctx.report_error(format!("{}: refused: {}", command.name(), refusal.why()));
        let Some(service) = self.acted_on() else { return };
        out.push(Request::Effect(Effect::Execute(Job::RecordRefusal {
            action: command.name().replace('_', " "),
            target: crate::actions::plan::target_text(&service.key),
            outcome: format!("refused: {}", refusal.audited_as()),
            cluster: service.key.cluster.clone(),
        })));
    }

    /// The last line of defence: whatever screen produced it, no change leaves the app
    /// while changes are refused (dry-runs ask the server and change nothing).
    fn without_refused_changes(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let Some(refusal) = self.ctx.changes_refused() else { return effects };
        let (refused, allowed): (Vec<Effect>, Vec<Effect>) = effects.into_iter().partition(|e| {
            matches!(
                e,
                Effect::Execute(Job::Apply { .. } | Job::Drain(_) | Job::Uncordon { .. } | Job::WriteCheckout(_))
                    | Effect::StartRunbook { .. }
            )
        });
        if !refused.is_empty() {
            self.ctx.report_error(format!("refused: {}", refusal.why()));
        }
        allowed
    }

    /// Carries out what the components asked for, in order; the effects are for the event loop.
    fn apply(&mut self, requests: Vec<Request>, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        for request in requests {
            match request {
                Request::Show(show) => self.show(show),
                Request::Pop => drop(self.screens.pop()),
                Request::Close => self.overlay = None,
                Request::OpenFilter => self.overlay = Some(Overlay::Filter(FilterPopup::new(&self.overview.filter))),
                Request::OpenNamespaceJump => {
                    self.overlay = Some(Overlay::Picker(PickerPopup::new(PickerKind::JumpToNamespace)));
                }
                Request::JumpToNamespace(namespace) => self.overview.jump_to_namespace(&namespace, &mut self.ctx, now),
                Request::OpenLogFilter { search } => {
                    self.overlay = LogFilterPopup::new(&mut self.ctx, search).map(Overlay::LogFilter);
                }
                Request::OpenRunParams { name, line, cluster } => {
                    self.overlay = Some(Overlay::RunParams(RunParams::new(name, &line, cluster)));
                }
                Request::ConfirmName(name) => self.overlay = Some(Overlay::RunConfirmName(ConfirmName::new(name))),
                Request::AskSkipReason => self.overlay = Some(Overlay::SkipReason(SkipReason::default())),
                Request::OpenDrain { drain, services } => {
                    self.overlay = Some(Overlay::Drain(Box::new(DrainWizard::new(drain, &services))));
                }
                Request::OpenChange { key, plan } => {
                    self.overlay = Some(Overlay::Action(Box::new(ChangeWizard::fixed(key, plan))));
                }
                Request::Filter(text) => {
                    self.overview.set_filter(text, &self.ctx);
                    self.overview.selected = 0;
                }
                Request::RestoreFilter(text) => self.overview.set_filter(text, &self.ctx),
                Request::Run(command) => effects.extend(self.run(command, now)),
                Request::Switch(intent) => effects.push(self.switch(intent)),
                Request::Effect(effect) => effects.push(effect),
            }
        }
        effects
    }

    fn show(&mut self, show: Show) {
        match show {
            Show::Detail(key) => self.screens.push(Screen::Detail(DetailScreen { key, scroll: 0 })),
            Show::Logs => self.push_unless_on_top(Screen::Logs),
            Show::Runbooks => self.push_unless_on_top(Screen::Runbook),
        }
    }

    fn push_unless_on_top(&mut self, screen: Screen) {
        if !self.screen().same_kind(&screen) {
            self.screens.push(screen);
        }
    }

    /// Leaving for another namespace or context: the overview waits for the new scope.
    fn switch(&mut self, intent: Intent) -> Effect {
        self.ctx.awaiting = Some(self.ctx.view.generation + 1);
        self.screens.truncate(1);
        // Panes follow services of the old scope; their streams end with them.
        self.ctx.logs.close_all();
        self.overview.selected = 0;
        Effect::Session(intent)
    }

    /// The kubectl command for what is in front of the operator: the change being prepared,
    /// or a look at the selected service.
    fn copy_command(&mut self, now: Timestamp) -> Vec<Effect> {
        let command = match &self.overlay {
            Some(Overlay::Action(w)) => w.copied(&self.ctx),
            Some(Overlay::Revisions(c)) => c.plan(&self.ctx).map(|p| p.kubectl().to_string()),
            _ => self.acted_on().map(kubectl_get),
        };
        match command.filter(|c| !c.is_empty()) {
            Some(command) => {
                self.ctx.say(format!("copied: {command}"), now);
                vec![Effect::Copy(command)]
            }
            None => {
                self.ctx.say("nothing to copy here", now);
                Vec::new()
            }
        }
    }

    /// Opens the budget screen and measures every database with a connection string
    /// (again, when it is already open: the key doubles as "measure now").
    fn open_budget(&mut self, out: &mut Vec<Request>) {
        self.push_unless_on_top(Screen::Budget(BudgetScreen::default()));
        let servers: Vec<(String, String)> =
            self.ctx.view.budgets.iter().filter_map(|b| Some((b.name.clone(), b.url_env.clone()?))).collect();
        if servers.is_empty() || self.ctx.measuring {
            return;
        }
        self.ctx.measuring = true;
        out.push(Request::Effect(Effect::Execute(Job::Measure(servers))));
    }

    /// Opens the nodes screen and looks at the cluster (again, when it is already open:
    /// the key doubles as "look again"). In a fleet, the selected service's cluster's (nodes
    /// belong to one cluster); another cluster's nodes screen makes way for it.
    fn open_nodes(&mut self, out: &mut Vec<Request>) {
        let cluster = match &self.ctx.view.fleet {
            None => None,
            Some(_) => {
                let open = self.nodes_screen().and_then(|n| n.cluster.clone());
                match self.acted_on().and_then(|s| s.key.cluster.clone()).or(open) {
                    Some(cluster) => Some(cluster),
                    None => {
                        self.ctx.report_error(
                            "nodes belong to one cluster: select a service of that cluster, then Space d",
                        );
                        return;
                    }
                }
            }
        };
        self.screens.retain(|s| !matches!(s, Screen::Nodes(n) if n.cluster != cluster));
        self.push_unless_on_top(Screen::Nodes(NodesScreen { cluster: cluster.clone(), ..NodesScreen::default() }));
        if let Some(nodes) = self.nodes_screen()
            && !nodes.reading
        {
            nodes.reading = true;
            out.push(Request::Effect(Effect::Execute(Job::ReadNodes { cluster })));
        }
    }

    /// The nodes screen, wherever it is on the stack.
    fn nodes_screen(&mut self) -> Option<&mut NodesScreen> {
        self.screens.iter_mut().find_map(|s| match s {
            Screen::Nodes(n) => Some(n),
            _ => None,
        })
    }

    /// A job reported back. Results for a wizard that was closed are dropped (the audit
    /// log has them). A drain's end, or an uncordon, looks at the nodes again.
    pub fn on_job(&mut self, event: JobEvent) -> Vec<Effect> {
        let mut out = Vec::new();
        match &event {
            JobEvent::Nodes { cluster, look } => {
                // A late look of another cluster's nodes is not this screen's.
                if let Some(nodes) = self.nodes_screen()
                    && nodes.cluster == *cluster
                {
                    nodes.on_look(look.clone());
                }
                return Vec::new();
            }
            JobEvent::Draining { node, event: step } => {
                self.ctx.say(format!("drain {node}: {}", step.describe()), Timestamp::now());
            }
            JobEvent::Drained { .. } | JobEvent::Uncordoned { .. } => {
                if let JobEvent::Uncordoned { node, result } = &event {
                    match result {
                        Ok(()) => self.ctx.say(format!("uncordoned {node}"), Timestamp::now()),
                        Err(e) => self.ctx.report_error(format!("uncordon {node} failed: {e}")),
                    }
                }
                if let Some(nodes) = self.nodes_screen() {
                    nodes.reading = true;
                    out.push(Effect::Execute(Job::ReadNodes { cluster: nodes.cluster.clone() }));
                }
            }
            _ => {}
        }
        if let Some(Overlay::Drain(d)) = &mut self.overlay {
            d.on_job(&event);
        }
        if let Some(change) = self.ctx.on_job(event)
            && let Some(Overlay::Action(w)) = &mut self.overlay
        {
            out.extend(w.on_job(change, &self.ctx));
        }
        out
    }

    /// What the event loop reports about a run.
    pub fn on_runner(&mut self, event: RunnerEvent) {
        runbook::on_runner(&mut self.ctx, event);
    }

    /// Interrupted runs found at start: the first is offered at once, the rest are listed.
    pub fn offer_interrupted(&mut self, runs: Vec<RunState>) {
        if let Some(first) = runs.first() {
            self.overlay = Some(Overlay::ResumeOffer(ResumeOffer(Box::new(first.clone()))));
        }
        self.ctx.runbooks.interrupted = runs;
    }

    pub fn draw(&self, frame: &mut Frame, now: Timestamp) {
        let shown = Shown {
            ctx: &self.ctx,
            overview: &self.overview,
            screen: self.screen(),
            overlay: self.overlay.as_ref(),
            pending: &self.pending,
            mode: self.mode(),
            screen_mode: self.screen_mode(),
        };
        frame::draw(shown, frame, now);
    }
}

/// Popups the snapshot tests open directly (reaching them needs a run the engine drives).
#[cfg(test)]
pub mod tests_support {
    use std::collections::BTreeMap;

    use super::*;

    pub fn confirm_name(app: &mut App, name: &str) {
        app.overlay = Some(Overlay::RunConfirmName(ConfirmName::new(name.into())));
    }

    /// A cluster view of `services` as the session would send it.
    pub fn view(generation: u64, services: Vec<Service>) -> Arc<ClusterView> {
        Arc::new(ClusterView {
            generation,
            context: "ctx".into(),
            server_url: "http://127.0.0.1:1".into(),
            namespace: None,
            services: Arc::new(services.into_iter().map(Arc::new).collect()),
            health: BTreeMap::new(),
            namespaces: vec!["a".into(), "b".into()],
            contexts: vec!["ctx".into(), "other".into()],
            built_at: Timestamp::now(),
            error: None,
            syncing: false,
            denied: vec![],
            budgets: Arc::new(vec![]),
            discovery_notes: Arc::new(vec![]),
            namespace_findings: Arc::new(vec![]),
            slo_rules: Arc::new(vec![]),
            profile: Default::default(),
            fleet: None,
            capacity: BTreeMap::new(),
        })
    }

    pub fn skip_reason(app: &mut App) {
        app.overlay = Some(Overlay::SkipReason(SkipReason::default()));
    }

    /// A cluster-wide look as the nodes view receives it: node-a carries an api replica,
    /// a database pod whose budget allows nothing (it blocks the drain) and a DaemonSet's
    /// pod; node-b the other api replica.
    pub fn nodes_look() -> Arc<crate::cluster::nodes::NodesLook> {
        use serde_json::json;
        let node = |name: &str| {
            Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": name},
                    "spec": {},
                    "status": {"allocatable": {"cpu": "4", "memory": "8Gi"},
                               "conditions": [{"type": "Ready", "status": "True"}]},
                }))
                .unwrap(),
            )
        };
        let pod = |name: &str, node: &str, kind: &str, owner: &str| {
            Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": "shop", "labels": {"app": owner},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": owner,
                                                      "uid": format!("uid-{owner}"), "controller": true}]},
                    "spec": {"nodeName": node, "containers": [{"name": "c",
                             "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
                }))
                .unwrap(),
            )
        };
        let pdb = |name: &str, healthy: i32, allowed: i32| {
            Arc::new(
                serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": "shop", "generation": 1},
                    "spec": {"minAvailable": healthy - allowed, "selector": {"matchLabels": {"app": name}}},
                    "status": {"observedGeneration": 1, "currentHealthy": healthy,
                               "desiredHealthy": healthy - allowed, "expectedPods": healthy,
                               "disruptionsAllowed": allowed},
                }))
                .unwrap(),
            )
        };
        let objects = crate::model::services::ClusterObjects {
            nodes: vec![node("node-a"), node("node-b")],
            pods: vec![
                pod("api-1", "node-a", "ReplicaSet", "api"),
                pod("db-0", "node-a", "StatefulSet", "db"),
                pod("agent-x", "node-a", "DaemonSet", "agent"),
                pod("api-2", "node-b", "ReplicaSet", "api"),
            ],
            pdbs: vec![pdb("db", 1, 0), pdb("api", 2, 1)],
            ..Default::default()
        };
        Arc::new(crate::cluster::nodes::NodesLook {
            objects,
            services: Vec::new(),
            blind: Vec::new(),
            denied: Vec::new(),
            taken_at: "2026-12-01T12:00:00Z".parse().unwrap(),
        })
    }
}

#[cfg(test)]
mod tests {

    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;
    use crate::actions::drain::DrainEnd;
    use crate::actions::runbook::engine::Control;
    use crate::cluster::helm::HelmSetup;
    use crate::config::theme::TerminalColors;
    use crate::model::service::*;
    use crate::ui::popups::change_wizard::ActionStage;
    use crate::ui::popups::revisions::RevisionChooser;

    fn service(namespace: &str, name: &str, problem: Option<Severity>) -> Service {
        let mut s = Service::example(namespace, name, 0);
        s.findings =
            problem.map(|severity| Finding { id: "test", severity, message: "x".into() }).into_iter().collect();
        s
    }

    use super::tests_support::view;

    fn app(services: Vec<Service>, read_only: bool) -> App {
        let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap();
        App::new(theme, Keymap::builtin("default").unwrap(), view(1, services), read_only)
    }

    fn names(app: &App) -> Vec<&str> {
        app.overview.rows.iter().map(|&i| app.view.services[i].key.name.as_str()).collect()
    }

    fn wizard(app: &App) -> &ChangeWizard {
        let Some(Overlay::Action(w)) = &app.overlay else { panic!("a change wizard is open") };
        w
    }

    fn chooser(app: &App) -> &RevisionChooser {
        let Some(Overlay::Revisions(c)) = &app.overlay else { panic!("a revision chooser is open") };
        c
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), Timestamp::now())
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
    }

    /// The nodes screen with its look arrived.
    fn nodes_app(read_only: bool) -> App {
        let mut app = app(vec![], read_only);
        let asked = app.run(Command::OpenNodes, Timestamp::now());
        assert_eq!(
            asked,
            vec![Effect::Execute(Job::ReadNodes { cluster: None })],
            "opening the view looks at the cluster"
        );
        app.on_job(JobEvent::Nodes { cluster: None, look: super::tests_support::nodes_look() });
        app
    }

    #[test]
    fn a_blocked_node_is_refused_in_the_popup_and_a_drainable_one_goes_to_the_dry_run() {
        let mut app = nodes_app(false);
        app.run(Command::DrainNode, Timestamp::now());
        let asked = app.run(Command::Confirm, Timestamp::now());
        assert!(
            matches!(asked.as_slice(), [Effect::Execute(Job::RecordRefusal { outcome, .. })] if outcome == "refused: drain-blocked"),
            "{asked:?}"
        );
        app.run(Command::Cancel, Timestamp::now());
        app.run(Command::MoveDown, Timestamp::now());
        app.run(Command::DrainNode, Timestamp::now());
        let asked = app.run(Command::Confirm, Timestamp::now());
        assert!(matches!(asked.as_slice(), [Effect::Execute(Job::DrainDryRun(d))] if d.node == "node-b"), "{asked:?}");
        app.on_job(JobEvent::DrainChecked { node: "node-b".into(), result: Ok(()) });
        let asked = app.run(Command::Confirm, Timestamp::now());
        assert!(matches!(asked.as_slice(), [Effect::Execute(Job::Drain(d))] if d.node == "node-b"), "{asked:?}");
        let asked = app.run(Command::Cancel, Timestamp::now());
        assert_eq!(asked, vec![Effect::Execute(Job::StopDrain)], "Esc stops the drain between two steps");
        let end = DrainEnd::Stopped("aborted by the operator".into());
        let asked = app.on_job(JobEvent::Drained { node: "node-b".into(), end });
        assert_eq!(asked, vec![Effect::Execute(Job::ReadNodes { cluster: None })], "the nodes are looked at again");
        let asked = app.run(Command::Confirm, Timestamp::now());
        let uncordon = Job::Uncordon { node: "node-b".into(), cluster: None };
        assert_eq!(asked, vec![Effect::Execute(uncordon)], "uncordon is offered after an abort");
    }

    #[test]
    fn marked_nodes_are_previewed_as_a_rolling_drain_in_the_order_marked() {
        let mut app = nodes_app(false);
        app.run(Command::MoveDown, Timestamp::now());
        app.run(Command::MarkNode, Timestamp::now());
        app.run(Command::MoveUp, Timestamp::now());
        app.run(Command::MarkNode, Timestamp::now());
        let Some(Screen::Nodes(nodes)) = app.screens.last() else { panic!("the nodes screen") };
        let order: Vec<&str> = nodes.sequence.iter().flat_map(|p| p.nodes.iter().map(|n| n.node.as_str())).collect();
        assert_eq!(order, ["node-b", "node-a"]);
        assert!(!nodes.sequence.as_ref().unwrap().drainable(), "node-a's database blocks the sequence");
        app.run(Command::MarkNode, Timestamp::now());
        app.run(Command::MoveDown, Timestamp::now());
        app.run(Command::MarkNode, Timestamp::now());
        let Some(Screen::Nodes(nodes)) = app.screens.last() else { panic!("the nodes screen") };
        assert_eq!(nodes.sequence, None, "unmarking every node leaves the single node's preview");
    }

    #[test]
    fn read_only_refuses_a_drain_before_the_popup_and_audits_it() {
        let mut app = nodes_app(true);
        let asked = app.run(Command::DrainNode, Timestamp::now());
        assert!(app.overlay.is_none(), "no drain popup");
        assert!(
            matches!(asked.as_slice(), [Effect::Execute(Job::RecordRefusal { action, target, outcome, cluster: None })]
                if action == "drain" && target == "node/node-a" && outcome == "refused: read-only"),
            "{asked:?}"
        );
        assert!(app.notice.as_ref().is_some_and(|n| n.error && n.text.contains("read-only")));
    }

    #[test]
    fn problems_come_first_and_the_toggle_restores_name_order() {
        let mut app = app(
            vec![
                service("a", "alpha", None),
                service("a", "beta", Some(Severity::Warning)),
                service("b", "gamma", Some(Severity::Error)),
            ],
            false,
        );
        assert_eq!(names(&app), ["gamma", "beta", "alpha"]);
        key(&mut app, KeyCode::Char('p'));
        assert_eq!(names(&app), ["alpha", "beta", "gamma"]);
        key(&mut app, KeyCode::Char('O'));
        assert_eq!(names(&app), ["gamma", "beta", "alpha"], "reversed");
    }

    /// Design advice (no PDB, security context) is preflight: CHECKS shows it, the header's
    /// problem count and the problems-first order do not.
    #[test]
    fn only_what_is_wrong_now_counts_as_a_problem() {
        let advice = |id: &'static str| Finding { id, severity: Severity::Warning, message: "x".into() };
        let mut advised = service("a", "advised", None);
        advised.findings = vec![advice("no-pdb")];
        advised.preflight = vec![advice("run-as-root")];
        let mut down = service("a", "down", None);
        down.findings = vec![Finding { id: "pods-not-ready", severity: Severity::Error, message: "0 of 2".into() }];
        let app = app(vec![advised, service("a", "healthy", None), down], false);
        assert_eq!(names(&app), ["down", "advised", "healthy"]);
        assert_eq!(app.overview.problems, [0], "only the service not ready");
    }

    #[test]
    fn brackets_visit_the_problems_and_the_selection_survives_a_resort() {
        let mut app = app(
            vec![
                service("a", "alpha", None),
                service("a", "beta", Some(Severity::Warning)),
                service("b", "delta", None),
                service("b", "gamma", Some(Severity::Error)),
            ],
            false,
        );
        key(&mut app, KeyCode::Char('p'));
        assert_eq!(names(&app), ["alpha", "beta", "delta", "gamma"]);
        let selected = |app: &App| app.selected_service().map(|s| s.key.name.clone()).unwrap_or_default();
        key(&mut app, KeyCode::Char(']'));
        assert_eq!(selected(&app), "beta");
        key(&mut app, KeyCode::Char(']'));
        assert_eq!(selected(&app), "gamma");
        key(&mut app, KeyCode::Char(']'));
        assert_eq!(selected(&app), "beta", "round the end");
        key(&mut app, KeyCode::Char('['));
        assert_eq!(selected(&app), "gamma", "back round the start");
        key(&mut app, KeyCode::Char('O'));
        assert_eq!(names(&app), ["gamma", "delta", "beta", "alpha"]);
        assert_eq!(selected(&app), "gamma", "the same service, wherever it moved");
        key(&mut app, KeyCode::Char('N'));
        assert_eq!(names(&app), ["beta", "alpha", "gamma", "delta"], "namespaces first, then the sort");
        assert_eq!(selected(&app), "gamma");
        key(&mut app, KeyCode::Char('n'));
        typed(&mut app, "a");
        key(&mut app, KeyCode::Enter);
        assert_eq!(selected(&app), "beta", "the first service of namespace a");
        assert!(app.overlay.is_none());
        assert_eq!(app.overview.problems, [0, 2]);
    }

    #[test]
    fn filter_narrows_live_and_escape_restores_the_previous_filter() {
        let mut app =
            app(vec![service("a", "api", None), service("a", "web", None), service("b", "worker", None)], false);
        key(&mut app, KeyCode::Char('/'));
        typed(&mut app, "w");
        assert_eq!(names(&app), ["web", "worker"]);
        typed(&mut app, "e");
        assert_eq!(names(&app), ["web"]);
        key(&mut app, KeyCode::Esc);
        assert_eq!(names(&app).len(), 3, "cancel restores the filter from before");
        key(&mut app, KeyCode::Char('/'));
        typed(&mut app, "b/");
        key(&mut app, KeyCode::Enter);
        assert_eq!(names(&app), ["worker"], "the filter matches namespace/name");
        key(&mut app, KeyCode::Backspace);
        assert_eq!(names(&app).len(), 3);
    }

    #[test]
    fn a_chosen_row_stays_selected_when_rows_move() {
        let mut app = app(vec![service("a", "alpha", None), service("a", "beta", None)], false);
        key(&mut app, KeyCode::Down);
        assert_eq!(app.selected_service().unwrap().key.name, "beta");
        app.set_view(view(
            1,
            vec![service("a", "alpha", None), service("a", "beta", None), service("a", "aaa", Some(Severity::Error))],
        ));
        assert_eq!(app.selected_service().unwrap().key.name, "beta");
    }

    #[test]
    fn enter_opens_the_detail_and_escape_goes_back() {
        let mut app = app(vec![service("a", "alpha", None)], false);
        key(&mut app, KeyCode::Enter);
        assert!(matches!(app.screen(), Screen::Detail(d) if d.key.name == "alpha"));
        assert_eq!(app.mode(), Mode::Detail);
        key(&mut app, KeyCode::Esc);
        assert!(matches!(app.screen(), Screen::Overview));
    }

    #[test]
    fn the_palette_runs_the_best_fuzzy_match() {
        let mut app = app(vec![service("a", "alpha", None)], false);
        key(&mut app, KeyCode::Char(':'));
        assert_eq!(app.mode(), Mode::Palette);
        typed(&mut app, "q");
        let Some(Overlay::Palette(palette)) = &app.overlay else { panic!("the palette is open") };
        assert_eq!(palette.choices()[0].0, Command::Quit, "q types into the palette, it does not quit");
        assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Quit]);
    }

    #[test]
    fn switching_namespace_asks_the_session_and_waits_for_the_new_generation() {
        let mut app = app(vec![service("a", "alpha", None)], false);
        key(&mut app, KeyCode::Char(' '));
        key(&mut app, KeyCode::Char('n'));
        typed(&mut app, "b");
        let effects = key(&mut app, KeyCode::Enter);
        assert_eq!(effects, vec![Effect::Session(Intent::SwitchNamespace(Some("b".into())))]);
        assert_eq!(app.awaiting, Some(2));
        app.set_view(view(1, vec![]));
        assert_eq!(app.awaiting, Some(2), "a late view of the old scope does not end the switch");
        app.set_view(view(2, vec![]));
        assert_eq!(app.awaiting, None);
    }

    #[test]
    fn read_only_refuses_mutations_with_a_reason() {
        let mut app = app(vec![service("a", "alpha", None)], true);
        let effects = key(&mut app, KeyCode::Char('s'));
        assert!(app.overlay.is_none(), "no wizard opens");
        let audited = Job::RecordRefusal {
            action: "scale".into(),
            target: "a/deploy/alpha".into(),
            outcome: "refused: read-only".into(),
            cluster: None,
        };
        assert_eq!(effects, vec![Effect::Execute(audited)], "only the refusal, for the audit log");
        let notice = app.notice.clone().unwrap();
        assert!(notice.error && notice.text.contains("read-only"), "{notice:?}");
    }

    #[test]
    fn a_profile_that_does_not_load_refuses_every_change_until_it_loads() {
        let mut app = app(vec![service("a", "alpha", None)], false);
        let mut broken = (*view(1, vec![service("a", "alpha", None)])).clone();
        broken.profile.refusal = Some("the profile p.toml does not load (1 error)".into());
        broken.profile.problems = vec!["p.toml:3: error: production: expected a boolean".into()];
        app.set_view(Arc::new(broken.clone()));
        assert_eq!(app.banner().map(<[String]>::len), Some(1));
        for code in ['s', 'i', 'H'] {
            let effects = key(&mut app, KeyCode::Char(code));
            assert!(app.overlay.is_none(), "{code}: no wizard opens");
            assert!(effects.iter().all(|e| matches!(e, Effect::Execute(Job::RecordRefusal { .. }))), "{effects:?}");
        }
        key(&mut app, KeyCode::Esc);
        assert!(app.banner().is_none(), "hidden by the operator");
        assert!(app.changes_refused().is_some(), "but changes stay refused");
        broken.profile = Default::default();
        app.set_view(Arc::new(broken));
        assert!(app.changes_refused().is_none(), "the profile loads: changes are offered again");
        key(&mut app, KeyCode::Char('s'));
        assert!(app.overlay.is_some(), "the scale wizard opens");
    }

    /// `name` applied by the Flux Kustomization flux-system/apps, suspended or not.
    fn flux_owned(name: &str, suspended: bool) -> Service {
        use crate::model::gitops::{GitOpsOwner, OwnerKind, OwnerRef, ServiceGitOps};
        let mut s = service("shop", name, None);
        s.replicas.desired = 2;
        let owner = GitOpsOwner {
            kind: OwnerKind::Kustomization,
            namespace: "flux-system".into(),
            name: "apps".into(),
            ready: None,
            suspended,
            revision: None,
            interval: Some("10m".into()),
            automated: None,
            saved_automated: None,
            source: None,
            applied_digest: None,
        };
        let owner_ref =
            OwnerRef { kind: OwnerKind::Kustomization, namespace: Some("flux-system".into()), name: "apps".into() };
        s.gitops = Some(ServiceGitOps { owner: owner_ref, state: Some(owner), drift: vec![], source: None });
        s
    }

    #[test]
    fn the_scale_wizard_on_a_gitops_owned_service_suspends_first_or_goes_to_git() {
        let mut app = app(vec![flux_owned("api", false)], false);
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "4");
        // Suspend, change, remember: the owner's suspend is dry-run first, the scale after it applied.
        let effects = ctrl(&mut app, 's');
        let [Effect::Execute(Job::DryRun(suspend))] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!(suspend.describe(), "suspend Flux Kustomization flux-system/apps (owner of shop/deploy/api)");
        assert!(wizard(&app).then.as_ref().is_some_and(|p| p.scale().is_some_and(|s| s.to == 4)));
        app.on_job(JobEvent::DryRun { plan: suspend.clone(), result: Ok(()) });
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::Apply { plan, .. })] if plan == suspend), "{effects:?}");
        let next = app.on_job(JobEvent::Applied { plan: suspend.clone(), result: Ok(()) });
        assert!(
            matches!(&next[..], [Effect::Execute(Job::DryRun(p))] if p.scale().is_some_and(|s| s.to == 4)),
            "{next:?}"
        );
        assert!(wizard(&app).then.is_none());

        // Change it in git without a checkout: the patch, and Ctrl-y copies it.
        app.overlay = None;
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "5");
        assert!(ctrl(&mut app, 'g').is_empty(), "no checkout: nothing to read");
        let copied = wizard(&app).copied(&app).unwrap();
        assert!(copied.contains("kind: Deployment") && copied.contains("replicas: 5"), "{copied}");
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "nothing to write");
        assert!(app.overlay.is_none());

        // With a checkout: read (a job), then the diff; Enter writes (a job); read-only never.
        app.gitops_repo = Some("/checkout".into());
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "5");
        let effects = ctrl(&mut app, 'g');
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::ReadCheckout(p))] if p.as_path() == std::path::Path::new("/checkout"))
        );
        let manifest = "kind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 2\n".to_string();
        app.on_job(JobEvent::Checkout(Ok(vec![("/checkout/api.yaml".into(), manifest)])));
        let effects = key(&mut app, KeyCode::Enter);
        let [Effect::Execute(Job::WriteCheckout(edit))] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!(edit.diff().last().map(String::as_str), Some("+  replicas: 5"));
        app.on_job(JobEvent::WrittenInGit(Ok(1)));
        assert!(
            matches!(&wizard(&app).stage, ActionStage::Done { ok: true, message, .. } if message.contains("nothing was committed"))
        );

        // No file of the checkout sets it: the patch instead, the attempt audited, Enter closes.
        app.overlay = None;
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "6");
        ctrl(&mut app, 'g');
        let refused = app.on_job(JobEvent::Checkout(Ok(Vec::new())));
        assert!(
            matches!(&refused[..], [Effect::Execute(Job::RecordGitEdit { outcome, .. })]
                if outcome.starts_with("refused: no manifest in /checkout sets spec.replicas")),
            "{refused:?}"
        );
        assert!(wizard(&app).copied(&app).is_some_and(|p| p.contains("replicas: 6")));
        assert!(key(&mut app, KeyCode::Enter).is_empty());
        assert!(app.overlay.is_none());
    }

    #[test]
    fn r_resumes_a_suspended_owner_and_says_why_not_otherwise() {
        let mut cockpit =
            app(vec![flux_owned("api", true), flux_owned("web", false), service("shop", "zz", None)], false);
        key(&mut cockpit, KeyCode::Char('R'));
        let plan = wizard(&cockpit).plan(&cockpit).unwrap();
        assert_eq!(plan.describe(), "resume Flux Kustomization flux-system/apps (owner of shop/deploy/api)");
        let effects = key(&mut cockpit, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::DryRun(_))]), "{effects:?}");
        cockpit.overlay = None;
        key(&mut cockpit, KeyCode::Down);
        key(&mut cockpit, KeyCode::Char('R'));
        assert!(cockpit.overlay.is_none(), "web's owner is not suspended");
        // An owner that cannot be read: the wizard says so and Enter is refused, audited.
        let mut unread = flux_owned("api", true);
        if let Some(g) = unread.gitops.as_mut() {
            g.state = None;
        }
        let mut unknown = app(vec![unread], false);
        key(&mut unknown, KeyCode::Char('R'));
        let effects = key(&mut unknown, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::Record { outcome, .. })] if outcome == "refused: gitops-owner-unknown"),
            "{effects:?}"
        );
        assert!(wizard(&unknown).error.as_deref().is_some_and(|e| e.contains("could not be read")));
        let mut read_only = App::new(
            Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap(),
            Keymap::builtin("default").unwrap(),
            view(1, vec![flux_owned("api", true)]),
            true,
        );
        let effects = key(&mut read_only, KeyCode::Char('R'));
        assert!(read_only.overlay.is_none(), "--read-only: no wizard");
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::RecordRefusal { action, .. })] if action == "resume gitops"),
            "{effects:?}"
        );
    }

    #[test]
    fn a_production_context_wants_the_name_for_every_change() {
        let mut app = app(vec![service("a", "api", None)], false);
        let mut production = (*view(1, vec![service("a", "api", None)])).clone();
        production.profile.production = true;
        app.set_view(Arc::new(production));
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "4");
        let plan = wizard(&app).plan(&app).unwrap();
        assert!(!plan.overrides_a_guard());
        key(&mut app, KeyCode::Enter);
        app.on_job(JobEvent::DryRun { plan, result: Ok(()) });
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "no name typed: nothing happens");
        let Some(Overlay::Action(w)) = &app.overlay else { panic!("the wizard stays open") };
        assert_eq!(w.error.as_deref(), Some("type api to change production"));
        typed(&mut app, "api");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::Apply { .. })]), "{effects:?}");
    }

    #[test]
    fn the_scale_wizard_refuses_audits_and_wants_the_name_for_an_override() {
        let mut singleton = service("a", "worker", None);
        singleton.replicas.desired = 1;
        singleton.flags.singleton = Some("annotation".into());
        let mut app = app(vec![singleton], false);
        key(&mut app, KeyCode::Char('s'));
        assert_eq!(app.mode(), Mode::Input);
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "2");
        let plan = wizard(&app).plan(&app).unwrap();
        assert!(plan.overrides_a_guard(), "a refusal becomes an override that needs the name");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::DryRun(p))] if p.scale().is_some_and(|s| s.to == 2)),
            "{effects:?}"
        );
        app.on_job(JobEvent::DryRun { plan: plan.clone(), result: Ok(()) });
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "no name typed: nothing happens");
        typed(&mut app, "worker");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::Apply { .. })]), "{effects:?}");

        let mut hpa = service("a", "api", None);
        hpa.hpa = Some(HpaSummary {
            name: "api".into(),
            min: 2,
            max: 5,
            current: 2,
            desired: 2,
            targets: vec![],
            resource_version: None,
        });
        let mut app = self::app(vec![hpa], false);
        key(&mut app, KeyCode::Char('s'));
        typed(&mut app, "0");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::Record { outcome, .. })] if outcome == "refused: hpa-owns-replicas"),
            "{effects:?}"
        );
        assert!(
            matches!(&app.overlay, Some(Overlay::Action(w)) if w.error.as_deref().unwrap_or("").contains("autoscaler"))
        );
    }

    #[test]
    fn the_runbooks_screen_starts_with_parameters_answers_prompts_and_offers_the_rollback() {
        use crate::actions::runbook::engine::RunOutcome;
        use crate::actions::runbook::state::RunStatus;
        use crate::config::runbook::ParamDecl;
        use crate::ui::runbooks::{RunStart, RunbookChoice};
        let decl = |name: &str, default: Option<&str>| ParamDecl {
            name: name.into(),
            default: default.map(str::to_string),
            description: String::new(),
        };
        let mut app = self::app(vec![service("shop", "api", None)], false);
        app.runbooks.choices = vec![
            RunbookChoice {
                name: "steps".into(),
                description: String::new(),
                params: vec![decl("service", None), decl("step", Some("1"))],
            },
            RunbookChoice {
                name: "steps-rollback".into(),
                description: String::new(),
                params: vec![decl("service", None)],
            },
        ];
        key(&mut app, KeyCode::Char(' '));
        key(&mut app, KeyCode::Char('r'));
        assert!(matches!(app.screen(), Screen::Runbook));
        key(&mut app, KeyCode::Enter);
        assert!(matches!(&app.overlay, Some(Overlay::RunParams(p)) if p.name == "steps"));
        typed(&mut app, " extra");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&app.overlay, Some(Overlay::RunParams(RunParams { error: Some(e), .. })) if e.contains("expected NAME=VALUE"))
        );
        assert!(effects.is_empty(), "a malformed parameter starts nothing");
        for _ in 0.." extra".len() {
            key(&mut app, KeyCode::Backspace);
        }
        let effects = key(&mut app, KeyCode::Enter);
        let params = vec![("service".to_string(), "shop/api".to_string()), ("step".to_string(), "1".to_string())];
        assert_eq!(
            effects,
            [Effect::StartRunbook { name: "steps".into(), params: params.clone(), resume: false, cluster: None }]
        );

        let start = RunStart {
            runbook: "steps".into(),
            namespace: "shop".into(),
            services: vec![Some("api".into())],
            rollbacks: vec![Some("steps-rollback".into())],
            params,
            cluster: None,
        };
        app.on_runner(RunnerEvent::Started(start));
        let effects = key(&mut app, KeyCode::Char('p'));
        assert_eq!(effects, [Effect::RunControl(Control::Pause)]);
        let effects = key(&mut app, KeyCode::Char('a'));
        assert_eq!(effects, [Effect::RunControl(Control::Abort)]);
        app.on_runner(RunnerEvent::Ended(RunOutcome {
            status: RunStatus::Aborted,
            refused: false,
            message: "aborted".into(),
        }));
        let effects = key(&mut app, KeyCode::Enter);
        let only_declared = vec![("service".to_string(), "shop/api".to_string())];
        assert_eq!(
            effects,
            [Effect::StartRunbook {
                name: "steps-rollback".into(),
                params: only_declared,
                resume: false,
                cluster: None
            }]
        );
    }
    fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL), Timestamp::now())
    }

    fn with_revisions(images: &[&str]) -> Service {
        let mut s = service("a", "api", None);
        let current = images.len() as i64;
        s.revisions = images
            .iter()
            .enumerate()
            .rev()
            .map(|(i, image)| Revision {
                revision: i as i64 + 1,
                change_cause: None,
                created: None,
                replicas: 0,
                current: i as i64 + 1 == current,
                containers: vec![RevisionContainer {
                    name: "api".into(),
                    image: image.to_string(),
                    ..Default::default()
                }],
            })
            .collect();
        s
    }

    #[test]
    fn undo_opens_a_chooser_whose_choice_goes_to_the_dry_run() {
        let mut app = app(vec![with_revisions(&["api:1.0", "api:1.1", "api:1.2"])], false);
        key(&mut app, KeyCode::Char('r'));
        assert!(key(&mut app, KeyCode::Char('u')).is_empty(), "nothing is sent by opening the chooser");
        assert_eq!(app.mode(), Mode::Palette);
        assert_eq!(chooser(&app).rows(&app).iter().map(|r| r.revision).collect::<Vec<_>>(), [3, 2, 1]);
        assert_eq!(chooser(&app).rows(&app)[chooser(&app).selected(&app)].revision, 2, "the previous revision first");
        let Some(plan) = chooser(&app).plan(&app).filter(|p| p.rollout().is_some()) else { panic!("an undo plan") };
        assert!(plan.preview.iter().any(|l| l.text == "api: api:1.2 → api:1.1"), "{:?}", plan.preview);
        key(&mut app, KeyCode::Down);
        let copied = ctrl(&mut app, 'y');
        assert_eq!(copied, vec![Effect::Copy("kubectl rollout undo deployment/api -n a --to-revision=1".into())]);
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "the wizard opens; the dry-run waits for Enter");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::DryRun(p))]
                if p.rollout().is_some_and(|r| r.change == Some(crate::actions::rollout::RolloutChange::Undo { from: 3, to: 1 }))),
            "{effects:?}"
        );
    }

    fn helm_service() -> Service {
        use crate::model::helm::{HelmRelease, HelmRevision};
        let mut s = service("docs", "docs-site", None);
        let revision =
            |revision, status: &str| HelmRevision { revision, status: status.into(), created: None, modified: None };
        s.helm = Some(HelmRelease {
            name: "docs".into(),
            namespace: "docs".into(),
            chart: Some("docs-site-1.4.2".into()),
            app_version: None,
            history: Some(vec![revision(2, "deployed"), revision(1, "superseded")]),
        });
        s
    }

    #[test]
    fn a_helm_rollback_without_helm_is_refused_and_the_command_copied() {
        let mut app = app(vec![helm_service()], false);
        key(&mut app, KeyCode::Char('r'));
        key(&mut app, KeyCode::Char('h'));
        assert_eq!(chooser(&app).rows(&app)[chooser(&app).selected(&app)].revision, 1);
        assert_eq!(ctrl(&mut app, 'y'), vec![Effect::Copy("helm rollback docs 1 -n docs".into())]);
        key(&mut app, KeyCode::Enter);
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::Record { outcome, .. })] if outcome == "refused: helm-not-on-path"),
            "{effects:?}"
        );
        let Some(Overlay::Action(w)) = &app.overlay else { panic!("the wizard stays open") };
        assert!(w.error.as_deref().unwrap_or("").contains("helm is not on PATH"));
        assert_eq!(ctrl(&mut app, 'y'), vec![Effect::Copy("helm rollback docs 1 -n docs".into())], "still offered");
    }

    #[test]
    fn with_helm_the_rollback_dry_runs_through_helm_first() {
        let mut app = app(vec![helm_service()], false);
        app.helm = HelmSetup { program: Some("/opt/helm".into()), flags: vec![] };
        key(&mut app, KeyCode::Char('r'));
        key(&mut app, KeyCode::Char('h'));
        key(&mut app, KeyCode::Enter);
        let effects = key(&mut app, KeyCode::Enter);
        let [Effect::Execute(Job::DryRun(plan))] = &effects[..] else { panic!("{effects:?}") };
        let Some(plan) = plan.helm_rollback() else { panic!("{effects:?}") };
        assert_eq!(plan.args_for(true), ["rollback", "docs", "1", "-n", "docs", "--kube-context", "ctx", "--dry-run"]);
        let mut not_helm = self::app(vec![service("a", "api", None)], false);
        key(&mut not_helm, KeyCode::Char('r'));
        key(&mut not_helm, KeyCode::Char('h'));
        assert!(not_helm.overlay.is_none());
        assert!(not_helm.ctx.notice.unwrap().text.contains("not part of a Helm release"));
    }

    #[test]
    fn set_image_and_autoscaler_bounds_are_typed_wizards_with_live_plans() {
        use crate::actions::change::Change;
        use crate::model::service::ContainerImage;
        let mut web = service("shop", "web", None);
        web.containers = vec![ContainerImage { container: "web".into(), image: "acme/web:1.2.3".into() }];
        let mut app = self::app(vec![web], false);
        key(&mut app, KeyCode::Char('i'));
        assert_eq!(app.mode(), Mode::Input);
        for _ in 0.."1.2.3".len() {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "latest");
        let Some(plan) = wizard(&app).plan(&app).ok().filter(|p| p.change().is_some()) else {
            panic!("a set-image plan")
        };
        assert_eq!(
            plan.change(),
            Some(&Change::SetImage {
                container: "web".into(),
                image: "acme/web:latest".into(),
                from: "acme/web:1.2.3".into()
            })
        );
        assert_eq!(plan.guards.iter().map(|g| g.id).collect::<Vec<_>>(), ["image-sliding-tag"]);
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::DryRun(p))] if p.change().is_some()), "{effects:?}");

        let mut api = service("shop", "api", None);
        api.hpa = Some(HpaSummary {
            name: "api".into(),
            min: 2,
            max: 5,
            current: 2,
            desired: 2,
            targets: vec![],
            resource_version: Some("9".into()),
        });
        let mut app = self::app(vec![api], false);
        key(&mut app, KeyCode::Char('H'));
        for _ in 0.."2..5".len() {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "3..8");
        let Some(plan) = wizard(&app).plan(&app).ok().filter(|p| p.change().is_some()) else { panic!("a bounds plan") };
        assert!(matches!(plan.change(), Some(Change::HpaBounds { from: (2, 5), to: (3, 8), .. })));
        assert_eq!(plan.resource_version.as_deref(), Some("9"), "the autoscaler's own precondition");
        for _ in 0.."3..8".len() {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "three");
        assert!(wizard(&app).plan(&app).unwrap_err().contains("expected min..max"));
        let mut plain = self::app(vec![service("shop", "web", None)], false);
        key(&mut plain, KeyCode::Char('H'));
        assert!(plain.overlay.is_none(), "no autoscaler, no wizard");
        assert!(plain.ctx.notice.unwrap().text.contains("no autoscaler targets web"));
    }
}
