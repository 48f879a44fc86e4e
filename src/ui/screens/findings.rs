//! The findings screen: the preflight findings of every service in scope, grouped by check,
//! each group with why it matters and how to fix it (the same grouping as `lint`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::lint::check;
use crate::model::sanitize::clean;
use crate::model::service::Severity;
use crate::report::lint::{by_check, collect, severity_name};
use crate::ui::context::{Context, Handled};

pub fn severity_style(theme: &Theme, severity: Severity) -> ratatui::style::Style {
    match severity {
        Severity::Error => theme.style("state.error"),
        Severity::Warning => theme.style("state.warn"),
        Severity::Info => theme.style("state.info"),
    }
}

/// Lines one page shows in `area` (under the title rule).
pub fn page(area: Rect) -> usize {
    area.height.saturating_sub(1) as usize
}

/// Preflight findings across the scope, grouped by check.
#[derive(Debug, Default)]
pub struct FindingsScreen {
    pub scroll: usize,
}

impl FindingsScreen {
    /// Its keys are the overview's (it does not scroll itself).
    pub fn on_command(&mut self, _command: Command) -> Handled {
        Handled::No
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        draw(self, ctx, frame, area);
    }
}

fn draw(state: &FindingsScreen, ctx: &Context, frame: &mut Frame, area: Rect) {
    let scroll = state.scroll;
    let theme = &ctx.theme;
    let view = ctx.view.clone();
    let found = collect(&view.services, &view.namespace_findings);
    let groups = by_check(&found);
    let count = |s: Severity| found.iter().filter(|l| l.finding.severity == s).count();
    let title = Line::from(vec![
        Span::styled(format!(" Preflight findings · {} checks ", groups.len()), theme.style("ui.title")),
        Span::styled(format!("{} errors ", count(Severity::Error)), theme.style("state.error")),
        Span::styled(format!("{} warnings ", count(Severity::Warning)), theme.style("state.warn")),
        Span::styled(format!("{} info ", count(Severity::Info)), theme.style("state.info")),
    ]);
    let block = Block::default().borders(Borders::TOP).title(title).border_style(theme.style("ui.border"));
    let mut lines: Vec<Line> = Vec::new();
    if found.is_empty() {
        lines.push(Line::from(Span::styled("no preflight finding in this scope", theme.style("ui.text.dim"))));
    }
    for group in &groups {
        let style = severity_style(theme, group.severity);
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", group.id), style.add_modifier(ratatui::style::Modifier::BOLD)),
            Span::styled(format!("[{}] ", severity_name(group.severity)), style),
            Span::styled(format!("{} finding(s)", group.places.len()), theme.style("ui.text")),
        ]));
        if let Some(c) = check(group.id) {
            lines.push(Line::from(Span::styled(format!("  why: {}", c.reason), theme.style("ui.text.dim"))));
            lines.push(Line::from(Span::styled(format!("  fix: {}", c.fix), theme.style("ui.text"))));
        }
        for l in &group.places {
            lines.push(Line::from(Span::styled(
                clean(&format!("    {}: {}", l.place(), l.finding.message)),
                theme.style("ui.text"),
            )));
        }
        lines.push(Line::default());
    }
    let scroll = scroll.min(lines.len().saturating_sub(1)) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0)), area);
}
