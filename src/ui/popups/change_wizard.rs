//! The change wizard: a change typed (replicas, an image, autoscaler bounds) with its
//! preview live, or a plan fixed when it opened (a rollout action, a chosen revision); then
//! the dry-run, the confirmation (the typed name where a guard is overridden or the
//! context is production), the change and its rollout. Each step is a value the event
//! loop's jobs answer.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui_textarea::TextArea;

use super::frame::{centered, draw_box, plan_lines, through_helm, wide_popup};
use crate::actions::ActionPlan;
use crate::actions::allowed::{Write, change_denied};
use crate::actions::change::{Change, plan_gitops_suspend, plan_hpa_bounds, plan_set_image};
use crate::actions::git_edit::{GitEdit, field_of, plan_git_edit};
use crate::actions::guard::Verdict;
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::actions::scale::plan_scale;
use crate::config::commands::{Command, Mode};
use crate::effects::{Effect, Job, JobEvent};
use crate::model::budget::budget_of;
use crate::model::sanitize::clean;
use crate::model::service::{Service, ServiceKey};
use crate::ui::context::{Context, Handled, Request, text_input};

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
    /// "Change it in git": the checkout's manifests are being read.
    ReadingGit(ActionPlan),
    /// The diff (or the patch to copy); Enter writes the files.
    InGit {
        plan: ActionPlan,
        edit: Box<GitEdit>,
    },
    WritingGit(ActionPlan),
}

/// A change being prepared: a scale (replicas typed, preview live) or a plan fixed when
/// the wizard opened (a rollout action, a Helm rollback).
pub struct ChangeWizard {
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
    /// Suspend, change, remember: the change to make once the owner's suspend is applied.
    pub then: Option<ActionPlan>,
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

impl ChangeWizard {
    /// A change whose plan is fixed when it opens (a rollout action, a chosen revision).
    pub fn fixed(key: ServiceKey, plan: ActionPlan) -> ChangeWizard {
        ChangeWizard::new(key, Typed::Replicas, text_input(""), Some(plan))
    }

    /// `s`: the replicas, typed over the current count.
    pub fn scale(service: &Service) -> ChangeWizard {
        let mut input = text_input("replicas");
        input.insert_str(service.replicas.desired.to_string());
        ChangeWizard::new(service.key.clone(), Typed::Replicas, input, None)
    }

    /// `i`: the image, typed over the current one (`container=image` with several).
    pub fn image(service: &Service) -> ChangeWizard {
        let mut input = text_input("container=image");
        let current = match service.containers.as_slice() {
            [one] => one.image.clone(),
            [first, ..] => format!("{}={}", first.container, first.image),
            [] => String::new(),
        };
        input.insert_str(current);
        ChangeWizard::new(service.key.clone(), Typed::Image, input, None)
    }

    /// `H`: the autoscaler's bounds (what the scale guard offers instead of a scale); what
    /// to say instead when no autoscaler targets the service.
    pub fn bounds(service: &Service) -> Result<ChangeWizard, String> {
        let Some(hpa) = &service.hpa else {
            return Err(format!("no autoscaler targets {}: scale it instead (s)", service.key.name));
        };
        let mut input = text_input("min..max");
        input.insert_str(format!("{}..{}", hpa.min, hpa.max));
        Ok(ChangeWizard::new(service.key.clone(), Typed::Bounds, input, None))
    }

    /// A rollout action (restart, pause, resume, an undo with nothing to choose from).
    pub fn rollout(service: &Service, request: RolloutRequest) -> ChangeWizard {
        ChangeWizard::fixed(service.key.clone(), plan_rollout(service, request))
    }

    /// `R`: resume the service's suspended GitOps owner; what to say instead when there
    /// is nothing to resume. An owner that cannot be read opens the wizard, whose guard
    /// refuses (the cockpit cannot know whether it is suspended).
    pub fn resume_gitops(service: &Service) -> Result<ChangeWizard, String> {
        let Some(g) = &service.gitops else {
            return Err(format!("no Flux or Argo CD object applies {}: nothing to resume", service.key.name));
        };
        if g.state.as_ref().is_some_and(|o| !o.suspended) {
            return Err(format!("{} is not suspended: nothing to resume", g.describe()));
        }
        Ok(ChangeWizard::fixed(service.key.clone(), plan_gitops_suspend(service, false)))
    }

