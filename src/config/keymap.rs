//! Keymaps: per-mode trees of keys → command names, in the manner of helix.
//!
//! A keymap file has one table per [`Mode`] (`[global]`, `[overview]`, …). Each entry maps a
//! key (`j`, `J`, `C-c`, `A-x`, `S-tab`, `enter`, `pageup`, `f5`, `?`) to a command name from
//! the catalog ([`super::commands`]), or to a nested table: a prefix menu (`g = { g =
//! "go_top" }` means `g` then `g`), optionally labelled with `name = "…"`. `"no_op"` unbinds a
//! key, in that mode only (it also stops the key falling through to `[global]`).
//!
//! Every keymap is a patch over the built-in `default`: a user file (`--keymap NAME|PATH`,
//! names looked up in the user folder `keymaps/` first) changes only what it sets. A user file
//! named like a built-in (`vim.toml`) patches that built-in, which patches `default`.
//!
//! Problems never stop the cockpit: a bad entry (unknown command, bad key string, a key bound
//! twice in one table) is dropped; a file that cannot be read or parsed is ignored and the
//! default keymap is used. A command bound in a mode where it means nothing is a warning.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use toml::de::{DeTable, DeValue};

use super::commands::{COMMANDS, Command, Mode, closest};
use super::diagnostic::Diagnostic;
use super::paths::{Paths, files_in};
use super::source::{self, Origin, SourceFile, entries_in_file_order, quote_key, selector_label, type_name};

pub const DEFAULT_KEYMAP: &str = "default";

/// Keymaps compiled into the binary: (name, TOML text).
pub const BUILTIN_KEYMAPS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

const KEY_EXAMPLES: &str = "expected e.g. j, J, ?, C-c, A-x, S-tab, enter, esc, space, pageup, f5";

/// One key press, normalised so `S-j`, `J` and a terminal's Shift+j are the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPress {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyPress {
    /// Parses a key string as written in keymap files.
    pub fn parse(text: &str) -> Result<KeyPress, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        while rest.len() > 2 && rest.is_char_boundary(2) && rest.as_bytes()[1] == b'-' {
            let modifier = match rest.as_bytes()[0] {
                b'C' => KeyModifiers::CONTROL,
                b'A' => KeyModifiers::ALT,
                b'S' => KeyModifiers::SHIFT,
                _ => break,
            };
            if modifiers.contains(modifier) {
                return Err(format!("{}- is given twice", &rest[..1]));
            }
            modifiers |= modifier;
            rest = &rest[2..];
        }
        let code = parse_key_name(rest).ok_or_else(|| format!("unknown key name {rest:?}"))?;
        if let KeyCode::Char(c) = code
            && modifiers.contains(KeyModifiers::SHIFT)
            && !c.is_ascii_alphabetic()
        {
            return Err(format!(
                "S- only goes with letters and named keys; write the shifted character itself for {c:?}"
            ));
        }
        Ok(KeyPress::normalised(code, modifiers))
    }

    /// The key of a terminal event, normalised like parsed keys.
    pub fn from_event(event: KeyEvent) -> KeyPress {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT;
        KeyPress::normalised(event.code, event.modifiers & relevant)
    }

    /// Shift is folded into the character (`S-j` = `J`) and into `backtab` (`S-tab`), the way
    /// terminals report those keys.
    fn normalised(code: KeyCode, mut modifiers: KeyModifiers) -> KeyPress {
        let shift = modifiers.contains(KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(if shift { c.to_ascii_uppercase() } else { c })
            }
            KeyCode::Tab if shift => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyPress { code, modifiers }
    }
}

