//! From cluster objects to services: grouping (selector → pods, owner → ReplicaSets,
//! PDB and HPA matching) and the per-service computations. Pure: `now` is passed in.

use std::collections::BTreeMap;

// Seeded per process like std's, much cheaper on the short keys (names, uids) looked up here.
use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, PodSpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::capacity::{self, NodeCapacity};
use super::changes::{Part, read_key};
use super::events::EventFacts;
use super::findings::{self, Facts, pdb_selects_nothing};
use super::history::{CONTROLLER_REVISION_HASH, POD_TEMPLATE_HASH, ReplicaSetFacts};
use super::owners::controller_uid;
use super::pdb::{self, Coverage, pdb_headroom};
use super::pods::PodFacts;
use super::resources::PodNeed;
// The watches record readiness and visibility through the assembler's names.
pub use super::pods::ReadinessHistory;
use super::sanitize::{Sgr, sanitize};
use super::selectors::optional_selector_matches;
use super::service::*;
pub use super::visibility::Visibility;
use super::{budget, events, flags, helm, history, hpa, lint, pods, probes, rollout};

/// The objects of one scope (a namespace or all), as the watches last saw them.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    pub deployments: Vec<Arc<Deployment>>,
    pub statefulsets: Vec<Arc<StatefulSet>>,
    pub replicasets: Vec<Arc<ReplicaSetFacts>>,
    pub pods: Vec<Arc<PodFacts>>,
    pub pdbs: Vec<Arc<PodDisruptionBudget>>,
    pub hpas: Vec<Arc<HorizontalPodAutoscaler>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub events: Vec<Arc<EventFacts>>,
    pub controller_revisions: Vec<Arc<ControllerRevision>>,
    pub nodes: Vec<Arc<Node>>,
    /// Every pod scheduled on the nodes, whatever its namespace (free node capacity).
    pub node_pods: Vec<Arc<PodFacts>>,
    /// The metadata of Helm's release Secrets (their bodies are never read).
    pub helm_releases: Vec<Arc<ObjectMeta>>,
    /// What database discovery reads besides workloads (Services, ConfigMaps, operators).
    pub network: crate::model::discovery::Network,
    /// Every Flux Kustomization and HelmRelease and Argo CD Application read, whatever
    /// its namespace (an owner usually lives in another namespace than its workloads).
    pub gitops_owners: Vec<Arc<crate::model::gitops::GitOpsOwner>>,
    /// The Flux sources the owners apply from, and which kinds could be read.
    pub gitops_sources: crate::model::gitops::source::Sources,
}

/// The nodes' free capacity, when both the nodes and what runs on them can be read.
pub fn node_capacity(visible: Visibility, objects: &ClusterObjects) -> NodeCapacity {
    if !visible.nodes {
        return NodeCapacity::Unknown("the nodes cannot be listed (a cluster-scoped permission)".into());
    }
    if !visible.node_pods {
        return NodeCapacity::Unknown("the pods of every namespace cannot be listed".into());
    }
    NodeCapacity::Known(capacity::node_rooms(&objects.nodes, &objects.node_pods))
}

/// A finding that belongs to a namespace rather than a service (`pdb-selects-nothing`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceFinding {
    pub namespace: String,
    pub finding: Finding,
}

/// Every service in `objects`, in namespace/name order, with every kind visible.
pub fn build(objects: &ClusterObjects, readiness: &ReadinessHistory, now: Timestamp) -> Vec<Service> {
    build_with(objects, readiness, now, Visibility::ALL)
}

/// Every service in `objects`, in namespace/name order; kinds not in `visibility`
/// raise no findings.
pub fn build_with(
    objects: &ClusterObjects,
    readiness: &ReadinessHistory,
    now: Timestamp,
    visibility: Visibility,
) -> Vec<Service> {
    let index = Index::new(objects);
    let workloads = workloads(objects);
    let assembled = assemble_all(&index, &workloads, &Shared::new(objects, visibility), readiness, now, visibility);
    assembled.into_iter().map(|(service, _)| service).collect()
}

/// What the cockpit shows of a scope: the services and the findings no service owns.
pub struct Built {
    pub services: Vec<Service>,
    pub namespace_findings: Vec<NamespaceFinding>,
    /// `reads[i]`: what `services[i]` was assembled from, by name.
    pub reads: Vec<Reads>,
}

