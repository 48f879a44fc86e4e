//! Several clusters at once: two and three simulated clusters, each with its own variant
//! of the same services (so drift exists), reached through one kubeconfig merged from a
//! file per cluster, as kubectl merges `$KUBECONFIG=a:b`. The real binary and the real
//! `kubectl` are pointed at them.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use cockpit::sim::SimOptions;
use serde_json::Value;
use support::rig::{Rig, text};

/// One cluster's variant of `shop`: `api` (image, replicas, env names and readiness period
/// vary) and `web`, the same everywhere.
fn variant(image: &str, replicas: u32, env: &[&str], period: u32) -> String {
    variant_on(support::TWO_NODES, image, replicas, env, period)
}

/// The same variant on a cluster whose `shop/api` pods write lines naming `region`
/// (`served-by-REGION`), so a log pane shows whose pods it streams.
fn logging_variant(region: &str, image: &str) -> String {
    let scenario = format!(
        r#"
apiVersion: sim.cockpit.dev/v1
kind: Scenario
metadata: {{name: {region}}}
spec:
  nodes:
    - {{name: node-a, cpu: "8", memory: 16Gi}}
  defaults: {{pull: 0s, start: 1s, shutdown: 1s}}
  images:
    - image: "shop/api:*"
      logs:
        - name: access
          every: 1s
          lines: ["GET /orders 200 served-by-{region}"]
---
apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
"#
    );
    variant_on(&scenario, image, 2, &["DB_URL"], 10)
}

fn variant_on(scenario: &str, image: &str, replicas: u32, env: &[&str], period: u32) -> String {
    let env: Vec<String> = env.iter().map(|n| format!("{{name: {n}, value: \"secret-{n}\"}}")).collect();
    format!(
        r#"{}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}, annotations: {{cockpit.dev/db: orders-pg}}}}
    spec:
      containers:
        - name: api
          image: "{image}"
          env: [{}]
          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: {period}}}
          resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
---{}"#,
        scenario,
        env.join(", "),
        support::web(2, 1)
    )
}

/// Simulated clusters named by context, and the kubeconfig files that reach them.
struct Fleet {
    clusters: Vec<(String, Rig)>,
    /// Every context of the kubeconfig, stopped clusters too.
    names: Vec<String>,
    dir: tempfile::TempDir,
}

