//! The budget screen: per database, a bar of its usable connections (one segment per
//! service's share now, a ghost segment up to HPA max, the warn threshold and 100 %),
//! the services with where their numbers came from, the formula, and the live reading
//! beside the declared numbers. Every number comes from the model's `DatabaseBudget`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::budget::{BudgetState, DatabaseBudget, Measured, format_percent};
use crate::model::sanitize::clean;
use crate::report::budget::{carried, measured_details, measured_line, title};
use crate::ui::context::{Context, Handled};

/// The frame of the budget list: a rule on top that carries the title.
fn list_block<'a>() -> Block<'a> {
    Block::default().borders(Borders::TOP)
}

/// Lines one page shows in `area` (under the title rule).
pub fn page(area: Rect) -> usize {
    list_block().inner(area).height as usize
}

/// The connection budget of every database in scope.
#[derive(Debug, Default)]
pub struct BudgetScreen {
    pub scroll: usize,
}

impl BudgetScreen {
    /// Scrolling the list.
    pub fn on_command(&mut self, command: Command, area: Rect) -> Handled {
        super::scroll_by(&mut self.scroll, command, page(area))
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        draw(self, ctx, frame, area);
    }
}

fn draw(state: &BudgetScreen, ctx: &Context, frame: &mut Frame, area: Rect) {
    let scroll = state.scroll;
    let theme = &ctx.theme;
    let view = ctx.view.clone();
    let over = view.budgets.iter().filter(|b| b.state() >= BudgetState::Warn).count();
    let mut title =
        vec![Span::styled(format!(" Connection budget · {} databases ", view.budgets.len()), theme.style("ui.title"))];
    if over > 0 {
        title.push(Span::styled(format!("· {over} past the threshold "), theme.style("state.warn")));
    }
    if ctx.measuring {
        title.push(Span::styled("· measuring… ", theme.style("state.info")));
    }
    let block = list_block().title(Line::from(title)).border_style(theme.style("ui.border"));
    let inner = block.inner(area);
    let bar_width = inner.width.saturating_sub(4).clamp(10, 100) as usize;
    let mut lines = Vec::new();
    if let Some(problem) = &view.profile.problem {
        lines.push(Line::from(Span::styled(
            format!("profile not used: {}", clean(problem)),
            theme.style("state.error"),
        )));
    }
    if view.budgets.is_empty() {
        lines.push(Line::from(Span::styled(
            "No database in scope: no workload names a PostgreSQL host in its env (DATABASE_URL, PGHOST, *_DB_HOST…); \
             declare databases in a profile (profiles/<context>.toml or --profile) or annotate pod templates with cockpit.dev/db",
            theme.style("ui.text.dim"),
        )));
    }
    for budget in view.budgets.iter() {
        let budget = ctx.measured_budget(budget);
        database_lines(theme, &budget, bar_width, &mut lines);
        lines.push(Line::default());
    }
    for note in view.discovery_notes.iter() {
        lines.push(Line::from(Span::styled(format!("note: {}", clean(note)), theme.style("ui.text.dim"))));
    }
    let scroll = scroll.min(lines.len().saturating_sub(1)) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0)), area);
}

fn state_style(theme: &Theme, state: BudgetState) -> Style {
    match state {
        BudgetState::Unknown => theme.style("ui.text.dim"),
        BudgetState::Ok => theme.style("state.ok"),
        BudgetState::Warn => theme.style("state.warn"),
        BudgetState::Over => theme.style("state.error"),
    }
}