    fn new(key: ServiceKey, typed: Typed, input: TextArea<'static>, fixed: Option<ActionPlan>) -> ChangeWizard {
        let confirm = text_input(&key.name);
        ChangeWizard { key, typed, input, fixed, confirm, stage: ActionStage::Editing, error: None, then: None }
    }

    /// Where typing goes: the value while editing, the name while confirming.
    pub fn input_mut(&mut self) -> Option<&mut TextArea<'static>> {
        match self.stage {
            ActionStage::Editing if self.fixed.is_none() => Some(&mut self.input),
            ActionStage::Confirm { .. } => Some(&mut self.confirm),
            _ => None,
        }
    }

    pub fn on_command(
        &mut self,
        command: Command,
        ctx: &mut Context,
        out: &mut Vec<Request>,
        now: Timestamp,
    ) -> Handled {
        match command {
            Command::Confirm => self.advance(ctx, out),
            Command::ChangeInGit => self.change_in_git(ctx, out),
            Command::SuspendThenChange => self.suspend_then_change(ctx, out),
            Command::Cancel | Command::Back => {
                out.push(Request::Close);
                match &self.stage {
                    ActionStage::InGit { edit, .. } if edit.why_not().is_none() && edit.changed().next().is_some() => {
                        ctx.say("not confirmed; nothing was written", now);
                        let record = Job::RecordGitEdit { edit: edit.clone(), outcome: "declined".into() };
                        out.push(Request::Effect(Effect::Execute(record)));
                    }
                    ActionStage::Confirm { plan, dry_run } => {
                        ctx.say("not confirmed; nothing was changed", now);
                        let record = Job::Record {
                            plan: plan.clone(),
                            dry_run: Some(dry_run.clone()),
                            outcome: "declined".into(),
                        };
                        out.push(Request::Effect(Effect::Execute(record)));
                    }
                    // The change is made; closing only stops watching it here.
                    ActionStage::Applying(_) | ActionStage::Following(_) => {
                        ctx.say("the change continues; its progress shows in the overview", now);
                    }
                    _ => {}
                }
            }
            // Anything else typed in the wizard is not a command there.
            _ => {}
        }
        Handled::Yes
    }

    /// The change typed now, when it can go another way on a GitOps-owned service: what
    /// to say instead when it cannot.
    fn gitops_change(&self, ctx: &Context) -> Result<ActionPlan, String> {
        if self.stage != ActionStage::Editing || self.fixed.is_some() {
            return Err("only while the change is typed".into());
        }
        let service = ctx.service(&self.key).ok_or_else(|| format!("{} is gone from the cluster", self.key.name))?;
        if service.gitops.is_none() {
            return Err(format!("no Flux or Argo CD object applies {}", self.key.name));
        }
        let plan = self.plan(ctx)?;
        if field_of(&plan).is_none() {
            return Err("only a scale or an image can be changed in git from here".into());
        }
        Ok(plan)
    }

    /// Change it in git: the checkout's manifests are read for the diff; without a
    /// checkout, the patch to copy is shown at once.
    fn change_in_git(&mut self, ctx: &Context, out: &mut Vec<Request>) {
        let plan = match self.gitops_change(ctx) {
            Ok(plan) => plan,
            Err(e) => return self.error = Some(e),
        };
        self.error = None;
        match &ctx.gitops_repo {
            Some(repo) => {
                self.stage = ActionStage::ReadingGit(plan);
                out.push(Request::Effect(Effect::Execute(Job::ReadCheckout(repo.clone()))));
            }
            None => {
                let (Some(service), Some(field)) = (ctx.service(&self.key), field_of(&plan)) else { return };
                let edit = Box::new(plan_git_edit(service, field, None, &[]));
                self.stage = ActionStage::InGit { plan, edit };
            }
        }
    }

