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
use ratatui::layout::{Constraint, Layout};

use super::app::{App, Overlay, Screen};
use crate::model::sanitize::clean;

pub fn draw(app: &mut App, frame: &mut Frame, now: Timestamp) {
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::default().style(app.theme.style("ui.text")), area);
    let filtering = matches!(app.overlay, Some(Overlay::Filter { .. } | Overlay::LogFilter { .. }));
    let banner_height = banner::height(app, area);
    let [banner_area, main, input, status] = Layout::vertical([
        Constraint::Length(banner_height),
        Constraint::Min(1),
        Constraint::Length(u16::from(filtering)),
        Constraint::Length(1),
    ])
    .areas(area);
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
