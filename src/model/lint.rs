//! Preflight checks: the deployment guidelines of the seeds as rules over the manifests
//! (not over what the pods are doing right now), so `lint` gives the same answer every time
//! it is asked about the same manifests. Each check has a stable id, a default severity, the
//! reason in a sentence and the fix ([`CHECKS`]); a profile may switch a check off or change
//! its severity per namespace or service ([`LintRule`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::budget::DatabaseBudget;
use super::sanitize::clean;
use super::service::{BudgetState, Finding, Service, Severity, WorkloadKind, worst_first};
use super::service_match::{ServiceMatch, covers};
use super::slo::GateState;

/// What every preflight check is, for `lint`, the findings view and the detail view.
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    /// Why it matters, in one sentence.
    pub reason: &'static str,
    pub fix: &'static str,
}

macro_rules! checks {
    ($($id:literal, $sev:ident, $reason:literal, $fix:literal;)+) => {
        pub const CHECKS: &[Check] = &[$(Check { id: $id, severity: Severity::$sev, reason: $reason, fix: $fix }),+];
    };
}

checks! {
    "image-unpinned", Warning,
        "a floating tag changes what runs without a change to the manifest, and nodes that cached it never pull the new one",
        "pin a full version (1.2.3) or a digest (@sha256:…)";
    "rwo-replicas", Error,
        "a ReadWriteOnce volume attaches to one node, so a second replica (or a surge pod) elsewhere never starts",
        "keep 1 replica, or use a ReadWriteMany volume, a shared existing claim, emptyDir, or no persistence";
    "no-pdb", Warning,
        "without a PodDisruptionBudget a node drain may evict every replica at once",
        "add a PDB with maxUnavailable: 1 (or minAvailable below the replica count)";
    "pdb-blocks-disruptions", Warning,
        "a budget that allows no disruption while every pod is healthy makes every node drain hang",
        "allow at least one disruption: maxUnavailable: 1, or minAvailable below the replica count";
    "pdb-overlap", Error,
        "the eviction API refuses to evict a pod that two budgets select, so drains fail",
        "keep one PDB per set of pods";
    "pdb-selects-nothing", Warning,
        "a budget whose selector matches no pod protects nothing, usually a label typo",
        "fix the PDB's selector to match the pod template's labels";
    "max-unavailable", Warning,
        "a rolling update that may stop a serving replica before its replacement is ready drops capacity mid-rollout",
        "set strategy.rollingUpdate.maxUnavailable: 0 with maxSurge: 1";
    "no-readiness-probe", Warning,
        "without a readiness probe a pod gets traffic the moment it starts, before it can answer",
        "add a readinessProbe on the port it serves";
    "liveness-without-startup", Warning,
        "a slow start guarded only by liveness initialDelaySeconds is killed whenever it starts slower than the guess",
        "add a startupProbe (failureThreshold x periodSeconds covering the slowest start) and drop the initial delay";
    "liveness-equals-readiness", Info,
        "if the shared endpoint checks dependencies, a database outage makes the kubelet restart every pod",
        "point liveness at a cheap in-process check; keep dependency checks in readiness";
    "no-resource-requests", Warning,
        "without CPU and memory requests the scheduler packs pods blindly and the HPA has nothing to measure against",
        "set resources.requests.cpu and resources.requests.memory";
    "no-memory-limit", Warning,
        "without a memory limit one leaking pod can push its node into out-of-memory kills of its neighbours",
        "set resources.limits.memory";
    "run-as-root", Warning,
        "a container that may run as root turns an application exploit into root in the container",
        "set securityContext.runAsNonRoot: true (and a runAsUser) on the pod or the container";
    "writable-root-fs", Info,
        "a writable root filesystem lets an intruder change the application's own files",
        "set securityContext.readOnlyRootFilesystem: true and mount emptyDir where it must write";
    "privilege-escalation", Warning,
        "allowPrivilegeEscalation defaults to true, so setuid binaries can gain privileges",
        "set securityContext.allowPrivilegeEscalation: false";
    "capabilities-not-dropped", Info,
        "the default capabilities are more than an application needs",
        "set securityContext.capabilities.drop: [ALL] and add back only what it needs";
    "privileged", Error,
        "a privileged container is root on the node",
        "drop privileged: true; grant the one capability or device it needs";
    "sa-token-automount", Info,
        "a pod that never calls the Kubernetes API still gets a token an intruder can use",
        "set automountServiceAccountToken: false on the pod (or its service account)";
    "singleton-scaled", Error,
        "a singleton with more than one replica, or an HPA that may add one, does its work twice",
        "set replicas: 1 and remove the HPA";
    "single-replica-stateful", Info,
        "a single replica of a stateful dependency is a single point of failure for every service that uses it",
        "accept it knowingly, or run it replicated (operator, managed service)";
    "budget-at-hpa-max", Error,
        "at its HPA maximum this service alone opens more connections than its database lets applications use",
        "lower maxReplicas or the per-pod pool, or put a transaction-mode pooler (PgBouncer) in front";
    "gitops-drift", Info,
        "the GitOps controller will put the declared replica count back on its next sync, undoing the manual change",
        "change the replica count in Git, or suspend the sync while the manual change must hold";
    "gitops-source-not-ready", Warning,
        "the GitOps owner applies nothing new while its source cannot fetch: a commit pushed now does not reach the cluster",
        "fix what the source's message says (credentials, URL, branch), or point the owner at a source that exists";
    "rwo-rolling-update", Warning,
        "a surge pod scheduled on another node cannot attach the ReadWriteOnce claim the old pod holds, so the rollout stalls, even at one replica",
        "strategy: Recreate, or a StatefulSet";
    "emptydir-no-size-limit", Warning,
        "an emptyDir without sizeLimit can fill the node's disk and get every pod on it evicted",
        "set sizeLimit on the emptyDir";
}

pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// A Deployment whose rolling update can surge onto another node while its old pod holds a
/// ReadWriteOnce claim: its next rollout stalls (the previews of template changes warn).
pub const RWO_ROLLING_UPDATE: &str = "rwo-rolling-update";

/// Whether a finding is a preflight check (as opposed to what the pods are doing now).
pub fn is_preflight(finding: &Finding) -> bool {
    check(finding.id).is_some()
}

// Declared here rather than with the row: which findings are preflight checks is the
// lint catalogue's knowledge, and the row stays free of imports from its siblings.
/// Whether a service at `severity` is wrong now (a warning or worse): counted in the
/// overview's header and `status`'s summary.
pub fn is_problem(severity: Option<Severity>) -> bool {
    severity >= Some(Severity::Warning)
}

impl Service {
    /// Every preflight finding: the checks of the manifests, and the live findings that are
    /// also guidelines (a missing or blocking PDB), worst first.
    pub fn lint_findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings.iter().filter(|f| is_preflight(f)).chain(&self.preflight).collect();
        all.sort_by_key(|f| worst_first(f));
        all
    }

    /// What is wrong now (pods, rollout, a PDB allowing no disruption, the database budget),
    /// without the design advice that is preflight: the one answer the overview's problem
    /// count and order, and `status`'s summary, share.
    pub fn live_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !is_preflight(f))
    }

    /// The worst of what is wrong now, for problems-first ordering and row colour; the
    /// database's budget counts (warn or over) even though it is not a finding of the row.
    pub fn severity(&self) -> Option<Severity> {
        let budget = self.budget.as_ref().and_then(|b| match b.state {
            BudgetState::Ok | BudgetState::Unknown => None,
            BudgetState::Warn => Some(Severity::Warning),
            BudgetState::Over => Some(Severity::Error),
        });
        self.live_findings().map(|f| f.severity).chain(budget).max()
    }

    /// Whether something is wrong now (a warning or worse): counted in the overview's
    /// header and `status`'s summary.
    pub fn has_problems(&self) -> bool {
        is_problem(self.severity())
    }

    /// [`Self::severity`] with the service's SLO gate, where its logs are followed: a
    /// gate at warn or fail is wrong now too.
    pub fn severity_with(&self, slo: Option<GateState>) -> Option<Severity> {
        let slo = match slo {
            Some(GateState::Warn) => Some(Severity::Warning),
            Some(GateState::Fail) => Some(Severity::Error),
            Some(GateState::Pass) | None => None,
        };
        self.severity().max(slo)
    }

    pub fn has_problems_with(&self, slo: Option<GateState>) -> bool {
        is_problem(self.severity_with(slo))
    }

    /// The preflight check saying the next rollout stalls on a ReadWriteOnce claim.
    pub fn rollout_stalls_on_rwo(&self) -> Option<&Finding> {
        self.preflight.iter().find(|f| f.id == RWO_ROLLING_UPDATE)
    }
}

