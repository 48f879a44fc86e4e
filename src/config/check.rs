//! `config check`: load every configuration file the cockpit would use, the way it would
//! use it, and report every problem with file and line. Each kind of file contributes one
//! [`Checker`]; adding profiles or runbooks is one line in [`CHECKERS`].

use std::io::{self, Write};
use std::path::Path;

use super::diagnostic::Diagnostic;
use super::paths::Paths;
use super::{keymap, profile, runbook, theme};
use crate::exit::Exit;

/// What a checker may look at: the config folders and the files named on the command line.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext<'a> {
    pub paths: &'a Paths,
    /// `--theme`, checked too when it is a path outside the themes folder.
    pub theme: Option<&'a str>,
    /// `--keymap`, likewise.
    pub keymap: Option<&'a str>,
    /// `--profile`, for the profile checker.
    pub profile: Option<&'a Path>,
}

/// One kind of configuration file.
pub struct Checker {
    /// Plural noun for the summary line (`themes`).
    pub kind: &'static str,
    /// Checks every file of this kind; returns how many were checked and what was found.
    pub check: fn(&CheckContext<'_>) -> (usize, Vec<Diagnostic>),
}

pub const CHECKERS: &[Checker] = &[
    Checker { kind: "themes", check: |ctx| theme::check_all(ctx.paths, ctx.theme) },
    Checker { kind: "keymaps", check: |ctx| keymap::check_all(ctx.paths, ctx.keymap) },
    Checker { kind: "profiles", check: |ctx| profile::check_all(ctx.paths, ctx.profile) },
    Checker { kind: "runbooks", check: |ctx| runbook::check_all(ctx.paths) },
];

/// What one checker found.
#[derive(Debug)]
pub struct Section {
    pub kind: &'static str,
    pub files: usize,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug)]
pub struct CheckReport {
    pub sections: Vec<Section>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.diagnostics().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics().filter(|d| !d.is_error()).count()
    }

    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.sections.iter().flat_map(|s| &s.diagnostics)
    }

    /// 0 when clean (warnings allowed), 2 (a configuration error) otherwise.
    pub fn exit(&self) -> Exit {
        if self.errors() > 0 { Exit::Usage } else { Exit::Ok }
    }

    /// `config check: 5 themes, 3 keymaps checked; 1 error, 2 warnings`.
    pub fn summary(&self) -> String {
        let checked: Vec<String> = self
            .sections
            .iter()
            .map(|s| format!("{} {}", s.files, if s.files == 1 { s.kind.trim_end_matches('s') } else { s.kind }))
            .collect();
        let problems = match (self.errors(), self.warnings()) {
            (0, 0) => "no problems".to_string(),
            (errors, warnings) => {
                format!("{} {}, {} {}", errors, plural(errors, "error"), warnings, plural(warnings, "warning"))
            }
        };
        format!("config check: {} checked; {problems}", checked.join(", "))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}

/// Runs every checker. A file that another file inherits can be reported twice (once for
/// each); such repeats are dropped.
pub fn run_checks(ctx: &CheckContext<'_>) -> CheckReport {
    let sections = CHECKERS
        .iter()
        .map(|checker| {
            let (files, found) = (checker.check)(ctx);
            let mut diagnostics: Vec<Diagnostic> = Vec::with_capacity(found.len());
            for d in found {
                if !diagnostics.contains(&d) {
                    diagnostics.push(d);
                }
            }
            Section { kind: checker.kind, files, diagnostics }
        })
        .collect();
    CheckReport { sections }
}

/// `config check`: prints one line per problem (`file:line: error: field: message`), then
/// the summary.
pub fn run(ctx: &CheckContext<'_>, out: &mut impl Write) -> io::Result<Exit> {
    let report = run_checks(ctx);
    for diagnostic in report.diagnostics() {
        writeln!(out, "{diagnostic}")?;
    }
    writeln!(out, "{}", report.summary())?;
    Ok(report.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(theme: Option<&str>, keymap: Option<&str>) -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths { config_dir: dir.path().to_path_buf(), data_dir: dir.path().join("data") };
        std::fs::create_dir_all(paths.themes()).unwrap();
        std::fs::create_dir_all(paths.keymaps()).unwrap();
        if let Some(text) = theme {
            std::fs::write(paths.themes().join("mine.toml"), text).unwrap();
        }
        if let Some(text) = keymap {
            std::fs::write(paths.keymaps().join("mine.toml"), text).unwrap();
        }
        (dir, paths)
    }

    fn check(paths: &Paths) -> (Exit, String) {
        let ctx = CheckContext { paths, theme: None, keymap: None, profile: None };
        let mut out = Vec::new();
        let exit = run(&ctx, &mut out).unwrap();
        (exit, String::from_utf8(out).unwrap())
    }

    #[test]
    fn builtins_alone_are_clean() {
        let (_dir, paths) = folder_with(None, None);
        let (exit, out) = check(&paths);
        let builtins = (theme::BUILTIN_THEMES.len(), keymap::BUILTIN_KEYMAPS.len());
        assert_eq!(
            out,
            format!(
                "config check: {} themes, {} keymaps, 1 profile, {} runbooks checked; no problems\n",
                builtins.0,
                builtins.1,
                runbook::BUILTINS.len()
            )
        );
        assert_eq!(exit, Exit::Ok);
    }

    #[test]
    fn warnings_alone_still_pass() {
        let (_dir, paths) = folder_with(Some("\"ui.txet\" = \"red\"\n"), None);
        let (exit, out) = check(&paths);
        assert_eq!(exit, Exit::Ok, "{out}");
        assert!(out.contains("mine.toml:1: warning: \"ui.txet\": unknown style key"), "{out}");
        assert!(out.ends_with("0 errors, 1 warning\n"), "{out}");
    }

    #[test]
    fn errors_fail_with_a_line_each_and_inherited_problems_once() {
        let (_dir, paths) = folder_with(Some("\"ui.text\" = \"nope\"\n"), Some("[logs]\nq = \"quiet\"\n"));
        std::fs::write(paths.themes().join("child.toml"), "inherits = \"mine\"\n").unwrap();
        let (exit, out) = check(&paths);
        assert_eq!(exit, Exit::Usage);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].contains("themes/mine.toml:1: error: \"ui.text\".fg:"), "{out}");
        assert!(lines[1].contains("keymaps/mine.toml:2: error: logs.q: unknown command \"quiet\""), "{out}");
        assert!(
            lines[2].ends_with("7 themes, 4 keymaps, 1 profile, 5 runbooks checked; 2 errors, 0 warnings"),
            "{out}"
        );
    }
}
