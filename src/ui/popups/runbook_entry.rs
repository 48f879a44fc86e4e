//! What the runbooks screen asks for in a popup: a runbook's parameters before it starts,
//! the service name a step wants typed, why a manual step is skipped, and at start whether
//! to resume an interrupted run.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;

use super::frame::{centered, draw_entry, popup_block};
use crate::actions::runbook::engine::{Answer, Control};
use crate::actions::runbook::state::RunState;
use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::effects::Effect;
use crate::model::sanitize::clean;
use crate::ui::context::{Context, Handled, Request, Show, text_input, typed};
use crate::ui::runbooks::parse_param_line;

/// The parameters of a runbook about to start, as `k=v` words.
pub struct RunParams {
    pub name: String,
    /// In a fleet, the one cluster the run goes to (the service's it was opened from).
    pub cluster: Option<String>,
    pub input: TextArea<'static>,
    pub error: Option<String>,
}

/// A runbook step wants the service name typed (production, or a guard overridden).
pub struct ConfirmName {
    pub name: String,
    pub input: TextArea<'static>,
}

/// Why the manual step is skipped (recorded in the run state and the audit log).
pub struct SkipReason {
    pub input: TextArea<'static>,
}

impl RunParams {
    pub fn new(name: String, line: &str, cluster: Option<String>) -> RunParams {
        let mut input = text_input("name=value …");
        input.insert_str(line);
        RunParams { name, cluster, input, error: None }
    }

    /// Enter: the run starts (on the runbooks screen), or the malformed word is named.
    pub fn on_command(&mut self, command: Command, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm => match parse_param_line(&typed(&self.input)) {
                Ok(params) => {
                    out.push(Request::Close);
                    out.push(Request::Show(Show::Runbooks));
                    let (name, cluster) = (self.name.clone(), self.cluster.clone());
                    let start = Effect::StartRunbook { name, params, resume: false, cluster };
                    out.push(Request::Effect(start));
                }
                Err(e) => self.error = Some(e),
            },
            Command::Cancel | Command::Back => out.push(Request::Close),
            _ => {}
        }
        Handled::Yes
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let help = "parameters as name=value, separated by spaces; enter starts the run, esc cancels";
        let title = match &self.cluster {
            Some(cluster) => format!(" Run {} in {} ", clean(&self.name), clean(cluster)),
            None => format!(" Run {} ", clean(&self.name)),
        };
        draw_entry(&ctx.theme, title, help, self.error.as_deref(), &self.input, frame, area);
    }
}

impl ConfirmName {
    pub fn new(name: String) -> ConfirmName {
        ConfirmName { input: text_input(&name), name }
    }

    /// Enter: the step goes on when the name is right; it keeps waiting otherwise.
    pub fn on_command(&mut self, command: Command, ctx: &mut Context, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm => {
                out.push(Request::Close);
                if typed(&self.input) == self.name {
                    ctx.runbooks.clear_prompt();
                    out.push(Request::Effect(Effect::RunControl(Control::Answer(Answer::Yes))));
                } else {
                    ctx.say(format!("type {} to confirm; the step still waits", self.name), jiff::Timestamp::now());
                }
            }
            Command::Cancel | Command::Back => out.push(Request::Close),
            _ => {}
        }
        Handled::Yes
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let help =
            format!("type {} and press enter to send the change; esc: the step keeps waiting", clean(&self.name));
        let cluster = ctx.runbooks.active.as_ref().and_then(|a| a.start.cluster.as_deref());
        let title = match cluster {
            Some(cluster) => format!(" Confirm the change in {} ", clean(cluster)),
            None => " Confirm the change ".into(),
        };
        draw_entry(&ctx.theme, title, &help, None, &self.input, frame, area);
    }
}

impl Default for SkipReason {
    fn default() -> SkipReason {
        SkipReason { input: text_input("why is it skipped?") }
    }
}

impl SkipReason {
    /// Enter: the step is skipped for the reason typed (none typed: it waits for one).
    pub fn on_command(&mut self, command: Command, ctx: &mut Context, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm => {
                let reason = typed(&self.input);
                if !reason.is_empty() {
                    out.push(Request::Close);
                    ctx.runbooks.clear_prompt();
                    out.push(Request::Effect(Effect::RunControl(Control::Answer(Answer::Skip(reason)))));
                }
            }
            Command::Cancel | Command::Back => out.push(Request::Close),
            _ => {}
        }
        Handled::Yes
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let help = "the reason is recorded in the run state and the audit log";
        draw_entry(&ctx.theme, " Skip this step ".into(), help, None, &self.input, frame, area);
    }
}

/// At start: an interrupted run, offered for resuming.
pub struct ResumeOffer(pub Box<RunState>);

impl ResumeOffer {
    /// Enter resumes it (on the runbooks screen); Esc leaves it listed there.
    pub fn on_command(&mut self, command: Command, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm => {
                out.push(Request::Close);
                out.push(Request::Show(Show::Runbooks));
                let state = &self.0;
                // The run resumes on the cluster it was interrupted on.
                let start = Effect::StartRunbook {
                    name: state.source_name(),
                    params: state.params.clone(),
                    resume: true,
                    cluster: Some(state.context.clone()),
                };
                out.push(Request::Effect(start));
            }
            Command::Cancel | Command::Back => out.push(Request::Close),
            _ => {}
        }
        Handled::Yes
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        // In a fleet the run is one cluster's, and resumes there.
        let cluster = ctx.view.fleet.as_ref().map(|_| self.0.context.as_str());
        draw_resume_offer(&ctx.theme, &self.0, cluster, frame, area);
    }
}

/// At start: an interrupted run, and the keys to continue it or not.
fn draw_resume_offer(theme: &Theme, state: &RunState, cluster: Option<&str>, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 84, 7);
    frame.render_widget(Clear, rect);
    let block = popup_block(theme, " Interrupted runbook ".into());
    let at = state.resume_at().map_or_else(String::new, |i| format!(" at step {} ({})", i + 1, state.steps[i].id));
    let lines = vec![
        Line::from(Span::styled(
            clean(&match cluster {
                Some(cluster) => format!("{} on {} in {cluster} stopped{at}.", state.runbook, state.namespace),
                None => format!("{} on {} stopped{at}.", state.runbook, state.namespace),
            }),
            theme.style("ui.text"),
        )),
        Line::from(Span::styled(
            "Resuming re-reads the cluster: a change already made is not sent again.",
            theme.style("ui.text.dim"),
        )),
        Line::default(),
        Line::from(vec![
            Span::styled("enter", theme.style("ui.hint.key")),
            Span::styled(" resume  ", theme.style("ui.hint")),
            Span::styled("esc", theme.style("ui.hint.key")),
            Span::styled(" not now (Space r lists it)", theme.style("ui.hint")),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
