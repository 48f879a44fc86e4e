//! Help: every key of the screen under it, generated from the active keymap (never
//! hand-written), that screen's own keys first; over the overview, what its columns'
//! codes mean.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::frame::{centered, popup_block};
use crate::config::commands::{Command, Mode};
use crate::ui::context::{Context, Handled, Request};
use crate::ui::screens::overview::Col;

#[derive(Debug, Default)]
pub struct HelpPopup {
    pub scroll: usize,
}

impl HelpPopup {
    /// Scrolling and closing; other keys go to the screen under it.
    pub fn on_command(&mut self, command: Command, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::MoveDown => self.scroll += 1,
            Command::MoveUp => self.scroll = self.scroll.saturating_sub(1),
            Command::PageDown => self.scroll += 10,
            Command::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Command::Quit | Command::Back | Command::Cancel | Command::Help => out.push(Request::Close),
            _ => return Handled::No,
        }
        Handled::Yes
    }

    /// Every key of the screen under it (`mode`), straight from the keymap (never hand-written).
    pub fn draw(&self, ctx: &Context, mode: Mode, frame: &mut Frame, area: Rect) {
        let scroll = self.scroll;
        let theme = &ctx.theme;
        let mut bindings = ctx.keymap.bindings(mode);
        // This view's own keys first, then the ones that work everywhere.
        bindings.sort_by_key(|b| b.from_global);
        let mut lines: Vec<Line> = Vec::new();
        let mut last_global = None;
        for b in &bindings {
            if last_global != Some(b.from_global) {
                let title = if b.from_global { "everywhere" } else { mode.name() };
                if last_global.is_some() {
                    lines.push(Line::default());
                }
                lines.push(Line::from(Span::styled(title.to_string(), theme.style("ui.header"))));
                last_global = Some(b.from_global);
            }
            lines.push(Line::from(vec![
                Span::styled(format!("{:>12}  ", b.keys), theme.style("ui.hint.key")),
                Span::styled(format!("{:<22}", b.command.name()), theme.style("ui.text")),
                Span::styled(b.description.to_string(), theme.style("ui.text.dim")),
            ]));
        }
        // The overview's column codes after the keys (the keys are what help is opened for).
        if mode == Mode::Overview {
            legend(ctx, &mut lines);
        }
        let rect = centered(area, 92, area.height.saturating_sub(2).max(8));
        let title = format!(" Keys: {} (keymap {}) ", mode.name(), ctx.keymap.name());
        let scroll = scroll.min(lines.len().saturating_sub(1)) as u16;
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(lines).block(popup_block(theme, title)).scroll((scroll, 0)), rect);
    }
}

/// The overview's columns and their codes (`SRL`, `1/2`, `45%`, `FAIL`), from the columns'
/// own descriptions.
fn legend(ctx: &Context, lines: &mut Vec<Line<'static>>) {
    let theme = &ctx.theme;
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("columns", theme.style("ui.header"))));
    for col in Col::ALL.into_iter().filter(|&c| c != Col::Cluster || ctx.view.fleet.is_some()) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12}  ", col.header()), theme.style("ui.hint.key")),
            Span::styled(col.meaning().to_string(), theme.style("ui.text.dim")),
        ]));
    }
}
