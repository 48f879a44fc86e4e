//! Watch-driven cluster state: one list-and-watch per resource kind, each feeding a
//! [`Collection`] (the objects as last seen, trimmed) and a health record. After the
//! initial list the cockpit makes no request except these open watches.
//!
//! The loop is our own, over `Api::list` and `Api::watch`, not kube-runtime's `watcher`:
//! that one swallows bookmarks and re-opens a quiet watch by itself, so a watch held open
//! by a hung server or proxy could not be told from a quiet, healthy one. Here every
//! bookmark counts as heard, and a watch silent past [`SILENCE_BOUND`] is reported
//! ([`WatchHealth::Silent`]) and re-opened.
//!
//! - Memory: what is stored is what the model reads ([`Watched::keep`]). Pods and
//!   ReplicaSets, the numerous kinds, are kept as small facts (`PodFacts`,
//!   `ReplicaSetFacts`) rather than whole objects; the other kinds lose their managed
//!   fields (Deployments and StatefulSets keep a compact summary of who set the replicas,
//!   images and env, for GitOps drift) and last-applied annotation, and ControllerRevisions and Nodes are trimmed to
//!   what revisions and node capacity read. `cargo bench --bench cockpit` says where the
//!   heap goes.
//! - Backoff: a failed watch is restarted (with a relist) after an exponential backoff;
//!   the relist completing is what proves the API is back.
//! - A malformed object cannot kill a watch: objects are read through `DeserializeGuard`
//!   and the bad ones are counted and skipped.
//! - A relist (after 410 Gone or a restart) is applied atomically at `InitDone`, so the
//!   screen keeps showing the old data until the new list is complete — never a wipe.
//! - A kind the user may not list is reported as `NoAccess`, with the missing permission;
//!   its objects are forgotten (unknown, not current) and the list is asked again after a
//!   backoff of up to 4 minutes, the one deliberate retry of a refusal.
//! - Every change bumps a `pulse` counter (a `watch` channel), so a burst of events
//!   coalesces into one model rebuild.
//! - Helm's release Secrets are watched as metadata only (`PartialObjectMetadata`): their
//!   bodies (the encoded releases, with every value of the chart) never leave the server.
//! - Nodes (cluster-scoped) and, in a namespace scope, the pods of every namespace feed the
//!   node capacity of scale previews; a user who may not list them gets "unknown" there.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Event as CoreEvent, Node, NodeCondition, NodeSpec, NodeStatus, PersistentVolumeClaim, Pod,
    PodSpec, PodTemplateSpec, ResourceRequirements, Secret, Service as KubeService,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::Resource;
use kube::api::{Api, ListParams, VersionMatch, WatchEvent, WatchParams};
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;
use tokio::sync::watch as latest;
use tokio::task::JoinHandle;

use super::collection::key_of;
pub use super::collection::{Collection, Key, Watched};
use super::connect::describe_kube_error_at;
use super::gitops::{
    ArgoApplication, FluxGitRepository, FluxHelmRelease, FluxHelmRepository, FluxKustomization, FluxOciRepository,
};
use super::network::{CnpgCluster, ZalandoCluster};
use super::raw::{EventStream, Page};
use crate::model::changes::{Change, Changes, Part};
use crate::model::discovery::{NetService, Network, OperatorCluster};
use crate::model::events::{EventFacts, MAX_EVENTS};
use crate::model::gitops::GitOpsOwner;
use crate::model::gitops::source::{GitOpsSource, SourceKind, Sources};
use crate::model::history::ReplicaSetFacts;
use crate::model::live::{Objects, Wanted};
use crate::model::pods::{self, PodFacts};
use crate::model::services::{ClusterObjects, Visibility};

/// Which kinds the model may draw conclusions from: a kind that is forbidden or not yet
/// listed is unknown, so "no PDB" is never claimed when the PDBs could not be read.
pub fn visibility(health: &BTreeMap<ResourceKind, WatchHealth>) -> Visibility {
    let known = |kind: ResourceKind| {
        matches!(
            health.get(&kind),
            Some(WatchHealth::Live { .. } | WatchHealth::Reconnecting { .. } | WatchHealth::Silent { .. })
        )
    };
    Visibility {
        replicasets: known(ResourceKind::ReplicaSets),
        pods: known(ResourceKind::Pods),
        pdbs: known(ResourceKind::PodDisruptionBudgets),
        hpas: known(ResourceKind::HorizontalPodAutoscalers),
        pvcs: known(ResourceKind::PersistentVolumeClaims),
        events: known(ResourceKind::Events),
        nodes: known(ResourceKind::Nodes),
        // Across all namespaces the pod watch already sees every pod on the nodes.
        node_pods: if health.contains_key(&ResourceKind::NodePods) {
            known(ResourceKind::NodePods)
        } else {
            known(ResourceKind::Pods)
        },
        helm_releases: known(ResourceKind::HelmReleases),
    }
}

/// Why a list-and-watch ended.
enum Stop {
    /// RBAC refused the list or the watch: retried after [`Backoff::forbidden`].
    Forbidden,
    /// A request failed: a relist after [`Backoff::default`].
    Failed,
    /// Nothing heard within the silence bound: the watch is re-opened at once from the last
    /// version heard (a relist only if the server no longer has it).
    Silent,
}

/// How long a watch may stay silent before the kind is called stale and the watch is
/// re-opened. A kube-apiserver's watch cache sends every watcher that allows bookmarks one
/// about once a minute (`defaultBookmarkFrequency` in k8s.io/apiserver's cacher) and one
/// right before the watch's deadline, and the cockpit asks for a deadline of
/// [`WATCH_TIMEOUT_S`]: a healthy watch hears something at least every 75 s, so 90 s of
/// silence means a hung server or a proxy holding the connection. Tests shorten it with
/// the hidden `KUBECTL_COCKPIT_WATCH_SILENCE` (e.g. `2s`).
pub const SILENCE_BOUND: std::time::Duration = std::time::Duration::from_secs(90);

/// The server-side `timeoutSeconds` of every watch: the server ends the watch then (after
/// a bookmark) and the cockpit re-opens it from the last version, which is still one open
/// watch, not polling. Below [`SILENCE_BOUND`], so even a server that sends bookmarks only
/// before a deadline is heard within the bound.
const WATCH_TIMEOUT_S: u32 = 75;

/// Objects per page of a (re)list, so a big cluster is not one huge response.
const PAGE_SIZE: u32 = 500;

/// The silence bound in force: [`SILENCE_BOUND`], or `KUBECTL_COCKPIT_WATCH_SILENCE`.
pub fn silence_bound() -> std::time::Duration {
    std::env::var("KUBECTL_COCKPIT_WATCH_SILENCE")
        .ok()
        .and_then(|v| crate::config::duration::parse_duration(&v).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(SILENCE_BOUND)
}

/// Exponential backoff with jitter between reconnect attempts: quick after a blip, at most
/// every 30 s during an outage, so many cockpits do not hammer a recovering API server.
struct Backoff {
    next: std::time::Duration,
    first: std::time::Duration,
    max: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST, first: Self::FIRST, max: Self::MAX }
    }
}

