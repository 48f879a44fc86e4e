//! Where the parts of the screen go: the profile banner, the main view, the filter line
//! (while one is typed) and the status line. Drawing and paging use the same layout, so a
//! page is as tall as what is drawn.

use ratatui::layout::{Constraint, Layout, Rect};

use super::chrome::banner;
use super::context::Context;

/// The screen's parts in `area`, top to bottom: banner, main view, filter line, status line.
pub fn parts(ctx: &Context, area: Rect, filtering: bool) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(banner::height(ctx, area)),
        Constraint::Min(1),
        Constraint::Length(u16::from(filtering)),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The main view's area when the terminal is `area`.
pub fn main_area(ctx: &Context, area: Rect, filtering: bool) -> Rect {
    parts(ctx, area, filtering)[1]
}
