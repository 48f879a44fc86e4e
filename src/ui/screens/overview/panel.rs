//! What a wide or tall terminal adds to the overview: beside the list, the selected
//! service's essentials (pods, probes with their grace, the disruption budget's
//! arithmetic, its connection budget, the last events), following the selection; under
//! it, the live problems of the scope. Every number is formatted by the detail view's own
//! functions, so the panel and the detail never disagree.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::columns::cut_middle;
use super::{OverviewScreen, STRIP_LINES, service_at};
use crate::model::sanitize::clean;
use crate::model::service::{Service, Severity, worst_first};
use crate::ui::context::Context;
use crate::ui::screens::detail::{
    NO_PROBES, event_cells, event_style, findings, heading, measured_budget, pdb, pod_cells, pod_style, pods_heading,
    probe_cells, row, summary, text,
};

/// Pods and events listed before "and N more" (the detail has them all).
const PANEL_PODS: usize = 6;
const PANEL_EVENTS: usize = 4;

/// The selected service's essentials in `area`, or a word that none is selected.
pub fn draw_selected(service: Option<&Service>, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let block = Block::default().borders(Borders::TOP | Borders::LEFT).border_style(theme.style("ui.border"));
    let Some(s) = service else {
        let block = block.title(Span::styled(" no service selected ", theme.style("ui.text.dim")));
        frame.render_widget(block, area);
        return;
    };
    let title = format!(" {} {}/{} ", s.key.kind.short(), s.key.namespace, s.key.name);
    let width = usize::from(block.inner(area).width);
    let title = cut_middle(&clean(&title), width.saturating_sub(2));
    let block = block.title(Span::styled(title, theme.style("ui.title")));
    let lines = essentials(ctx, s, width, now);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

/// The panel's lines for `s`, `width` wide.
fn essentials(ctx: &Context, s: &Service, width: usize, now: Timestamp) -> Vec<Line<'static>> {
    let theme = &ctx.theme;
    let mut out = Vec::new();
    summary(theme, s, &mut out);
    findings(theme, s, &mut out);
    heading(theme, "PROBES", &mut out);
    if s.probes.is_empty() {
        out.push(text(theme.style("state.warn"), NO_PROBES.into()));
    }
    for p in &s.probes {
        // Kind, handler, grace; the handler gives way.
        let [_, kind, handler, .., grace] = probe_cells(p);
        // `readiness `, the handler, ` grace 240s`.
        let handler_width = width.saturating_sub(10 + 1 + 11);
        let cells = [kind, cut_middle(&handler, handler_width), format!("grace {grace}")];
        out.push(text(theme.style("ui.text"), row(&cells, &[10, handler_width])));
    }
    pdb(theme, s, &mut out);
    if let Some(budget) = measured_budget(ctx, s) {
        heading(theme, "CONNECTION BUDGET", &mut out);
        let mut lines = Vec::new();
        crate::ui::screens::budget::database_lines(theme, &budget, width.saturating_sub(2), &mut lines);
        // The database's line and its bar; the budget screen has every service's share.
        out.extend(lines.into_iter().take(2));
    }
    heading(theme, &pods_heading(s), &mut out);
    // The name gives way to the phase (`ContainerCreating`), ready and restarts.
    let name_width = width.saturating_sub(17 + 1 + 5 + 1 + 3);
    for p in s.pods.iter().take(PANEL_PODS) {
        let [name, phase, ready, restarts, ..] = pod_cells(p, now);
        let cells = [cut_middle(&name, name_width), phase, ready, restarts];
        out.push(text(pod_style(theme, p), row(&cells, &[name_width, 17, 5])));
    }
    more(ctx, s.pods.len(), PANEL_PODS, &mut out);
    heading(theme, "LAST EVENTS", &mut out);
    if s.events.is_empty() {
        out.push(text(theme.style("ui.text.dim"), "no recent events".into()));
    }
    for e in s.events.iter().take(PANEL_EVENTS) {
        let [age, reason, _, message] = event_cells(e, now);
        out.push(text(event_style(theme, e), format!("{age:>4} {reason} {message}")));
    }
    more(ctx, s.events.len(), PANEL_EVENTS, &mut out);
    out
}

/// `… and N more (enter: the detail)` when a list was cut at `shown`.
fn more(ctx: &Context, total: usize, shown: usize, out: &mut Vec<Line<'static>>) {
    if total > shown {
        out.push(text(ctx.theme.style("ui.text.dim"), format!("… and {} more (enter: the detail)", total - shown)));
    }
}

/// The scope's live problems (what the filter shows), worst first as the rows are, in
/// `area`: severity, service and its worst finding.
pub fn draw_problems(overview: &OverviewScreen, ctx: &Context, frame: &mut Frame, area: Rect, _now: Timestamp) {
    let theme = &ctx.theme;
    let count = overview.problems.len();
    let title = match count {
        0 => " Problems: none in view ".to_string(),
        n if n > STRIP_LINES => format!(" Problems {n} (first {STRIP_LINES}; ] and [ visit them) "),
        n => format!(" Problems {n} (] and [ visit them) "),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style("ui.border"))
        .title(Span::styled(title, theme.style(if count > 0 { "state.warn" } else { "state.ok" })));
    let width = usize::from(block.inner(area).width);
    let listed: Vec<(usize, &Service)> =
        overview.problems.iter().take(STRIP_LINES).map(|&at| (at, service_at(ctx, overview.rows[at]))).collect();
    // Names as wide as the longest listed, up to a third of the line.
    let name_width = listed.iter().map(|(_, s)| qualified(s).chars().count()).max().unwrap_or(0).min(width / 3);
    let lines: Vec<Line> =
        listed.iter().map(|&(at, s)| problem_line(ctx, s, at == overview.selected, name_width)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `namespace/name`, cleaned.
fn qualified(s: &Service) -> String {
    clean(&format!("{}/{}", s.key.namespace, s.key.name))
}

/// `▶ error   ns/name        the worst finding`.
fn problem_line(ctx: &Context, s: &Service, selected: bool, name_width: usize) -> Line<'static> {
    let theme = &ctx.theme;
    let mut worst: Vec<_> = s.live_findings().collect();
    worst.sort_by_key(|f| worst_first(f));
    let (severity, message) =
        worst.first().map_or((Severity::Info, String::new()), |f| (f.severity, clean(&f.message)));
    let style = match severity {
        Severity::Error => theme.style("state.error"),
        Severity::Warning => theme.style("state.warn"),
        Severity::Info => theme.style("state.info"),
    };
    let name = cut_middle(&qualified(s), name_width);
    let more = if worst.len() > 1 { format!(" (+{} more)", worst.len() - 1) } else { String::new() };
    let mark = if selected { "▶" } else { " " };
    let severity = format!("{severity:?}").to_lowercase();
    let mut line = Line::from(vec![
        Span::styled(format!("{mark} {severity:<7} "), style),
        Span::styled(format!("{name:<name_width$}  "), theme.style("ui.text")),
        Span::styled(format!("{message}{more}"), style),
    ]);
    if selected {
        line = line.style(theme.style("ui.selection"));
    }
    line
}
