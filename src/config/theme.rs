//! Themes: TOML files that map semantic keys (`ui.text.focus`, `state.warn`, `log.pod.3`) to
//! styles, in the manner of helix.
//!
//! A theme file has
//! - `inherits = "NAME"` (optional): the theme it patches. A user theme without it patches the
//!   built-in of its own name if there is one, else `dark`, so a user file holds only what it
//!   changes. A user theme that inherits its own name (`dark.toml` with `inherits = "dark"`)
//!   builds on the built-in. Built-in themes without `inherits` stand alone.
//! - `[palette]`: named colours. Palettes merge along the inheritance chain before any style is
//!   resolved, so a child that only redefines palette entries re-colours its parent's styles.
//! - semantic keys, quoted (`"ui.text" = …`), dotted (`ui.text = …`) or grouped (`[log.pod]`),
//!   each a colour string (the foreground) or a table `{ fg, bg, modifiers = [..] }`. A key
//!   replaces the parent's entry for that key as a whole.
//! - `log.allow_sgr = true|false` (default false): keep the colours pods print in their logs.
//!
//! Colours: `#rrggbb`, a palette name, an ANSI name (`black`, `red`, …, `light_red`, …, `gray`,
//! `dark_gray`, `white`, `reset`) or `colorN` (xterm-256 index). RGB is used as is only when
//! the terminal says it supports it (`COLORTERM=truecolor|24bit`), otherwise mapped to the
//! nearest xterm-256 colour.
//!
//! Lookup falls back along the dots: `ui.text.focus`, then `ui.text`, then `ui`, then no style.
//!
//! Which theme: `--theme NAME|PATH` if given; otherwise `monochrome` when `NO_COLOR` is set
//! (and not empty), else `dark`. An explicit `--theme` wins over `NO_COLOR`, as the operator
//! asked for it by name (the same precedence as a `--color=always` flag in other tools).
//!
//! Problems never stop the cockpit. When the theme cannot be used as a whole (file missing or
//! unreadable, TOML syntax, unknown parent, inheritance cycle) it falls back to the built-in
//! default (`dark`, or `monochrome` under `NO_COLOR`). A bad entry (bad colour, unknown
//! modifier, wrong type) is dropped on its own: that key falls back to what the parent theme
//! says, so one typo does not throw away the rest of the operator's theme. Unknown keys are
//! warnings and are kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::commands::closest;
use super::diagnostic::Diagnostic;
use super::paths::{Paths, files_in};
use super::source::{self, Origin, SourceFile, entries_in_file_order, quote_key, selector_label, type_name};

/// Every key the UI styles with. Each shipped theme defines all of them (directly or through
/// `inherits`); `config check` warns about a theme that does not.
pub const SEMANTIC_KEYS: &[&str] = &[
    "ui",
    "ui.text",
    "ui.text.dim",
    "ui.text.focus",
    "ui.border",
    "ui.border.focus",
    "ui.title",
    "ui.header",
    "ui.selection",
    "ui.statusline",
    "ui.statusline.badge",
    "ui.hint",
    "ui.hint.key",
    "ui.popup",
    "ui.input",
    "ui.error",
    "ui.match",
    "state.ok",
    "state.warn",
    "state.error",
    "state.info",
    "state.unknown",
    "state.stale",
    "log.pod.0",
    "log.pod.1",
    "log.pod.2",
    "log.pod.3",
    "log.pod.4",
    "log.pod.5",
    "log.pod.6",
    "log.pod.7",
    "log.timestamp",
    "log.match",
    "log.search",
    "budget.bar",
    "budget.ghost",
    "budget.threshold",
    "budget.over",
    "diff.added",
    "diff.removed",
    "gauge",
];

/// How many `log.pod.N` keys there are: pod N uses `log.pod.{N % LOG_POD_COLOURS}`.
pub const LOG_POD_COLOURS: usize = 8;

/// The theme used when none is chosen.
pub const DEFAULT_THEME: &str = "dark";
/// The theme used when none is chosen and `NO_COLOR` is set.
pub const NO_COLOR_THEME: &str = "monochrome";

/// Themes compiled into the binary: (name, TOML text).
pub const BUILTIN_THEMES: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
    ("ansi16", include_str!("../../themes/ansi16.toml")),
];