/// What the preflight checks read from a workload.
pub struct WorkloadFacts<'a> {
    pub kind: WorkloadKind,
    pub replicas: i32,
    pub hpa_max: Option<i32>,
    pub pod_spec: Option<&'a PodSpec>,
    /// `RollingUpdate`'s maxUnavailable for a Deployment (`None` for the default 25 %).
    pub max_unavailable: Option<&'a IntOrString>,
    pub rolling: bool,
    /// A rolling update that starts a surge pod before stopping an old one (maxSurge > 0).
    pub surges: bool,
    /// A ReadWriteOnce claim every pod shares (not a StatefulSet's per-pod template).
    pub shared_rwo_claim: Option<String>,
    /// `Flux` / `Argo CD` when a GitOps controller manages the workload.
    pub gitops: Option<&'a str>,
    /// The replicas its last applied configuration declared.
    pub declared_replicas: Option<i32>,
    /// The GitOps owner and the fields changed behind its back (from managedFields).
    pub owner: Option<&'a super::gitops::ServiceGitOps>,
}

/// The checks that need nothing but the workload's own manifest.
pub fn workload_checks(w: &WorkloadFacts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(spec) = w.pod_spec else { return out };
    images(spec, &mut out);
    rwo(w, &mut out);
    rwo_rolling_update(w, &mut out);
    max_unavailable(w, spec, &mut out);
    for c in &spec.containers {
        probes(c, &mut out);
        resources(c, &mut out);
        security(spec, c, &mut out);
    }
    automount(spec, &mut out);
    empty_dirs(spec, &mut out);
    stateful_dependency(w, spec, &mut out);
    drift(w, &mut out);
    dedupe(out)
}

fn finding(id: &'static str, message: String) -> Finding {
    let severity = check(id).map_or(Severity::Warning, |c| c.severity);
    Finding { id, severity, message }
}

/// One finding per check and service: the first container's message, with a count of the
/// others, so a ten-container pod does not print ten lines of the same advice.
fn dedupe(findings: Vec<Finding>) -> Vec<Finding> {
    let mut by_id: BTreeMap<&'static str, (Finding, usize)> = BTreeMap::new();
    for f in findings {
        by_id.entry(f.id).and_modify(|(_, n)| *n += 1).or_insert((f, 1));
    }
    let mut found: Vec<Finding> = by_id
        .into_values()
        .map(|(mut f, n)| {
            if n > 1 {
                f.message.push_str(&format!(" (and {} more)", n - 1));
            }
            f
        })
        .collect();
    found.sort_by_key(worst_first);
    found
}

/// Tags that move: `latest`, none at all, `stable`/`main`/…, or a version without its
/// patch number (`1`, `1.2`, `v3`).
pub fn sliding_tag(image: &str) -> Option<String> {
    if image.contains("@sha256:") {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let Some((_, tag)) = last.split_once(':') else { return Some("no tag (means latest)".into()) };
    let moving = ["latest", "stable", "main", "master", "current", "edge", "nightly", "lts", "release", "dev"];
    // `7-alpine`, `1.2-slim`: the variant does not pin the version in front of it.
    let version = tag.split('-').next().unwrap_or(tag);
    let bare = version.trim_start_matches('v');
    let partial_version = !bare.is_empty()
        && bare.split('.').count() < 3
        && bare.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    (moving.contains(&tag.to_ascii_lowercase().as_str()) || partial_version).then(|| format!("tag {tag}"))
}

fn images(spec: &PodSpec, out: &mut Vec<Finding>) {
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let image = c.image.as_deref().unwrap_or("");
        if let Some(why) = sliding_tag(image) {
            out.push(finding("image-unpinned", format!("{}: image {} ({why})", clean(&c.name), clean(image))));
        }
    }
}

fn rwo(w: &WorkloadFacts<'_>, out: &mut Vec<Finding>) {
    let Some(claim) = &w.shared_rwo_claim else { return };
    let most = w.hpa_max.unwrap_or(0).max(w.replicas);
    if most > 1 {
        let by = if w.hpa_max.is_some_and(|m| m > w.replicas) { "HPA max" } else { "replicas" };
        out.push(finding("rwo-replicas", format!("{by} {most} on {claim}: only one node can attach it")));
    }
}

