//! The runbooks screen. With a run going on, the stepper: every step with its state, the
//! gates of the current step with their live detail and countdown, the log pane of the
//! service the step changes beside it (when the terminal is wide enough), and below, the
//! question the run waits on with the keys that answer it. Without one, the runbooks found.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::logs::draw_pane;
use crate::actions::runbook::engine::Prompt;
use crate::actions::runbook::engine::{Answer, Control};
use crate::actions::runbook::state::{GateRecord, RunStatus, StepRecord, StepState};
use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::effects::Effect;
use crate::model::runbook::duration_words;
use crate::model::sanitize::clean;
use crate::ui::context::{Context, Handled, Request, Show};
use crate::ui::popups::frame::plan_lines;
use crate::ui::runbooks::ActiveRun;
use crate::ui::runbooks::{Runbooks, RunnerEvent};

/// Below this width the log pane goes under the steps instead of beside them.
const SIDE_BY_SIDE_WIDTH: u16 = 120;

/// The runbooks screen's own commands (its state, the run, lives in the context: a run
/// goes on while other screens are shown); `No` lets the global meaning apply.
pub fn on_command(command: Command, ctx: &mut Context, out: &mut Vec<Request>, now: Timestamp) -> Handled {
    let prompt = ctx.runbooks.active.as_ref().and_then(|a| a.prompt.clone());
    let running = ctx.runbooks.running();
    // In a fleet the name typed names the run's cluster too, as the cockpit's own changes do.
    let cluster = ctx.runbooks.active.as_ref().and_then(|a| a.start.cluster.clone());
    let mut answer = |answer: Answer| out.push(Request::Effect(Effect::RunControl(Control::Answer(answer))));
    match command {
        Command::OpenDetail | Command::Confirm | Command::RunRunbook => match prompt {
            Some(Prompt::Change { plan, typed_name: true, .. }) => {
                out.push(Request::ConfirmName(Context::named_in(&plan.service().name, cluster.as_deref())));
            }
            Some(Prompt::Node { node, typed_name: true, .. }) => {
                out.push(Request::ConfirmName(Context::named_in(&node, cluster.as_deref())));
            }
            Some(_) => {
                ctx.runbooks.clear_prompt();
                answer(Answer::Yes);
            }
            None if running => {}
            None => offer_start(ctx, out),
        },
        Command::Skip => {
            if matches!(prompt, Some(Prompt::Manual { .. })) {
                out.push(Request::AskSkipReason);
            } else {
                ctx.say("only a manual step can be skipped", now);
            }
        }
        Command::Pause if running => {
            let paused = ctx.runbooks.active.as_ref().is_some_and(|a| a.paused());
            out.push(Request::Effect(Effect::RunControl(if paused { Control::Resume } else { Control::Pause })));
        }
        Command::Abort if running => {
            ctx.runbooks.clear_prompt();
            out.push(Request::Effect(Effect::RunControl(Control::Abort)));
        }
        Command::MoveUp | Command::MoveDown if !running => {
            let step: isize = if command == Command::MoveUp { -1 } else { 1 };
            let last = ctx.runbooks.choices.len().saturating_sub(1);
            ctx.runbooks.selected = ctx.runbooks.selected.saturating_add_signed(step).min(last);
        }
        Command::OpenLogs => {
            let key = ctx.runbooks.active.as_ref().and_then(|a| a.current_service(&ctx.view.services));
            let service = key.as_ref().and_then(|k| ctx.service(k)).cloned();
            if let Some(key) = key
                && ctx.logs.open(key, &ctx.view.slo_rules, service.as_ref()).is_ok()
            {
                out.push(Request::Show(Show::Logs));
            }
        }
        _ => return Handled::No,
    }
    Handled::Yes
}

/// Enter on the runbooks list (or on an ended run): the rollback an abort offers, or
/// the parameters of the selected runbook.
fn offer_start(ctx: &mut Context, out: &mut Vec<Request>) {
    if let Some(refusal) = ctx.changes_refused() {
        ctx.report_error(format!("runbooks: refused: {}", refusal.why()));
        return;
    }
    if let Some(active) = &ctx.runbooks.active {
        let rollback = active.rollback_offer().map(str::to_string);
        let params = active.start.params.clone();
        // The rollback runs where the aborted run did.
        let cluster = active.start.cluster.clone();
        ctx.runbooks.active = None;
        let Some(name) = rollback else { return };
        // The rollback takes the parameters of the aborted run that it declares.
        let declared = ctx.runbooks.choices.iter().find(|c| c.name == name).map(|c| c.params.clone());
        let params = params.into_iter().filter(|(k, _)| declared.iter().flatten().any(|d| &d.name == k)).collect();
        out.push(Request::Effect(Effect::StartRunbook { name, params, resume: false, cluster }));
        return;
    }
    let cluster = ctx.runbooks_for.as_ref().and_then(|k| k.cluster.clone());
    if ctx.view.fleet.is_some() && cluster.is_none() {
        ctx.report_error("a runbook runs on one cluster at a time: select a service of that cluster, then Space r");
        return;
    }
    let Some(choice) = ctx.runbooks.selected_choice() else { return };
    let line = Runbooks::param_line(choice, ctx.runbooks_for.as_ref());
    out.push(Request::OpenRunParams { name: choice.name.clone(), line, cluster });
}

