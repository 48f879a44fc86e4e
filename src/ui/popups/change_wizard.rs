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
use crate::actions::change::{plan_hpa_bounds, plan_set_image};
use crate::actions::guard::Verdict;
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::actions::scale::plan_scale;
use crate::config::commands::Command;
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

    fn new(key: ServiceKey, typed: Typed, input: TextArea<'static>, fixed: Option<ActionPlan>) -> ChangeWizard {
        let confirm = text_input(&key.name);
        ChangeWizard { key, typed, input, fixed, confirm, stage: ActionStage::Editing, error: None }
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
            Command::Cancel | Command::Back => {
                out.push(Request::Close);
                match &self.stage {
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

    /// What RBAC forbids about the open wizard's change, as the access reviews (which may
    /// land after the wizard opened) say.
    pub fn denied(&self, ctx: &Context) -> Option<String> {
        let w = self;
        // helm checks its own permissions (and its dry-run shows the answer).
        if w.fixed.as_ref().is_some_and(through_helm) {
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
        let plan = plan_scale(service, to, false, budget);
        // A refusal can be overridden in the cockpit by typing the service name.
        let overridable = plan.stopped_by().is_some_and(|g| g.verdict == Verdict::Refuse);
        Ok(if overridable { plan_scale(service, to, true, budget) } else { plan })
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
            ActionStage::Checking(_) | ActionStage::Applying(_) | ActionStage::Following(_) => {}
        }
    }

    /// A job about this change reported back.
    pub fn on_job(&mut self, event: JobEvent) {
        self.stage = match event {
            JobEvent::DryRun { plan, result: Ok(()) } => ActionStage::Confirm { plan, dry_run: "ok".into() },
            JobEvent::DryRun { plan, result: Err(e) } => {
                let who = if through_helm(&plan) { "helm" } else { "the API server" };
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
            _ => return,
        };
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
            ActionStage::Checking(p) | ActionStage::Applying(p) | ActionStage::Following(p) => Ok(p.clone()),
            ActionStage::Confirm { plan, .. } | ActionStage::Done { plan, .. } => Ok(plan.clone()),
        };
        let mut lines: Vec<Line> = Vec::new();
        match &plan {
            Err(e) => lines.push(Line::from(Span::styled(clean(e), theme.style("ui.error")))),
            Ok(plan) => plan_lines(theme, plan, &mut lines),
        }
        lines.push(Line::default());
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
        ActionStage::Editing => ("Enter: ask the API server (dry-run) · Esc: cancel".to_string(), "ui.hint"),
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