/// What one service was assembled from, besides what every service of its namespace
/// reads alike (workloads, PDBs, HPAs, PVCs, ControllerRevisions, releases): a status
/// change to any of these objects reaches this service, and the ReplicaSets, pods and
/// Events named here are all a reassembly of it needs. What a service groups by (owners,
/// labels, selectors) cannot change with a status, so this holds until its namespace is
/// built again. Kept small: a cluster's every pod and Event is named here once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// Its workload's name, as the API has it.
    pub workload: String,
    pub replicasets: Names,
    /// Its pods, and every pod its PDBs select (their health is the PDBs' headroom).
    pub pods: Names,
    /// The Events about its workload, ReplicaSets and pods.
    pub events: Names,
    /// Every object it read (those above, its PDBs and HPAs) as [`read_key`]s, sorted.
    pub reach: Box<[u64]>,
    /// A name could not be listed (see [`Names`]): reassembling it reads its whole namespace.
    pub unlisted: bool,
}

/// Names in one string, a line each: one allocation for a service's pods, not one a pod.
/// Object names never hold a line break (the API server refuses them); a name that
/// does is not listed, and `Names::of` says so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names(String);

impl Names {
    /// The names, or `None` when one holds a line break.
    fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Names> {
        let mut text = String::new();
        for name in names {
            if name.contains('\n') {
                return None;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(name);
        }
        Some(Names(text))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|name| !name.is_empty())
    }
}

/// [`build_with`] and [`namespace_findings`] from one index of the objects (a rebuild on a
/// large cluster should walk its pods once). Namespace findings need pods and PDBs visible.
pub fn build_scope(
    objects: &ClusterObjects,
    readiness: &ReadinessHistory,
    now: Timestamp,
    visibility: Visibility,
) -> Built {
    let index = Index::new(objects);
    let workloads = workloads(objects);
    let assembled = assemble_all(&index, &workloads, &Shared::new(objects, visibility), readiness, now, visibility);
    let namespace_findings =
        if visibility.pods && visibility.pdbs { unselecting_pdbs(objects, &index, &workloads) } else { Vec::new() };
    let (services, reads) = assembled.into_iter().unzip();
    Built { services, namespace_findings, reads }
}

/// A service to assemble again after a status change: its workload, and the preflight
/// checks it had (a status cannot change a spec, so they are kept, not run again).
pub struct Touched<'a> {
    pub kind: WorkloadKind,
    pub name: &'a str,
    pub preflight: Vec<Finding>,
}

/// The services `touched` assembled again from `objects`, which need hold of their
/// namespace only what every service reads alike and what these services read
/// ([`Reads`]): the same services, to the byte, as a build from all the namespace's
/// objects, at a cost that follows these services' size, not the namespace's. In
/// namespace/name order, each with what it read.
pub fn reassemble(
    objects: &ClusterObjects,
    readiness: &ReadinessHistory,
    now: Timestamp,
    visibility: Visibility,
    touched: Vec<Touched<'_>>,
) -> Vec<(Service, Reads)> {
    let index = Index::new(objects);
    let workloads = workloads(objects);
    let shared = Shared::new(objects, visibility);
    let mut touched = touched;
    let mut out: Vec<(Service, Reads)> = workloads
        .iter()
        .filter_map(|w| {
            let at = touched.iter().position(|t| t.kind == w.kind && t.name == w.name)?;
            let preflight = touched.swap_remove(at).preflight;
            let members = members(w, &index);
            Some(assemble(w, members, Some(preflight), &index, &workloads, &shared, readiness, now, visibility))
        })
        .collect();
    out.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    out
}

/// What every service of a build reads alike: computed once per build.
struct Shared<'a> {
    /// `None`: the release Secrets could not be listed.
    helm_releases: Option<&'a [Arc<ObjectMeta>]>,
    gitops_owners: &'a [Arc<crate::model::gitops::GitOpsOwner>],
    gitops_sources: &'a crate::model::gitops::source::Sources,
}

impl<'a> Shared<'a> {
    fn new(objects: &'a ClusterObjects, visibility: Visibility) -> Self {
        Shared {
            helm_releases: visibility.helm_releases.then_some(objects.helm_releases.as_slice()),
            gitops_owners: &objects.gitops_owners,
            gitops_sources: &objects.gitops_sources,
        }
    }
}