/// What the event loop reports about a run. The current step's service gets a log pane,
/// so the stepper can show its logs beside the gates.
pub fn on_runner(ctx: &mut Context, event: RunnerEvent) {
    if let RunnerEvent::Refused(why) = &event {
        ctx.report_error(why.clone());
    }
    ctx.runbooks.on_event(event);
    let key = ctx.runbooks.active.as_ref().and_then(|a| a.current_service(&ctx.view.services));
    if let Some(key) = key
        && !ctx.logs.panes.iter().any(|p| p.key == key)
    {
        let service = ctx.service(&key).cloned();
        let _ = ctx.logs.open(key, &ctx.view.slo_rules, service.as_ref());
    }
}

pub fn draw(ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    match ctx.runbooks.active.clone() {
        Some(active) => draw_run(ctx, &active, frame, area, now),
        None => draw_choices(ctx, frame, area),
    }
}

fn step_style(theme: &Theme, state: StepState) -> (&'static str, Style) {
    match state {
        StepState::Pending => ("·", theme.style("ui.text.dim")),
        StepState::Running => ("▶", theme.style("state.info")),
        StepState::Waiting => ("…", theme.style("state.warn")),
        StepState::Passed => ("✓", theme.style("state.ok")),
        StepState::Failed => ("✗", theme.style("state.error")),
        StepState::Skipped => ("↷", theme.style("ui.text.dim")),
    }
}

fn status_style(theme: &Theme, status: RunStatus) -> Style {
    match status {
        RunStatus::Running => theme.style("state.info"),
        RunStatus::Paused | RunStatus::Declined | RunStatus::Aborted => theme.style("state.warn"),
        RunStatus::Passed | RunStatus::RolledBack => theme.style("state.ok"),
        RunStatus::Failed | RunStatus::RollbackFailed => theme.style("state.error"),
    }
}

/// Where the run changes things: its namespace, and in a fleet its one cluster.
fn run_scope(start: &crate::effects::RunStart) -> String {
    match &start.cluster {
        Some(cluster) => format!("{} in {cluster}", start.namespace),
        None => start.namespace.clone(),
    }
}

fn draw_run(ctx: &Context, active: &ActiveRun, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let status = active.state.as_ref().map_or(RunStatus::Running, |s| s.status);
    let title = Line::from(vec![
        Span::styled(format!(" Runbook {} ", clean(&active.start.runbook)), theme.style("ui.title")),
        Span::styled(format!("· {} · ", clean(&run_scope(&active.start))), theme.style("ui.text.dim")),
        Span::styled(format!("{} ", status.as_str()), status_style(theme, status)),
    ]);
    let question = question_lines(theme, active);
    // The question gets what it needs; the steps keep at least a few lines above it.
    let steps = active.state.as_ref().map_or(1, |s| s.steps.len()) as u16;
    let keep = (steps + 2).min(area.height / 3).max(3);
    let inner_width = usize::from(area.width.saturating_sub(2).max(1));
    let rows: usize = question.iter().map(|l| l.width().max(1).div_ceil(inner_width)).sum();
    // Word wrapping can take a row more than the character count says.
    let bottom = (rows as u16 + 3).min(area.height.saturating_sub(keep));
    let [top, below] = Layout::vertical([Constraint::Min(3), Constraint::Length(bottom)]).areas(area);
    let key = active.current_service(&ctx.view.services);
    let pane = key.and_then(|k| ctx.logs.panes.iter().find(|p| p.key == k));
    let (steps_area, logs_area) = match pane {
        Some(_) if area.width >= SIDE_BY_SIDE_WIDTH => {
            let [s, l] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
            (s, Some(l))
        }
        Some(_) if top.height >= 24 => {
            let [s, l] = Layout::vertical([Constraint::Min(10), Constraint::Percentage(40)]).areas(top);
            (s, Some(l))
        }
        _ => (top, None),
    };
    let block = Block::default().borders(Borders::ALL).title(title).border_style(theme.style("ui.border"));
    let mut lines = Vec::new();
    if let Some(state) = &active.state {
        for (i, step) in state.steps.iter().enumerate() {
            step_lines(theme, i, step, now, &mut lines);
        }
        if let Some(rollback) = &state.rollback {
            lines.push(Line::from(Span::styled(format!("rollback: {}", clean(rollback)), theme.style("state.warn"))));
        }
    } else {
        lines.push(Line::from(Span::styled("starting…", theme.style("ui.text.dim"))));
    }
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), steps_area);
    if let (Some(pane), Some(rect)) = (pane, logs_area) {
        draw_pane(theme, pane, false, frame, rect, now);
    }
    let ask = Block::default().borders(Borders::ALL).border_style(theme.style("ui.border.focus"));
    frame.render_widget(Paragraph::new(question).block(ask).wrap(Wrap { trim: false }), below);
}

