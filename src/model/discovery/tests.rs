use super::*;
use crate::model::budget::{self, BudgetRules, BudgetState, DatabaseKind};
use crate::model::service::{ContainerImage, EnvVar, WorkloadKind};

fn literal(name: &str, value: &str) -> EnvVar {
    EnvVar { container: "app".into(), name: name.into(), value: EnvValue::Literal(value.into()) }
}

fn from(name: &str, value: EnvValue) -> EnvVar {
    EnvVar { container: "app".into(), name: name.into(), value }
}

/// A service running `image`, labelled `app=<name>`, with `env`.
fn workload(ns: &str, name: &str, replicas: i32, image: &str, env: Vec<EnvVar>) -> Service {
    let mut s = Service::example(ns, name, replicas);
    s.containers = vec![ContainerImage { container: "app".into(), image: image.into() }];
    s.env = env;
    s.database.labels = [("app".to_string(), name.to_string())].into();
    s
}

/// A PostgreSQL StatefulSet whose max_connections its env gives (as the image would be read).
fn postgres(ns: &str, name: &str, max: u32) -> Service {
    let mut s = workload(ns, name, 1, "bitnami/postgresql:16", vec![]);
    s.key.kind = WorkloadKind::StatefulSet;
    s.database.serves = Some(Sourced { value: max, source: Source::Env("POSTGRESQL_MAX_CONNECTIONS".into()) });
    s
}

fn service_for(ns: &str, name: &str, app: &str) -> NetService {
    NetService {
        namespace: ns.into(),
        name: name.into(),
        selector: Some([("app".to_string(), app.to_string())].into()),
    }
}

fn key(ns: &str, name: &str, kind: WorkloadKind) -> ServiceKey {
    ServiceKey { namespace: ns.into(), name: name.into(), kind, cluster: None }
}

#[test]
fn a_database_url_reaches_the_statefulset_its_host_selects() {
    let api = workload(
        "shop",
        "api",
        3,
        "shop/api:2",
        vec![literal("DATABASE_URL", "postgres://app:s3cret@pg.data:5432/shop")],
    );
    let pg = postgres("data", "pg", 200);
    let network = Network { services: vec![service_for("data", "pg", "pg")], ..Default::default() };
    let found = discover(&[api.clone(), pg.clone()], &network);
    assert_eq!(found.connections[&api.key].target, Target::Workload(pg.key.clone()));
    assert_eq!(found.connections[&api.key].via, "DATABASE_URL");
    assert!(!found.connections.contains_key(&pg.key), "a server connects to nothing");
    let budgets = budget::databases(&BudgetRules::default(), &[api, pg], &found);
    let b = &budgets[0];
    assert_eq!((b.name.as_str(), b.max_connections.value, b.limit_known()), ("pg", 200, true));
    assert_eq!(b.origin.as_deref(), Some("StatefulSet data/pg"));
    assert_eq!(b.required(), 3 * 15 + 15, "3 replicas of the default pool (5 + 10), plus headroom");
}

#[test]
fn pghost_from_a_configmap_is_followed_and_other_keys_are_not() {
    let cm = EnvValue::FromConfigMap { config_map: "worker-config".into(), key: "db-host".into() };
    let worker = workload("shop", "worker", 2, "shop/worker:1", vec![from("PGHOST", cm)]);
    let pg = postgres("shop", "pg", 100);
    let data = [("db-host".to_string(), "pg".to_string())].into();
    let network = Network {
        services: vec![service_for("shop", "pg", "pg")],
        config_maps: [(("shop".to_string(), "worker-config".to_string()), data)].into(),
        ..Default::default()
    };
    let found = discover(&[worker.clone(), pg.clone()], &network);
    assert_eq!(found.connections[&worker.key].target, Target::Workload(pg.key));
    assert_eq!(found.connections[&worker.key].via, "PGHOST from ConfigMap worker-config");
}

#[test]
fn an_env_from_configmap_is_searched_for_database_names() {
    let all = EnvValue::FromConfigMap { config_map: "app-env".into(), key: "*".into() };
    let api = workload("shop", "api", 1, "shop/api:1", vec![from("*", all)]);
    let pg = postgres("shop", "pg", 100);
    let data = [
        ("LOG_LEVEL".to_string(), "info".to_string()),
        ("DB_HOST".to_string(), "pg.shop.svc.cluster.local".to_string()),
    ]
    .into();
    let network = Network {
        services: vec![service_for("shop", "pg", "pg")],
        config_maps: [(("shop".to_string(), "app-env".to_string()), data)].into(),
        ..Default::default()
    };
    assert_eq!(discover(&[api.clone(), pg.clone()], &network).connections[&api.key].target, Target::Workload(pg.key));
}

