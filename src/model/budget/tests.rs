use super::*;
use crate::model::service::{HpaSummary, PodRow, Replicas, Service};
use crate::model::service_match::parse_selector;

/// The budgets with nothing discovered: what the profile and annotations alone say.
fn databases<S: Borrow<Service>>(rules: &BudgetRules, services: &[S]) -> Vec<DatabaseBudget> {
    super::databases(rules, services, &Discovered::default())
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar { container: "app".into(), name: name.into(), value: EnvValue::Literal(value.into()) }
}

fn user(ns: &str, name: &str, replicas: i32, db: &str) -> Service {
    let mut s = Service::example(ns, name, replicas);
    s.database.uses = Some(db.into());
    s
}

fn with_hpa_max(mut s: Service, max: i32) -> Service {
    s.hpa = Some(HpaSummary {
        name: s.key.name.clone(),
        min: 1,
        max,
        current: 1,
        desired: 1,
        targets: vec![],
        resource_version: None,
    });
    s
}

fn declared_db(name: &str, max: u32, reserved: u32, headroom: u32) -> DatabaseDecl {
    DatabaseDecl {
        name: name.into(),
        max_connections: Some(max),
        reserved: Some(reserved),
        headroom: Some(headroom),
        ..Default::default()
    }
}

fn rules(databases: Vec<DatabaseDecl>, bindings: Vec<BindingDecl>) -> BudgetRules {
    BudgetRules { databases, bindings }
}

fn bind(db: &str, ns: &str, name: &str, pool: u32, overflow: u32) -> BindingDecl {
    BindingDecl {
        database: db.into(),
        services: ServiceMatch::Named { namespace: Some(ns.into()), name: name.into() },
        pool: Some(pool),
        overflow: Some(overflow),
        extra_per_pod: None,
        url_env: None,
        application_name: None,
    }
}

