//! The overview's SLO column without any log pane open: every service with rules is
//! followed in the background (only the lines its rules count are kept), so its gate shows
//! where the operator looks first; services without rules show no state, not a pass.

mod support;

use std::time::Duration;

use support::pty::{Pty, isolated_env};

#[test]
fn services_with_rules_show_their_gate_in_the_overview_without_a_pane() {
    let dir = tempfile::tempdir().unwrap();
    let profile = support::quick_slo_profile(dir.path());
    let env = isolated_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut pty = Pty::spawn(&["--demo", "--profile", profile.to_str().unwrap()], &env, 160, 50);
    // A row is found by its namespace and name: two columns, or `namespace/name` when the
    // side panel takes the room of the NAMESPACE column.
    let row = |screen: &str, ns: &str, name: &str| {
        let qualified = format!("{ns}/{name}");
        screen
            .lines()
            .find(|l| {
                let mut words = l.split_whitespace();
                let (Some(n), Some(s)) = (words.next(), words.next()) else { return false };
                n == qualified || (n == ns && s == name)
            })
            .map(str::to_string)
    };
    // The demo's burst starts 20 s in; three warnings come 4 s apart.
    pty.wait_within(Duration::from_secs(90), "the burst failing production's gate, staging passing", |s| {
        row(s, "soundspan", "soundspan-backend").is_some_and(|l| l.contains("FAIL"))
            && row(s, "soundspan-staging", "soundspan-backend").is_some_and(|l| l.contains(" pass "))
    });
    let screen = pty.screen_text();
    let frontend = row(&screen, "soundspan", "soundspan-frontend").expect("the frontend row");
    assert!(!frontend.contains(" pass ") && !frontend.contains("FAIL"), "no rules, no verdict: {frontend}");
    assert!(!screen.contains("· following"), "no pane was opened");
    pty.send("q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}