fn parse_key_name(name: &str) -> Option<KeyCode> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" | "ret" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "backspace" => KeyCode::Backspace,
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "del" | "delete" => KeyCode::Delete,
        "ins" | "insert" => KeyCode::Insert,
        _ => {
            let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
            return (1..=12).contains(&n).then_some(KeyCode::F(n));
        }
    };
    Some(code)
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("C-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("A-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("S-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("S-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pageup"),
            KeyCode::PageDown => f.write_str("pagedown"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Insert => f.write_str("ins"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Command(Command),
    Menu(Menu),
    /// Bound to `no_op`: does nothing and hides what `[global]` binds to the same key.
    Unbound,
}

/// A table of keys: a mode's root, or a prefix menu.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Menu {
    name: Option<String>,
    entries: HashMap<KeyPress, Node>,
}

impl Menu {
    /// The label the file gives the menu (`name = "go to"`), for the which-key popup.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Everything reachable from here, with key sequences relative to this menu.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut out = Vec::new();
        self.collect("", false, &mut out);
        sort_bindings(&mut out);
        out
    }

    fn collect(&self, prefix: &str, from_global: bool, out: &mut Vec<Binding>) {
        for (key, node) in &self.entries {
            collect_node(prefix, key, node, from_global, out);
        }
    }
}

fn collect_node(prefix: &str, key: &KeyPress, node: &Node, from_global: bool, out: &mut Vec<Binding>) {
    let keys = if prefix.is_empty() { key.to_string() } else { format!("{prefix} {key}") };
    match node {
        Node::Command(command) => {
            out.push(Binding { keys, command: *command, description: command.description(), from_global })
        }
        Node::Menu(menu) => menu.collect(&keys, from_global, out),
        Node::Unbound => {}
    }
}

fn sort_bindings(bindings: &mut [Binding]) {
    bindings.sort_by(|a, b| {
        (a.command, a.from_global, a.keys.len(), &a.keys).cmp(&(b.command, b.from_global, b.keys.len(), &b.keys))
    });
}

/// A key sequence and what it runs, for the help overlay, hint bar and which-key popup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Space-separated key sequence as the operator types it: `s`, `g g`, `C-x C-c`.
    pub keys: String,
    pub command: Command,
    pub description: &'static str,
    /// Inherited from `[global]` rather than bound in the mode itself.
    pub from_global: bool,
}

/// The answer to "the operator pressed this key".
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lookup<'a> {
    /// Run this command (and clear any pending prefix).
    Command(Command),
    /// A prefix: keep the keys pending and show the menu's choices.
    Pending(&'a Menu),
    /// Not bound: clear any pending prefix; in text-entry modes, the key is text.
    None,
}

/// A resolved keymap: the default with every patch applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    name: String,
    modes: Vec<Menu>,
}

impl Keymap {
    fn empty(name: &str) -> Keymap {
        Keymap { name: name.to_string(), modes: vec![Menu::default(); Mode::ALL.len()] }
    }

    /// The keymap's name (`default`, `vim`, or a user file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A built-in keymap by name.
    pub fn builtin(name: &str) -> Option<Keymap> {
        let origin = BUILTIN_KEYMAPS.iter().find(|(n, _)| *n == name).map(|(n, _)| Origin::Builtin(n))?;
        let mut ignored = Vec::new();
        build(name, &layers_for(&origin), &mut ignored)
    }

    /// What `key` does in `mode` after the `pending` prefix keys. A sequence is looked up in
    /// the mode's own table when the mode binds its first key, else in `[global]` (for
    /// modes that fall back to it).
    pub fn lookup(&self, mode: Mode, pending: &[KeyEvent], key: KeyEvent) -> Lookup<'_> {
        let mut sequence = pending.iter().copied().map(KeyPress::from_event).chain([KeyPress::from_event(key)]);
        let Some(first) = sequence.next() else { return Lookup::None };
        let own = &self.modes[mode.index()];
        let table = if own.entries.contains_key(&first) || !mode.falls_back_to_global() {
            own
        } else {
            &self.modes[Mode::Global.index()]
        };
        let mut node = table.entries.get(&first);
        for next in sequence {
            node = match node {
                Some(Node::Menu(menu)) => menu.entries.get(&next),
                _ => return Lookup::None,
            };
        }
        match node {
            Some(Node::Command(command)) => Lookup::Command(*command),
            Some(Node::Menu(menu)) => Lookup::Pending(menu),
            Some(Node::Unbound) | None => Lookup::None,
        }
    }

    /// Every key sequence that works in `mode` (its own, then what it inherits from
    /// `[global]`), in catalog order: the help overlay is generated from this.
    pub fn bindings(&self, mode: Mode) -> Vec<Binding> {
        let own = &self.modes[mode.index()];
        let mut out = Vec::new();
        own.collect("", false, &mut out);
        if mode.falls_back_to_global() {
            for (key, node) in &self.modes[Mode::Global.index()].entries {
                if !own.entries.contains_key(key) {
                    collect_node("", key, node, true, &mut out);
                }
            }
        }
        sort_bindings(&mut out);
        out
    }

    /// The key sequences that run `command` in `mode`, shortest first (for hints: "s scale").
    pub fn keys_for(&self, mode: Mode, command: Command) -> Vec<String> {
        self.bindings(mode).into_iter().filter(|b| b.command == command).map(|b| b.keys).collect()
    }

    fn apply(&mut self, patch: KeymapPatch) {
        for (mode, menu) in patch.modes {
            apply_menu(&mut self.modes[mode.index()], menu);
        }
    }
}

