//! The drain popup: the node's drain as a change — its guards, the API server's dry-run of
//! the cordon and every eviction, the confirmation (the node's name typed in production or
//! when a guard is accepted), then the progress as the drain reports it, and the end. A
//! drain stopped before its end leaves the node cordoned, and uncordoning it is offered.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::frame::{centered, draw_box, wide_popup};
use crate::actions::drain::{DrainEnd, guards, stopped_by};
use crate::actions::guard::{Guard, Verdict};
use crate::config::commands::Command;
use crate::effects::{Effect, Job, JobEvent};
use crate::model::drain::NodeDrain;
use crate::model::sanitize::clean;
use crate::model::service::Service;
use crate::ui::context::{Context, Handled, Request, text_input, typed};

/// Where the drain is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainStage {
    /// The guards are shown; Enter asks the API server.
    Preview,
    /// Waiting for the server's dry-run.
    Checking,
    /// The dry-run passed; Enter drains (after the typed name when it is wanted).
    Confirm,
    Draining,
    /// Asked to stop; the drain stops between two steps.
    Stopping,
    /// It ended; `cordoned`: the node was left cordoned and uncordoning is offered.
    Done {
        message: String,
        ok: bool,
        cordoned: bool,
    },
}

/// A drain being prepared, run and followed.
pub struct DrainWizard {
    pub drain: NodeDrain,
    pub guards: Vec<Guard>,
    pub confirm: TextArea<'static>,
    pub stage: DrainStage,
    /// What the drain did so far, one line per step.
    pub progress: Vec<String>,
    pub error: Option<String>,
}

impl DrainWizard {
    pub fn new(drain: NodeDrain, services: &[Service]) -> DrainWizard {
        let guards = guards(&drain, services);
        let confirm = text_input(&Context::named_in(&drain.node, drain.cluster.as_deref()));
        DrainWizard { drain, guards, confirm, stage: DrainStage::Preview, progress: Vec::new(), error: None }
    }

    /// A guard the operator accepts by typing the node's name (pods or data lost, a single
    /// replica down, replacements with no room).
    fn accepts_a_guard(&self) -> bool {
        self.guards.iter().any(|g| g.verdict == Verdict::Refuse)
    }

    /// Whether the node's name must be typed: its cluster is production, or a guard is accepted.
    fn needs_typed_name(&self, ctx: &Context) -> bool {
        ctx.production_in(self.drain.cluster.as_deref()) || self.accepts_a_guard()
    }

    /// What is typed to go: the node's name, `node@cluster` in a fleet.
    fn typed_name(&self) -> String {
        Context::named_in(&self.drain.node, self.drain.cluster.as_deref())
    }

