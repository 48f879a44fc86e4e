//! `kubectl-cockpit budget` (the real binary) against the demo scenario in the simulated
//! cluster: the numbers match the demo profile and what the real `kubectl` reads from the
//! manifests; a real PostgreSQL's connections are measured and attributed to services;
//! exit codes follow the contract; a broken profile is a clear error.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use cockpit::sim::world::{self, ScenarioSource};
use cockpit::sim::{RunningSim, SimOptions};
use serde_json::Value;
use support::postgres::{APP, APP_PASSWORD, MAX_CONNECTIONS, MONITOR, MONITOR_PASSWORD, PgServer};
use tokio_postgres::NoTls;

const DEMO_PROFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/profiles/demo.toml");
/// HPAs move replicas while the test reads them; a comparison is retried this often.
const ATTEMPTS: usize = 5;

struct Demo {
    _sim: RunningSim,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Demo {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let scenario = world::load(&ScenarioSource::Builtin("demo".into())).unwrap();
        let sim = rt.block_on(cockpit::sim::start_with(scenario, SimOptions::default())).expect("simulator starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig.json");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        Demo { _sim: sim, rt, dir, kubeconfig }
    }

    fn kubectl_json(&self, args: &[&str]) -> Value {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .args(["-o", "json"])
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn cockpit(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let config = self.dir.path().join("config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"));
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).arg("-A").args(args);
        cmd.env("KUBECTL_COCKPIT_CONFIG", &config).env("KUBECTL_COCKPIT_DATA", self.dir.path().join("data"));
        cmd.env_remove("HONEYDUE_PG_URL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("the cockpit runs")
    }

    fn budget_json(&self, env: &[(&str, &str)]) -> Value {
        self.budget_json_exiting(env, 0)
    }

    fn budget_json_exiting(&self, env: &[(&str, &str)], code: i32) -> Value {
        let out = self.cockpit(&["--profile", DEMO_PROFILE, "budget", "-o", "json"], env);
        assert_eq!(out.status.code(), Some(code), "budget: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("budget -o json is JSON")
    }
}

fn database<'a>(budget: &'a Value, name: &str) -> &'a Value {
    budget["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {budget}"))
}

fn service<'a>(db: &'a Value, name: &str) -> &'a Value {
    db["services"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name} in {db}"))
}

fn env_value(deployment: &Value, name: &str) -> u64 {
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    let var = env.iter().find(|e| e["name"] == name).unwrap();
    var["value"].as_str().unwrap().parse().unwrap()
}

fn percent(required: u64, usable: u64) -> f64 {
    (required as f64 * 1000.0 / usable as f64).round() / 10.0
}

