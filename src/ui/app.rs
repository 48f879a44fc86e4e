//! The application state and its update function: keys become commands (through the
//! keymap), commands change view state or ask for effects (quit, a session intent). Drawing
//! lives in `views/` and reads this state; nothing here does I/O.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::fuzzy;
use super::panes::{LogPanes, SloWatches};
use super::runbooks::{Runbooks, RunnerEvent, parse_param_line};
use crate::actions::ActionPlan;
use crate::actions::allowed::{Write, change_denied};
use crate::actions::audit::AuditEntry;
use crate::actions::change::{plan_hpa_bounds, plan_set_image};
use crate::actions::helm::plan_helm_rollback;
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::actions::runbook::engine::{Answer, Control, Prompt};
use crate::actions::runbook::state::RunState;
use crate::actions::scale::{Verdict, plan_scale};
use crate::cluster::helm::HelmSetup;
use crate::cluster::session::{ClusterView, Intent};
use crate::config::commands::{COMMANDS, Command, Mode};
use crate::config::keymap::{Keymap, Lookup};
use crate::config::theme::Theme;
use crate::effects::logs::Follow;
pub use crate::effects::{Effect, Job, JobEvent};
use crate::model::budget::{DatabaseBudget, Measured, ServerReading, budget_of};
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

/// Where the action wizard is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionStage {
    /// Typing the replicas; the preview follows every keystroke.
    Editing,
    /// Waiting for the server's dry-run.
    Checking(ActionPlan),
    /// The dry-run passed; Enter applies (after typing the name when a guard is overridden).
    Confirm {
        plan: ActionPlan,
        dry_run: String,
    },
    Applying(ActionPlan),
    Following(ActionPlan),
    Done {
        plan: ActionPlan,
        message: String,
        ok: bool,
    },
}

/// A change being prepared: a scale (replicas typed, preview live) or a plan fixed when
/// the wizard opened (a rollout action, a Helm rollback).
pub struct ActionWizard {
    pub key: ServiceKey,
    /// What is typed, when the plan is not fixed.
    pub typed: Typed,
    pub input: TextArea<'static>,
    /// Set for rollout actions and Helm rollbacks; `None` for a scale.
    pub fixed: Option<ActionPlan>,
    /// The typed service name, when a guard is overridden.
    pub confirm: TextArea<'static>,
    pub stage: ActionStage,
    pub error: Option<String>,
}

/// What a wizard's input line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typed {
    /// `3`
    Replicas,
    /// `image` (one container) or `container=image`
    Image,
    /// `2..6`: the autoscaler's minimum and maximum
    Bounds,
}

impl Typed {
    pub fn label(self) -> &'static str {
        match self {
            Typed::Replicas => "replicas:",
            Typed::Image => "image:",
            Typed::Bounds => "min..max:",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Typed::Replicas => "Scale",
            Typed::Image => "Set image",
            Typed::Bounds => "Autoscaler bounds",
        }
    }
}

/// A full-screen view on the navigation stack.
#[derive(Debug)]
pub enum Screen {
    Overview,
    Detail(DetailState),
    /// The audit trail, newest first.
    Audit {
        scroll: usize,
    },
    /// The connection budget of every database in scope.
    Budget {
        scroll: usize,
    },
    /// Preflight findings across the scope, grouped by check.
    Findings {
        scroll: usize,
    },
    /// The live log panes.
    Logs,
    /// The runbooks, and the stepper of the one running.
    Runbook,
}

#[derive(Debug)]
pub struct DetailState {
    pub key: ServiceKey,
    pub scroll: usize,
}

/// Overview columns the operator can sort by, in the order `sort_next_column` cycles
/// (every column of the overview).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Namespace,
    Service,
    Kind,
    Ready,
    UpToDate,
    Available,
    Hpa,
    Rollout,
    Probes,
    Pdb,
    Budget,
    Checks,
    Age,
}

impl SortColumn {
    const CYCLE: [SortColumn; 13] = [
        SortColumn::Service,
        SortColumn::Namespace,
        SortColumn::Kind,
        SortColumn::Ready,
        SortColumn::UpToDate,
        SortColumn::Available,
        SortColumn::Hpa,
        SortColumn::Rollout,
        SortColumn::Probes,
        SortColumn::Pdb,
        SortColumn::Budget,
        SortColumn::Checks,
        SortColumn::Age,
    ];

    fn next(self) -> SortColumn {
        let at = Self::CYCLE.iter().position(|c| *c == self).unwrap_or(0);
        Self::CYCLE[(at + 1) % Self::CYCLE.len()]
    }

    /// The header it sorts, as the overview prints it.
    pub fn header(self) -> &'static str {
        match self {
            SortColumn::Namespace => "NAMESPACE",
            SortColumn::Service => "SERVICE",
            SortColumn::Kind => "KIND",
            SortColumn::Ready => "READY",
            SortColumn::UpToDate => "UP-TO-DATE",
            SortColumn::Available => "AVAILABLE",
            SortColumn::Hpa => "HPA",
            SortColumn::Rollout => "ROLLOUT",
            SortColumn::Probes => "PROBES",
            SortColumn::Pdb => "PDB",
            SortColumn::Budget => "BUDGET",
            SortColumn::Checks => "CHECKS",
            SortColumn::Age => "AGE",
        }
    }
}

#[derive(Debug)]
pub struct OverviewState {
    pub selected: usize,
    pub filter: String,
    pub sort: SortColumn,
    pub reverse: bool,
    pub problems_first: bool,
}

/// What a picker chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerKind {
    Namespace,
    Context,
}

/// Which history a revision chooser lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionSource {
    /// The workload's own revisions (`rollout undo`).
    Rollout,
    /// Its Helm release's revisions (`helm rollback`).
    Helm,
}

/// Choosing the revision to go back to, with the highlighted one's diff previewed; Enter
/// takes the choice into the usual dry-run and confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionChooser {
    pub key: ServiceKey,
    pub source: RevisionSource,
    /// Index into the listed revisions (newest first).
    pub selected: usize,
}

/// A popup over the current screen; text-entry popups own the keyboard.
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Palette {
        input: TextArea<'static>,
        selected: usize,
    },
    Picker {
        kind: PickerKind,
        input: TextArea<'static>,
        selected: usize,
    },
    Filter {
        input: TextArea<'static>,
        before: String,
    },
    /// The focused log pane's filter regex; an invalid one keeps the previous filter.
    LogFilter {
        input: TextArea<'static>,
        before: Option<regex::Regex>,
        error: Option<String>,
        /// The search (highlight, `n`/`N`) rather than the filter.
        search: bool,
    },
    Action(Box<ActionWizard>),
    /// The parameters of a runbook about to start, as `k=v` words.
    RunParams {
        name: String,
        input: TextArea<'static>,
        error: Option<String>,
    },
    /// A runbook step wants the service name typed (production, or a guard overridden).
    RunConfirmName {
        name: String,
        input: TextArea<'static>,
    },
    /// Why the manual step is skipped (recorded in the run state and the audit log).
    SkipReason {
        input: TextArea<'static>,
    },
    /// An interrupted run found at start: resume it?
    ResumeOffer(Box<RunState>),
    Revisions(RevisionChooser),
}

/// A line for the status bar: what went wrong or what just happened.
#[derive(Clone, Debug)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at: Timestamp,
}

/// Entry of the "all namespaces" choice in the namespace picker.
pub const ALL_NAMESPACES: &str = "(all namespaces)";

