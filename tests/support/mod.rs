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