fn step_lines(theme: &Theme, i: usize, step: &StepRecord, now: Timestamp, lines: &mut Vec<Line<'static>>) {
    let (glyph, style) = step_style(theme, step.state);
    lines.push(Line::from(vec![
        Span::styled(format!("{glyph} {:>2} ", i + 1), style),
        Span::styled(format!("{:<16} ", clean(&step.id)), style),
        Span::styled(clean(&step.title), theme.style("ui.text")),
    ]));
    let detail = match step.state {
        StepState::Pending => String::new(),
        StepState::Waiting => step.state.as_str().to_string(),
        _ => step.detail.clone(),
    };
    if !detail.is_empty() && step.state != StepState::Passed {
        lines.push(Line::from(Span::styled(format!("       {}", clean(&detail)), style)));
    }
    if matches!(step.state, StepState::Waiting | StepState::Failed) {
        for gate in &step.gates {
            lines.push(gate_line(theme, gate, now));
        }
    } else {
        // A finished step still shows the gates it skipped: they judged nothing.
        for gate in step.gates.iter().filter(|g| g.skipped()) {
            lines.push(gate_line(theme, gate, now));
        }
    }
}

fn gate_line(theme: &Theme, gate: &GateRecord, now: Timestamp) -> Line<'static> {
    let (glyph, style) = match gate.state.as_str() {
        "passed" => ("✓", theme.style("state.ok")),
        "skipped" => ("⊘ skipped:", theme.style("state.warn")),
        "failed" => ("✗", theme.style("state.error")),
        _ => ("…", theme.style("state.warn")),
    };
    let left = gate
        .deadline
        .map(|d| format!("  ({} left)", duration_words(d.duration_since(now).as_secs().max(0))))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(format!("       {glyph} {} ", clean(&gate.summary)), style),
        Span::styled(clean(&gate.detail), theme.style("ui.text")),
        Span::styled(left, theme.style("ui.text.dim")),
    ])
}

/// The server's answer to a change the run asks about, and the keys that answer it.
fn dry_run_and_confirm(
    theme: &Theme,
    dry_run: &str,
    confirm: &str,
    key: &dyn Fn(&str, &str) -> Vec<Span<'static>>,
) -> [Line<'static>; 2] {
    let mut keys = key("enter", confirm);
    keys.extend(key("a", "abort the run"));
    [
        Line::from(vec![
            Span::styled(format!("{:<18}", "server dry-run"), theme.style("ui.text.dim")),
            Span::styled(clean(dry_run), theme.style("ui.text")),
        ]),
        Line::from(keys),
    ]
}

