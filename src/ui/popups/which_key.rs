//! After a prefix key (Space, r, …): the menu of what can follow it, from the keymap.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::frame::popup_block;
use crate::config::commands::Mode;
use crate::config::keymap::Lookup;
use crate::ui::context::Context;

/// After a prefix key: what can follow it.
pub fn draw(ctx: &Context, pending: &[KeyEvent], mode: Mode, frame: &mut Frame, area: Rect) {
    let theme = &ctx.theme;
    let Some((last, before)) = pending.split_last() else { return };
    let Lookup::Pending(menu) = ctx.keymap.lookup(mode, before, *last) else { return };
    let bindings = menu.bindings();
    let lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:>6}  ", b.keys), theme.style("ui.hint.key")),
                Span::styled(b.description.to_string(), theme.style("ui.text")),
            ])
        })
        .collect();
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + area.width.saturating_sub(52),
        y: area.y + area.height - height,
        width: 52.min(area.width),
        height,
    };
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", menu.name().unwrap_or("more"));
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, title)), rect);
}