const OPTION_ALLOW_SGR: &str = "log.allow_sgr";
const STYLE_FIELDS: [&str; 3] = ["fg", "bg", "modifiers"];
const EXPECTED_COLOUR: &str = "expected \"#rrggbb\", a palette name, an ANSI colour name (red, light_blue, dark_gray, \
     reset, …) or \"color0\"…\"color255\"";
const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("hidden", Modifier::HIDDEN),
];
const ANSI_COLOURS: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
];

/// What the terminal can show, read once from the environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TerminalColors {
    /// `NO_COLOR` is set and not empty (<https://no-color.org>).
    pub no_color: bool,
    /// `COLORTERM` is `truecolor` or `24bit`: RGB colours are sent as is.
    pub truecolor: bool,
}

impl TerminalColors {
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colorterm = std::env::var("COLORTERM").unwrap_or_default();
        Self::from_values(no_color, &colorterm)
    }

    /// `colorterm` is the value of `COLORTERM`.
    pub fn from_values(no_color: bool, colorterm: &str) -> Self {
        let colorterm = colorterm.trim().to_ascii_lowercase();
        TerminalColors { no_color, truecolor: colorterm == "truecolor" || colorterm == "24bit" }
    }
}

/// A resolved theme: every key the files define, as ready-to-use styles.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    name: String,
    source: PathBuf,
    styles: HashMap<String, Style>,
    log_allow_sgr: bool,
}

impl Theme {
    /// The theme's name (`dark`, or a user file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it came from (`<built-in theme dark>` for compiled-in themes).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The style for a semantic key, falling back along the dots (`ui.text.focus` →
    /// `ui.text` → `ui`), or the terminal's default style. Cheap: no allocation, at most one
    /// hash lookup per dotted segment; meant for the render path.
    pub fn style(&self, key: &str) -> Style {
        let mut key = key;
        loop {
            if let Some(style) = self.styles.get(key) {
                return *style;
            }
            match key.rsplit_once('.') {
                Some((parent, _)) => key = parent,
                None => return Style::default(),
            }
        }
    }

    /// The style for the N-th pod's log prefix (`log.pod.{n % 8}`).
    pub fn log_pod_style(&self, n: usize) -> Style {
        const KEYS: [&str; LOG_POD_COLOURS] =
            ["log.pod.0", "log.pod.1", "log.pod.2", "log.pod.3", "log.pod.4", "log.pod.5", "log.pod.6", "log.pod.7"];
        self.style(KEYS[n % LOG_POD_COLOURS])
    }

    /// Whether the theme (or a theme it inherits) sets this exact key.
    pub fn defines(&self, key: &str) -> bool {
        self.styles.contains_key(key)
    }

    /// Keep the SGR colour codes pods write in their logs (`log.allow_sgr`, default false).
    pub fn log_allow_sgr(&self) -> bool {
        self.log_allow_sgr
    }

    /// The semantic keys this theme leaves undefined.
    pub fn missing_keys(&self) -> Vec<&'static str> {
        SEMANTIC_KEYS.iter().copied().filter(|k| !self.defines(k)).collect()
    }

    /// Every key the theme defines, sorted (for tests and tools comparing themes).
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.styles.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// A built-in theme by name; `None` if there is no such built-in.
    pub fn builtin(name: &str, env: &TerminalColors) -> Option<Theme> {
        let origin = BUILTIN_THEMES.iter().find(|(n, _)| *n == name).map(|(n, _)| Origin::Builtin(n))?;
        // Built-ins inherit built-ins only, so no user folder is consulted.
        let no_user_folder = Paths { config_dir: PathBuf::new(), data_dir: PathBuf::new() };
        let mut ignored = Vec::new();
        load_origin(origin, &no_user_folder, env, &mut ignored)
    }
}

/// Loads the theme `selector` names (a name or a path; `None` = the default for `env`).
/// Never fails: problems come back as diagnostics next to a usable theme.
pub fn load_theme(selector: Option<&str>, paths: &Paths, env: &TerminalColors) -> (Theme, Vec<Diagnostic>) {
    let fallback = if env.no_color { NO_COLOR_THEME } else { DEFAULT_THEME };
    let selector = selector.unwrap_or(fallback);
    let mut diagnostics = Vec::new();
    let theme = match source::locate(selector, &paths.themes(), BUILTIN_THEMES, false) {
        Some(origin) => load_origin(origin, paths, env, &mut diagnostics),
        None => {
            diagnostics.push(unknown_theme(selector, paths));
            None
        }
    };
    let theme = theme.unwrap_or_else(|| {
        diagnostics.push(Diagnostic::warning(
            selector_label(selector, &paths.themes()),
            format!("theme {selector:?} not used; using the built-in theme {fallback:?}"),
        ));
        Theme::builtin(fallback, env).expect("the fallback themes are compiled in")
    });
    (theme, diagnostics)
}

