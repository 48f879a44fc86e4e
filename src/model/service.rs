//! What the cockpit knows about one service (a Deployment or StatefulSet and everything
//! that belongs to it). These structs are the single source of every number the overview,
//! the detail view and `status` show; they are built by [`super::services::build`].

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::resources::PodNeed;

/// A Deployment or a StatefulSet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    /// The short name kubectl accepts (`deploy/api`, `sts/redis`).
    pub fn short(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deploy",
            WorkloadKind::StatefulSet => "sts",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub namespace: String,
    pub name: String,
    pub kind: WorkloadKind,
    /// The kubeconfig context the service lives in, set only when several clusters are
    /// shown at once (a fleet): the same namespace/name in two clusters are two services.
    pub cluster: Option<String>,
}

/// How urgently a row wants attention; the overview sorts problems first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The order findings are listed in: worst first, then by id (stable for scripts).
pub fn worst_first(f: &Finding) -> (std::cmp::Reverse<Severity>, &'static str) {
    (std::cmp::Reverse(f.severity), f.id)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable id for scripts, e.g. `pdb-blocks-disruptions`.
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Replicas {
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HpaSummary {
    #[serde(skip)]
    pub name: String,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
    /// Metric targets in words (`cpu 70%`), for the detail view.
    #[serde(skip)]
    pub targets: Vec<String>,
    /// The autoscaler's own resourceVersion: a change of its bounds carries it as a
    /// precondition, like every other change.
    #[serde(skip)]
    pub resource_version: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloutState {
    Complete,
    Progressing,
    Stalled,
    Paused,
}

impl RolloutState {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Complete => "complete",
            RolloutState::Progressing => "progressing",
            RolloutState::Stalled => "stalled",
            RolloutState::Paused => "paused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rollout {
    pub state: RolloutState,
    /// Deployment revision annotation, or StatefulSet controller revision number.
    pub revision: Option<i64>,
    /// As `kubectl rollout status` would say it (`2 of 3 updated replicas are available`).
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Startup,
    Readiness,
    Liveness,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeSummary {
    pub container: String,
    pub probe: ProbeKind,
    /// `HTTP GET /health/ready :3006`, `TCP :5432`, `exec pg_isready`, `gRPC :9090`.
    pub handler: String,
    pub initial_delay_s: i32,
    pub period_s: i32,
    pub timeout_s: i32,
    pub failure_threshold: i32,
    /// Startup: failureThreshold x periodSeconds (+ initial delay); readiness/liveness:
    /// time from the first failed check to the verdict.
    pub grace_s: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRow {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    /// Ready containers / all containers.
    pub containers_ready: (usize, usize),
    pub restarts: i32,
    /// Waiting or terminated reason worth showing (`CrashLoopBackOff`, `OOMKilled`).
    pub reason: Option<String>,
    pub node: Option<String>,
    pub created: Option<Timestamp>,
    /// Readiness transitions in the flapping window.
    pub flaps: usize,
    /// Which revision the pod belongs to is current (false: old ReplicaSet / revision).
    pub updated: bool,
    /// The pod's IP, to attribute database connections to it.
    pub ip: Option<String>,
    /// Container names, to follow each one's logs.
    pub containers: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PodsSummary {
    pub total: usize,
    pub ready: usize,
    pub restarts: i32,
    /// Pods with at least `FLAPPING_TRANSITIONS` readiness transitions in the window.
    pub flapping: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PdbHeadroom {
    pub name: String,
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
    pub current_healthy: i32,
    pub desired_healthy: i32,
    pub disruptions_allowed: i32,
    #[serde(skip)]
    pub expected_pods: i32,
    /// The arithmetic in words: `minAvailable 2 of 3 healthy → 1 voluntary disruption allowed`.
    #[serde(skip)]
    pub explanation: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub warning: bool,
    pub reason: String,
    /// Sanitised: event messages come from the cluster and are untrusted.
    pub message: String,
    pub count: i32,
    pub last_seen: Option<Timestamp>,
    /// `pod/api-7d9-abc`, `deploy/api`.
    pub object: String,
}

/// One revision of a workload: a Deployment's ReplicaSet or a StatefulSet's
/// ControllerRevision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub revision: i64,
    pub change_cause: Option<String>,
    pub created: Option<Timestamp>,
    /// Pods running this revision.
    pub replicas: i32,
    pub current: bool,
    /// What an undo would bring back, container by container.
    pub containers: Vec<RevisionContainer>,
}

impl Revision {
    pub fn images(&self) -> Vec<&str> {
        self.containers.iter().map(|c| c.image.as_str()).collect()
    }
}

/// A container of a revision's pod template, as far as the undo diff compares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevisionContainer {
    pub name: String,
    pub image: String,
    /// Names only: values can come from Secrets and are never carried.
    pub env: Vec<String>,
    /// `cpu` → `250m`, `memory` → `256Mi`.
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// Never fetched, never shown.
    FromSecret {
        secret: String,
        key: String,
    },
    FromConfigMap {
        config_map: String,
        key: String,
    },
    FromField(String),
    FromResource(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub container: String,
    pub name: String,
    pub value: EnvValue,
}

/// A container of the pod template and the image it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerImage {
    pub container: String,
    pub image: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceFlags {
    /// Why it must not run twice (annotation, profile, or 1 replica + minAvailable 0).
    pub singleton: Option<String>,
    /// `Flux` or `Argo CD`: changes made here will be reverted by the GitOps controller.
    pub gitops: Option<String>,
    /// A ReadWriteOnce volume is mounted: a surge pod on another node cannot start.
    pub rwo_volume: Option<String>,
}

/// Everything about one service at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub key: ServiceKey,
    /// The workload's resourceVersion: a change is sent with it as a precondition, so a
    /// concurrent change between preview and execution is refused instead of overwritten.
    pub resource_version: Option<String>,
    pub created: Option<Timestamp>,
    pub replicas: Replicas,
    pub hpa: Option<HpaSummary>,
    pub rollout: Rollout,
    pub probes: Vec<ProbeSummary>,
    pub pods: Vec<PodRow>,
    pub pods_summary: PodsSummary,
    /// The PDB that governs the service (the most restrictive when several match).
    pub pdb: Option<PdbHeadroom>,
    pub events: Vec<EventRow>,
    pub revisions: Vec<Revision>,
    /// The app containers of the pod template, in order.
    pub containers: Vec<ContainerImage>,
    pub env: Vec<EnvVar>,
    pub flags: ServiceFlags,
    /// What the pods, rollout and budgets say, including the advice that is also a preflight
    /// check (a missing PDB): `live_findings` keeps what is wrong now.
    pub findings: Vec<Finding>,
    /// Preflight checks of the manifests (`lint`): guidelines the workload breaks, whether
    /// or not anything is wrong right now. Kept apart so they do not drown live problems.
    pub preflight: Vec<Finding>,
    /// What the pod template says about databases (used or served).
    pub database: DatabaseHints,
    /// This service's line of its database's connection budget (needs every service, so
    /// it is filled in by [`super::profile::apply`]).
    pub budget: Option<ServiceBudget>,
    /// What one more pod asks of a node. How many more the nodes hold is read from the
    /// nodes' capacity when a scale-up is planned ([`super::capacity::room_for`]), not kept
    /// here: a pod landing anywhere moves every service's room, and would make every row new.
    pub need: PodNeed,
    /// The Helm release the workload belongs to, with its revision history.
    pub helm: Option<HelmRelease>,
    /// The Flux or Argo CD object that applies the workload, its state, and the fields
    /// changed behind its back.
    pub gitops: Option<super::gitops::ServiceGitOps>,
}

// ---- What the row carries about databases (the budget pass fills `budget`). ----

/// Where a number on screen came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Profile,
    /// The annotation's name.
    Annotation(&'static str),
    /// The env var's name.
    Env(String),
    /// A `-c max_connections=N` style server argument.
    Args,
    Default,
    /// Read from the live server: what the budget is judged on once it is known.
    Measured,
    /// The engine's own default, when nothing sets it (`PostgreSQL`, `PgBouncer`).
    EngineDefault(&'static str),
    /// A setting of a `pgbouncer.ini` from a ConfigMap.
    Ini(String),
    /// The custom resource of an operator's cluster (`CloudNativePG Cluster`).
    Operator(&'static str),
    /// Nothing the cockpit can read says it: the number is not used for any judgement.
    Unknown,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Profile => f.write_str("profile"),
            Source::Annotation(name) => write!(f, "annotation {name}"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Args => f.write_str("server args"),
            Source::Default => f.write_str("default"),
            Source::Measured => f.write_str("measured"),
            Source::EngineDefault(engine) => write!(f, "{engine}'s default"),
            Source::Ini(name) => write!(f, "pgbouncer.ini {name}"),
            Source::Operator(kind) => write!(f, "{kind} spec"),
            Source::Unknown => f.write_str("unknown"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// What a pod template says about databases, read by the services model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseHints {
    /// `cockpit.dev/db` on the workload or its pod template: the database its pods use.
    pub uses: Option<String>,
    /// `cockpit.dev/db-pool` as written (`"10+5"`).
    pub pool_annotation: Option<String>,
    /// For a workload that is itself a database server: its max_connections.
    pub serves: Option<Sourced<u32>>,
    /// Pod template labels, for profile bindings by selector.
    pub labels: BTreeMap<String, String>,
    /// ConfigMaps a pooler mounts as volumes (its `pgbouncer.ini`).
    pub config_volumes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetState {
    /// The database's limit is not known: demand is shown, nothing is judged.
    Unknown,
    Ok,
    Warn,
    Over,
}

impl BudgetState {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetState::Unknown => "unknown",
            BudgetState::Ok => "ok",
            BudgetState::Warn => "warn",
            BudgetState::Over => "over",
        }
    }
}

/// A service's line of its database's budget. `current` and `at_hpa_max` are this
/// service's own connections; `required`, `percent` and `state` are the whole database's.
/// `max_connections` and `percent` are `None` when the database's limit is unknown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceBudget {
    pub database: String,
    pub per_replica: u64,
    pub current: u64,
    pub at_hpa_max: u64,
    pub max_connections: Option<u32>,
    pub percent: Option<f64>,
    /// Connections the whole database needs now (every service, plus headroom).
    pub required: u64,
    #[serde(skip)]
    pub state: BudgetState,
}

// ---- What the row carries about Helm (read by `helm::release_of`). ----

/// The Helm release a workload belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmRelease {
    pub name: String,
    pub namespace: String,
    /// `chart-version` from the workload's `helm.sh/chart` label (the running revision's).
    pub chart: Option<String>,
    /// From the workload's `app.kubernetes.io/version` label (the running revision's).
    pub app_version: Option<String>,
    /// Newest first; `None` when the release Secrets could not be listed.
    pub history: Option<Vec<HelmRevision>>,
}

/// One revision of a release, as its Secret's labels and metadata tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmRevision {
    pub revision: i64,
    /// `deployed`, `superseded`, `failed`, `pending-upgrade`, …
    pub status: String,
    /// When Helm wrote the revision (its `createdAt` label, else the Secret's creation).
    pub created: Option<Timestamp>,
    /// When Helm last changed its status (the `modifiedAt` label, seconds since the epoch).
    pub modified: Option<Timestamp>,
}

impl HelmRelease {
    /// The revision Helm calls deployed (the one running).
    pub fn deployed(&self) -> Option<&HelmRevision> {
        self.history.as_ref()?.iter().find(|r| r.status == "deployed")
    }

    /// Where a rollback most likely goes: the newest revision that was deployed before
    /// (superseded), not a failed upgrade; else the newest one that is not deployed.
    pub fn rollback_candidate(&self) -> Option<&HelmRevision> {
        let history = self.history.as_ref()?;
        history.iter().find(|r| r.status == "superseded").or_else(|| history.iter().find(|r| r.status != "deployed"))
    }

    /// `helm rollback <release> <N> -n <ns>`.
    pub fn rollback_command(&self, revision: i64) -> String {
        format!("helm rollback {} {revision} -n {}", self.name, self.namespace)
    }
}

/// Readiness transitions are counted over this window (ten minutes, as the issue says).
pub const FLAPPING_WINDOW_S: i64 = 600;
/// This many readiness transitions within the window count as flapping.
pub const FLAPPING_TRANSITIONS: usize = 3;

#[cfg(test)]
impl Service {
    /// A settled Deployment with `replicas` ready pods and nothing else: tests change what
    /// they are about.
    pub fn example(namespace: &str, name: &str, replicas: i32) -> Service {
        Service {
            key: ServiceKey {
                namespace: namespace.into(),
                name: name.into(),
                kind: WorkloadKind::Deployment,
                cluster: None,
            },
            resource_version: Some("42".into()),
            created: None,
            replicas: Replicas { desired: replicas, ready: replicas, updated: replicas, available: replicas },
            hpa: None,
            rollout: Rollout { state: RolloutState::Complete, revision: Some(1), message: String::new() },
            probes: vec![],
            pods: vec![],
            pods_summary: PodsSummary::default(),
            pdb: None,
            events: vec![],
            revisions: vec![],
            containers: vec![ContainerImage { container: name.into(), image: format!("{name}:1.0") }],
            env: vec![],
            flags: ServiceFlags::default(),
            findings: vec![],
            preflight: vec![],
            database: DatabaseHints::default(),
            budget: None,
            need: PodNeed::default(),
            helm: None,
            gitops: None,
        }
    }
}