fn assemble_all<'a>(
    index: &Index<'a>,
    workloads: &[Workload<'a>],
    shared: &Shared<'_>,
    readiness: &ReadinessHistory,
    now: Timestamp,
    visibility: Visibility,
) -> Vec<(Service, Reads)> {
    let mut services: Vec<(Service, Reads)> = workloads
        .iter()
        .map(|w| assemble(w, members(w, index), None, index, workloads, shared, readiness, now, visibility))
        .collect();
    services.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    services
}

/// The overview's default order: the worst finding first, then namespace/name.
pub fn problems_first<S: std::borrow::Borrow<Service>>(services: &mut [S]) {
    // By name, then (stable) by severity read once per service: a severity walks the
    // service's findings, and a view of 1,000 services is sorted with every change.
    services.sort_by(|a, b| a.borrow().key.cmp(&b.borrow().key));
    services.sort_by_cached_key(|s| std::cmp::Reverse(s.borrow().severity()));
}

/// [`problems_first`] kept from one view to the next. A view comes with every change the
/// cluster makes; most change a few services and move none of them (a pod flips ready and
/// back, a restart is counted), so the order is sorted again only when a service came,
/// went, or changed how severe its worst problem is. Otherwise the changed services take
/// their old places.
#[derive(Default)]
pub struct ProblemsFirst {
    /// The services last ordered, by key, and where each of them went.
    by_key: Vec<Arc<Service>>,
    at: Vec<usize>,
    ordered: Vec<Arc<Service>>,
    /// How often the services were sorted, rather than updated in place.
    pub sorts: usize,
}

impl ProblemsFirst {
    /// `by_key` (every service, in key order) in the overview's default order.
    pub fn order(&mut self, by_key: Vec<Arc<Service>>) -> Vec<Arc<Service>> {
        if self.still_holds(&by_key) {
            for (i, service) in by_key.iter().enumerate() {
                if !Arc::ptr_eq(service, &self.by_key[i]) {
                    self.ordered[self.at[i]] = service.clone();
                }
            }
            self.by_key = by_key;
        } else {
            self.sort(by_key);
        }
        self.ordered.clone()
    }

    /// The same services, each one as severe as it was.
    fn still_holds(&self, by_key: &[Arc<Service>]) -> bool {
        by_key.len() == self.by_key.len()
            && by_key.iter().zip(&self.by_key).all(|(now, before)| {
                Arc::ptr_eq(now, before) || (now.key == before.key && now.severity() == before.severity())
            })
    }

    fn sort(&mut self, by_key: Vec<Arc<Service>>) {
        let mut order: Vec<usize> = (0..by_key.len()).collect();
        order.sort_by(|&a, &b| by_key[a].key.cmp(&by_key[b].key));
        order.sort_by_cached_key(|&i| std::cmp::Reverse(by_key[i].severity()));
        self.at = vec![0; by_key.len()];
        for (place, &i) in order.iter().enumerate() {
            self.at[i] = place;
        }
        self.ordered = order.iter().map(|&i| by_key[i].clone()).collect();
        self.by_key = by_key;
        self.sorts += 1;
    }
}

/// Findings that belong to no service: PDBs that select no pod and no workload.
pub fn namespace_findings(objects: &ClusterObjects) -> Vec<NamespaceFinding> {
    unselecting_pdbs(objects, &Index::new(objects), &workloads(objects))
}