#[test]
fn services_sharing_a_secret_key_are_one_database_of_unknown_limit() {
    let url = || EnvValue::FromSecret { secret: "ledger-db".into(), key: "url".into() };
    let api = workload("ledger", "api", 3, "ledger/api:1", vec![from("DATABASE_URL", url())]);
    let jobs = workload("ledger", "jobs", 2, "ledger/jobs:1", vec![from("DATABASE_URL", url())]);
    let found = discover(&[api.clone(), jobs.clone()], &Network::default());
    let budgets = budget::databases(&BudgetRules::default(), &[api, jobs], &found);
    assert_eq!(budgets.len(), 1);
    let b = &budgets[0];
    assert_eq!(b.name, "ledger-db/url");
    assert_eq!(b.origin.as_deref(), Some("from secret ledger-db/url"));
    assert!(!b.limit_known());
    assert_eq!(b.state(), BudgetState::Unknown);
    assert_eq!(b.demand(), "90 now · 90 at HPA max · limit unknown", "5 replicas × 15 + 15 headroom");
    assert!(b.advice(BudgetState::Unknown).unwrap().contains("max_connections"));
}

#[test]
fn a_pgbouncer_carries_its_clients_and_counts_its_own_pool_on_the_server() {
    let api =
        workload("shop", "api", 4, "shop/api:1", vec![literal("DATABASE_URL", "postgres://u:p@pgbouncer:6432/shop")]);
    let bouncer = workload(
        "shop",
        "pgbouncer",
        2,
        "edoburu/pgbouncer:1.22",
        vec![literal("DB_HOST", "pg"), literal("DEFAULT_POOL_SIZE", "25"), literal("MAX_CLIENT_CONN", "50")],
    );
    let pg = postgres("shop", "pg", 100);
    let network = Network {
        services: vec![service_for("shop", "pgbouncer", "pgbouncer"), service_for("shop", "pg", "pg")],
        ..Default::default()
    };
    let services = [api.clone(), bouncer.clone(), pg.clone()];
    let found = discover(&services, &network);
    assert_eq!(found.connections[&api.key].target, Target::Workload(bouncer.key.clone()));
    assert_eq!(found.connections[&bouncer.key].target, Target::Workload(pg.key.clone()));
    let budgets = budget::databases(&BudgetRules::default(), &services, &found);
    let pooler = budgets.iter().find(|b| b.name == "pgbouncer").unwrap();
    assert!(matches!(&pooler.kind, DatabaseKind::Pooler { server: Some(s), pods: 2, .. } if s == "pg"));
    assert_eq!(pooler.limits(), "client limit 100 = 2 pods × max_client_conn 50 (env MAX_CLIENT_CONN) · warn at 70 %");
    assert_eq!(pooler.max_connections.value, 100, "2 pooler pods × max_client_conn 50");
    assert_eq!(pooler.required(), 4 * 15, "clients only: a pooler keeps no headroom");
    let server = budgets.iter().find(|b| b.name == "pg").unwrap();
    let line = server.uses(&bouncer.key).unwrap();
    assert_eq!((line.replicas, line.per_replica()), (2, 25), "the pooler's server-side pool per pod");
    assert_eq!(line.pooler_for, [api.key]);
    assert!(server.pooler, "a pooler in front");
    assert_eq!(server.required(), 2 * 25 + 15);
}