fn unknown_theme(selector: &str, paths: &Paths) -> Diagnostic {
    let builtins: Vec<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
    Diagnostic::error(
        selector_label(selector, &paths.themes()),
        format!(
            "unknown theme {selector:?}: expected a built-in ({}), a file {selector}.toml in {}, or a path",
            builtins.join(", "),
            paths.themes().display()
        ),
    )
}

/// Validates one theme the way the cockpit would load it, plus vocabulary coverage.
/// Used by `config check`.
pub(crate) fn check_origin(origin: Origin, paths: &Paths) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let label = match &origin {
        Origin::Builtin(name) => super::diagnostic::builtin_path("theme", name),
        Origin::User(path) => path.clone(),
    };
    let env = TerminalColors { no_color: false, truecolor: true };
    match load_chain(origin, paths, &mut diagnostics) {
        Ok(layers) => {
            let theme = resolve(&layers, &env, Chain::Complete, &mut diagnostics);
            for key in theme.missing_keys() {
                diagnostics.push(
                    Diagnostic::warning(&label, "not defined by this theme nor by any theme it inherits")
                        .in_field(quote_key(key)),
                );
            }
        }
        Err(partial) if !partial.is_empty() => {
            resolve(&partial, &env, Chain::Broken, &mut diagnostics);
        }
        Err(_) => {}
    }
    diagnostics
}

/// `config check` for themes: every built-in and every file in the user folder (plus an
/// explicit `--theme PATH`). Returns how many themes were checked and what was found.
pub(crate) fn check_all(paths: &Paths, explicit: Option<&str>) -> (usize, Vec<Diagnostic>) {
    let mut origins: Vec<Origin> = BUILTIN_THEMES.iter().map(|(n, _)| Origin::Builtin(n)).collect();
    origins.extend(files_in(&paths.themes(), &["toml"]).into_iter().map(Origin::User));
    if let Some(path) = explicit.filter(|s| source::looks_like_path(s)) {
        let origin = Origin::User(PathBuf::from(path));
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let count = origins.len();
    (count, origins.into_iter().flat_map(|o| check_origin(o, paths)).collect())
}

fn load_origin(origin: Origin, paths: &Paths, env: &TerminalColors, out: &mut Vec<Diagnostic>) -> Option<Theme> {
    let layers = load_chain(origin, paths, out).ok()?;
    Some(resolve(&layers, env, Chain::Complete, out))
}

/// One file of an inheritance chain, parsed.
struct Layer {
    source: SourceFile,
    file: ThemeFile,
}

/// A theme file as written, before inheritance and colour resolution.
#[derive(Default)]
struct ThemeFile {
    inherits: Option<Spanned<String>>,
    palette: Vec<(Spanned<String>, Spanned<String>)>,
    styles: Vec<StyleEntry>,
    allow_sgr: Option<bool>,
}

/// The table form of a style: the serde view of what an operator may write.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StyleTable {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    #[serde(default)]
    modifiers: Vec<Spanned<String>>,
}

struct StyleEntry {
    key: String,
    key_span: std::ops::Range<usize>,
    table: StyleTable,
}

/// Reads the theme at `origin` and every theme it inherits, leaf first. `None` (with a
/// diagnostic) when the chain cannot be used as a whole.
/// `Err` carries the layers read before the chain broke, so `config check` can still
/// report their bad entries in the same run.
fn load_chain(origin: Origin, paths: &Paths, out: &mut Vec<Diagnostic>) -> Result<Vec<Layer>, Vec<Layer>> {
    let mut layers: Vec<Layer> = Vec::new();
    let mut next = Some(origin);
    while let Some(origin) = next {
        if layers.iter().any(|l| l.source.origin == origin) {
            out.push(cycle_diagnostic(&layers, &origin));
            return Err(layers);
        }
        let Some(layer) = read_layer(origin, out) else { return Err(layers) };
        let parent = parent_of(&layer, paths, out);
        layers.push(layer);
        match parent {
            Some(parent) => next = parent,
            None => return Err(layers),
        }
    }
    Ok(layers)
}