impl Backoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(500);
    const MAX: std::time::Duration = std::time::Duration::from_secs(30);

    /// The one deliberate retry of something refused: a kind RBAC forbids is listed again
    /// after 2 s, 4 s, … at most every 4 minutes, so a permission granted while the
    /// cockpit runs shows up without a restart, at the cost of one list per 4 minutes.
    fn forbidden() -> Self {
        let first = std::time::Duration::from_secs(2);
        Backoff { next: first, first, max: std::time::Duration::from_secs(240) }
    }

    fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay.mul_f64(0.8 + fastrand::f64() * 0.4)
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The kinds the services model needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Deployments,
    StatefulSets,
    ReplicaSets,
    Pods,
    PodDisruptionBudgets,
    HorizontalPodAutoscalers,
    PersistentVolumeClaims,
    Events,
    /// A StatefulSet's revision history.
    ControllerRevisions,
    /// Allocatable capacity, for the scale preview.
    Nodes,
    /// The pods of every namespace, for the nodes' free capacity (only watched in a
    /// namespace scope: across all namespaces `Pods` is the same list).
    NodePods,
    /// Helm's release Secrets, as metadata only.
    HelmReleases,
    /// Services, as where their names point (their selectors): database discovery
    /// resolves the hosts services connect to through them.
    Services,
    /// CloudNativePG `Cluster`s (postgresql.cnpg.io), when that API is served.
    CnpgClusters,
    /// Zalando `postgresql`s (acid.zalan.do), when that API is served.
    ZalandoClusters,
    /// Flux `Kustomization`s (kustomize.toolkit.fluxcd.io), when served: GitOps owners.
    FluxKustomizations,
    /// Flux `HelmRelease`s (helm.toolkit.fluxcd.io), when served.
    FluxHelmReleases,
    /// Argo CD `Application`s (argoproj.io), when served.
    ArgoApplications,
    /// Flux `GitRepository`s (source.toolkit.fluxcd.io), when served: what owners apply from.
    FluxGitRepositories,
    /// Flux `OCIRepository`s, when served.
    FluxOciRepositories,
    /// Flux `HelmRepository`s, when served.
    FluxHelmRepositories,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 21] = [
        ResourceKind::Deployments,
        ResourceKind::StatefulSets,
        ResourceKind::ReplicaSets,
        ResourceKind::Pods,
        ResourceKind::PodDisruptionBudgets,
        ResourceKind::HorizontalPodAutoscalers,
        ResourceKind::PersistentVolumeClaims,
        ResourceKind::Events,
        ResourceKind::ControllerRevisions,
        ResourceKind::Nodes,
        ResourceKind::NodePods,
        ResourceKind::HelmReleases,
        ResourceKind::Services,
        ResourceKind::CnpgClusters,
        ResourceKind::ZalandoClusters,
        ResourceKind::FluxKustomizations,
        ResourceKind::FluxHelmReleases,
        ResourceKind::ArgoApplications,
        ResourceKind::FluxGitRepositories,
        ResourceKind::FluxOciRepositories,
        ResourceKind::FluxHelmRepositories,
    ];

    /// The plural resource name, as RBAC and kubectl spell it.
    pub fn plural(self) -> &'static str {
        match self {
            ResourceKind::Deployments => "deployments",
            ResourceKind::StatefulSets => "statefulsets",
            ResourceKind::ReplicaSets => "replicasets",
            ResourceKind::Pods | ResourceKind::NodePods => "pods",
            ResourceKind::PodDisruptionBudgets => "poddisruptionbudgets",
            ResourceKind::HorizontalPodAutoscalers => "horizontalpodautoscalers",
            ResourceKind::PersistentVolumeClaims => "persistentvolumeclaims",
            ResourceKind::Events => "events",
            ResourceKind::ControllerRevisions => "controllerrevisions",
            ResourceKind::Nodes => "nodes",
            ResourceKind::HelmReleases => "secrets",
            ResourceKind::Services => "services",
            ResourceKind::CnpgClusters => "clusters",
            ResourceKind::ZalandoClusters => "postgresqls",
            ResourceKind::FluxKustomizations => "kustomizations",
            ResourceKind::FluxHelmReleases => "helmreleases",
            ResourceKind::ArgoApplications => "applications",
            ResourceKind::FluxGitRepositories => "gitrepositories",
            ResourceKind::FluxOciRepositories => "ocirepositories",
            ResourceKind::FluxHelmRepositories => "helmrepositories",
        }
    }

    /// The API group, as RBAC names it ("" for the core group).
    pub fn group(self) -> &'static str {
        match self {
            ResourceKind::Deployments
            | ResourceKind::StatefulSets
            | ResourceKind::ReplicaSets
            | ResourceKind::ControllerRevisions => "apps",
            ResourceKind::PodDisruptionBudgets => "policy",
            ResourceKind::HorizontalPodAutoscalers => "autoscaling",
            ResourceKind::CnpgClusters => "postgresql.cnpg.io",
            ResourceKind::ZalandoClusters => "acid.zalan.do",
            ResourceKind::FluxKustomizations => "kustomize.toolkit.fluxcd.io",
            ResourceKind::FluxHelmReleases => "helm.toolkit.fluxcd.io",
            ResourceKind::ArgoApplications => "argoproj.io",
            kind if kind.source_kind().is_some() => "source.toolkit.fluxcd.io",
            _ => "",
        }
    }

    /// For a kind only some clusters serve (an operator's CRD): its group/version.
    pub fn served_only_as(self) -> Option<&'static str> {
        match self {
            ResourceKind::CnpgClusters => Some("postgresql.cnpg.io/v1"),
            ResourceKind::ZalandoClusters => Some("acid.zalan.do/v1"),
            ResourceKind::FluxKustomizations => Some("kustomize.toolkit.fluxcd.io/v1"),
            ResourceKind::FluxHelmReleases => Some("helm.toolkit.fluxcd.io/v2"),
            ResourceKind::ArgoApplications => Some("argoproj.io/v1alpha1"),
            kind if kind.source_kind().is_some() => Some("source.toolkit.fluxcd.io/v1"),
            _ => None,
        }
    }

    /// What part of a service an object of this kind is, when its status alone can change.
    fn part(self) -> Option<Part> {
        match self {
            ResourceKind::Pods => Some(Part::Pod),
            ResourceKind::Deployments | ResourceKind::StatefulSets => Some(Part::Workload),
            ResourceKind::ReplicaSets => Some(Part::ReplicaSet),
            ResourceKind::PodDisruptionBudgets => Some(Part::DisruptionBudget),
            ResourceKind::HorizontalPodAutoscalers => Some(Part::Autoscaler),
            ResourceKind::Events => Some(Part::Event),
            _ => None,
        }
    }

    /// Listed across the cluster whatever the scope (a GitOps owner and its source usually
    /// live in another namespace than the workloads it applies).
    pub fn cluster_wide(self) -> bool {
        matches!(self, ResourceKind::Nodes | ResourceKind::NodePods) || self.is_gitops()
    }

    /// A Flux or Argo CD object that applies workloads, or a Flux source one applies from.
    pub fn is_gitops(self) -> bool {
        matches!(
            self,
            ResourceKind::FluxKustomizations | ResourceKind::FluxHelmReleases | ResourceKind::ArgoApplications
        ) || self.source_kind().is_some()
    }

    /// The Flux source kind this is a watch of.
    pub fn source_kind(self) -> Option<SourceKind> {
        match self {
            ResourceKind::FluxGitRepositories => Some(SourceKind::GitRepository),
            ResourceKind::FluxOciRepositories => Some(SourceKind::OCIRepository),
            ResourceKind::FluxHelmRepositories => Some(SourceKind::HelmRepository),
            _ => None,
        }
    }

    /// A kind only one part of the cockpit needs (node capacity in the scale preview, the
    /// Helm history in the detail view): a user who may not list it — a namespaced user
    /// usually may not list nodes or secrets — is told there, not on every screen.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            ResourceKind::Nodes
                | ResourceKind::NodePods
                | ResourceKind::HelmReleases
                | ResourceKind::Services
                | ResourceKind::CnpgClusters
                | ResourceKind::ZalandoClusters
                | ResourceKind::FluxKustomizations
                | ResourceKind::FluxHelmReleases
                | ResourceKind::ArgoApplications
        ) || self.source_kind().is_some()
    }
}

/// How a watch is doing, as the status line reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchHealth {
    /// Initial list in progress.
    Syncing { since: Timestamp },
    /// Listed and watching.
    Live { since: Timestamp },
    /// Errors since `since`; data shown is what was last seen.
    Reconnecting { since: Timestamp, error: String },
    /// Listed, and the watch is open, but nothing (no change, no bookmark) was heard since
    /// `heard`, longer than the silence bound: a hung server or a proxy holding the
    /// connection. The data shown is as of `heard`; the watch is being re-opened.
    Silent { heard: Timestamp },
    /// RBAC forbids listing: `permission` reads like `list poddisruptionbudgets in ns shop`.
    /// The kind's objects are forgotten (unknown, not shown as current) and the list is
    /// retried with a backoff of up to 4 minutes.
    NoAccess { permission: String },
}

impl WatchHealth {
    pub fn is_synced(&self) -> bool {
        matches!(self, WatchHealth::Live { .. } | WatchHealth::NoAccess { .. } | WatchHealth::Silent { .. })
    }
}

/// Strips what the model never reads before an object is stored, so memory stays small
/// on big clusters: managed fields, and the last-applied annotation (often the largest part
/// of an object) down to the declared replicas, which the drift check compares.
pub fn trim_metadata<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        let declared = annotations.remove(LAST_APPLIED).as_deref().and_then(declared_replicas_only);
        if let Some(declared) = declared {
            annotations.insert(LAST_APPLIED.to_string(), declared);
        }
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `{"spec":{"replicas":N}}` when the applied configuration declared replicas.
fn declared_replicas_only(applied: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(applied).ok()?;
    let replicas = value.pointer("/spec/replicas")?.as_i64()?;
    Some(serde_json::json!({"spec": {"replicas": replicas}}).to_string())
}

/// What a revision row and the undo diff show of a template: per container its name,
/// image, the names of its env vars (never a value: some come from Secrets) and its
/// requests and limits. An undo reads the whole revision from the API.
fn revision_template(template: &mut PodTemplateSpec) {
    if let Some(spec) = template.spec.as_mut() {
        let containers = spec
            .containers
            .iter()
            .map(|c| Container {
                name: c.name.clone(),
                image: c.image.clone(),
                env: c
                    .env
                    .as_ref()
                    .map(|env| env.iter().map(|e| EnvVar { name: e.name.clone(), ..Default::default() }).collect()),
                resources: c.resources.as_ref().map(|r| ResourceRequirements {
                    requests: r.requests.clone(),
                    limits: r.limits.clone(),
                    claims: None,
                }),
                ..Default::default()
            })
            .collect();
        *spec = PodSpec { containers, ..Default::default() };
    }
    template.metadata = None;
}

/// The revision's data is the StatefulSet's template as a patch
/// (`{"spec":{"template":{…,"$patch":"replace"}}}`); only its revision summary is kept.
fn trim_controller_revision(revision: &mut ControllerRevision) {
    let RawExtension(data) = &mut revision.data;
    let template = data.pointer("/spec/template").cloned().unwrap_or_default();
    let mut template: PodTemplateSpec = serde_json::from_value(template).unwrap_or_default();
    revision_template(&mut template);
    *data = serde_json::json!({"spec": {"template": template}});
}