fn unselecting_pdbs(objects: &ClusterObjects, index: &Index<'_>, workloads: &[Workload<'_>]) -> Vec<NamespaceFinding> {
    let mut out = Vec::new();
    for pdb in &objects.pdbs {
        let ns = pdb.metadata.namespace.as_deref().unwrap_or("");
        let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
        let selects_pod = index.pods_in(ns).iter().any(|p| optional_selector_matches(selector, &p.labels));
        let selects_workload = workloads
            .iter()
            .filter(|w| w.namespace == ns)
            .any(|w| optional_selector_matches(selector, w.template_labels));
        if !selects_pod && !selects_workload {
            let name = sanitize(pdb.metadata.name.as_deref().unwrap_or(""), Sgr::Strip);
            out.push(NamespaceFinding { namespace: ns.to_string(), finding: pdb_selects_nothing(&name) });
        }
    }
    out
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

fn labels_of(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    meta.labels.as_ref().unwrap_or(&NO_LABELS)
}

fn annotations_of(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    meta.annotations.as_ref().unwrap_or(&NO_LABELS)
}

/// Lookups built once per model build, so grouping stays linear in the object count.
struct Index<'a> {
    pods_by_namespace: HashMap<&'a str, Vec<&'a PodFacts>>,
    pods_by_owner: HashMap<&'a str, Vec<&'a PodFacts>>,
    replicasets_by_owner: HashMap<&'a str, Vec<&'a ReplicaSetFacts>>,
    revisions_by_owner: HashMap<&'a str, Vec<&'a ControllerRevision>>,
    pdbs_by_namespace: HashMap<&'a str, Vec<&'a PodDisruptionBudget>>,
    hpas_by_namespace: HashMap<&'a str, Vec<&'a HorizontalPodAutoscaler>>,
    pvcs_by_namespace: HashMap<&'a str, Vec<&'a PersistentVolumeClaim>>,
    events_by_object: HashMap<(&'a str, &'a str, &'a str), Vec<&'a EventFacts>>,
}

fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

impl<'a> Index<'a> {
    fn new(objects: &'a ClusterObjects) -> Self {
        let mut index = Index {
            pods_by_namespace: HashMap::new(),
            pods_by_owner: HashMap::new(),
            replicasets_by_owner: HashMap::new(),
            revisions_by_owner: HashMap::new(),
            pdbs_by_namespace: HashMap::new(),
            hpas_by_namespace: HashMap::new(),
            pvcs_by_namespace: HashMap::new(),
            events_by_object: HashMap::new(),
        };
        for pod in &objects.pods {
            index.pods_by_namespace.entry(pod.namespace.as_str()).or_default().push(pod);
            if let Some(owner) = pod.controller_uid.as_deref() {
                index.pods_by_owner.entry(owner).or_default().push(pod);
            }
        }
        for rs in &objects.replicasets {
            if let Some(owner) = rs.controller_uid.as_deref() {
                index.replicasets_by_owner.entry(owner).or_default().push(rs);
            }
        }
        for cr in &objects.controller_revisions {
            if let Some(owner) = controller_uid(&cr.metadata) {
                index.revisions_by_owner.entry(owner).or_default().push(cr);
            }
        }
        for pdb in &objects.pdbs {
            index.pdbs_by_namespace.entry(namespace_of(&pdb.metadata)).or_default().push(pdb);
        }
        for hpa in &objects.hpas {
            index.hpas_by_namespace.entry(namespace_of(&hpa.metadata)).or_default().push(hpa);
        }
        for pvc in &objects.pvcs {
            index.pvcs_by_namespace.entry(namespace_of(&pvc.metadata)).or_default().push(pvc);
        }
        for event in &objects.events {
            let key = (event.about_namespace(), event.about_kind.as_str(), event.about_name.as_str());
            index.events_by_object.entry(key).or_default().push(event);
        }
        index
    }

    fn pods_in(&self, ns: &str) -> &[&'a PodFacts] {
        self.pods_by_namespace.get(ns).map_or(&[], Vec::as_slice)
    }
}

/// What the model reads from a Deployment or a StatefulSet, in one shape.
struct Workload<'a> {
    kind: WorkloadKind,
    namespace: &'a str,
    name: &'a str,
    uid: Option<&'a str>,
    meta: &'a ObjectMeta,
    selector: Option<&'a LabelSelector>,
    template_labels: &'a BTreeMap<String, String>,
    template_annotations: &'a BTreeMap<String, String>,
    pod_spec: Option<&'a PodSpec>,
    replicas: Replicas,
    /// The revision it runs (a Deployment's annotation, a StatefulSet's revision number).
    revision: Option<i64>,
    /// The object itself, for what only an assembled service reads (its rollout state).
    object: WorkloadObject<'a>,
    claim_templates: &'a [PersistentVolumeClaim],
    /// The pod label that names the revision a StatefulSet pod runs.
    update_revision: Option<&'a str>,
    /// The revision a StatefulSet's pods ran before its update began.
    current_revision: Option<&'a str>,
    surges: bool,
    /// A RollingUpdate Deployment's maxUnavailable (`None`: the default 25 %).
    max_unavailable: Option<&'a IntOrString>,
    rolling: bool,
}

