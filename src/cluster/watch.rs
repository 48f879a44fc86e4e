//! Watch-driven cluster state: one kube-runtime watcher per resource kind, each feeding a
//! [`Collection`] (the objects as last seen, trimmed) and a health record. After the
//! initial list the cockpit makes no request except these open watches.
//!
//! - Memory: what is stored is what the model reads ([`Watched::keep`]). Pods and
//!   ReplicaSets, the numerous kinds, are kept as small facts (`PodFacts`,
//!   `ReplicaSetFacts`) rather than whole objects; the other kinds lose their managed
//!   fields and last-applied annotation, and ControllerRevisions and Nodes are trimmed to
//!   what revisions and node capacity read. `cargo bench --bench cockpit` says where the
//!   heap goes.
//! - Backoff: a failed watch is restarted (with a relist) after an exponential backoff;
//!   the relist completing is what proves the API is back.
//! - A malformed object cannot kill a watch: objects are read through `DeserializeGuard`
//!   and the bad ones are counted and skipped.
//! - A relist (after 410 Gone or a restart) is applied atomically at `InitDone`, so the
//!   screen keeps showing the old data until the new list is complete — never a wipe.
//! - A kind the user may not list stops its watcher and is reported as `NoAccess`, with
//!   the missing permission, instead of retrying forever.
//! - Every change bumps a `pulse` counter (a `watch` channel), so a burst of events
//!   coalesces into one model rebuild.
//! - Helm's release Secrets are watched as metadata only (`PartialObjectMetadata`): their
//!   bodies (the encoded releases, with every value of the chart) never leave the server.
//! - Nodes (cluster-scoped) and, in a namespace scope, the pods of every namespace feed the
//!   node capacity of scale previews; a user who may not list them gets "unknown" there.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Event as CoreEvent, Node, NodeSpec, NodeStatus, PersistentVolumeClaim, Pod, PodSpec,
    PodTemplateSpec, ResourceRequirements, Secret,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::Resource;
use kube::api::Api;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::watch as latest;
use tokio::task::JoinHandle;

use super::connect::describe_kube_error;
use crate::model::history::ReplicaSetFacts;
use crate::model::pods::PodFacts;
use crate::model::services::{ClusterObjects, Visibility};

