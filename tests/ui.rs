//! The real binary in a pseudo-terminal on the built-in simulated cluster (`--demo`),
//! read through a VT100 screen parser, as an operator would see it.

mod support;

use std::time::Duration;

use support::pty::{Pty, isolated_env};

fn cockpit(args: &[&str], cols: u16, rows: u16) -> (Pty, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (Pty::spawn(args, &env, cols, rows), dir)
}

/// Waits until the demo's services are listed.
fn wait_for_services(pty: &Pty) {
    pty.wait_until("the demo services", |s| s.contains("soundspan-backend") && s.contains("live"));
}

#[test]
fn q_quits_and_restores_the_terminal() {
    let (mut pty, _dir) = cockpit(&["--demo"], 80, 24);
    wait_for_services(&pty);
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    pty.terminal_restored().unwrap();
}

#[test]
fn sighup_ends_it_promptly_and_restores_the_terminal() {
    let (mut pty, _dir) = cockpit(&["--demo"], 80, 24);
    wait_for_services(&pty);
    pty.signal(libc::SIGHUP);
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 128 + 1, "a shell's status for SIGHUP");
    pty.terminal_restored().unwrap();
}

#[test]
fn a_panic_restores_the_terminal_and_reports_the_bug() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = isolated_env(dir.path());
    env.push(("KUBECTL_COCKPIT_TEST_PANIC".into(), "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn(&["--demo"], &env, 80, 24);
    let code = pty.wait_exit(Duration::from_secs(20));
    assert_ne!(code, 0, "a panic is a failure");
    pty.terminal_restored().unwrap();
    let output = String::from_utf8_lossy(&pty.raw_output()).into_owned();
    assert!(output.contains("panicking on purpose after the first frame"), "the report reaches the operator: {output}");
}

#[test]
fn sigterm_ends_it_and_restores_the_terminal() {
    let (mut pty, _dir) = cockpit(&["--demo"], 80, 24);
    wait_for_services(&pty);
    pty.signal(libc::SIGTERM);
    assert_eq!(pty.wait_exit(Duration::from_secs(5)), 128 + 15, "a shell's status for SIGTERM");
    pty.terminal_restored().unwrap();
}

#[test]
fn overview_detail_filter_and_back_at_80x24() {
    let (mut pty, _dir) = cockpit(&["--demo"], 80, 24);
    wait_for_services(&pty);
    let screen = pty.screen_text();
    for header in ["SERVICE", "READY", "ROLLOUT", "PROBES", "PDB"] {
        assert!(screen.contains(header), "{header} fits at 80x24:\n{screen}");
    }
    assert!(screen.contains("cockpit-sim"), "status line names the context:\n{screen}");

    // Problems first: the top row is a service with findings.
    pty.wait_until("a problem in the demo", |s| s.contains("with problems"));
    pty.send("\r");
    pty.wait_until("the first row's detail with its findings", |s| s.contains("PODS") && s.contains("FINDINGS"));
    pty.send("\x1b");
    pty.wait_until("back on the overview", |s| s.contains("SERVICE"));

    pty.send("/");
    pty.send("frontend");
    pty.wait_until("the filter narrows the rows", |s| {
        s.contains("soundspan-frontend") && !s.contains("soundspan-backend ")
    });
    pty.send("\r");
    pty.send("\r");
    pty.wait_until("the detail view", |s| s.contains("deploy soundspan/soundspan-frontend") && s.contains("PODS"));
    pty.send("\x1b");
    pty.wait_until("back on the overview", |s| s.contains("filter \"frontend\""));
    pty.send("\x7f");
    pty.wait_until("the filter cleared", |s| s.contains("soundspan-backend"));
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    pty.terminal_restored().unwrap();
}

#[test]
fn help_lists_the_keys_of_the_active_keymap() {
    let (mut pty, _dir) = cockpit(&["--demo"], 100, 40);
    wait_for_services(&pty);
    pty.send("?");
    // The overlay arrives over several writes: wait for the whole of it, not its title.
    pty.wait_until("the help overlay", |s| {
        s.contains("Keys: overview (keymap default)") && s.contains("Filter the rows")
    });
    let screen = pty.screen_text();
    assert!(screen.contains("open_detail"), "{screen}");
    assert!(screen.contains("Filter the rows"), "{screen}");
    pty.send("\x1b");
    pty.wait_until("help closed", |s| !s.contains("Keys: overview"));

    // Tall enough for the overview's keys and the global ones below them.
    let (mut vim, _dir) = cockpit(&["--demo", "--keymap", "vim"], 100, 50);
    wait_for_services(&vim);
    vim.send("?");
    vim.wait_until("the vim help overlay", |s| s.contains("(keymap vim)") && s.contains(" j  move_down"));
    let screen = vim.screen_text();
    assert!(screen.contains(" j  move_down"), "{screen}");
    vim.send("q");
    vim.wait_until("help closed by q", |s| !s.contains("(keymap vim)"));
    vim.send("q");
    assert_eq!(vim.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn command_palette_runs_a_command_by_fuzzy_name() {
    let (mut pty, _dir) = cockpit(&["--demo"], 100, 30);
    wait_for_services(&pty);
    pty.send(":");
    pty.wait_until("the palette", |s| s.contains("Command") && s.contains("command_palette"));
    pty.send("hlp");
    pty.wait_until("help ranked first", |s| s.contains("help") && !s.contains("open_overview"));
    pty.send("\r");
    pty.wait_until("help opened from the palette", |s| s.contains("Keys: overview"));
}

#[test]
fn namespace_switcher_rescopes_the_overview() {
    let (mut pty, _dir) = cockpit(&["--demo"], 100, 30);
    wait_for_services(&pty);
    pty.send(" n");
    pty.wait_until("the namespace picker", |s| s.contains("Namespace (type a name"));
    pty.send("soundspan");
    pty.send("\r");
    pty.wait_until("scoped to soundspan", |s| {
        s.contains("ns soundspan") && s.contains("soundspan-backend") && s.contains("live")
    });
    let screen = pty.screen_text();
    assert!(!screen.contains("NAMESPACE"), "one namespace: no NAMESPACE column\n{screen}");
}

#[test]
fn read_only_shows_a_badge_and_refuses_mutations() {
    let (mut pty, dir) = cockpit(&["--demo", "--read-only"], 100, 30);
    wait_for_services(&pty);
    assert!(pty.screen_text().contains("READ-ONLY"));
    pty.send("s");
    pty.wait_until("scale refused", |s| s.contains("read-only"));
    let audit = dir.path().join("data").join("audit.jsonl");
    pty.wait_until("the refusal audited", |_| {
        std::fs::read_to_string(&audit).is_ok_and(|t| t.contains("\"outcome\":\"refused: read-only\""))
    });
}

#[test]
fn a_broken_theme_falls_back_to_the_default_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("config").join("themes");
    std::fs::create_dir_all(&themes).unwrap();
    std::fs::write(themes.join("mine.toml"), "inherits = \"dark\"\n[palette]\nbg = \"#12345\"\n").unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn(&["--demo", "--theme", "mine"], &env, 120, 30);
    wait_for_services(&pty);
    let screen = pty.screen_text();
    assert!(screen.contains("mine.toml:3"), "the warning names file and line:\n{screen}");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn idle_writes_nothing_to_the_terminal() {
    // A cluster where nothing happens: no frame may be written while nothing changes.
    let (pty, _dir) = cockpit(&["--demo", "--demo-scenario", "clean"], 100, 30);
    pty.wait_until("the empty cluster", |s| s.contains("No Deployments or StatefulSets") && s.contains("live"));
    std::thread::sleep(Duration::from_millis(1500));
    let settled = pty.raw_output().len();
    std::thread::sleep(Duration::from_secs(3));
    let later = pty.raw_output();
    assert_eq!(later.len(), settled, "bytes written while idle: {:?}", String::from_utf8_lossy(&later[settled..]));
}

#[test]
fn the_scale_wizard_previews_dry_runs_confirms_and_follows_to_completion() {
    let (mut pty, dir) = cockpit(&["--demo"], 110, 32);
    wait_for_services(&pty);
    pty.send("/soundspan/soundspan-frontend\r");
    pty.wait_until("the frontend selected", |s| s.contains("Services 1 "));
    pty.wait_until("the frontend settled", |s| {
        s.lines().any(|l| l.contains("soundspan-frontend") && l.contains("2/2"))
    });
    pty.send("s");
    pty.wait_until("the wizard", |s| s.contains("Scale soundspan/soundspan-frontend") && s.contains("replicas:"));
    pty.send("\x7f3");
    pty.wait_until("the live preview", |s| {
        s.contains("2 → 3") && s.contains("disruption budget") && s.contains("--replicas=3")
    });
    pty.send("\r");
    pty.wait_until("the server's dry-run answer", |s| s.contains("server dry-run: ok"));
    pty.send("\r");
    pty.wait_until("the rollout followed to its end", |s| s.contains("rolled out: 3 replicas ready"));
    pty.send("\r");
    pty.wait_until("the overview with 3 replicas", |s| {
        s.lines().any(|l| l.contains("soundspan-frontend") && l.contains("3/3"))
    });
    let audit = std::fs::read_to_string(dir.path().join("data").join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"outcome\":\"applied\"") && audit.contains("soundspan/deploy/soundspan-frontend"),
        "{audit}"
    );
    pty.send(" a");
    pty.wait_until("the audit trail in the cockpit", |s| {
        s.contains("Audit trail · 1 attempts")
            && s.lines().any(|l| {
                l.contains("soundspan/deploy/soundspan-frontend") && l.contains("2 → 3") && l.contains("applied")
            })
    });
}

#[test]
fn the_scale_wizard_says_how_many_more_pods_the_nodes_hold() {
    // 500m cpu and 1Gi a pod: the demo's three nodes hold fewer than 47 more. The room is
    // read from the nodes' capacity when the preview is drawn, not kept with the row.
    let (mut pty, _dir) = cockpit(&["--demo"], 160, 40);
    wait_for_services(&pty);
    pty.send("/soundspan-audio-analyzer\r");
    pty.wait_until("the analyzer selected", |s| s.contains("deploy soundspan/soundspan-audio-analyzer ─"));
    pty.send("s");
    pty.wait_until("the wizard", |s| s.contains("Scale soundspan/soundspan-audio-analyzer") && s.contains("replicas:"));
    pty.send("\x7f48");
    pty.wait_until("the node capacity line and its warning", |s| {
        s.contains("47 new pods x 500m cpu, 1Gi memory; room for") && s.contains("would stay Pending")
    });
    pty.send("\x7f\x7f2");
    pty.wait_until("one more fits", |s| s.contains("1 new pods x 500m cpu") && !s.contains("would stay Pending"));
}

#[test]
fn rollout_restart_from_the_overview_goes_through_the_same_wizard() {
    // A steady service: the demo's flapping frontend can take longer than a test's patience
    // to become available again, which is the frontend's problem, not the wizard's.
    let (mut pty, _dir) = cockpit(&["--demo"], 110, 32);
    wait_for_services(&pty);
    pty.send("/honeydue/admin\r");
    pty.wait_until("the admin service settled", |s| {
        s.lines().any(|l| l.contains("honeydue") && l.contains("admin") && l.contains("1/1") && l.contains("complete"))
    });
    pty.send("r");
    pty.wait_until("the rollout menu", |s| s.contains("rollout") && s.contains("Restart every pod"));
    pty.send("r");
    pty.wait_until("the restart preview", |s| {
        s.contains("rollout restart honeydue/admin")
            && s.contains("kubectl rollout restart deployment/admin -n honeydue")
    });
    pty.send("\r");
    pty.wait_until("the dry-run", |s| s.contains("server dry-run: ok"));
    pty.send("\r");
    pty.wait_until("the restart rolled out", |s| s.contains("rolled out · Enter: close"));
}

#[test]
fn a_resize_redraws_for_the_new_width() {
    let (pty, _dir) = cockpit(&["--demo"], 80, 24);
    wait_for_services(&pty);
    assert!(!pty.screen_text().contains("NAMESPACE"), "at 80 columns the namespace column gives way");
    pty.resize(200, 50);
    pty.wait_until("the wide layout", |s| {
        s.contains("NAMESPACE") && s.contains("UP-TO-DATE") && s.contains("AGE") && s.contains("LAST EVENTS")
    });
    pty.resize(80, 24);
    pty.wait_until("the narrow layout again", |s| {
        !s.contains("NAMESPACE") && s.contains("soundspan/soundspan-backend")
    });
}

#[test]
fn the_budget_view_shows_each_database_and_highlights_the_one_past_its_threshold() {
    let (mut pty, _dir) = cockpit(&["--demo"], 120, 40);
    wait_for_services(&pty);
    // The overview's BUDGET column: statewave's database is past 70 %.
    pty.wait_for("BUDGET");
    pty.send(" b");
    // The screen opens before the measurement answers: wait for the answer, not the title.
    pty.wait_until("the budget screen, measured", |s| {
        s.contains("Connection budget") && s.contains("honeydue-pg") && !s.contains("measuring…")
    });
    let screen = pty.screen_text();
    assert!(screen.contains("statewave-pg [WARN]"), "{screen}");
    assert!(screen.contains("forge-pg [OK]"), "{screen}");
    assert!(
        screen.contains("statewave 4 x (10 + 5) + headroom 15")
            || screen.contains("statewave 5 x (10 + 5) + headroom 15"),
        "{screen}"
    );
    assert!(screen.contains("pool 10 (env STATEWAVE_DATABASE_POOL_SIZE)"), "where the number came from:\n{screen}");
    assert!(screen.contains("max_connections 100 (annotation cockpit.dev/max-connections)"), "{screen}");
    assert!(screen.contains("put a transaction-mode pooler (PgBouncer) in front"), "{screen}");
    assert!(screen.contains("measurement unavailable: environment variable HONEYDUE_PG_URL is not set"), "{screen}");
    assert!(screen.contains("at HPA max 145 (150 %) over"), "forge-pg's worst case:\n{screen}");
    let warn = pty.fg_of("statewave-pg [WARN]");
    let ok = pty.fg_of("forge-pg [OK]");
    assert!(warn.is_some() && warn != ok, "the database past its threshold is highlighted: {warn:?} vs {ok:?}");
    assert_ne!(warn, Some(vt100::Color::Default));
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn the_budget_screen_measures_a_real_postgres_when_it_opens() {
    use support::postgres::{MONITOR, MONITOR_PASSWORD, PgServer};
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = isolated_env(dir.path());
    env.push(("HONEYDUE_PG_URL".into(), pg.url_for(MONITOR, MONITOR_PASSWORD, None)));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // A psql session of the worker's, held open while the cockpit measures.
    let held = pg.psql_background("worker");
    let mut pty = Pty::spawn(&["--demo"], &env, 120, 40);
    wait_for_services(&pty);
    pty.send(" b");
    pty.wait_until("the measurement", |s| s.contains("measured: 1 connections of max_connections 40"));
    let screen = pty.screen_text();
    assert!(screen.contains("honeydue/worker  1 × 7 = 7") && screen.contains("measured 1"), "{screen}");
    // Judged on the server's 40, not the profile's 100, and the difference is a finding.
    assert!(screen.contains("max_connections 40 (measured)") && screen.contains("honeydue-pg [OVER]"), "{screen}");
    assert!(screen.contains("finding: profile says max_connections 100, the server says 40"), "{screen}");
    assert!(!screen.contains(MONITOR_PASSWORD));
    drop(held);
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn the_findings_view_groups_preflight_checks_with_their_fix() {
    let (mut pty, _dir) = cockpit(&["--demo"], 140, 40);
    wait_for_services(&pty);
    pty.wait_for("CHECKS");
    pty.send(" f");
    pty.wait_until("the findings screen", |s| s.contains("Preflight findings"));
    let screen = pty.screen_text();
    assert!(screen.contains("budget-at-hpa-max [error]"), "errors come first:\n{screen}");
    assert!(screen.contains("fix: lower maxReplicas or the per-pod pool"), "{screen}");
    assert!(screen.contains("app/deploy/app: HPA max 10 x 10 per replica = 100 connections"), "{screen}");
    // Into the detail of one service: its own preflight checks with the fix.
    pty.send("\x1b");
    pty.wait_until("back on the overview", |s| s.contains("Services"));
    pty.send("/gitserver\r");
    pty.wait_until("filtered", |s| s.contains("filter \"gitserver\""));
    pty.send("\r");
    pty.wait_until("the detail view", |s| s.contains("PREFLIGHT CHECKS"));
    let screen = pty.screen_text();
    assert!(screen.contains("warning run-as-root: gitserver"), "{screen}");
    assert!(screen.contains("fix: set securityContext.runAsNonRoot: true"), "{screen}");
    let first = screen.find("PREFLIGHT CHECKS").unwrap();
    assert!(screen[first..].find("warning").unwrap() < screen[first..].find("info").unwrap(), "worst first:\n{screen}");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_log_pane_follows_the_noisy_service_highlights_slo_lines_filters_and_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let profile = support::quick_slo_profile(dir.path());
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn(&["--demo", "--profile", profile.to_str().unwrap()], &env, 150, 45);
    wait_for_services(&pty);
    pty.send("/soundspan/soundspan-backend\r");
    pty.wait_until("filtered", |s| s.contains("filter \"soundspan/soundspan-backend\""));
    pty.send("p");
    pty.send("l");
    pty.wait_until("the pane with lines", |s| s.contains("soundspan/soundspan-backend ·") && s.contains("[HTTP]"));
    // The demo's burst starts 20 s in; three warnings come 4 s apart.
    pty.wait_within(Duration::from_secs(90), "the SLO burst failing the rule", |s| {
        s.contains("FAIL listen-together-reconnect")
    });
    let match_fg = pty.fg_of("exceeded target");
    let plain_fg = pty.fg_of("[HTTP]");
    assert!(match_fg.is_some() && match_fg != plain_fg, "SLO lines are highlighted: {match_fg:?} vs {plain_fg:?}");

    // A search highlights and jumps; a filter keeps only matching lines; an invalid regex
    // says why and keeps the previous one.
    pty.send("/heartbeat\r");
    pty.wait_until("the search applied", |s| s.contains("search /heartbeat/"));
    let hit = pty.colours_of("/heartbeat 204");
    let (plain, matched) = (pty.colours_of("[HTTP] GET"), pty.colours_of("exceeded target"));
    assert!(
        hit.is_some() && hit != plain && hit != matched,
        "search hits have their own colours: {hit:?} {plain:?} {matched:?}"
    );
    pty.send("N");
    pty.wait_for("· paused");
    pty.send("&exceeded\r");
    pty.wait_until("the filter applied", |s| s.contains("filter /exceeded/") && !s.contains("[HTTP]"));
    pty.send("&(");
    pty.wait_for("invalid regex (previous filter kept)");
    pty.send("\x1b");
    pty.wait_until("the filter back", |s| s.contains("filter /exceeded/") && !s.contains("invalid regex"));

    // Resume following, pause, resume.
    pty.send("f");
    pty.wait_for("· following");
    pty.send("f");
    pty.wait_for("· paused");
    pty.send("f");
    pty.wait_for("· following");

    // The overview's SLO column shows the gate of the streamed service.
    pty.send("\x1b");
    pty.wait_until("the overview's SLO column", |s| {
        s.contains(" Services ") && s.lines().any(|l| l.contains("soundspan-backend ") && l.contains("FAIL"))
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn the_kubectl_command_is_copied_with_osc_52() {
    use base64::Engine;
    let osc52 = |text: &str| format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text));
    let (mut pty, _dir) = cockpit(&["--demo"], 110, 32);
    wait_for_services(&pty);
    pty.send("/honeydue/admin\r");
    pty.wait_until("the admin service", |s| {
        s.lines().any(|l| l.contains("honeydue") && l.contains("admin") && l.contains("1/1"))
    });
    pty.send("y");
    pty.wait_for("copied: kubectl get deployment/admin -n honeydue -o wide");
    let raw = String::from_utf8_lossy(&pty.raw_output()).into_owned();
    assert!(raw.contains(&osc52("kubectl get deployment/admin -n honeydue -o wide")), "OSC 52 written");
    // In the scale wizard, Ctrl-Y copies the change being prepared.
    pty.send("s");
    pty.wait_for("replicas");
    pty.send("\x7f2");
    pty.wait_for("kubectl scale deployment/admin -n honeydue --replicas=2");
    pty.send("\x19");
    pty.wait_for("copied: kubectl scale deployment/admin -n honeydue --replicas=2");
    let raw = String::from_utf8_lossy(&pty.raw_output()).into_owned();
    assert!(raw.contains(&osc52("kubectl scale deployment/admin -n honeydue --replicas=2")), "the wizard's command");
}

/// The audit trail's entries, as JSON values.
fn audit_entries(dir: &tempfile::TempDir) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.path().join("data").join("audit.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The audit trail once it holds `n` entries (a refusal is written in the background).
fn audit_with(dir: &tempfile::TempDir, n: usize) -> Vec<serde_json::Value> {
    let start = std::time::Instant::now();
    loop {
        let entries = audit_entries(dir);
        if entries.len() >= n {
            return entries;
        }
        assert!(start.elapsed() < support::pty::DEADLINE, "the audit trail has {entries:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_undo_chooser_lists_revisions_previews_each_diff_and_rolls_back_the_chosen_one() {
    use base64::Engine;
    // The demo starts settled with some history: web's last revision before the scripted
    // rollout is `before`, the stalled rollout makes `before + 1`.
    let before = cockpit::sim::world::settle::settled_revision("web");
    let current = before + 1;
    let (mut pty, dir) = cockpit(&["--demo"], 160, 40);
    wait_for_services(&pty);
    pty.send("/honeydue/web\r");
    pty.wait_until("web selected", |s| s.contains("Services 1 ") && s.contains("honeydue/web"));
    pty.send("ru");
    pty.wait_for("Undo honeydue/web: choose a revision");
    // The demo moves web to 9c3a1f0 at 15 s (a rollout that stalls); the list follows live.
    pty.wait_until("both revisions listed", |s| {
        s.contains("honeydue-web:9c3a1f0") && s.contains("honeydue-web:4f1e2d7")
    });
    pty.send("\x1b[A");
    pty.wait_until("the current revision highlighted", |s| {
        s.contains(&format!("revision {current} is the current one"))
    });
    pty.send("\x1b[B");
    pty.wait_until("the chosen revision's diff", |s| {
        s.contains(
            "web: gitea.treytartt.com/admin/honeydue-web:9c3a1f0 → gitea.treytartt.com/admin/honeydue-web:4f1e2d7",
        ) && s.contains(&format!("kubectl rollout undo deployment/web -n honeydue --to-revision={before}"))
    });
    pty.send("\x19");
    pty.wait_for(&format!("copied: kubectl rollout undo deployment/web -n honeydue --to-revision={before}"));
    let osc52 = base64::engine::general_purpose::STANDARD
        .encode(format!("kubectl rollout undo deployment/web -n honeydue --to-revision={before}"));
    assert!(String::from_utf8_lossy(&pty.raw_output()).contains(&osc52));
    assert!(audit_entries(&dir).is_empty(), "choosing sends nothing");
    pty.send("\r");
    pty.wait_until("the wizard with the same plan", |s| {
        s.contains("rollout undo honeydue/web") && s.contains(&format!("{current} → {before} (as a new revision)"))
    });
    pty.send("\r");
    pty.wait_for("server dry-run: ok");
    pty.send("\r");
    pty.wait_until("the undo rolled out", |s| s.contains("rolled out · Enter: close"));
    let entries = audit_entries(&dir);
    let undo = entries.iter().find(|e| e["outcome"] == "applied").expect("the undo is audited");
    assert_eq!(undo["action"], "rollout undo");
    assert_eq!(
        (undo["before"]["revision"].as_i64(), undo["after"]["revision"].as_i64()),
        (Some(current), Some(before))
    );
}

/// The demo at 160x50 with `PATH` as given (where helm is looked for).
fn demo_with_path(dir: &tempfile::TempDir, path: &str) -> Pty {
    let mut env = isolated_env(dir.path());
    env.push(("PATH".into(), path.to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Pty::spawn(&["--demo"], &env, 160, 50)
}

/// Waits until the demo's Helm-managed service is ready, then opens its detail at the bottom.
fn open_docs_site_detail(pty: &mut Pty) {
    pty.send("/docs/docs-site\r");
    pty.wait_until("docs-site ready", |s| s.lines().any(|l| l.contains("docs-site") && l.contains("2/2")));
    pty.send("\r");
    pty.wait_for("deploy docs/docs-site");
    pty.send("\x1b[F");
    pty.wait_until("the Helm release section", |s| s.contains("HELM RELEASE docs (ns docs)") && s.contains("failed"));
}

#[test]
fn the_helm_history_and_rollback_command_show_and_without_helm_it_is_only_copied() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-helm-here");
    std::fs::create_dir_all(&empty).unwrap();
    let mut pty = demo_with_path(&dir, &empty.display().to_string());
    wait_for_services(&pty);
    open_docs_site_detail(&mut pty);
    let screen = pty.screen_text();
    assert!(screen.contains("chart docs-site-1.4.2 · app version 2.3.0"), "{screen}");
    for revision in ["4*       deployed", "3        failed", "2        superseded", "1        superseded"] {
        assert!(screen.contains(revision), "{revision}:\n{screen}");
    }
    assert!(screen.contains("rollback: helm rollback docs 2 -n docs"), "the last good revision:\n{screen}");
    assert!(!screen.contains("bm90LWEtaGVsbS1yZWxlYXNl"), "no release body on screen");

    pty.send("rh");
    pty.wait_until("the chooser with helm missing", |s| {
        s.contains("Helm rollback docs/docs-site: choose a revision") && s.contains("helm is not on PATH")
    });
    pty.send("\x19");
    pty.wait_for("copied: helm rollback docs 2 -n docs");
    pty.send("\r");
    pty.wait_for("Enter: helm rollback --dry-run");
    pty.send("\r");
    pty.wait_until("refused, the command still offered", |s| {
        s.contains("helm is not on PATH: the cockpit cannot run the rollback")
            && s.contains("helm rollback docs 2 -n docs")
    });
    let entries = audit_with(&dir, 1);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0]["action"].as_str(), entries[0]["outcome"].as_str()),
        (Some("helm rollback"), Some("refused: helm-not-on-path"))
    );
}

#[test]
fn with_helm_on_path_the_rollback_is_dry_run_first_and_run_only_once_confirmed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.path().join("helm.log");
    // A stand-in for helm that records how it was called.
    let script =
        format!("#!/bin/sh\necho \"$*\" >> '{}'\necho 'Rollback was a success! Happy Helming!'\n", log.display());
    std::fs::write(bin.join("helm"), script).unwrap();
    std::fs::set_permissions(bin.join("helm"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut pty = demo_with_path(&dir, &format!("{}:/usr/bin:/bin", bin.display()));
    wait_for_services(&pty);
    open_docs_site_detail(&mut pty);
    let calls = || std::fs::read_to_string(&log).unwrap_or_default();
    pty.send("rh");
    pty.wait_for("Helm rollback docs/docs-site: choose a revision");
    assert!(!pty.screen_text().contains("helm is not on PATH"));
    pty.send("\r");
    pty.wait_for("Enter: helm rollback --dry-run");
    assert_eq!(calls(), "", "nothing runs before Enter");
    pty.send("\r");
    pty.wait_for("helm --dry-run: ok · Enter: helm rollback docs to revision 2 (ns docs)");
    assert_eq!(
        calls(),
        "rollback docs 2 -n docs --kube-context cockpit-sim --dry-run\n",
        "only helm's simulation so far"
    );
    pty.send("\r");
    pty.wait_until("rolled back", |s| s.contains("rolled out · Enter: close"));
    assert_eq!(
        calls(),
        "rollback docs 2 -n docs --kube-context cockpit-sim --dry-run\nrollback docs 2 -n docs --kube-context cockpit-sim\n"
    );
    let entries = audit_entries(&dir);
    let applied = entries.iter().find(|e| e["outcome"] == "applied").expect("audited");
    assert_eq!(applied["action"], "helm rollback");
    assert_eq!((applied["before"]["revision"].as_i64(), applied["after"]["revision"].as_i64()), (Some(4), Some(2)));
}

#[test]
fn set_image_warns_on_a_sliding_tag_then_rolls_out_a_pinned_one() {
    let (mut pty, dir) = cockpit(&["--demo"], 120, 34);
    wait_for_services(&pty);
    pty.send("/soundspan-staging/soundspan-redis\r");
    pty.wait_until("redis selected", |s| s.contains("Services 1 "));
    pty.send("i");
    pty.wait_until("the image wizard", |s| {
        s.contains("Set image soundspan-staging/soundspan-redis") && s.contains("image:")
    });
    for _ in 0.."7-alpine".len() {
        pty.send("\x7f");
    }
    pty.send("latest");
    pty.wait_until("the sliding-tag warning", |s| {
        s.contains("redis:7-alpine → redis:latest") && s.contains("does not pin a version")
    });
    for _ in 0.."latest".len() {
        pty.send("\x7f");
    }
    pty.send("7.2.5-alpine");
    pty.wait_until("a pinned image previewed", |s| {
        s.contains("redis:7-alpine → redis:7.2.5-alpine") && !s.contains("does not pin a version")
    });
    pty.send("\r");
    pty.wait_until("the server's dry-run answer", |s| s.contains("server dry-run: ok"));
    pty.send("\r");
    pty.wait_until("the rollout followed to its end", |s| s.contains("rolled out"));
    let audit = std::fs::read_to_string(dir.path().join("data").join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"set image\"") && audit.contains("redis:7.2.5-alpine"), "{audit}");
}

/// The overview's column headers, left to right (the line that starts with a sort mark
/// or SERVICE).
fn columns_shown(screen: &str) -> Vec<String> {
    let header = screen.lines().find(|l| l.contains("SERVICE") && l.contains("READY")).unwrap_or_default();
    header.split_whitespace().map(|h| h.trim_end_matches(['▼', '▲']).to_string()).collect()
}

/// The demo at `cols`x`rows`: which columns show, and that the staging namespace's
/// `soundspan-backend` and `soundspan-backend-worker` stay two different names.
fn overview_at(cols: u16, rows: u16, shown: &[&str], hidden: &[&str]) -> Pty {
    let (pty, dir) = cockpit(&["--demo"], cols, rows);
    std::mem::forget(dir);
    wait_for_services(&pty);
    let screen = pty.screen_text();
    let columns = columns_shown(&screen);
    for column in shown {
        assert!(columns.iter().any(|c| c == column), "{column} shows at {cols}x{rows}: {columns:?}\n{screen}");
    }
    for column in hidden {
        assert!(!columns.iter().any(|c| c == column), "{column} gives way at {cols}x{rows}: {columns:?}\n{screen}");
    }
    // The operator's columns go in their order: never BUDGET, SLO or CHECKS before
    // UP-TO-DATE or AGE.
    if columns.iter().any(|c| c == "UP-TO-DATE" || c == "AGE") {
        for kept in ["BUDGET", "SLO", "CHECKS"] {
            assert!(columns.iter().any(|c| c == kept), "{kept} outranks UP-TO-DATE and AGE: {columns:?}");
        }
    }
    pty
}

/// The names on screen of the staging backend and its worker: two rows, told apart.
fn staging_backends_distinct(pty: &mut Pty) {
    pty.send("/");
    pty.send("staging/soundspan-backend");
    pty.wait_until("the two staging backends", |s| s.contains("Services 2 of 24"));
    pty.send("\r");
    let screen = pty.screen_text();
    // The SERVICE column starts where its header does (the names may hold a multi-byte `…`).
    let header = screen.lines().find(|l| l.contains("SERVICE") && l.contains("READY")).unwrap_or_default();
    let at = header.find("SERVICE").map_or(0, |byte| header[..byte].chars().count());
    let lines: Vec<&str> = screen.lines().skip_while(|l| !l.contains("SERVICE")).skip(1).take(2).collect();
    let names: Vec<String> = lines
        .iter()
        .filter_map(|l| l.chars().skip(at).collect::<String>().split_whitespace().next().map(str::to_string))
        .collect();
    assert_eq!(names.len(), 2, "{screen}");
    assert_ne!(names[0], names[1], "two services, two names:\n{screen}");
    assert!(names.iter().any(|n| n.ends_with("backend-worker")), "the worker's end is readable:\n{screen}");
    assert!(names.iter().any(|n| n.ends_with("backend")), "the backend's end is readable:\n{screen}");
    pty.send("\x7f");
}

#[test]
fn at_80x24_the_overview_keeps_what_only_the_cockpit_knows() {
    let shown = ["SERVICE", "READY", "ROLLOUT", "PROBES", "PDB", "BUDGET", "SLO", "CHECKS"];
    let hidden = ["NAMESPACE", "KIND", "UP-TO-DATE", "AVAILABLE"];
    let mut pty = overview_at(80, 24, &shown, &hidden);
    let screen = pty.screen_text();
    assert!(!screen.contains("Problems "), "no room for the problems strip:\n{screen}");
    assert!(!screen.contains("LAST EVENTS"), "no room for the side panel:\n{screen}");
    assert!(screen.contains("Services 24 · "), "the count of the scope:\n{screen}");
    staging_backends_distinct(&mut pty);
}

#[test]
fn at_120x40_more_columns_and_the_live_problems_below() {
    let shown = ["SERVICE", "READY", "ROLLOUT", "PROBES", "PDB", "BUDGET", "SLO", "CHECKS", "HPA", "AGE"];
    let mut pty = overview_at(120, 40, &shown, &["KIND"]);
    pty.wait_until("the problems strip", |s| s.contains(" Problems ") && s.contains("] and [ visit them"));
    assert!(!pty.screen_text().contains("LAST EVENTS"), "no side panel under 160 columns");
    // CHECKS counts the preflight checks by severity (`1E 4W 3I`).
    let by_severity =
        |t: &str| t.len() >= 2 && t.ends_with(['E', 'W', 'I']) && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit());
    pty.wait_until("CHECKS by severity", |s| {
        s.lines().any(|l| l.split_whitespace().filter(|t| by_severity(t)).count() >= 2)
    });
    staging_backends_distinct(&mut pty);
    // Namespaces as group headers, the counts of each.
    pty.send("N");
    pty.wait_until("namespaces as group headers", |s| {
        s.contains("by namespace") && s.contains("▾ soundspan-staging · 4 services")
    });
    assert!(!columns_shown(&pty.screen_text()).iter().any(|c| c == "NAMESPACE"));
    // `?` explains the codes, after the keys.
    pty.send("?");
    pty.wait_for("Keys: overview");
    pty.send("\x1b[6~\x1b[6~\x1b[6~\x1b[6~\x1b[6~");
    pty.wait_until("the legend", |s| {
        s.contains("S startup, R readiness, L liveness") && s.contains("disruptions allowed")
    });
}

#[test]
fn at_200x50_the_selected_service_sits_beside_the_list_and_follows_it() {
    let shown = ["NAMESPACE", "SERVICE", "READY", "UP-TO-DATE", "AVAILABLE", "ROLLOUT", "PROBES", "PDB", "BUDGET"];
    let mut pty = overview_at(200, 50, &shown, &[]);
    pty.wait_until("the side panel", |s| s.contains("LAST EVENTS") && s.contains("PROBES") && s.contains("PODS "));
    pty.send("/");
    pty.send("soundspan/soundspan-frontend");
    pty.send("\r");
    pty.wait_until("the panel follows the selection", |s| {
        s.contains("deploy soundspan/soundspan-frontend") && s.contains("DISRUPTION BUDGET")
    });
    pty.send("\x7f");
    pty.wait_until("every service again", |s| s.contains("Services 24 "));
    pty.send("]");
    pty.wait_until("] selects a service with problems, the panel says why", |s| {
        s.contains("│FINDINGS") && s.lines().any(|l| l.starts_with("▶ "))
    });
}