#[derive(Clone, Copy)]
enum WorkloadObject<'a> {
    Deployment(&'a Deployment),
    StatefulSet(&'a StatefulSet),
}

impl Workload<'_> {
    /// Its rollout as `kubectl rollout status` tells it: read only for a service being
    /// assembled, not for every workload its namespace's services are grouped against.
    fn rollout(&self) -> Rollout {
        match self.object {
            WorkloadObject::Deployment(d) => rollout::deployment_rollout(d),
            WorkloadObject::StatefulSet(s) => rollout::statefulset_rollout(s),
        }
    }
}

fn workloads(objects: &ClusterObjects) -> Vec<Workload<'_>> {
    let deployments = objects.deployments.iter().map(|d| deployment_workload(d));
    let statefulsets = objects.statefulsets.iter().map(|s| statefulset_workload(s));
    deployments.chain(statefulsets).collect()
}

fn deployment_workload(d: &Deployment) -> Workload<'_> {
    let spec = Some(&d.spec);
    let status = d.status.as_ref();
    let template = spec.map(|s| &s.template);
    Workload {
        kind: WorkloadKind::Deployment,
        namespace: namespace_of(&d.metadata),
        name: d.metadata.name.as_deref().unwrap_or(""),
        uid: d.metadata.uid.as_deref(),
        meta: &d.metadata,
        selector: spec.map(|s| &s.selector),
        template_labels: template.and_then(|t| t.metadata.as_ref()).map_or(&NO_LABELS, labels_of),
        template_annotations: template.and_then(|t| t.metadata.as_ref()).map_or(&NO_LABELS, annotations_of),
        pod_spec: template.and_then(|t| t.spec.as_ref()),
        replicas: Replicas {
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        },
        revision: rollout::deployment_revision(d),
        object: WorkloadObject::Deployment(d),
        claim_templates: &[],
        update_revision: None,
        current_revision: None,
        surges: deployment_surges(d),
        max_unavailable: d
            .spec
            .strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable.as_ref()),
        rolling: d.spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) != Some("Recreate"),
    }
}

/// A RollingUpdate (the default) with a non-zero maxSurge (default 25 %) starts a new
/// pod before an old one stops.
fn deployment_surges(d: &Deployment) -> bool {
    let strategy = d.spec.strategy.as_ref();
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return false;
    }
    let max_surge = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_surge.as_ref());
    !matches!(max_surge, Some(IntOrString::Int(0))) && !matches!(max_surge, Some(IntOrString::String(s)) if s == "0%")
}

fn statefulset_workload(s: &StatefulSet) -> Workload<'_> {
    let spec = Some(&s.spec);
    let status = s.status.as_ref();
    let template = spec.map(|s| &s.template);
    Workload {
        kind: WorkloadKind::StatefulSet,
        namespace: namespace_of(&s.metadata),
        name: s.metadata.name.as_deref().unwrap_or(""),
        uid: s.metadata.uid.as_deref(),
        meta: &s.metadata,
        selector: spec.map(|s| &s.selector),
        template_labels: template.and_then(|t| t.metadata.as_ref()).map_or(&NO_LABELS, labels_of),
        template_annotations: template.and_then(|t| t.metadata.as_ref()).map_or(&NO_LABELS, annotations_of),
        pod_spec: template.and_then(|t| t.spec.as_ref()),
        replicas: Replicas {
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
            available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        },
        revision: rollout::statefulset_revision(s),
        object: WorkloadObject::StatefulSet(s),
        claim_templates: spec.and_then(|s| s.volume_claim_templates.as_deref()).unwrap_or_default(),
        update_revision: status.and_then(|s| s.update_revision.as_deref()),
        current_revision: status.and_then(|s| s.current_revision.as_deref()),
        surges: false,
        max_unavailable: None,
        rolling: false,
    }
}

/// The pods of a workload and the ReplicaSets they come from, with whether each pod
/// runs the current revision.
struct Members<'a> {
    replicasets: Vec<&'a ReplicaSetFacts>,
    pods: Vec<(&'a PodFacts, bool)>,
}

