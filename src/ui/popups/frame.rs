//! What popups have in common: a centred bordered box, a fuzzy list under a text input,
//! a one-line entry with help, and a change's preview (also shown by the runbook stepper).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::TextArea;

use crate::actions::ActionPlan;
use crate::actions::guard::Verdict;
use crate::config::theme::Theme;
use crate::model::sanitize::clean;
use crate::model::service::Severity;
use crate::ui::fuzzy::Match;

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// Change popups use the width there is (previews carry image names), within reason.
pub fn wide_popup(area: Rect) -> u16 {
    area.width.saturating_sub(4).clamp(96, 140)
}

/// A popup's box drawn at `rect` over what is under it; answers the room inside.
pub fn draw_box(theme: &Theme, title: String, frame: &mut Frame, rect: Rect) -> Rect {
    frame.render_widget(Clear, rect);
    let block = popup_block(theme, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

pub fn popup_block<'a>(theme: &Theme, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.style("ui.title")))
        .border_style(theme.style("ui.border.focus"))
        .style(theme.style("ui.popup"))
}

/// A list popup with a text input on top and fuzzy-highlighted choices.
pub fn draw_choices(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: String,
    input: &TextArea,
    items: Vec<(String, String, Match)>,
    selected: usize,
) {
    let inner = draw_box(theme, title, frame, centered(area, 72, 16));
    let [input_area, list_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(input, input_area);
    let height = list_area.height as usize;
    let offset = selected.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (name, description, m))| {
            let base = if i == selected { theme.style("ui.selection") } else { theme.style("ui.text") };
            let mut spans: Vec<Span> = name
                .chars()
                .enumerate()
                .map(|(n, c)| {
                    let style = if m.positions.contains(&n) { base.patch(theme.style("ui.match")) } else { base };
                    Span::styled(c.to_string(), style)
                })
                .collect();
            if !description.is_empty() {
                let pad = 24usize.saturating_sub(name.chars().count());
                spans.push(Span::styled(
                    format!("{}{description}", " ".repeat(pad + 1)),
                    base.patch(theme.style("ui.text.dim")),
                ));
            }
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(Line::from(Span::styled("no match", theme.style("ui.text.dim"))), list_area);
    } else {
        frame.render_widget(Paragraph::new(lines), list_area);
    }
}

/// Whether the change runs through helm (which checks and answers for itself) rather than
/// the API server: the one place the UI tells plans apart by kind.
pub fn through_helm(plan: &ActionPlan) -> bool {
    plan.is_helm_rollback()
}

pub fn plan_lines(theme: &Theme, plan: &ActionPlan, lines: &mut Vec<Line>) {
    for p in plan.preview() {
        let style = match p.severity {
            Severity::Error => theme.style("state.error"),
            Severity::Warning => theme.style("state.warn"),
            Severity::Info => theme.style("ui.text"),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<18}", p.label), theme.style("ui.text.dim")),
            Span::styled(clean(&p.text), style),
        ]));
    }
    for g in plan.guards() {
        let tag = plan.guard_tag(g);
        let key = match g.verdict {
            Verdict::Block => "state.error",
            Verdict::Refuse if plan.force() => "state.warn",
            Verdict::Refuse => "state.error",
            Verdict::Warn => "state.warn",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{tag:<18}"), theme.style(key)),
            Span::styled(clean(&g.message), theme.style(key)),
        ]));
        if let Some(alternative) = &g.alternative {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<18}", "instead"), theme.style("ui.text.dim")),
                Span::styled(clean(alternative), theme.style("ui.text")),
            ]));
        }
    }
    let label = if through_helm(plan) { "helm" } else { "kubectl" };
    lines.push(Line::from(vec![
        Span::styled(format!("{label:<18}"), theme.style("ui.text.dim")),
        Span::styled(clean(plan.kubectl()), theme.style("ui.text")),
    ]));
}

/// A one-line text entry with a title and a line of help (runbook parameters, a typed
/// service name, a skip reason).
pub fn draw_entry(
    theme: &Theme,
    title: String,
    help: &str,
    error: Option<&str>,
    input: &TextArea,
    frame: &mut Frame,
    area: Rect,
) {
    let inner = draw_box(theme, title, frame, centered(area, 90, 6));
    let [field, help_area, error_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    frame.render_widget(input, field);
    frame.render_widget(
        Paragraph::new(Span::styled(help.to_string(), theme.style("ui.hint")))
            .wrap(ratatui::widgets::Wrap { trim: true }),
        help_area,
    );
    if let Some(error) = error {
        frame.render_widget(Span::styled(clean(error), theme.style("ui.error")), error_area);
    }
}