#[test]
fn the_seeds_example_two_to_five_replicas_moves_the_need_from_45_to_90() {
    let r = rules(vec![declared_db("pg", 200, 0, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let two = databases(&r, &[user("sw", "statewave", 2, "pg")]);
    assert_eq!(two[0].services[0].per_replica(), 15);
    assert_eq!(two[0].required(), 45);
    let key = two[0].services[0].key.clone();
    assert_eq!(two[0].if_scaled(&key, 5).required(), 90);
    assert_eq!(two[0].required(), 45, "a preview leaves the budget it was made from alone");
}

#[test]
fn percent_is_of_usable_connections_and_states_follow_the_thresholds() {
    let r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let budget = |replicas| databases(&r, &[user("sw", "statewave", replicas, "pg")]).remove(0);
    let four = budget(4);
    assert_eq!((four.required(), four.usable()), (75, 97));
    assert_eq!(four.percent(), 77.3);
    assert_eq!(four.state(), BudgetState::Warn);
    assert!(four.advice(BudgetState::Warn).unwrap().contains("transaction-mode pooler"));
    assert_eq!(budget(3).percent(), 61.9);
    assert_eq!(budget(3).state(), BudgetState::Ok);
    assert_eq!(budget(3).advice(BudgetState::Ok), None);
    // 6 x 15 + 15 = 105 of 97
    assert_eq!(budget(6).state(), BudgetState::Over);
    let mut warn_at_60 = r.clone();
    warn_at_60.databases[0].warn_percent = Some(60);
    assert_eq!(databases(&warn_at_60, &[user("sw", "statewave", 3, "pg")])[0].state(), BudgetState::Warn);
}

#[test]
fn exactly_at_the_threshold_and_at_100_percent() {
    // 7 x 10 + 0 = 70 of 100
    let r = rules(vec![declared_db("pg", 100, 0, 0)], vec![bind("pg", "a", "api", 10, 0)]);
    assert_eq!(databases(&r, &[user("a", "api", 7, "pg")])[0].state(), BudgetState::Warn);
    assert_eq!(databases(&r, &[user("a", "api", 10, "pg")])[0].state(), BudgetState::Over);
    assert_eq!(databases(&r, &[user("a", "api", 6, "pg")])[0].state(), BudgetState::Ok);
}

#[test]
fn hpa_max_is_the_worst_case() {
    let r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let b = databases(&r, &[with_hpa_max(user("sw", "statewave", 4, "pg"), 5)]).remove(0);
    assert_eq!((b.required(), b.required_at_hpa_max()), (75, 90));
    assert_eq!(b.percent_at_hpa_max(), 92.8);
    assert_eq!(b.state_at_hpa_max(), BudgetState::Warn);
    // An HPA whose max is below the current replicas does not lower the worst case.
    let b = databases(&r, &[with_hpa_max(user("sw", "statewave", 4, "pg"), 2)]).remove(0);
    assert_eq!(b.required_at_hpa_max(), 75);
}

#[test]
fn the_formula_shows_the_numbers() {
    let r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let b = databases(&r, &[with_hpa_max(user("sw", "statewave", 4, "pg"), 5)]).remove(0);
    assert_eq!(
        b.formula(false),
        "statewave 4 x (10 + 5) + headroom 15 = 75 of 97 usable (100 max - 3 reserved) = 77 %"
    );
    assert_eq!(b.formula(true), "statewave 5 x (10 + 5) + headroom 15 = 90 of 97 usable (100 max - 3 reserved) = 93 %");
}

#[test]
fn every_number_says_where_it_came_from() {
    // Profile beats annotation beats env beats default, number by number.
    let mut svc = user("sw", "statewave", 2, "pg");
    svc.env = vec![env("STATEWAVE_DATABASE_POOL_SIZE", "10"), env("STATEWAVE_DATABASE_POOL_MAX_OVERFLOW", "5")];
    let from_env = databases(&BudgetRules::default(), std::slice::from_ref(&svc)).remove(0);
    let used = &from_env.services[0];
    assert_eq!(used.pool, Sourced { value: 10, source: Source::Env("STATEWAVE_DATABASE_POOL_SIZE".into()) });
    assert_eq!(used.overflow, Sourced { value: 5, source: Source::Env("STATEWAVE_DATABASE_POOL_MAX_OVERFLOW".into()) });
    assert_eq!(used.source(), "env");
    // No server, profile or measurement says the limit: unknown, not a made-up 100.
    assert_eq!(from_env.max_connections, Sourced { value: 0, source: Source::Unknown });
    assert_eq!(from_env.state(), BudgetState::Unknown);
    assert_eq!(from_env.reserved.source, Source::Default);
    assert_eq!(from_env.headroom, Sourced { value: 15, source: Source::Default });

    svc.database.pool_annotation = Some("20+0".into());
    let annotated = databases(&BudgetRules::default(), std::slice::from_ref(&svc)).remove(0);
    assert_eq!(annotated.services[0].pool, Sourced { value: 20, source: Source::Annotation(DB_POOL_ANNOTATION) });
    assert_eq!(annotated.services[0].overflow.value, 0);

    let mut binding = bind("pg", "sw", "statewave", 7, 0);
    binding.overflow = None;
    let profiled = databases(&rules(vec![], vec![binding]), std::slice::from_ref(&svc)).remove(0);
    assert_eq!(profiled.services[0].pool, Sourced { value: 7, source: Source::Profile });
    assert_eq!(profiled.services[0].overflow.source, Source::Annotation(DB_POOL_ANNOTATION), "the profile left it out");
    assert_eq!(profiled.services[0].source(), "profile+annotation cockpit.dev/db-pool");

    svc.database.pool_annotation = None;
    svc.env.clear();
    let defaulted = databases(&BudgetRules::default(), &[svc]).remove(0);
    assert_eq!(defaulted.services[0].per_replica(), 15);
    assert_eq!(defaulted.services[0].source(), "default");
}

#[test]
fn the_servers_max_connections_comes_from_its_workload() {
    let mut server = Service::example("sw", "statewave-pg", 1);
    server.database.serves = Some(Sourced { value: 200, source: Source::Annotation(MAX_CONNECTIONS_ANNOTATION) });
    let b = databases(&BudgetRules::default(), &[user("sw", "api", 1, "statewave-pg"), server.clone()]);
    assert_eq!(b.len(), 1, "the server itself uses no budget");
    assert_eq!(b[0].max_connections, Sourced { value: 200, source: Source::Annotation(MAX_CONNECTIONS_ANNOTATION) });
    // A server of the same name in another namespace is another database.
    let b = databases(&BudgetRules::default(), &[user("other", "api", 1, "statewave-pg"), server]);
    assert_eq!(b[0].max_connections.source, Source::Unknown);
}

#[test]
fn hints_read_annotations_and_server_args() {
    let spec: PodSpec = serde_json::from_value(serde_json::json!({
        "containers": [{"name": "postgres", "args": ["-c", "max_connections=250", "-c", "shared_buffers=1GB"]}]
    }))
    .unwrap();
    let none = BTreeMap::new();
    let hints = database_hints(&none, &none, &none, Some(&spec));
    assert_eq!(hints.serves, Some(Sourced { value: 250, source: Source::Args }));
    let workload: BTreeMap<String, String> =
        [(MAX_CONNECTIONS_ANNOTATION.to_string(), "100".to_string()), (DB_ANNOTATION.into(), "outer".into())].into();
    let template: BTreeMap<String, String> =
        [(DB_ANNOTATION.to_string(), "inner".to_string()), (DB_POOL_ANNOTATION.into(), "10+5".into())].into();
    let hints = database_hints(&workload, &template, &none, Some(&spec));
    assert_eq!(hints.serves.map(|s| s.value), Some(100), "the annotation wins over the arguments");
    assert_eq!(hints.uses.as_deref(), Some("inner"), "the pod template's annotation wins");
    assert_eq!(hints.pool_annotation.as_deref(), Some("10+5"));
}

#[test]
fn pool_env_names() {
    let found = pool_env(&[
        env("DB_POOL", "8"),
        env("SQLALCHEMY_MAX_OVERFLOW", "4"),
        env("THREAD_POOL_SIZE_HINT", "99"),
        env("HTTP_POOL", "50"),
        env("DATABASE_POOL_SIZE", "not a number"),
    ]);
    assert_eq!(found.pool, Some((8, "DB_POOL".into())));
    assert_eq!(found.overflow, Some((4, "SQLALCHEMY_MAX_OVERFLOW".into())));
    assert_eq!(pool_env(&[env("HTTP_POOL", "50")]), PoolEnv::default(), "not a database pool");
    let secret = EnvVar {
        container: "app".into(),
        name: "DB_POOL_SIZE".into(),
        value: EnvValue::FromSecret { secret: "s".into(), key: "k".into() },
    };
    assert_eq!(pool_env(&[secret]), PoolEnv::default(), "secrets are never read");
}

#[test]
fn pool_annotation_and_server_args_parse() {
    assert_eq!(parse_pool_annotation("10+5"), Some((10, 5)));
    assert_eq!(parse_pool_annotation(" 12 "), Some((12, 0)));
    assert_eq!(parse_pool_annotation("ten"), None);
    assert_eq!(max_connections_from_args(["-c", "max_connections=300"]), Some(300));
    assert_eq!(max_connections_from_args(["--max-connections=40"]), Some(40));
    assert_eq!(max_connections_from_args(["postgres", "-c", "shared_buffers=1GB"]), None);
}

#[test]
fn bindings_by_selector_and_namespace() {
    let mut api = user("shop", "api", 2, "ignored");
    api.database.labels = [("tier".to_string(), "backend".to_string())].into();
    let web = user("shop", "web", 2, "web-db");
    let binding = BindingDecl {
        database: "shop-pg".into(),
        services: ServiceMatch::Selector {
            namespace: Some("shop".into()),
            requirements: parse_selector("tier=backend").unwrap(),
        },
        pool: Some(4),
        overflow: Some(0),
        extra_per_pod: Some(2),
        url_env: Some("SHOP_PG_URL".into()),
        application_name: None,
    };
    let b = databases(&rules(vec![], vec![binding]), &[api, web]);
    let shop = b.iter().find(|d| d.name == "shop-pg").unwrap();
    assert_eq!(shop.services.len(), 1);
    assert_eq!(shop.services[0].per_replica(), 6, "pool 4 + extra 2 per pod");
    assert!(b.iter().any(|d| d.name == "web-db"), "the annotation still counts for the rest");
    assert_eq!(shop.url_env.as_deref(), Some("SHOP_PG_URL"), "a binding's url_env serves its database");
}

#[test]
fn declared_databases_show_even_without_users() {
    let b = databases(&rules(vec![declared_db("spare", 50, 3, 5)], vec![]), &[] as &[Service]);
    assert_eq!((b.len(), b[0].required(), b[0].state()), (1, 5, BudgetState::Ok));
}

#[test]
fn zero_usable_connections_is_over_not_a_panic() {
    let b = databases(&rules(vec![declared_db("pg", 3, 3, 0)], vec![]), &[user("a", "api", 1, "pg")]).remove(0);
    assert!(b.percent().is_infinite());
    assert_eq!(b.state(), BudgetState::Over);
    assert_eq!(format_percent(b.percent()), "∞ %");
}

#[test]
fn measured_connections_are_attributed_by_name_and_address() {
    let mut api = user("sw", "statewave", 2, "pg");
    api.pods = vec![pod("statewave-abc", "10.0.0.5"), pod("statewave-def", "10.0.0.6")];
    let worker = user("sw", "worker", 1, "pg");
    let services = vec![api, worker];
    let budget = databases(&BudgetRules::default(), &services).remove(0);
    let clients = [
        ClientConnections {
            user: "app".into(),
            application_name: "statewave".into(),
            client_addr: Some("10.9.9.9".into()),
            count: 3,
        },
        ClientConnections {
            user: "app".into(),
            application_name: String::new(),
            client_addr: Some("10.0.0.6".into()),
            count: 2,
        },
        ClientConnections { user: "app".into(), application_name: "worker".into(), client_addr: None, count: 1 },
        ClientConnections {
            user: "app".into(),
            application_name: "psql".into(),
            client_addr: Some("10.1.1.1".into()),
            count: 1,
        },
    ];
    let by = attribute(&clients, &budget, &services);
    assert_eq!(by, [("other".to_string(), 1), ("statewave".into(), 5), ("worker".into(), 1)].into());
}

#[test]
fn attach_gives_each_user_its_line() {
    let r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let mut services = vec![with_hpa_max(user("sw", "statewave", 4, "pg"), 5), Service::example("sw", "other", 1)];
    let budgets = databases(&r, &services);
    attach(&mut services, &budgets);
    let line = services[0].budget.clone().unwrap();
    assert_eq!(
        (line.database.as_str(), line.per_replica, line.current, line.at_hpa_max, line.max_connections, line.percent),
        ("pg", 15, 60, 75, Some(100), Some(77.3))
    );
    assert_eq!(line.state, BudgetState::Warn);
    assert_eq!(services[1].budget, None);
}

fn pod(name: &str, ip: &str) -> PodRow {
    PodRow {
        name: name.into(),
        phase: "Running".into(),
        ready: true,
        containers_ready: (1, 1),
        restarts: 0,
        reason: None,
        node: None,
        created: None,
        flaps: 0,
        updated: true,
        ip: Some(ip.into()),
        containers: vec!["app".into()],
    }
}

#[test]
fn pods_that_talk_to_pgbouncer_mean_a_pooler_in_front() {
    let mut api = user("a", "api", 8, "pg");
    api.env = vec![env("PGBOUNCER_HOST", "pgbouncer.db")];
    let b = databases(&BudgetRules::default(), std::slice::from_ref(&api)).remove(0);
    assert!(b.pooler);
    assert!(b.advice(BudgetState::Warn).unwrap().contains("pooler's"), "different advice behind a pooler");
    let declared = rules(vec![DatabaseDecl { pooler: Some(false), ..declared_db("pg", 100, 3, 15) }], vec![]);
    assert!(!databases(&declared, &[api])[0].pooler, "the profile's word wins");
}

#[test]
fn a_bindings_application_name_pattern_claims_connections_nothing_else_would() {
    let mut r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "worker", 5, 0)]);
    r.bindings[0].application_name = Some("celery-*@*".into());
    let services = vec![user("sw", "worker", 1, "pg")];
    let budget = databases(&r, &services).remove(0);
    let reading = ServerReading {
        max_connections: 100,
        reserved: 3,
        connections: 4,
        clients: vec![
            ClientConnections {
                user: "app".into(),
                application_name: "celery-beat@host1".into(),
                client_addr: None,
                count: 3,
            },
            ClientConnections {
                user: "ops".into(),
                application_name: "psql".into(),
                client_addr: Some("10.1.1.1".into()),
                count: 1,
            },
        ],
    };
    let Measured::Connections { by_service, unmatched, .. } = reading.measured(&budget, &services) else { panic!() };
    assert_eq!(by_service, [("other".to_string(), 1), ("worker".into(), 3)].into());
    assert_eq!(unmatched.len(), 1);
    assert_eq!((unmatched[0].application_name.as_str(), unmatched[0].user.as_str()), ("psql", "ops"));
    for (pattern, name, matches) in [
        ("celery-*", "celery-beat", true),
        ("celery-*", "celery", false),
        ("*", "", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxc", false),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        ("*-worker", "billing-worker", true),
        ("ab*ba", "aba", false),
    ] {
        assert_eq!(matches_pattern(pattern, name), matches, "{pattern} ~ {name}");
    }
}

#[test]
fn a_measurement_replaces_the_declared_limits_and_says_where_they_differ() {
    let r = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "sw", "statewave", 10, 5)]);
    let services = vec![user("sw", "statewave", 2, "pg")];
    let budget = databases(&r, &services).remove(0);
    assert_eq!(budget.state(), BudgetState::Ok, "45 of 97 declared");
    let reading = ServerReading {
        max_connections: 60,
        reserved: 3,
        connections: 40,
        clients: vec![ClientConnections {
            user: "app".into(),
            application_name: "statewave".into(),
            client_addr: None,
            count: 40,
        }],
    };
    let measured = budget.clone().with_measured(reading.measured(&budget, &services));
    assert_eq!((measured.max_connections.value, &measured.max_connections.source), (60, &Source::Measured));
    assert_eq!(measured.usable(), 57);
    assert_eq!(measured.state(), BudgetState::Warn, "45 of 57 is past 70 %");
    let findings = measured.measured_findings();
    assert_eq!(findings[0], "profile says max_connections 100, the server says 60: update the profile");
    assert!(findings[1].starts_with("sw/statewave holds 40 connections, more than its 2 × 15 = 30"), "{findings:?}");
    assert_eq!(findings.len(), 2, "reserved agrees: {findings:?}");
    let again = measured.clone().with_measured(reading.measured(&budget, &services));
    assert_eq!(again.declared, measured.declared, "measuring twice keeps what the profile said");
}