pub struct App {
    pub theme: Theme,
    pub keymap: Keymap,
    pub view: Arc<ClusterView>,
    pub screens: Vec<Screen>,
    pub overview: OverviewState,
    pub overlay: Option<Overlay>,
    pub pending: Vec<KeyEvent>,
    pub notice: Option<Notice>,
    pub read_only: bool,
    /// The profile problems the operator has hidden (the banner comes back when they
    /// change or the profile is reloaded); changes stay refused all the same.
    pub banner_hidden: Option<Vec<String>>,
    /// The generation a switch asked for; until it arrives the status line says so.
    pub awaiting: Option<u64>,
    /// Rows of the overview, in display order (filter and sort applied); rebuilt on change.
    pub rows: Vec<usize>,
    /// The terminal's size (set at start and on every resize): the layout that drawing
    /// uses, so paging knows a page's height without drawing.
    pub area: Rect,
    /// The audit trail as last read (for the audit screen).
    pub audit: Vec<AuditEntry>,
    /// Once the operator has chosen a row, it stays selected as rows move; before that
    /// the top row (the worst problem) is selected.
    pub chose_row: bool,
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
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, view: Arc<ClusterView>, read_only: bool) -> App {
        let mut app = App {
            theme,
            keymap,
            view,
            screens: vec![Screen::Overview],
            overview: OverviewState {
                selected: 0,
                filter: String::new(),
                sort: SortColumn::Service,
                reverse: false,
                problems_first: true,
            },
            overlay: None,
            pending: Vec::new(),
            notice: None,
            read_only,
            banner_hidden: None,
            awaiting: None,
            rows: Vec::new(),
            area: Rect::new(0, 0, 80, 24),
            chose_row: false,
            audit: Vec::new(),
            readings: BTreeMap::new(),
            measuring: false,
            logs: LogPanes::default(),
            slo_watches: SloWatches::default(),
            runbooks: Runbooks::default(),
            runbooks_for: None,
            helm: HelmSetup::default(),
        };
        app.logs.keep_sgr = app.theme.log_allow_sgr();
        app.refresh_rows();
        app
    }

    pub fn screen(&self) -> &Screen {
        self.screens.last().unwrap_or(&Screen::Overview)
    }

    /// The keymap mode of what has the keyboard now.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            Some(Overlay::Palette { .. } | Overlay::Picker { .. } | Overlay::Revisions(_)) => Mode::Palette,
            Some(
                Overlay::Filter { .. }
                | Overlay::LogFilter { .. }
                | Overlay::Action(_)
                | Overlay::RunParams { .. }
                | Overlay::RunConfirmName { .. }
                | Overlay::SkipReason { .. }
                | Overlay::ResumeOffer(_),
            ) => Mode::Input,
            Some(Overlay::Help { .. }) | None => self.screen_mode(),
        }
    }

    /// The mode of the screen under any popup (what palette commands run against).
    pub fn screen_mode(&self) -> Mode {
        match self.screen() {
            Screen::Overview => Mode::Overview,
            Screen::Detail(_) => Mode::Detail,
            Screen::Audit { .. } => Mode::Audit,
            Screen::Budget { .. } => Mode::Budget,
            Screen::Findings { .. } => Mode::Findings,
            Screen::Logs => Mode::Logs,
            Screen::Runbook => Mode::Runbook,
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

    /// A change key pressed while changes are refused: said, and audited with the service
    /// it was for.
    fn refuse_change(&mut self, command: Command) -> Vec<Effect> {
        let Some(refusal) = self.changes_refused() else { return Vec::new() };
        self.report_error(format!("{}: refused: {}", command.name(), refusal.why()));
        let Some(service) = self.acted_on() else { return Vec::new() };
        vec![Effect::Execute(Job::RecordRefusal {
            action: command.name().replace('_', " "),
            target: crate::actions::scale::target_text(&service.key),
            outcome: format!("refused: {}", refusal.audited_as()),
        })]
    }

    /// The last line of defence: whatever screen produced it, no change leaves the app
    /// while changes are refused (dry-runs ask the server and change nothing).
    fn without_refused_changes(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let Some(refusal) = self.changes_refused() else { return effects };
        let (refused, allowed): (Vec<Effect>, Vec<Effect>) = effects
            .into_iter()
            .partition(|e| matches!(e, Effect::Execute(Job::Apply { .. }) | Effect::StartRunbook { .. }));
        if !refused.is_empty() {
            self.report_error(format!("refused: {}", refusal.why()));
        }
        allowed
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

    /// A new cluster view from the session. Selection follows the selected service, not
    /// its row number, so rows moving under the cursor do not change what is selected.
    pub fn set_view(&mut self, view: Arc<ClusterView>) {
        let selected = self.selected_service().filter(|_| self.chose_row).map(|s| s.key.clone());
        if self.awaiting.is_some_and(|g| view.generation >= g) {
            self.awaiting = None;
        }
        if let Some(error) = view.error.clone().filter(|_| view.generation != self.view.generation) {
            self.report_error(error);
        }
        self.view = view;
        self.refresh_rows();
        if let Some(at) = selected.and_then(|key| self.rows.iter().position(|&i| self.view.services[i].key == key)) {
            self.overview.selected = at;
        }
        self.clamp_selection();
    }

    /// Whether the clock changes what is on screen (ages, "reconnecting 12s").
    pub fn clock_matters(&self) -> bool {
        true
    }

    pub fn selected_service(&self) -> Option<&Service> {
        self.rows.get(self.overview.selected).map(|&i| &self.view.services[i])
    }

    pub fn detail_service(&self) -> Option<&Service> {
        match self.screen() {
            Screen::Detail(d) => self.view.services.iter().find(|s| s.key == d.key),
            Screen::Overview
            | Screen::Audit { .. }
            | Screen::Budget { .. }
            | Screen::Findings { .. }
            | Screen::Logs
            | Screen::Runbook => None,
        }
    }

    pub fn handle_paste(&mut self, text: &str) {
        let line = text.lines().next().unwrap_or_default();
        if let Some(input) = self.text_input() {
            input.insert_str(line);
            self.after_text_change();
        }
    }

    fn text_input(&mut self) -> Option<&mut TextArea<'static>> {
        match &mut self.overlay {
            Some(
                Overlay::Palette { input, .. }
                | Overlay::Picker { input, .. }
                | Overlay::Filter { input, .. }
                | Overlay::LogFilter { input, .. }
                | Overlay::RunParams { input, .. }
                | Overlay::RunConfirmName { input, .. }
                | Overlay::SkipReason { input },
            ) => Some(input),
            Some(Overlay::Action(w)) => match w.stage {
                ActionStage::Editing if w.fixed.is_none() => Some(&mut w.input),
                ActionStage::Confirm { .. } => Some(&mut w.confirm),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent, now: Timestamp) -> Vec<Effect> {
        let mode = self.mode();
        let pending = std::mem::take(&mut self.pending);
        match self.keymap.lookup(mode, &pending, key) {
            Lookup::Pending(_) => {
                self.pending = pending;
                self.pending.push(key);
                Vec::new()
            }
            Lookup::Command(command) => {
                let effects = self.run(command, now);
                self.without_refused_changes(effects)
            }
            Lookup::None if matches!(mode, Mode::Palette | Mode::Input) && pending.is_empty() => {
                if let Some(input) = self.text_input() {
                    input.input(key);
                    self.after_text_change();
                }
                Vec::new()
            }
            Lookup::None => {
                if matches!(self.overlay, Some(Overlay::Help { .. })) {
                    self.overlay = None;
                }
                Vec::new()
            }
        }
    }

    /// Live effects of typing: the filter narrows the rows, the palette list resets.
    fn after_text_change(&mut self) {
        match &mut self.overlay {
            Some(Overlay::Filter { input, .. }) => {
                self.overview.filter = input.lines().first().cloned().unwrap_or_default();
                self.refresh_rows();
                self.overview.selected = 0;
            }
            Some(Overlay::Palette { selected, .. } | Overlay::Picker { selected, .. }) => *selected = 0,
            Some(Overlay::LogFilter { input, error, search, .. }) => {
                let text = input.lines().first().cloned().unwrap_or_default();
                let parsed = if text.is_empty() { Ok(None) } else { regex::Regex::new(&text).map(Some) };
                match parsed {
                    Ok(re) => {
                        *error = None;
                        if let Some(pane) = self.logs.focused() {
                            *if *search { &mut pane.search } else { &mut pane.filter } = re;
                        }
                    }
                    // The pane keeps its previous regex while this one is incomplete.
                    Err(e) => *error = Some(first_line(&e.to_string())),
                }
            }
            _ => {}
        }
    }

    /// Runs one command in the current context.
    pub fn run(&mut self, command: Command, now: Timestamp) -> Vec<Effect> {
        if command == Command::CopyCommand {
            return self.copy_command(now);
        }
        if self.overlay.is_some()
            && let Some(effects) = self.run_in_overlay(command, now)
        {
            return effects;
        }
        if matches!(self.screen(), Screen::Logs) && self.run_in_logs(command) {
            return Vec::new();
        }
        if matches!(self.screen(), Screen::Runbook)
            && let Some(effects) = self.run_in_runbook(command)
        {
            return effects;
        }
        match command {
            Command::Quit => return vec![Effect::Quit],
            Command::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Command::CommandPalette => {
                self.overlay = Some(Overlay::Palette { input: text_input("command"), selected: 0 })
            }
            Command::Back | Command::Cancel if self.banner().is_some() => {
                self.banner_hidden = Some(self.view.profile.problems.clone());
            }
            Command::ReloadProfile => {
                self.banner_hidden = None;
                self.say("reading the profile again…", now);
                return vec![Effect::Session(Intent::ReloadProfile)];
            }
            Command::Back | Command::Cancel => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                } else if !self.overview.filter.is_empty() {
                    self.overview.filter.clear();
                    self.refresh_rows();
                }
            }
            Command::OpenOverview => self.screens.truncate(1),
            Command::MoveUp => self.move_by(-1, now),
            Command::MoveDown => self.move_by(1, now),
            Command::PageUp => self.move_by(-(self.page() as isize), now),
            Command::PageDown => self.move_by(self.page() as isize, now),
            Command::GoTop => self.move_by(isize::MIN / 2, now),
            Command::GoBottom => self.move_by(isize::MAX / 2, now),
            Command::OpenDetail | Command::Confirm => self.open_detail(),
            Command::Filter => {
                let mut input = text_input("filter");
                input.insert_str(&self.overview.filter);
                self.overlay = Some(Overlay::Filter { input, before: self.overview.filter.clone() });
            }
            Command::ClearFilter => {
                self.overview.filter.clear();
                self.refresh_rows();
            }
            Command::SortNextColumn => {
                self.overview.sort = self.overview.sort.next();
                self.refresh_rows();
                self.say(format!("sorted by {}", self.overview.sort.header()), now);
            }
            Command::SortReverse => {
                self.overview.reverse = !self.overview.reverse;
                self.refresh_rows();
            }
            Command::ToggleProblemsFirst => {
                self.overview.problems_first = !self.overview.problems_first;
                self.refresh_rows();
                let state = if self.overview.problems_first { "on" } else { "off" };
                self.say(format!("problems first: {state}"), now);
            }
            Command::SwitchNamespace => self.open_picker(PickerKind::Namespace),
            Command::SwitchContext => self.open_picker(PickerKind::Context),
            Command::NoOp | Command::MoveLeft | Command::MoveRight => {}
            Command::Scale
            | Command::RolloutRestart
            | Command::RolloutPause
            | Command::RolloutResume
            | Command::RolloutUndo
            | Command::HelmRollback
            | Command::SetImage
            | Command::HpaBounds
                if self.changes_refused().is_some() =>
            {
                return self.refuse_change(command);
            }
            Command::Scale => self.open_scale_wizard(),
            Command::SetImage => self.open_image_wizard(),
            Command::HpaBounds => self.open_bounds_wizard(now),
            Command::RolloutRestart => self.open_rollout_wizard(RolloutRequest::Restart),
            Command::RolloutPause => self.open_rollout_wizard(RolloutRequest::Pause),
            Command::RolloutResume => self.open_rollout_wizard(RolloutRequest::Resume),
            Command::RolloutUndo => self.open_revision_chooser(RevisionSource::Rollout, now),
            Command::HelmRollback => self.open_revision_chooser(RevisionSource::Helm, now),
            Command::OpenBudget => return self.open_budget(),
            Command::OpenRunbooks => {
                self.runbooks_for = self.acted_on().map(|s| s.key.clone());
                if !matches!(self.screen(), Screen::Runbook) {
                    self.screens.push(Screen::Runbook);
                }
            }
            Command::OpenLogs => self.open_logs(now),
            Command::OpenFindings => {
                if !matches!(self.screen(), Screen::Findings { .. }) {
                    self.screens.push(Screen::Findings { scroll: 0 });
                }
            }
            Command::OpenAudit => {
                if !matches!(self.screen(), Screen::Audit { .. }) {
                    self.screens.push(Screen::Audit { scroll: 0 });
                }
                return vec![Effect::Execute(Job::LoadAudit)];
            }
            other => self.say(format!("{}: not available yet", other.name()), now),
        }
        Vec::new()
    }

    /// Commands while a popup is open; `None` means the popup does not handle it.
    fn run_in_overlay(&mut self, command: Command, now: Timestamp) -> Option<Vec<Effect>> {
        let overlay = self.overlay.as_mut()?;
        match (overlay, command) {
            (Overlay::Help { scroll }, Command::MoveDown) => *scroll += 1,
            (Overlay::Help { scroll }, Command::MoveUp) => *scroll = scroll.saturating_sub(1),
            (Overlay::Help { scroll }, Command::PageDown) => *scroll += 10,
            (Overlay::Help { scroll }, Command::PageUp) => *scroll = scroll.saturating_sub(10),
            (Overlay::Help { .. }, Command::Quit | Command::Back | Command::Cancel | Command::Help) => {
                self.overlay = None
            }
            (Overlay::Help { .. }, _) => return None,
            (Overlay::Palette { selected, .. } | Overlay::Picker { selected, .. }, Command::MoveDown) => *selected += 1,
            (Overlay::Palette { selected, .. } | Overlay::Picker { selected, .. }, Command::MoveUp) => {
                *selected = selected.saturating_sub(1)
            }
            (Overlay::Palette { selected, .. } | Overlay::Picker { selected, .. }, Command::PageDown) => {
                *selected += 10
            }
            (Overlay::Palette { selected, .. } | Overlay::Picker { selected, .. }, Command::PageUp) => {
                *selected = selected.saturating_sub(10)
            }
            (Overlay::Palette { .. }, Command::Confirm) => {
                let chosen = self.palette_choices().get(self.palette_selected()).map(|(c, _)| *c);
                self.overlay = None;
                return Some(chosen.map(|c| self.run(c, now)).unwrap_or_default());
            }
            (Overlay::Picker { kind, .. }, Command::Confirm) => {
                let kind = *kind;
                let chosen = self.picker_choices().get(self.picker_selected()).map(|(c, _)| c.clone());
                let typed = self.typed_text();
                self.overlay = None;
                return Some(self.switch(kind, chosen.or(typed)));
            }
            (Overlay::Revisions(c), Command::MoveDown) => c.selected += 1,
            (Overlay::Revisions(c), Command::MoveUp) => c.selected = c.selected.saturating_sub(1),
            (Overlay::Revisions(c), Command::PageDown) => c.selected += 10,
            (Overlay::Revisions(c), Command::PageUp) => c.selected = c.selected.saturating_sub(10),
            (Overlay::Revisions(_), Command::Confirm) => self.take_chosen_revision(),
            (Overlay::Action(_), Command::Confirm) => return Some(self.advance_scale()),
            (Overlay::Action(w), Command::Cancel | Command::Back) if matches!(w.stage, ActionStage::Confirm { .. }) => {
                let ActionStage::Confirm { plan, dry_run } = w.stage.clone() else { unreachable!() };
                self.overlay = None;
                self.say("not confirmed; nothing was changed", now);
                let record = Job::Record { plan, dry_run: Some(dry_run), outcome: "declined".into() };
                return Some(vec![Effect::Execute(record)]);
            }
            (Overlay::Action(w), Command::Cancel | Command::Back)
                if matches!(w.stage, ActionStage::Applying(_) | ActionStage::Following(_)) =>
            {
                // The change is made; closing only stops watching it here.
                self.overlay = None;
                self.say("the change continues; its progress shows in the overview", now);
            }
            (
                Overlay::RunParams { .. }
                | Overlay::RunConfirmName { .. }
                | Overlay::SkipReason { .. }
                | Overlay::ResumeOffer(_),
                Command::Confirm,
            ) => {
                return Some(self.confirm_runbook_overlay());
            }
            (Overlay::Filter { .. } | Overlay::LogFilter { .. }, Command::Confirm) => self.overlay = None,
            (Overlay::LogFilter { before, search, .. }, Command::Cancel) => {
                let (before, search) = (before.take(), *search);
                if let Some(pane) = self.logs.focused() {
                    *if search { &mut pane.search } else { &mut pane.filter } = before;
                }
                self.overlay = None;
            }
            (Overlay::Filter { before, .. }, Command::Cancel) => {
                self.overview.filter = std::mem::take(before);
                self.overlay = None;
                self.refresh_rows();
            }
            (_, Command::Cancel | Command::Back) => self.overlay = None,
            (_, Command::NoOp) => {}
            // Anything else typed in a text popup is not a command there.
            _ => {}
        }
        Some(Vec::new())
    }

    /// The service an action applies to: the selected row, or the one in detail.
    fn acted_on(&self) -> Option<&Service> {
        match self.screen() {
            Screen::Detail(_) => self.detail_service(),
            Screen::Overview => self.selected_service(),
            Screen::Audit { .. } | Screen::Budget { .. } | Screen::Findings { .. } | Screen::Logs | Screen::Runbook => {
                None
            }
        }
    }

    fn open_scale_wizard(&mut self) {
        let Some(service) = self.acted_on() else { return };
        let mut input = text_input("replicas");
        input.insert_str(service.replicas.desired.to_string());
        self.open_typed_wizard(service.key.clone(), Typed::Replicas, input);
    }

    /// `i`: the image, typed over the current one (`container=image` with several).
    fn open_image_wizard(&mut self) {
        let Some(service) = self.acted_on() else { return };
        let mut input = text_input("container=image");
        let current = match service.containers.as_slice() {
            [one] => one.image.clone(),
            [first, ..] => format!("{}={}", first.container, first.image),
            [] => String::new(),
        };
        input.insert_str(current);
        self.open_typed_wizard(service.key.clone(), Typed::Image, input);
    }

    /// `H`: the autoscaler's bounds (what the scale guard offers instead of a scale).
    fn open_bounds_wizard(&mut self, now: Timestamp) {
        let Some(service) = self.acted_on() else { return };
        let Some(hpa) = &service.hpa else {
            let what = format!("no autoscaler targets {}: scale it instead (s)", service.key.name);
            self.say(what, now);
            return;
        };
        let mut input = text_input("min..max");
        input.insert_str(format!("{}..{}", hpa.min, hpa.max));
        self.open_typed_wizard(service.key.clone(), Typed::Bounds, input);
    }

    fn open_typed_wizard(&mut self, key: ServiceKey, typed: Typed, input: TextArea<'static>) {
        self.open_wizard(key, input, None);
        if let Some(Overlay::Action(w)) = &mut self.overlay {
            w.typed = typed;
        }
    }

    fn open_rollout_wizard(&mut self, request: RolloutRequest) {
        let Some(service) = self.acted_on() else { return };
        let plan = ActionPlan::Rollout(plan_rollout(service, request));
        self.open_wizard(service.key.clone(), text_input(""), Some(plan));
    }

    fn open_wizard(&mut self, key: ServiceKey, input: TextArea<'static>, fixed: Option<ActionPlan>) {
        let confirm = text_input(&key.name);
        let typed = Typed::Replicas;
        let wizard = ActionWizard { key, typed, input, fixed, confirm, stage: ActionStage::Editing, error: None };
        self.overlay = Some(Overlay::Action(Box::new(wizard)));
    }

    /// `r u` / `r h`: the revisions to choose from, the previous one highlighted. With
    /// nothing to choose from, the plan says why (no history, no Helm release).
    fn open_revision_chooser(&mut self, source: RevisionSource, now: Timestamp) {
        let Some(service) = self.acted_on() else { return };
        let key = service.key.clone();
        let rows = revision_rows(service, source);
        if rows.is_empty() {
            match source {
                RevisionSource::Rollout => self.open_rollout_wizard(RolloutRequest::Undo(None)),
                RevisionSource::Helm => {
                    let why = match &service.helm {
                        None => format!("{} is not part of a Helm release", key.name),
                        Some(_) => "the Helm release history cannot be read (no access to its Secrets)".into(),
                    };
                    self.say(why, now);
                }
            }
            return;
        }
        let likely = match source {
            RevisionSource::Rollout => previous_revision(service),
            RevisionSource::Helm => service.helm.as_ref().and_then(|h| h.rollback_candidate()).map(|r| r.revision),
        };
        let selected = rows.iter().position(|r| Some(r.revision) == likely).unwrap_or(0);
        self.overlay = Some(Overlay::Revisions(RevisionChooser { key, source, selected }));
    }

    /// The chooser's revisions, newest first, with the highlighted one clamped in range.
    pub fn chooser_rows(&self) -> Vec<RevisionRow> {
        let Some(Overlay::Revisions(c)) = &self.overlay else { return Vec::new() };
        self.view.services.iter().find(|s| s.key == c.key).map(|s| revision_rows(s, c.source)).unwrap_or_default()
    }

    pub fn chooser_selected(&self) -> usize {
        match &self.overlay {
            Some(Overlay::Revisions(c)) => c.selected.min(self.chooser_rows().len().saturating_sub(1)),
            _ => 0,
        }
    }

    /// The plan for the highlighted revision: what its diff and guards look like now.
    pub fn chooser_plan(&self) -> Option<ActionPlan> {
        let Some(Overlay::Revisions(c)) = &self.overlay else { return None };
        let service = self.view.services.iter().find(|s| s.key == c.key)?;
        let revision = self.chooser_rows().get(self.chooser_selected())?.revision;
        match c.source {
            RevisionSource::Rollout => {
                Some(ActionPlan::Rollout(plan_rollout(service, RolloutRequest::Undo(Some(revision)))))
            }
            RevisionSource::Helm => plan_helm_rollback(service, revision, &self.helm, &self.view.context)
                .map(|p| ActionPlan::HelmRollback(Box::new(p))),
        }
    }

    /// Enter in the chooser: the chosen revision's plan goes into the wizard.
    fn take_chosen_revision(&mut self) {
        let plan = self.chooser_plan();
        let Some(Overlay::Revisions(c)) = self.overlay.take() else { return };
        if let Some(plan) = plan {
            self.open_wizard(c.key, text_input(""), Some(plan));
        }
    }

    /// What RBAC forbids about the open wizard's change, as the access reviews (which may
    /// land after the wizard opened) say.
    pub fn wizard_denied(&self) -> Option<String> {
        let Some(Overlay::Action(w)) = &self.overlay else { return None };
        // helm checks its own permissions (and its dry-run shows the answer).
        if matches!(w.fixed, Some(ActionPlan::HelmRollback(_))) {
            return None;
        }
        // The autoscaler is its own object: its server dry-run answers for RBAC.
        if w.fixed.is_none() && w.typed == Typed::Bounds {
            return None;
        }
        let write = if w.fixed.is_none() && w.typed == Typed::Replicas { Write::Scale } else { Write::Patch };
        let view = &self.view;
        change_denied(&view.denied, view.namespace.as_deref(), w.key.kind, write)
            .map(|d| format!("RBAC: you may not {d}"))
    }

    /// The plan for what is typed now, from the current model (so the preview is live).
    pub fn wizard_plan(&self) -> Result<ActionPlan, String> {
        let Some(Overlay::Action(w)) = &self.overlay else { return Err("no change in progress".into()) };
        if let Some(plan) = &w.fixed {
            return Ok(plan.clone());
        }
        let service = self
            .view
            .services
            .iter()
            .find(|s| s.key == w.key)
            .ok_or_else(|| format!("{} is gone from the cluster", w.key.name))?;
        let typed = w.input.lines().first().map(|l| l.trim().to_string()).unwrap_or_default();
        let budget = budget_of(&self.view.budgets, &service.key);
        match w.typed {
            Typed::Replicas => {}
            Typed::Image => {
                let (container, image) = match typed.split_once('=') {
                    Some((c, i)) => (Some(c.trim()), i.trim()),
                    None => (None, typed.as_str()),
                };
                return Ok(ActionPlan::Change(Box::new(plan_set_image(service, container, image))));
            }
            Typed::Bounds => {
                let (min, max) = parse_bounds(&typed)?;
                return Ok(ActionPlan::Change(Box::new(plan_hpa_bounds(service, min, max, budget))));
            }
        }
        let to: i32 = typed.parse().map_err(|_| format!("\"{typed}\" is not a number of replicas"))?;
        let plan = plan_scale(service, to, false, budget);
        // A refusal can be overridden in the cockpit by typing the service name.
        let overridable = plan.stopped_by().is_some_and(|g| g.verdict == Verdict::Refuse);
        Ok(ActionPlan::Scale(if overridable { plan_scale(service, to, true, budget) } else { plan }))
    }

    /// Enter in the wizard: dry-run, then apply.
    fn advance_scale(&mut self) -> Vec<Effect> {
        let plan = self.wizard_plan();
        let denied = self.wizard_denied();
        let Some(Overlay::Action(w)) = &mut self.overlay else { return Vec::new() };
        match &w.stage {
            ActionStage::Editing if denied.is_some() => w.error = denied,
            ActionStage::Editing => match plan {
                Err(e) => w.error = Some(e),
                Ok(plan) => match plan.stopped_by() {
                    Some(guard) => {
                        w.error = Some(guard.message.clone());
                        let outcome = format!("refused: {}", guard.id);
                        return vec![Effect::Execute(Job::Record { plan, dry_run: None, outcome })];
                    }
                    None => {
                        w.error = None;
                        w.stage = ActionStage::Checking(plan.clone());
                        return vec![Effect::Execute(Job::DryRun(plan))];
                    }
                },
            },
            ActionStage::Confirm { plan, dry_run } => {
                let typed = w.confirm.lines().first().map(|l| l.trim().to_string()).unwrap_or_default();
                if plan.needs_typed_name(self.view.profile.production) && typed != plan.service().name {
                    let why = if plan.overrides_a_guard() { "override the guard" } else { "change production" };
                    w.error = Some(format!("type {} to {why}", plan.service().name));
                    return Vec::new();
                }
                let job = Job::Apply { plan: plan.clone(), dry_run: dry_run.clone() };
                w.stage = ActionStage::Applying(plan.clone());
                return vec![Effect::Execute(job)];
            }
            ActionStage::Done { .. } => self.overlay = None,
            ActionStage::Checking(_) | ActionStage::Applying(_) | ActionStage::Following(_) => {}
        }
        Vec::new()
    }

    /// The kubectl command for what is in front of the operator: the change being prepared,
    /// or a look at the selected service.
    fn copy_command(&mut self, now: Timestamp) -> Vec<Effect> {
        let command = match &self.overlay {
            Some(Overlay::Action(_)) => self.wizard_plan().ok().map(|p| p.kubectl().to_string()),
            Some(Overlay::Revisions(_)) => self.chooser_plan().map(|p| p.kubectl().to_string()),
            _ => self.acted_on().map(|s| {
                let kind = match s.key.kind {
                    WorkloadKind::Deployment => "deployment",
                    WorkloadKind::StatefulSet => "statefulset",
                };
                format!("kubectl get {kind}/{} -n {} -o wide", s.key.name, s.key.namespace)
            }),
        };
        match command.filter(|c| !c.is_empty()) {
            Some(command) => {
                self.say(format!("copied: {command}"), now);
                vec![Effect::Copy(command)]
            }
            None => {
                self.say("nothing to copy here", now);
                Vec::new()
            }
        }
    }

    /// Opens (or focuses) a log pane for the selected service and shows the panes.
    fn open_logs(&mut self, now: Timestamp) {
        let Some(service) = self.acted_on().cloned() else { return };
        match self.logs.open(service.key.clone(), &self.view.slo_rules, Some(&service)) {
            Ok(()) => {
                if !matches!(self.screen(), Screen::Logs) {
                    self.screens.push(Screen::Logs);
                }
            }
            Err(e) => self.say(e, now),
        }
    }

    /// The log panes' own commands; `false` lets the global meaning apply.
    fn run_in_logs(&mut self, command: Command) -> bool {
        match command {
            Command::NextPane => self.logs.cycle(1),
            Command::PrevPane => self.logs.cycle(-1),
            Command::ToggleLayout => self.logs.side_by_side = !self.logs.side_by_side,
            Command::ClosePane => {
                self.logs.close_focused();
                if self.logs.panes.is_empty() {
                    self.screens.pop();
                }
            }
            Command::Search | Command::Filter => {
                let search = command == Command::Search;
                let Some(pane) = self.logs.focused() else { return true };
                let before = if search { pane.search.clone() } else { pane.filter.clone() };
                let mut input = text_input(if search { "search regex" } else { "filter regex" });
                input.insert_str(before.as_ref().map_or("", |r| r.as_str()));
                self.overlay = Some(Overlay::LogFilter { input, before, error: None, search });
            }
            Command::SearchNext | Command::SearchPrev => {
                let older = command == Command::SearchPrev;
                if let Some(pane) = self.logs.focused()
                    && !pane.jump_to_match(older)
                {
                    let what = if older { "no earlier match" } else { "no later match" };
                    self.say(what, Timestamp::now());
                }
            }
            _ => {
                let page = self.page() as isize;
                let Some(pane) = self.logs.focused() else { return false };
                match command {
                    Command::ToggleFollow => pane.toggle_follow(),
                    Command::ToggleWrap => pane.wrap = !pane.wrap,
                    Command::ToggleTimestamps => pane.timestamps = !pane.timestamps,
                    Command::MoveUp => pane.scroll(-1),
                    Command::MoveDown => pane.scroll(1),
                    Command::PageUp => pane.scroll(-page),
                    Command::PageDown => pane.scroll(page),
                    Command::GoTop => pane.scroll(isize::MIN / 2),
                    Command::GoBottom => pane.scroll(isize::MAX / 2),
                    _ => return false,
                }
            }
        }
        true
    }

    /// The runbooks screen's own commands; `None` lets the global meaning apply.
    fn run_in_runbook(&mut self, command: Command) -> Option<Vec<Effect>> {
        let prompt = self.runbooks.active.as_ref().and_then(|a| a.prompt.clone());
        let running = self.runbooks.running();
        let answer = |answer: Answer| vec![Effect::RunControl(Control::Answer(answer))];
        match command {
            Command::OpenDetail | Command::Confirm | Command::RunRunbook => match prompt {
                Some(Prompt::Change { plan, typed_name: true, .. }) => {
                    let name = plan.service().name.clone();
                    self.overlay = Some(Overlay::RunConfirmName { input: text_input(&name), name });
                    Some(Vec::new())
                }
                Some(_) => {
                    self.clear_prompt();
                    Some(answer(Answer::Yes))
                }
                None if running => Some(Vec::new()),
                None => Some(self.offer_start()),
            },
            Command::Skip => {
                if matches!(prompt, Some(Prompt::Manual { .. })) {
                    self.overlay = Some(Overlay::SkipReason { input: text_input("why is it skipped?") });
                } else {
                    self.say("only a manual step can be skipped", Timestamp::now());
                }
                Some(Vec::new())
            }
            Command::Pause if running => {
                let paused = self.runbooks.active.as_ref().is_some_and(|a| a.paused());
                Some(vec![Effect::RunControl(if paused { Control::Resume } else { Control::Pause })])
            }
            Command::Abort if running => {
                self.clear_prompt();
                Some(vec![Effect::RunControl(Control::Abort)])
            }
            Command::MoveUp | Command::MoveDown if !running => {
                let step: isize = if command == Command::MoveUp { -1 } else { 1 };
                let last = self.runbooks.choices.len().saturating_sub(1);
                self.runbooks.selected = self.runbooks.selected.saturating_add_signed(step).min(last);
                Some(Vec::new())
            }
            Command::OpenLogs => {
                let key = self.runbooks.active.as_ref().and_then(|a| a.current_service(&self.view.services));
                let service = key.as_ref().and_then(|k| self.view.services.iter().find(|s| &s.key == k)).cloned();
                if let Some(key) = key
                    && self.logs.open(key, &self.view.slo_rules, service.as_ref()).is_ok()
                {
                    self.screens.push(Screen::Logs);
                }
                Some(Vec::new())
            }
            _ => None,
        }
    }

    fn clear_prompt(&mut self) {
        if let Some(active) = self.runbooks.active.as_mut() {
            active.prompt = None;
        }
    }

    /// Enter on the runbooks list (or on an ended run): the rollback an abort offers, or
    /// the parameters of the selected runbook.
    fn offer_start(&mut self) -> Vec<Effect> {
        if let Some(refusal) = self.changes_refused() {
            self.report_error(format!("runbooks: refused: {}", refusal.why()));
            return Vec::new();
        }
        if let Some(active) = &self.runbooks.active {
            let rollback = active.rollback_offer().map(str::to_string);
            let params = active.start.params.clone();
            self.runbooks.active = None;
            let Some(name) = rollback else { return Vec::new() };
            // The rollback takes the parameters of the aborted run that it declares.
            let declared = self.runbooks.choices.iter().find(|c| c.name == name).map(|c| c.params.clone());
            let params = params.into_iter().filter(|(k, _)| declared.iter().flatten().any(|d| &d.name == k)).collect();
            return vec![Effect::StartRunbook { name, params, resume: false }];
        }
        let Some(choice) = self.runbooks.selected_choice() else { return Vec::new() };
        let line = Runbooks::param_line(choice, self.runbooks_for.as_ref());
        let mut input = text_input("name=value …");
        input.insert_str(&line);
        self.overlay = Some(Overlay::RunParams { name: choice.name.clone(), input, error: None });
        Vec::new()
    }

    /// Enter in one of the runbook popups.
    fn confirm_runbook_overlay(&mut self) -> Vec<Effect> {
        let typed = |input: &TextArea<'static>| input.lines().first().map(|l| l.trim().to_string()).unwrap_or_default();
        match self.overlay.take() {
            Some(Overlay::RunParams { name, input, .. }) => match parse_param_line(&typed(&input)) {
                Ok(params) => {
                    if !matches!(self.screen(), Screen::Runbook) {
                        self.screens.push(Screen::Runbook);
                    }
                    vec![Effect::StartRunbook { name, params, resume: false }]
                }
                Err(e) => {
                    self.overlay = Some(Overlay::RunParams { name, input, error: Some(e) });
                    Vec::new()
                }
            },
            Some(Overlay::RunConfirmName { name, input }) => {
                if typed(&input) == name {
                    self.clear_prompt();
                    vec![Effect::RunControl(Control::Answer(Answer::Yes))]
                } else {
                    self.say(format!("type {name} to confirm; the step still waits"), Timestamp::now());
                    Vec::new()
                }
            }
            Some(Overlay::SkipReason { input }) => {
                let reason = typed(&input);
                if reason.is_empty() {
                    self.overlay = Some(Overlay::SkipReason { input });
                    return Vec::new();
                }
                self.clear_prompt();
                vec![Effect::RunControl(Control::Answer(Answer::Skip(reason)))]
            }
            Some(Overlay::ResumeOffer(state)) => {
                if !matches!(self.screen(), Screen::Runbook) {
                    self.screens.push(Screen::Runbook);
                }
                vec![Effect::StartRunbook { name: state.source_name(), params: state.params.clone(), resume: true }]
            }
            other => {
                self.overlay = other;
                Vec::new()
            }
        }
    }

    /// What the event loop reports about a run. The current step's service gets a log pane,
    /// so the stepper can show its logs beside the gates.
    pub fn on_runner(&mut self, event: RunnerEvent) {
        if let RunnerEvent::Refused(why) = &event {
            self.report_error(why.clone());
        }
        self.runbooks.on_event(event);
        let key = self.runbooks.active.as_ref().and_then(|a| a.current_service(&self.view.services));
        if let Some(key) = key
            && !self.logs.panes.iter().any(|p| p.key == key)
        {
            let service = self.view.services.iter().find(|s| s.key == key).cloned();
            let _ = self.logs.open(key, &self.view.slo_rules, service.as_ref());
        }
    }

    /// The SLO gate of every service with rules: from its pane when one is open, else from
    /// its background watch (the overview's SLO column).
    pub fn slo_gates(&self, now: Timestamp) -> BTreeMap<ServiceKey, crate::model::slo::GateState> {
        let mut gates = self.slo_watches.gates(now);
        gates.extend(self.logs.gates(now));
        gates
    }

    /// Interrupted runs found at start: the first is offered at once, the rest are listed.
    pub fn offer_interrupted(&mut self, runs: Vec<RunState>) {
        if let Some(first) = runs.first() {
            self.overlay = Some(Overlay::ResumeOffer(Box::new(first.clone())));
        }
        self.runbooks.interrupted = runs;
    }

    /// Opens the budget screen and measures every database with a connection string
    /// (again, when it is already open: the key doubles as "measure now").
    fn open_budget(&mut self) -> Vec<Effect> {
        if !matches!(self.screen(), Screen::Budget { .. }) {
            self.screens.push(Screen::Budget { scroll: 0 });
        }
        let servers: Vec<(String, String)> =
            self.view.budgets.iter().filter_map(|b| Some((b.name.clone(), b.url_env.clone()?))).collect();
        if servers.is_empty() || self.measuring {
            return Vec::new();
        }
        self.measuring = true;
        vec![Effect::Execute(Job::Measure(servers))]
    }

    /// A job reported back. Results for a wizard that was closed are dropped (the audit
    /// log has them).
    pub fn on_job(&mut self, event: JobEvent) {
        if let JobEvent::Failed(why) = event {
            self.report_error(why);
            return;
        }
        if let JobEvent::Measured(readings) = event {
            self.measuring = false;
            self.readings.extend(readings);
            return;
        }
        if let JobEvent::Audit(entries) = event {
            match entries {
                Ok(entries) => self.audit = entries,
                Err(e) => self.report_error(e),
            }
            return;
        }
        let Some(Overlay::Action(w)) = &mut self.overlay else { return };
        w.stage = match event {
            JobEvent::DryRun { plan, result: Ok(()) } => ActionStage::Confirm { plan, dry_run: "ok".into() },
            JobEvent::DryRun { plan, result: Err(e) } => {
                let who = if matches!(plan, ActionPlan::HelmRollback(_)) { "helm" } else { "the API server" };
                ActionStage::Done { plan, message: format!("{who} refused it: {e}"), ok: false }
            }
            JobEvent::Applied { plan, result: Ok(()) } if !plan.rolls_pods() => {
                let message = format!("done: {}", plan.describe());
                ActionStage::Done { plan, message, ok: true }
            }
            JobEvent::Applied { plan, result: Ok(()) } => ActionStage::Following(plan),
            JobEvent::Applied { plan, result: Err(e) } => {
                ActionStage::Done { plan, message: format!("failed: {e}"), ok: false }
            }
            JobEvent::Followed { plan, result: Ok(true) } => {
                let message = plan.rolled_out_message();
                ActionStage::Done { plan, message, ok: true }
            }
            JobEvent::Followed { plan, result: Ok(false) } => ActionStage::Done {
                plan,
                message: "not rolled out in time; the change stays applied".into(),
                ok: false,
            },
            JobEvent::Followed { plan, result: Err(e) } => ActionStage::Done { plan, message: e, ok: false },
            JobEvent::Audit(_) | JobEvent::Measured(_) | JobEvent::Failed(_) => return,
        };
    }

    fn typed_text(&self) -> Option<String> {
        match &self.overlay {
            Some(Overlay::Picker { input, .. }) => {
                input.lines().first().map(|l| l.trim().to_string()).filter(|l| !l.is_empty())
            }
            _ => None,
        }
    }

    fn switch(&mut self, kind: PickerKind, choice: Option<String>) -> Vec<Effect> {
        let Some(choice) = choice else { return Vec::new() };
        let intent = match kind {
            PickerKind::Namespace if choice == ALL_NAMESPACES => Intent::SwitchNamespace(None),
            PickerKind::Namespace => Intent::SwitchNamespace(Some(choice)),
            PickerKind::Context => Intent::SwitchContext(choice),
        };
        self.awaiting = Some(self.view.generation + 1);
        self.screens.truncate(1);
        // Panes follow services of the old scope; their streams end with them.
        self.logs.close_all();
        self.overview.selected = 0;
        vec![Effect::Session(intent)]
    }

    fn open_picker(&mut self, kind: PickerKind) {
        let what = match kind {
            PickerKind::Namespace => "namespace",
            PickerKind::Context => "context",
        };
        self.overlay = Some(Overlay::Picker { kind, input: text_input(what), selected: 0 });
    }

    fn open_detail(&mut self) {
        if let (Screen::Overview, Some(service)) = (self.screen(), self.selected_service()) {
            let key = service.key.clone();
            self.chose_row = true;
            self.screens.push(Screen::Detail(DetailState { key, scroll: 0 }));
        }
    }

    fn move_by(&mut self, delta: isize, now: Timestamp) {
        if matches!(self.screen(), Screen::Detail(_)) {
            // The detail stops where its last line reaches the bottom, so scrolling back up
            // moves at once.
            let end = super::views::detail_max_scroll(self, self.area, now);
            if let Some(Screen::Detail(DetailState { scroll, .. })) = self.screens.last_mut() {
                *scroll = (*scroll).min(end).saturating_add_signed(delta).min(10_000).min(end);
            }
            return;
        }
        if let Some(Screen::Audit { scroll } | Screen::Budget { scroll }) = self.screens.last_mut() {
            *scroll = scroll.saturating_add_signed(delta).min(10_000);
            return;
        }
        self.overview.selected = self.overview.selected.saturating_add_signed(delta);
        self.chose_row = true;
        self.clamp_selection();
    }

    fn clamp_selection(&mut self) {
        self.overview.selected = self.overview.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Recomputes which services the overview shows and in which order.
    pub fn refresh_rows(&mut self) {
        let services = &self.view.services;
        let filter = self.overview.filter.trim().to_lowercase();
        let mut rows: Vec<usize> = (0..services.len())
            .filter(|&i| {
                filter.is_empty() || {
                    let s = &services[i];
                    format!("{}/{}", s.key.namespace, s.key.name).to_lowercase().contains(&filter)
                }
            })
            .collect();
        let sort = self.overview.sort;
        rows.sort_by(|&a, &b| {
            let (a, b) = (&services[a], &services[b]);
            let mut order = sort_key(sort, a).cmp(&sort_key(sort, b));
            if self.overview.reverse {
                order = order.reverse();
            }
            let problems =
                if self.overview.problems_first { b.severity().cmp(&a.severity()) } else { std::cmp::Ordering::Equal };
            problems.then(order).then_with(|| a.key.cmp(&b.key))
        });
        self.rows = rows;
    }

    /// Commands the palette offers for its query, best first.
    pub fn palette_choices(&self) -> Vec<(Command, fuzzy::Match)> {
        let query = match &self.overlay {
            Some(Overlay::Palette { input, .. }) => input.lines().first().cloned().unwrap_or_default(),
            _ => String::new(),
        };
        let candidates: Vec<Command> = COMMANDS
            .iter()
            .map(|c| c.command)
            .filter(|c| !matches!(c, Command::NoOp | Command::Confirm | Command::Cancel))
            .collect();
        fuzzy::rank(&query, &candidates, |c| c.name().to_string()).into_iter().map(|(c, m)| (*c, m)).collect()
    }

    pub fn palette_selected(&self) -> usize {
        match &self.overlay {
            Some(Overlay::Palette { selected, .. }) => (*selected).min(self.palette_choices().len().saturating_sub(1)),
            _ => 0,
        }
    }

    /// Namespaces or contexts the picker offers for its query, best first.
    pub fn picker_choices(&self) -> Vec<(String, fuzzy::Match)> {
        let Some(Overlay::Picker { kind, input, .. }) = &self.overlay else { return Vec::new() };
        let query = input.lines().first().cloned().unwrap_or_default();
        let candidates: Vec<String> = match kind {
            PickerKind::Namespace => {
                std::iter::once(ALL_NAMESPACES.to_string()).chain(self.view.namespaces.iter().cloned()).collect()
            }
            PickerKind::Context => self.view.contexts.clone(),
        };
        fuzzy::rank(&query, &candidates, String::clone).into_iter().map(|(c, m)| (c.clone(), m)).collect()
    }

    pub fn picker_selected(&self) -> usize {
        match &self.overlay {
            Some(Overlay::Picker { selected, .. }) => (*selected).min(self.picker_choices().len().saturating_sub(1)),
            _ => 0,
        }
    }

    /// The log streams wanted now: the open panes, and the background SLO watches of the
    /// services with rules (matched to the current view first).
    pub fn wanted_logs(&mut self) -> Vec<Follow> {
        let view = self.view.clone();
        self.slo_watches.sync(&view.services, &view.slo_rules, &self.logs);
        self.logs.follows().chain(self.slo_watches.follows()).collect()
    }

    /// The terminal was resized (or its size first learned).
    pub fn resize(&mut self, area: Rect) {
        self.area = area;
    }

    /// How far PageUp/PageDown move on the current screen.
    fn page(&self) -> usize {
        super::views::page(self, self.area)
    }

    pub fn draw(&self, frame: &mut Frame, now: Timestamp) {
        super::views::draw(self, frame, now);
    }
}

/// One row of a revision chooser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionRow {
    pub revision: i64,
    /// The revision running now (Helm: deployed).
    pub current: bool,
    /// Images (rollout) or the release status (Helm).
    pub what: String,
    /// The change-cause (rollout) or chart and app version where known (Helm).
    pub note: String,
    pub at: Option<Timestamp>,
}

/// The revision before the current one: where an undo goes by default.
fn previous_revision(service: &Service) -> Option<i64> {
    let current = service.revisions.iter().find(|r| r.current).map(|r| r.revision)?;
    service.revisions.iter().map(|r| r.revision).filter(|r| *r < current).max()
}

/// The revisions a chooser offers, newest first (the model keeps them in that order).
fn revision_rows(service: &Service, source: RevisionSource) -> Vec<RevisionRow> {
    match source {
        RevisionSource::Rollout => service
            .revisions
            .iter()
            .map(|r| RevisionRow {
                revision: r.revision,
                current: r.current,
                what: r.images().join(", "),
                note: r.change_cause.clone().unwrap_or_default(),
                at: r.created,
            })
            .collect(),
        RevisionSource::Helm => {
            let Some(release) = &service.helm else { return Vec::new() };
            // The chart and app version are known only for the deployed revision (from the
            // workload's labels); the others' live in the release bodies, which are not read.
            let running = [release.chart.as_deref(), release.app_version.as_deref()].into_iter().flatten();
            let running = running.collect::<Vec<_>>().join(" / ");
            release
                .history
                .iter()
                .flatten()
                .map(|r| RevisionRow {
                    revision: r.revision,
                    current: r.status == "deployed",
                    what: r.status.clone(),
                    note: if r.status == "deployed" { running.clone() } else { String::new() },
                    at: r.modified.or(r.created),
                })
                .collect()
        }
    }
}

/// The value a column sorts by; text sorts alphabetically, numbers numerically.
fn sort_key(column: SortColumn, s: &Service) -> (i64, String) {
    let r = &s.replicas;
    let number = |n: i64| (n, String::new());
    match column {
        SortColumn::Service => (0, s.key.name.clone()),
        SortColumn::Namespace => (0, format!("{}/{}", s.key.namespace, s.key.name)),
        SortColumn::Kind => (0, s.key.kind.short().to_string()),
        // Relative to desired, so the services missing the most pods come first.
        SortColumn::Ready => number(i64::from(r.ready) - i64::from(r.desired)),
        SortColumn::UpToDate => number(i64::from(r.updated) - i64::from(r.desired)),
        SortColumn::Available => number(i64::from(r.available) - i64::from(r.desired)),
        SortColumn::Hpa => number(s.hpa.as_ref().map_or(-1, |h| i64::from(h.max))),
        SortColumn::Rollout => number(s.rollout.state as i64),
        SortColumn::Probes => number(s.probes.len() as i64),
        SortColumn::Pdb => number(s.pdb.as_ref().map_or(i64::MAX, |p| i64::from(p.disruptions_allowed))),
        // The fullest database first (tenths of a percent; no database last).
        SortColumn::Budget => number(s.budget.as_ref().map_or(1, |b| -(b.percent * 10.0) as i64)),
        // The most failed checks first.
        SortColumn::Checks => number(-(s.lint_findings().len() as i64)),
        SortColumn::Age => number(-s.created.map_or(0, |t| t.as_second())),
    }
}

/// `2..6` or `2 6`: an autoscaler's minimum and maximum.
fn parse_bounds(text: &str) -> Result<(i32, i32), String> {
    let parts: Vec<&str> = text.split(|c: char| c == '.' || c.is_whitespace()).filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [min, max] => match (min.parse(), max.parse()) {
            (Ok(min), Ok(max)) => Ok((min, max)),
            _ => Err(format!("\"{text}\": expected min..max, e.g. 2..6")),
        },
        _ => Err(format!("\"{text}\": expected min..max, e.g. 2..6")),
    }
}

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text).trim().to_string()
}