#[test]
fn demo_budget_matches_the_profile_and_the_manifests() {
    let demo = Demo::start();
    let profile: toml::Table = toml::from_str(&std::fs::read_to_string(DEMO_PROFILE).unwrap()).unwrap();
    let declared = |name: &str| {
        profile["databases"].as_array().unwrap().iter().find(|d| d["name"].as_str() == Some(name)).unwrap().clone()
    };
    // statewave: max_connections from the StatefulSet's annotation, pools from the env.
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let deploy = demo.kubectl_json(&["get", "deploy", "statewave", "-n", "statewave"]);
        let sts = demo.kubectl_json(&["get", "sts", "statewave-pg", "-n", "statewave"]);
        let hpa = demo.kubectl_json(&["get", "hpa", "statewave", "-n", "statewave"]);
        let budget = demo.budget_json(&[]);
        let db = database(&budget, "statewave-pg");
        let replicas = deploy["spec"]["replicas"].as_u64().unwrap();
        let pool = env_value(&deploy, "STATEWAVE_DATABASE_POOL_SIZE");
        let overflow = env_value(&deploy, "STATEWAVE_DATABASE_POOL_MAX_OVERFLOW");
        let max: u64 = sts["metadata"]["annotations"]["cockpit.dev/max-connections"].as_str().unwrap().parse().unwrap();
        let reserved = declared("statewave-pg")["reserved"].as_integer().unwrap() as u64;
        let headroom = declared("statewave-pg")["headroom"].as_integer().unwrap() as u64;
        let hpa_max = hpa["spec"]["maxReplicas"].as_u64().unwrap();
        let sw = service(db, "statewave");
        if sw["replicas"] != replicas {
            last = format!("replicas moved between the two reads: {replicas} vs {sw}");
            continue;
        }
        assert_eq!((sw["pool"].as_u64(), sw["overflow"].as_u64()), (Some(pool), Some(overflow)));
        assert_eq!(sw["per_replica"], pool + overflow);
        assert_eq!(sw["source"], "env");
        assert_eq!(sw["hpa_max"], hpa_max);
        assert_eq!(db["max_connections"], max);
        assert_eq!(db["sources"]["max_connections"], "annotation cockpit.dev/max-connections");
        assert_eq!((db["reserved"].as_u64(), db["headroom"].as_u64()), (Some(reserved), Some(headroom)));
        let current = replicas * (pool + overflow) + headroom;
        let at_max = hpa_max.max(replicas) * (pool + overflow) + headroom;
        assert_eq!((db["current"].as_u64(), db["at_hpa_max"].as_u64()), (Some(current), Some(at_max)));
        assert_eq!(db["percent"].as_f64(), Some(percent(current, max - reserved)));
        assert_eq!(db["state"], if current * 100 >= (max - reserved) * 70 { "warn" } else { "ok" });
        assert_eq!(db["measured"], Value::Null, "no url_env: nothing measured");

        // forge-pg: everything from the profile; at HPA max it is over.
        let forge = database(&budget, "forge-pg");
        assert_eq!(forge["sources"]["max_connections"], "profile");
        let app = service(forge, "app");
        assert_eq!((app["pool"].as_u64(), app["source"].as_str()), (Some(10), Some("profile")));
        assert_eq!(forge["state_at_hpa_max"], "over");

        // honeydue-pg: the api bound by selector; the worker's extra connections.
        let honeydue = database(&budget, "honeydue-pg");
        let worker = service(honeydue, "worker");
        assert_eq!(worker["per_replica"], 7);
        assert!(honeydue["services"].as_array().unwrap().iter().any(|s| s["name"] == "api"));
        assert!(honeydue["measured"]["error"].as_str().unwrap().contains("HONEYDUE_PG_URL is not set"));

        // The status JSON carries the same numbers per service.
        let out = demo.cockpit(&["--profile", DEMO_PROFILE, "status", "-o", "json"], &[]);
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        let row = status["services"].as_array().unwrap().iter().find(|s| s["name"] == "statewave").unwrap();
        if row["replicas"]["desired"] != replicas {
            last = "replicas moved before status".into();
            continue;
        }
        assert_eq!(row["budget"]["database"], "statewave-pg");
        assert_eq!(row["budget"]["current"], replicas * (pool + overflow));
        assert_eq!(row["budget"]["percent"], db["percent"]);
        return;
    }
    panic!("no stable reading in {ATTEMPTS} attempts: {last}");
}