    /// Suspend, change, remember: the owner's suspend goes first (its own dry-run,
    /// confirmation and audit), then the change typed; the status line reminds meanwhile.
    fn suspend_then_change(&mut self, ctx: &Context, out: &mut Vec<Request>) {
        let plan = match self.gitops_change(ctx) {
            Ok(plan) => plan,
            Err(e) => return self.error = Some(e),
        };
        let Some(service) = ctx.service(&self.key) else { return };
        if let Some(denied) = self.denied(ctx) {
            return self.error = Some(denied);
        }
        if let Some(guard) = plan.stopped_by() {
            return self.error = Some(guard.message.clone());
        }
        let suspend = plan_gitops_suspend(service, true);
        if let Some(guard) = suspend.stopped_by() {
            self.error = Some(guard.message.clone());
            let outcome = format!("refused: {}", guard.id);
            out.push(Request::Effect(Effect::Execute(Job::Record { plan: suspend, dry_run: None, outcome })));
            return;
        }
        if suspend.already_applied(service) == Some(true) {
            return self.error = Some("the owner is suspended already: Enter makes the change".into());
        }
        self.error = None;
        self.then = Some(plan);
        self.stage = ActionStage::Checking(suspend.clone());
        out.push(Request::Effect(Effect::Execute(Job::DryRun(suspend))));
    }

    /// What Ctrl-y copies: the patch to put in git while it is shown, else the kubectl command.
    pub fn copied(&self, ctx: &Context) -> Option<String> {
        if let ActionStage::InGit { edit, .. } = &self.stage {
            return Some(edit.patch());
        }
        self.plan(ctx).ok().map(|p| p.kubectl().to_string())
    }

    /// What RBAC forbids about the open wizard's change, as the access reviews (which may
    /// land after the wizard opened) say.
    pub fn denied(&self, ctx: &Context) -> Option<String> {
        let w = self;
        // helm checks its own permissions (and its dry-run shows the answer).
        if w.fixed.as_ref().is_some_and(through_helm) {
            return None;
        }
        // The GitOps owner is its own object too.
        if w.fixed.as_ref().is_some_and(|p| matches!(p.change(), Some(Change::GitOpsSuspend { .. }))) {
            return None;
        }
        // The autoscaler is its own object: its server dry-run answers for RBAC.
        if w.fixed.is_none() && w.typed == Typed::Bounds {
            return None;
        }
        let write = if w.fixed.is_none() && w.typed == Typed::Replicas { Write::Scale } else { Write::Patch };
        let view = &ctx.view;
        change_denied(&view.denied, view.namespace.as_deref(), w.key.kind, write)
            .map(|d| format!("RBAC: you may not {d}"))
    }

    /// The plan for what is typed now, from the current model (so the preview is live).
    pub fn plan(&self, ctx: &Context) -> Result<ActionPlan, String> {
        let w = self;
        if let Some(plan) = &w.fixed {
            return Ok(plan.clone());
        }
        let service = ctx.service(&w.key).ok_or_else(|| format!("{} is gone from the cluster", w.key.name))?;
        let typed = w.input.lines().first().map(|l| l.trim().to_string()).unwrap_or_default();
        let budget = budget_of(&ctx.view.budgets, &service.key);
        match w.typed {
            Typed::Replicas => {}
            Typed::Image => {
                let (container, image) = match typed.split_once('=') {
                    Some((c, i)) => (Some(c.trim()), i.trim()),
                    None => (None, typed.as_str()),
                };
                return Ok(plan_set_image(service, container, image));
            }
            Typed::Bounds => {
                let (min, max) = parse_bounds(&typed)?;
                return Ok(plan_hpa_bounds(service, min, max, budget));
            }
        }
        let to: i32 = typed.parse().map_err(|_| format!("\"{typed}\" is not a number of replicas"))?;
        let room = ctx.view.room(service);
        let plan = plan_scale(service, to, false, budget, &room);
        // A refusal can be overridden in the cockpit by typing the service name.
        let overridable = plan.stopped_by().is_some_and(|g| g.verdict == Verdict::Refuse);
        Ok(if overridable { plan_scale(service, to, true, budget, &room) } else { plan })
    }