#[test]
fn a_pool_of_two_to_the_31_is_over_budget_never_zero_percent() {
    // u32 arithmetic wrapped 2^31 + 2^31 round to 0 (and panicked in debug builds).
    let mut s = user("shop", "api", 1, "pg");
    s.database.pool_annotation = Some("2147483648+2147483648".into());
    let b = databases(&rules(vec![declared_db("pg", 100, 3, 15)], vec![]), &[s]);
    assert_eq!(b[0].services[0].per_replica(), 1 << 32);
    assert_eq!(b[0].state(), BudgetState::Over);
    assert!(b[0].percent() > 100.0);
    assert_eq!(format_percent(b[0].percent()), "> 9999 %", "a huge share is said compactly");
}

#[test]
fn a_million_replicas_and_an_hpa_max_of_2_to_the_31_are_over_budget_without_wrapping() {
    let r = rules(vec![declared_db("pg", 100, 3, u32::MAX)], vec![bind("pg", "shop", "api", u32::MAX, u32::MAX)]);
    let s = with_hpa_max(user("shop", "api", 1_000_000, "pg"), i32::MAX);
    let b = &databases(&r, &[s])[0];
    // Computed wide, as u128, to compare with what u32 arithmetic wrapped to.
    let per_replica = 2 * u128::from(u32::MAX);
    let want = |replicas: u128| u64::try_from(replicas * per_replica + u128::from(u32::MAX)).unwrap();
    assert_eq!(b.required(), want(1_000_000));
    assert_eq!(b.required_at_hpa_max(), want(i32::MAX as u128));
    assert_eq!((b.state(), b.state_at_hpa_max()), (BudgetState::Over, BudgetState::Over));
    let big = rules(vec![declared_db("pg", 100, 3, 15)], vec![bind("pg", "shop", "api", 10, 5)]);
    let b = &databases(&big, &[user("shop", "api", 1_000_000, "pg")])[0];
    assert_eq!(b.required(), 15_000_015);
    assert_eq!(b.state(), BudgetState::Over);
}