fn text_input(placeholder: &str) -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_placeholder_text(placeholder);
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

/// Popups the snapshot tests open directly (reaching them needs a run the engine drives).
#[cfg(test)]
pub mod tests_support {
    use super::*;

    pub fn confirm_name(app: &mut App, name: &str) {
        app.overlay = Some(Overlay::RunConfirmName { name: name.into(), input: text_input(name) });
    }

    /// A cluster view of `services` as the session would send it.
    pub fn view(generation: u64, services: Vec<Service>) -> Arc<ClusterView> {
        Arc::new(ClusterView {
            generation,
            context: "ctx".into(),
            server_url: "http://127.0.0.1:1".into(),
            namespace: None,
            services: Arc::new(services),
            health: BTreeMap::new(),
            namespaces: vec!["a".into(), "b".into()],
            contexts: vec!["ctx".into(), "other".into()],
            built_at: Timestamp::now(),
            error: None,
            syncing: false,
            denied: vec![],
            budgets: Arc::new(vec![]),
            namespace_findings: Arc::new(vec![]),
            slo_rules: Arc::new(vec![]),
            profile: Default::default(),
        })
    }

    pub fn skip_reason(app: &mut App) {
        app.overlay = Some(Overlay::SkipReason { input: text_input("why is it skipped?") });
    }
}

