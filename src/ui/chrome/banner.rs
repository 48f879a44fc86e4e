//! The banner above every screen while the profile does not load: what is wrong with it,
//! line by line, and that every change is refused until it loads. It stays until the
//! operator hides it; the status line keeps saying it after that.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::config::commands::Command;
use crate::config::commands::Mode;
use crate::model::sanitize::clean;
use crate::ui::context::Context;

/// At most this many problems are listed; the rest are counted (`config check` has all).
const MAX_LINES: usize = 5;

/// Rows the banner takes in `area`: none when hidden, and never more than a third of the
/// screen, so the overview stays usable on a small terminal.
pub fn height(ctx: &Context, area: Rect) -> u16 {
    let Some(problems) = ctx.banner() else { return 0 };
    let shown = problems.len().min(MAX_LINES) + usize::from(problems.len() > MAX_LINES);
    let wanted = u16::try_from(shown + 3).unwrap_or(u16::MAX);
    wanted.min(area.height / 3).max(3.min(area.height))
}

pub fn draw(ctx: &Context, mode: Mode, frame: &mut Frame, area: Rect) {
    let Some(problems) = ctx.banner() else { return };
    if area.height == 0 {
        return;
    }
    let theme = &ctx.theme;
    let key = |command: Command| ctx.keymap.keys_for(mode, command).first().cloned();
    let hide = key(Command::Back).map_or_else(String::new, |k| format!("{k} hides this"));
    let reload = key(Command::ReloadProfile).map_or_else(String::new, |k| format!("{k} reads it again"));
    let title = format!(
        " profile does not load: every change is refused until it does (its guards are unknown) · {} ",
        [hide, reload].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")
    );
    let mut lines: Vec<Line> =
        problems.iter().take(MAX_LINES).map(|p| Line::from(Span::styled(clean(p), theme.style("ui.text")))).collect();
    if problems.len() > MAX_LINES {
        let more = format!("… and {} more: `kubectl cockpit config check` lists them all", problems.len() - MAX_LINES);
        lines.push(Line::from(Span::styled(more, theme.style("ui.hint"))));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("ui.error"))
        .title(Span::styled(title, theme.style("ui.error")));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
