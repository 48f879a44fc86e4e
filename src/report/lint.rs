//! `lint`: the preflight findings of every service in scope, for people (grouped by check,
//! with the reason and the fix) and for scripts (`-o json`, one object per finding). Every
//! finding comes from the model ([`Service::lint_findings`]); nothing is judged here.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::lint::check;
use crate::model::service::{Finding, Service, Severity};
use crate::model::services::NamespaceFinding;

/// One finding and where it is.
#[derive(Clone, Debug)]
pub struct Located<'a> {
    pub namespace: &'a str,
    /// `deploy/api`; `None` for a namespace finding (a PDB that selects nothing).
    pub workload: Option<String>,
    pub finding: &'a Finding,
}

/// Every preflight finding in scope, ordered by namespace, workload and check.
pub fn collect<'a, S: std::borrow::Borrow<Service>>(
    services: &'a [S],
    namespace_findings: &'a [NamespaceFinding],
) -> Vec<Located<'a>> {
    let mut all: Vec<Located> = services
        .iter()
        .map(std::borrow::Borrow::borrow)
        .flat_map(|s| {
            let workload = format!("{}/{}", s.key.kind.short(), s.key.name);
            s.lint_findings().into_iter().map(move |finding| Located {
                namespace: &s.key.namespace,
                workload: Some(workload.clone()),
                finding,
            })
        })
        .chain(namespace_findings.iter().map(|nf| Located {
            namespace: &nf.namespace,
            workload: None,
            finding: &nf.finding,
        }))
        .collect();
    all.sort_by(|a, b| (a.namespace, &a.workload, a.finding.id).cmp(&(b.namespace, &b.workload, b.finding.id)));
    all
}

pub fn has_errors(found: &[Located<'_>]) -> bool {
    found.iter().any(|l| l.finding.severity == Severity::Error)
}

/// One check and every place it was found, for the table and the findings screen.
pub struct Group<'l, 'a> {
    pub id: &'static str,
    pub severity: Severity,
    pub places: Vec<&'l Located<'a>>,
}

/// Findings grouped by check (and severity, since a profile may re-rate some places),
/// worst first.
pub fn by_check<'l, 'a>(found: &'l [Located<'a>]) -> Vec<Group<'l, 'a>> {
    let mut groups: BTreeMap<(std::cmp::Reverse<Severity>, &'static str), Vec<&'l Located<'a>>> = BTreeMap::new();
    for l in found {
        groups.entry((std::cmp::Reverse(l.finding.severity), l.finding.id)).or_default().push(l);
    }
    groups.into_iter().map(|((severity, id), places)| Group { id, severity: severity.0, places }).collect()
}

impl Located<'_> {
    /// `honeydue/deploy/api`, or the namespace alone for a namespace finding.
    pub fn place(&self) -> String {
        match &self.workload {
            Some(w) => format!("{}/{w}", self.namespace),
            None => self.namespace.to_string(),
        }
    }
}

/// Grouped by check, worst checks first: the reason and the fix once, then each place.
pub fn table(found: &[Located<'_>]) -> String {
    let mut out = String::new();
    for group in by_check(found) {
        out.push_str(&format!("{} [{}] {} finding(s)\n", group.id, severity_name(group.severity), group.places.len()));
        if let Some(c) = check(group.id) {
            out.push_str(&format!("  why: {}\n  fix: {}\n", c.reason, c.fix));
        }
        for l in &group.places {
            out.push_str(&format!("  {}: {}\n", l.place(), l.finding.message));
        }
    }
    let count = |s: Severity| found.iter().filter(|l| l.finding.severity == s).count();
    out.push_str(&format!(
        "lint: {} errors, {} warnings, {} info\n",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    out
}

pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// `{"findings": [{namespace, workload, id, severity, message, reason, fix}], "summary": {...}}`.
pub fn json(found: &[Located<'_>]) -> Value {
    let findings: Vec<Value> = found
        .iter()
        .map(|l| {
            let c = check(l.finding.id);
            json!({
                "namespace": l.namespace,
                "workload": l.workload,
                "id": l.finding.id,
                "severity": l.finding.severity,
                "message": l.finding.message,
                "reason": c.map(|c| c.reason),
                "fix": c.map(|c| c.fix),
            })
        })
        .collect();
    let count = |s: Severity| found.iter().filter(|l| l.finding.severity == s).count();
    json!({
        "findings": findings,
        "summary": {"error": count(Severity::Error), "warning": count(Severity::Warning), "info": count(Severity::Info)},
    })
}
