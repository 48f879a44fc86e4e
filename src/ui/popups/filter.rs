//! The filter line under the screen: the overview's filter (narrowing the rows as it is
//! typed), or the focused log pane's filter or search regex (an invalid one keeps the
//! previous one, and the status line says why).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui_textarea::TextArea;

use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::ui::context::{Context, Handled, Request, raw_text, text_input};

/// `/` on the overview: the filter typed, with what to go back to on Esc.
pub struct FilterPopup {
    pub input: TextArea<'static>,
    pub before: String,
}

impl FilterPopup {
    pub fn new(current: &str) -> FilterPopup {
        let mut input = text_input("filter");
        input.insert_str(current);
        FilterPopup { input, before: current.to_string() }
    }

    pub fn on_command(&mut self, command: Command, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm | Command::Back => out.push(Request::Close),
            Command::Cancel => {
                out.push(Request::RestoreFilter(std::mem::take(&mut self.before)));
                out.push(Request::Close);
            }
            _ => {}
        }
        Handled::Yes
    }

    /// Typing narrows the rows at once.
    pub fn after_text_change(&self, out: &mut Vec<Request>) {
        out.push(Request::Filter(raw_text(&self.input)));
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        draw_filter(&ctx.theme, &self.input, frame, area);
    }
}

/// `/` or `s` on the log panes: the focused pane's filter (or search) regex.
pub struct LogFilterPopup {
    pub input: TextArea<'static>,
    pub before: Option<regex::Regex>,
    pub error: Option<String>,
    /// The search (highlight, `n`/`N`) rather than the filter.
    pub search: bool,
}

impl LogFilterPopup {
    /// For the focused pane; `None` without one.
    pub fn new(ctx: &mut Context, search: bool) -> Option<LogFilterPopup> {
        let pane = ctx.logs.focused()?;
        let before = if search { pane.search.clone() } else { pane.filter.clone() };
        let mut input = text_input(if search { "search regex" } else { "filter regex" });
        input.insert_str(before.as_ref().map_or("", |r| r.as_str()));
        Some(LogFilterPopup { input, before, error: None, search })
    }

    pub fn on_command(&mut self, command: Command, ctx: &mut Context, out: &mut Vec<Request>) -> Handled {
        match command {
            Command::Confirm | Command::Back => out.push(Request::Close),
            Command::Cancel => {
                let before = self.before.take();
                self.set_regex(ctx, before);
                out.push(Request::Close);
            }
            _ => {}
        }
        Handled::Yes
    }

    /// Typing applies each complete regex at once; an incomplete one keeps the previous.
    pub fn after_text_change(&mut self, ctx: &mut Context) {
        let text = raw_text(&self.input);
        let parsed = if text.is_empty() { Ok(None) } else { regex::Regex::new(&text).map(Some) };
        match parsed {
            Ok(re) => {
                self.error = None;
                self.set_regex(ctx, re);
            }
            // The pane keeps its previous regex while this one is incomplete.
            Err(e) => self.error = Some(first_line(&e.to_string())),
        }
    }

    fn set_regex(&self, ctx: &mut Context, re: Option<regex::Regex>) {
        if let Some(pane) = ctx.logs.focused() {
            *if self.search { &mut pane.search } else { &mut pane.filter } = re;
        }
    }

    /// The line, and over the status line why the regex is not taken (if it is not).
    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, status: Rect) {
        draw_filter(&ctx.theme, &self.input, frame, area);
        if let Some(error) = &self.error {
            let text = format!("invalid regex (previous filter kept): {error}");
            frame.render_widget(ratatui::widgets::Clear, status);
            frame.render_widget(Span::styled(text, ctx.theme.style("ui.error")), status);
        }
    }
}

fn draw_filter(theme: &Theme, input: &TextArea, frame: &mut Frame, area: Rect) {
    let [label, field] = Layout::horizontal([Constraint::Length(8), Constraint::Min(1)]).areas(area);
    frame.render_widget(Span::styled(" filter:", theme.style("ui.hint.key")), label);
    frame.render_widget(input, field);
}

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text).trim().to_string()
}