    /// Enter in the wizard: dry-run, then apply.
    fn advance(&mut self, ctx: &Context, out: &mut Vec<Request>) {
        let plan = self.plan(ctx);
        let denied = self.denied(ctx);
        let w = self;
        match &w.stage {
            ActionStage::Editing if denied.is_some() => w.error = denied,
            ActionStage::Editing => match plan {
                Err(e) => w.error = Some(e),
                Ok(plan) => match plan.stopped_by() {
                    Some(guard) => {
                        w.error = Some(guard.message.clone());
                        let outcome = format!("refused: {}", guard.id);
                        out.push(Request::Effect(Effect::Execute(Job::Record { plan, dry_run: None, outcome })));
                    }
                    None => {
                        w.error = None;
                        w.stage = ActionStage::Checking(plan.clone());
                        out.push(Request::Effect(Effect::Execute(Job::DryRun(plan))));
                    }
                },
            },
            ActionStage::Confirm { plan, dry_run } => {
                let typed = w.confirm.lines().first().map(|l| l.trim().to_string()).unwrap_or_default();
                let wanted = Context::typed_name(plan.service());
                if plan.needs_typed_name(ctx.production_of(plan.service())) && typed != wanted {
                    let why = if plan.overrides_a_guard() { "override the guard" } else { "change production" };
                    w.error = Some(format!("type {wanted} to {why}"));
                    return;
                }
                let job = Job::Apply { plan: plan.clone(), dry_run: dry_run.clone() };
                w.stage = ActionStage::Applying(plan.clone());
                out.push(Request::Effect(Effect::Execute(job)));
            }
            ActionStage::Done { .. } => out.push(Request::Close),
            ActionStage::InGit { plan, edit } => match edit.why_not() {
                None if edit.changed().next().is_some() => {
                    let job = Job::WriteCheckout(edit.clone());
                    w.stage = ActionStage::WritingGit(plan.clone());
                    out.push(Request::Effect(Effect::Execute(job)));
                }
                _ => out.push(Request::Close),
            },
            ActionStage::Checking(_)
            | ActionStage::Applying(_)
            | ActionStage::Following(_)
            | ActionStage::ReadingGit(_)
            | ActionStage::WritingGit(_) => {}
        }
    }

