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
        assert!(
            out.trim_end().ends_with("7 themes, 4 keymaps, 1 profile, 4 runbooks checked; 0 errors, 1 warning"),
            "{out}"
        );
    }

    #[test]
    fn only_builtins_is_clean() {
        let config = ConfigDir::new();
        let output = config.cockpit(&["config", "check"]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stdout(&output), "config check: 5 themes, 3 keymaps, 1 profile, 4 runbooks checked; no problems\n");
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

mod connection_errors {
    use super::*;

    fn run(dir: &ConfigDir, kubeconfig: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", dir.dir.path())
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", dir.dir.path())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap()
    }

    fn one_error_line(out: &Output) -> String {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "exactly one line, no backtrace: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        stderr
    }

    #[test]
    fn no_kubeconfig_is_exit_3_and_suggests_demo() {
        let dir = ConfigDir::new();
        let out = run(&dir, "", &[]);
        assert_eq!(out.status.code(), Some(3));
        let line = one_error_line(&out);
        assert!(line.contains("no kubeconfig found") && line.contains("--demo"), "{line}");
    }

    #[test]
    fn unreachable_server_is_exit_3_with_url_within_the_timeout() {
        let dir = ConfigDir::new();
        // A port nobody listens on: connection refused, at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let kc = dir.write(
            "kc.yaml",
            &format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n\
                 users:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: prod\n  context: {{cluster: c, user: u}}\n\
                 current-context: prod\n"
            ),
        );
        let out = run(&dir, kc.to_str().unwrap(), &["--request-timeout", "3s"]);
        assert_eq!(out.status.code(), Some(3));
        let line = one_error_line(&out);
        assert!(line.contains(&format!("http://127.0.0.1:{port}")) && line.contains("prod"), "{line}");

        let out = run(&dir, kc.to_str().unwrap(), &["--context", "staging"]);
        assert_eq!(out.status.code(), Some(3));
        let line = one_error_line(&out);
        assert!(line.contains("context \"staging\" not found") && line.contains("prod"), "{line}");
    }
}

mod kubectl_plugin {
    use super::*;

    /// A PATH where `kubectl-cockpit` is found, as after `cargo install`.
    fn path_with_plugin(dir: &Path) -> String {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-cockpit"), bin.join("kubectl-cockpit")).unwrap();
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
    }

    #[test]
    fn kubectl_finds_the_plugin_and_runs_its_help() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_with_plugin(dir.path());
        let list = Command::new("kubectl").args(["plugin", "list"]).env("PATH", &path).output().unwrap();
        let listed = String::from_utf8_lossy(&list.stdout);
        assert!(listed.contains("kubectl-cockpit"), "{listed}");
        let help = Command::new("kubectl").args(["cockpit", "--help"]).env("PATH", &path).output().unwrap();
        assert!(help.status.success(), "{}", String::from_utf8_lossy(&help.stderr));
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(
            text.contains("kubectl cockpit") && text.contains("--demo") && text.contains("--all-namespaces"),
            "{text}"
        );
    }
}
