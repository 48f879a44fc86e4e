//! Popups over the current screen. Each is its own type with its state, its commands and
//! its drawing; text-entry popups own the keyboard.

pub mod change_wizard;
pub mod choices;
pub mod drain;
pub mod filter;
pub mod frame;
pub mod help;
pub mod revisions;
pub mod runbook_entry;
pub mod which_key;

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use crate::actions::rollout::RolloutRequest;
use crate::config::commands::{Command, Mode};
use crate::model::service::Service;
use crate::ui::context::{Context, Handled, Request};
use change_wizard::ChangeWizard;
use choices::{PalettePopup, PickerPopup};
use drain::DrainWizard;
use filter::{FilterPopup, LogFilterPopup};
use help::HelpPopup;
use revisions::{Opened, RevisionChooser, RevisionSource};
use runbook_entry::{ConfirmName, ResumeOffer, RunParams, SkipReason};

/// The popup open over the screen, if any.
pub enum Overlay {
    Help(HelpPopup),
    Palette(PalettePopup),
    Picker(PickerPopup),
    Filter(FilterPopup),
    /// The focused log pane's filter regex; an invalid one keeps the previous filter.
    LogFilter(LogFilterPopup),
    Action(Box<ChangeWizard>),
    /// A node's drain: guards, dry-run, confirmation, progress.
    Drain(Box<DrainWizard>),
    RunParams(RunParams),
    RunConfirmName(ConfirmName),
    SkipReason(SkipReason),
    /// An interrupted run found at start: resume it?
    ResumeOffer(ResumeOffer),
    Revisions(RevisionChooser),
}

impl Overlay {
    /// What a change key opens for `service`: its wizard, or the revisions to choose from;
    /// or what to say instead (no autoscaler, no Helm release).
    pub fn for_change(command: Command, service: &Service) -> Result<Overlay, String> {
        let wizard = |w: ChangeWizard| Ok(Overlay::Action(Box::new(w)));
        match command {
            Command::Scale => wizard(ChangeWizard::scale(service)),
            Command::SetImage => wizard(ChangeWizard::image(service)),
            Command::HpaBounds => ChangeWizard::bounds(service).and_then(wizard),
            Command::RolloutRestart => wizard(ChangeWizard::rollout(service, RolloutRequest::Restart)),
            Command::RolloutPause => wizard(ChangeWizard::rollout(service, RolloutRequest::Pause)),
            Command::RolloutResume => wizard(ChangeWizard::rollout(service, RolloutRequest::Resume)),
            Command::ResumeGitOps => ChangeWizard::resume_gitops(service).and_then(wizard),
            _ => {
                let source =
                    if command == Command::HelmRollback { RevisionSource::Helm } else { RevisionSource::Rollout };
                match RevisionChooser::open(service, source) {
                    Opened::Chooser(chooser) => Ok(Overlay::Revisions(chooser)),
                    Opened::Wizard(wizard) => Ok(Overlay::Action(wizard)),
                    Opened::Nothing(why) => Err(why),
                }
            }
        }
    }

    /// The keymap mode while it is open; `None`: the screen's (help lets its keys through).
    pub fn mode(&self) -> Option<Mode> {
        match self {
            Overlay::Palette(_) | Overlay::Picker(_) | Overlay::Revisions(_) => Some(Mode::Palette),
            Overlay::Filter(_)
            | Overlay::LogFilter(_)
            | Overlay::Action(_)
            | Overlay::Drain(_)
            | Overlay::RunParams(_)
            | Overlay::RunConfirmName(_)
            | Overlay::SkipReason(_)
            | Overlay::ResumeOffer(_) => Some(Mode::Input),
            Overlay::Help(_) => None,
        }
    }

    /// The line typing goes to, if it takes typing now.
    pub fn input_mut(&mut self) -> Option<&mut TextArea<'static>> {
        match self {
            Overlay::Palette(p) => Some(&mut p.input),
            Overlay::Picker(p) => Some(&mut p.input),
            Overlay::Filter(f) => Some(&mut f.input),
            Overlay::LogFilter(f) => Some(&mut f.input),
            Overlay::RunParams(p) => Some(&mut p.input),
            Overlay::RunConfirmName(c) => Some(&mut c.input),
            Overlay::SkipReason(s) => Some(&mut s.input),
            Overlay::Action(w) => w.input_mut(),
            Overlay::Drain(d) => d.input_mut(),
            Overlay::Help(_) | Overlay::ResumeOffer(_) | Overlay::Revisions(_) => None,
        }
    }

    /// Live effects of typing: the filter narrows the rows, the lists go back to the top.
    pub fn after_text_change(&mut self, ctx: &mut Context, out: &mut Vec<Request>) {
        match self {
            Overlay::Filter(f) => f.after_text_change(out),
            Overlay::Palette(p) => p.selected = 0,
            Overlay::Picker(p) => p.selected = 0,
            Overlay::LogFilter(f) => f.after_text_change(ctx),
            _ => {}
        }
    }

    /// Its commands; everything but help takes every command (what it does not use is not
    /// a command there).
    pub fn on_command(
        &mut self,
        command: Command,
        ctx: &mut Context,
        out: &mut Vec<Request>,
        now: Timestamp,
    ) -> Handled {
        match self {
            Overlay::Help(h) => h.on_command(command, out),
            Overlay::Palette(p) => p.on_command(command, out),
            Overlay::Picker(p) => p.on_command(command, ctx, out),
            Overlay::Filter(f) => f.on_command(command, out),
            Overlay::LogFilter(f) => f.on_command(command, ctx, out),
            Overlay::Action(w) => w.on_command(command, ctx, out, now),
            Overlay::Drain(d) => d.on_command(command, ctx, out, now),
            Overlay::RunParams(p) => p.on_command(command, out),
            Overlay::RunConfirmName(c) => c.on_command(command, ctx, out),
            Overlay::SkipReason(s) => s.on_command(command, ctx, out),
            Overlay::ResumeOffer(r) => r.on_command(command, out),
            Overlay::Revisions(c) => c.on_command(command, ctx, out),
        }
    }

    /// Draws it over `main`; the filters go on the `input` line (and a regex error over
    /// `status`). `screen_mode` is the mode of the screen under it.
    pub fn draw(
        &self,
        ctx: &Context,
        screen_mode: Mode,
        frame: &mut Frame,
        [main, input, status]: [Rect; 3],
        now: Timestamp,
    ) {
        match self {
            Overlay::Help(h) => h.draw(ctx, screen_mode, frame, main),
            Overlay::Palette(p) => p.draw(ctx, screen_mode, frame, main),
            Overlay::Picker(p) => p.draw(ctx, frame, main),
            Overlay::Filter(f) => f.draw(ctx, frame, input),
            Overlay::LogFilter(f) => f.draw(ctx, frame, input, status),
            Overlay::Action(w) => w.draw(ctx, frame, main),
            Overlay::Drain(d) => d.draw(ctx, frame, main),
            Overlay::RunParams(p) => p.draw(ctx, frame, main),
            Overlay::RunConfirmName(c) => c.draw(ctx, frame, main),
            Overlay::SkipReason(s) => s.draw(ctx, frame, main),
            Overlay::ResumeOffer(r) => r.draw(ctx, frame, main),
            Overlay::Revisions(c) => c.draw(ctx, frame, main, now),
        }
    }
}