fn read_layer(origin: Origin, out: &mut Vec<Diagnostic>) -> Option<Layer> {
    let source = match source::read(&origin, "theme", BUILTIN_THEMES) {
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
    let file = parse_theme_file(&source, &table, out);
    drop(table);
    Some(Layer { source, file })
}

/// `Ok(None)`: a root theme. `None`: the parent is unknown (diagnostic pushed).
fn parent_of(layer: &Layer, paths: &Paths, out: &mut Vec<Diagnostic>) -> Option<Option<Origin>> {
    let user = matches!(layer.source.origin, Origin::User(_));
    let Some(inherits) = &layer.file.inherits else {
        if !user {
            return Some(None);
        }
        let parent = if BUILTIN_THEMES.iter().any(|(n, _)| *n == layer.source.name) {
            layer.source.name.as_str()
        } else {
            DEFAULT_THEME
        };
        return Some(source::locate(parent, &paths.themes(), BUILTIN_THEMES, true));
    };
    let name = inherits.get_ref();
    // A built-in never builds on a user file; a user file may build on the built-in it shadows.
    let skip_user = !user || *name == layer.source.name;
    match source::locate(name, &paths.themes(), BUILTIN_THEMES, skip_user).filter(|_| !source::looks_like_path(name)) {
        Some(origin) => Some(Some(origin)),
        None => {
            let builtins: Vec<&str> = BUILTIN_THEMES.iter().map(|(n, _)| *n).collect();
            let message = if *name == layer.source.name {
                format!("inheritance cycle: {name} inherits itself (and there is no built-in theme {name:?})")
            } else {
                format!(
                    "unknown parent theme {name:?}: expected a built-in ({}) or the name of a file in {}",
                    builtins.join(", "),
                    paths.themes().display()
                )
            };
            out.push(layer.source.error(inherits.span(), "inherits", message));
            None
        }
    }
}

fn cycle_diagnostic(layers: &[Layer], closing: &Origin) -> Diagnostic {
    let last = layers.last().expect("a cycle needs at least one layer");
    let start = layers.iter().position(|l| l.source.origin == *closing).unwrap_or(0);
    let mut names: Vec<&str> = layers[start..].iter().map(|l| l.source.name.as_str()).collect();
    names.push(&layers[start].source.name);
    let message = format!("inheritance cycle: {}", names.join(" → "));
    match &last.file.inherits {
        Some(inherits) => last.source.error(inherits.span(), "inherits", message),
        None => Diagnostic::error(&last.source.label, message),
    }
}

fn parse_theme_file(source: &SourceFile, table: &DeTable<'_>, out: &mut Vec<Diagnostic>) -> ThemeFile {
    let mut file = ThemeFile::default();
    for (key, value) in entries_in_file_order(table) {
        match key.get_ref().as_ref() {
            "inherits" => match value.get_ref() {
                DeValue::String(name) => file.inherits = Some(Spanned::new(value.span(), name.to_string())),
                other => out.push(source.error(
                    value.span(),
                    "inherits",
                    format!("expected the name of a theme, got {}", type_name(other)),
                )),
            },
            "palette" => match value.get_ref() {
                DeValue::Table(palette) => parse_palette(source, palette, &mut file, out),
                other => out.push(source.error(
                    value.span(),
                    "palette",
                    format!("expected a table of named colours, got {}", type_name(other)),
                )),
            },
            _ => parse_styles(source, "", key, value, &mut file, out),
        }
    }
    warn_duplicates(source, &file, out);
    file
}

fn parse_palette(source: &SourceFile, palette: &DeTable<'_>, file: &mut ThemeFile, out: &mut Vec<Diagnostic>) {
    for (name, value) in entries_in_file_order(palette) {
        let field = format!("palette.{}", quote_key(name.get_ref()));
        if name.get_ref().contains('.') {
            out.push(source.error(
                name.span(),
                field,
                "a palette name cannot contain a dot; is this a style written after [palette]? \
                 (in TOML every key after a [table] header belongs to that table: put styles first)",
            ));
            continue;
        }
        match value.get_ref() {
            DeValue::String(colour) => file.palette.push((
                Spanned::new(name.span(), name.get_ref().to_string()),
                Spanned::new(value.span(), colour.to_string()),
            )),
            other => {
                out.push(source.error(value.span(), field, format!("{EXPECTED_COLOUR}, got {}", type_name(other))))
            }
        }
    }
}

/// One entry at `prefix` (dotted path so far): an option, a style or a group of keys.
fn parse_styles(
    source: &SourceFile,
    prefix: &str,
    key: &Spanned<toml::de::DeString<'_>>,
    value: &Spanned<DeValue<'_>>,
    file: &mut ThemeFile,
    out: &mut Vec<Diagnostic>,
) {
    let path = if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
    if path.split('.').any(str::is_empty) {
        out.push(source.error(key.span(), quote_key(&path), "empty segment in a dotted key"));
        return;
    }
    if path == OPTION_ALLOW_SGR {
        match value.get_ref() {
            DeValue::Boolean(allow) => file.allow_sgr = Some(*allow),
            other => out.push(source.error(
                value.span(),
                OPTION_ALLOW_SGR,
                format!("expected true or false, got {}", type_name(other)),
            )),
        }
        return;
    }
    match value.get_ref() {
        DeValue::String(colour) => {
            let table = StyleTable { fg: Some(Spanned::new(value.span(), colour.to_string())), ..Default::default() };
            add_style(source, path, key.span(), table, file, out);
        }
        DeValue::Table(inner) if inner.keys().any(|k| STYLE_FIELDS.contains(&k.get_ref().as_ref())) => {
            match StyleTable::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(table) => add_style(source, path, key.span(), table, file, out),
                Err(e) => out.push(source.error(
                    e.span().unwrap_or(value.span()),
                    quote_key(&path),
                    e.message().replace('`', "\""),
                )),
            }
        }
        DeValue::Table(inner) => {
            for (child_key, child_value) in entries_in_file_order(inner) {
                parse_styles(source, &path, child_key, child_value, file, out);
            }
        }
        other => out.push(source.error(
            value.span(),
            quote_key(&path),
            format!("expected a colour or a table {{ fg, bg, modifiers }}, got {}", type_name(other)),
        )),
    }
}

