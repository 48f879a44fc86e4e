//! The full-screen views on the navigation stack. Each is its own type with its state, its
//! commands and its drawing; what they share is in the [`Context`].

pub mod audit;
pub mod budget;
pub mod detail;
pub mod findings;
pub mod logs;
pub mod nodes;
pub mod overview;
pub mod runbook;

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::config::commands::{Command, Mode};
use crate::ui::context::{Context, Handled, Request};
use audit::AuditScreen;
use budget::BudgetScreen;
use detail::DetailScreen;
use findings::FindingsScreen;
use nodes::NodesScreen;
use overview::OverviewScreen;

/// A full-screen view on the navigation stack. The overview's state lives beside the
/// stack (it is always at the bottom); the log panes' and the runbooks' in the context.
#[derive(Debug)]
pub enum Screen {
    Overview,
    Detail(DetailScreen),
    /// The audit trail, newest first.
    Audit(AuditScreen),
    /// The connection budget of every database in scope.
    Budget(BudgetScreen),
    /// Preflight findings across the scope, grouped by check.
    Findings(FindingsScreen),
    /// The live log panes.
    Logs,
    /// The runbooks, and the stepper of the one running.
    Runbook,
    /// The nodes with their drain previews.
    Nodes(NodesScreen),
}

impl Screen {
    /// The keymap mode while it is on top.
    pub fn mode(&self) -> Mode {
        match self {
            Screen::Overview => Mode::Overview,
            Screen::Detail(_) => Mode::Detail,
            Screen::Audit(_) => Mode::Audit,
            Screen::Budget(_) => Mode::Budget,
            Screen::Findings(_) => Mode::Findings,
            Screen::Logs => Mode::Logs,
            Screen::Runbook => Mode::Runbook,
            Screen::Nodes(_) => Mode::Nodes,
        }
    }

    /// The commands the status line offers while it is on top, with their labels (the
    /// keys come from the keymap, so a remapped key is what the hint shows).
    pub fn hints(&self) -> &'static [(Command, &'static str)] {
        // Every screen's own keys are one `?` away; the hint bar names only the way there.
        &[(Command::Help, "help"), (Command::CommandPalette, "commands")]
    }

    /// The same kind of screen (a second one of a kind is not pushed).
    pub fn same_kind(&self, other: &Screen) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Its own commands, offered before the overview's and the global ones; `area` is
    /// where it is drawn.
    pub fn on_command(
        &mut self,
        command: Command,
        ctx: &mut Context,
        area: Rect,
        out: &mut Vec<Request>,
        now: Timestamp,
    ) -> Handled {
        match self {
            Screen::Overview => Handled::No,
            Screen::Detail(s) => s.on_command(command, ctx, area, now),
            Screen::Audit(s) => s.on_command(command, area),
            Screen::Budget(s) => s.on_command(command, area),
            Screen::Findings(s) => s.on_command(command),
            Screen::Logs => logs::on_command(command, ctx, area, out, now),
            Screen::Runbook => runbook::on_command(command, ctx, out, now),
            Screen::Nodes(s) => s.on_command(command, ctx, out),
        }
    }

    pub fn draw(&self, overview: &OverviewScreen, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        match self {
            Screen::Overview => overview.draw(ctx, frame, area, now),
            Screen::Detail(s) => s.draw(ctx, frame, area, now),
            Screen::Audit(s) => s.draw(ctx, frame, area),
            Screen::Budget(s) => s.draw(ctx, frame, area),
            Screen::Findings(s) => s.draw(ctx, frame, area),
            Screen::Logs => logs::draw(ctx, frame, area, now),
            Screen::Runbook => runbook::draw(ctx, frame, area, now),
            Screen::Nodes(s) => s.draw(ctx, frame, area, now),
        }
    }
}

/// Scrolls a list by `command`, `page` lines to a page; `No` when it is not a move.
fn scroll_by(scroll: &mut usize, command: Command, page: usize) -> Handled {
    match scrolled(*scroll, command, page) {
        Some(to) => {
            *scroll = to;
            Handled::Yes
        }
        None => Handled::No,
    }
}

/// A list's scroll after `command`, `page` lines to a page; `None` when it is not a move.
fn scrolled(scroll: usize, command: Command, page: usize) -> Option<usize> {
    let page = page.max(1) as isize;
    let delta = match command {
        Command::MoveUp => -1,
        Command::MoveDown => 1,
        Command::PageUp => -page,
        Command::PageDown => page,
        Command::GoTop => isize::MIN / 2,
        Command::GoBottom => isize::MAX / 2,
        _ => return None,
    };
    Some(scroll.saturating_add_signed(delta).min(10_000))
}
