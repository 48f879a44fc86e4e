use super::*;

fn parse_ok(text: &str) -> Profile {
    let (profile, problems) = parse(text, Path::new("p.toml"));
    assert!(problems.is_empty(), "{problems:?}");
    profile.unwrap()
}

fn problems(text: &str) -> Vec<String> {
    parse(text, Path::new("p.toml")).1.iter().map(ToString::to_string).collect()
}

#[test]
fn the_demo_profile_is_valid() {
    let profile = parse_ok(DEMO_PROFILE);
    assert_eq!(profile.budget.databases.len(), 3);
    assert!(profile.budget.bindings.iter().any(|b| matches!(&b.services, ServiceMatch::Selector { .. })));
    assert_eq!(profile.singletons.len(), 1);
}

#[test]
fn a_profile_names_its_fleet() {
    assert_eq!(parse_ok("fleet = [\"eu\", \"us\"]\n").fleet, ["eu", "us"]);
    assert!(parse_ok("production = true\n").fleet.is_empty());
}

#[test]
fn a_full_profile_parses_into_the_model() {
    let profile = parse_ok(
        r#"
production = true
[[databases]]
name = "pg"
max_connections = 200
reserved = 5
headroom = 20
warn_percent = 60
pooler = true
url_env = "PG_URL"
[[bindings]]
database = "pg"
service = "shop/api"
pool = 10
overflow = 5
extra_per_pod = 3
[[singletons]]
selector = "role=scheduler"
namespace = "shop"
"#,
    );
    assert!(profile.production);
    let db = &profile.budget.databases[0];
    assert_eq!(
        (db.max_connections, db.reserved, db.headroom, db.warn_percent, db.pooler, db.url_env.as_deref()),
        (Some(200), Some(5), Some(20), Some(60), Some(true), Some("PG_URL"))
    );
    let b = &profile.budget.bindings[0];
    assert_eq!(b.services, ServiceMatch::Named { namespace: Some("shop".into()), name: "api".into() });
    assert_eq!((b.pool, b.overflow, b.extra_per_pod), (Some(10), Some(5), Some(3)));
    assert!(
        matches!(&profile.singletons[0].services, ServiceMatch::Selector { namespace: Some(ns), .. } if ns == "shop")
    );
}

