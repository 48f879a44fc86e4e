//! The terminal's one owner. Entering puts it in raw mode on the alternate screen; every
//! way out — normal exit, error, panic, SIGINT/SIGTERM/SIGHUP — puts it back, so a dropped
//! SSH session or a crash never leaves the operator's shell unusable.

use std::io::{self, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::{cursor, event, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is currently in cockpit mode (raw + alternate screen). Global
/// because the panic hook must see it, and there is only one terminal.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

pub type CockpitTerminal = Terminal<CrosstermBackend<io::Stdout>>;

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub terminal: CockpitTerminal,
}

impl TerminalGuard {
    /// Installs the panic hook first (so a panic during set-up is covered too), then
    /// switches the terminal to cockpit mode.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, terminal::EnterAlternateScreen, cursor::Hide, event::EnableBracketedPaste) {
            restore();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(stdout)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back the way the shell expects it. Safe to call more than once and
/// from a panic hook; errors are ignored because the terminal may already be gone (SIGHUP).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    let _ = execute!(stdout, event::DisableBracketedPaste, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = terminal::disable_raw_mode();
    let _ = stdout.flush();
}

fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first so the report is readable and the shell usable.
            restore();
            previous(info);
        }));
    });
}
