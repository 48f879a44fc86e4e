//! One frame of the cockpit, composed: the banner, the screen on top, the status line,
//! the popup and the which-key menu. Drawing reads state and never changes it; only the
//! semantic theme keys are used, never raw colours.

use crossterm::event::KeyEvent;
use jiff::Timestamp;
use ratatui::Frame;

use super::chrome::{banner, statusline};
use super::context::Context;
use super::layout::parts;
use super::popups::{Overlay, which_key};
use super::screens::Screen;
use super::screens::overview::OverviewScreen;
use crate::config::commands::Mode;

/// What one frame shows.
pub struct Shown<'a> {
    pub ctx: &'a Context,
    pub overview: &'a OverviewScreen,
    pub screen: &'a Screen,
    pub overlay: Option<&'a Overlay>,
    pub pending: &'a [KeyEvent],
    /// The mode of what has the keyboard, and of the screen under any popup.
    pub mode: Mode,
    pub screen_mode: Mode,
}

pub fn draw(shown: Shown<'_>, frame: &mut Frame, now: Timestamp) {
    let Shown { ctx, overview, screen, overlay, pending, mode, screen_mode } = shown;
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::default().style(ctx.theme.style("ui.text")), area);
    let filtering = matches!(overlay, Some(Overlay::Filter(_) | Overlay::LogFilter(_)));
    let [banner_area, main, input, status] = parts(ctx, area, filtering);
    banner::draw(ctx, mode, frame, banner_area);
    screen.draw(overview, ctx, frame, main, now);
    statusline::draw(ctx, mode, screen.hints(), frame, status, now);
    if let Some(overlay) = overlay {
        overlay.draw(ctx, screen_mode, frame, [main, input, status], now);
    }
    if !pending.is_empty() {
        which_key::draw(ctx, pending, mode, frame, main);
    }
}