fn members<'a>(w: &Workload<'a>, index: &Index<'a>) -> Members<'a> {
    let replicasets: Vec<&ReplicaSetFacts> = match (w.kind, w.uid) {
        (WorkloadKind::Deployment, Some(uid)) => index.replicasets_by_owner.get(uid).cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    let owned: Vec<&PodFacts> = match w.kind {
        WorkloadKind::Deployment => replicasets
            .iter()
            .filter_map(|rs| rs.uid.as_deref())
            .flat_map(|uid| index.pods_by_owner.get(uid).into_iter().flatten().copied())
            .collect(),
        WorkloadKind::StatefulSet => w.uid.and_then(|uid| index.pods_by_owner.get(uid)).cloned().unwrap_or_default(),
    };
    // Without owner links (no access to ReplicaSets, or objects trimmed elsewhere), the
    // selector still finds the pods.
    let pods = if owned.is_empty() {
        index
            .pods_in(w.namespace)
            .iter()
            .copied()
            .filter(|p| optional_selector_matches(w.selector, &p.labels))
            .collect()
    } else {
        owned
    };
    let current = current_replicaset(w, &replicasets);
    let current_hash = current.and_then(|rs| rs.pod_template_hash.as_ref());
    let pods = pods
        .into_iter()
        .map(|pod| {
            let labels = &pod.labels;
            let updated = match w.kind {
                WorkloadKind::Deployment => current_hash.is_none_or(|h| labels.get(POD_TEMPLATE_HASH) == Some(h)),
                WorkloadKind::StatefulSet => w
                    .update_revision
                    .is_none_or(|r| labels.get(CONTROLLER_REVISION_HASH).map(String::as_str) == Some(r)),
            };
            (pod, updated)
        })
        .collect();
    Members { replicasets, pods }
}

/// The ReplicaSet with the Deployment's revision, else the newest one.
fn current_replicaset<'a>(w: &Workload<'a>, replicasets: &[&'a ReplicaSetFacts]) -> Option<&'a ReplicaSetFacts> {
    let revision_of = |rs: &&ReplicaSetFacts| rs.revision;
    w.revision
        .and_then(|r| replicasets.iter().find(|rs| revision_of(rs) == Some(r)))
        .or_else(|| replicasets.iter().max_by_key(|rs| revision_of(rs)))
        .copied()
}

/// A PDB that covers a workload ([`pdb_covers`]) and every pod of the namespace it
/// selects: read once for its headroom and for what the service reads.
struct Covering<'a> {
    pdb: &'a PodDisruptionBudget,
    selected: Vec<&'a PodFacts>,
}

/// Every PDB of the namespace that selects the workload's pods (or, with no pods,
/// its pod template).
fn covering_budgets<'a>(w: &Workload<'a>, pods: &[(&PodFacts, bool)], index: &Index<'a>) -> Vec<Covering<'a>> {
    let candidates = index.pdbs_by_namespace.get(w.namespace).map_or(&[][..], Vec::as_slice);
    candidates
        .iter()
        .filter(|pdb| pdb_covers(pdb, w, pods))
        .map(|pdb| Covering { pdb, selected: selected_pods(pdb, w.namespace, index) })
        .collect()
}

/// The covering PDBs with their headroom.
fn matching_budgets(w: &Workload<'_>, covering: &[Covering<'_>], all: &[Workload<'_>]) -> Vec<PdbHeadroom> {
    covering.iter().map(|c| pdb_headroom(c.pdb, coverage(c, w.namespace, all))).collect()
}

/// What a service assembled from `members` read ([`Reads`]).
fn reads_of<'a>(
    w: &Workload<'a>,
    members: &Members<'a>,
    covering: &[Covering<'a>],
    index: &Index<'a>,
    events: &[&'a EventFacts],
) -> Reads {
    let name = |meta: &'a ObjectMeta| meta.name.as_deref().unwrap_or("");
    let mut pods: Vec<&str> = members.pods.iter().map(|(p, _)| p.name.as_str()).collect();
    for c in covering {
        pods.extend(c.selected.iter().map(|p| p.name.as_str()));
    }
    pods.sort_unstable();
    pods.dedup();
    let replicasets: Vec<&str> = members.replicasets.iter().map(|rs| rs.name.as_str()).collect();
    let events: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let hpas =
        index.hpas_by_namespace.get(w.namespace).into_iter().flatten().filter(|h| hpa::targets(h, w.kind, w.name));
    let mut reach: Vec<u64> = std::iter::once(read_key(Part::Workload, w.name))
        .chain(replicasets.iter().map(|n| read_key(Part::ReplicaSet, n)))
        .chain(pods.iter().map(|n| read_key(Part::Pod, n)))
        .chain(events.iter().map(|n| read_key(Part::Event, n)))
        .chain(covering.iter().map(|c| read_key(Part::DisruptionBudget, name(&c.pdb.metadata))))
        .chain(hpas.map(|h| read_key(Part::Autoscaler, name(&h.metadata))))
        .collect();
    reach.sort_unstable();
    reach.dedup();
    let listed = (Names::of(replicasets), Names::of(pods), Names::of(events));
    let (unlisted, (replicasets, pods, events)) = match listed {
        (Some(r), Some(p), Some(e)) => (false, (r, p, e)),
        _ => (true, Default::default()),
    };
    Reads { workload: w.name.to_string(), replicasets, pods, events, reach: reach.into_boxed_slice(), unlisted }
}

/// A PDB covers a workload when it selects its pod template or any of its pods.
fn pdb_covers(pdb: &PodDisruptionBudget, w: &Workload<'_>, pods: &[(&PodFacts, bool)]) -> bool {
    let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
    optional_selector_matches(selector, w.template_labels)
        || pods.iter().any(|(p, _)| optional_selector_matches(selector, &p.labels))
}

/// The pods of `ns` a PDB selects.
fn selected_pods<'a>(pdb: &PodDisruptionBudget, ns: &str, index: &Index<'a>) -> Vec<&'a PodFacts> {
    let selector = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
    index.pods_in(ns).iter().copied().filter(|p| optional_selector_matches(selector, &p.labels)).collect()
}

