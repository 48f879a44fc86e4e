//! The cockpit (real binary, in a pseudo-terminal) against a simulated cluster whose API
//! misbehaves: dropped watches, expired resource versions, a restarted API server, an
//! outage, watches held open but silent, a cluster whose CA changed, a kind forbidden and
//! allowed again, and a user without access to PodDisruptionBudgets. The cockpit must recover
//! without a restart, keep showing what it knew (marked stale), and never wipe the screen.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use cockpit::sim::resources::resource;
use cockpit::sim::spec::{FaultSpec, RuleSpec, UserSpec};
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::{Value, json};
use support::pty::{Pty, isolated_env};

struct Rig {
    sim: Option<RunningSim>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Rig {
    fn start(opts: SimOptions) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = rt.block_on(cockpit::sim::start(opts)).expect("simulator starts");
        Rig { sim: Some(sim), rt, dir: tempfile::tempdir().unwrap() }
    }

    fn sim(&self) -> &RunningSim {
        self.sim.as_ref().unwrap()
    }

    fn kubeconfig(&self, user: Option<&str>) -> PathBuf {
        let path = self.dir.path().join(format!("{}.json", user.unwrap_or("admin")));
        let config = match user {
            Some(u) => self.sim().kubeconfig_for_user(u).expect("known user"),
            None => self.sim().kubeconfig(),
        };
        cockpit::sim::kubeconfig::write(&path, &config).unwrap();
        path
    }

    fn cockpit(&self, kubeconfig: &std::path::Path, extra: &[&str]) -> Pty {
        self.cockpit_with(kubeconfig, extra, &[])
    }

    /// The cockpit with `more` environment (the hidden test knobs).
    fn cockpit_with(&self, kubeconfig: &std::path::Path, extra: &[&str], more: &[(&str, &str)]) -> Pty {
        let mut env = isolated_env(self.dir.path());
        env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut args = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(extra);
        Pty::spawn(&args, &env, 120, 40)
    }

    fn inject(&self, fault: FaultSpec) {
        self.sim().faults().inject(fault);
    }

    /// A new Deployment, as if someone applied it (the world's controllers take it from there).
    fn create_deployment(&self, ns: &str, name: &str) {
        let labels = json!({"app": name});
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}
        });
        self.sim().store().create(resource("deployments").unwrap(), obj).unwrap();
    }

    fn set_replicas(&self, ns: &str, name: &str, replicas: i64) {
        self.sim()
            .store()
            .modify_with(resource("deployments").unwrap(), ns, name, |d: &mut Value| {
                d["spec"]["replicas"] = json!(replicas)
            })
            .unwrap();
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _guard = self.rt.enter();
        self.sim.take();
    }
}

fn live_with(pty: &Pty, what: &str, needle: &str) {
    pty.wait_until(what, |s| s.contains(needle) && s.contains("│ live"));
}

