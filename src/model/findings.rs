//! What deserves the operator's attention about a service, as findings with stable ids
//! (scripts match on them) and severities (the overview sorts by them):
//!
//! | id | severity |
//! |---|---|
//! | `rollout-stalled` | error |
//! | `crashloop` | error |
//! | `pods-not-ready` | error when none is ready, else warning |
//! | `pdb-overlap` | error (the eviction API refuses pods with two budgets) |
//! | `pods-flapping`, `probe-failures`, `pdb-allows-no-disruption` | warning |
//! | `pdb-blocks-disruptions`, `no-pdb` | warning (design advice: preflight) |
//! | `rwo-volume`, `singleton`, `gitops-managed` | info |
//! | `pdb-selects-nothing` | warning, per namespace (see [`pdb_selects_nothing`]) |
//!
//! The ids that are also preflight checks (`no-pdb`, `pdb-blocks-disruptions`,
//! `pdb-overlap`) are design advice: they show under CHECKS, never in the problem count
//! (`Service::live_findings`). Findings that depend on a kind the user may not list are not raised at all: "no
//! access" must never read as "none". The checks of the manifests themselves (probes,
//! resources, security, images) are in [`super::lint`].

use jiff::{SignedDuration, Timestamp};

use super::pdb::{blocks_every_disruption, headroom_if_scaled};
use super::service::{FLAPPING_TRANSITIONS, FLAPPING_WINDOW_S, Finding, RolloutState, Service, Severity, worst_first};
use super::visibility::Visibility;

/// What the findings need beyond the [`Service`] itself.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// Names of every PDB that selects the service's pods.
    pub matching_pdbs: &'a [String],
    /// Where the GitOps controller takes the workload from, in words.
    pub gitops_detail: Option<&'a str>,
    pub visibility: Visibility,
    pub now: Timestamp,
    /// `pod/<name>` and when it last became Ready, for pods that are Ready now: probe
    /// failures before that were a start-up that has since succeeded.
    pub ready_since: &'a [(String, Timestamp)],
}

/// Every finding of a service, worst first.
pub fn service_findings(s: &Service, facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    rollout(s, &mut out);
    if facts.visibility.pods {
        crashloop(s, &mut out);
        flapping(s, &mut out);
    }
    not_ready(s, &mut out);
    if facts.visibility.events {
        probe_failures(s, facts, &mut out);
    }
    if facts.visibility.pdbs {
        budgets(s, facts.matching_pdbs, &mut out);
        no_disruption_now(s, &mut out);
    }
    flags(s, facts, &mut out);
    no_access(facts.visibility, &mut out);
    out.sort_by_key(worst_first);
    out
}

/// What the cockpit may not read of a service is wrong now too: whether it is safe to
/// change cannot be judged on what cannot be seen.
fn no_access(visibility: Visibility, out: &mut Vec<Finding>) {
    let mut unknown = Vec::new();
    if !visibility.pods {
        unknown.push("pods (readiness, restarts, crash loops)");
    }
    if !visibility.pdbs {
        unknown.push("PodDisruptionBudgets (disruption headroom)");
    }
    if !unknown.is_empty() {
        let message = format!("no access to {}: unknown, not healthy", unknown.join(" or "));
        out.push(finding(NO_ACCESS, Severity::Warning, message));
    }
}

/// The finding of a service whose state the user may not read.
pub const NO_ACCESS: &str = "no-access";

fn finding(id: &'static str, severity: Severity, message: String) -> Finding {
    Finding { id, severity, message }
}

fn rollout(s: &Service, out: &mut Vec<Finding>) {
    if s.rollout.state == RolloutState::Stalled {
        out.push(finding("rollout-stalled", Severity::Error, s.rollout.message.clone()));
    }
}

fn crashloop(s: &Service, out: &mut Vec<Finding>) {
    let looping: Vec<_> = s.pods.iter().filter(|p| p.reason.as_deref() == Some("CrashLoopBackOff")).collect();
    if let Some(first) = looping.first() {
        let message =
            format!("{} pod(s) in CrashLoopBackOff ({}: {} restarts)", looping.len(), first.name, first.restarts);
        out.push(finding("crashloop", Severity::Error, message));
    }
}

fn flapping(s: &Service, out: &mut Vec<Finding>) {
    let flapping: Vec<_> = s.pods.iter().filter(|p| p.flaps >= FLAPPING_TRANSITIONS).collect();
    if let Some(worst) = flapping.iter().max_by_key(|p| p.flaps) {
        let message = format!(
            "{} pod(s) changed readiness {FLAPPING_TRANSITIONS}+ times in {} min ({}: {} transitions)",
            flapping.len(),
            FLAPPING_WINDOW_S / 60,
            worst.name,
            worst.flaps
        );
        out.push(finding("pods-flapping", Severity::Warning, message));
    }
}