/// The pods and controller scale a PDB covers, for when it has no status yet.
fn coverage(covering: &Covering<'_>, ns: &str, all: &[Workload<'_>]) -> Coverage {
    let selector = covering.pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
    let selected = &covering.selected;
    let scale = all
        .iter()
        .filter(|w| w.namespace == ns && optional_selector_matches(selector, w.template_labels))
        .map(|w| w.replicas.desired)
        .fold(0i32, i32::saturating_add);
    Coverage {
        selected_pods: selected.len() as i32,
        healthy_pods: selected.iter().filter(|p| pods::is_healthy(p)).count() as i32,
        controller_scale: scale,
    }
}

/// The revision history: a Deployment's ReplicaSets, a StatefulSet's ControllerRevisions.
fn revision_history<'a>(w: &Workload<'a>, members: &Members<'a>, index: &Index<'a>) -> Vec<Revision> {
    match w.kind {
        WorkloadKind::Deployment => history::revisions(&members.replicasets, w.revision),
        WorkloadKind::StatefulSet => {
            let owned = w.uid.and_then(|uid| index.revisions_by_owner.get(uid)).map_or(&[][..], Vec::as_slice);
            let pods: Vec<&PodFacts> = members.pods.iter().map(|(p, _)| *p).collect();
            history::statefulset_revisions(owned, &pods, w.update_revision, w.current_revision)
        }
    }
}

fn service_key(w: &Workload<'_>) -> ServiceKey {
    ServiceKey { namespace: safe(w.namespace), name: safe(w.name), kind: w.kind, cluster: None }
}