/// The capacity check reads a node's name, its allocatable cpu and memory, and whether it
/// takes new pods (cordoned, tainted); a node's status is otherwise large (images,
/// conditions, addresses).
fn trim_node(node: &mut Node) {
    // Labels: where a pod's node selector lets its replacement go (drain preview).
    node.metadata =
        ObjectMeta { name: node.metadata.name.take(), labels: node.metadata.labels.take(), ..Default::default() };
    node.spec = node.spec.take().map(|spec| NodeSpec {
        unschedulable: spec.unschedulable,
        taints: spec.taints.map(|taints| {
            taints.into_iter().filter(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")).collect()
        }),
        ..Default::default()
    });
    node.status = node.status.take().map(|status| NodeStatus {
        allocatable: status.allocatable.map(|a| a.into_iter().filter(|(k, _)| k == "cpu" || k == "memory").collect()),
        // Ready, and only whether it is: a drain sends no pods to a node that is not.
        conditions: status.conditions.map(|c| {
            c.into_iter()
                .filter(|c| c.type_ == "Ready")
                .map(|c| NodeCondition { type_: c.type_, status: c.status, ..Default::default() })
                .collect()
        }),
        ..Default::default()
    });
}

/// Kinds kept whole, less their metadata's bulk and, after `=>`, what their trim drops.
macro_rules! kept_whole {
    ($($kind:ty $(=> $trim:path)?),* $(,)?) => {$(
        impl Watched for $kind {
            type Stored = $kind;
            type Memo = ();
            fn keep(mut self, _: &mut ()) -> Self {
                trim_metadata(&mut self);
                $($trim(&mut self);)?
                self
            }
        }
    )*};
}
kept_whole!(
    PersistentVolumeClaim,
    ControllerRevision => trim_controller_revision,
    Node => trim_node,
);

/// Kinds kept whole whose status can change alone: an update that leaves their spec,
/// labels and annotations as they were is a status change.
macro_rules! kept_whole_with_status {
    ($($kind:ty => $trim:path),* $(,)?) => {$(
        impl Watched for $kind {
            type Stored = $kind;
            type Memo = ();
            fn keep(mut self, _: &mut ()) -> Self {
                $trim(&mut self);
                self
            }
            fn classify(old: Option<&Self>, new: &Self) -> Change {
                match old {
                    Some(old) if old.spec == new.spec && same_marks(&old.metadata, &new.metadata) => Change::Status,
                    _ => Change::Structure,
                }
            }
        }
    )*};
}
kept_whole_with_status!(
    Deployment => trim_workload_metadata,
    StatefulSet => trim_workload_metadata,
    PodDisruptionBudget => trim_metadata,
    HorizontalPodAutoscaler => trim_metadata,
);

/// [`trim_metadata`], keeping of the managed fields what the GitOps drift check reads
/// (who set the replicas, images and env, and when the GitOps controller last applied).
fn trim_workload_metadata<K: Resource>(obj: &mut K) {
    let managed = obj.meta_mut().managed_fields.take();
    trim_metadata(obj);
    obj.meta_mut().managed_fields = managed.and_then(crate::model::gitops::compact_managed_fields);
}

/// The metadata the model reads besides status: labels, annotations, owners, and the
/// managed fields kept (GitOps drift).
fn same_marks(old: &ObjectMeta, new: &ObjectMeta) -> bool {
    old.labels == new.labels
        && old.annotations == new.annotations
        && old.owner_references == new.owner_references
        && old.managed_fields == new.managed_fields
}

impl Watched for KubeService {
    type Stored = NetService;
    type Memo = ();
    /// A Service is kept as where its name points: database discovery reads nothing else.
    fn keep(self, _: &mut ()) -> NetService {
        NetService {
            namespace: self.metadata.namespace.unwrap_or_default(),
            name: self.metadata.name.unwrap_or_default(),
            selector: self.spec.and_then(|s| s.selector),
        }
    }
    fn classify(old: Option<&NetService>, new: &NetService) -> Change {
        if old == Some(new) { Change::None } else { Change::Structure }
    }
}

impl Watched for CoreEvent {
    /// Events are the most numerous kind after pods on a busy cluster (an hour of them
    /// is kept by the API server): the store keeps what the model reads of one (what it
    /// is about, and the row a service shows of it).
    type Stored = EventFacts;
    type Memo = ();

    fn keep(self, _: &mut ()) -> EventFacts {
        EventFacts::from(self)
    }

    /// A service shows the newest [`MAX_EVENTS`] of the Events about its objects, so past
    /// that many about one object the older ones can never show: a busy cluster writes
    /// Events all day (the API server keeps an hour of them), the store keeps what can.
    fn crowded_out(store: &Collection<EventFacts>, new: &EventFacts) -> Vec<Key> {
        let about = |e: &EventFacts| e.about_kind == new.about_kind && e.about_name == new.about_name;
        let mut same: Vec<Arc<EventFacts>> =
            store.in_namespace(&new.namespace).into_iter().filter(|e| about(e)).collect();
        if same.len() <= MAX_EVENTS {
            return Vec::new();
        }
        // Newest first, in store order on ties: the order the service's rows are cut in.
        same.sort_by_key(|e| std::cmp::Reverse(e.row.last_seen));
        same[MAX_EVENTS..].iter().map(|e| (e.namespace.clone(), e.name.clone())).collect()
    }

    /// An Event, new or counted again, is news about one object: it never changes how
    /// services are grouped.
    fn classify(_old: Option<&EventFacts>, _new: &EventFacts) -> Change {
        Change::Status
    }

    /// Nor does one going: the API server deletes Events an hour old, as many a second as
    /// a busy cluster writes, and each reaches only the services that showed it.
    const GONE: Change = Change::Status;
}

impl Watched for Pod {
    /// Ten pods per service, each kilobytes as a `Pod`: the store keeps the few fields
    /// the model reads. The pod's spec (env, probes, volumes) is read from its workload.
    type Stored = PodFacts;
    /// The labels of the pod before. The pods of a ReplicaSet carry the same labels and
    /// arrive one after another (a list is in name order, a rollout creates them in
    /// turn), so they share one map instead of holding a copy each.
    type Memo = Option<Arc<BTreeMap<String, String>>>;

    fn keep(self, last_labels: &mut Self::Memo) -> PodFacts {
        let mut pod = PodFacts::from(self);
        match last_labels {
            Some(last) if **last == *pod.labels => pod.labels = last.clone(),
            _ => *last_labels = Some(pod.labels.clone()),
        }
        pod
    }

    fn as_pod(stored: &PodFacts) -> Option<&PodFacts> {
        Some(stored)
    }

    /// A pod's update shares the labels of the pod it replaces (the memo above only helps
    /// pods that arrive one after another).
    fn share(new: &mut PodFacts, previous: &PodFacts) {
        if new.labels == previous.labels {
            new.labels = previous.labels.clone();
        }
    }

    fn classify(old: Option<&PodFacts>, new: &PodFacts) -> Change {
        old.map_or(Change::Structure, |old| pods::change_between(old, new))
    }
}

impl Watched for ReplicaSet {
    /// A Deployment keeps ten old ReplicaSets by default, each with its pod template: the
    /// store keeps their revision, owner and what the undo diff compares of each container
    /// (image, env names, requests and limits).
    type Stored = ReplicaSetFacts;
    type Memo = ();

    fn keep(self, _: &mut ()) -> ReplicaSetFacts {
        ReplicaSetFacts::from(self)
    }

    /// Its replica count alone moving is status; anything else is its identity.
    fn classify(old: Option<&ReplicaSetFacts>, new: &ReplicaSetFacts) -> Change {
        match old {
            Some(old) if old == new => Change::None,
            Some(old) if ReplicaSetFacts { replicas: new.replicas, ..old.clone() } == *new => Change::Status,
            _ => Change::Structure,
        }
    }
}

/// The labels Helm puts on a release Secret; everything else about it is dropped.
const HELM_RELEASE_LABELS: [&str; 6] = ["name", "owner", "status", "version", "createdAt", "modifiedAt"];

impl Watched for PartialObjectMeta<Secret> {
    /// A release is named by its labels; annotations could carry anything (a
    /// last-applied configuration with data, for one) and are not kept.
    type Stored = ObjectMeta;
    type Memo = ();

    fn keep(self, _: &mut ()) -> ObjectMeta {
        let meta = self.metadata;
        let labels = meta
            .labels
            .map(|labels| labels.into_iter().filter(|(k, _)| HELM_RELEASE_LABELS.contains(&k.as_str())).collect());
        ObjectMeta {
            name: meta.name,
            namespace: meta.namespace,
            creation_timestamp: meta.creation_timestamp,
            labels,
            ..Default::default()
        }
    }
}

/// Called for every pod the watch delivers, with the one it replaces (the readiness
/// history records transitions).
pub type PodObserver = Arc<dyn Fn(&PodFacts, Option<&PodFacts>) + Send + Sync>;

/// The open watches of one context/namespace scope.
pub struct Watches {
    pub generation: u64,
    pub deployments: Arc<Collection<Deployment>>,
    pub statefulsets: Arc<Collection<StatefulSet>>,
    pub replicasets: Arc<Collection<ReplicaSetFacts>>,
    pub pods: Arc<Collection<PodFacts>>,
    pub pdbs: Arc<Collection<PodDisruptionBudget>>,
    pub hpas: Arc<Collection<HorizontalPodAutoscaler>>,
    pub pvcs: Arc<Collection<PersistentVolumeClaim>>,
    pub events: Arc<Collection<EventFacts>>,
    pub controller_revisions: Arc<Collection<ControllerRevision>>,
    pub nodes: Arc<Collection<Node>>,
    /// The pods on the nodes: `pods` itself across all namespaces, else a watch of its own.
    pub node_pods: Arc<Collection<PodFacts>>,
    /// The metadata of Helm's release Secrets.
    pub helm_releases: Arc<Collection<ObjectMeta>>,
    /// Where Services point, for database discovery.
    pub net_services: Arc<Collection<NetService>>,
    /// The ConfigMaps pod templates reference, read once per reference.
    pub config_maps: Arc<super::network::ConfigMaps>,
    /// PostgreSQL clusters run by operators (CloudNativePG, Zalando), where served.
    pub cnpg_clusters: Arc<Collection<OperatorCluster>>,
    pub zalando_clusters: Arc<Collection<OperatorCluster>>,
    /// Operators' APIs this cluster does not serve (said on the budget screen).
    not_served: Arc<Mutex<Vec<String>>>,
    /// Flux Kustomizations and HelmReleases, Argo CD Applications, where served.
    pub gitops_owners: [Arc<Collection<GitOpsOwner>>; 3],
    /// Flux Git, OCI and Helm repositories, where served.
    pub gitops_sources: [Arc<Collection<GitOpsSource>>; 3],
    /// GitOps APIs this cluster does not serve (nothing to say: most clusters have none).
    gitops_not_served: Arc<Mutex<Vec<String>>>,
    config_map_reader: Option<super::network::ConfigMapReader>,
    health: Arc<Mutex<BTreeMap<ResourceKind, WatchHealth>>>,
    pulse: latest::Sender<u64>,
    /// What changed since the model last took it.
    changes: Arc<Mutex<Changes>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Objects for Watches {
    fn objects_in(&self, namespace: &str) -> ClusterObjects {
        Watches::objects_in(self, namespace)
    }

    fn named(&self, namespace: &str, wanted: &Wanted) -> ClusterObjects {
        Watches::named(self, namespace, wanted)
    }

    fn events_named(&self, namespace: &str, names: &std::collections::BTreeSet<String>) -> Vec<Arc<EventFacts>> {
        self.events.named(namespace, names)
    }

    fn namespaces(&self) -> Vec<String> {
        self.service_namespaces()
    }

    fn on_nodes(&self) -> ClusterObjects {
        Watches::on_nodes(self)
    }

    fn network(&self) -> Network {
        Watches::network(self)
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Watches {
    /// Opens a watch per kind in `namespace` (`None`: all namespaces) of the cluster at
    /// `server_url` (named in the reasons a watch gives for being stale).
    pub fn start(
        client: kube::Client,
        server_url: &str,
        namespace: Option<&str>,
        generation: u64,
        on_pod: Option<PodObserver>,
    ) -> Self {
        let (pulse, _) = latest::channel(0u64);
        let now = Timestamp::now();
        let own_node_pods = namespace.is_some();
        let kinds = ResourceKind::ALL.into_iter().filter(|k| *k != ResourceKind::NodePods || own_node_pods);
        let health =
            Arc::new(Mutex::new(kinds.map(|k| (k, WatchHealth::Syncing { since: now })).collect::<BTreeMap<_, _>>()));
        let pods = Arc::new(Collection::default());
        let node_pods = if own_node_pods { Arc::new(Collection::default()) } else { pods.clone() };
        let mut w = Watches {
            generation,
            deployments: Default::default(),
            statefulsets: Default::default(),
            replicasets: Default::default(),
            pods,
            pdbs: Default::default(),
            hpas: Default::default(),
            pvcs: Default::default(),
            events: Default::default(),
            controller_revisions: Default::default(),
            nodes: Default::default(),
            node_pods,
            helm_releases: Default::default(),
            net_services: Default::default(),
            config_maps: Default::default(),
            config_map_reader: None,
            cnpg_clusters: Default::default(),
            zalando_clusters: Default::default(),
            not_served: Default::default(),
            gitops_owners: Default::default(),
            gitops_sources: Default::default(),
            gitops_not_served: Default::default(),
            health,
            pulse,
            changes: Arc::new(Mutex::new(Changes::everything_at_start())),
            tasks: Vec::new(),
        };
        let ctx = WatchContext {
            client,
            namespace: namespace.map(str::to_string),
            server_url: server_url.to_string(),
            health: w.health.clone(),
            pulse: w.pulse.clone(),
            changes: w.changes.clone(),
            templates_changed: Arc::new(tokio::sync::Notify::new()),
        };
        let reader = super::network::ConfigMapReader {
            client: ctx.client.clone(),
            store: w.config_maps.clone(),
            templates: Arc::new(super::network::Templates {
                deployments: w.deployments.clone(),
                statefulsets: w.statefulsets.clone(),
                changed: ctx.templates_changed.clone(),
            }),
        };
        w.config_map_reader = Some(reader.clone());
        w.tasks = vec![
            ctx.spawn::<Deployment>(ResourceKind::Deployments, w.deployments.clone(), None),
            ctx.spawn::<StatefulSet>(ResourceKind::StatefulSets, w.statefulsets.clone(), None),
            ctx.spawn::<ReplicaSet>(ResourceKind::ReplicaSets, w.replicasets.clone(), None),
            ctx.spawn::<Pod>(ResourceKind::Pods, w.pods.clone(), on_pod),
            ctx.spawn::<PodDisruptionBudget>(ResourceKind::PodDisruptionBudgets, w.pdbs.clone(), None),
            ctx.spawn::<HorizontalPodAutoscaler>(ResourceKind::HorizontalPodAutoscalers, w.hpas.clone(), None),
            ctx.spawn::<PersistentVolumeClaim>(ResourceKind::PersistentVolumeClaims, w.pvcs.clone(), None),
            ctx.spawn::<CoreEvent>(ResourceKind::Events, w.events.clone(), None),
            ctx.spawn::<ControllerRevision>(ResourceKind::ControllerRevisions, w.controller_revisions.clone(), None),
            ctx.spawn_with::<Node>(
                ResourceKind::Nodes,
                w.nodes.clone(),
                None,
                objects_of(Api::all(ctx.client.clone())),
            ),
            ctx.spawn_with::<PartialObjectMeta<Secret>>(
                ResourceKind::HelmReleases,
                w.helm_releases.clone(),
                None,
                helm_release_metadata(&ctx),
            ),
            ctx.spawn::<KubeService>(ResourceKind::Services, w.net_services.clone(), None),
            reader.spawn(ctx.changes.clone(), ctx.pulse.clone()),
            ctx.spawn_if_served::<CnpgCluster>(
                ResourceKind::CnpgClusters,
                w.cnpg_clusters.clone(),
                w.not_served.clone(),
            ),
            ctx.spawn_if_served::<ZalandoCluster>(
                ResourceKind::ZalandoClusters,
                w.zalando_clusters.clone(),
                w.not_served.clone(),
            ),
            ctx.spawn_if_served::<FluxKustomization>(
                ResourceKind::FluxKustomizations,
                w.gitops_owners[0].clone(),
                w.gitops_not_served.clone(),
            ),
            ctx.spawn_if_served::<FluxHelmRelease>(
                ResourceKind::FluxHelmReleases,
                w.gitops_owners[1].clone(),
                w.gitops_not_served.clone(),
            ),
            ctx.spawn_if_served::<ArgoApplication>(
                ResourceKind::ArgoApplications,
                w.gitops_owners[2].clone(),
                w.gitops_not_served.clone(),
            ),
            ctx.spawn_if_served::<FluxGitRepository>(
                ResourceKind::FluxGitRepositories,
                w.gitops_sources[0].clone(),
                w.gitops_not_served.clone(),
            ),
            ctx.spawn_if_served::<FluxOciRepository>(
                ResourceKind::FluxOciRepositories,
                w.gitops_sources[1].clone(),
                w.gitops_not_served.clone(),
            ),
            ctx.spawn_if_served::<FluxHelmRepository>(
                ResourceKind::FluxHelmRepositories,
                w.gitops_sources[2].clone(),
                w.gitops_not_served.clone(),
            ),
        ];
        if own_node_pods {
            let everywhere = objects_of(Api::all(ctx.client.clone()));
            w.tasks.push(ctx.spawn_with::<Pod>(ResourceKind::NodePods, w.node_pods.clone(), None, everywhere));
        }
        w
    }

    /// Every collection's current objects, as the model takes them.
    pub fn objects(&self) -> ClusterObjects {
        ClusterObjects {
            deployments: self.deployments.snapshot(),
            statefulsets: self.statefulsets.snapshot(),
            replicasets: self.replicasets.snapshot(),
            pods: self.pods.snapshot(),
            pdbs: self.pdbs.snapshot(),
            hpas: self.hpas.snapshot(),
            pvcs: self.pvcs.snapshot(),
            events: self.events.snapshot(),
            controller_revisions: self.controller_revisions.snapshot(),
            nodes: self.nodes.snapshot(),
            node_pods: self.node_pods.snapshot(),
            helm_releases: self.helm_releases.snapshot(),
            network: self.network(),
            gitops_owners: self.gitops_owners(),
            gitops_sources: self.gitops_sources(),
        }
    }

    /// Every GitOps owner read, in kind/namespace/name order.
    pub fn gitops_owners(&self) -> Vec<Arc<GitOpsOwner>> {
        self.gitops_owners.iter().flat_map(|c| c.snapshot()).collect()
    }

    /// Every Flux source read, and the kinds listed now (served, allowed, and listed at
    /// least once): a source absent from a kind not listed is unknown, not missing.
    pub fn gitops_sources(&self) -> Sources {
        let health = self.health();
        let readable = health
            .iter()
            .filter(|(_, h)| matches!(h, WatchHealth::Live { .. } | WatchHealth::Silent { .. }))
            .filter_map(|(kind, _)| kind.source_kind())
            .collect();
        Sources { read: self.gitops_sources.iter().flat_map(|c| c.snapshot()).collect(), readable }
    }

    /// What database discovery reads besides workloads.
    pub fn network(&self) -> Network {
        let mut operators: Vec<OperatorCluster> = self
            .cnpg_clusters
            .snapshot()
            .iter()
            .chain(&self.zalando_clusters.snapshot())
            .map(|c| (**c).clone())
            .collect();
        operators.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut notes = self.config_maps.notes();
        notes.extend(self.not_served.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned());
        for (kind, health) in self.health() {
            if kind.is_gitops() {
                continue;
            }
            if let (WatchHealth::NoAccess { permission }, Some(_)) = (health, kind.served_only_as()) {
                notes.push(format!("{} are not read: may not {permission}", kind.plural()));
            }
        }
        Network {
            services: self.net_services.snapshot().iter().map(|s| (**s).clone()).collect(),
            config_maps: self.config_maps.data(),
            operators,
            notes,
        }
    }

    /// The namespaces where services may be: those holding pods or workloads.
    pub fn service_namespaces(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> = self.pods.namespaces().into_iter().collect();
        names.extend(self.deployments.namespaces());
        names.extend(self.statefulsets.namespaces());
        names.into_iter().collect()
    }

    /// The objects of one namespace of the scope, as the live model rebuilds it; the
    /// nodes and the pods on them are not included (they feed the capacity alone).
    pub fn objects_in(&self, namespace: &str) -> ClusterObjects {
        ClusterObjects {
            replicasets: self.replicasets.in_namespace(namespace),
            pods: self.pods.in_namespace(namespace),
            events: self.events.in_namespace(namespace),
            ..self.shared_in(namespace)
        }
    }

    /// What a reassembly after status changes reads of one namespace
    /// ([`crate::model::live::Objects::named`]): ReplicaSets, pods and Events looked up
    /// by name.
    pub fn named(&self, namespace: &str, wanted: &Wanted) -> ClusterObjects {
        ClusterObjects {
            replicasets: self.replicasets.named(namespace, &wanted.replicasets),
            pods: self.pods.named(namespace, &wanted.pods),
            events: self.events.named(namespace, &wanted.events),
            ..self.shared_in(namespace)
        }
    }

    /// The objects of one namespace every service of it reads alike.
    fn shared_in(&self, namespace: &str) -> ClusterObjects {
        ClusterObjects {
            deployments: self.deployments.in_namespace(namespace),
            statefulsets: self.statefulsets.in_namespace(namespace),
            replicasets: Vec::new(),
            pods: Vec::new(),
            pdbs: self.pdbs.in_namespace(namespace),
            hpas: self.hpas.in_namespace(namespace),
            pvcs: self.pvcs.in_namespace(namespace),
            events: Vec::new(),
            controller_revisions: self.controller_revisions.in_namespace(namespace),
            nodes: Vec::new(),
            node_pods: Vec::new(),
            helm_releases: self.helm_releases.in_namespace(namespace),
            network: Default::default(),
            gitops_owners: self.gitops_owners(),
            gitops_sources: self.gitops_sources(),
        }
    }

    /// The nodes and the pods on them, for the nodes' free capacity.
    pub fn on_nodes(&self) -> ClusterObjects {
        ClusterObjects { nodes: self.nodes.snapshot(), node_pods: self.node_pods.snapshot(), ..Default::default() }
    }

    /// What changed since the last call (everything, the first time).
    pub fn take_changes(&self) -> Changes {
        std::mem::take(&mut *self.changes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A receiver that changes whenever any collection or health record changes.
    pub fn subscribe(&self) -> latest::Receiver<u64> {
        self.pulse.subscribe()
    }

    pub fn health(&self) -> BTreeMap<ResourceKind, WatchHealth> {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn all_synced(&self) -> bool {
        self.health().values().all(WatchHealth::is_synced)
    }

    /// Reads the ConfigMaps the listed templates reference now, rather than when the
    /// background reader gets to them: a one-shot command's snapshot needs them settled.
    pub async fn read_config_maps_now(&self) {
        if let Some(reader) = &self.config_map_reader {
            reader.refresh().await;
        }
    }

    /// Waits until every watch has listed (or is known to be forbidden), or `timeout`.
    /// Returns the health of the ones still not synced.
    pub async fn wait_synced(&self, timeout: std::time::Duration) -> Vec<(ResourceKind, WatchHealth)> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.all_synced() {
                return Vec::new();
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return self.health().into_iter().filter(|(_, h)| !h.is_synced()).collect();
            }
        }
    }
}

#[derive(Clone)]
struct WatchContext {
    client: kube::Client,
    namespace: Option<String>,
    /// For the reasons the status line gives ("connection refused at https://…").
    server_url: String,
    health: Arc<Mutex<BTreeMap<ResourceKind, WatchHealth>>>,
    pulse: latest::Sender<u64>,
    changes: Arc<Mutex<Changes>>,
    /// Told when a workload's template may have changed (the ConfigMaps to read).
    templates_changed: Arc<tokio::sync::Notify>,
}

/// One kind's list-and-watch, kept across reconnects.
struct Feed<K: Watched> {
    kind: ResourceKind,
    collection: Arc<Collection<K::Stored>>,
    on_pod: Option<PodObserver>,
    memo: K::Memo,
    /// The last resourceVersion heard; `None`: a relist is due.
    version: Option<String>,
    /// When the API server was last heard from on this watch (a list, a change, a
    /// bookmark): the age of the data when the watch goes silent.
    heard: Option<Timestamp>,
    retry: Backoff,
    refused: Backoff,
}

impl<K: Watched> Feed<K> {
    fn new(kind: ResourceKind, collection: Arc<Collection<K::Stored>>, on_pod: Option<PodObserver>) -> Self {
        Feed {
            kind,
            collection,
            on_pod,
            memo: K::Memo::default(),
            version: None,
            heard: None,
            retry: Backoff::default(),
            refused: Backoff::forbidden(),
        }
    }
}

impl WatchContext {
    fn set_health(&self, kind: ResourceKind, health: WatchHealth) {
        let mut map = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(&kind) != Some(&health) {
            map.insert(kind, health);
            drop(map);
            self.bump();
        }
    }

    fn bump(&self) {
        self.pulse.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Notes what a change touched, for the next model update: pods and nodes feed the
    /// nodes' capacity, a pod's status alone touches only its service, anything else its
    /// namespace.
    fn record(&self, kind: ResourceKind, key: Option<&Key>, change: Change) {
        let workload = matches!(kind, ResourceKind::Deployments | ResourceKind::StatefulSets);
        if workload && matches!(change, Change::Structure | Change::All) {
            self.templates_changed.notify_one();
        }
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        // A template is what discovery reads of a workload (env, images, labels, volumes).
        if workload && change == Change::Structure {
            changes.network();
        }
        let Some((namespace, name)) = key.filter(|_| change != Change::All) else {
            changes.everything();
            return;
        };
        match kind {
            ResourceKind::Nodes => changes.capacity(),
            ResourceKind::Services | ResourceKind::CnpgClusters | ResourceKind::ZalandoClusters => changes.network(),
            // An owner applies workloads of any namespace: every service is found again.
            kind if kind.is_gitops() => changes.everything(),
            ResourceKind::NodePods if change == Change::Structure => changes.capacity(),
            ResourceKind::NodePods => {}
            ResourceKind::Pods if change == Change::Structure => {
                changes.capacity();
                changes.namespace(namespace);
            }
            _ => match (kind.part(), change) {
                (Some(part), Change::Status) => changes.status(namespace, part, name),
                _ => changes.namespace(namespace),
            },
        }
    }

    /// Watches a namespaced kind in the scope's namespace (or all).
    fn spawn<K>(
        &self,
        kind: ResourceKind,
        collection: Arc<Collection<K::Stored>>,
        on_pod: Option<PodObserver>,
    ) -> JoinHandle<()>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let api: Api<DeserializeGuard<K>> = match &self.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        self.spawn_with::<K>(kind, collection, on_pod, objects_of(api))
    }

    /// Watches a kind that only some clusters serve (an operator's CRD) when this one
    /// does; when it does not, the kind is dropped from the health record (nothing to wait
    /// for, nothing stale) and said in `not_served`.
    fn spawn_if_served<K>(
        &self,
        kind: ResourceKind,
        collection: Arc<Collection<K::Stored>>,
        not_served: Arc<Mutex<Vec<String>>>,
    ) -> JoinHandle<()>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let ctx = self.clone();
        let group_version = kind.served_only_as().unwrap_or_default();
        tokio::spawn(async move {
            if !super::network::serves(&ctx.client, group_version, kind.plural()).await {
                not_served
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("{group_version} is not served here: no {} to read", kind.plural()));
                ctx.health.lock().unwrap_or_else(|p| p.into_inner()).remove(&kind);
                ctx.bump();
                return;
            }
            let api: Api<DeserializeGuard<K>> = match &ctx.namespace {
                Some(ns) if !kind.cluster_wide() => Api::namespaced(ctx.client.clone(), ns),
                _ => Api::all(ctx.client.clone()),
            };
            ctx.clone().run::<K>(Feed::new(kind, collection, None), objects_of(api)).await;
        })
    }

    /// Lists and watches a kind through `source`.
    fn spawn_with<K>(
        &self,
        kind: ResourceKind,
        collection: Arc<Collection<K::Stored>>,
        on_pod: Option<PodObserver>,
        source: Source<K>,
    ) -> JoinHandle<()>
    where
        K: Watched,
    {
        let ctx = self.clone();
        let feed = Feed::new(kind, collection, on_pod);
        tokio::spawn(async move { ctx.run::<K>(feed, source).await })
    }

    /// Lists, watches, and after every stop starts again: a failure relists after a
    /// backoff (the relist completing is the proof that the API is back, even for a kind
    /// that never changes); silence re-opens the watch at once; a refusal forgets the
    /// kind's objects and asks again after a longer backoff.
    async fn run<K>(self, mut feed: Feed<K>, source: Source<K>)
    where
        K: Watched,
    {
        let bound = silence_bound();
        loop {
            match self.list_and_watch(&source, &mut feed, bound).await {
                Stop::Silent => {}
                Stop::Failed => {
                    feed.version = None;
                    tokio::time::sleep(feed.retry.next_delay()).await;
                }
                Stop::Forbidden => {
                    feed.version = None;
                    if feed.collection.forget() {
                        self.record(feed.kind, None, Change::All);
                        self.bump();
                    }
                    tokio::time::sleep(feed.refused.next_delay()).await;
                }
            }
        }
    }

    /// Lists when no version is known, then watches from the last version heard, re-opening
    /// the watch each time the server ends it (its `timeoutSeconds`), until an error, a
    /// refusal or silence longer than `bound`. Every change and every bookmark counts as
    /// heard; a 410 Gone relists.
    async fn list_and_watch<K>(&self, source: &Source<K>, feed: &mut Feed<K>, bound: std::time::Duration) -> Stop
    where
        K: Watched,
    {
        'watch: loop {
            let version = match feed.version.clone() {
                Some(version) => version,
                None => match self.relist(source, feed, bound).await {
                    Ok(version) => version,
                    Err(stop) => return stop,
                },
            };
            let opened = tokio::time::Instant::now();
            let mut stream = match tokio::time::timeout(bound, (source.watch)(version)).await {
                Err(_) => return self.silent(feed, bound),
                Ok(Err(kube::Error::Api(status))) if status.code == 410 => {
                    feed.version = None;
                    continue;
                }
                Ok(Err(error)) => return self.refused_or_failed(feed.kind, &error),
                Ok(Ok(stream)) => stream,
            };
            let mut delivered = false;
            loop {
                let Ok(item) = tokio::time::timeout(bound, stream.next()).await else {
                    return self.silent(feed, bound);
                };
                match item {
                    // The server ended the watch at its deadline (or dropped it): watch
                    // again from the last version heard.
                    None => break,
                    Some(Err(error)) => return self.refused_or_failed(feed.kind, &error),
                    Some(Ok(WatchEvent::Added(obj) | WatchEvent::Modified(obj))) => {
                        feed.version = version_of(&obj).or(feed.version.take());
                        self.deliver(feed, Event::Apply(obj));
                    }
                    Some(Ok(WatchEvent::Deleted(obj))) => {
                        feed.version = version_of(&obj).or(feed.version.take());
                        self.deliver(feed, Event::Delete(obj));
                    }
                    Some(Ok(WatchEvent::Bookmark(bookmark))) => {
                        feed.version = Some(bookmark.metadata.resource_version);
                    }
                    // The server no longer has that version: relist.
                    Some(Ok(WatchEvent::Error(status))) if status.code == 410 => {
                        feed.version = None;
                        continue 'watch;
                    }
                    Some(Ok(WatchEvent::Error(status))) => {
                        return self.refused_or_failed(feed.kind, &kube::Error::Api(status));
                    }
                }
                delivered = true;
                self.heard(feed);
            }
            if delivered {
                continue;
            }
            if opened.elapsed() < std::time::Duration::from_secs(1) {
                // A watch that ends as soon as it opens, again and again, must not spin.
                self.reconnecting(feed.kind, "the watch ended as soon as it opened".into());
                return Stop::Failed;
            }
            // A server that sends no bookmarks still keeps the deadline it was given: the
            // watch ending cleanly is a sign of life too.
            self.heard(feed);
        }
    }

    /// A full list, page by page, applied atomically at the end (never a wiped table).
    /// Returns the list's resourceVersion, where the watch starts.
    async fn relist<K>(
        &self,
        source: &Source<K>,
        feed: &mut Feed<K>,
        bound: std::time::Duration,
    ) -> Result<String, Stop>
    where
        K: Watched,
    {
        feed.collection.apply(Event::Init, K::classify, K::GONE);
        let mut page = None;
        loop {
            let (items, meta) = match tokio::time::timeout(bound, (source.list)(page.take())).await {
                Err(_) => return Err(self.silent(feed, bound)),
                Ok(Err(error)) => return Err(self.refused_or_failed(feed.kind, &error)),
                Ok(Ok(list)) => list,
            };
            for obj in items {
                self.deliver(feed, Event::InitApply(obj));
            }
            if let Some(next) = meta.continue_.filter(|c| !c.is_empty()) {
                page = Some(next);
                continue;
            }
            let Some(version) = meta.resource_version.filter(|v| !v.is_empty()) else {
                self.reconnecting(feed.kind, "the list carried no resourceVersion".into());
                return Err(Stop::Failed);
            };
            self.deliver(feed, Event::InitDone);
            feed.version = Some(version.clone());
            self.heard(feed);
            return Ok(version);
        }
    }

    /// Decodes one event into the collection, telling the pod observer first.
    fn deliver<K>(&self, feed: &mut Feed<K>, event: Event<DeserializeGuard<K>>)
    where
        K: Watched,
    {
        let Some(event) = self.decode(event, &feed.collection, &mut feed.memo) else { return };
        if let (Some(observe), Some((key, stored))) = (&feed.on_pod, event_object(&event))
            && let Some(pod) = K::as_pod(stored)
        {
            let previous = feed.collection.get(key);
            observe(pod, previous.as_deref().and_then(K::as_pod));
        }
        let key = event_object(&event).map(|(key, _)| key.clone());
        let applied = match &event {
            Event::Apply((_, stored)) => Some(stored.clone()),
            _ => None,
        };
        let change = feed.collection.apply(event, K::classify, K::GONE);
        if let Some(stored) = applied {
            feed.collection.drop_unread(&K::crowded_out(&feed.collection, &stored));
        }
        if change != Change::None {
            self.record(feed.kind, key.as_ref(), change);
            self.bump();
        }
    }

    /// The API server answered on this watch: it is live (health changes, and so pulses,
    /// only when it was not live before, so bookmarks at idle redraw nothing).
    fn heard<K: Watched>(&self, feed: &mut Feed<K>) {
        feed.heard = Some(Timestamp::now());
        feed.retry.reset();
        feed.refused.reset();
        self.mark_live(feed.kind);
    }

    fn silent<K: Watched>(&self, feed: &Feed<K>, bound: std::time::Duration) -> Stop {
        match feed.heard {
            Some(heard) => self.set_health(feed.kind, WatchHealth::Silent { heard }),
            None => self.reconnecting(
                feed.kind,
                format!(
                    "no answer from {} within {}",
                    self.server_url,
                    crate::config::duration::format_duration(bound)
                ),
            ),
        }
        Stop::Silent
    }

    fn refused_or_failed(&self, kind: ResourceKind, error: &kube::Error) -> Stop {
        if let Some(permission) = self.forbidden(kind, error) {
            self.set_health(kind, WatchHealth::NoAccess { permission });
            return Stop::Forbidden;
        }
        self.reconnecting(kind, describe_kube_error_at(error, &self.server_url));
        Stop::Failed
    }

    fn reconnecting(&self, kind: ResourceKind, error: String) {
        let since = match self.current(kind) {
            Some(WatchHealth::Reconnecting { since, .. }) => since,
            _ => Timestamp::now(),
        };
        self.set_health(kind, WatchHealth::Reconnecting { since, error });
    }

    fn current(&self, kind: ResourceKind) -> Option<WatchHealth> {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).get(&kind).cloned()
    }

    fn mark_live(&self, kind: ResourceKind) {
        if !matches!(self.current(kind), Some(WatchHealth::Live { .. })) {
            self.set_health(kind, WatchHealth::Live { since: Timestamp::now() });
        }
    }

    /// Unwraps guarded objects, keeping what the store keeps of good ones and counting
    /// (and dropping) bad ones.
    fn decode<K>(
        &self,
        event: Event<DeserializeGuard<K>>,
        collection: &Collection<K::Stored>,
        memo: &mut K::Memo,
    ) -> Option<Event<(Key, Arc<K::Stored>)>>
    where
        K: Watched,
    {
        let mut bad = 0usize;
        let mut take = |guard: DeserializeGuard<K>| match guard.0 {
            Ok(obj) => {
                let key = key_of(&obj);
                let mut stored = obj.keep(memo);
                if let Some(previous) = collection.get(&key) {
                    K::share(&mut stored, &previous);
                }
                Some((key, Arc::new(stored)))
            }
            Err(_) => {
                bad += 1;
                None
            }
        };
        let decoded = match event {
            Event::Init => Some(Event::Init),
            Event::InitDone => Some(Event::InitDone),
            Event::InitApply(g) => take(g).map(Event::InitApply),
            Event::Apply(g) => take(g).map(Event::Apply),
            Event::Delete(g) => take(g).map(Event::Delete),
        };
        if bad > 0 {
            collection.skipped_malformed(bad);
        }
        decoded
    }

    fn forbidden(&self, kind: ResourceKind, error: &kube::Error) -> Option<String> {
        let forbidden = matches!(error, kube::Error::Api(s) if s.code == 403);
        forbidden.then(|| match &self.namespace {
            _ if kind == ResourceKind::Nodes => "list nodes (cluster-scoped)".to_string(),
            Some(ns) if !kind.cluster_wide() => format!("list {} in ns {ns}", kind.plural()),
            _ => format!("list {} in all namespaces", kind.plural()),
        })
    }
}

/// The resourceVersion an event carries (a malformed object's too: its metadata is read).
fn version_of<K: Resource>(obj: &DeserializeGuard<K>) -> Option<String> {
    let meta = match &obj.0 {
        Ok(obj) => obj.meta(),
        Err(invalid) => &invalid.metadata,
    };
    meta.resource_version.clone().filter(|v| !v.is_empty())
}

/// How one kind is listed (a page at a time: `None` is the first page, else the continue
/// token) and watched (from a resourceVersion). Whole objects and metadata-only Secrets
/// go through the same loop.
pub struct Source<K> {
    list: Box<dyn Fn(Option<String>) -> Answer<Page<K>> + Send + Sync>,
    watch: Box<dyn Fn(String) -> Answer<EventStream<K>> + Send + Sync>,
}

/// A request on its way.
type Answer<T> = BoxFuture<'static, kube::Result<T>>;

/// A list served from the API server's watch cache (`resourceVersion=0`, as kube-runtime's
/// watcher asks), in pages.
fn list_params(labels: Option<&str>, page: Option<String>) -> ListParams {
    ListParams {
        label_selector: labels.map(str::to_string),
        resource_version: Some("0".into()),
        version_match: Some(VersionMatch::NotOlderThan),
        limit: Some(PAGE_SIZE),
        continue_token: page,
        ..Default::default()
    }
}

/// A watch with bookmarks (so a quiet watch is still heard) and a server-side deadline.
fn watch_params(labels: Option<&str>) -> WatchParams {
    WatchParams {
        label_selector: labels.map(str::to_string),
        timeout: Some(WATCH_TIMEOUT_S),
        bookmarks: true,
        ..Default::default()
    }
}

fn objects_of<K>(api: Api<DeserializeGuard<K>>) -> Source<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let lister = api.clone();
    Source {
        list: Box::new(move |page| {
            let api = lister.clone();
            async move { super::raw::list(&api, &list_params(None, page)).await }.boxed()
        }),
        watch: Box::new(move |version| {
            let api = api.clone();
            async move { super::raw::watch(&api, &watch_params(None), &version).await }.boxed()
        }),
    }
}

