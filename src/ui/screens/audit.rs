//! The audit trail: every attempted change, newest first, as the data dir records it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::config::commands::Command;
use crate::model::sanitize::clean;
use crate::ui::context::{Context, Handled};

/// Entries one page shows in `area` (under the title rule and the header).
pub fn page(area: Rect) -> usize {
    area.height.saturating_sub(2) as usize
}

/// The audit trail, newest first.
#[derive(Debug, Default)]
pub struct AuditScreen {
    pub scroll: usize,
}

impl AuditScreen {
    /// Scrolling the list.
    pub fn on_command(&mut self, command: Command, area: Rect) -> Handled {
        super::scroll_by(&mut self.scroll, command, page(area))
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        draw(self, ctx, frame, area);
    }
}

fn draw(state: &AuditScreen, ctx: &Context, frame: &mut Frame, area: Rect) {
    let theme = &ctx.theme;
    let scroll = &state.scroll;
    let title = format!(" Audit trail · {} attempts ", ctx.audit.len());
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.style("ui.title")))
        .border_style(theme.style("ui.border"));
    let mut lines = vec![Line::from(Span::styled(
        format!("{:<20} {:<16} {:<36} {:<18} OUTCOME", "TIME", "ACTION", "TARGET", "CHANGE"),
        theme.style("ui.header"),
    ))];
    if ctx.audit.is_empty() {
        lines.push(Line::from(Span::styled("no change has been attempted yet", theme.style("ui.text.dim"))));
    }
    for e in ctx.audit.iter().rev() {
        let key = match e.outcome.as_str() {
            "applied" => "state.ok",
            "dry-run" | "declined" => "ui.text",
            _ => "state.warn",
        };
        let change = match (&e.before, &e.after) {
            (serde_json::Value::Null, serde_json::Value::Null) => String::new(),
            (before, after) => format!("{} → {}", compact(before), compact(after)),
        };
        let time: String = e.time.chars().take(19).collect();
        lines.push(Line::from(Span::styled(
            format!("{time:<20} {:<16} {:<36} {change:<18} {}", clean(&e.action), clean(&e.target), clean(&e.outcome)),
            theme.style(key),
        )));
    }
    let scroll = (*scroll).min(lines.len().saturating_sub(1)) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

/// `{"replicas": 3}` → `3`; anything else as compact JSON.
fn compact(value: &serde_json::Value) -> String {
    match value.as_object().filter(|o| o.len() == 1).and_then(|o| o.values().next()) {
        Some(only) => only.to_string(),
        None => value.to_string(),
    }
}