/// One service from its workload and members; `preflight`, when given, is kept instead
/// of checking the workload again.
#[allow(clippy::too_many_arguments)]
fn assemble<'a>(
    w: &Workload<'a>,
    members: Members<'a>,
    preflight: Option<Vec<Finding>>,
    index: &Index<'a>,
    all: &[Workload<'a>],
    shared: &Shared<'_>,
    readiness: &ReadinessHistory,
    now: Timestamp,
    visibility: Visibility,
) -> (Service, Reads) {
    let about = service_events(w, &members, index);
    let covering = covering_budgets(w, &members.pods, index);
    let reads = reads_of(w, &members, &covering, index, &about);
    let pod_rows: Vec<PodRow> =
        members.pods.iter().map(|(p, updated)| pods::pod_row(p, *updated, readiness, now)).collect();
    let budgets = matching_budgets(w, &covering, all);
    let matching_pdbs: Vec<String> = budgets.iter().map(|b| b.name.clone()).collect();
    let pdb = pdb::most_restrictive(budgets);
    let pvcs = index.pvcs_by_namespace.get(w.namespace).map_or(&[][..], Vec::as_slice);
    let hpa = index
        .hpas_by_namespace
        .get(w.namespace)
        .into_iter()
        .flatten()
        .filter(|h| hpa::targets(h, w.kind, w.name))
        .min_by_key(|h| h.metadata.name.clone())
        .map(|h| hpa::hpa_summary(h));
    let gitops = flags::gitops(w.meta);
    let owner = crate::model::gitops::resolve(w.meta, Some(shared.gitops_owners), shared.gitops_sources, hpa.is_some());
    let revisions = revision_history(w, &members, index);
    let mut rollout = w.rollout();
    // A StatefulSet's revision number lives in its ControllerRevision.
    rollout.revision = rollout.revision.or_else(|| revisions.iter().find(|r| r.current).map(|r| r.revision));
    let need = PodNeed::of(w.pod_spec);
    let mut service = Service {
        key: service_key(w),
        resource_version: w.meta.resource_version.clone(),
        created: w.meta.creation_timestamp.as_ref().map(|t| t.0),
        replicas: w.replicas,
        hpa,
        rollout,
        probes: probes::probe_summaries(w.pod_spec),
        pods_summary: pods::summarize(&pod_rows),
        pods: pod_rows,
        flags: ServiceFlags {
            singleton: flags::singleton_reason(w.meta, w.replicas.desired, pdb.as_ref()),
            gitops: gitops
                .as_ref()
                .map(|(manager, _)| manager.clone())
                .or_else(|| owner.as_ref().map(|o| o.owner.kind.tool().to_string())),
            rwo_volume: flags::rwo_volume(w.pod_spec, w.claim_templates, pvcs),
        },
        pdb,
        events: events::newest_first(about),
        revisions,
        containers: history::container_images(w.pod_spec),
        env: history::env_vars(w.pod_spec),
        findings: Vec::new(),
        preflight: Vec::new(),
        database: budget::database_hints(annotations_of(w.meta), w.template_annotations, w.template_labels, w.pod_spec),
        budget: None,
        need,
        helm: helm::release_of(w.meta, shared.helm_releases),
        gitops: owner,
    };
    let ready_since: Vec<(String, Timestamp)> =
        members.pods.iter().filter_map(|(p, _)| Some((format!("pod/{}", safe(&p.name)), p.ready_since?))).collect();
    let facts = Facts {
        matching_pdbs: &matching_pdbs,
        gitops_detail: gitops.as_ref().map(|(_, detail)| detail.as_str()),
        visibility,
        now,
        ready_since: &ready_since,
    };
    service.findings = findings::service_findings(&service, &facts);
    if let Some(kept) = preflight {
        service.preflight = kept;
        return (service, reads);
    }
    service.preflight = lint::workload_checks(&lint::WorkloadFacts {
        kind: w.kind,
        replicas: w.replicas.desired,
        hpa_max: service.hpa.as_ref().map(|h| h.max),
        pod_spec: w.pod_spec,
        max_unavailable: w.max_unavailable,
        rolling: w.rolling,
        surges: w.surges,
        shared_rwo_claim: flags::shared_rwo_claim(w.pod_spec, pvcs),
        gitops: service.flags.gitops.as_deref(),
        declared_replicas: flags::declared_replicas(w.meta),
        owner: service.gitops.as_ref(),
    });
    (service, reads)
}

fn service_events<'a>(w: &Workload<'a>, members: &Members<'a>, index: &Index<'a>) -> Vec<&'a EventFacts> {
    let mut objects: Vec<(&str, &str)> = vec![(w.kind.as_str(), w.name)];
    objects.extend(members.replicasets.iter().map(|rs| ("ReplicaSet", rs.name.as_str())));
    objects.extend(members.pods.iter().map(|(p, _)| ("Pod", p.name.as_str())));
    objects
        .into_iter()
        .flat_map(|(kind, name)| index.events_by_object.get(&(w.namespace, kind, name)).into_iter().flatten().copied())
        .collect()
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

/// The suspended owners of `services`, each once (`Flux Kustomization flux-system/apps`),
/// with the services they apply: a reminder that manual changes now stick.
pub fn gitops_suspended<'a>(services: impl IntoIterator<Item = &'a Service>) -> Vec<(String, Vec<String>)> {
    let mut found: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for s in services {
        if let Some(g) = s.gitops.as_ref().filter(|g| g.state() == super::gitops::OwnerState::Suspended) {
            found.entry(g.describe()).or_default().push(format!("{}/{}", s.key.namespace, s.key.name));
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests;
