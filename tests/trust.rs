//! Promises an operator relies on when something is wrong: a profile that does not load
//! switches no guard off (every command stops, the cockpit refuses every change and says
//! why), a refusal under `--read-only` is audited, and a user RBAC hides the workload from
//! is refused as RBAC, not told the service does not exist. The real binary, against the
//! simulated cluster, headless and in a pseudo-terminal.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cockpit::sim::SimOptions;
use cockpit::sim::spec::{RuleSpec, UserSpec};
use support::pty::{Pty, isolated_env};
use support::rig::{Rig, text};

/// A profile with two mistakes, one of them deep in an inline table, and a singleton
/// that would refuse scaling the frontend if the profile were (wrongly) half-used.
const BROKEN: &str = r#"production = true
[[singletons]]
service = "soundspan/soundspan-frontend"
reason = "only one may run"

[[databases]]
name = "pg"
max_connections = "lots"

[[slo]]
name = "deep"
pattern = "x"
capture = { group = "ms", above = "five" }
"#;

/// The profile the context uses by default (`profiles/<context>.toml`): it exists, so it
/// must load before anything is judged or changed.
fn write_context_profile(config: &Path, text: &str) -> PathBuf {
    let dir = config.join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cockpit-sim.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_profile_that_does_not_load_stops_every_command_and_lists_every_problem() {
    let rig = Rig::start(SimOptions::default());
    write_context_profile(&rig.config_dir(), BROKEN);
    let commands: [&[&str]; 6] = [
        &["status"],
        &["scale", "soundspan/soundspan-frontend", "3", "--yes"],
        &["rollout", "restart", "soundspan/soundspan-frontend", "--yes"],
        &["budget"],
        &["lint"],
        &["gate", "--service", "soundspan/soundspan-backend"],
    ];
    for args in commands {
        let out = rig.cockpit(args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?} with a broken profile: {said}");
        assert!(said.contains("cockpit-sim.toml:8: error: databases[0].max_connections"), "{args:?}: {said}");
        assert!(said.contains("cockpit-sim.toml:13: error: slo[0].capture.above"), "{args:?}: {said}");
        assert!(said.contains("does not load (2 errors)"), "{args:?}: {said}");
    }
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2, "nothing was changed");
    assert!(rig.audit().is_empty(), "nothing was even attempted: {:?}", rig.audit());

    let check = rig.cockpit(&["config", "check"]);
    assert_eq!(check.status.code(), Some(2));
    let said = text(&check);
    assert!(said.contains(":8: error: databases[0].max_connections") && said.contains(":13: error: slo[0]"), "{said}");
}