/// Helm's release Secrets (label `owner=helm`) as PartialObjectMetadata: the API server
/// answers with metadata alone, so a release's encoded body never reaches the cockpit.
/// The Api must be of `PartialObjectMeta` itself: kube sends the metadata-only Accept
/// header for it, but not for a `DeserializeGuard` around it.
fn helm_release_metadata(ctx: &WatchContext) -> Source<PartialObjectMeta<Secret>> {
    const HELM: Option<&str> = Some("owner=helm");
    let api: Api<PartialObjectMeta<Secret>> = match &ctx.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let lister = api.clone();
    Source {
        list: Box::new(move |page| {
            let api = lister.clone();
            async move {
                let list = api.list(&list_params(HELM, page)).await?;
                Ok((list.items.into_iter().map(|o| DeserializeGuard(Ok(o))).collect(), list.metadata))
            }
            .boxed()
        }),
        watch: Box::new(move |version| {
            let api = api.clone();
            async move { api.watch(&watch_params(HELM), &version).await.map(|s| s.map_ok(guarded).boxed()) }.boxed()
        }),
    }
}

/// Metadata cannot be malformed the way a body can; it is guarded only to share the loop.
fn guarded<K>(event: WatchEvent<K>) -> WatchEvent<DeserializeGuard<K>> {
    let wrap = |obj| DeserializeGuard(Ok(obj));
    match event {
        WatchEvent::Added(o) => WatchEvent::Added(wrap(o)),
        WatchEvent::Modified(o) => WatchEvent::Modified(wrap(o)),
        WatchEvent::Deleted(o) => WatchEvent::Deleted(wrap(o)),
        WatchEvent::Bookmark(b) => WatchEvent::Bookmark(b),
        WatchEvent::Error(e) => WatchEvent::Error(e),
    }
}