/// The surge pod may be scheduled on another node, where the claim the old pod holds
/// cannot attach: one replica is enough to stall the rollout.
fn rwo_rolling_update(w: &WorkloadFacts<'_>, out: &mut Vec<Finding>) {
    let Some(claim) = &w.shared_rwo_claim else { return };
    if w.kind == WorkloadKind::Deployment && w.surges {
        out.push(finding(
            RWO_ROLLING_UPDATE,
            format!("mounts {claim} with a rolling update that surges: the next rollout stalls if the new pod lands on another node"),
        ));
    }
}

/// maxUnavailable as a pod count for `replicas` (percentages round down, as the
/// Deployment controller does); the default is 25 %.
pub fn max_unavailable_pods(max_unavailable: Option<&IntOrString>, replicas: i32) -> i32 {
    match max_unavailable {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let percent: i32 = s.trim_end_matches('%').parse().unwrap_or(25);
            percent_of_replicas(replicas, percent)
        }
        None => percent_of_replicas(replicas, 25),
    }
}

/// `percent` % of `replicas`, rounded down, in i64 and clamped: a typo like `50000%` on a
/// million replicas must not wrap round (or panic).
fn percent_of_replicas(replicas: i32, percent: i32) -> i32 {
    let pods = i64::from(replicas) * i64::from(percent) / 100;
    i32::try_from(pods).unwrap_or(if pods < 0 { i32::MIN } else { i32::MAX })
}

fn max_unavailable(w: &WorkloadFacts<'_>, spec: &PodSpec, out: &mut Vec<Finding>) {
    let serves = spec.containers.iter().any(|c| c.ports.as_ref().is_some_and(|p| !p.is_empty()));
    if w.kind != WorkloadKind::Deployment || !w.rolling || !serves || w.replicas < 2 {
        return;
    }
    let pods = max_unavailable_pods(w.max_unavailable, w.replicas);
    if pods > 0 {
        out.push(finding(
            "max-unavailable",
            format!("rolling update may stop {pods} of {} serving replicas before replacements are ready", w.replicas),
        ));
    }
}

fn handler(p: &Probe) -> Option<String> {
    if let Some(h) = &p.http_get {
        return Some(format!("http {} {:?}", h.path.as_deref().unwrap_or("/"), h.port));
    }
    if let Some(t) = &p.tcp_socket {
        return Some(format!("tcp {:?}", t.port));
    }
    if let Some(e) = &p.exec {
        return Some(format!("exec {:?}", e.command));
    }
    p.grpc.as_ref().map(|g| format!("grpc {}", g.port))
}

/// Seconds after which the kubelet may restart the container for a failing liveness probe.
fn liveness_kill_after(p: &Probe) -> i32 {
    p.initial_delay_seconds.unwrap_or(0) + p.period_seconds.unwrap_or(10) * p.failure_threshold.unwrap_or(3)
}

/// A slow start: liveness waits long before its first check, or readiness only starts
/// checking after liveness could already have killed the container.
const SLOW_START_DELAY_S: i32 = 30;

fn probes(c: &Container, out: &mut Vec<Finding>) {
    let name = clean(&c.name);
    let serves = c.ports.as_ref().is_some_and(|p| !p.is_empty());
    if c.readiness_probe.is_none() && serves {
        out.push(finding("no-readiness-probe", format!("{name} serves ports but has no readiness probe")));
    }
    if let (Some(live), None) = (&c.liveness_probe, &c.startup_probe) {
        let delay = live.initial_delay_seconds.unwrap_or(0);
        let ready_after = c.readiness_probe.as_ref().and_then(|r| r.initial_delay_seconds).unwrap_or(0);
        if delay >= SLOW_START_DELAY_S {
            out.push(finding(
                "liveness-without-startup",
                format!("{name}: liveness waits initialDelaySeconds {delay} instead of a startup probe"),
            ));
        } else if ready_after > liveness_kill_after(live) {
            out.push(finding(
                "liveness-without-startup",
                format!(
                    "{name}: readiness starts at {ready_after}s but liveness may kill it at {}s",
                    liveness_kill_after(live)
                ),
            ));
        }
    }
    if let (Some(live), Some(ready)) = (&c.liveness_probe, &c.readiness_probe)
        && let Some(shared) = handler(live).filter(|h| Some(h) == handler(ready).as_ref())
    {
        out.push(finding("liveness-equals-readiness", format!("{name}: liveness and readiness both check {shared}")));
    }
}