    /// A job about this change reported back; the next job, when the change goes on
    /// (the change after the owner's suspend).
    pub fn on_job(&mut self, event: JobEvent, ctx: &Context) -> Option<Effect> {
        self.stage = match event {
            JobEvent::Applied { plan, result: Ok(()) } if self.then.is_some() && is_suspend(&plan) => {
                let next = self.then.take()?;
                self.stage = ActionStage::Checking(next.clone());
                return Some(Effect::Execute(Job::DryRun(next)));
            }
            JobEvent::Checkout(read) => {
                let ActionStage::ReadingGit(plan) = &self.stage else { return None };
                let plan = plan.clone();
                let field = field_of(&plan)?;
                match (read, ctx.service(&self.key)) {
                    (Ok(files), Some(service)) => {
                        let edit = Box::new(plan_git_edit(service, field, ctx.gitops_repo.as_deref(), &files));
                        // No file of the checkout sets it: the patch is shown, and the attempt audited.
                        let refused = edit.why_not().map(|why| {
                            Effect::Execute(Job::RecordGitEdit {
                                edit: edit.clone(),
                                outcome: format!("refused: {why}"),
                            })
                        });
                        self.stage = ActionStage::InGit { plan, edit };
                        return refused;
                    }
                    (Err(e), _) => ActionStage::Done { plan, message: e, ok: false },
                    (_, None) => ActionStage::Done { plan, message: format!("{} is gone", self.key.name), ok: false },
                }
            }
            JobEvent::WrittenInGit(result) => {
                let ActionStage::WritingGit(plan) = &self.stage else { return None };
                let plan = plan.clone();
                match result {
                    Ok(n) => ActionStage::Done {
                        plan,
                        message: format!(
                            "written to {n} file(s); nothing was committed or pushed: review, commit and push"
                        ),
                        ok: true,
                    },
                    Err(e) => ActionStage::Done { plan, message: format!("failed: {e}"), ok: false },
                }
            }
            JobEvent::DryRun { plan, result: Ok(()) } => ActionStage::Confirm { plan, dry_run: "ok".into() },
            JobEvent::DryRun { plan, result: Err(e) } => {
                self.then = None;
                let who = if through_helm(&plan) { "helm" } else { "the API server" };
                ActionStage::Done { plan, message: format!("{who} refused it: {e}"), ok: false }
            }
            JobEvent::Applied { plan, result: Ok(()) } if !plan.rolls_pods() => {
                let message = format!("done: {}", plan.describe());
                ActionStage::Done { plan, message, ok: true }
            }
            JobEvent::Applied { plan, result: Ok(()) } => ActionStage::Following(plan),
            JobEvent::Applied { plan, result: Err(e) } => {
                self.then = None;
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
            _ => return None,
        };
        None
    }

    /// The change wizard: replicas input, the live impact preview and guards, the kubectl
    /// equivalent, and where the change is (dry-run, confirmation, progress, result).
    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let w = self;
        let theme = &ctx.theme;
        let rect = centered(area, wide_popup(area), 20);
        let what = w.fixed.as_ref().and_then(ActionPlan::title).unwrap_or_else(|| w.typed.title());
        let title = match &w.key.cluster {
            Some(cluster) => {
                format!(" {what} {}/{} in {} ", clean(&w.key.namespace), clean(&w.key.name), clean(cluster))
            }
            None => format!(" {what} {}/{} ", clean(&w.key.namespace), clean(&w.key.name)),
        };
        let inner = draw_box(theme, title, frame, rect);
        let [input_area, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
        if w.fixed.is_none() {
            let [label, field] = Layout::horizontal([Constraint::Length(11), Constraint::Min(1)]).areas(input_area);
            frame.render_widget(Span::styled(w.typed.label(), theme.style("ui.hint.key")), label);
            frame.render_widget(&w.input, field);
        }

        let plan = match &w.stage {
            ActionStage::Editing => w.plan(ctx),
            ActionStage::Checking(p)
            | ActionStage::Applying(p)
            | ActionStage::Following(p)
            | ActionStage::ReadingGit(p)
            | ActionStage::WritingGit(p) => Ok(p.clone()),
            ActionStage::Confirm { plan, .. } | ActionStage::Done { plan, .. } | ActionStage::InGit { plan, .. } => {
                Ok(plan.clone())
            }
        };
        let mut lines: Vec<Line> = Vec::new();
        match (&plan, &w.stage) {
            (_, ActionStage::InGit { edit, .. }) => git_lines(ctx, edit, &mut lines),
            (Err(e), _) => lines.push(Line::from(Span::styled(clean(e), theme.style("ui.error")))),
            (Ok(plan), _) => plan_lines(theme, plan, &mut lines),
        }
        if let Some(next) = &w.then {
            let then = format!("then:             {} (the owner stays suspended{})", next.describe(), resume_hint(ctx));
            lines.push(Line::from(Span::styled(clean(&then), theme.style("state.info"))));
        }
        lines.push(Line::default());
        if w.stage == ActionStage::Editing && gitops_owned(ctx, w) {
            offers(ctx, &mut lines);
        }
        lines.push(stage_line(ctx, w));
        if let Some(error) = w.error.clone().or_else(|| w.denied(ctx)) {
            lines.push(Line::from(Span::styled(clean(&error), theme.style("ui.error"))));
        }
        let production = ctx.production_of(&w.key);
        let confirming = matches!(&w.stage, ActionStage::Confirm { plan, .. } if plan.needs_typed_name(production));
        let (text_area, confirm_area) = if confirming {
            let [t, c] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(body);
            (t, Some(c))
        } else {
            (body, None)
        };
        frame.render_widget(Paragraph::new(lines), text_area);
        if let Some(area) = confirm_area {
            let [label, field] = Layout::horizontal([Constraint::Length(22), Constraint::Min(1)]).areas(area);
            frame.render_widget(Span::styled("type the name to go:", theme.style("state.warn")), label);
            frame.render_widget(&w.confirm, field);
        }
    }
}

fn stage_line<'a>(ctx: &Context, w: &ChangeWizard) -> Line<'a> {
    let theme = &ctx.theme;
    let (text, key) = match &w.stage {
        ActionStage::Editing if w.fixed.as_ref().is_some_and(through_helm) => {
            ("Enter: helm rollback --dry-run · Ctrl-y: copy the command · Esc: cancel".to_string(), "ui.hint")
        }
        ActionStage::Editing if gitops_owned(ctx, w) => {
            ("Enter: dry-run as it is (the owner reverts it) · Esc: cancel".to_string(), "ui.hint")
        }
        ActionStage::Editing => ("Enter: ask the API server (dry-run) · Esc: cancel".to_string(), "ui.hint"),
        ActionStage::ReadingGit(_) => ("reading the checkout…".to_string(), "state.info"),
        ActionStage::WritingGit(_) => ("writing…".to_string(), "state.info"),
        ActionStage::InGit { edit, .. } => match edit.why_not() {
            None if edit.changed().next().is_some() => {
                ("Enter: write the file(s) (nothing is committed or pushed) · Esc: cancel".to_string(), "state.ok")
            }
            None => ("git already says so · Enter: close".to_string(), "state.ok"),
            Some(_) => ("Ctrl-y: copy the patch · Enter: close".to_string(), "ui.hint"),
        },
        ActionStage::Checking(_) => ("server dry-run…".to_string(), "state.info"),
        ActionStage::Confirm { plan, dry_run } => {
            let who = if through_helm(plan) { "helm --dry-run" } else { "server dry-run" };
            (format!("{who}: {dry_run} · Enter: {} · Esc: cancel", plan.describe()), "state.ok")
        }
        ActionStage::Applying(_) => ("applying…".to_string(), "state.info"),
        ActionStage::Following(plan) => {
            let now = ctx.view.services.iter().find(|s| &s.key == plan.service()).map(|s| s.replicas);
            let progress =
                now.map_or(String::new(), |r| format!(": {}/{} ready, {} up to date", r.ready, r.desired, r.updated));
            (format!("applied; following the rollout{progress} · Esc: close (the change continues)"), "state.info")
        }
        ActionStage::Done { message, ok, .. } => {
            (format!("{message} · Enter: close"), if *ok { "state.ok" } else { "state.error" })
        }
    };
    Line::from(Span::styled(clean(&text), theme.style(key)))
}

/// Whether the change typed is on a service a GitOps owner applies (the two other paths
/// are offered).
fn gitops_owned(ctx: &Context, w: &ChangeWizard) -> bool {
    w.fixed.is_none() && w.typed != Typed::Bounds && ctx.service(&w.key).is_some_and(|s| s.gitops.is_some())
}

/// The two other paths of a change on a GitOps-owned service, with their keys.
fn offers(ctx: &Context, lines: &mut Vec<Line<'static>>) {
    let theme = &ctx.theme;
    let key = |command: Command| {
        ctx.keymap.keys_for(Mode::Input, command).first().cloned().unwrap_or_else(|| format!(":{}", command.name()))
    };
    let git = match &ctx.gitops_repo {
        Some(repo) => format!("edit the manifest in {}, diff shown, nothing committed", repo.display()),
        None => "the patch to commit (no --gitops-repo checkout)".to_string(),
    };
    let resume = resume_hint(ctx);
    for (label, command, what) in [
        ("instead", Command::ChangeInGit, format!("change it in git: {git}")),
        ("", Command::SuspendThenChange, format!("suspend the owner, then change (a reminder until resumed{resume})")),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("{label:<18}"), theme.style("ui.text.dim")),
            Span::styled(format!("{}: ", key(command)), theme.style("ui.hint.key")),
            Span::styled(clean(&what), theme.style("ui.text")),
        ]));
    }
}

