use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::diagnostic::Severity;

struct UserFolder {
    _dir: tempfile::TempDir,
    paths: Paths,
}

impl UserFolder {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        let paths = Paths { config_dir: dir.path().to_path_buf(), data_dir: dir.path().join("data") };
        UserFolder { _dir: dir, paths }
    }

    fn keymap(&self, name: &str, text: &str) -> PathBuf {
        let path = self.paths.keymaps().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(&self, name: &str) -> (Keymap, Vec<Diagnostic>) {
        load_keymap(Some(name), &self.paths)
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn command(keymap: &Keymap, mode: Mode, pending: &[KeyEvent], k: KeyEvent) -> Option<Command> {
    match keymap.lookup(mode, pending, k) {
        Lookup::Command(c) => Some(c),
        _ => None,
    }
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics.iter().filter(|d| d.severity == Severity::Error).collect()
}

#[test]
fn every_builtin_keymap_loads_cleanly() {
    let folder = UserFolder::new();
    for (name, _) in BUILTIN_KEYMAPS {
        let (keymap, diagnostics) = folder.load(name);
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:#?}");
        assert_eq!(keymap.name(), *name);
        // Only known commands survive loading; every mode's hint/help list is non-empty.
        for mode in Mode::ALL {
            let bindings = keymap.bindings(mode);
            assert!(!bindings.is_empty(), "{name} binds nothing in {mode}");
            for b in bindings {
                assert!(b.command.info().meaningful_in(mode) || b.from_global, "{name}/{mode}: {b:?}");
                assert_ne!(b.command, Command::NoOp);
            }
        }
    }
    let (_, diagnostics) = check_all(&folder.paths, None);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn every_command_can_be_reached_by_a_key_in_default() {
    let default = Keymap::builtin("default").unwrap();
    for info in COMMANDS.iter().filter(|c| c.command != Command::NoOp) {
        let bound = Mode::ALL.iter().any(|m| !default.keys_for(*m, info.command).is_empty());
        assert!(bound, "{} has no key in the default keymap", info.name);
    }
}

#[test]
fn key_strings_parse_and_normalise() {
    let parse = |s: &str| KeyPress::parse(s).unwrap();
    assert_eq!(parse("S-j"), parse("J"));
    assert_eq!(parse("S-tab"), parse("backtab"));
    assert_eq!(parse("ret"), parse("enter"));
    assert_eq!(parse("space"), parse(" "));
    assert_eq!(parse("C--").code, KeyCode::Char('-'));
    assert_eq!(parse("-"), KeyPress { code: KeyCode::Char('-'), modifiers: KeyModifiers::NONE });
    assert_eq!(parse("C-A-x").modifiers, KeyModifiers::CONTROL | KeyModifiers::ALT);
    assert_eq!(parse("f12").code, KeyCode::F(12));
    assert_eq!(parse("S-up"), KeyPress { code: KeyCode::Up, modifiers: KeyModifiers::SHIFT });
    for text in ["C-c", "A-x", "S-tab", "enter", "space", "pageup", "f5", "?", "J", "C-x", "A-<"] {
        assert_eq!(parse(text).to_string(), text, "display is the canonical spelling");
    }
    for bad in ["ctrl-x", "f13", "C-C-x", "X-y", "S-1", "", "hyper"] {
        assert!(KeyPress::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn terminal_events_match_the_keys_files_name() {
    let default = Keymap::builtin("default").unwrap();
    // Terminals report Shift+o as 'O' with SHIFT, sometimes as 'o' with SHIFT.
    let shifted = KeyEvent::new(KeyCode::Char('O'), KeyModifiers::SHIFT);
    assert_eq!(command(&default, Mode::Overview, &[], shifted), Some(Command::SortReverse));
    let lower_shifted = KeyEvent::new(KeyCode::Char('o'), KeyModifiers::SHIFT);
    assert_eq!(command(&default, Mode::Overview, &[], lower_shifted), Some(Command::SortReverse));
    let backtab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(command(&default, Mode::Logs, &[], backtab), Some(Command::PrevPane));
    assert_eq!(command(&default, Mode::Logs, &[], ctrl('c')), Some(Command::Quit));
}

#[test]
fn modes_fall_back_to_global_except_while_typing() {
    let default = Keymap::builtin("default").unwrap();
    assert_eq!(command(&default, Mode::Overview, &[], ch('q')), Some(Command::Quit));
    assert_eq!(command(&default, Mode::Overview, &[], ch('s')), Some(Command::Scale));
    assert_eq!(command(&default, Mode::Logs, &[], ch('s')), None);
    assert_eq!(default.lookup(Mode::Input, &[], ch('q')), Lookup::None, "q is text in an input");
    assert_eq!(command(&default, Mode::Input, &[], ctrl('c')), Some(Command::Cancel));
    assert_eq!(command(&default, Mode::Palette, &[], key(KeyCode::Enter)), Some(Command::Confirm));
}

#[test]
fn prefix_menus_are_pending_then_resolve() {
    let vim = Keymap::builtin("vim").unwrap();
    let Lookup::Pending(menu) = vim.lookup(Mode::Logs, &[], ch('g')) else { panic!("g is a prefix in vim") };
    assert_eq!(menu.name(), Some("go to"));
    assert_eq!(
        menu.bindings().iter().map(|b| (b.keys.as_str(), b.command)).collect::<Vec<_>>(),
        [("g", Command::GoTop)]
    );
    assert_eq!(command(&vim, Mode::Logs, &[ch('g')], ch('g')), Some(Command::GoTop));
    assert_eq!(vim.lookup(Mode::Logs, &[ch('g')], ch('x')), Lookup::None);
    assert_eq!(command(&vim, Mode::Overview, &[ch('Z')], ch('Z')), Some(Command::Quit));
    // A mode's own prefix menu shadows global keys of the same first key.
    let default = Keymap::builtin("default").unwrap();
    assert!(matches!(default.lookup(Mode::Overview, &[], ch('r')), Lookup::Pending(_)));
    assert_eq!(command(&default, Mode::Overview, &[ch('r')], ch('u')), Some(Command::RolloutUndo));
    let emacs = Keymap::builtin("emacs").unwrap();
    assert_eq!(command(&emacs, Mode::Budget, &[ctrl('x')], ctrl('c')), Some(Command::Quit));
}

#[test]
fn bindings_are_stable_and_list_inherited_keys() {
    let default = Keymap::builtin("default").unwrap();
    let first = default.bindings(Mode::Overview);
    assert_eq!(first, default.bindings(Mode::Overview));
    let order: Vec<Command> = first.iter().map(|b| b.command).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "catalog order");
    assert!(first.iter().any(|b| b.keys == "r u" && b.command == Command::RolloutUndo && !b.from_global));
    assert!(first.iter().any(|b| b.keys == "space b" && b.command == Command::OpenBudget && b.from_global));
    assert_eq!(default.keys_for(Mode::Overview, Command::Quit), vec!["q", "C-c"]);
    assert_eq!(default.keys_for(Mode::Logs, Command::PrevPane), vec!["S-tab"]);
    assert!(default.bindings(Mode::Input).iter().all(|b| !b.from_global));
}

#[test]
fn a_user_file_is_merged_over_the_default() {
    let folder = UserFolder::new();
    folder.keymap(
        "mine",
        "[overview]\nS = \"scale\"\nx = \"no_op\"\n[overview.r]\nR = \"rollout_restart\"\n[global]\nq = \"no_op\"\n",
    );
    let (mine, diagnostics) = folder.load("mine");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let default = Keymap::builtin("default").unwrap();
    assert_eq!(command(&mine, Mode::Overview, &[], ch('S')), Some(Command::Scale));
    assert_eq!(command(&mine, Mode::Overview, &[], ch('s')), Some(Command::Scale), "defaults stay");
    assert_eq!(command(&mine, Mode::Overview, &[ch('r')], ch('R')), Some(Command::RolloutRestart));
    assert_eq!(command(&mine, Mode::Overview, &[ch('r')], ch('u')), Some(Command::RolloutUndo), "menus merge");
    assert_eq!(command(&mine, Mode::Overview, &[], ch('q')), None, "q unbound");
    assert_eq!(mine.keys_for(Mode::Overview, Command::Quit), vec!["C-c"]);
    // Everything the file does not touch is exactly the default.
    for mode in [Mode::Logs, Mode::Detail, Mode::Budget, Mode::Palette, Mode::Input] {
        let strip =
            |k: &Keymap| k.bindings(mode).into_iter().filter(|b| b.command != Command::Quit).collect::<Vec<_>>();
        assert_eq!(strip(&mine), strip(&default), "{mode}");
    }
}

#[test]
fn no_op_in_a_mode_hides_the_global_key_there_only() {
    let folder = UserFolder::new();
    folder.keymap("calm", "[logs]\nq = \"no_op\"\n");
    let (calm, _) = folder.load("calm");
    assert_eq!(calm.lookup(Mode::Logs, &[], ch('q')), Lookup::None);
    assert_eq!(command(&calm, Mode::Overview, &[], ch('q')), Some(Command::Quit));
    assert!(calm.keys_for(Mode::Logs, Command::Quit) == vec!["C-c"]);
}

#[test]
fn a_menu_can_replace_a_command_and_back() {
    let folder = UserFolder::new();
    folder.keymap("swap", "[overview]\nr = \"rollout_restart\"\n[overview.s]\nname = \"scale\"\ns = \"scale\"\n");
    let (swap, diagnostics) = folder.load("swap");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(command(&swap, Mode::Overview, &[], ch('r')), Some(Command::RolloutRestart));
    assert_eq!(command(&swap, Mode::Overview, &[ch('s')], ch('s')), Some(Command::Scale));
}

#[test]
fn a_user_vim_file_patches_the_builtin_vim() {
    let folder = UserFolder::new();
    folder.keymap("vim", "[global]\nx = \"quit\"\n");
    let (vim, diagnostics) = folder.load("vim");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(command(&vim, Mode::Logs, &[], ch('x')), Some(Command::ClosePane), "logs still shadows");
    assert_eq!(command(&vim, Mode::Budget, &[], ch('x')), Some(Command::Quit));
    assert_eq!(command(&vim, Mode::Budget, &[], ch('j')), Some(Command::MoveDown), "vim's own keys");
}

#[test]
fn conflicts_are_reported_with_file_and_line() {
    let folder = UserFolder::new();
    let path = folder.keymap("dup", "[overview]\nJ = \"move_down\"\n# a comment\n\"S-j\" = \"go_bottom\"\n");
    let (keymap, diagnostics) = folder.load("dup");
    let bad = errors(&diagnostics);
    assert_eq!(bad.len(), 1, "{diagnostics:#?}");
    assert_eq!((bad[0].file.as_path(), bad[0].line), (path.as_path(), Some(4)));
    assert!(bad[0].message.contains("bound twice") && bad[0].message.contains("line 2"), "{}", bad[0]);
    assert_eq!(command(&keymap, Mode::Overview, &[], ch('J')), Some(Command::MoveDown), "the first one is kept");
    // A key that is a command and a menu at once is a TOML duplicate: the file is refused.
    let path = folder.keymap("both", "[overview]\ng = \"go_top\"\n\n[overview.g]\nl = \"open_logs\"\n");
    let (keymap, diagnostics) = folder.load("both");
    assert_eq!(keymap, Keymap::builtin("default").unwrap());
    let bad = errors(&diagnostics);
    assert_eq!((bad[0].file.as_path(), bad[0].line), (path.as_path(), Some(4)), "{diagnostics:#?}");
    // Same after normalising: G as a command, S-g as a menu.
    folder.keymap("both2", "[overview]\nG = \"go_top\"\n\"S-g\" = { l = \"open_logs\" }\n");
    let (_, diagnostics) = folder.load("both2");
    assert_eq!(errors(&diagnostics)[0].line, Some(3));
}

#[test]
fn bad_keys_unknown_commands_and_modes_are_reported_with_lines() {
    let folder = UserFolder::new();
    let path = folder.keymap(
        "bad",
        "[overview]\nctrl-x = \"quit\"\nz = \"go_tpo\"\nw = 3\n[overveiw]\nq = \"quit\"\n[logs]\ns = \"scale\"\n",
    );
    let (keymap, diagnostics) = folder.load("bad");
    let rendered: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    let file = path.display().to_string();
    assert_eq!(rendered.len(), 5, "{rendered:#?}");
    assert!(rendered[0].starts_with(&format!("{file}:2: error: overview.ctrl-x: bad key \"ctrl-x\"")), "{rendered:#?}");
    assert!(rendered[1].starts_with(&format!("{file}:3: error: overview.z: unknown command \"go_tpo\"")));
    assert!(rendered[1].contains("did you mean \"go_top\""));
    assert!(rendered[2].starts_with(&format!("{file}:4: error: overview.w: expected a command name")));
    assert!(rendered[3].starts_with(&format!("{file}:5: error: overveiw: unknown mode (did you mean \"overview\"?)")));
    assert!(rendered[4].starts_with(&format!("{file}:8: warning: logs.s: scale means nothing in logs")));
    // The good parts still apply; the bad ones are dropped.
    assert_eq!(command(&keymap, Mode::Logs, &[], ch('s')), Some(Command::Scale));
    assert_eq!(keymap.lookup(Mode::Overview, &[], ch('z')), Lookup::None);
}

#[test]
fn broken_or_missing_keymaps_fall_back_to_default() {
    let folder = UserFolder::new();
    let default = Keymap::builtin("default").unwrap();
    let path = folder.keymap("broken", "[overview\nq = \"quit\"\n");
    let (keymap, diagnostics) = folder.load("broken");
    assert_eq!(keymap, default);
    assert_eq!((errors(&diagnostics)[0].file.as_path(), errors(&diagnostics)[0].line), (path.as_path(), Some(1)));
    let (keymap, diagnostics) = folder.load("nope");
    assert_eq!(keymap, default);
    assert!(errors(&diagnostics)[0].message.contains("unknown keymap \"nope\""));
    let (keymap, diagnostics) = load_keymap(None, &folder.paths);
    assert_eq!((keymap, diagnostics), (default, vec![]));
}