fn resources(c: &Container, out: &mut Vec<Finding>) {
    let name = clean(&c.name);
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let missing: Vec<&str> =
        ["cpu", "memory"].into_iter().filter(|k| !requests.is_some_and(|r| r.contains_key(*k))).collect();
    if !missing.is_empty() {
        out.push(finding("no-resource-requests", format!("{name}: no {} request", missing.join(" or "))));
    }
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    if !limits.is_some_and(|l| l.contains_key("memory")) {
        out.push(finding("no-memory-limit", format!("{name}: no memory limit")));
    }
}

fn security(spec: &PodSpec, c: &Container, out: &mut Vec<Finding>) {
    let name = clean(&c.name);
    let pod = spec.security_context.as_ref();
    let own = c.security_context.as_ref();
    let non_root = own.and_then(|s| s.run_as_non_root).or(pod.and_then(|s| s.run_as_non_root)).unwrap_or(false);
    let user_set = own.and_then(|s| s.run_as_user).or(pod.and_then(|s| s.run_as_user));
    if !non_root && user_set.is_none_or(|u| u == 0) {
        out.push(finding("run-as-root", format!("{name}: runAsNonRoot is not set and no non-root runAsUser")));
    }
    if own.and_then(|s| s.privileged) == Some(true) {
        out.push(finding("privileged", format!("{name}: privileged: true")));
    }
    if own.and_then(|s| s.read_only_root_filesystem) != Some(true) {
        out.push(finding("writable-root-fs", format!("{name}: readOnlyRootFilesystem is not true")));
    }
    if own.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        out.push(finding("privilege-escalation", format!("{name}: allowPrivilegeEscalation is not false")));
    }
    let drops_all = own
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|caps| caps.drop.as_ref())
        .is_some_and(|d| d.iter().any(|c| c.eq_ignore_ascii_case("ALL")));
    if !drops_all {
        out.push(finding("capabilities-not-dropped", format!("{name}: capabilities.drop does not include ALL")));
    }
}

/// A pod that runs as the namespace's default service account does not call the API (a
/// pod that does gets its own account and RBAC).
fn automount(spec: &PodSpec, out: &mut Vec<Finding>) {
    let account = spec.service_account_name.as_deref().unwrap_or("default");
    if account == "default" && spec.automount_service_account_token != Some(false) {
        out.push(finding(
            "sa-token-automount",
            "runs as the default service account with its API token mounted".to_string(),
        ));
    }
}

fn empty_dirs(spec: &PodSpec, out: &mut Vec<Finding>) {
    for v in spec.volumes.iter().flatten() {
        if v.empty_dir.as_ref().is_some_and(|e| e.size_limit.is_none() && e.medium.as_deref() != Some("Memory")) {
            out.push(finding("emptydir-no-size-limit", format!("emptyDir volume {} has no sizeLimit", clean(&v.name))));
        }
    }
}

const STATEFUL_IMAGES: [&str; 8] = ["postgres", "pgvector", "mysql", "mariadb", "redis", "valkey", "mongo", "rabbitmq"];

fn stateful_dependency(w: &WorkloadFacts<'_>, spec: &PodSpec, out: &mut Vec<Finding>) {
    if w.replicas != 1 {
        return;
    }
    let image_name = |c: &Container| {
        let image = c.image.as_deref().unwrap_or("");
        let last = image.rsplit('/').next().unwrap_or(image);
        last.split([':', '@']).next().unwrap_or(last).to_ascii_lowercase()
    };
    if let Some(kind) = spec.containers.iter().find_map(|c| {
        let name = image_name(c);
        STATEFUL_IMAGES.iter().find(|s| name.contains(*s)).copied()
    }) {
        out.push(finding("single-replica-stateful", format!("a single {kind} replica")));
    }
}