fn add_style(
    source: &SourceFile,
    key: String,
    key_span: std::ops::Range<usize>,
    table: StyleTable,
    file: &mut ThemeFile,
    out: &mut Vec<Diagnostic>,
) {
    if !is_known_key(&key) {
        let hint = match closest(&key, SEMANTIC_KEYS.iter().copied()) {
            Some(near) => format!("unknown style key (not used by the cockpit); did you mean {near:?}?"),
            None => "unknown style key (not used by the cockpit)".to_string(),
        };
        out.push(source.warning(key_span.clone(), quote_key(&key), hint));
    }
    file.styles.push(StyleEntry { key, key_span, table });
}

/// A vocabulary key, or a group of them (`state`, `log.pod`) that their lookups fall back to.
fn is_known_key(key: &str) -> bool {
    SEMANTIC_KEYS.iter().any(|k| *k == key || (k.starts_with(key) && k.as_bytes().get(key.len()) == Some(&b'.')))
}

fn warn_duplicates(source: &SourceFile, file: &ThemeFile, out: &mut Vec<Diagnostic>) {
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for entry in &file.styles {
        let line = source.line(entry.key_span.clone());
        if let Some(first) = first_line.insert(&entry.key, line) {
            out.push(source.warning(
                entry.key_span.clone(),
                quote_key(&entry.key),
                format!("set twice in this file (first at line {first}); the later one is used"),
            ));
        }
    }
}

/// Merges the chain (leaf wins, bad entries fall back to the parent's) and resolves colours.
/// Whether every parent was read. In a broken chain the parents' palette is unknown, so a
/// name that could be one of its entries is not reported as a bad colour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chain {
    Complete,
    Broken,
}

fn resolve(layers: &[Layer], env: &TerminalColors, chain: Chain, out: &mut Vec<Diagnostic>) -> Theme {
    let palette = resolve_palette(layers, out);
    let mut styles = HashMap::new();
    // Candidates leaf first, later lines first; a bad one leaves the key to the next.
    for layer in layers {
        for entry in layer.file.styles.iter().rev() {
            if styles.contains_key(&entry.key) {
                continue;
            }
            if let Some(style) = resolve_entry(layer, entry, &palette, env, chain, out) {
                styles.insert(entry.key.clone(), style);
            }
        }
    }
    let leaf = &layers[0];
    Theme {
        name: leaf.source.name.clone(),
        source: leaf.source.label.clone(),
        styles,
        log_allow_sgr: layers.iter().find_map(|l| l.file.allow_sgr).unwrap_or(false),
    }
}