pub(super) fn database_lines(theme: &Theme, b: &DatabaseBudget, bar_width: usize, lines: &mut Vec<Line<'static>>) {
    let state = b.state();
    let style = state_style(theme, state);
    let at_max = b.state_at_hpa_max();
    let mut head = vec![
        Span::styled(format!("{} ", clean(&title(b))), style.add_modifier(Modifier::BOLD)),
        Span::styled(format!("[{}] ", state.as_str().to_uppercase()), style),
    ];
    if b.limit_known() {
        head.push(Span::styled(
            format!("{} of {} usable ({}) ", b.required(), b.usable(), format_percent(b.percent())),
            theme.style("ui.text"),
        ));
        head.push(Span::styled(
            format!(
                "· at HPA max {} ({}) {}",
                b.required_at_hpa_max(),
                format_percent(b.percent_at_hpa_max()),
                at_max.as_str()
            ),
            state_style(theme, at_max),
        ));
    } else {
        head.push(Span::styled(b.demand(), theme.style("ui.text")));
    }
    lines.push(Line::from(head));
    if let Some(origin) = &b.origin {
        lines.push(Line::from(Span::styled(format!("  found: {}", clean(origin)), theme.style("ui.text.dim"))));
    }
    // A bar needs a limit to be drawn against.
    if b.limit_known() {
        lines.push(bar(theme, b, bar_width));
    }
    let measured_by = |name: &str| match &b.measured {
        Measured::Connections { by_service, .. } => Some(by_service.get(name).copied().unwrap_or(0)),
        _ => None,
    };
    for u in &b.services {
        let measured = measured_by(&u.key.name).map_or_else(String::new, |n| format!(" · measured {n}"));
        lines.push(Line::from(Span::styled(
            clean(&format!("  {}{measured}   {}   via {}{}", u.share(), u.pools(), u.via, carried(u))),
            theme.style("ui.text"),
        )));
    }
    lines.push(Line::from(Span::styled(format!("  {}", clean(&b.limits())), theme.style("ui.text.dim"))));
    lines.push(Line::from(Span::styled(format!("  {}", clean(&b.formula(false))), theme.style("ui.text.dim"))));
    if let Some(advice) = b.advice(state).or_else(|| b.advice(at_max).map(|a| format!("at HPA max: {a}"))) {
        lines.push(Line::from(Span::styled(format!("  {advice}"), state_style(theme, state.max(at_max)))));
    }
    if let Some(line) = measured_line(b) {
        let key = if matches!(b.measured, Measured::Unavailable(_)) { "state.stale" } else { "state.info" };
        lines.push(Line::from(Span::styled(format!("  {}", clean(&line)), theme.style(key))));
    }
    for line in measured_details(b) {
        let key = if line.starts_with("finding") { "state.warn" } else { "ui.text.dim" };
        lines.push(Line::from(Span::styled(format!("  {}", clean(&line)), theme.style(key))));
    }
    for note in &b.notes {
        lines.push(Line::from(Span::styled(format!("  note: {}", clean(note)), theme.style("state.warn"))));
    }
}

/// `████▓▓▓░░░░┊······│`: services now (alternating shades), headroom, the ghost up to HPA
/// max, the warn threshold `┊` and 100 % `│`. The bar spans 0 to the larger of 100 % and
/// the HPA-max requirement, so an overflow is visibly past the line.
fn bar(theme: &Theme, b: &DatabaseBudget, width: usize) -> Line<'static> {
    let usable = b.usable().max(1) as f64;
    let span_total = (b.required_at_hpa_max() as f64).max(usable);
    let cell = |connections: f64| ((connections / span_total) * width as f64).round() as usize;
    let mut cells: Vec<(char, &str)> = Vec::with_capacity(width);
    let mut used = 0.0;
    for (i, u) in b.services.iter().enumerate() {
        used += u.connections() as f64;
        let glyph = if i % 2 == 0 { '█' } else { '▓' };
        while cells.len() < cell(used).min(width) {
            cells.push((glyph, "share"));
        }
    }
    used += f64::from(b.headroom.value);
    while cells.len() < cell(used).min(width) {
        cells.push(('▒', "share"));
    }
    while cells.len() < cell(b.required_at_hpa_max() as f64).min(width) {
        cells.push(('░', "ghost"));
    }
    while cells.len() < width {
        cells.push(('·', "free"));
    }
    let warn_at = cell(usable * f64::from(b.warn_percent) / 100.0);
    let full_at = cell(usable);
    // The theme's own budget colours; past 100 % the share itself turns to `budget.over`.
    let share_style =
        if b.state() == BudgetState::Over { theme.style("budget.over") } else { theme.style("budget.bar") };
    let spans: Vec<Span> = cells
        .into_iter()
        .enumerate()
        .map(|(i, (glyph, part))| {
            let (glyph, style) = if i == full_at.min(width.saturating_sub(1)) {
                ('│', theme.style("budget.over"))
            } else if i == warn_at {
                ('┊', theme.style("budget.threshold"))
            } else {
                match part {
                    "share" => (glyph, share_style),
                    "ghost" => (glyph, theme.style("budget.ghost")),
                    _ => (glyph, theme.style("ui.border")),
                }
            };
            Span::styled(glyph.to_string(), style)
        })
        .collect();
    let mut all = vec![Span::raw("  ")];
    all.extend(spans);
    Line::from(all)
}