/// Which kinds the model may draw conclusions from: a kind that is forbidden or not yet
/// listed is unknown, so "no PDB" is never claimed when the PDBs could not be read.
pub fn visibility(health: &BTreeMap<ResourceKind, WatchHealth>) -> Visibility {
    let known = |kind: ResourceKind| {
        matches!(health.get(&kind), Some(WatchHealth::Live { .. } | WatchHealth::Reconnecting { .. }))
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

/// Why a watcher stopped.
enum Stop {
    Forbidden,
    Failed,
}

/// Exponential backoff with jitter between reconnect attempts: quick after a blip, at most
/// every 30 s during an outage, so many cockpits do not hammer a recovering API server.
struct Backoff {
    next: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(500);
    const MAX: std::time::Duration = std::time::Duration::from_secs(30);

    fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay.mul_f64(0.8 + fastrand::f64() * 0.4)
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
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
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 12] = [
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
        }
    }

    /// Listed across the cluster whatever the scope.
    pub fn cluster_wide(self) -> bool {
        matches!(self, ResourceKind::Nodes | ResourceKind::NodePods)
    }

    /// A kind only one part of the cockpit needs (node capacity in the scale preview, the
    /// Helm history in the detail view): a user who may not list it — a namespaced user
    /// usually may not list nodes or secrets — is told there, not on every screen.
    pub fn is_optional(self) -> bool {
        matches!(self, ResourceKind::Nodes | ResourceKind::NodePods | ResourceKind::HelmReleases)
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
    /// RBAC forbids listing: `permission` reads like `list poddisruptionbudgets in ns shop`.
    NoAccess { permission: String },
}

impl WatchHealth {
    pub fn is_synced(&self) -> bool {
        matches!(self, WatchHealth::Live { .. } | WatchHealth::NoAccess { .. })
    }
}

/// Objects of one kind as last seen, keyed by namespace/name, in the shape the store
/// keeps them in ([`Watched::Stored`]).
pub struct Collection<S> {
    inner: RwLock<CollectionInner<S>>,
}

type Key = (String, String);

struct CollectionInner<S> {
    live: BTreeMap<Key, Arc<S>>,
    /// A relist in progress: replaces `live` at `InitDone`.
    relisting: Option<BTreeMap<Key, Arc<S>>>,
    malformed: usize,
}

impl<S> Default for Collection<S> {
    fn default() -> Self {
        Collection { inner: RwLock::new(CollectionInner { live: BTreeMap::new(), relisting: None, malformed: 0 }) }
    }
}

fn key_of<K: Resource>(obj: &K) -> Key {
    (obj.meta().namespace.clone().unwrap_or_default(), obj.meta().name.clone().unwrap_or_default())
}

impl<S> Collection<S> {
    /// The current objects, cheap to take (shared pointers), in namespace/name order.
    pub fn snapshot(&self) -> Vec<Arc<S>> {
        self.read().live.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Objects skipped because they could not be decoded.
    pub fn malformed(&self) -> usize {
        self.read().malformed
    }

    fn get(&self, key: &Key) -> Option<Arc<S>> {
        self.read().live.get(key).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CollectionInner<S>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CollectionInner<S>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one watcher event; returns whether the visible objects changed.
    fn apply(&self, event: Event<(Key, Arc<S>)>) -> bool {
        let mut inner = self.write();
        match event {
            Event::Init => {
                inner.relisting = Some(BTreeMap::new());
                false
            }
            Event::InitApply((key, obj)) => {
                inner.relisting.get_or_insert_with(BTreeMap::new).insert(key, obj);
                false
            }
            Event::InitDone => {
                if let Some(fresh) = inner.relisting.take() {
                    inner.live = fresh;
                }
                true
            }
            Event::Apply((key, obj)) => {
                inner.live.insert(key, obj);
                true
            }
            Event::Delete((key, _)) => inner.live.remove(&key).is_some(),
        }
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
    node.metadata = ObjectMeta { name: node.metadata.name.take(), ..Default::default() };
    node.spec = node.spec.take().map(|spec| NodeSpec {
        unschedulable: spec.unschedulable,
        taints: spec.taints.map(|taints| {
            taints.into_iter().filter(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute")).collect()
        }),
        ..Default::default()
    });
    node.status = node.status.take().map(|status| NodeStatus {
        allocatable: status.allocatable.map(|a| a.into_iter().filter(|(k, _)| k == "cpu" || k == "memory").collect()),
        ..Default::default()
    });
}

/// A kind the cockpit watches, and what its store keeps of each object: the object with
/// what the model never reads stripped, or (for the most numerous kinds) a small shape
/// made of just the fields the model reads.
pub trait Watched: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {
    type Stored: Send + Sync + 'static;
    /// What one watch remembers from object to object, to share what consecutive
    /// objects have in common.
    type Memo: Default + Send;

    fn keep(self, memo: &mut Self::Memo) -> Self::Stored;

    /// The stored pod, for the readiness observer (only pods answer `Some`).
    fn as_pod(_stored: &Self::Stored) -> Option<&PodFacts> {
        None
    }
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
    Deployment,
    StatefulSet,
    PodDisruptionBudget,
    HorizontalPodAutoscaler,
    PersistentVolumeClaim,
    CoreEvent,
    ControllerRevision => trim_controller_revision,
    Node => trim_node,
);

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
    pub events: Arc<Collection<CoreEvent>>,
    pub controller_revisions: Arc<Collection<ControllerRevision>>,
    pub nodes: Arc<Collection<Node>>,
    /// The pods on the nodes: `pods` itself across all namespaces, else a watch of its own.
    pub node_pods: Arc<Collection<PodFacts>>,
    /// The metadata of Helm's release Secrets.
    pub helm_releases: Arc<Collection<ObjectMeta>>,
    health: Arc<Mutex<BTreeMap<ResourceKind, WatchHealth>>>,
    pulse: latest::Sender<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Watches {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Watches {
    /// Opens a watch per kind in `namespace` (`None`: all namespaces).
    pub fn start(client: kube::Client, namespace: Option<&str>, generation: u64, on_pod: Option<PodObserver>) -> Self {
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
            health,
            pulse,
            tasks: Vec::new(),
        };
        let ctx = WatchContext {
            client,
            namespace: namespace.map(str::to_string),
            health: w.health.clone(),
            pulse: w.pulse.clone(),
        };
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
        }
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
    health: Arc<Mutex<BTreeMap<ResourceKind, WatchHealth>>>,
    pulse: latest::Sender<u64>,
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

    /// Watches a kind through `open`, which starts a fresh list-and-watch each time.
    fn spawn_with<K>(
        &self,
        kind: ResourceKind,
        collection: Arc<Collection<K::Stored>>,
        on_pod: Option<PodObserver>,
        open: impl Fn() -> GuardedEvents<K> + Send + 'static,
    ) -> JoinHandle<()>
    where
        K: Watched,
    {
        let ctx = self.clone();
        tokio::spawn(async move { ctx.run::<K>(kind, collection, on_pod, open).await })
    }

    async fn run<K>(
        self,
        kind: ResourceKind,
        collection: Arc<Collection<K::Stored>>,
        on_pod: Option<PodObserver>,
        open: impl Fn() -> GuardedEvents<K>,
    ) where
        K: Watched,
    {
        let mut retry = Backoff::default();
        loop {
            match self.watch_until_error(kind, open(), &collection, on_pod.as_ref(), &mut retry).await {
                Stop::Forbidden => return,
                Stop::Failed => tokio::time::sleep(retry.next_delay()).await,
            }
        }
    }

    /// Lists, then watches, until the watch fails. A failure ends this watcher and the
    /// caller starts a fresh one (a relist) after a backoff: the relist's completion is the
    /// proof that the API is back, even for a kind that never changes. A 410 is not a
    /// failure: kube-runtime relists by itself.
    async fn watch_until_error<K>(
        &self,
        kind: ResourceKind,
        mut stream: GuardedEvents<K>,
        collection: &Arc<Collection<K::Stored>>,
        on_pod: Option<&PodObserver>,
        retry: &mut Backoff,
    ) -> Stop
    where
        K: Watched,
    {
        let mut memo = K::Memo::default();
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    let Some(event) = self.decode(event, collection, &mut memo) else { continue };
                    if let (Some(observe), Some((key, stored))) = (on_pod, event_object(&event))
                        && let Some(pod) = K::as_pod(stored)
                    {
                        let previous = collection.get(key);
                        observe(pod, previous.as_deref().and_then(K::as_pod));
                    }
                    let settled = matches!(event, Event::InitDone | Event::Apply(_) | Event::Delete(_));
                    if collection.apply(event) {
                        self.bump();
                    }
                    if settled {
                        retry.reset();
                        self.mark_live(kind);
                    }
                }
                Err(watcher::Error::WatchError(status)) if status.code == 410 => continue,
                Err(error) => {
                    if let Some(permission) = self.forbidden(kind, &error) {
                        self.set_health(kind, WatchHealth::NoAccess { permission });
                        // Retrying a forbidden list forever would be polling: stop here.
                        return Stop::Forbidden;
                    }
                    let since = match self.current(kind) {
                        Some(WatchHealth::Reconnecting { since, .. }) => since,
                        _ => Timestamp::now(),
                    };
                    self.set_health(kind, WatchHealth::Reconnecting { since, error: describe_watch_error(&error) });
                    return Stop::Failed;
                }
            }
        }
        Stop::Failed
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
            Ok(obj) => Some((key_of(&obj), Arc::new(obj.keep(memo)))),
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
            collection.write().malformed += bad;
        }
        decoded
    }

    fn forbidden(&self, kind: ResourceKind, error: &watcher::Error) -> Option<String> {
        let forbidden = match error {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => {
                matches!(e, kube::Error::Api(s) if s.code == 403)
            }
            watcher::Error::WatchError(status) => status.code == 403,
            _ => false,
        };
        forbidden.then(|| match &self.namespace {
            _ if kind == ResourceKind::Nodes => "list nodes (cluster-scoped)".to_string(),
            Some(ns) if !kind.cluster_wide() => format!("list {} in ns {ns}", kind.plural()),
            _ => format!("list {} in all namespaces", kind.plural()),
        })
    }
}

/// A list-and-watch whose objects are checked one by one (see [`DeserializeGuard`]).
type GuardedEvents<K> = BoxStream<'static, watcher::Result<Event<DeserializeGuard<K>>>>;

fn objects_of<K>(api: Api<DeserializeGuard<K>>) -> impl Fn() -> GuardedEvents<K> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    move || watcher::watcher(api.clone(), watcher::Config::default()).boxed()
}

