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
            out.trim_end().ends_with("7 themes, 4 keymaps, 1 profile, 5 runbooks checked; 0 errors, 1 warning"),
            "{out}"
        );
    }

    #[test]
    fn only_builtins_is_clean() {
        let config = ConfigDir::new();
        let output = config.cockpit(&["config", "check"]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stdout(&output), "config check: 5 themes, 3 keymaps, 1 profile, 5 runbooks checked; no problems\n");
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

#[test]
fn a_reader_that_stops_early_ends_it_quietly() {
    use std::io::Read;
    // 90 KB of completions: more than a pipe holds, so the writer meets the closed end.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "as a shell reports SIGPIPE");
    assert!(out.stderr.is_empty(), "no bug report for `| head`: {}", String::from_utf8_lossy(&out.stderr));
}

/// Kubeconfig `exec` credential plugins that misbehave: a headless command exits 3 with
/// one line on stderr naming the server and the plugin, never a debug dump, never a hang.
mod exec_plugins {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    const SERVER: &str = "https://127.0.0.1:9";

    /// A kubeconfig whose user gets its token from `script` (written executable into `dir`).
    fn kubeconfig_with_plugin(dir: &Path, script: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let plugin = dir.join("get-token.sh");
        std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": SERVER}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": plugin.to_str().unwrap(),
                "interactiveMode": "IfAvailable"}}}],
        });
        let path = dir.join("kubeconfig.json");
        std::fs::write(&path, config.to_string()).unwrap();
        (path, plugin)
    }

    /// `status` headless, killed (and the test failed) if it is still running after 25 s,
    /// with the plugin whose pid is in `plugin_pid` (it may hold the output pipes open).
    fn status(config: &ConfigDir, kubeconfig: &Path, extra: &[&str], plugin_pid: Option<&Path>) -> Output {
        use std::process::Stdio;
        let mut args = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push("status");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(&args)
            .env("KUBECTL_COCKPIT_CONFIG", config.dir.path())
            .env("KUBECTL_COCKPIT_DATA", config.dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(25);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                if let Some(pid) = plugin_pid.and_then(|p| std::fs::read_to_string(p).ok()) {
                    let _ = Command::new("kill").arg(pid.trim()).status();
                }
                let out = child.wait_with_output().unwrap();
                panic!("still running after 25 s; stderr: {}", String::from_utf8_lossy(&out.stderr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    }

    fn one_line_of_stderr(out: &Output) -> String {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.trim_end().lines().count(), 1, "one line on stderr: {err}");
        assert!(!err.contains("Output {") && !err.contains("ExitStatus(") && !err.contains("Os {"), "{err}");
        err
    }

    #[test]
    fn a_plugin_that_hangs_is_given_up_on_at_the_request_timeout() {
        let config = ConfigDir::new();
        let pid_file = config.dir.path().join("plugin.pid");
        let (kubeconfig, plugin) =
            kubeconfig_with_plugin(config.dir.path(), &format!("echo $$ > {}\nexec sleep 600", pid_file.display()));
        let start = Instant::now();
        let out =
            std::panic::catch_unwind(|| status(&config, &kubeconfig, &["--request-timeout", "2s"], Some(&pid_file)));
        let took = start.elapsed();
        // The plugin is the test's own process, left sleeping by the cockpit: end it.
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let out = out.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let err = one_line_of_stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(took < Duration::from_secs(20), "given up on in time, not after {took:?}: {err}");
        assert!(err.contains(SERVER) && err.contains(plugin.to_str().unwrap()) && err.contains("within 2s"), "{err}");
    }

    #[test]
    fn a_plugin_that_fails_is_one_line_with_its_complaint() {
        let config = ConfigDir::new();
        let (kubeconfig, plugin) =
            kubeconfig_with_plugin(config.dir.path(), "echo 'error: SSO session expired, run login' >&2\nexit 1");
        let out = status(&config, &kubeconfig, &[], None);
        let err = one_line_of_stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(SERVER) && err.contains(plugin.to_str().unwrap()), "{err}");
        assert!(err.contains("SSO session expired") && err.contains("exit status: 1"), "{err}");
    }
}