#[test]
fn counts_past_u32_read_as_huge_not_as_missing() {
    assert_eq!(parse_pool_annotation("99999999999+5"), Some((u32::MAX, 5)));
    assert_eq!(parse_pool_annotation("1e3"), None);
    assert_eq!(parse_pool_annotation("-1"), None);
    assert_eq!(parse_count(" 300 "), Some(300));
    assert_eq!(parse_count(""), None);
    assert_eq!(max_connections_from_args(["--max_connections=99999999999999999999"]), Some(u32::MAX));
    let mut s = user("shop", "api", 2, "pg");
    s.env = vec![env("DB_POOL_SIZE", "99999999999")];
    let b = databases(&rules(vec![declared_db("pg", 100, 3, 15)], vec![]), &[s]);
    assert_eq!(b[0].state(), BudgetState::Over, "an env pool past u32 is not silently the default 5");
}

#[test]
fn what_moves_a_budget_is_an_input_and_a_status_change_is_not() {
    let base = with_hpa_max(user("shop", "api", 2, "pg"), 4);
    let rules = rules(
        vec![declared_db("pg", 100, 3, 10)],
        vec![BindingDecl {
            database: "pg".into(),
            services: ServiceMatch::Selector { namespace: None, requirements: parse_selector("tier=web").unwrap() },
            pool: Some(7),
            overflow: Some(1),
            extra_per_pod: None,
            url_env: None,
            application_name: None,
        }],
    );
    let budgets = |s: &Service| databases(&rules, std::slice::from_ref(s));
    let inputs: Vec<(&str, Service)> = vec![
        ("desired replicas", Service { replicas: Replicas { desired: 5, ..base.replicas }, ..base.clone() }),
        ("HPA ceiling", with_hpa_max(base.clone(), 9)),
        ("pool env", Service { env: vec![env("DB_POOL", "20")], ..base.clone() }),
        ("pool annotation", {
            let mut s = base.clone();
            s.database.pool_annotation = Some("10+5".into());
            s
        }),
        ("labels a binding selects", {
            let mut s = base.clone();
            s.database.labels.insert("tier".into(), "web".into());
            s
        }),
    ];
    for (what, changed) in &inputs {
        assert_ne!(budgets(changed), budgets(&base), "{what} moves the budget");
        assert!(!same_inputs(&base, changed), "{what} is an input");
    }
    let statuses: Vec<(&str, Service)> = vec![
        ("ready replicas", Service { replicas: Replicas { ready: 1, ..base.replicas }, ..base.clone() }),
        ("HPA's current replicas", {
            let mut s = base.clone();
            s.hpa.as_mut().unwrap().current = 3;
            s
        }),
        ("pods", Service { pods: vec![pod("api-1", "10.0.0.1")], ..base.clone() }),
    ];
    for (what, changed) in &statuses {
        assert_eq!(budgets(changed), budgets(&base), "{what} moves no budget");
        assert!(same_inputs(&base, changed), "{what} is not an input");
    }
}
