//! The log panes: up to four, stacked or side by side. Each has a title (service, streams,
//! following or paused, filter, cap), a rule strip (each SLO rule's matches in its window, a
//! sparkline per minute, pass/warn/fail) and the lines, pod-coloured, with rule matches
//! highlighted. Lines were sanitised on the way in; here they are only cut to the pane.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::sanitize::clean;
use crate::model::slo::{GateState, RuleVerdict};
use crate::ui::context::{Context, Handled, Request};
use crate::ui::panes::Pane;

/// The log panes' own commands (their state lives in the context: the panes keep
/// streaming while other screens are shown); `No` lets the overview's and the global
/// meaning apply.
pub fn on_command(command: Command, ctx: &mut Context, area: Rect, out: &mut Vec<Request>, now: Timestamp) -> Handled {
    match command {
        Command::NextPane => ctx.logs.cycle(1),
        Command::PrevPane => ctx.logs.cycle(-1),
        Command::ToggleLayout => ctx.logs.side_by_side = !ctx.logs.side_by_side,
        Command::ClosePane => {
            ctx.logs.close_focused();
            if ctx.logs.panes.is_empty() {
                out.push(Request::Pop);
            }
        }
        Command::Search | Command::Filter => {
            if ctx.logs.focused().is_some() {
                out.push(Request::OpenLogFilter { search: command == Command::Search });
            }
        }
        Command::SearchNext | Command::SearchPrev => {
            let older = command == Command::SearchPrev;
            if let Some(pane) = ctx.logs.focused()
                && !pane.jump_to_match(older)
            {
                let what = if older { "no earlier match" } else { "no later match" };
                ctx.say(what, now);
            }
        }
        _ => {
            let page = page(ctx, area).max(1) as isize;
            let Some(pane) = ctx.logs.focused() else { return Handled::No };
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
                _ => return Handled::No,
            }
        }
    }
    Handled::Yes
}

/// Where each pane goes in `area`: side by side or stacked, in equal shares.
fn pane_areas(ctx: &Context, area: Rect) -> std::rc::Rc<[Rect]> {
    let count = ctx.logs.panes.len().max(1);
    let constraints = vec![Constraint::Ratio(1, count as u32); count];
    if ctx.logs.side_by_side {
        Layout::horizontal(constraints).split(area)
    } else {
        Layout::vertical(constraints).split(area)
    }
}

/// Log lines one page shows: the first pane's body (inside its borders, under its rules line).
pub fn page(ctx: &Context, area: Rect) -> usize {
    pane_areas(ctx, area).first().map_or(1, |a| a.height.saturating_sub(3) as usize)
}

pub fn draw(ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    let areas = pane_areas(ctx, area);
    let focus = ctx.logs.focus;
    let theme = &ctx.theme;
    for (i, (pane, rect)) in ctx.logs.panes.iter().zip(areas.iter()).enumerate() {
        draw_pane(theme, pane, i == focus, frame, *rect, now);
    }
}

pub fn gate_style(theme: &Theme, state: GateState) -> Style {
    match state {
        GateState::Pass => theme.style("state.ok"),
        GateState::Warn => theme.style("state.warn"),
        GateState::Fail => theme.style("state.error"),
    }
}

pub(super) fn draw_pane(theme: &Theme, pane: &Pane, focused: bool, frame: &mut Frame, area: Rect, now: Timestamp) {
    let border = if focused { theme.style("ui.border.focus") } else { theme.style("ui.border") };
    let block = Block::default().borders(Borders::ALL).border_style(border).title(title(theme, pane));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let verdicts = pane.verdicts(now);
    let strip_height = verdicts.len().min(inner.height.saturating_sub(1) as usize) as u16;
    let [strip, body] = Layout::vertical([Constraint::Length(strip_height), Constraint::Min(0)]).areas(inner);
    let strip_lines: Vec<Line> = verdicts.iter().map(|v| rule_line(theme, v)).collect();
    frame.render_widget(Paragraph::new(strip_lines), strip);
    frame.render_widget(lines(theme, pane, body), body);
}