#[test]
fn a_refusal_under_read_only_is_audited_with_its_preview() {
    let rig = Rig::start(SimOptions::default());
    let out = rig.cockpit(&["--read-only", "scale", "soundspan/soundspan-frontend", "3", "--yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("2 → 3"), "the preview is shown: {}", text(&out));
    let last = rig.audit().pop().expect("an audit entry");
    assert_eq!(last["outcome"], "refused: read-only");
    assert_eq!(last["target"], "soundspan/deploy/soundspan-frontend");
    assert_eq!(rig.replicas("soundspan", "soundspan-frontend").0, 2);
}

/// May read pods and the rest, but not list Deployments or StatefulSets.
fn no_workloads() -> UserSpec {
    let readable = ["pods", "replicasets", "poddisruptionbudgets", "horizontalpodautoscalers", "events"];
    UserSpec {
        name: "blind".into(),
        token: "blind-token".into(),
        groups: vec![],
        rules: vec![RuleSpec {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            resources: readable.iter().map(|r| r.to_string()).collect(),
            namespaces: vec![],
        }],
    }
}

#[test]
fn a_change_by_a_user_who_may_not_list_the_workload_is_refused_as_rbac() {
    let rig = Rig::start(SimOptions { extra_users: vec![no_workloads()], ..Default::default() });
    let path = rig.dir.path().join("blind.json");
    cockpit::sim::kubeconfig::write(&path, &rig.sim().kubeconfig_for_user("blind").unwrap()).unwrap();
    let out = rig.cockpit_as(&path, &["scale", "soundspan/soundspan-frontend", "3", "--yes"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(4), "RBAC is a refusal, not a typo: {said}");
    assert!(said.contains("list deployments in ns soundspan"), "names the missing permission: {said}");
    assert!(!said.contains("no Deployment or StatefulSet"), "{said}");

    let typo = rig.cockpit(&["scale", "soundspan/nope", "3", "--yes"]);
    assert_eq!(typo.status.code(), Some(2), "a real typo stays a usage error: {}", text(&typo));
}

/// The banner's title.
const BANNER: &str = "every change is refused until it does";

#[test]
fn the_cockpit_with_a_broken_profile_shows_why_and_refuses_changes_until_it_loads() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, BROKEN).unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn(&["--demo", "--profile", profile.to_str().unwrap()], &env, 140, 40);
    pty.wait_until("the banner over the services", |s| {
        s.contains(BANNER) && s.contains("soundspan-backend") && s.contains("live")
    });
    let screen = pty.screen_text();
    assert!(screen.contains("profile.toml:8: error: databases[0].max_connections"), "{screen}");
    assert!(screen.contains("profile.toml:13: error: slo[0].capture.above"), "{screen}");
    assert!(screen.contains("PROFILE BROKEN"), "{screen}");

    pty.send("/soundspan/soundspan-frontend\r");
    pty.wait_until("the frontend selected", |s| s.contains("Services 1 "));
    pty.send("s");
    pty.wait_until("scale refused", |s| s.contains("scale: refused: the profile does not load"));
    assert!(!pty.screen_text().contains("replicas:"), "no wizard opened");
    let audit = dir.path().join("data").join("audit.jsonl");
    pty.wait_until("the refusal audited", |_| {
        std::fs::read_to_string(&audit).is_ok_and(|t| t.contains("\"outcome\":\"refused: profile does not load\""))
    });

    pty.send("\x1b");
    pty.wait_until("the banner hidden", |s| !s.contains(BANNER));
    assert!(pty.screen_text().contains("PROFILE BROKEN"), "the refusal outlives the banner");
    pty.send("s");
    pty.wait_until("still refused", |s| s.contains("scale: refused: the profile does not load"));

    std::fs::write(&profile, "production = false\n").unwrap();
    pty.send("\x12"); // Ctrl-r: read the profile again
    pty.wait_until("the profile loaded", |s| !s.contains("PROFILE BROKEN") && !s.contains(BANNER));
    pty.send("s");
    pty.wait_until("the wizard", |s| s.contains("Scale soundspan/soundspan-frontend") && s.contains("replicas:"));
    pty.send("\x1b\x1b");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn runbook_validate_and_config_check_refuse_unknown_and_circular_handovers() {
    let dir = tempfile::tempdir().unwrap();
    let runbooks = dir.path().join("config").join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap();
    std::fs::write(runbooks.join("a.yaml"), "steps:\n  - manual: [ok]\n    on_failure: {runbook: b}\n").unwrap();
    std::fs::write(runbooks.join("b.yaml"), "steps:\n  - manual: [ok]\n    on_failure: {runbook: a}\n").unwrap();
    std::fs::write(runbooks.join("c.yaml"), "steps:\n  - manual: [ok]\n    on_failure: {runbook: nowhere}\n").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(args)
            .env("KUBECTL_COCKPIT_CONFIG", dir.path().join("config"))
            .env("KUBECTL_COCKPIT_DATA", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let cycle = run(&["runbook", "validate", "a"]);
    assert_eq!(cycle.status.code(), Some(2), "{}", text(&cycle));
    assert!(text(&cycle).contains("b.yaml:3: error: steps[0].on_failure.runbook"), "{}", text(&cycle));
    assert!(text(&cycle).contains("a → b → a is a cycle"), "{}", text(&cycle));
    let unknown = run(&["runbook", "validate", "c"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(text(&unknown).contains("c.yaml:3: error: steps[0].on_failure.runbook: no runbook named \"nowhere\""));
    let check = run(&["config", "check"]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(text(&check).contains("nowhere") && text(&check).contains("is a cycle"), "{}", text(&check));
}

#[test]
fn doctor_says_what_works_and_names_what_is_missing() {
    let rig = Rig::start(SimOptions { extra_users: vec![no_workloads(), support::viewer()], ..Default::default() });
    let admin = rig.cockpit(&["-n", "soundspan", "doctor", "-o", "json"]);
    assert_eq!(admin.status.code(), Some(0), "{}", text(&admin));
    let report: serde_json::Value = serde_json::from_slice(&admin.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["context"], "cockpit-sim");
    let status_of = |report: &serde_json::Value, name: &str| {
        report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["status"].clone())
    };
    for name in
        ["kubeconfig", "server", "rbac deployments", "rbac pods", "rbac change update deployments/scale", "profile"]
    {
        assert_eq!(status_of(&report, name), Some("ok".into()), "{name}: {report:#}");
    }

    let user_kubeconfig = |user: &str| {
        let path = rig.dir.path().join(format!("{user}.json"));
        cockpit::sim::kubeconfig::write(&path, &rig.sim().kubeconfig_for_user(user).unwrap()).unwrap();
        path
    };
    let viewer = rig.cockpit_as(&user_kubeconfig("viewer"), &["-n", "soundspan", "doctor"]);
    assert_eq!(viewer.status.code(), Some(0), "a viewer can use the cockpit: {}", text(&viewer));
    let said = text(&viewer);
    assert!(said.contains("may not update deployments/scale in ns soundspan: such changes are refused"), "{said}");

    let blind = rig.cockpit_as(&user_kubeconfig("blind"), &["-n", "soundspan", "doctor"]);
    assert_eq!(blind.status.code(), Some(1), "{}", text(&blind));
    let said = text(&blind);
    assert!(said.contains("fail    rbac deployments"), "{said}");
    assert!(said.contains("may not list, watch deployments in ns soundspan"), "{said}");
    assert!(said.contains("fix: ask for a Role granting list, watch deployments in ns soundspan"), "{said}");
}

#[test]
fn doctor_names_a_credentials_plugin_that_is_not_installed() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: eks\nclusters:\n- name: eks\n  cluster: {server: \"https://127.0.0.1:1\"}\n\
         contexts:\n- name: eks\n  context: {cluster: eks, user: eks}\nusers:\n- name: eks\n  user:\n    exec:\n      \
         apiVersion: client.authentication.k8s.io/v1beta1\n      command: no-such-credentials-plugin\n      \
         installHint: install it from your cloud's CLI\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
        .args(["--kubeconfig", kubeconfig.to_str().unwrap(), "--request-timeout", "2s", "doctor"])
        .env("KUBECTL_COCKPIT_CONFIG", dir.path().join("config"))
        .env("KUBECTL_COCKPIT_DATA", dir.path().join("data"))
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("fail    auth plugin") && said.contains("\"no-such-credentials-plugin\" is not installed"),
        "{said}"
    );
    assert!(said.contains("fix: install it from your cloud's CLI"), "{said}");
    assert!(said.contains("fail    server"), "the server check still runs and says why: {said}");
}

/// Under churn (readiness flips, restarts, new Events, a rollout now and then, each a real
/// watch event) the live model reassembles only the services a status change reaches,
/// from their own objects looked up by name. When the churn stops, what it shows must be
/// what a build from every object shows: nothing missed, nothing stale.
#[test]
fn under_churn_the_live_model_shows_what_a_build_from_every_object_shows() {
    use cockpit::cluster::connect::{ConnectOptions, connect};
    use cockpit::cluster::watch::{Watches, visibility};
    use cockpit::model::live::{Inputs, LiveModel};
    use cockpit::model::profile::{self, Profile};
    use cockpit::model::services::{self, ReadinessHistory};
    use std::sync::Arc;

    let rig = Rig::start(SimOptions { churn: 300.0, ..Default::default() });
    let file = rig.dir.path().join("churn.json");
    std::fs::write(&file, r#"{"rate": 0}"#).unwrap();
    rig.rt.block_on(async {
        let options =
            ConnectOptions { kubeconfig: Some(rig.kubeconfig.clone()), all_namespaces: true, ..Default::default() };
        let connection = connect(&options).await.expect("connects to the simulator");
        let watches = Watches::start(connection.client.clone(), &connection.server_url, None, 0, None);
        assert!(watches.wait_synced(Duration::from_secs(60)).await.is_empty(), "every watch lists");
        // One clock for every update and for the build compared with: rows that read the
        // clock then differ only if the model missed a change.
        let now = jiff::Timestamp::now();
        let (history, profile) = (ReadinessHistory::default(), Arc::new(Profile::default()));
        let inputs = Inputs {
            readiness: &history,
            now,
            visibility: visibility(&watches.health()),
            profile: &profile,
            scope: None,
        };
        let mut live = LiveModel::default();
        live.update(&watches, watches.take_changes(), &inputs);
        let mut pulse = watches.subscribe();
        let (mut narrow, mut events) = (0, 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while narrow < 30 || events < 3 {
            assert!(std::time::Instant::now() < deadline, "{narrow} status-only updates, {events} with Events");
            pulse.changed().await.unwrap();
            let changes = watches.take_changes();
            let with_events =
                changes.statuses.values().flatten().any(|(part, _)| *part == cockpit::model::changes::Part::Event);
            live.update(&watches, changes, &inputs);
            if live.work.namespaces == 0 && live.work.services > 0 {
                assert_eq!(live.work.checked, 0, "a status change runs no preflight check: {:?}", live.work);
                narrow += 1;
                events += usize::from(with_events);
            }
        }
        rig.kubectl(&["create", "--raw", "/sim/churn", "-f", file.to_str().unwrap()]);
        // Quiet: a second without a watch event.
        while tokio::time::timeout(Duration::from_secs(1), pulse.changed()).await.is_ok() {
            assert!(std::time::Instant::now() < deadline + Duration::from_secs(60), "the churn stops");
        }
        let shown = live.update(&watches, watches.take_changes(), &inputs);
        let objects = watches.objects();
        let mut built = services::build_scope(&objects, &history, now, inputs.visibility).services;
        let found = cockpit::model::discovery::discover(&built, &objects.network);
        profile::apply(&mut built, &profile, None, &found);
        let shown: Vec<_> = shown.services.iter().map(|s| (**s).clone()).collect();
        assert_eq!(shown.len(), built.len());
        for (live, full) in shown.iter().zip(&built) {
            assert_eq!(
                live, full,
                "{}/{} as the live model keeps it and as a full build makes it",
                full.key.namespace, full.key.name
            );
        }
    });
}