#[test]
fn a_pgbouncer_ini_from_a_configmap_gives_settings_and_upstream() {
    let mut bouncer = workload("shop", "pgbouncer", 1, "bitnami/pgbouncer:1", vec![]);
    bouncer.database.config_volumes = vec!["pgbouncer-ini".into()];
    let pg = postgres("shop", "pg", 100);
    let ini = "[databases]\nshop = host=pg port=5432\n[pgbouncer]\ndefault_pool_size = 30\nmax_db_connections = 20\n";
    let network = Network {
        services: vec![service_for("shop", "pg", "pg")],
        config_maps: [(
            ("shop".to_string(), "pgbouncer-ini".to_string()),
            [("pgbouncer.ini".to_string(), ini.to_string())].into(),
        )]
        .into(),
        ..Default::default()
    };
    let found = discover(&[bouncer.clone(), pg.clone()], &network);
    assert_eq!(found.connections[&bouncer.key].target, Target::Workload(pg.key));
    let settings = &found.poolers[&bouncer.key];
    assert_eq!(
        (settings.pool.value, settings.pool.source.to_string()),
        (20, "pgbouncer.ini max_db_connections".to_string())
    );
    assert_eq!(settings.max_client_conn.source, Source::EngineDefault("PgBouncer"));
}

#[test]
fn an_operator_cluster_is_reached_through_its_read_write_service() {
    let api = workload("shop", "api", 2, "shop/api:1", vec![literal("PGHOST", "orders-rw.data")]);
    let network = Network {
        operators: vec![OperatorCluster {
            operator: Operator::CloudNativePg,
            namespace: "data".into(),
            name: "orders".into(),
            instances: Some(3),
            max_connections: Setting::Set(300),
        }],
        ..Default::default()
    };
    let found = discover(std::slice::from_ref(&api), &network);
    assert_eq!(
        found.connections[&api.key].target,
        Target::Operator { namespace: "data".into(), name: "orders".into() }
    );
    let b = budget::databases(&BudgetRules::default(), &[api], &found).remove(0);
    assert_eq!((b.name.as_str(), b.max_connections.value), ("orders", 300));
    assert_eq!(b.max_connections.source.to_string(), "CloudNativePG Cluster spec");
    assert_eq!(b.origin.as_deref(), Some("CloudNativePG Cluster data/orders"));
}

#[test]
fn unresolvable_malformed_and_foreign_values_are_unknown_never_errors() {
    let services = [
        workload("shop", "a", 1, "a:1", vec![literal("DATABASE_URL", "postgres://u:p@gone.data:5432/x")]),
        workload("shop", "b", 1, "b:1", vec![literal("DATABASE_URL", "postgres://")]),
        workload("shop", "c", 1, "c:1", vec![literal("DATABASE_URL", "mysql://u:p@db/x")]),
        workload("shop", "d", 1, "d:1", vec![literal("DATABASE_URL", "postgres://u:p@db.example.com/x")]),
        workload("shop", "e", 1, "e:1", vec![literal("PGHOST", "localhost")]),
    ];
    let found = discover(&services, &Network::default());
    let target =
        |name: &str| found.connections.get(&key("shop", name, WorkloadKind::Deployment)).map(|c| c.target.clone());
    assert_eq!(target("a"), Some(Target::Host("gone.data".into())));
    assert_eq!(
        found.connections[&key("shop", "a", WorkloadKind::Deployment)].note.as_deref(),
        Some("no Service gone in namespace data")
    );
    assert_eq!(target("b"), None, "nothing readable: no made-up database");
    assert_eq!(found.notes, ["shop/b: DATABASE_URL holds no host the cockpit can read"]);
    assert_eq!(target("c"), None, "another engine is not this budget's business");
    assert_eq!(target("d"), Some(Target::Host("db.example.com".into())));
    assert_eq!(target("e"), None, "a local proxy hides the database");
    let budgets = budget::databases(&BudgetRules::default(), &services, &found);
    assert!(budgets.iter().all(|b| !b.limit_known() && b.state() == BudgetState::Unknown));
}

#[test]
fn the_profile_and_annotation_win_over_discovery() {
    let mut api = workload("shop", "api", 1, "shop/api:1", vec![literal("DATABASE_URL", "postgres://pg/x")]);
    api.database.uses = Some("declared-db".into());
    let pg = postgres("shop", "pg", 100);
    let network = Network { services: vec![service_for("shop", "pg", "pg")], ..Default::default() };
    let found = discover(&[api.clone(), pg.clone()], &network);
    let budgets = budget::databases(&BudgetRules::default(), &[api.clone(), pg], &found);
    assert!(budgets.iter().find(|b| b.name == "declared-db").unwrap().uses(&api.key).is_some());
    assert!(budgets.iter().all(|b| b.name != "pg" || b.uses(&api.key).is_none()));
}
