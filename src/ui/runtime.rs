//! The event loop: terminal input, model updates from the cluster session, signals and a
//! slow clock become messages to the [`App`]; the screen is redrawn only when something
//! changed (idle means no frames written) and never faster than the frame cap, so a burst
//! of cluster changes cannot flood a slow SSH link.

use std::time::Duration;

use color_eyre::Result;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::time::{Instant, sleep_until};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::app::App;
use super::panes;
use super::terminal::TerminalGuard;
use crate::cluster::session::SessionHandle;
use crate::effects::{Effect, Effects, RunbookSetup};

/// Set in the environment, the cockpit panics right after its first frame: the only way for
/// a test to prove that a panic (a bug) still leaves the operator's terminal usable.
const PANIC_AFTER_FIRST_FRAME: &str = "KUBECTL_COCKPIT_TEST_PANIC";

/// How often time-dependent text (ages, "reconnecting 12 s") is refreshed when nothing
/// else happens. A redraw that changes no cell writes no bytes.
const CLOCK: Duration = Duration::from_secs(1);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Quit,
    Signal(crate::exit::Signal),
    InputClosed,
}

pub async fn run(mut app: App, mut session: SessionHandle, max_fps: u32, setup: RunbookSetup) -> Result<Ending> {
    let (mut effects, mut results) = Effects::start(setup);
    // Signals first: a SIGHUP during set-up must still restore the terminal.
    let mut terminations = crate::exit::Terminations::listen()?;
    let mut guard = TerminalGuard::enter()?;
    app.resize(guard.terminal.size()?.into());
    let mut input = EventStream::new();
    let frame = Duration::from_secs(1) / max_fps.clamp(1, 240);
    let mut last_draw = Instant::now() - frame;
    let mut last_key_draw = last_draw;
    let mut dirty = true;
    let mut screen = QuietFrame::default();
    let mut session_open = true;
    let mut clock = tokio::time::interval(CLOCK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let ending = loop {
        let draw_at = dirty.then_some(last_draw + frame);
        tokio::select! {
            biased;
            signal = terminations.next() => break Ending::Signal(signal),
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    let asked = app.handle_key(key, jiff::Timestamp::now());
                    if apply_effects(&mut app, &session, &mut effects, &mut guard, asked) {
                        break Ending::Quit;
                    }
                    follow_logs(&mut app, &mut effects, &session);
                    // The frame cap is for the cluster's bursts, not the operator: a key is
                    // answered at once, never behind a frame just drawn for a pod update. A
                    // flood of keys (a held arrow, an unbracketed paste) is capped as well.
                    if last_key_draw.elapsed() >= frame {
                        screen.draw(&mut guard, &app)?;
                        last_draw = Instant::now();
                        last_key_draw = last_draw;
                        dirty = false;
                    } else {
                        dirty = true;
                    }
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    app.handle_paste(&text);
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    guard.terminal.autoresize()?;
                    app.resize(Rect::new(0, 0, width, height));
                    screen.forget();
                    dirty = true;
                }
                Some(Ok(_)) => {}
                // The terminal went away (e.g. SSH dropped before SIGHUP arrived).
                Some(Err(_)) | None => break Ending::InputClosed,
            },
            changed = session.views.changed(), if session_open => {
                if changed.is_err() {
                    // The session ended; keep showing the last view.
                    session_open = false;
                    continue;
                }
                let view = session.views.borrow_and_update().clone();
                app.set_view(view);
                follow_logs(&mut app, &mut effects, &session);
                dirty = true;
            }
            Some((id, event)) = results.logs.recv() => {
                if id >= panes::WATCH_ID_BASE {
                    app.slo_watches.on_event(id, event);
                } else {
                    app.logs.on_event(id, event);
                }
                dirty = true;
            }
            Some(event) = results.jobs.recv() => {
                let asked = app.on_job(event);
                dirty = true;
                if apply_effects(&mut app, &session, &mut effects, &mut guard, asked) {
                    break Ending::Quit;
                }
            }
            Some(event) = results.runs.recv() => {
                app.on_runner(event);
                follow_logs(&mut app, &mut effects, &session);
                dirty = true;
            }
            _ = clock.tick() => {
                dirty |= app.clock_matters();
            }
            _ = sleep_until(draw_at.unwrap_or_else(Instant::now)), if draw_at.is_some() => {
                screen.draw(&mut guard, &app)?;
                last_draw = Instant::now();
                dirty = false;
                if std::env::var_os(PANIC_AFTER_FIRST_FRAME).is_some() {
                    panic!("{PANIC_AFTER_FIRST_FRAME} is set: panicking on purpose after the first frame");
                }
            }
        }
    };
    drop(guard);
    Ok(ending)
}

/// Renders into the terminal's own back buffer and hands it to the terminal only when a
/// cell differs from what it already shows. ratatui writes colour resets and cursor
/// commands on every applied frame, even an identical one; this keeps an idle cockpit (and
/// one whose cluster changes nothing visible) completely silent on the wire. Rendering in
/// place, not into a second off-screen terminal, spares that terminal's diff and cell
/// copies on every view the cluster sends (a third of the cost of drawing under churn).
#[derive(Default)]
struct QuietFrame {
    /// What the terminal shows; `None` when unknown (before the first frame, after a resize).
    shown: Option<Buffer>,
}

impl QuietFrame {
    fn draw(&mut self, guard: &mut TerminalGuard, app: &App) -> Result<()> {
        let terminal = &mut guard.terminal;
        terminal.autoresize()?;
        app.draw(&mut terminal.get_frame(), jiff::Timestamp::now());
        let next = terminal.current_buffer_mut();
        if self.shown.as_ref() == Some(&*next) {
            // Left as the terminal leaves a buffer it swapped out: blank for the next frame.
            next.reset();
            return Ok(());
        }
        match &mut self.shown {
            Some(shown) => shown.clone_from(next),
            None => self.shown = Some(next.clone()),
        }
        terminal.apply_buffer()?;
        Ok(())
    }

    /// After a resize the terminal content is unknown: draw in full next time.
    fn forget(&mut self) {
        self.shown = None;
    }
}

/// Performs what the app asked for; returns true when the app should end.
fn apply_effects(
    app: &mut App,
    session: &SessionHandle,
    effects: &mut Effects,
    guard: &mut TerminalGuard,
    asked: Vec<Effect>,
) -> bool {
    let mut quit = false;
    for effect in asked {
        match effect {
            Effect::Quit => quit = true,
            Effect::Copy(text) => {
                if let Err(e) = copy_to_clipboard(guard, &text) {
                    app.report_error(format!("could not copy: {e}"));
                }
            }
            other => {
                if let Err(why) = effects.perform(other, session) {
                    app.report_error(why);
                }
            }
        }
    }
    quit
}

/// The log streams follow the open panes and the SLO watches, and the services' pods now.
fn follow_logs(app: &mut App, effects: &mut Effects, session: &SessionHandle) {
    let wanted = app.wanted_logs();
    let followed = effects.follow_logs(&wanted, &app.view.services, session);
    app.logs.set_followed(&followed);
}

/// OSC 52: the terminal (the operator's, at the far end of SSH) puts `text` on its clipboard.
fn copy_to_clipboard(guard: &mut TerminalGuard, text: &str) -> std::io::Result<()> {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let backend = guard.terminal.backend_mut();
    write!(backend, "\x1b]52;c;{encoded}\x07")?;
    backend.flush()
}