fn apply_menu(menu: &mut Menu, patch: MenuPatch) {
    if patch.name.is_some() {
        menu.name = patch.name;
    }
    for (key, node) in patch.entries {
        match node {
            PatchNode::Command(command) => {
                menu.entries.insert(key, Node::Command(command));
            }
            PatchNode::Unbind => {
                menu.entries.insert(key, Node::Unbound);
            }
            PatchNode::Menu(sub) => {
                let entry = menu.entries.entry(key).or_insert_with(|| Node::Menu(Menu::default()));
                if !matches!(entry, Node::Menu(_)) {
                    *entry = Node::Menu(Menu::default());
                }
                if let Node::Menu(existing) = entry {
                    apply_menu(existing, sub);
                }
            }
        }
    }
}

/// A keymap file as written: what it changes, per mode.
#[derive(Default)]
struct KeymapPatch {
    modes: Vec<(Mode, MenuPatch)>,
}

#[derive(Default)]
struct MenuPatch {
    name: Option<String>,
    entries: Vec<(KeyPress, PatchNode)>,
}

enum PatchNode {
    Command(Command),
    Unbind,
    Menu(MenuPatch),
}

/// Loads the keymap `selector` names (a name or a path; `None` = `default`). Never fails:
/// problems come back as diagnostics next to a usable keymap.
pub fn load_keymap(selector: Option<&str>, paths: &Paths) -> (Keymap, Vec<Diagnostic>) {
    let selector = selector.unwrap_or(DEFAULT_KEYMAP);
    let mut diagnostics = Vec::new();
    let keymap = match source::locate(selector, &paths.keymaps(), BUILTIN_KEYMAPS, false) {
        Some(origin) => {
            let name = match &origin {
                Origin::Builtin(name) => (*name).to_string(),
                Origin::User(path) => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            build(&name, &layers_for(&origin), &mut diagnostics)
        }
        None => {
            let builtins: Vec<&str> = BUILTIN_KEYMAPS.iter().map(|(n, _)| *n).collect();
            diagnostics.push(Diagnostic::error(
                selector_label(selector, &paths.keymaps()),
                format!(
                    "unknown keymap {selector:?}: expected a built-in ({}), a file {selector}.toml in {}, or a path",
                    builtins.join(", "),
                    paths.keymaps().display()
                ),
            ));
            None
        }
    };
    let keymap = keymap.unwrap_or_else(|| {
        diagnostics.push(Diagnostic::warning(
            selector_label(selector, &paths.keymaps()),
            format!("keymap {selector:?} not used; using the built-in keymap {DEFAULT_KEYMAP:?}"),
        ));
        Keymap::builtin(DEFAULT_KEYMAP).expect("the default keymap is compiled in")
    });
    (keymap, diagnostics)
}

/// The files applied, in order: `default`, the built-in a user file is named after, the file.
fn layers_for(origin: &Origin) -> Vec<Origin> {
    let mut layers = vec![Origin::Builtin(DEFAULT_KEYMAP)];
    if let Origin::User(path) = origin {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some((name, _)) = BUILTIN_KEYMAPS.iter().find(|(n, _)| *n == stem && *n != DEFAULT_KEYMAP) {
            layers.push(Origin::Builtin(name));
        }
    }
    if *origin != layers[0] {
        layers.push(origin.clone());
    }
    layers
}

fn build(name: &str, layers: &[Origin], out: &mut Vec<Diagnostic>) -> Option<Keymap> {
    let mut keymap = Keymap::empty(name);
    for origin in layers {
        let source = match source::read(origin, "keymap", BUILTIN_KEYMAPS) {
            Ok(source) => source,
            Err(d) => {
                out.push(d);
                return None;
            }
        };
        let table = match source.parse() {
            Ok(table) => table,
            Err(d) => {
                out.push(d);
                return None;
            }
        };
        keymap.apply(parse_keymap_file(&source, &table, out));
    }
    Some(keymap)
}

fn parse_keymap_file(source: &SourceFile, table: &DeTable<'_>, out: &mut Vec<Diagnostic>) -> KeymapPatch {
    let mut patch = KeymapPatch::default();
    for (key, value) in entries_in_file_order(table) {
        let Some(mode) = Mode::from_name(key.get_ref()) else {
            let names = Mode::ALL.map(Mode::name);
            let hint = closest(key.get_ref(), names).map(|n| format!(" (did you mean {n:?}?)")).unwrap_or_default();
            out.push(source.error(
                key.span(),
                quote_key(key.get_ref()),
                format!("unknown mode{hint}: expected one of {}", names.join(", ")),
            ));
            continue;
        };
        match value.get_ref() {
            DeValue::Table(keys) => {
                let menu = parse_menu(source, mode, mode.name(), keys, true, out);
                patch.modes.push((mode, menu));
            }
            other => out.push(source.error(
                value.span(),
                mode.name(),
                format!("expected a table of keys, got {}", type_name(other)),
            )),
        }
    }
    patch
}

fn parse_menu(
    source: &SourceFile,
    mode: Mode,
    path: &str,
    table: &DeTable<'_>,
    root: bool,
    out: &mut Vec<Diagnostic>,
) -> MenuPatch {
    let mut menu = MenuPatch::default();
    let mut seen: HashMap<KeyPress, (String, usize)> = HashMap::new();
    for (key, value) in entries_in_file_order(table) {
        let text = key.get_ref().as_ref();
        let field = format!("{path}.{}", quote_key(text));
        if !root && text == "name" {
            match value.get_ref() {
                DeValue::String(name) => menu.name = Some(name.to_string()),
                other => out.push(source.error(
                    value.span(),
                    field,
                    format!("expected the menu's label, got {}", type_name(other)),
                )),
            }
            continue;
        }
        let press = match KeyPress::parse(text) {
            Ok(press) => press,
            Err(why) => {
                out.push(source.error(key.span(), field, format!("bad key {text:?}: {why}; {KEY_EXAMPLES}")));
                continue;
            }
        };
        let line = source.line(key.span());
        if let Some((first_text, first_line)) = seen.get(&press) {
            out.push(source.error(
                key.span(),
                field,
                format!("conflict: {press} is bound twice in [{path}] (first at line {first_line} as {first_text:?})"),
            ));
            continue;
        }
        seen.insert(press, (text.to_string(), line));
        let node = match value.get_ref() {
            DeValue::String(name) => match parse_command(source, mode, &field, name, value.span(), out) {
                Some(node) => node,
                None => continue,
            },
            DeValue::Table(sub) => PatchNode::Menu(parse_menu(source, mode, &field, sub, false, out)),
            other => {
                out.push(source.error(
                    value.span(),
                    field,
                    format!("expected a command name or a table (a prefix menu), got {}", type_name(other)),
                ));
                continue;
            }
        };
        menu.entries.push((press, node));
    }
    menu
}

fn parse_command(
    source: &SourceFile,
    mode: Mode,
    field: &str,
    name: &str,
    span: std::ops::Range<usize>,
    out: &mut Vec<Diagnostic>,
) -> Option<PatchNode> {
    let Some(command) = Command::from_name(name) else {
        let hint = closest(name, COMMANDS.iter().map(|c| c.name)).map(|n| format!("; did you mean {n:?}?"));
        let hint = hint.unwrap_or_else(|| "; the command palette (:) lists every command".to_string());
        out.push(source.error(span, field, format!("unknown command {name:?}{hint}")));
        return None;
    };
    if command == Command::NoOp {
        return Some(PatchNode::Unbind);
    }
    let info = command.info();
    if !info.meaningful_in(mode) {
        let modes: Vec<&str> = info.modes.iter().map(|m| m.name()).collect();
        out.push(source.warning(
            span,
            field,
            format!("{name} means nothing in {mode}; bind it in: {}", modes.join(", ")),
        ));
    }
    Some(PatchNode::Command(command))
}

/// `config check` for keymaps: every built-in and every file in the user folder (plus an
/// explicit `--keymap PATH`).
pub(crate) fn check_all(paths: &Paths, explicit: Option<&str>) -> (usize, Vec<Diagnostic>) {
    let mut origins: Vec<Origin> = BUILTIN_KEYMAPS.iter().map(|(n, _)| Origin::Builtin(n)).collect();
    origins.extend(files_in(&paths.keymaps(), &["toml"]).into_iter().map(Origin::User));
    if let Some(path) = explicit.filter(|s| source::looks_like_path(s)) {
        let origin = Origin::User(PathBuf::from(path));
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let mut diagnostics = Vec::new();
    for origin in &origins {
        build("check", &layers_for(origin), &mut diagnostics);
    }
    (origins.len(), diagnostics)
}

#[cfg(test)]
mod tests;