#[cfg(test)]
mod tests {

    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;
    use crate::config::theme::TerminalColors;
    use crate::model::service::*;

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
        app.rows.iter().map(|&i| app.view.services[i].key.name.as_str()).collect()
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), Timestamp::now())
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
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
        assert_eq!(app.palette_choices()[0].0, Command::Quit, "q types into the palette, it does not quit");
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

    #[test]
    fn a_production_context_wants_the_name_for_every_change() {
        let mut app = app(vec![service("a", "api", None)], false);
        let mut production = (*view(1, vec![service("a", "api", None)])).clone();
        production.profile.production = true;
        app.set_view(Arc::new(production));
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Backspace);
        typed(&mut app, "4");
        let plan = app.wizard_plan().unwrap();
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
        let plan = app.wizard_plan().unwrap();
        assert!(plan.overrides_a_guard(), "a refusal becomes an override that needs the name");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::DryRun(ActionPlan::Scale(p)))] if p.to == 2),
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
        assert!(matches!(&app.overlay, Some(Overlay::RunParams { name, .. }) if name == "steps"));
        typed(&mut app, " extra");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&app.overlay, Some(Overlay::RunParams { error: Some(e), .. }) if e.contains("expected NAME=VALUE"))
        );
        assert!(effects.is_empty(), "a malformed parameter starts nothing");
        for _ in 0.." extra".len() {
            key(&mut app, KeyCode::Backspace);
        }
        let effects = key(&mut app, KeyCode::Enter);
        let params = vec![("service".to_string(), "shop/api".to_string()), ("step".to_string(), "1".to_string())];
        assert_eq!(effects, [Effect::StartRunbook { name: "steps".into(), params: params.clone(), resume: false }]);

        let start = RunStart {
            runbook: "steps".into(),
            namespace: "shop".into(),
            services: vec![Some("api".into())],
            rollbacks: vec![Some("steps-rollback".into())],
            params,
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
            [Effect::StartRunbook { name: "steps-rollback".into(), params: only_declared, resume: false }]
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
        assert_eq!(app.chooser_rows().iter().map(|r| r.revision).collect::<Vec<_>>(), [3, 2, 1]);
        assert_eq!(app.chooser_rows()[app.chooser_selected()].revision, 2, "the previous revision first");
        let Some(ActionPlan::Rollout(plan)) = app.chooser_plan() else { panic!("an undo plan") };
        assert!(plan.preview.iter().any(|l| l.text == "api: api:1.2 → api:1.1"), "{:?}", plan.preview);
        key(&mut app, KeyCode::Down);
        let copied = ctrl(&mut app, 'y');
        assert_eq!(copied, vec![Effect::Copy("kubectl rollout undo deployment/api -n a --to-revision=1".into())]);
        assert!(key(&mut app, KeyCode::Enter).is_empty(), "the wizard opens; the dry-run waits for Enter");
        let effects = key(&mut app, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Execute(Job::DryRun(ActionPlan::Rollout(p)))]
                if p.change == Some(crate::actions::rollout::RolloutChange::Undo { from: 3, to: 1 })),
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
        assert_eq!(app.chooser_rows()[app.chooser_selected()].revision, 1);
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
        let [Effect::Execute(Job::DryRun(ActionPlan::HelmRollback(plan)))] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(plan.args_for(true), ["rollback", "docs", "1", "-n", "docs", "--kube-context", "ctx", "--dry-run"]);
        let mut not_helm = self::app(vec![service("a", "api", None)], false);
        key(&mut not_helm, KeyCode::Char('r'));
        key(&mut not_helm, KeyCode::Char('h'));
        assert!(not_helm.overlay.is_none());
        assert!(not_helm.notice.unwrap().text.contains("not part of a Helm release"));
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
        let Ok(ActionPlan::Change(plan)) = app.wizard_plan() else { panic!("a set-image plan") };
        assert_eq!(
            plan.change,
            Change::SetImage {
                container: "web".into(),
                image: "acme/web:latest".into(),
                from: "acme/web:1.2.3".into()
            }
        );
        assert_eq!(plan.guards.iter().map(|g| g.id).collect::<Vec<_>>(), ["image-sliding-tag"]);
        let effects = key(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::Execute(Job::DryRun(ActionPlan::Change(_)))]), "{effects:?}");

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
        let Ok(ActionPlan::Change(plan)) = app.wizard_plan() else { panic!("a bounds plan") };
        assert!(matches!(plan.change, Change::HpaBounds { from: (2, 5), to: (3, 8), .. }));
        assert_eq!(plan.resource_version.as_deref(), Some("9"), "the autoscaler's own precondition");
        for _ in 0.."3..8".len() {
            key(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "three");
        assert!(app.wizard_plan().unwrap_err().contains("expected min..max"));
        let mut plain = self::app(vec![service("shop", "web", None)], false);
        key(&mut plain, KeyCode::Char('H'));
        assert!(plain.overlay.is_none(), "no autoscaler, no wizard");
        assert!(plain.notice.unwrap().text.contains("no autoscaler targets web"));
    }
}