/// What the run waits on, with the keys that answer; or how it ended.
fn question_lines(theme: &Theme, active: &ActiveRun) -> Vec<Line<'static>> {
    let key = |k: &str, what: &str| {
        vec![
            Span::styled(k.to_string(), theme.style("ui.hint.key")),
            Span::styled(format!(" {what}  "), theme.style("ui.hint")),
        ]
    };
    let mut lines = Vec::new();
    if let Some(outcome) = &active.outcome {
        lines.push(Line::from(Span::styled(clean(&outcome.message), status_style(theme, outcome.status))));
        let mut keys = match active.rollback_offer() {
            Some(rollback) => key("enter", &format!("run the rollback runbook {}", clean(rollback))),
            None => key("enter", "back to the runbooks"),
        };
        keys.extend(key("esc", "leave"));
        lines.push(Line::from(keys));
        return lines;
    }
    match &active.prompt {
        Some(Prompt::Change { plan, dry_run, typed_name, .. }) => {
            lines.push(Line::from(Span::styled(clean(&plan.describe()), theme.style("ui.title"))));
            plan_lines(theme, plan, &mut lines);
            let confirm = if *typed_name { "type the service name to send it" } else { "send this change" };
            lines.extend(dry_run_and_confirm(theme, dry_run, confirm, &key));
        }
        Some(Prompt::Node { what, preview, dry_run, typed_name, .. }) => {
            lines.push(Line::from(Span::styled(clean(what), theme.style("ui.title"))));
            for line in preview {
                lines.push(Line::from(Span::styled(clean(line), theme.style("ui.text"))));
            }
            let confirm = if *typed_name { "type the node name to go" } else { "go" };
            lines.extend(dry_run_and_confirm(theme, dry_run, confirm, &key));
        }
        Some(Prompt::Manual { checklist, .. }) => {
            for item in checklist {
                lines.push(Line::from(Span::styled(format!("[ ] {}", clean(item)), theme.style("ui.text"))));
            }
            let mut keys = key("enter", "confirm every item");
            keys.extend(key("s", "skip with a reason"));
            keys.extend(key("a", "abort"));
            lines.push(Line::from(keys));
        }
        None => {
            if let Some(note) = active.notes.back() {
                lines.push(Line::from(Span::styled(clean(note), theme.style("ui.text.dim"))));
            }
            let pause = if active.paused() { "resume" } else { "pause" };
            let mut keys = key("p", pause);
            keys.extend(key("a", "abort"));
            keys.extend(key("l", "logs"));
            keys.extend(key("esc", "leave (the run goes on)"));
            lines.push(Line::from(keys));
        }
    }
    lines
}

fn draw_choices(ctx: &Context, frame: &mut Frame, area: Rect) {
    let theme = &ctx.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(" Runbooks ", theme.style("ui.title")))
        .border_style(theme.style("ui.border"));
    let mut lines = Vec::new();
    for state in &ctx.runbooks.interrupted {
        let at = state.resume_at().map_or_else(String::new, |i| format!(" at step {} ({})", i + 1, state.steps[i].id));
        // In a fleet the run is one cluster's: where it stopped and the command name it.
        let (on, context) = match &ctx.view.fleet {
            Some(_) => (format!("{} in {}", state.namespace, state.context), format!("--context {} ", state.context)),
            None => (state.namespace.clone(), String::new()),
        };
        lines.push(Line::from(Span::styled(
            clean(&format!(
                "interrupted: {} on {on}{at} — kubectl cockpit {context}runbook run {} --resume",
                state.runbook, state.runbook
            )),
            theme.style("state.warn"),
        )));
    }
    if let Some(why) = &ctx.runbooks.refused {
        lines.push(Line::from(Span::styled(clean(why), theme.style("state.error"))));
    }
    let selected = ctx.runbooks.selected.min(ctx.runbooks.choices.len().saturating_sub(1));
    for (i, choice) in ctx.runbooks.choices.iter().enumerate() {
        let style = if i == selected { theme.style("ui.selection") } else { theme.style("ui.text") };
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<28}", clean(&choice.name)), style.patch(theme.style("ui.title"))),
            Span::styled(clean(&choice.description), style),
        ]));
    }
    let hint = if ctx.read_only { "read-only: runbooks are not run" } else { "enter: set the parameters and run" };
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(hint, theme.style("ui.hint"))));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::theme::TerminalColors;
    use crate::model::runbook::GateStatus;

    fn text(lines: &[Line<'_>]) -> String {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>() + "\n").collect()
    }

    #[test]
    fn a_passed_step_still_shows_the_gate_it_skipped_and_not_as_passed() {
        let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap();
        let mut step = StepRecord::new("look", "Look", "wait 1 s".into());
        step.state = StepState::Passed;
        let skipped = GateStatus::Skipped("no SLO rule applies to api: nothing to judge".into());
        let passed = GateStatus::Passed("rollout complete, 3/3 ready".into());
        step.gates = vec![
            GateRecord::new("slo-clean api".into(), &skipped, None),
            GateRecord::new("rollout-complete api".into(), &passed, None),
        ];
        let mut lines = Vec::new();
        step_lines(&theme, 0, &step, Timestamp::UNIX_EPOCH, &mut lines);
        let shown = text(&lines);
        assert!(shown.contains("⊘ skipped: slo-clean api no SLO rule applies to api: nothing to judge"), "{shown}");
        assert!(!shown.contains("✓ slo-clean"), "{shown}");
        assert!(!shown.contains("rollout-complete"), "passed gates of a passed step stay folded: {shown}");
    }
}