fn title<'a>(theme: &Theme, pane: &Pane) -> Line<'a> {
    // In a fleet the same service runs in several clusters: the title says whose pods these are.
    let name = match &pane.key.cluster {
        Some(cluster) => format!(" {}/{} in {cluster} ", pane.key.namespace, pane.key.name),
        None => format!(" {}/{} ", pane.key.namespace, pane.key.name),
    };
    let mut spans = vec![Span::styled(clean(&name), theme.style("ui.title"))];
    let state = if pane.follow { "following" } else { "paused" };
    spans.push(Span::styled(format!("· {} streams · {state} ", pane.streams), theme.style("ui.text.dim")));
    if let Some(filter) = &pane.filter {
        spans.push(Span::styled(clean(&format!("· filter /{}/ ", filter.as_str())), theme.style("ui.match")));
    }
    if let Some(search) = &pane.search {
        spans.push(Span::styled(clean(&format!("· search /{}/ ", search.as_str())), theme.style("ui.match")));
    }
    if let Some((wanted, cap)) = pane.capped {
        spans.push(Span::styled(format!("· capped: {cap} of {wanted} containers "), theme.style("state.warn")));
    }
    if let Some(cause) = &pane.interrupted {
        spans.push(Span::styled(clean(&format!("· reconnecting ({cause}) ")), theme.style("state.stale")));
    }
    Line::from(spans)
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▁▁▃█` from counts per minute, scaled to the busiest minute.
pub fn sparkline(counts: &[u32]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts.iter().map(|&c| if c == 0 { ' ' } else { SPARKS[((c * 7) / max) as usize] }).collect()
}

fn rule_line<'a>(theme: &Theme, v: &RuleVerdict) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{} ", v.state.label()), gate_style(theme, v.state).add_modifier(Modifier::BOLD)),
        Span::styled(clean(&format!("{} ", v.rule)), theme.style("ui.text")),
        Span::styled(format!("{:>4} ", v.matches), theme.style("ui.text")),
        Span::styled(sparkline(&v.per_minute), gate_style(theme, v.state)),
        Span::styled(clean(&format!(" {}", v.detail)), theme.style("ui.text.dim")),
    ])
}

fn lines<'a>(theme: &Theme, pane: &Pane, body: Rect) -> Paragraph<'a> {
    let visible = pane.visible();
    let height = body.height as usize;
    let end = visible.len().saturating_sub(pane.scroll_back.min(visible.len()));
    let start = end.saturating_sub(height);
    let width = body.width.max(1) as usize;
    let mut out = Vec::with_capacity(height);
    for &i in &visible[start..end] {
        let Some(record) = pane.buffer.get(i) else { continue };
        let colour = pane.pod_colours.get(&record.pod).copied().unwrap_or(0);
        let mut spans = Vec::new();
        if pane.timestamps {
            spans.push(Span::styled(format!("{} ", record.at.strftime("%H:%M:%S")), theme.style("log.timestamp")));
        }
        spans.push(Span::styled(format!("{} ", short_pod(&record.pod)), theme.log_pod_style(colour)));
        let text = pane.buffer.display(i, width * 4).unwrap_or_default().into_owned();
        let found = pane.search.as_ref().is_some_and(|s| s.is_match(&record.line));
        let matched = pane.rules.as_ref().is_some_and(|r| !r.matching(&record.line).is_empty());
        match (found, matched, &record.coloured) {
            (true, _, _) => spans.push(Span::styled(text, theme.style("log.search"))),
            (false, true, _) => spans.push(Span::styled(text, theme.style("log.match"))),
            // The pod's own colours, when the theme keeps them (sanitised to plain SGR).
            (false, false, Some(coloured)) => {
                let cut = crate::model::sanitize::cut_for_display(coloured, width * 8);
                spans.extend(crate::ui::sgr::spans(&cut, theme.style("ui.text")));
            }
            (false, false, None) => spans.push(Span::styled(text, theme.style("ui.text"))),
        }
        out.push(Line::from(spans));
    }
    let paragraph = Paragraph::new(out);
    if pane.wrap { paragraph.wrap(Wrap { trim: false }) } else { paragraph }
}

/// The part of a pod name that tells replicas apart (`backend-7d9f-x2k4p` → `x2k4p`).
fn short_pod(pod: &str) -> String {
    clean(pod.rsplit('-').next().unwrap_or(pod))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_busiest_minute() {
        assert_eq!(sparkline(&[0, 1, 2, 4]), " ▂▄█");
        assert_eq!(sparkline(&[0, 0]), "  ");
    }
}