/// Palette name → colour; `None` marks a name whose every definition was bad, so styles
/// using it are dropped without a second message.
fn resolve_palette(layers: &[Layer], out: &mut Vec<Diagnostic>) -> HashMap<String, Option<Color>> {
    let mut palette: HashMap<String, Option<Color>> = HashMap::new();
    for layer in layers {
        for (name, colour) in layer.file.palette.iter().rev() {
            if matches!(palette.get(name.get_ref()), Some(Some(_))) {
                continue;
            }
            let resolved = parse_colour(colour.get_ref());
            if resolved.is_none() {
                out.push(layer.source.error(
                    colour.span(),
                    format!("palette.{}", quote_key(name.get_ref())),
                    format!("{EXPECTED_COLOUR}, got {:?}", colour.get_ref()),
                ));
            }
            palette.insert(name.get_ref().clone(), resolved);
        }
    }
    palette
}

fn resolve_entry(
    layer: &Layer,
    entry: &StyleEntry,
    palette: &HashMap<String, Option<Color>>,
    env: &TerminalColors,
    chain: Chain,
    out: &mut Vec<Diagnostic>,
) -> Option<Style> {
    let mut style = Style::default();
    let colour = |field: &str, spec: &Spanned<String>, out: &mut Vec<Diagnostic>| -> Option<Color> {
        match palette.get(spec.get_ref()) {
            Some(Some(c)) => Some(env.adapt(*c)),
            Some(None) => None,
            None => match parse_colour(spec.get_ref()) {
                Some(c) => Some(env.adapt(c)),
                None if chain == Chain::Broken && could_be_palette_name(spec.get_ref()) => None,
                None => {
                    out.push(layer.source.error(
                        spec.span(),
                        format!("{}.{field}", quote_key(&entry.key)),
                        format!("{EXPECTED_COLOUR}, got {:?}", spec.get_ref()),
                    ));
                    None
                }
            },
        }
    };
    if let Some(fg) = &entry.table.fg {
        style = style.fg(colour("fg", fg, out)?);
    }
    if let Some(bg) = &entry.table.bg {
        style = style.bg(colour("bg", bg, out)?);
    }
    for name in &entry.table.modifiers {
        let Some((_, modifier)) = MODIFIERS.iter().find(|(n, _)| n == name.get_ref()) else {
            let known: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
            out.push(layer.source.error(
                name.span(),
                format!("{}.modifiers", quote_key(&entry.key)),
                format!("unknown modifier {:?}: expected one of {}", name.get_ref(), known.join(", ")),
            ));
            return None;
        };
        style = style.add_modifier(*modifier);
    }
    Some(style)
}

fn could_be_palette_name(text: &str) -> bool {
    !text.is_empty() && !text.starts_with('#') && !text.contains('.')
}

/// A literal colour (not a palette name).
pub fn parse_colour(text: &str) -> Option<Color> {
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return Some(Color::Rgb(byte(0)?, byte(2)?, byte(4)?));
    }
    if let Some(index) = text.strip_prefix("color") {
        return index.parse::<u8>().ok().filter(|_| !index.starts_with('+')).map(Color::Indexed);
    }
    ANSI_COLOURS.iter().find(|(name, _)| *name == text).map(|(_, c)| *c)
}

impl TerminalColors {
    /// The colour as this terminal should receive it.
    pub fn adapt(&self, colour: Color) -> Color {
        match colour {
            Color::Rgb(r, g, b) if !self.truecolor => Color::Indexed(nearest_xterm256(r, g, b)),
            other => other,
        }
    }
}

/// The xterm-256 colour closest to an RGB value, from the 6×6×6 cube and the grey ramp (the
/// first 16 are left out: terminals redefine them).
pub fn nearest_xterm256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let cube_step = |v: u8| -> usize {
        match v {
            0..=47 => 0,
            48..=114 => 1,
            _ => usize::from((v - 35) / 40),
        }
    };
    let distance = |(r2, g2, b2): (u8, u8, u8)| -> u32 {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2) as u32;
        d(r, r2) + d(g, g2) + d(b, b2)
    };
    let (ri, gi, bi) = (cube_step(r), cube_step(g), cube_step(b));
    let cube_index = 16 + 36 * ri + 6 * gi + bi;
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let average = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let grey_step = (average.saturating_sub(3) / 10).min(23) as u8;
    let grey_level = 8 + 10 * grey_step;
    let grey_index = 232 + usize::from(grey_step);
    if distance((grey_level, grey_level, grey_level)) < distance(cube) { grey_index as u8 } else { cube_index as u8 }
}

#[cfg(test)]
mod tests;
