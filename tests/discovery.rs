//! A first run on an ordinary team's cluster (the `ordinary` scenario: none of the
//! cockpit's annotations, no profile), through the real binary and the real `kubectl`:
//! databases, poolers and bindings are found from env, ConfigMaps, Services and Secrets;
//! unknown limits still show demand; `config init` writes a profile that checks and gives
//! the same numbers; passwords never reach any output; only what is wrong now counts.

mod support;

use std::time::Duration;

use cockpit::sim::SimOptions;
use serde_json::Value;
use support::pty::{Pty, isolated_env};
use support::rig::{Rig, text};

fn ordinary() -> Rig {
    let rig = Rig::start_scenario(SimOptions { scenario: Some("ordinary".into()), ..Default::default() });
    rig.wait_until("the ordinary cluster to settle", || rig.stored_replicas("shop", "web").1 == 4);
    rig
}

fn json_of(rig: &Rig, args: &[&str]) -> Value {
    let out = rig.cockpit(args);
    assert!(out.status.code().is_some(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", text(&out)))
}

fn database<'a>(budget: &'a Value, name: &str) -> &'a Value {
    budget["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {budget:#}"))
}

fn service<'a>(db: &'a Value, name: &str) -> &'a Value {
    db["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {db:#}"))
}

/// (name, current, at_hpa_max, max_connections, kind) of every database.
fn numbers(budget: &Value) -> Vec<(String, Value, Value, Value, Value)> {
    let mut all: Vec<_> = budget["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["current"].clone(),
                d["at_hpa_max"].clone(),
                d["max_connections"].clone(),
                d["kind"].clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn databases_poolers_and_bindings_are_found_without_a_profile() {
    let rig = ordinary();
    let budget = json_of(&rig, &["-A", "budget", "-o", "json"]);

    let pg = database(&budget, "pg");
    assert_eq!((pg["kind"].as_str(), pg["max_connections"].as_u64()), (Some("server"), Some(200)), "{pg:#}");
    assert_eq!(pg["sources"]["max_connections"], "env POSTGRESQL_MAX_CONNECTIONS");
    assert_eq!(pg["origin"], "StatefulSet data/pg");
    let worker = service(pg, "worker");
    assert_eq!(worker["via"], "PGHOST from ConfigMap worker-config");
    assert_eq!(worker["per_replica"], 6, "WORKER_DB_POOL_SIZE 4 + WORKER_DB_MAX_OVERFLOW 2");
    let bouncer = service(pg, "pgbouncer");
    assert_eq!(
        (bouncer["replicas"].as_u64(), bouncer["per_replica"].as_u64()),
        (Some(2), Some(20)),
        "its server-side pool"
    );
    assert_eq!(bouncer["pooler_for"], serde_json::json!(["shop/web"]));
    assert_eq!(pg["current"], 2 * 20 + 2 * 6 + 15);
    assert_eq!(pg["pooler"], true);

    let pooler = database(&budget, "pgbouncer");
    assert_eq!((pooler["kind"].as_str(), pooler["server"].as_str()), (Some("pooler"), Some("pg")));
    assert_eq!(pooler["max_connections"], 200, "2 pods × MAX_CLIENT_CONN 100");
    assert_eq!(pooler["current"], 4 * 10, "shop/web: 4 × (5 + 5), the clients");

    let ledger = database(&budget, "ledger-db/url");
    assert_eq!(ledger["origin"], "from secret ledger-db/url");
    assert_eq!((ledger["limit_known"].as_bool(), ledger["max_connections"].is_null()), (Some(false), true));
    assert_eq!(ledger["state"], "unknown");
    assert_eq!(
        ledger["demand"], "64 now · 139 at HPA max · limit unknown",
        "api 3 × 15, jobs 2 × 2, + 15; api to 8 at HPA max"
    );
    assert!(ledger["percent"].is_null());

    let gone = database(&budget, "orders.gone");
    assert_eq!(gone["notes"], serde_json::json!(["no Service orders in namespace gone"]));
    let notes = budget["notes"].to_string();
    assert!(notes.contains("shop/odd: DATABASE_URL holds no host the cockpit can read"), "{notes}");
    assert!(notes.contains("postgresql.cnpg.io/v1 is not served here: no clusters to read"), "{notes}");
    assert_eq!(rig.cockpit(&["-A", "budget"]).status.code(), Some(0), "unknown is not over");

    // The service rows carry their share; an unknown limit is demand, not a percentage.
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    let row = |name: &str| status["services"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap().clone();
    assert_eq!(row("api")["budget"]["database"], "ledger-db/url");
    assert!(row("api")["budget"]["percent"].is_null() && row("api")["budget"]["max_connections"].is_null());
    assert_eq!(row("api")["budget"]["required"], 64);
    assert_eq!(row("web")["budget"]["database"], "pgbouncer");
    assert_eq!(row("odd")["budget"], Value::Null);

    // ConfigMaps are read one by one, those the templates reference: never listed or watched.
    let metrics = rig.sim().metrics();
    let verbs: Vec<&str> = metrics["by"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resource"] == "configmaps")
        .map(|r| r["verb"].as_str().unwrap())
        .collect();
    assert!(!verbs.is_empty() && verbs.iter().all(|v| *v == "get"), "configmaps: {verbs:?}");
}

#[test]
fn passwords_in_urls_and_secrets_never_reach_any_output() {
    let rig = ordinary();
    for args in [
        &["-A", "budget", "-o", "json"][..],
        &["-A", "budget"],
        &["-A", "status", "-o", "json"],
        &["-A", "status", "-o", "wide"],
        &["-A", "lint", "-o", "json"],
        &["-A", "config", "init", "--stdout"],
    ] {
        let out = text(&rig.cockpit(args));
        assert!(!out.contains("s3cret"), "{args:?} shows a password:\n{out}");
    }
}

#[test]
fn only_what_is_wrong_now_counts_as_a_problem() {
    let rig = ordinary();
    rig.wait_until("far to crash", || {
        let status = json_of(&rig, &["-A", "status", "-o", "json"]);
        status["summary"]["with_problems"] == 1
    });
    let status = json_of(&rig, &["-A", "status", "-o", "json"]);
    assert_eq!(status["summary"], serde_json::json!({"services": 9, "with_problems": 1}));
    let lint = json_of(&rig, &["-A", "lint", "-o", "json"]);
    let text = lint.to_string();
    assert!(
        text.contains("rwo-rolling-update") && text.contains("files"),
        "the RWO trap is preflight advice: {lint:#}"
    );
}

#[test]
fn config_init_writes_a_profile_that_checks_and_gives_the_same_budgets() {
    let rig = ordinary();
    let discovered = json_of(&rig, &["-A", "budget", "-o", "json"]);
    let init = rig.cockpit(&["config", "init"]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    let file = rig.config_dir().join("profiles").join("cockpit-sim.toml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("max_connections = 200   # env POSTGRESQL_MAX_CONNECTIONS"), "{written}");
    assert!(written.contains("# max_connections = ?"), "the unknown limit is left to fill in:\n{written}");

    let again = rig.cockpit(&["config", "init"]);
    assert_eq!(again.status.code(), Some(2), "never overwritten without --force: {}", text(&again));
    assert!(text(&again).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
    assert_eq!(rig.cockpit(&["config", "init", "--force"]).status.code(), Some(0));
    let printed = rig.cockpit(&["config", "init", "--stdout"]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout), written, "--stdout prints what it would write");

    let check = rig.cockpit(&["config", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    // The context's profile is now the starter one: the same numbers, declared.
    let declared = json_of(&rig, &["-A", "budget", "-o", "json"]);
    assert_eq!(numbers(&declared), numbers(&discovered));
    assert_eq!(database(&declared, "pg")["sources"]["max_connections"], "profile");
}

#[test]
fn the_overview_shows_demand_and_the_budget_screen_the_chain() {
    let rig = ordinary();
    let dir = tempfile::tempdir().unwrap();
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let kubeconfig = rig.kubeconfig.display().to_string();
    let mut pty = Pty::spawn(&["--kubeconfig", &kubeconfig, "-A"], &env, 160, 45);
    pty.wait_until("the ledger services with their demand", |s| s.contains("ledger") && s.contains("64/?"));
    pty.send(" b");
    pty.wait_until("the budget screen", |s| s.contains("Connection budget") && s.contains("pgbouncer (pooler → pg)"));
    let screen = pty.screen_text();
    assert!(screen.contains("ledger-db/url [UNKNOWN] 64 now · 139 at HPA max · limit unknown"), "{screen}");
    assert!(screen.contains("found: from secret ledger-db/url"), "{screen}");
    assert!(screen.contains("(pooler for shop/web)"), "{screen}");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_cloudnativepg_cluster_applied_with_kubectl_is_a_database_and_odd_ones_are_unknown() {
    let rig = ordinary();
    // Before the CRD exists the API is not served: skipped quietly, and said.
    let before = json_of(&rig, &["-A", "budget", "-o", "json"]);
    assert!(before["notes"].to_string().contains("postgresql.cnpg.io/v1 is not served here"), "{:#}", before["notes"]);

    let crd = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/crds/cnpg-clusters.yaml");
    rig.kubectl(&["apply", "-f", crd]);
    rig.wait_until("the Cluster kind to be served", || {
        rig.kubectl(&["api-resources", "--api-group", "postgresql.cnpg.io", "-o", "name"]).contains("clusters")
    });
    let manifests = rig.dir.path().join("orders.yaml");
    std::fs::write(
        &manifests,
        r#"apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: orders, namespace: data}
spec:
  instances: 3
  postgresql:
    parameters: {max_connections: "300", shared_buffers: 256MB}
  storage: {size: 10Gi}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: weird, namespace: data}
spec:
  instances: "three"
  postgresql:
    parameters: {max_connections: "lots"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders-api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: orders-api}}
  template:
    metadata: {labels: {app: orders-api}}
    spec:
      containers:
        - name: api
          image: ghcr.io/ordinary/orders-api:1.0.0
          env:
            - {name: PGHOST, value: orders-rw.data.svc}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: odd-api, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: odd-api}}
  template:
    metadata: {labels: {app: odd-api}}
    spec:
      containers:
        - name: api
          image: ghcr.io/ordinary/odd-api:1.0.0
          env:
            - {name: DATABASE_URL, value: "postgres://x:y@weird-rw.data:5432/db"}
"#,
    )
    .unwrap();
    rig.kubectl(&["apply", "-f", manifests.to_str().unwrap()]);
    assert!(rig.kubectl(&["get", "clusters.postgresql.cnpg.io", "-n", "data"]).contains("orders"));

    let budget = json_of(&rig, &["-A", "budget", "-o", "json"]);
    let orders = database(&budget, "orders");
    assert_eq!(orders["origin"], "CloudNativePG Cluster data/orders");
    assert_eq!(
        (orders["max_connections"].as_u64(), orders["sources"]["max_connections"].as_str()),
        (Some(300), Some("CloudNativePG Cluster spec"))
    );
    assert_eq!(service(orders, "orders-api")["via"], "PGHOST");
    assert_eq!(orders["current"], 2 * 15 + 15);
    let weird = database(&budget, "weird");
    assert_eq!((weird["limit_known"].as_bool(), weird["state"].as_str()), (Some(false), Some("unknown")));
    assert_eq!(
        weird["notes"],
        serde_json::json!(["CloudNativePG Cluster data/weird sets max_connections to \"lots\", not a count"])
    );
    assert_eq!(rig.cockpit(&["-A", "budget"]).status.code(), Some(0));
}