/// `; R resumes it`, with the key the keymap gives (nothing when it gives none).
fn resume_hint(ctx: &Context) -> String {
    let key = ctx.keymap.keys_for(Mode::Overview, Command::ResumeGitOps).first().cloned();
    key.map_or_else(String::new, |k| format!("; {k} resumes it"))
}

fn is_suspend(plan: &ActionPlan) -> bool {
    matches!(plan.change(), Some(Change::GitOpsSuspend { suspend: true, .. }))
}

/// The change in git: what is edited, and the diff; or why nothing can be written and
/// the patch to copy.
fn git_lines(ctx: &Context, edit: &GitEdit, lines: &mut Vec<Line<'static>>) {
    let theme = &ctx.theme;
    lines.push(Line::from(Span::styled(edit.describe(), theme.style("ui.text"))));
    if let Some(why) = edit.why_not() {
        lines.push(Line::from(Span::styled(why, theme.style("state.warn"))));
        for line in edit.patch().lines() {
            lines.push(Line::from(Span::styled(format!("  {}", clean(line)), theme.style("ui.text"))));
        }
        return;
    }
    for line in edit.diff() {
        let key = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => "state.ok",
            Some('-') if !line.starts_with("---") => "state.error",
            _ => "ui.text.dim",
        };
        lines.push(Line::from(Span::styled(line, theme.style(key))));
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
