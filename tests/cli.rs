//! The real binary, driven as scripts and operators drive it.

use std::path::Path;
use std::process::{Command, Output};

/// A config folder of its own, so the tests never read the machine's real configuration.
struct ConfigDir {
    dir: tempfile::TempDir,
}

impl ConfigDir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        ConfigDir { dir }
    }

    fn write(&self, relative: &str, text: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn cockpit(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", self.dir.path())
            .env("KUBECTL_COCKPIT_DATA", self.dir.path().join("data"))
            .output()
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_line(out: &str, file: &Path, line: usize, rest: &str) -> bool {
    let prefix = format!("{}:{line}: {rest}", file.display());
    out.lines().any(|l| l.starts_with(&prefix))
}

mod config_check {
    use super::*;

    #[test]
    fn bad_theme_and_keymap_exit_2_naming_file_and_line() {
        let config = ConfigDir::new();
        let theme = config.write(
            "themes/ocean.toml",
            "inherits = \"dark\"\n\"ui.text\" = \"#12345\"\n\"state.ok\" = { fg = \"green\", modifiers = [\"blinking\"] }\n",
        );
        let keymap =
            config.write("keymaps/mine.toml", "[overview]\nS = \"scale\"\nctrl-s = \"scale\"\nx = \"explode\"\n");
        let output = config.cockpit(&["config", "check"]);
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(has_line(&out, &theme, 2, "error: \"ui.text\".fg: expected \"#rrggbb\""), "{out}");
        assert!(has_line(&out, &theme, 3, "error: \"state.ok\".modifiers: unknown modifier \"blinking\""), "{out}");
        assert!(has_line(&out, &keymap, 3, "error: overview.ctrl-s: bad key \"ctrl-s\""), "{out}");
        assert!(has_line(&out, &keymap, 4, "error: overview.x: unknown command \"explode\""), "{out}");
        assert!(out.trim_end().ends_with("4 errors, 0 warnings"), "{out}");
    }

    #[test]
    fn an_inheritance_cycle_names_the_file_and_line_that_closes_it() {
        let config = ConfigDir::new();
        config.write("themes/a.toml", "inherits = \"b\"\n");
        let b = config.write("themes/b.toml", "# loops back\ninherits = \"a\"\n");
        let output = config.cockpit(&["config", "check"]);
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(has_line(&out, &b, 2, "error: inherits: inheritance cycle: a → b → a"), "{out}");
    }

    #[test]
    fn good_files_exit_0_and_warnings_are_allowed() {
        let config = ConfigDir::new();
        config.write("themes/ocean.toml", "inherits = \"light\"\n[palette]\naccent = \"#0077aa\"\n");
        config.write("themes/plain.toml", "\"ui.sparkle\" = \"red\"\n");
        config.write("keymaps/mine.toml", "[overview]\nS = \"scale\"\nq = \"no_op\"\n[global.g]\ng = \"go_top\"\n");
        let output = config.cockpit(&["config", "check"]);
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(out.contains("plain.toml:1: warning: \"ui.sparkle\": unknown style key"), "{out}");
        assert!(out.trim_end().ends_with("7 themes, 4 keymaps checked; 0 errors, 1 warning"), "{out}");
    }

    #[test]
    fn only_builtins_is_clean() {
        let config = ConfigDir::new();
        let output = config.cockpit(&["config", "check"]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stdout(&output), "config check: 5 themes, 3 keymaps checked; no problems\n");
    }

    #[test]
    fn files_given_by_path_are_checked_too() {
        let config = ConfigDir::new();
        let theme = config.write("elsewhere.toml", "\"ui.title\" = 7\n");
        let output = config.cockpit(&["config", "check", "--theme", theme.to_str().unwrap()]);
        let out = stdout(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(has_line(&out, &theme, 1, "error: \"ui.title\": expected a colour"), "{out}");
    }
}