/// Helm's release Secrets (label `owner=helm`) as PartialObjectMetadata: the API server
/// answers with metadata alone, so a release's encoded body never reaches the cockpit.
/// The Api must be of `PartialObjectMeta` itself: kube sends the metadata-only Accept
/// header for it, but not for a `DeserializeGuard` around it.
fn helm_release_metadata(ctx: &WatchContext) -> impl Fn() -> GuardedEvents<PartialObjectMeta<Secret>> + Send + 'static {
    let api: Api<PartialObjectMeta<Secret>> = match &ctx.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let config = watcher::Config::default().labels("owner=helm");
    move || watcher::watcher(api.clone(), config.clone()).map_ok(guarded).boxed()
}

/// Metadata cannot be malformed the way a body can; it is guarded only to share the loop.
fn guarded<K>(event: Event<K>) -> Event<DeserializeGuard<K>> {
    let wrap = |obj| DeserializeGuard(Ok(obj));
    match event {
        Event::Apply(o) => Event::Apply(wrap(o)),
        Event::Delete(o) => Event::Delete(wrap(o)),
        Event::Init => Event::Init,
        Event::InitApply(o) => Event::InitApply(wrap(o)),
        Event::InitDone => Event::InitDone,
    }
}

fn describe_watch_error(error: &watcher::Error) -> String {
    match error {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => {
            describe_kube_error(e)
        }
        watcher::Error::WatchError(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
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
    use crate::model::capacity::Resources;

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
                       "images": [{"names": ["nginx"], "sizeBytes": 1}]},
        }))
        .unwrap();
        let node = node.keep(&mut ());
        assert_eq!(
            serde_json::to_value(&node).unwrap(),
            serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
                "status": {"allocatable": {"cpu": "8", "memory": "16Gi"}}})
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
}