fn event_object<K>(event: &Event<K>) -> Option<&K> {
    match event {
        Event::Apply(o) | Event::InitApply(o) | Event::Delete(o) => Some(o),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::Resources;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;

    /// A context whose client is never used: the tests hand the loop a [`Source`].
    fn offline() -> (WatchContext, Arc<Mutex<BTreeMap<ResourceKind, WatchHealth>>>) {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let health = Arc::new(Mutex::new(BTreeMap::new()));
        let ctx = WatchContext {
            client: kube::Client::try_from(config).unwrap(),
            namespace: Some("shop".into()),
            server_url: "http://127.0.0.1:9".into(),
            health: health.clone(),
            pulse: latest::channel(0).0,
            changes: Default::default(),
            templates_changed: Default::default(),
        };
        (ctx, health)
    }

    fn feed(collection: &Arc<Collection<Deployment>>) -> Feed<Deployment> {
        Feed {
            kind: ResourceKind::Deployments,
            collection: collection.clone(),
            on_pod: None,
            memo: (),
            version: None,
            heard: None,
            retry: Backoff::default(),
            refused: Backoff::forbidden(),
        }
    }

    fn deployment(name: &str, rv: &str) -> DeserializeGuard<Deployment> {
        let replicas = if name == "malformed" { serde_json::json!("many") } else { serde_json::json!(1) };
        serde_json::from_value(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": rv}, "spec": {"replicas": replicas}}))
        .unwrap()
    }

    fn event(json: serde_json::Value) -> kube::Result<WatchEvent<DeserializeGuard<Deployment>>> {
        Ok(serde_json::from_value(json).unwrap())
    }

    fn names(collection: &Collection<Deployment>) -> Vec<String> {
        collection.snapshot().iter().map(|d| d.metadata.name.clone().unwrap_or_default()).collect()
    }

    #[tokio::test]
    async fn bookmarks_are_heard_a_silent_watch_is_reported_and_a_malformed_object_is_skipped() {
        let (ctx, health) = offline();
        let collection = Arc::new(Collection::default());
        let source: Source<Deployment> = Source {
            list: Box::new(|page| {
                async move {
                    Ok(match page.as_deref() {
                        None => (
                            vec![deployment("api", "5"), deployment("malformed", "6")],
                            ListMeta { continue_: Some("page-2".into()), ..Default::default() },
                        ),
                        Some(_) => (
                            vec![deployment("web", "9")],
                            ListMeta { resource_version: Some("10".into()), ..Default::default() },
                        ),
                    })
                }
                .boxed()
            }),
            watch: Box::new(|version| {
                async move {
                    assert_eq!(version, "10", "the watch starts where the list ended");
                    let events = vec![
                        event(serde_json::json!({"type": "BOOKMARK", "object": {"kind": "Deployment",
                            "apiVersion": "apps/v1", "metadata": {"resourceVersion": "11"}}})),
                        Ok(WatchEvent::Added(deployment("worker", "12"))),
                        event(serde_json::json!({"type": "BOOKMARK", "object": {"kind": "Deployment",
                            "apiVersion": "apps/v1", "metadata": {"resourceVersion": "13"}}})),
                    ];
                    // Then nothing: a server that hangs with the connection open.
                    Ok(futures::stream::iter(events).chain(futures::stream::pending()).boxed())
                }
                .boxed()
            }),
        };
        let mut feed = feed(&collection);
        let stop = ctx.list_and_watch(&source, &mut feed, std::time::Duration::from_millis(300)).await;
        assert!(matches!(stop, Stop::Silent));
        assert_eq!(names(&collection), ["api", "web", "worker"]);
        assert_eq!(collection.malformed(), 1);
        assert_eq!(feed.version.as_deref(), Some("13"), "the last bookmark is where the watch resumes");
        let heard = feed.heard.expect("heard");
        let health = health.lock().unwrap();
        assert_eq!(health.get(&ResourceKind::Deployments), Some(&WatchHealth::Silent { heard }));
    }

    #[tokio::test]
    async fn gone_relists_and_a_refusal_is_no_access() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (ctx, health) = offline();
        let collection = Arc::new(Collection::default());
        let lists = Arc::new(AtomicUsize::new(0));
        let watches = Arc::new(AtomicUsize::new(0));
        let (l, w) = (lists.clone(), watches.clone());
        let source: Source<Deployment> = Source {
            list: Box::new(move |_| {
                let n = l.fetch_add(1, Ordering::SeqCst);
                async move {
                    let name = if n == 0 { "before" } else { "after" };
                    Ok((
                        vec![deployment(name, "1")],
                        ListMeta { resource_version: Some("1".into()), ..Default::default() },
                    ))
                }
                .boxed()
            }),
            watch: Box::new(move |_| {
                let n = w.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        let gone = event(serde_json::json!({"type": "ERROR", "object": {"status": "Failure",
                            "message": "too old resource version", "reason": "Expired", "code": 410}}));
                        Ok(futures::stream::iter(vec![gone]).chain(futures::stream::pending()).boxed())
                    } else {
                        let status: kube::core::Status =
                            serde_json::from_value(serde_json::json!({"status": "Failure",
                            "message": "deployments is forbidden", "reason": "Forbidden", "code": 403}))
                            .unwrap();
                        Err(kube::Error::Api(Box::new(status)))
                    }
                }
                .boxed()
            }),
        };
        let mut feed = feed(&collection);
        let stop = ctx.list_and_watch(&source, &mut feed, std::time::Duration::from_secs(5)).await;
        assert!(matches!(stop, Stop::Forbidden));
        assert_eq!((lists.load(Ordering::SeqCst), watches.load(Ordering::SeqCst)), (2, 2), "410 relisted");
        assert_eq!(names(&collection), ["after"], "the relist replaced the list");
        assert_eq!(
            health.lock().unwrap().get(&ResourceKind::Deployments),
            Some(&WatchHealth::NoAccess { permission: "list deployments in ns shop".into() })
        );
    }

    #[test]
    fn a_forbidden_kind_is_asked_again_within_four_minutes_at_most() {
        let mut refused = Backoff::forbidden();
        let delays: Vec<_> = (0..12).map(|_| refused.next_delay()).collect();
        assert!(delays[0] <= std::time::Duration::from_millis(2400), "{delays:?}");
        assert!(delays.iter().all(|d| *d <= std::time::Duration::from_secs(288)), "{delays:?}");
        assert!(delays[11] >= std::time::Duration::from_secs(192), "{delays:?}");
        refused.reset();
        assert!(refused.next_delay() <= std::time::Duration::from_millis(2400));
    }

    #[test]
    fn events_keep_what_the_model_reads_and_nothing_else() {
        let event: CoreEvent = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api-1.17", "namespace": "shop", "uid": "u", "resourceVersion": "9",
                         "annotations": {"a": "b"}, "creationTimestamp": "2025-06-01T10:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "api-1", "namespace": "shop", "uid": "p", "fieldPath": "spec"},
            "reason": "BackOff", "message": "Back-off", "type": "Warning", "count": 3,
            "source": {"component": "kubelet", "host": "node-a"}, "reportingComponent": "kubelet",
            "reportingInstance": "node-a", "lastTimestamp": "2025-06-01T10:05:00Z"}))
        .unwrap();
        let kept = event.keep(&mut ());
        assert_eq!((kept.namespace.as_str(), kept.name.as_str()), ("shop", "api-1.17"));
        assert_eq!((kept.about_kind.as_str(), kept.about_name.as_str()), ("Pod", "api-1"));
        let row = &kept.row;
        assert_eq!((row.reason.as_str(), row.message.as_str(), row.count), ("BackOff", "Back-off", 3));
        assert_eq!((row.warning, row.object.as_str()), (true, "pod/api-1"));
        assert_eq!(row.last_seen, Some("2025-06-01T10:05:00Z".parse().unwrap()));
    }

    #[tokio::test]
    async fn a_changed_template_asks_for_discovery_a_new_pod_does_not() {
        let (ctx, _) = offline();
        let key = ("shop".to_string(), "api".to_string());
        ctx.record(ResourceKind::Pods, Some(&key), Change::Structure);
        ctx.record(ResourceKind::Deployments, Some(&key), Change::Status);
        assert!(!ctx.changes.lock().unwrap().network, "pods and a workload's status say nothing of databases");
        ctx.record(ResourceKind::Deployments, Some(&key), Change::Structure);
        assert!(ctx.changes.lock().unwrap().network);
    }

    #[test]
    fn a_status_update_is_told_from_a_spec_change() {
        let d = |v: serde_json::Value| -> Deployment { serde_json::from_value(v).unwrap() };
        let base = serde_json::json!({"metadata": {"name": "api", "namespace": "shop", "resourceVersion": "1"},
            "spec": {"replicas": 2, "selector": {}, "template": {}}, "status": {"readyReplicas": 2}});
        let mut ready_one = base.clone();
        ready_one["metadata"]["resourceVersion"] = serde_json::json!("2");
        ready_one["status"]["readyReplicas"] = serde_json::json!(1);
        let mut scaled = ready_one.clone();
        scaled["spec"]["replicas"] = serde_json::json!(3);
        let mut relabelled = ready_one.clone();
        relabelled["metadata"]["labels"] = serde_json::json!({"team": "x"});
        let classify = |v| Deployment::classify(Some(&d(base.clone())), &d(v));
        assert_eq!(classify(ready_one), Change::Status);
        assert_eq!(classify(scaled), Change::Structure);
        assert_eq!(classify(relabelled), Change::Structure);
        assert_eq!(Deployment::classify(None, &d(base.clone())), Change::Structure, "a new workload");

        let rs =
            |replicas: i32, revision: i64| ReplicaSetFacts { replicas, revision: Some(revision), ..Default::default() };
        assert_eq!(ReplicaSet::classify(Some(&rs(2, 1)), &rs(2, 1)), Change::None);
        assert_eq!(ReplicaSet::classify(Some(&rs(2, 1)), &rs(1, 1)), Change::Status);
        assert_eq!(ReplicaSet::classify(Some(&rs(2, 1)), &rs(2, 2)), Change::Structure);
    }

    #[test]
    fn a_forbidden_kind_is_forgotten_not_shown_as_current() {
        let c: Collection<u32> = Collection::default();
        c.apply(Event::Apply((("ns".into(), "a".into()), Arc::new(1))), |_, _| Change::Structure, Change::Structure);
        assert!(c.forget(), "something was shown");
        assert!(c.is_empty() && !c.forget());
    }

    #[test]
    fn healthy_watches_hear_something_well_within_the_silence_bound() {
        // Bookmarks come about every 60 s, and the server ends each watch at its deadline.
        assert!(u64::from(WATCH_TIMEOUT_S) < SILENCE_BOUND.as_secs());
        assert!(SILENCE_BOUND.as_secs() >= 60 + 20, "room for the API server's minute between bookmarks");
    }

    #[test]
    fn pods_with_the_same_labels_share_one_map() {
        let pod = |name: &str, hash: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "shop", "labels": {"app": "api", "pod-template-hash": hash}}
            }))
            .unwrap()
        };
        let mut memo = None;
        let a = pod("api-h1-a", "h1").keep(&mut memo);
        let b = pod("api-h1-b", "h1").keep(&mut memo);
        let c = pod("api-h2-a", "h2").keep(&mut memo);
        assert!(Arc::ptr_eq(&a.labels, &b.labels));
        assert!(!Arc::ptr_eq(&b.labels, &c.labels));
        assert_eq!(c.labels["pod-template-hash"], "h2");
        assert_eq!((a.name.as_str(), b.name.as_str()), ("api-h1-a", "api-h1-b"));
    }

    #[test]
    fn trimming_keeps_only_the_declared_replicas_of_the_last_applied_configuration() {
        let applied = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api"}, "spec": {"replicas": 2, "template": {"spec": {"containers": []}}}});
        let mut d: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api", "annotations": {LAST_APPLIED: applied.to_string(), "team": "shop"},
                         "managedFields": [{"manager": "kubectl"}]}
        }))
        .unwrap();
        trim_metadata(&mut d);
        let annotations = d.metadata.annotations.unwrap();
        assert_eq!(annotations[LAST_APPLIED], r#"{"spec":{"replicas":2}}"#);
        assert_eq!(annotations["team"], "shop");
        assert!(d.metadata.managed_fields.is_none());

        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "annotations": {LAST_APPLIED: "{\"kind\":\"Pod\"}"}}
        }))
        .unwrap();
        trim_metadata(&mut p);
        assert!(p.metadata.annotations.is_none(), "nothing declared: the annotation goes");
    }

    #[test]
    fn pods_keep_only_their_cpu_and_memory_requests_for_the_capacity_check() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "app:1",
                "env": [{"name": "TOKEN", "value": "t0ps3cret"}],
                "resources": {"requests": {"cpu": "250m", "ephemeral-storage": "1Gi"}, "limits": {"memory": "512Mi"}}}]},
        }))
        .unwrap();
        let kept = p.keep(&mut None);
        assert_eq!(
            kept.requests,
            Resources { cpu_m: 250, memory: 512 << 20 },
            "a missing request is the limit, as the API server defaults it"
        );
        assert_eq!((kept.node.as_deref(), kept.containers.as_slice()), (Some("n1"), ["app".to_string()].as_slice()));
        let kept = format!("{kept:?}");
        assert!(!kept.contains("t0ps3cret") && !kept.contains("app:1"), "{kept}");
    }

    #[test]
    fn revisions_keep_images_env_names_and_resources_never_env_values() {
        let cr: ControllerRevision = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pg-5c8d"},
            "revision": 3,
            "data": {"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "pg"}},
                "spec": {"containers": [{"name": "postgres", "image": "pgvector/pgvector:pg16", "args": ["-c", "x"],
                    "env": [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "pw"}}},
                            {"name": "POSTGRES_DB", "value": "statewave"}],
                    "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}}]}}}},
        }))
        .unwrap();
        let cr = cr.keep(&mut ());
        let data = cr.data.0.to_string();
        assert!(data.contains("pgvector/pgvector:pg16") && data.contains("POSTGRES_PASSWORD") && data.contains("500m"));
        for gone in ["secretKeyRef", "statewave", "args", "$patch"] {
            assert!(!data.contains(gone), "{gone} is not kept: {data}");
        }
        assert_eq!(cr.revision, Some(3));
    }

    #[test]
    fn nodes_and_release_secrets_are_trimmed_hard() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1", "labels": {"zone": "a"}, "annotations": {"x": "y"}},
            "spec": {"podCIDR": "10.42.0.0/24", "taints": [
                {"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "PreferNoSchedule"}]},
            "status": {"allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                       "images": [{"names": ["nginx"], "sizeBytes": 1}],
                       "conditions": [{"type": "Ready", "status": "True", "message": "kubelet is posting ready status"},
                                      {"type": "DiskPressure", "status": "False"}]},
        }))
        .unwrap();
        let node = node.keep(&mut ());
        // Labels (node selectors) and whether it is Ready (a drain's replacements) stay.
        assert_eq!(
            serde_json::to_value(&node).unwrap(),
            serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"zone": "a"}},
                "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
                "status": {"allocatable": {"cpu": "8", "memory": "16Gi"},
                           "conditions": [{"type": "Ready", "status": "True"}]}})
        );
        let release: PartialObjectMeta<Secret> = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "sh.helm.release.v1.docs.v2", "namespace": "web",
                "labels": {"name": "docs", "owner": "helm", "status": "deployed", "version": "2", "team": "web"},
                "annotations": {LAST_APPLIED: "{\"data\":{\"release\":\"c2VjcmV0\"}}"}},
        }))
        .unwrap();
        let kept = serde_json::to_string(&release.keep(&mut ())).unwrap();
        assert!(!kept.contains("c2VjcmV0") && !kept.contains("team"), "{kept}");
        assert!(kept.contains("\"version\":\"2\""), "{kept}");
    }

    #[tokio::test]
    async fn past_the_events_a_service_shows_the_oldest_about_one_object_are_forgotten() {
        let (ctx, _) = offline();
        let collection: Arc<Collection<EventFacts>> = Arc::new(Collection::default());
        let mut feed: Feed<CoreEvent> = Feed::new(ResourceKind::Events, collection.clone(), None);
        let event = |name: String, pod: &str, minute: usize| -> DeserializeGuard<CoreEvent> {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "shop"},
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"},
                "reason": "Unhealthy", "type": "Warning",
                "lastTimestamp": format!("2026-12-04T05:{minute:02}:00Z"),
            }))
            .unwrap()
        };
        // Thirty Events about one pod, oldest first, and three about another.
        for minute in 0..30 {
            ctx.deliver(&mut feed, Event::Apply(event(format!("api-1.{minute:02}"), "api-1", minute)));
        }
        for minute in 0..3 {
            ctx.deliver(&mut feed, Event::Apply(event(format!("api-2.{minute:02}"), "api-2", minute)));
        }
        let about = |pod: &str| -> Vec<String> {
            collection.snapshot().iter().filter(|e| e.about_name == pod).map(|e| e.name.clone()).collect()
        };
        let kept = about("api-1");
        assert_eq!(kept.len(), MAX_EVENTS);
        assert_eq!(kept.first().map(String::as_str), Some("api-1.10"), "the ten oldest are gone");
        assert_eq!(about("api-2").len(), 3, "another object's Events are its own");

        // Looked up by name: those that exist, in name order.
        let names: std::collections::BTreeSet<String> =
            ["api-2.01", "api-1.00", "api-1.29", "other"].map(String::from).into();
        let found: Vec<String> = collection.named("shop", &names).iter().map(|e| e.name.clone()).collect();
        assert_eq!(found, ["api-1.29", "api-2.01"], "api-1.00 was crowded out, `other` never was");

        // One going (the API server expires Events) is news about its object, not a regrouping.
        let take = || std::mem::take(&mut *ctx.changes.lock().unwrap());
        take();
        ctx.deliver(&mut feed, Event::Delete(event("api-2.01".into(), "api-2", 1)));
        let changes = take();
        assert!(changes.namespaces.is_empty(), "{changes:?}");
        assert!(changes.statuses["shop"].contains(&(Part::Event, "api-2.01".to_string())), "{changes:?}");
    }
}
