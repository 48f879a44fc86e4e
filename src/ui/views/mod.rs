//! Drawing: pure functions of the app state, the cluster view and the theme. Only the
//! semantic theme keys are used, never raw colours.

mod audit;
mod banner;
mod budget;
mod detail;
mod findings;
mod logs;
mod overview;
mod popups;
mod runbook;
mod statusline;

pub use statusline::{Connectivity, connectivity};

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Overlay, Screen};
use crate::model::sanitize::clean;

/// The screen's parts, top to bottom: the profile banner, the main view, the filter line
/// (while one is typed) and the status line.
fn parts(app: &App, area: Rect) -> [Rect; 4] {
    let filtering = matches!(app.overlay, Some(Overlay::Filter { .. } | Overlay::LogFilter { .. }));
    Layout::vertical([
        Constraint::Length(banner::height(app, area)),
        Constraint::Min(1),
        Constraint::Length(u16::from(filtering)),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The main view's area when the terminal is `area`.
pub fn main_area(app: &App, area: Rect) -> Rect {
    parts(app, area)[1]
}

/// How far PageUp/PageDown move on the current screen, from the layout its drawing uses.
pub fn page(app: &App, area: Rect) -> usize {
    let main = main_area(app, area);
    let rows = match app.screen() {
        Screen::Overview | Screen::Runbook => overview::page(main),
        Screen::Detail(_) => detail::page(main),
        Screen::Audit { .. } => audit::page(main),
        Screen::Budget { .. } => budget::page(main),
        Screen::Findings { .. } => findings::page(main),
        Screen::Logs => logs::page(app, main),
    };
    rows.max(1)
}

/// How far the detail in view may scroll, from the layout its drawing uses.
pub fn detail_max_scroll(app: &App, area: Rect, now: Timestamp) -> usize {
    detail::max_scroll(app, main_area(app, area), now)
}

pub fn draw(app: &App, frame: &mut Frame, now: Timestamp) {
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::default().style(app.theme.style("ui.text")), area);
    let [banner_area, main, input, status] = parts(app, area);
    banner::draw(app, frame, banner_area);
    match app.screen() {
        Screen::Overview => overview::draw(app, frame, main, now),
        Screen::Detail(_) => detail::draw(app, frame, main, now),
        Screen::Audit { .. } => audit::draw(app, frame, main),
        Screen::Budget { .. } => budget::draw(app, frame, main),
        Screen::Findings { .. } => findings::draw(app, frame, main),
        Screen::Logs => logs::draw(app, frame, main, now),
        Screen::Runbook => runbook::draw(app, frame, main, now),
    }
    if let Some(Overlay::Filter { input: text, .. }) = &app.overlay {
        popups::draw_filter(&app.theme, text, frame, input);
    }
    if let Some(Overlay::LogFilter { input: text, .. }) = &app.overlay {
        popups::draw_filter(&app.theme, text, frame, input);
    }
    statusline::draw(app, frame, status, now);
    if let Some(Overlay::LogFilter { error: Some(error), .. }) = &app.overlay {
        let text = format!("invalid regex (previous filter kept): {error}");
        frame.render_widget(ratatui::widgets::Clear, status);
        frame.render_widget(ratatui::text::Span::styled(text, app.theme.style("ui.error")), status);
    }
    match &app.overlay {
        Some(Overlay::Help { scroll }) => popups::draw_help(app, *scroll, frame, main),
        Some(Overlay::Palette { .. }) => popups::draw_palette(app, frame, main),
        Some(Overlay::Picker { .. }) => popups::draw_picker(app, frame, main),
        Some(Overlay::Action(_)) => popups::draw_action(app, frame, main),
        Some(Overlay::RunParams { name, input, error }) => {
            let help = "parameters as name=value, separated by spaces; enter starts the run, esc cancels";
            popups::draw_entry(
                &app.theme,
                format!(" Run {} ", clean(name)),
                help,
                error.as_deref(),
                input,
                frame,
                main,
            );
        }
        Some(Overlay::RunConfirmName { name, input }) => {
            let help = format!("type {} and press enter to send the change; esc: the step keeps waiting", clean(name));
            popups::draw_entry(&app.theme, " Confirm the change ".into(), &help, None, input, frame, main);
        }
        Some(Overlay::SkipReason { input }) => {
            let help = "the reason is recorded in the run state and the audit log";
            popups::draw_entry(&app.theme, " Skip this step ".into(), help, None, input, frame, main);
        }
        Some(Overlay::ResumeOffer(state)) => popups::draw_resume_offer(&app.theme, state, frame, main),
        Some(Overlay::Revisions(_)) => popups::draw_revisions(app, frame, main, now),
        _ => {}
    }
    if !app.pending.is_empty() {
        popups::draw_which_key(app, frame, main);
    }
}