fn not_ready(s: &Service, out: &mut Vec<Finding>) {
    let r = s.replicas;
    if r.desired > 0 && r.ready < r.desired {
        let severity = if r.ready == 0 { Severity::Error } else { Severity::Warning };
        out.push(finding("pods-not-ready", severity, format!("{} of {} pods ready", r.ready, r.desired)));
    }
}

fn probe_failures(s: &Service, facts: &Facts<'_>, out: &mut Vec<Finding>) {
    let since = facts.now - SignedDuration::from_secs(FLAPPING_WINDOW_S);
    let recovered =
        |object: &str, at: Timestamp| facts.ready_since.iter().any(|(o, ready)| o == object && *ready >= at);
    let recent: Vec<_> = s
        .events
        .iter()
        .filter(|e| e.warning && e.reason == "Unhealthy")
        .filter(|e| e.last_seen.is_some_and(|t| t >= since && !recovered(&e.object, t)))
        .collect();
    // Events are newest first, so the first is the last message.
    if let Some(last) = recent.first() {
        let count: i32 = recent.iter().map(|e| e.count.max(1)).fold(0, i32::saturating_add);
        let message = format!(
            "{count} probe failure(s) in the last {} min; last on {}: {}",
            FLAPPING_WINDOW_S / 60,
            last.object,
            last.message
        );
        out.push(finding("probe-failures", Severity::Warning, message));
    }
}

fn budgets(s: &Service, matching: &[String], out: &mut Vec<Finding>) {
    if matching.len() > 1 {
        let message = format!(
            "pods are selected by {} PDBs ({}): the eviction API refuses to evict them, drains will fail",
            matching.len(),
            matching.join(", ")
        );
        out.push(finding("pdb-overlap", Severity::Error, message));
    }
    // Judged by the spec with every pod healthy: a budget at zero only because pods are
    // failing now is the rollout's problem, not the budget's.
    let healthy = s.pdb.as_ref().map(|pdb| headroom_if_scaled(pdb, s.replicas.desired));
    match &healthy {
        Some(pdb) if blocks_every_disruption(pdb) => {
            let message = format!("PDB {}: {}; node drains will wait forever", pdb.name, pdb.explanation);
            out.push(finding("pdb-blocks-disruptions", Severity::Warning, message));
        }
        None if s.replicas.desired > 1 => {
            let message = format!(
                "{} replicas and no PodDisruptionBudget: a node drain may take them down at once",
                s.replicas.desired
            );
            out.push(finding("no-pdb", Severity::Warning, message));
        }
        _ => {}
    }
}

/// A drain started now would wait: the PDB's status allows no eviction at this moment
/// (whether by its spec or because pods are down). What the spec allows with every pod
/// healthy is the preflight check `pdb-blocks-disruptions`.
fn no_disruption_now(s: &Service, out: &mut Vec<Finding>) {
    let Some(pdb) = &s.pdb else { return };
    if s.replicas.desired > 0 && pdb.disruptions_allowed == 0 {
        let message = format!("PDB {} allows no disruption now: a node drain would wait", pdb.name);
        out.push(finding("pdb-allows-no-disruption", Severity::Warning, message));
    }
}

fn flags(s: &Service, facts: &Facts<'_>, out: &mut Vec<Finding>) {
    if let Some(reason) = &s.flags.singleton {
        let message = format!("singleton ({reason}): never run more than one replica");
        out.push(finding("singleton", Severity::Info, message));
    }
    if let Some(manager) = &s.flags.gitops {
        let source = facts.gitops_detail.unwrap_or(manager);
        let message = format!("managed by {source}: manual changes will be reverted, change it in Git");
        out.push(finding("gitops-managed", Severity::Info, message));
    }
    // Whether a rolling update stalls on it is the preflight check `rwo-rolling-update`.
    if let Some(volume) = &s.flags.rwo_volume {
        let message = format!("mounts {volume}: pods cannot move between nodes while it is attached");
        out.push(finding("rwo-volume", Severity::Info, message));
    }
}

/// A PDB in `namespace` that selects no pod and no workload: it protects nothing,
/// usually a selector typo. Reported per namespace, not per service, since no service
/// owns it (`status` prints these below the table).
pub fn pdb_selects_nothing(pdb_name: &str) -> Finding {
    let message = format!("PDB {pdb_name} selects no pods: it protects nothing (check its selector)");
    finding("pdb-selects-nothing", Severity::Warning, message)
}