impl Fleet {
    fn start(variants: &[(&str, String)]) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let clusters = variants
            .iter()
            .map(|(name, scenario)| {
                let file = dir.path().join(format!("{name}.yaml"));
                std::fs::write(&file, scenario).unwrap();
                let rig = Rig::start_scenario(SimOptions {
                    scenario: Some(file.display().to_string()),
                    extra_users: vec![namespaces_only()],
                    ..SimOptions::default()
                });
                let config = rig.sim().kubeconfig();
                std::fs::write(dir.path().join(format!("{name}.kubeconfig")), renamed(config, name)).unwrap();
                (name.to_string(), rig)
            })
            .collect();
        let names = variants.iter().map(|(name, _)| name.to_string()).collect();
        Fleet { clusters, names, dir }
    }

    /// `$KUBECONFIG`: one file per cluster, colon separated.
    fn kubeconfig_env(&self) -> String {
        let files: Vec<PathBuf> =
            self.names.iter().map(|name| self.dir.path().join(format!("{name}.kubeconfig"))).collect();
        std::env::join_paths(files).unwrap().into_string().unwrap()
    }

    fn cockpit(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kubectl-cockpit"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig_env())
            .env("KUBECTL_COCKPIT_CONFIG", self.dir.path().join("config"))
            .env("KUBECTL_COCKPIT_DATA", self.dir.path().join("data"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn kubectl(&self, context: &str, args: &[&str]) -> String {
        let out = Command::new("kubectl")
            .arg("--context")
            .arg(context)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig_env())
            .output()
            .unwrap();
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn rig(&self, context: &str) -> &Rig {
        &self.clusters.iter().find(|(n, _)| n == context).unwrap().1
    }

    /// From now on `context` is reached as a user who may list namespaces and nothing else.
    fn forbid(&self, context: &str) {
        let config = self.rig(context).sim().kubeconfig_for_user("nobody").unwrap();
        std::fs::write(self.dir.path().join(format!("{context}.kubeconfig")), renamed(config, context)).unwrap();
    }

    fn stop(&mut self, context: &str) {
        self.clusters.retain(|(n, _)| n != context);
    }
}

/// The simulator's kubeconfig with its context, cluster and user all called `name`, so
/// several merge without clashing (kubectl keeps the first of two same-named entries).
fn renamed(config: kube::config::Kubeconfig, name: &str) -> String {
    let mut config = serde_json::to_value(config).unwrap();
    for list in ["clusters", "users", "contexts"] {
        for entry in config[list].as_array_mut().unwrap() {
            entry["name"] = Value::from(name);
        }
    }
    let context = &mut config["contexts"][0]["context"];
    context["cluster"] = Value::from(name);
    context["user"] = Value::from(name);
    context["namespace"] = Value::from("shop");
    config["current-context"] = Value::from(name);
    serde_json::to_string_pretty(&config).unwrap()
}

/// A user of every simulator who may see the namespaces and no workload.
fn namespaces_only() -> cockpit::sim::spec::UserSpec {
    cockpit::sim::spec::UserSpec {
        name: "nobody".into(),
        token: "nobody-token".into(),
        groups: vec![],
        rules: vec![cockpit::sim::spec::RuleSpec {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            resources: vec!["namespaces".into()],
            namespaces: vec![],
        }],
    }
}

fn two() -> Fleet {
    Fleet::start(&[
        ("eu", variant("shop/api:1.4.0", 3, &["DB_URL", "LOG_LEVEL"], 10)),
        ("us", variant("shop/api:1.5.0", 2, &["DB_URL", "FEATURE_SEARCH"], 5)),
    ])
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn find<'a>(services: &'a Value, cluster: &str, name: &str) -> &'a Value {
    services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["cluster"] == cluster && s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {cluster}: {services}"))
}

#[test]
fn status_over_two_clusters_tags_every_service_with_its_cluster() {
    let fleet = two();
    let out = fleet.cockpit(&["status", "--context", "eu,us", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let value = json(&out);
    assert_eq!(value["context"], "eu,us");
    assert_eq!(value["clusters"][0]["state"], "live");
    assert_eq!(value["clusters"][1]["state"], "live");
    assert_eq!(find(&value["services"], "eu", "api")["replicas"]["desired"], 3);
    assert_eq!(find(&value["services"], "us", "api")["replicas"]["desired"], 2);
    find(&value["services"], "us", "web");

    let out = fleet.cockpit(&["status", "--all-contexts"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    let first: Vec<&str> = table.lines().next().unwrap().split_whitespace().take(3).collect();
    assert_eq!(first, ["CLUSTER", "NAMESPACE", "SERVICE"], "{table}");
    for cluster in ["eu", "us"] {
        assert!(table.lines().any(|l| l.starts_with(cluster) && l.contains(" api ")), "{table}");
    }
    assert!(table.contains("2 of 2 clusters live"), "{table}");

    // A profile may name the fleet: `--profile` alone opens its clusters.
    let profile = fleet.dir.path().join("fleet.toml");
    std::fs::write(&profile, "fleet = [\"us\", \"eu\"]\n").unwrap();
    let out = fleet.cockpit(&["status", "--profile", profile.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["context"], "us,eu");

    // One cluster alone is the single-cluster table, exactly as before: no CLUSTER column.
    let out = fleet.cockpit(&["status", "--context", "us"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("NAMESPACE"), "{}", text(&out));
    let out = fleet.cockpit(&["status", "--context", "us", "-o", "json"]);
    assert!(json(&out)["services"][0].get("cluster").is_none());
}

#[test]
fn fleet_diff_shows_what_differs_side_by_side_and_exits_1() {
    let fleet = two();
    let out = fleet.cockpit(&["fleet", "diff", "shop/api", "--context", "eu,us"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let row = |field: &str| {
        table.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field} row: {table}")).to_string()
    };
    assert!(table.lines().next().unwrap().split_whitespace().eq(["FIELD", "eu", "us"]), "{table}");
    assert!(row("image api").contains("shop/api:1.4.0") && row("image api").contains("shop/api:1.5.0"));
    assert!(row("replicas").split_whitespace().eq(["replicas", "3", "2"]), "{table}");
    assert!(row("env api").contains("LOG_LEVEL") && row("env api").contains("FEATURE_SEARCH"), "{table}");
    assert!(row("readiness probe api period").split_whitespace().rev().take(2).eq(["5s", "10s"]), "{table}");
    assert!(!table.contains("secret-"), "an env value was shown: {table}");

    let out = fleet.cockpit(&["fleet", "diff", "api", "--all-contexts", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let value = json(&out);
    assert_eq!(value["same"], false);
    assert_eq!(value["clusters"], serde_json::json!(["eu", "us"]));

    let out = fleet.cockpit(&["fleet", "diff", "web", "--context", "eu,us"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the same in eu, us"), "{}", text(&out));

    // One context is not a fleet; a change command takes one cluster at a time.
    assert_eq!(fleet.cockpit(&["fleet", "diff", "api", "--context", "eu"]).status.code(), Some(2));
    let out = fleet.cockpit(&["scale", "api", "4", "--yes", "--context", "eu,us"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for cluster in ["eu", "us"] {
        let replicas =
            fleet.kubectl(cluster, &["get", "deploy", "api", "-n", "shop", "-o", "jsonpath={.spec.replicas}"]);
        assert_ne!(replicas, "4", "{cluster} was changed");
    }
}

/// Lints and budgets are per cluster: each cluster's own findings and its own profile's
/// databases, tagged with the cluster.
#[test]
fn lint_and_budget_are_per_cluster() {
    let fleet = two();
    let profiles = fleet.dir.path().join("config").join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("eu.toml"), "[[databases]]\nname = \"orders-pg\"\nmax_connections = 200\n").unwrap();

    let out = fleet.cockpit(&["lint", "--context", "eu,us", "-o", "json"]);
    let both = json(&out);
    let mut codes = Vec::new();
    let mut total = 0;
    for cluster in ["eu", "us"] {
        let one = fleet.cockpit(&["lint", "--context", cluster, "-o", "json"]);
        codes.push(one.status.code().unwrap());
        let n = json(&one)["findings"].as_array().unwrap().len();
        let tagged = both["findings"].as_array().unwrap().iter().filter(|f| f["cluster"] == cluster).count();
        assert_eq!(tagged, n, "{cluster}: {both}");
        total += n;
    }
    assert_eq!(both["findings"].as_array().unwrap().len(), total);
    assert_eq!(out.status.code(), codes.iter().max().copied(), "{}", text(&out));
    let table = String::from_utf8_lossy(&fleet.cockpit(&["lint", "--context", "eu,us"]).stdout).to_string();
    assert!(table.contains("cluster eu:") && table.contains("cluster us:"), "{table}");

    let out = fleet.cockpit(&["budget", "--context", "eu,us", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let databases = json(&out)["databases"].as_array().unwrap().clone();
    let of =
        |cluster: &str| databases.iter().find(|d| d["cluster"] == cluster).unwrap_or_else(|| panic!("{databases:?}"));
    // eu's profile declares the database; us knows it only from the annotation.
    assert_eq!(
        (of("eu")["max_connections"].as_u64(), of("eu")["services"][0]["replicas"].as_u64()),
        (Some(200), Some(3))
    );
    assert_ne!(of("us")["max_connections"].as_u64(), Some(200), "{databases:?}");
    assert_eq!(of("us")["services"][0]["replicas"].as_u64(), Some(2));

    // The gate and runbooks still take one cluster, named.
    assert_eq!(fleet.cockpit(&["gate", "--context", "eu,us"]).status.code(), Some(2));
    assert_eq!(fleet.cockpit(&["runbook", "run", "x", "--yes", "--context", "eu,us"]).status.code(), Some(2));
}

#[test]
fn a_forbidden_cluster_is_said_and_the_other_is_complete() {
    let fleet = two();
    fleet.forbid("us");
    let out = fleet.cockpit(&["status", "--context", "eu,us", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let value = json(&out);
    assert_eq!(value["clusters"][0]["state"], "live", "{value}");
    assert_eq!(value["clusters"][1]["state"], "no access", "{value}");
    assert!(value["clusters"][1]["error"].as_str().unwrap().contains("deployments"), "{value}");
    find(&value["services"], "eu", "api");
    find(&value["services"], "eu", "web");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cluster us: warning: no access: list deployments"), "{stderr}");
    let out = fleet.cockpit(&["status", "--context", "eu,us"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("us: no access: list deployments"), "{}", text(&out));
}

#[test]
fn a_cluster_that_is_down_is_reported_and_the_others_are_complete() {
    let mut fleet = Fleet::start(&[
        ("eu", variant("shop/api:1.4.0", 3, &["DB_URL"], 10)),
        ("us", variant("shop/api:1.4.0", 3, &["DB_URL"], 10)),
        ("ap", variant("shop/api:1.5.0", 1, &["DB_URL"], 10)),
    ]);
    let out = fleet.cockpit(&["fleet", "diff", "api", "--all-contexts"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(fleet.rig("ap").sim().https_url().starts_with("https://"));
    fleet.stop("ap");
    // The kubeconfig still names ap; its server no longer answers.
    let out = fleet.cockpit(&["status", "--context", "eu,us,ap", "-o", "json", "--request-timeout", "5s"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let value = json(&out);
    assert_eq!(value["clusters"][2]["state"], "unreachable", "{value}");
    assert!(value["clusters"][2]["error"].as_str().unwrap().contains("connection refused"), "{value}");
    find(&value["services"], "eu", "api");
    find(&value["services"], "us", "web");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cluster ap:"), "{}", text(&out));
    // eu and us run the same api; with ap down nothing can be called the same (exit 3).
    let out = fleet.cockpit(&["fleet", "diff", "api", "--context", "eu,us,ap", "--request-timeout", "5s"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the same in eu, us"), "{}", text(&out));
}

/// The cockpit on `fleet`'s clusters in a `cols`x`rows` terminal.
fn spawn_cockpit(fleet: &Fleet, args: &[&str], cols: u16, rows: u16) -> support::pty::Pty {
    use support::pty::{Pty, isolated_env};
    let mut env = isolated_env(fleet.dir.path());
    env.retain(|(k, _)| k != "KUBECONFIG");
    env.push(("KUBECONFIG".into(), fleet.kubeconfig_env()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Pty::spawn(args, &env, cols, rows)
}

/// The cockpit over two clusters in a real terminal: a CLUSTER column, each cluster's
/// state in the status line, the drifted service marked, and enter showing how it differs.
fn fleet_cockpit(cols: u16, rows: u16) {
    let fleet = two();
    let mut pty = spawn_cockpit(&fleet, &["--context", "eu,us"], cols, rows);
    pty.wait_until("both clusters live", |s| s.contains("eu live") && s.contains("us live"));
    pty.wait_until("a row per cluster", |s| {
        s.contains("CLUSTER") && s.lines().filter(|l| l.contains("api")).count() >= 2
    });
    let screen = pty.screen_text();
    let api_rows: Vec<&str> = screen.lines().filter(|l| l.contains(" api ") || l.contains("shop/api")).collect();
    assert!(api_rows.iter().any(|l| l.contains("eu ≠")), "{screen}");
    assert!(api_rows.iter().any(|l| l.contains("us ≠")), "{screen}");
    let web_rows: Vec<&str> = screen.lines().filter(|l| l.contains("web")).collect();
    assert!(!web_rows.is_empty() && web_rows.iter().all(|l| !l.contains('≠')), "{screen}");
    assert!(screen.contains("eu live · us live │ ns shop"), "{screen}");

    pty.send("/shop/api\r");
    pty.wait_until("the filter applied", |s| !s.lines().any(|l| l.contains("web") && l.contains("eu")));
    pty.send("\r");
    pty.wait_for("DIFFERS ACROSS CLUSTERS");
    let screen = pty.screen_text();
    assert!(screen.contains("shop/api:1.4.0") && screen.contains("shop/api:1.5.0"), "{screen}");
    assert!(screen.lines().any(|l| l.contains("FIELD") && l.contains("eu") && l.contains("us")), "{screen}");
    assert!(!screen.contains("secret-"), "an env value was shown: {screen}");
    pty.send("q");
}

#[test]
fn the_fleet_overview_in_80x24() {
    fleet_cockpit(80, 24);
}

#[test]
fn the_fleet_overview_in_200x50() {
    fleet_cockpit(200, 50);
}

/// A cluster that goes down is marked (reconnecting, then stale) while the other stays
/// live and keeps showing its changes; when it comes back it is live again.
#[test]
fn a_cluster_taken_down_is_marked_and_recovers_while_the_other_stays_live() {
    use cockpit::sim::spec::FaultSpec;
    let fleet = two();
    let mut pty = spawn_cockpit(&fleet, &["--context", "eu,us"], 160, 30);
    pty.wait_until("both clusters live", |s| s.contains("eu live") && s.contains("us live"));
    let us = fleet.rig("us").sim().faults();
    us.inject(FaultSpec::FailNext { count: 1_000_000, code: 503 });
    us.inject(FaultSpec::DropWatches);
    pty.wait_until("us reconnecting", |s| s.contains("us reconnecting") && s.contains("eu live"));
    pty.wait_until("us stale", |s| s.contains("us stale") && s.contains("eu live"));
    fleet.kubectl("eu", &["scale", "deploy", "web", "-n", "shop", "--replicas", "3"]);
    pty.wait_until("eu's change shown while us is down", |s| {
        s.lines().any(|l| l.starts_with("eu") && l.contains("web") && l.contains("/3"))
            && s.lines().any(|l| l.starts_with("us") && l.contains("web"))
    });
    us.inject(FaultSpec::Clear);
    pty.wait_until("us live again", |s| s.contains("us live") && s.contains("eu live"));
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
}

/// The audit log as text, and its entries whose outcome is `outcome`.
fn audited(fleet: &Fleet, outcome: &str) -> (String, Vec<Value>) {
    let audit = std::fs::read_to_string(fleet.dir.path().join("data").join("audit.jsonl")).unwrap();
    let entries =
        audit.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|e| e["outcome"] == outcome).collect();
    (audit, entries)
}

/// The cockpit on both clusters of `fleet`, live, its overview filtered to one service of
/// one cluster (`cluster/namespace/name`).
fn cockpit_on(fleet: &Fleet, service: &str) -> support::pty::Pty {
    cockpit_with(fleet, &[], service)
}

/// [`cockpit_on`] with more flags.
fn cockpit_with(fleet: &Fleet, flags: &[&str], service: &str) -> support::pty::Pty {
    let args: Vec<&str> = ["--context", "eu,us"].iter().chain(flags).copied().collect();
    let mut pty = spawn_cockpit(fleet, &args, 160, 40);
    pty.wait_until("both clusters live", |s| s.contains("eu live") && s.contains("us live"));
    pty.send(&format!("/{service}\r"));
    pty.wait_until(service, |s| s.contains("Services 1 of 4") && s.contains(&format!("filter \"{service}\"")));
    pty
}

fn replicas_in(fleet: &Fleet, cluster: &str, name: &str) -> String {
    fleet.kubectl(cluster, &["get", "deploy", name, "-n", "shop", "-o", "jsonpath={.spec.replicas}"])
}

/// A change made in the fleet cockpit goes to its service's cluster only (kubectl asked on
/// each), its preview and audit entry name that cluster, and a cluster the profile marks
/// as production wants the cluster's name typed as well as the service's.
#[test]
fn a_change_goes_to_its_own_cluster_only_and_production_wants_the_cluster_named() {
    let fleet = two();
    let profiles = fleet.dir.path().join("config").join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("eu.toml"), "production = true\n").unwrap();
    let mut pty = spawn_cockpit(&fleet, &["--context", "eu,us"], 140, 36);
    pty.wait_until("both clusters live", |s| s.contains("eu live") && s.contains("us live"));
    // The filter narrows to one cluster with `cluster/namespace/name`.
    pty.send("/us/shop/web\r");
    pty.wait_until("web in us", |s| s.contains("Services 1 of 4"));
    pty.send("s");
    pty.wait_until("the wizard names us", |s| s.contains("Scale shop/web in us"));
    pty.send("\x7f3");
    pty.wait_until("the preview", |s| s.contains("2 → 3") && s.contains("kubectl --context us scale"));
    pty.send("\r");
    pty.wait_until("the server's dry-run answer", |s| s.contains("server dry-run: ok") && s.contains("in us"));
    pty.send("\r");
    pty.wait_until("applied", |s| s.contains("rolled out") || s.contains("done:"));
    pty.send("\r");
    assert_eq!(replicas_in(&fleet, "us", "web"), "3");
    assert_eq!(replicas_in(&fleet, "eu", "web"), "2");

    // eu is production: its service name alone does not confirm.
    pty.send("\x7f/eu/shop/web\r");
    pty.wait_until("web in eu", |s| s.contains("Services 1 of 4") && s.contains("filter \"eu/shop/web\""));
    pty.send("s");
    pty.wait_until("the wizard names eu", |s| s.contains("Scale shop/web in eu"));
    pty.send("\x7f4\r");
    pty.wait_until("the typed confirmation", |s| s.contains("type the name to go:"));
    pty.send("web\r");
    pty.wait_until("the name alone refused", |s| s.contains("type web@eu to change production"));
    assert_eq!(replicas_in(&fleet, "eu", "web"), "2");
    pty.send("@eu\r");
    pty.wait_until("applied in eu", |s| s.contains("rolled out") || s.contains("done:"));
    assert_eq!(replicas_in(&fleet, "eu", "web"), "4");
    assert_eq!(replicas_in(&fleet, "us", "web"), "3");
    pty.send("\r");
    pty.send("q");

    let (audit, applied) = audited(&fleet, "applied");
    let contexts: Vec<&str> = applied.iter().map(|e| e["context"].as_str().unwrap()).collect();
    assert_eq!(contexts, ["us", "eu"], "{audit}");
    assert!(applied.iter().all(|e| e["target"] == "shop/deploy/web"), "{audit}");
}

/// A cluster that does not answer when the cockpit starts is `unreachable` (the other is
/// shown), is tried again in the background, and joins once it answers.
#[test]
fn a_cluster_down_at_the_start_joins_when_it_answers() {
    use cockpit::sim::spec::FaultSpec;
    let fleet = two();
    let us = fleet.rig("us").sim().faults();
    us.inject(FaultSpec::FailNext { count: 1_000_000, code: 503 });
    let mut pty = spawn_cockpit(&fleet, &["--context", "eu,us", "--request-timeout", "3s"], 140, 30);
    pty.wait_until("eu live, us unreachable", |s| s.contains("eu live") && s.contains("us unreachable"));
    let screen = pty.screen_text();
    assert!(screen.lines().any(|l| l.trim_start().starts_with("eu") && l.contains("api")), "{screen}");
    assert!(!screen.lines().any(|l| l.trim_start().starts_with("us ")), "{screen}");
    us.inject(FaultSpec::Clear);
    pty.wait_within(std::time::Duration::from_secs(40), "us joins", |s| {
        s.contains("us live") && s.lines().any(|l| l.trim_start().starts_with("us") && l.contains("api"))
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
}

/// A log pane in the fleet cockpit streams its service's own cluster's pods (the same
/// service in the other cluster writes other lines) and its title names that cluster.
#[test]
fn a_log_pane_follows_its_services_own_cluster() {
    let fleet = Fleet::start(&[
        ("eu", logging_variant("eu", "shop/api:1.4.0")),
        ("us", logging_variant("us", "shop/api:1.5.0")),
    ]);
    let mut pty = cockpit_on(&fleet, "us/shop/api");
    pty.send("l");
    pty.wait_until("us's pane with us's lines", |s| s.contains("shop/api in us") && s.contains("served-by-us"));
    let screen = pty.screen_text();
    assert!(!screen.contains("served-by-eu"), "a pane on us showed eu's pods: {screen}");
    assert!(!screen.contains("shop/api in eu"), "{screen}");

    // The same service in eu is another pane, through eu's connection.
    pty.send("\x1b");
    pty.wait_until("back on the overview", |s| s.contains("CLUSTER"));
    pty.send("\x7f/eu/shop/api\r");
    pty.wait_until("api in eu", |s| s.contains("Services 1 of 4") && s.contains("filter \"eu/shop/api\""));
    pty.send("l");
    pty.wait_until("two panes, each with its own cluster's lines", |s| {
        s.contains("shop/api in eu")
            && s.contains("shop/api in us")
            && s.contains("served-by-eu")
            && s.contains("served-by-us")
    });
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
}

const BUMP: &str = "\
name: bump
description: scale a service to 3
params:
  service: {description: the service}
steps:
  - id: scale
    title: Scale {{service}} to 3
    scale: {service: \"{{service}}\", replicas: 3}
    gates: [rollout-complete]
";

/// A runbook started in the fleet cockpit from a service runs on that service's cluster
/// only (kubectl asked on each): its parameters, its run and its confirmation name the
/// cluster (production wants `name@cluster` typed), and its audit entry is that cluster's.
#[test]
fn a_runbook_runs_on_its_services_cluster_only() {
    let fleet = two();
    let config = fleet.dir.path().join("config");
    std::fs::create_dir_all(config.join("runbooks")).unwrap();
    std::fs::write(config.join("runbooks").join("bump.yaml"), BUMP).unwrap();
    std::fs::create_dir_all(config.join("profiles")).unwrap();
    std::fs::write(config.join("profiles").join("us.toml"), "production = true\n").unwrap();
    let mut pty = cockpit_on(&fleet, "us/shop/web");
    pty.send(" r");
    pty.wait_until("the runbooks", |s| s.contains("Runbooks") && s.contains("scale a service to 3"));
    pty.send("\r");
    pty.wait_until("the parameters, for us", |s| s.contains("Run bump in us") && s.contains("service=shop/web"));
    pty.send("\r");
    pty.wait_until("the change to confirm, in us", |s| {
        s.contains("shop in us") && s.contains("from 2 to 3") && s.contains("type the service name to send it")
    });
    pty.send("\r");
    pty.wait_until("the typed confirmation, in us", |s| s.contains("Confirm the change in us"));
    pty.send("web\r");
    pty.wait_until("the name alone refused", |s| s.contains("type web@us to confirm; the step still waits"));
    assert_eq!(replicas_in(&fleet, "us", "web"), "2", "sent without the cluster named");
    pty.send("\r");
    pty.wait_until("the typed confirmation again", |s| s.contains("Confirm the change in us"));
    pty.send("web@us\r");
    pty.wait_until("the run to pass", |s| s.contains("runbook bump passed"));
    assert_eq!(replicas_in(&fleet, "us", "web"), "3");
    assert_eq!(replicas_in(&fleet, "eu", "web"), "2", "the runbook changed another cluster");
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);

    let (audit, applied) = audited(&fleet, "applied");
    assert_eq!(applied.len(), 1, "{audit}");
    assert_eq!((applied[0]["context"].as_str(), applied[0]["target"].as_str()), (Some("us"), Some("shop/deploy/web")));
}

/// `kubectl get node NODE` in `cluster`: whether it is cordoned.
fn cordoned(fleet: &Fleet, cluster: &str, node: &str) -> bool {
    fleet.kubectl(cluster, &["get", "node", node, "-o", "jsonpath={.spec.unschedulable}"]) == "true"
}

/// The nodes view in the fleet cockpit is the selected service's cluster's: its title names
/// the cluster, an uncordon and a drain go to that cluster only (kubectl asked on each), and
/// a production cluster's drain wants `node@cluster` typed.
#[test]
fn the_nodes_view_works_on_the_selected_services_cluster_only() {
    let fleet = two();
    let profiles = fleet.dir.path().join("config").join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::write(profiles.join("us.toml"), "production = true\n").unwrap();
    for cluster in ["eu", "us"] {
        fleet.kubectl(cluster, &["cordon", "node-a"]);
    }
    let mut pty = cockpit_on(&fleet, "us/shop/web");
    pty.send(" d");
    pty.wait_until("us's nodes", |s| {
        s.contains("Nodes in us · 2") && s.lines().any(|l| l.contains("node-a") && l.contains("cordoned"))
    });
    pty.send("u");
    pty.wait_until("node-a uncordoned", |s| s.contains("uncordoned node-a"));
    assert!(!cordoned(&fleet, "us", "node-a"), "us's node-a is still cordoned");
    assert!(cordoned(&fleet, "eu", "node-a"), "eu's node-a was uncordoned");

    pty.send("\x1b[B");
    pty.wait_until("node-b's drain preview", |s| s.contains("Drain preview · node-b"));
    pty.send("d");
    pty.wait_until("the drain popup, in us", |s| {
        s.contains("Drain node-b in us") && s.contains("Enter: ask the API server")
    });
    pty.send("\r");
    pty.wait_until("the server's dry-run answer", |s| s.contains("server dry-run: ok"));
    pty.send("node-b\r");
    pty.wait_until("the node's name alone refused", |s| s.contains("type node-b@us to drain in production"));
    assert!(!cordoned(&fleet, "us", "node-b"), "drained without the cluster named");
    pty.send("@us\r");
    pty.wait_within(std::time::Duration::from_secs(90), "the drain to its end", |s| s.contains("drained node-b"));
    assert!(cordoned(&fleet, "us", "node-b"), "us's node-b was not drained");
    assert!(!cordoned(&fleet, "eu", "node-b"), "eu's node-b was cordoned");
    pty.send("\r");
    pty.send("q");
    let (audit, drained) = audited(&fleet, "drained");
    assert_eq!(drained.len(), 1, "{audit}");
    assert_eq!(
        (&drained[0]["context"], &drained[0]["target"]),
        (&Value::from("us"), &Value::from("node/node-b")),
        "{audit}"
    );
}

/// `--read-only` over a fleet: a change key and a drain are refused, and each refusal is
/// audited under the cluster it was for, not the first one.
#[test]
fn a_refusal_in_a_fleet_is_audited_under_its_cluster() {
    let fleet = two();
    let mut pty = cockpit_with(&fleet, &["--read-only"], "us/shop/web");
    pty.send("s");
    pty.wait_until("the scale refused", |s| s.contains("scale: refused"));
    pty.send(" d");
    pty.wait_until("us's nodes", |s| s.contains("Nodes in us · 2") && s.contains("node-a"));
    pty.send("d");
    pty.wait_until("the drain refused", |s| s.contains("drain node-a: refused"));
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
    let (audit, refused) = audited(&fleet, "refused: read-only");
    let seen: Vec<(&str, &str)> =
        refused.iter().map(|e| (e["context"].as_str().unwrap(), e["target"].as_str().unwrap())).collect();
    assert_eq!(seen, [("us", "shop/deploy/web"), ("us", "node/node-a")], "{audit}");
}

/// A runbook interrupted on one cluster of the fleet is offered when the fleet cockpit
/// starts, named with its cluster, and resumes on that cluster only.
#[test]
fn an_interrupted_run_of_one_cluster_resumes_there() {
    use cockpit::actions::runbook::state::{StepRecord, StepState};
    let fleet = two();
    let config = fleet.dir.path().join("config");
    std::fs::create_dir_all(config.join("runbooks")).unwrap();
    std::fs::write(config.join("runbooks").join("bump.yaml"), BUMP).unwrap();
    let mut steps = vec![StepRecord::new("scale", "Scale shop/web to 3", "scale shop/web to 3".into())];
    steps[0].state = StepState::Running;
    let runs = fleet.dir.path().join("data").join("runs");
    let params = vec![("service".to_string(), "shop/web".to_string())];
    let source = config.join("runbooks").join("bump.yaml");
    support::save_interrupted_run(&runs, &source, ("us", "shop", "bump"), params, steps);
    let mut pty = spawn_cockpit(&fleet, &["--context", "eu,us"], 160, 40);
    pty.wait_until("the offer to resume, in us", |s| {
        s.contains("Interrupted runbook") && s.contains("bump on shop in us stopped at step 1 (scale)")
    });
    pty.send("\r");
    pty.wait_until("the change to confirm, in us", |s| {
        s.contains("shop in us") && s.contains("from 2 to 3") && s.contains("send this change")
    });
    pty.send("\r");
    pty.wait_until("the run to pass", |s| s.contains("runbook bump passed"));
    assert_eq!(replicas_in(&fleet, "us", "web"), "3");
    assert_eq!(replicas_in(&fleet, "eu", "web"), "2", "the resumed run changed another cluster");
    pty.send("q");
    assert_eq!(pty.wait_exit(std::time::Duration::from_secs(10)), 0);
}
