use std::path::Path;

use super::*;
use crate::config::diagnostic::Severity;

const TRUECOLOR: TerminalColors = TerminalColors { no_color: false, truecolor: true };

struct UserFolder {
    dir: tempfile::TempDir,
    paths: Paths,
}

impl UserFolder {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        let paths = Paths { config_dir: dir.path().to_path_buf(), data_dir: dir.path().join("data") };
        UserFolder { dir, paths }
    }

    fn theme(&self, name: &str, text: &str) -> PathBuf {
        let path = self.paths.themes().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn dark() -> Theme {
    Theme::builtin("dark", &TRUECOLOR).unwrap()
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics.iter().filter(|d| d.severity == Severity::Error).collect()
}

#[test]
fn every_builtin_theme_loads_cleanly_and_covers_the_vocabulary() {
    let empty = UserFolder::new();
    for (name, _) in BUILTIN_THEMES {
        let diagnostics = check_origin(Origin::Builtin(name), &empty.paths);
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:#?}");
        let (theme, diagnostics) = load_theme(Some(name), &empty.paths, &TRUECOLOR);
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:#?}");
        assert_eq!(theme.name(), *name);
        assert_eq!(theme.missing_keys(), Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn themes_are_distinct() {
    let names: Vec<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (a, b) = (Theme::builtin(a, &TRUECOLOR).unwrap(), Theme::builtin(b, &TRUECOLOR).unwrap());
            assert!(SEMANTIC_KEYS.iter().any(|k| a.style(k) != b.style(k)), "{} = {}", a.name(), b.name());
        }
    }
}

fn colours_of(theme: &Theme) -> Vec<(&'static str, Color)> {
    SEMANTIC_KEYS
        .iter()
        .flat_map(|k| {
            let style = theme.style(k);
            style.fg.into_iter().chain(style.bg).map(move |c| (*k, c))
        })
        .collect()
}

#[test]
fn monochrome_uses_no_colour_at_all() {
    let theme = Theme::builtin("monochrome", &TRUECOLOR).unwrap();
    assert_eq!(colours_of(&theme), vec![]);
    assert!(theme.style("ui.selection").add_modifier.contains(Modifier::REVERSED));
    assert_ne!(theme.log_pod_style(0), theme.log_pod_style(1), "pods must stay distinguishable");
}

#[test]
fn ansi16_uses_only_the_sixteen_base_colours() {
    let theme = Theme::builtin("ansi16", &TRUECOLOR).unwrap();
    let colours = colours_of(&theme);
    assert!(!colours.is_empty());
    for (key, colour) in colours {
        assert!(!matches!(colour, Color::Rgb(..) | Color::Indexed(_)), "{key}: {colour:?}");
    }
}

#[test]
fn no_color_selects_monochrome_unless_a_theme_is_named() {
    let folder = UserFolder::new();
    let no_color = TerminalColors { no_color: true, truecolor: true };
    assert_eq!(load_theme(None, &folder.paths, &no_color).0.name(), "monochrome");
    assert_eq!(load_theme(None, &folder.paths, &TRUECOLOR).0.name(), "dark");
    assert_eq!(load_theme(Some("light"), &folder.paths, &no_color).0.name(), "light");
    // A broken explicit theme under NO_COLOR falls back to monochrome, not to colours.
    let (theme, diagnostics) = load_theme(Some("nope"), &folder.paths, &no_color);
    assert_eq!(theme.name(), "monochrome");
    assert_eq!(errors(&diagnostics).len(), 1);
}

#[test]
fn terminal_colours_come_from_no_color_and_colorterm() {
    assert_eq!(TerminalColors::from_values(false, "truecolor"), TerminalColors { no_color: false, truecolor: true });
    assert_eq!(TerminalColors::from_values(false, "24bit"), TerminalColors { no_color: false, truecolor: true });
    assert_eq!(TerminalColors::from_values(true, ""), TerminalColors { no_color: true, truecolor: false });
    assert!(!TerminalColors::from_values(false, "256color").truecolor);
}

#[test]
fn rgb_is_mapped_to_xterm_256_unless_the_terminal_has_truecolor() {
    let folder = UserFolder::new();
    let text = "\"ui.title\" = \"#ff0000\"\n\"ui.text\" = \"#808080\"\n\"ui.hint\" = \"light_red\"\n";
    folder.theme("mine", text);
    let (true_theme, _) = load_theme(Some("mine"), &folder.paths, &TRUECOLOR);
    assert_eq!(true_theme.style("ui.title").fg, Some(Color::Rgb(255, 0, 0)));
    let (mapped, _) = load_theme(Some("mine"), &folder.paths, &TerminalColors::default());
    assert_eq!(mapped.style("ui.title").fg, Some(Color::Indexed(196)));
    assert_eq!(mapped.style("ui.text").fg, Some(Color::Indexed(244)));
    assert_eq!(mapped.style("ui.hint").fg, Some(Color::LightRed), "named colours stay as they are");
    // The built-in default, mapped: no RGB reaches a 256-colour terminal.
    let dark256 = Theme::builtin("dark", &TerminalColors::default()).unwrap();
    assert!(colours_of(&dark256).iter().all(|(_, c)| !matches!(c, Color::Rgb(..))));
}

#[test]
fn nearest_xterm_colours() {
    assert_eq!(nearest_xterm256(0, 0, 0), 16);
    assert_eq!(nearest_xterm256(255, 255, 255), 231);
    assert_eq!(nearest_xterm256(255, 0, 0), 196);
    assert_eq!(nearest_xterm256(0x80, 0x80, 0x80), 244);
    assert_eq!(nearest_xterm256(0x5f, 0x87, 0xaf), 67);
    assert_eq!(nearest_xterm256(0x12, 0x12, 0x12), 233);
}

#[test]
fn colours_parse_in_every_documented_form() {
    assert_eq!(parse_colour("#0a0B0c"), Some(Color::Rgb(10, 11, 12)));
    assert_eq!(parse_colour("light_blue"), Some(Color::LightBlue));
    assert_eq!(parse_colour("dark_gray"), Some(Color::DarkGray));
    assert_eq!(parse_colour("reset"), Some(Color::Reset));
    assert_eq!(parse_colour("color123"), Some(Color::Indexed(123)));
    for bad in ["#12345", "#gggggg", "color256", "color+1", "reddish", ""] {
        assert_eq!(parse_colour(bad), None, "{bad}");
    }
}

#[test]
fn dotted_keys_fall_back_to_their_parents() {
    let ui = Style::default().fg(Color::Red);
    let text = Style::default().fg(Color::Blue);
    let theme = Theme {
        name: "t".into(),
        source: PathBuf::from("t"),
        styles: HashMap::from([("ui".to_string(), ui), ("ui.text".to_string(), text)]),
        log_allow_sgr: false,
    };
    assert_eq!(theme.style("ui.text.focus"), text);
    assert_eq!(theme.style("ui.text"), text);
    assert_eq!(theme.style("ui.border.focus"), ui);
    assert_eq!(theme.style("state.ok"), Style::default());
    assert!(!theme.defines("ui.text.focus"));
}

#[test]
fn a_user_theme_overrides_only_what_it_sets() {
    let folder = UserFolder::new();
    folder.theme(
        "mine",
        "inherits = \"dark\"\n\"ui.title\" = { fg = \"#010203\", modifiers = [\"italic\"] }\n[state]\nok = \"green\"\n",
    );
    let (mine, diagnostics) = load_theme(Some("mine"), &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let dark = dark();
    assert_eq!(mine.keys(), dark.keys());
    for key in dark.keys() {
        match key {
            "ui.title" => {
                assert_eq!(mine.style(key), Style::default().fg(Color::Rgb(1, 2, 3)).add_modifier(Modifier::ITALIC))
            }
            "state.ok" => assert_eq!(mine.style(key), Style::default().fg(Color::Green)),
            _ => assert_eq!(mine.style(key), dark.style(key), "{key} should be dark's"),
        }
    }
}

#[test]
fn without_inherits_a_user_theme_patches_dark_and_a_palette_change_recolours_the_parent() {
    let folder = UserFolder::new();
    folder.theme("accented", "[palette]\naccent = \"#00ff00\"\n");
    let (theme, diagnostics) = load_theme(Some("accented"), &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(theme.style("ui.title").fg, Some(Color::Rgb(0, 255, 0)), "dark's title uses the accent");
    assert_eq!(theme.style("ui.text"), dark().style("ui.text"));
}

#[test]
fn a_user_file_named_like_a_builtin_patches_that_builtin_and_is_found_first() {
    let folder = UserFolder::new();
    folder.theme("light", "\"ui.title\" = \"red\"\n");
    let (theme, diagnostics) = load_theme(Some("light"), &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let light = Theme::builtin("light", &TRUECOLOR).unwrap();
    assert_eq!(theme.style("ui.title").fg, Some(Color::Red));
    assert_eq!(theme.style("ui"), light.style("ui"));
    // Inheriting your own name means the built-in, not a cycle.
    folder.theme("dark", "inherits = \"dark\"\n\"ui.text\" = \"blue\"\n");
    let (theme, diagnostics) = load_theme(None, &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(theme.style("ui.text").fg, Some(Color::Blue));
    assert_eq!(theme.source(), folder.paths.themes().join("dark.toml"));
}

#[test]
fn an_inheritance_cycle_is_reported_with_file_and_line_and_dark_is_used() {
    let folder = UserFolder::new();
    let a = folder.theme("a", "# a\ninherits = \"b\"\n\"ui.text\" = \"red\"\n");
    let b = folder.theme("b", "\n\ninherits = \"a\"\n");
    let (theme, diagnostics) = load_theme(Some("a"), &folder.paths, &TRUECOLOR);
    assert_eq!(theme, dark());
    let cycle = errors(&diagnostics);
    assert_eq!(cycle.len(), 1, "{diagnostics:#?}");
    assert_eq!(cycle[0].file, b);
    assert_eq!(cycle[0].line, Some(3));
    assert_eq!(cycle[0].field.as_deref(), Some("inherits"));
    assert!(cycle[0].message.contains("a → b → a"), "{}", cycle[0]);
    // Starting from b names the other file.
    let (_, diagnostics) = load_theme(Some("b"), &folder.paths, &TRUECOLOR);
    assert_eq!(errors(&diagnostics)[0].file, a);
    assert_eq!(errors(&diagnostics)[0].line, Some(2));
}

#[test]
fn a_bad_colour_is_reported_and_only_that_entry_falls_back() {
    let folder = UserFolder::new();
    let path = folder.theme(
        "typo",
        "inherits = \"dark\"\n\"ui.text\" = \"blue\"\n\n\"ui.title\" = { fg = \"reddish\", modifiers = [\"bold\"] }\n",
    );
    let (theme, diagnostics) = load_theme(Some("typo"), &folder.paths, &TRUECOLOR);
    let bad = errors(&diagnostics);
    assert_eq!(bad.len(), 1, "{diagnostics:#?}");
    assert_eq!(bad[0].file, path);
    assert_eq!(bad[0].line, Some(4));
    assert_eq!(bad[0].field.as_deref(), Some("\"ui.title\".fg"));
    assert!(bad[0].message.contains("\"reddish\"") && bad[0].message.contains("#rrggbb"), "{}", bad[0]);
    assert_eq!(theme.style("ui.title"), dark().style("ui.title"), "the bad entry falls back to dark's");
    assert_eq!(theme.style("ui.text").fg, Some(Color::Blue), "the rest of the theme is kept");
}

#[test]
fn bad_palette_entries_are_reported_once() {
    let folder = UserFolder::new();
    let path = folder.theme("p", "[palette]\naccent = \"#12\"\n");
    let (theme, diagnostics) = load_theme(Some("p"), &folder.paths, &TRUECOLOR);
    assert_eq!(errors(&diagnostics).len(), 1, "{diagnostics:#?}");
    assert_eq!((diagnostics[0].file.as_path(), diagnostics[0].line), (path.as_path(), Some(2)));
    assert_eq!(diagnostics[0].field.as_deref(), Some("palette.accent"));
    assert_eq!(theme.style("ui.title"), dark().style("ui.title"));
}

#[test]
fn unknown_modifiers_fields_and_types_are_errors_with_lines() {
    let folder = UserFolder::new();
    folder.theme(
        "bad",
        "\"ui.text\" = { modifiers = [\"blink\"] }\n\"ui.title\" = { fg = \"red\", bold = true }\n\"ui.hint\" = 3\nlog.allow_sgr = \"yes\"\n",
    );
    let (theme, diagnostics) = load_theme(Some("bad"), &folder.paths, &TRUECOLOR);
    let lines: Vec<(Option<usize>, Option<&str>)> =
        errors(&diagnostics).iter().map(|d| (d.line, d.field.as_deref())).collect();
    assert_eq!(
        lines,
        vec![
            (Some(2), Some("\"ui.title\"")),
            (Some(3), Some("\"ui.hint\"")),
            (Some(4), Some("log.allow_sgr")),
            (Some(1), Some("\"ui.text\".modifiers")),
        ],
        "{diagnostics:#?}"
    );
    assert!(diagnostics.iter().any(|d| d.message.contains("unknown field \"bold\"")), "{diagnostics:#?}");
    assert_eq!(theme.style("ui.text"), dark().style("ui.text"));
}

#[test]
fn unknown_keys_are_warnings_with_a_suggestion() {
    let folder = UserFolder::new();
    folder.theme("w", "\"ui.txet\" = \"red\"\n\"ui.text\" = \"red\"\n[ui]\ntext = \"blue\"\n");
    let (theme, diagnostics) = load_theme(Some("w"), &folder.paths, &TRUECOLOR);
    assert!(errors(&diagnostics).is_empty(), "{diagnostics:#?}");
    let messages: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(messages[0].contains(":1: warning: \"ui.txet\": unknown style key") && messages[0].contains("\"ui.text\""));
    assert!(messages[1].contains(":4: warning:") && messages[1].contains("first at line 2"), "{messages:#?}");
    assert_eq!(theme.style("ui.text").fg, Some(Color::Blue), "the later definition wins");
}

#[test]
fn broken_files_fall_back_to_dark_with_the_syntax_error_line() {
    let folder = UserFolder::new();
    let path = folder.theme("broken", "\"ui.text\" = \"red\"\n\"ui.title\" = = 3\n");
    let (theme, diagnostics) = load_theme(Some("broken"), &folder.paths, &TRUECOLOR);
    assert_eq!(theme, dark());
    assert_eq!(errors(&diagnostics)[0].file, path);
    assert_eq!(errors(&diagnostics)[0].line, Some(2));
    let (theme, diagnostics) = load_theme(Some("no-such-theme"), &folder.paths, &TRUECOLOR);
    assert_eq!(theme, dark());
    assert!(errors(&diagnostics)[0].message.contains("unknown theme \"no-such-theme\""));
    let (_, diagnostics) = load_theme(Some("/nonexistent/x.toml"), &folder.paths, &TRUECOLOR);
    assert!(errors(&diagnostics)[0].message.contains("cannot read"));
    let unknown_parent = folder.theme("orphan", "inherits = \"nope\"\n");
    let (theme, diagnostics) = load_theme(Some(unknown_parent.to_str().unwrap()), &folder.paths, &TRUECOLOR);
    assert_eq!(theme, dark());
    assert!(errors(&diagnostics)[0].message.contains("unknown parent theme \"nope\""));
    assert_eq!(errors(&diagnostics)[0].line, Some(1));
}

#[test]
fn log_sgr_is_off_unless_a_theme_allows_it() {
    let folder = UserFolder::new();
    assert!(!dark().log_allow_sgr());
    folder.theme("sgr", "[log]\nallow_sgr = true\n");
    let (theme, diagnostics) = load_theme(Some("sgr"), &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert!(theme.log_allow_sgr());
    folder.theme("child", "inherits = \"sgr\"\n");
    assert!(load_theme(Some("child"), &folder.paths, &TRUECOLOR).0.log_allow_sgr(), "options are inherited");
}

#[test]
fn a_path_selector_loads_that_file() {
    let folder = UserFolder::new();
    let elsewhere = folder.dir.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, "inherits = \"light\"\n").unwrap();
    let (theme, diagnostics) = load_theme(Some(elsewhere.to_str().unwrap()), &folder.paths, &TRUECOLOR);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(theme.name(), "elsewhere");
    assert_eq!(theme.style("ui"), Theme::builtin("light", &TRUECOLOR).unwrap().style("ui"));
    assert!(Path::new(theme.source()).ends_with("elsewhere.toml"));
}

#[test]
fn check_reports_bad_entries_even_when_the_chain_is_broken() {
    let folder = UserFolder::new();
    let path = folder.theme("lost", "inherits = \"nope\"\n\"ui.text\" = \"accent\"\n\"ui.title\" = \"#12\"\n");
    let diagnostics = check_origin(Origin::User(path.clone()), &folder.paths);
    let found: Vec<(Option<usize>, Option<&str>)> = diagnostics.iter().map(|d| (d.line, d.field.as_deref())).collect();
    // "accent" may be the unknown parent's palette entry: not reported; "#12" is wrong anywhere.
    assert_eq!(found, vec![(Some(1), Some("inherits")), (Some(3), Some("\"ui.title\".fg"))], "{diagnostics:#?}");
}

#[test]
fn styles_written_after_the_palette_header_get_a_hint() {
    let folder = UserFolder::new();
    folder.theme("late", "[palette]\naccent = \"red\"\n\"ui.text\" = \"blue\"\n");
    let (theme, diagnostics) = load_theme(Some("late"), &folder.paths, &TRUECOLOR);
    assert_eq!(errors(&diagnostics).len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].line, Some(3));
    assert!(diagnostics[0].message.contains("put styles first"), "{}", diagnostics[0]);
    assert_eq!(theme.style("ui.title").fg, Some(Color::Red), "the palette entry before it still counts");
}
