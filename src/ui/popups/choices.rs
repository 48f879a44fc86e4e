//! Choosing from a fuzzy list: the command palette (every command, run on the screen
//! under it) and the namespace or context picker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::frame::draw_choices;
use crate::cluster::session::Intent;
use crate::config::commands::{COMMANDS, Command, Mode};
use crate::model::sanitize::clean;
use crate::ui::context::{ALL_NAMESPACES, Context, Handled, Request, raw_text, text_input, typed};
use crate::ui::fuzzy;

/// What a command does to a fuzzy list: moves its highlight, closes it (`Some(false)`),
/// takes the choice (`Some(true)`, closing it too), or nothing (`None`).
pub fn list_command(selected: &mut usize, command: Command, out: &mut Vec<Request>) -> Option<bool> {
    match command {
        Command::MoveDown => *selected += 1,
        Command::MoveUp => *selected = selected.saturating_sub(1),
        Command::PageDown => *selected += 10,
        Command::PageUp => *selected = selected.saturating_sub(10),
        Command::Confirm | Command::Cancel | Command::Back => {
            out.push(Request::Close);
            return Some(command == Command::Confirm);
        }
        _ => {}
    }
    None
}

/// `:`: every command by fuzzy name; Enter runs the best match on the screen under it.
pub struct PalettePopup {
    pub input: TextArea<'static>,
    pub selected: usize,
}

impl Default for PalettePopup {
    fn default() -> PalettePopup {
        PalettePopup { input: text_input("command"), selected: 0 }
    }
}

impl PalettePopup {
    pub fn on_command(&mut self, command: Command, out: &mut Vec<Request>) -> Handled {
        if list_command(&mut self.selected, command, out) == Some(true)
            && let Some((chosen, _)) = self.choices().get(self.selected())
        {
            out.push(Request::Run(*chosen));
        }
        Handled::Yes
    }

    /// Commands the palette offers for its query, best first.
    pub fn choices(&self) -> Vec<(Command, fuzzy::Match)> {
        let query = raw_text(&self.input);
        let candidates: Vec<Command> = COMMANDS
            .iter()
            .map(|c| c.command)
            .filter(|c| !matches!(c, Command::NoOp | Command::Confirm | Command::Cancel))
            .collect();
        fuzzy::rank(&query, &candidates, |c| c.name().to_string()).into_iter().map(|(c, m)| (*c, m)).collect()
    }

    pub fn selected(&self) -> usize {
        self.selected.min(self.choices().len().saturating_sub(1))
    }

    /// The commands for the query, each with its key on the screen under it.
    pub fn draw(&self, ctx: &Context, screen_mode: Mode, frame: &mut Frame, area: Rect) {
        let items = self
            .choices()
            .into_iter()
            .map(|(c, m)| {
                let keys = ctx.keymap.keys_for(screen_mode, c);
                let keys = keys.first().map_or(String::new(), |k| format!(" [{k}]"));
                (c.name().to_string(), format!("{}{keys}", c.description()), m)
            })
            .collect();
        draw_choices(&ctx.theme, frame, area, " Command ".into(), &self.input, items, self.selected());
    }
}

/// What a picker chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickerKind {
    Namespace,
    Context,
    /// A namespace of the overview's services, to go to (the scope stays).
    JumpToNamespace,
}

/// Space n / Space c: a namespace or context by fuzzy name (or as typed); Enter switches.
pub struct PickerPopup {
    pub kind: PickerKind,
    pub input: TextArea<'static>,
    pub selected: usize,
}

impl PickerPopup {
    pub fn new(kind: PickerKind) -> PickerPopup {
        let what = match kind {
            PickerKind::Namespace | PickerKind::JumpToNamespace => "namespace",
            PickerKind::Context => "context",
        };
        PickerPopup { kind, input: text_input(what), selected: 0 }
    }

    pub fn on_command(&mut self, command: Command, ctx: &Context, out: &mut Vec<Request>) -> Handled {
        if list_command(&mut self.selected, command, out) == Some(true) {
            let chosen = self.choices(ctx).get(self.selected(ctx)).map(|(c, _)| c.clone());
            let typed = Some(typed(&self.input)).filter(|t| !t.is_empty());
            if let Some(choice) = chosen.or(typed) {
                out.push(match self.kind {
                    PickerKind::Namespace if choice == ALL_NAMESPACES => Request::Switch(Intent::SwitchNamespace(None)),
                    PickerKind::Namespace => Request::Switch(Intent::SwitchNamespace(Some(choice))),
                    PickerKind::Context => Request::Switch(Intent::SwitchContext(choice)),
                    PickerKind::JumpToNamespace => Request::JumpToNamespace(choice),
                });
            }
        }
        Handled::Yes
    }

    /// Namespaces or contexts the picker offers for its query, best first.
    pub fn choices(&self, ctx: &Context) -> Vec<(String, fuzzy::Match)> {
        let query = raw_text(&self.input);
        let candidates: Vec<String> = match self.kind {
            PickerKind::Namespace => {
                std::iter::once(ALL_NAMESPACES.to_string()).chain(ctx.view.namespaces.iter().cloned()).collect()
            }
            PickerKind::Context => ctx.view.contexts.clone(),
            // Only namespaces with services shown in the scope (a set: each once, sorted).
            PickerKind::JumpToNamespace => {
                let present: std::collections::BTreeSet<&str> =
                    ctx.view.services.iter().map(|s| s.key.namespace.as_str()).collect();
                present.into_iter().map(str::to_string).collect()
            }
        };
        fuzzy::rank(&query, &candidates, String::clone).into_iter().map(|(c, m)| (c.clone(), m)).collect()
    }

    pub fn selected(&self, ctx: &Context) -> usize {
        self.selected.min(self.choices(ctx).len().saturating_sub(1))
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect) {
        let title = match self.kind {
            PickerKind::Namespace => " Namespace (type a name, enter switches) ",
            PickerKind::Context => " Context (enter switches) ",
            PickerKind::JumpToNamespace => " Go to namespace (enter selects its first service) ",
        };
        let items = self.choices(ctx).into_iter().map(|(c, m)| (clean(&c), String::new(), m)).collect();
        draw_choices(&ctx.theme, frame, area, title.into(), &self.input, items, self.selected(ctx));
    }
}