/// Replicas changed by hand under a GitOps controller (an HPA changing them is expected):
/// against the client-side last-applied configuration (Argo CD's default), and from
/// managedFields, a field the GitOps manager applied that another manager changed since
/// (server-side apply: Flux, Argo CD with `ServerSideApply=true`).
fn drift(w: &WorkloadFacts<'_>, out: &mut Vec<Finding>) {
    if let (Some(tool), Some(declared), None) = (w.gitops, w.declared_replicas, w.hpa_max)
        && declared != w.replicas
    {
        out.push(finding("gitops-drift", format!("{tool} declares {declared} replicas; {} are set", w.replicas)));
    }
    if let Some(owner) = w.owner {
        source_not_ready(owner, out);
        for d in &owner.drift {
            out.push(finding(
                "gitops-drift",
                format!("{}; {} sets it back at its next reconcile", d.describe(), owner.describe()),
            ));
        }
    }
}

/// The Flux source the owner applies from is not Ready or does not exist: what is pushed
/// to git is not applied. One that cannot be read is not judged.
fn source_not_ready(owner: &super::gitops::ServiceGitOps, out: &mut Vec<Finding>) {
    use super::gitops::source::SourceState;
    let Some(source) = &owner.source else { return };
    let why = match &source.state {
        SourceState::Found(found) => found.not_ready().map(|why| format!("not ready: {why}")),
        SourceState::NotFound => Some("not found".to_string()),
        SourceState::NotReadable(_) => None,
    };
    if let Some(why) = why {
        let message = format!("source {} of {} {why}", source.reference.describe(), owner.describe());
        out.push(finding("gitops-source-not-ready", message));
    }
}

/// The checks that need the profile (singletons) or every service (the budget).
pub fn profile_checks(services: &mut [Service], budgets: &[DatabaseBudget]) {
    for s in services.iter_mut() {
        let mut found = Vec::new();
        if let Some(reason) = &s.flags.singleton {
            let most = s.hpa.as_ref().map_or(s.replicas.desired, |h| h.max.max(s.replicas.desired));
            if most > 1 || s.hpa.is_some() {
                let how = if s.hpa.is_some() { format!("an HPA up to {most}") } else { format!("{most} replicas") };
                found.push(finding("singleton-scaled", format!("singleton ({}) with {how}", clean(reason))));
            }
        }
        if let (Some(hpa), Some(budget)) = (&s.hpa, super::budget::budget_of(budgets, &s.key))
            && let Some(used) = budget.uses(&s.key)
        {
            let at_max = u64::try_from(hpa.max).unwrap_or(0).saturating_mul(used.per_replica());
            if at_max > u64::from(budget.usable()) {
                found.push(finding(
                    "budget-at-hpa-max",
                    format!(
                        "HPA max {} x {} per replica = {at_max} connections, over {}'s {} usable",
                        hpa.max,
                        used.per_replica(),
                        budget.name,
                        budget.usable()
                    ),
                ));
            }
        }
        s.preflight.extend(found);
        s.preflight.sort_by_key(worst_first);
    }
}

/// A profile's word on a check: off, or another severity, for some services or all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LintRule {
    pub check: String,
    /// `None`: switched off.
    pub severity: Option<Severity>,
    /// `None`: every service.
    pub services: Option<ServiceMatch>,
}

/// Applies the profile's rules to every service's findings; a later rule wins over an
/// earlier one for the same service and check.
pub fn apply_rules(services: &mut [Service], rules: &[LintRule]) {
    if rules.is_empty() {
        return;
    }
    for s in services.iter_mut() {
        let verdict = |f: &Finding| {
            let rule = rules.iter().rev().find(|r| r.check == f.id && r.services.as_ref().is_none_or(|m| covers(m, s)));
            rule.map(|r| r.severity)
        };
        let findings = overrule(&s.findings, verdict);
        let preflight = overrule(&s.preflight, verdict);
        s.findings = findings;
        s.preflight = preflight;
    }
}

/// `findings` with each rule's verdict applied: `Some(None)` drops, `Some(Some(s))` re-rates.
fn overrule(findings: &[Finding], verdict: impl Fn(&Finding) -> Option<Option<Severity>>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = findings
        .iter()
        .filter_map(|f| match verdict(f) {
            None => Some(f.clone()),
            Some(None) => None,
            Some(Some(severity)) => Some(Finding { severity, ..f.clone() }),
        })
        .collect();
    kept.sort_by_key(worst_first);
    kept
}

#[cfg(test)]
mod tests;