#[test]
fn dropped_watches_and_expired_versions_relist_without_a_restart() {
    let rig = Rig::start(SimOptions::default());
    let kc = rig.kubeconfig(None);
    let mut pty = rig.cockpit(&kc, &["-A"]);
    live_with(&pty, "the demo services", "soundspan-backend");

    rig.inject(FaultSpec::ExpireVersions);
    rig.inject(FaultSpec::DropWatches);
    rig.create_deployment("soundspan", "canary-after-expiry");
    live_with(&pty, "the relisted state with the new deployment", "canary-after-expiry");
    assert!(pty.screen_text().contains("soundspan-backend"), "nothing was wiped");

    rig.inject(FaultSpec::RestartListener);
    rig.create_deployment("soundspan", "canary-after-restart");
    live_with(&pty, "the state after an API restart", "canary-after-restart");

    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn an_outage_is_marked_stale_keeps_the_data_and_recovers() {
    let rig = Rig::start(SimOptions::default());
    let kc = rig.kubeconfig(None);
    let mut pty = rig.cockpit(&kc, &["-A"]);
    live_with(&pty, "the demo services", "soundspan-backend");

    rig.inject(FaultSpec::FailNext { count: 1_000_000, code: 503 });
    rig.inject(FaultSpec::DropWatches);
    pty.wait_until("the outage noticed", |s| s.contains("reconnecting"));
    pty.wait_until("the data called stale", |s| s.contains("stale"));
    let screen = pty.screen_text();
    assert!(
        screen.contains("soundspan-backend") && screen.contains("soundspan-frontend"),
        "stale data kept:\n{screen}"
    );

    rig.set_replicas("soundspan", "soundspan-frontend", 5);
    rig.create_deployment("soundspan", "created-during-outage");
    rig.inject(FaultSpec::Clear);
    pty.wait_until("recovered with the changes made during the outage", |s| {
        s.contains("│ live")
            && s.contains("created-during-outage")
            && s.lines().any(|l| l.contains("soundspan-frontend") && l.contains("/5"))
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_user_without_access_to_pdbs_gets_a_working_cockpit() {
    let everything_but_pdbs = RuleSpec {
        verbs: vec!["get".into(), "list".into(), "watch".into()],
        resources: [
            "deployments",
            "statefulsets",
            "replicasets",
            "pods",
            "horizontalpodautoscalers",
            "persistentvolumeclaims",
            "events",
            "namespaces",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        namespaces: vec![],
    };
    let user =
        UserSpec { name: "dev".into(), token: "dev-token".into(), groups: vec![], rules: vec![everything_but_pdbs] };
    let rig = Rig::start(SimOptions { extra_users: vec![user], ..Default::default() });
    let kc = rig.kubeconfig(Some("dev"));
    let mut pty = rig.cockpit(&kc, &["-n", "soundspan"]);
    pty.wait_until("the services with PDB marked no access", |s| {
        s.contains("soundspan-backend") && s.contains("no access: list poddisruptionbudgets in ns soundspan")
    });
    let screen = pty.screen_text();
    assert!(
        screen.lines().any(|l| l.contains("soundspan-backend") && l.contains("no access")),
        "PDB column:\n{screen}"
    );
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn switching_context_rescopes_to_the_other_cluster() {
    let alpha = Rig::start(SimOptions::default());
    let beta = Rig::start(SimOptions::default());
    alpha.create_deployment("soundspan", "only-in-alpha");
    beta.create_deployment("soundspan", "only-in-beta");
    let cluster = |name: &str, rig: &Rig| json!({"name": name, "cluster": {"server": rig.sim().url()}});
    let context =
        |name: &str| json!({"name": name, "context": {"cluster": name, "user": "u", "namespace": "soundspan"}});
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [cluster("alpha", &alpha), cluster("beta", &beta)],
        "users": [{"name": "u", "user": {"token": "anything"}}],
        "contexts": [context("alpha"), context("beta")],
        "current-context": "alpha",
    });
    let path = alpha.dir.path().join("two-clusters.json");
    std::fs::write(&path, kubeconfig.to_string()).unwrap();
    let mut pty = alpha.cockpit(&path, &[]);
    live_with(&pty, "the alpha cluster", "only-in-alpha");
    assert!(pty.screen_text().contains(" alpha │ ns soundspan"));

    pty.send(" c");
    pty.wait_until("the context picker", |s| s.contains("Context (enter switches)") && s.contains("beta"));
    pty.send("beta\r");
    pty.wait_until("the beta cluster", |s| {
        s.contains(" beta │ ns soundspan") && s.contains("only-in-beta") && s.contains("│ live")
    });
    assert!(!pty.screen_text().contains("only-in-alpha"), "nothing of the old context remains");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_read_only_user_is_told_what_permission_a_change_lacks_before_trying() {
    let rig = Rig::start(SimOptions { extra_users: vec![support::viewer()], ..Default::default() });
    let kc = rig.kubeconfig(Some("viewer"));
    let mut pty = rig.cockpit(&kc, &["-n", "soundspan"]);
    live_with(&pty, "the services", "soundspan-frontend");
    pty.send("s");
    pty.wait_until("the RBAC answer in the wizard", |s| {
        s.contains("RBAC: you may not update deployments/scale in ns soundspan")
    });
    pty.send("\r");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!pty.screen_text().contains("server dry-run"), "nothing is sent without the permission");
    pty.send("\x1b");
    // Wait for the wizard to close: an ESC followed at once by a key reads as Alt+key.
    pty.wait_until("the wizard closed", |s| !s.contains("RBAC: you may not"));
    pty.send("rr");
    pty.wait_until("the rollout wizard says so too", |s| {
        s.contains("RBAC: you may not patch deployments in ns soundspan")
    });
}

/// The silence bound the tests use, against bookmarks every half second: a healthy watch
/// hears six bookmarks within it.
const SILENCE: (&str, &str) = ("KUBECTL_COCKPIT_WATCH_SILENCE", "3s");

fn quick_bookmarks() -> SimOptions {
    SimOptions { bookmark_interval: Some(Duration::from_millis(500)), ..Default::default() }
}

#[test]
fn a_watch_held_open_but_silent_is_called_stale_with_its_age_then_recovers() {
    let rig = Rig::start(quick_bookmarks());
    let kc = rig.kubeconfig(None);
    let mut pty = rig.cockpit_with(&kc, &["-A"], &[SILENCE]);
    live_with(&pty, "the demo services", "soundspan-backend");
    // Past the bound with bookmarks flowing, it is still live.
    std::thread::sleep(Duration::from_secs(4));
    assert!(pty.screen_text().contains("│ live"), "bookmarks keep a quiet watch live:\n{}", pty.screen_text());

    rig.inject(FaultSpec::SilenceWatches);
    pty.wait_within(Duration::from_secs(60), "the silent watches called stale, with an age", |s| {
        s.contains("│ stale ") && s.contains("watch silent") && !s.contains("│ live")
    });
    let screen = pty.screen_text();
    assert!(screen.contains("soundspan-backend"), "the data is kept:\n{screen}");
    rig.create_deployment("soundspan", "made-while-silent");

    rig.inject(FaultSpec::Clear);
    pty.wait_within(Duration::from_secs(60), "fresh data and live again", |s| {
        s.contains("made-while-silent") && s.contains("│ live") && !s.contains("watch silent")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_kind_forbidden_then_allowed_again_is_unknown_then_fresh_without_a_restart() {
    let rig = Rig::start(SimOptions::default());
    let kc = rig.kubeconfig(None);
    let mut pty = rig.cockpit(&kc, &["-A"]);
    live_with(&pty, "the demo services", "soundspan-frontend");

    let forbid = |verb: &str| FaultSpec::Forbid { user: "*".into(), verb: verb.into(), resource: "deployments".into() };
    rig.inject(forbid("list"));
    rig.inject(forbid("watch"));
    rig.inject(FaultSpec::DropWatches);
    pty.wait_within(Duration::from_secs(60), "deployments marked no access and not shown as current", |s| {
        s.contains("no access: list deployments in all namespaces") && !s.contains("soundspan-frontend")
    });
    rig.create_deployment("soundspan", "made-while-forbidden");

    rig.inject(FaultSpec::Clear);
    pty.wait_within(Duration::from_secs(60), "the deployments listed again, fresh", |s| {
        s.contains("made-while-forbidden") && s.contains("soundspan-frontend") && !s.contains("no access")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_cluster_whose_ca_changed_says_so_on_the_status_line() {
    let mut first = Rig::start(SimOptions::default());
    let kc = first.kubeconfig(None);
    let addr = first.sim().addr.to_string();
    let mut pty = first.cockpit(&kc, &["-A"]);
    live_with(&pty, "the demo services", "soundspan-backend");

    // The same address, a new API server with a CA of its own (the simulator makes one
    // per start), as after a cluster is rebuilt behind the same name.
    {
        let _guard = first.rt.enter();
        first.sim.take();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let _second = loop {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        match rt.block_on(cockpit::sim::start(SimOptions { addr: Some(addr.clone()), ..Default::default() })) {
            Ok(sim) => break (rt, Some(sim)),
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("port not free yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the second simulator could not take {addr}: {e}"),
        }
    };
    pty.wait_within(Duration::from_secs(60), "the reason: the CA does not trust the new certificate", |s| {
        s.contains("certificate not trusted by the kubeconfig's CA")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    let (rt, mut sim) = _second;
    let _guard = rt.enter();
    sim.take();
}

#[test]
fn bookmarks_keep_an_idle_cockpit_live_without_a_single_request() {
    let rig = Rig::start(quick_bookmarks());
    let kc = rig.kubeconfig(None);
    let mut pty = rig.cockpit_with(&kc, &["-A"], &[SILENCE]);
    live_with(&pty, "the demo services", "soundspan-backend");
    // Let the start-up reads (permission checks, log follows of the SLO gates) finish.
    let requests = || rig.sim().metrics()["requests_total"].as_u64().unwrap();
    let mut before = requests();
    let settle = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = requests();
        if now == before || std::time::Instant::now() > settle {
            break;
        }
        before = now;
    }
    // Twice the silence bound, bookmarks flowing: still live, and not one request more
    // (a watch is re-opened only at its 75 s server-side timeout).
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(requests(), before, "requests while idle: {}", rig.sim().metrics()["by"]);
    assert!(pty.screen_text().contains("│ live"), "{}", pty.screen_text());
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}