#[test]
fn exit_codes_follow_the_contract_and_a_broken_profile_says_where() {
    let demo = Demo::start();
    let now = demo.cockpit(&["--profile", DEMO_PROFILE, "budget"], &[]);
    assert_eq!(now.status.code(), Some(0), "{}", String::from_utf8_lossy(&now.stderr));
    let table = String::from_utf8_lossy(&now.stdout);
    assert!(table.contains("statewave 4 x (10 + 5)") || table.contains("statewave 5 x (10 + 5)"), "{table}");
    let at_max = demo.cockpit(&["--profile", DEMO_PROFILE, "budget", "--at-hpa-max"], &[]);
    assert_eq!(at_max.status.code(), Some(1), "forge-pg is over 100 % at HPA max");
    assert!(String::from_utf8_lossy(&at_max.stdout).contains("[over]"));

    let broken = demo.dir.path().join("broken.toml");
    std::fs::write(&broken, "[[databases]]\nname = \"pg\"\nmax_connections = \"lots\"\n").unwrap();
    let out = demo.cockpit(&["--profile", broken.to_str().unwrap(), "budget"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let at = format!("{}:3: error: databases[0].max_connections:", broken.display());
    assert!(stderr.contains(&at), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing half-computed is printed");

    let check = demo.cockpit(&["--profile", broken.to_str().unwrap(), "config", "check"], &[]);
    assert_eq!(check.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&check.stdout).contains(&at));
}

#[test]
fn a_real_postgres_is_measured_and_the_budget_follows_the_server_not_the_profile() {
    let demo = Demo::start();
    let pg = PgServer::start();
    // Three connections named after the api service, nine after the worker (its pool
    // allows 1 x 7), one psql nobody declared.
    let apps = ["api"; 3].into_iter().chain(["worker"; 9]).chain(["psql"]);
    let held = demo.rt.block_on(async {
        let mut held = Vec::new();
        for app in apps {
            let url = pg.url_for(APP, APP_PASSWORD, Some(app));
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
            tokio::spawn(connection);
            held.push(client);
        }
        held
    });
    let url = pg.url_for(MONITOR, MONITOR_PASSWORD, None);
    // The profile says 100; the server runs with 40: 47 required of 97 usable would be
    // 49 % [ok], of the server's 37 usable it is over. The exit code follows the server.
    let budget = demo.budget_json_exiting(&[("HONEYDUE_PG_URL", &url)], 1);
    let db = database(&budget, "honeydue-pg");
    let measured = &db["measured"];
    assert_eq!(measured["connections"], 13, "{measured}");
    assert_eq!(measured["max_connections"], MAX_CONNECTIONS);
    let reserved: u64 = pg.psql("SHOW superuser_reserved_connections").trim().parse().unwrap();
    assert_eq!(measured["reserved"], reserved);
    assert_eq!(measured["by_service"], serde_json::json!({"api": 3, "worker": 9, "other": 1}));
    assert_eq!(db["max_connections"], MAX_CONNECTIONS, "judged on the server's limit: {db}");
    assert_eq!(db["sources"]["max_connections"], "measured");
    assert_eq!(db["usable"], u64::from(MAX_CONNECTIONS) - reserved);
    assert_eq!(db["state"], "over");
    assert_eq!(db["declared"]["max_connections"], 100);
    let findings: Vec<&str> = db["findings"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(
        findings.contains(
            &format!("profile says max_connections 100, the server says {MAX_CONNECTIONS}: update the profile")
                .as_str()
        ),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|f| f.starts_with("honeydue/worker holds 9 connections, more than its 1 × 7 = 7")),
        "{findings:?}"
    );
    assert!(!findings.iter().any(|f| f.starts_with("honeydue/api")), "api holds 3 of its 30: {findings:?}");
    assert_eq!(
        measured["unmatched"],
        serde_json::json!([{"application_name": "psql", "user": APP, "client_addr": "127.0.0.1", "connections": 1}])
    );
    let text = serde_json::to_string(&budget).unwrap();
    assert!(!text.contains(MONITOR_PASSWORD), "the password never reaches the output");

    let out = demo.cockpit(&["--profile", DEMO_PROFILE, "budget"], &[("HONEYDUE_PG_URL", &url)]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("max_connections {MAX_CONNECTIONS} (measured)")), "{table}");
    assert!(table.contains("finding: profile says max_connections 100"), "{table}");
    assert!(table.contains(&format!("unmatched: 1 connection(s) of psql as {APP} from 127.0.0.1")), "{table}");

    // A wrong password: the measurement fails, the budget is judged as declared, the password stays out.
    let wrong = url.replace(MONITOR_PASSWORD, "not-the-password");
    let out = demo.cockpit(&["--profile", DEMO_PROFILE, "budget"], &[("HONEYDUE_PG_URL", &wrong)]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("measurement unavailable: password authentication failed"), "{table}");
    assert!(table.contains("max_connections 100 (profile)"), "{table}");
    assert!(!table.contains("not-the-password") && !String::from_utf8_lossy(&out.stderr).contains("not-the-password"));
    drop(held);
}

#[test]
fn the_scale_preview_shows_the_budget_after_the_change() {
    let demo = Demo::start();
    let out = demo.cockpit(&["--profile", DEMO_PROFILE, "scale", "statewave/statewave", "6", "--dry-run"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 6 x (10 + 5) + 15 = 105 of 97 usable, whatever the HPA has done so far.
    assert!(stdout.contains("connection budget"), "{stdout}");
    assert!(stdout.contains("→ 105 of 97 usable"), "{stdout}");
    assert!(stdout.contains("too many connections"), "the guard explains what goes wrong:\n{stdout}");
    // The HPA owns the replicas, so nothing is sent either way.
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}