#[test]
fn a_misspelt_field_names_file_line_and_field() {
    let found = problems("[[databases]]\nname = \"pg\"\nmax_conections = 100\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("p.toml:3: error: databases[0]"), "{}", found[0]);
    assert!(found[0].contains("max_conections"), "{}", found[0]);
}

#[test]
fn a_wrong_type_names_the_field_and_what_was_expected() {
    let found = problems(
        "[[databases]]\nname = \"pg\"\n\n[[bindings]]\ndatabase = \"pg\"\nservice = \"a/b\"\npool = \"ten\"\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("p.toml:7: error: bindings[0].pool"), "{}", found[0]);
    assert!(found[0].contains("expected a whole number"), "{}", found[0]);
}

#[test]
fn semantic_problems_point_at_their_line() {
    let found = problems(
        r#"[[databases]]
name = "pg"
warn_percent = 120
url_env = "postgres://u:p@h/db"

[[databases]]
name = "pg"

[[bindings]]
database = "pgg"
service = "a/b/c"

[[bindings]]
database = "pg"

[[singletons]]
selector = "=oops"
"#,
    );
    let expect = [
        "p.toml:3: error: databases[0].warn_percent: expected a percentage from 1 to 100",
        "p.toml:4: error: databases[0].url_env: expected the name of an environment variable",
        "p.toml:6: error: databases[1].name: database \"pg\" is declared twice",
        "p.toml:10: warning: bindings[0].database: \"pgg\" is not among [[databases]]",
        "p.toml:11: error: bindings[0].service: expected NAME or NAMESPACE/NAME",
        "p.toml:13: error: bindings[1]: expected service = ",
        "p.toml:17: error: singletons[0].selector: \"\" is not a label key",
    ];
    for want in expect {
        assert!(found.iter().any(|f| f.starts_with(want)), "missing {want:?} in {found:#?}");
    }
    assert!(!found.iter().any(|f| f.contains("u:p@h")), "the URL is not repeated back: {found:#?}");
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn invalid_toml_names_its_line() {
    let found = problems("production = true\n[[databases]\n");
    assert!(
        found[0].starts_with("p.toml:2: error: invalid TOML") || found[0].starts_with("p.toml:2: error:"),
        "{found:?}"
    );
}

#[test]
fn a_profile_with_errors_is_not_used_and_warnings_do_not_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths { config_dir: dir.path().into(), data_dir: dir.path().into() };
    std::fs::create_dir_all(paths.profiles()).unwrap();
    std::fs::write(paths.profile_for_context("prod"), "[[databases]]\nname = \"pg\"\nwarn_percent = 0\n").unwrap();
    std::fs::write(paths.profile_for_context("staging"), "[[bindings]]\ndatabase = \"elsewhere\"\nservice = \"a/b\"\n")
        .unwrap();
    let choice = ProfileChoice::new(None, &paths, false);
    let (bad, problems) = choice.load("prod");
    assert!(bad.file.is_none() && bad.profile.budget.databases.is_empty());
    assert!(problems[0].is_error());
    let (staging, problems) = choice.load("staging");
    assert_eq!(staging.profile.budget.bindings.len(), 1);
    assert!(!problems[0].is_error());
    let (none, problems) = choice.load("dev");
    assert!(none.file.is_none() && problems.is_empty(), "no profile is not a problem");
    let (demo, _) = ProfileChoice::new(None, &paths, true).load("dev");
    assert_eq!(demo.profile.budget.databases.len(), 3, "the demo falls back to its built-in profile");
    let missing = ProfileChoice::new(Some(Path::new("/nonexistent/p.toml")), &paths, true).load("dev");
    assert!(missing.1[0].to_string().contains("cannot read this profile"));
}

#[test]
fn a_wrong_type_in_a_spanned_field_names_the_plain_field() {
    let found = problems("[[databases]]\nname = \"pg\"\nmax_connections = \"lots\"\n");
    assert!(found[0].starts_with("p.toml:3: error: databases[0].max_connections: invalid type"), "{found:?}");
}

#[test]
fn slo_rules_parse_and_their_mistakes_say_where() {
    let demo = parse_ok(DEMO_PROFILE);
    assert_eq!(demo.slo.len(), 2);
    let reconnect = &demo.slo[0];
    assert_eq!((reconnect.window_s, reconnect.startup_grace_s), (900, 60));
    assert!(reconnect.line_counts("[ListenTogether/SLO] Reconnect latency 7210ms exceeded target 5000ms (group=a)"));
    assert!(!reconnect.line_counts("[ListenTogether/SLO] Reconnect latency 812ms within target 5000ms (group=a)"));

    let found = problems(
        r#"[[slo]]
name = "bad-regex"
pattern = "ListenTogether/SLO.*(unclosed"

[[slo]]
name = "two-comparisons"
pattern = 'latency (?P<ms>\d+)ms'
capture = { group = "ms", above = 1, below = 9 }

[[slo]]
name = "bad-window"
pattern = "x"
window = "fifteen minutes"

[[slo]]
name = "missing-group"
pattern = "latency"
capture = { group = "ms", above = 1 }
"#,
    );
    let expect = [
        "p.toml:3: error: slo[0].pattern: invalid log pattern",
        "p.toml:8: error: slo[1].capture: expected exactly one of above, at_least or below",
        "p.toml:13: error: slo[2].window:",
        "p.toml:16: error: slo[3]:",
    ];
    for want in expect {
        assert!(found.iter().any(|f| f.starts_with(want)), "missing {want:?} in {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn every_problem_of_a_profile_is_listed_at_once_with_line_and_field() {
    let text = r#"production = "yes"
[[databases]]
name = "pg"
max_connections = "many"

[[databases]]
max_connections = 10

[[bindings]]
database = "pg"
service = "shop/api"
pool = -1

[[bindings]]
database = "pg"
service = "shop/web"
pol = 3

[[slo]]
name = "deep"
pattern = "x"
capture = { group = "ms", above = "five" }

[[singletons]]
service = "a/b/c"
"#;
    let found = problems(text);
    let want = [
        ("p.toml:1:", "production"),
        ("p.toml:4:", "databases[0].max_connections"),
        ("p.toml:6:", "databases[1]"),
        ("p.toml:12:", "bindings[0].pool"),
        ("p.toml:17:", "bindings[1]"),
        ("p.toml:22:", "slo[0].capture.above"),
        ("p.toml:25:", "singletons[0].service"),
    ];
    for (line, field) in want {
        assert!(
            found.iter().any(|p| p.starts_with(&format!("{line} error: {field}"))),
            "no problem at {line} {field} in {found:#?}"
        );
    }
    assert!(found.iter().any(|p| p.contains("pol")), "{found:#?}");
    assert_eq!(found.len(), want.len(), "one problem each, no follow-ups: {found:#?}");
    assert!(parse(text, Path::new("p.toml")).0.is_none(), "a profile with errors is not used");
}

#[test]
fn hostile_nesting_is_an_error_not_a_crash() {
    let deep = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    let found = problems(&deep);
    assert!(!found.is_empty());
}

#[test]
fn slo_windows_and_startup_grace_past_a_year_are_refused_at_their_line() {
    let window = problems("[[slo]]\nname = \"forever\"\npattern = \"x\"\nwindow = \"99999999999999999999h\"\n");
    assert!(
        window.iter().any(|f| f.starts_with("p.toml:4: error: slo[0].window:") && f.contains("1 year")),
        "{window:#?}"
    );
    let grace = problems("[[slo]]\nname = \"slow\"\npattern = \"x\"\nstartup_grace = \"366d\"\n");
    assert!(
        grace.iter().any(|f| f.starts_with("p.toml:4: error: slo[0].startup_grace:") && f.contains("1 year")),
        "{grace:#?}"
    );
}
