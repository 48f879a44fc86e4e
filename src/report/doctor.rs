//! `doctor`: one screen of checks answering "why does the cockpit show nothing here?",
//! each ok / warn / fail with the fix. Printed as a table for people, JSON for scripts.

use serde_json::{Value, json};

use crate::model::sanitize::clean;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    /// Works, with less than the cockpit can do (a feature off, a guess instead of a fact).
    Warn,
    /// Something the operator must fix before the cockpit is useful.
    Fail,
    /// Not checked because an earlier check failed (no cluster to ask).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

/// One line of the doctor's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked, short: `kubeconfig`, `rbac list deployments`.
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it, when not ok.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check { name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }

    pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name: name.into(), status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Self {
        Check { name: name.into(), status: Status::Skipped, detail: why.into(), fix: None }
    }
}

/// Whether every check passed or only warned (exit 0), or something fails (exit 1).
pub fn healthy(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == Status::Fail)
}

/// `STATUS  CHECK  DETAIL`, the fix under each line that is not ok, and a summary.
pub fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!("{:<7} {:<width$}  {}\n", c.status.as_str(), clean(&c.name), clean(&c.detail)));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("{:<7} {:<width$}  fix: {}\n", "", "", clean(fix)));
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "doctor: {} ok, {} warnings, {} failed, {} skipped\n",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skipped)
    ));
    out
}

/// `{"ok": bool, "context": …, "checks": [{name, status, detail, fix}]}`.
pub fn json(context: Option<&str>, checks: &[Check]) -> Value {
    json!({
        "ok": healthy(checks),
        "context": context,
        "checks": checks.iter().map(|c| json!({
            "name": c.name,
            "status": c.status.as_str(),
            "detail": c.detail,
            "fix": c.fix,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_pass_failures_fail_and_every_fix_is_printed() {
        let checks = vec![
            Check::ok("server", "v1.31.0"),
            Check::warn("helm", "not on PATH", "install helm for rollbacks"),
            Check::skipped("rbac", "no server"),
        ];
        assert!(healthy(&checks));
        let text = table(&checks);
        assert!(text.contains("warn    helm    not on PATH\n") && text.contains("fix: install helm"), "{text}");
        assert!(text.ends_with("doctor: 1 ok, 1 warnings, 0 failed, 1 skipped\n"), "{text}");
        let mut failing = checks;
        failing.push(Check::fail("kubeconfig", "none found", "pass --kubeconfig"));
        assert!(!healthy(&failing));
        let out = json(Some("prod"), &failing);
        assert_eq!(out["ok"], false);
        assert_eq!(out["checks"][3]["status"], "fail");
        assert_eq!(out["checks"][0]["fix"], Value::Null);
    }
}