    /// Where typing goes: the node's name while confirming.
    pub fn input_mut(&mut self) -> Option<&mut TextArea<'static>> {
        (self.stage == DrainStage::Confirm).then_some(&mut self.confirm)
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
            Command::Cancel | Command::Back => self.leave(ctx, out, now),
            // Anything else typed in the popup is not a command there.
            _ => {}
        }
        Handled::Yes
    }

    fn target(&self) -> String {
        format!("node/{}", self.drain.node)
    }

    fn audit(&self, outcome: String) -> Request {
        let (action, target, cluster) = ("drain".into(), self.target(), self.drain.cluster.clone());
        Request::Effect(Effect::Execute(Job::RecordRefusal { action, target, outcome, cluster }))
    }

    /// Enter: dry-run, then drain; at the end, close (uncordoning first when offered).
    fn advance(&mut self, ctx: &Context, out: &mut Vec<Request>) {
        match &self.stage {
            DrainStage::Preview => match stopped_by(&self.guards, true) {
                Some(guard) => {
                    self.error = Some(format!("refused: {} (nothing overrides a budget that blocks)", guard.id));
                    out.push(self.audit(format!("refused: {}", guard.id)));
                }
                None => {
                    self.error = None;
                    self.stage = DrainStage::Checking;
                    out.push(Request::Effect(Effect::Execute(Job::DrainDryRun(self.drain.clone()))));
                }
            },
            DrainStage::Confirm => {
                let node = self.typed_name();
                if self.needs_typed_name(ctx) && typed(&self.confirm) != node {
                    let why = if self.accepts_a_guard() { "accept what the guards say" } else { "drain in production" };
                    self.error = Some(format!("type {node} to {why}"));
                    return;
                }
                self.error = None;
                self.stage = DrainStage::Draining;
                out.push(Request::Effect(Effect::Execute(Job::Drain(self.drain.clone()))));
            }
            DrainStage::Done { cordoned: true, ok: false, .. } => {
                out.push(Request::Effect(Effect::Execute(Job::Uncordon {
                    node: self.drain.node.clone(),
                    cluster: self.drain.cluster.clone(),
                })));
                out.push(Request::Close);
            }
            DrainStage::Done { .. } => out.push(Request::Close),
            DrainStage::Checking | DrainStage::Draining | DrainStage::Stopping => {}
        }
    }

    /// Esc: cancel before the drain (audited as declined once the dry-run passed), stop it
    /// while it runs, close after it.
    fn leave(&mut self, ctx: &mut Context, out: &mut Vec<Request>, now: Timestamp) {
        match &self.stage {
            DrainStage::Draining => {
                self.stage = DrainStage::Stopping;
                out.push(Request::Effect(Effect::Execute(Job::StopDrain)));
            }
            DrainStage::Stopping => {}
            DrainStage::Confirm => {
                ctx.say("not confirmed; nothing was changed", now);
                out.push(self.audit("declined".into()));
                out.push(Request::Close);
            }
            DrainStage::Done { cordoned: true, ok: false, .. } => {
                ctx.say(format!("{} stays cordoned (u in the nodes view uncordons it)", self.drain.node), now);
                out.push(Request::Close);
            }
            DrainStage::Preview | DrainStage::Checking | DrainStage::Done { .. } => out.push(Request::Close),
        }
    }

    /// A job about this drain reported back.
    pub fn on_job(&mut self, event: &JobEvent) {
        match event {
            JobEvent::DrainChecked { node, result } if *node == self.drain.node => {
                self.stage = match result {
                    Ok(()) => DrainStage::Confirm,
                    Err(e) => DrainStage::Done {
                        message: format!("the API server refused it: {e}"),
                        ok: false,
                        cordoned: false,
                    },
                };
            }
            JobEvent::Draining { node, event } if *node == self.drain.node => self.progress.push(event.describe()),
            JobEvent::Drained { node, end } if *node == self.drain.node => {
                self.stage = match end {
                    DrainEnd::Drained => {
                        DrainStage::Done { message: format!("drained {node}"), ok: true, cordoned: true }
                    }
                    DrainEnd::Stopped(why) => DrainStage::Done {
                        message: format!("stopped: {why}; {node} stays cordoned"),
                        ok: false,
                        cordoned: true,
                    },
                };
            }
            _ => {}
        }
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let theme = &ctx.theme;
        let rect = centered(area, wide_popup(area), 22);
        let title = match &self.drain.cluster {
            Some(cluster) => format!(" Drain {} in {} ", clean(&self.drain.node), clean(cluster)),
            None => format!(" Drain {} ", clean(&self.drain.node)),
        };
        let inner = draw_box(theme, title, frame, rect);
        let mut lines: Vec<Line> = Vec::new();
        let moving = self.drain.pods.iter().filter(|p| p.moves()).count();
        lines.push(Line::from(Span::styled(
            format!("cordon, then evict {moving} pod(s) one service at a time, each within its budget"),
            theme.style("ui.text"),
        )));
        for g in &self.guards {
            let (tag, key) = match g.verdict {
                Verdict::Block => ("BLOCKED", "state.error"),
                Verdict::Refuse => ("accept", "state.warn"),
                Verdict::Warn => ("warn", "state.warn"),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{tag:<9}"), theme.style(key)),
                Span::styled(clean(&format!("{}: {}", g.id, g.message)), theme.style(key)),
            ]));
        }
        let shown = usize::from(inner.height).saturating_sub(lines.len() + 4);
        let skipped = self.progress.len().saturating_sub(shown);
        for line in self.progress.iter().skip(skipped) {
            lines.push(Line::from(Span::styled(clean(line), theme.style("state.info"))));
        }
        lines.push(Line::default());
        lines.push(self.stage_line(ctx));
        if let Some(error) = &self.error {
            lines.push(Line::from(Span::styled(clean(error), theme.style("ui.error"))));
        }
        let confirming = self.stage == DrainStage::Confirm && self.needs_typed_name(ctx);
        let [text_area, confirm_area] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
        if confirming {
            let [label, field] = Layout::horizontal([Constraint::Length(22), Constraint::Min(1)]).areas(confirm_area);
            frame.render_widget(Span::styled("type the name to go:", theme.style("state.warn")), label);
            frame.render_widget(&self.confirm, field);
        }
    }

    fn stage_line<'a>(&self, ctx: &Context) -> Line<'a> {
        let node = &self.drain.node;
        let (text, key) = match &self.stage {
            DrainStage::Preview if stopped_by(&self.guards, true).is_some() => {
                ("a budget blocks this drain now · Esc: close".to_string(), "state.error")
            }
            DrainStage::Preview => ("Enter: ask the API server (dry-run) · Esc: cancel".to_string(), "ui.hint"),
            DrainStage::Checking => ("server dry-run of the cordon and every eviction…".to_string(), "state.info"),
            DrainStage::Confirm => (format!("server dry-run: ok · Enter: drain {node} · Esc: cancel"), "state.ok"),
            DrainStage::Draining => ("draining… · Esc: stop (the node stays cordoned)".to_string(), "state.info"),
            DrainStage::Stopping => ("stopping after the current step…".to_string(), "state.warn"),
            DrainStage::Done { message, ok: true, .. } => (format!("{message} · Enter: close"), "state.ok"),
            DrainStage::Done { message, cordoned: true, .. } => {
                (format!("{message} · Enter: uncordon it · Esc: leave it cordoned"), "state.error")
            }
            DrainStage::Done { message, .. } => (format!("{message} · Enter: close"), "state.error"),
        };
        Line::from(Span::styled(clean(&text), ctx.theme.style(key)))
    }
}
