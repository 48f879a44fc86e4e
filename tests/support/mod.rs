//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod postgres;
pub mod pty;
pub mod rig;

use cockpit::sim::spec::{RuleSpec, UserSpec};

/// A simulator user who may read everything and change nothing.
pub fn viewer() -> UserSpec {
    UserSpec {
        name: "viewer".into(),
        token: "viewer-token".into(),
        groups: vec![],
        rules: vec![RuleSpec {
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            resources: vec!["*".into()],
            namespaces: vec![],
        }],
    }
}

/// A profile whose reconnect rule fails at three matches of the demo's SLO burst, so a
/// test need not wait out the demo's sustained minutes. Written into `dir`.
pub fn quick_slo_profile(dir: &std::path::Path) -> std::path::PathBuf {
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[[slo]]\nname = \"listen-together-reconnect\"\nservice = \"soundspan-backend\"\n\
         pattern = 'ListenTogether/SLO.*Reconnect latency (?P<ms>\\d+)ms exceeded target'\n\
         capture = { group = \"ms\", above = 5000 }\nthreshold = 3\n",
    )
    .unwrap();
    profile
}
