//! "What happens if I drain this node?", answered before anything is touched: every pod on
//! it is evicted, skipped (DaemonSet, mirror, finished) or lost (no controller re-creates
//! it; emptyDir data, named); a pod whose disruption budget allows nothing now blocks the
//! drain, with the budget's arithmetic; the evicted pods' replacements are placed on the
//! nodes that stay (free allocatable, node selectors, taints); and the time is estimated
//! from how fast the replacements became ready before. Several nodes are a sequence.
//!
//! The budget rules are the eviction API's own (`pkg/registry/core/pod/storage/eviction.go`):
//! pods not running yet, finished or already terminating ignore their budget; an unready
//! pod is free when its budget is met anyway; a pod with two budgets cannot be evicted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use super::capacity::{cordoned, holds_resources, node_allocatable, requested_by_node};
use super::pdb::{Coverage, pdb_headroom};
use super::pods::PodFacts;
use super::resources::Resources;
use super::sanitize::clean;
use super::selectors::selector_matches;
use super::service::{ProbeKind, Service};
use super::visibility::Visibility;

/// What the cluster shows that a drain preview reads: every node, and every pod and
/// disruption budget of every namespace (a node's pods span them all).
pub struct DrainInputs<'a> {
    pub nodes: &'a [Arc<Node>],
    pub pods: &'a [Arc<PodFacts>],
    pub pdbs: &'a [Arc<PodDisruptionBudget>],
    /// The services the cockpit knows (for names and the replacements' start-up time).
    pub services: &'a [Service],
}

/// What the drain does with one pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PodAction {
    /// Evicted through the Eviction API; its controller re-creates it elsewhere.
    Evict,
    /// Evicted, but nothing re-creates it: the pod is lost (`kubectl drain` wants `--force`).
    Delete,
    /// Left on the node.
    Skip,
}

/// Why a pod is left where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Its DaemonSet would put it straight back (`--ignore-daemonsets`).
    DaemonSet,
    /// A static pod's mirror: the kubelet runs it from a file on the node.
    Mirror,
    /// Succeeded or Failed: it holds nothing.
    Finished,
}

/// What the pod's disruption budget says about evicting it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Hold {
    /// No budget covers it, or its budget does not count it (not running, unready).
    Free,
    /// Its budget allows it now (`allowed`); with more of its pods on the drained nodes
    /// than that, the later ones wait for the replacements to become ready.
    Allowed { pdb: String, allowed: i32 },
    /// Its budget allows no disruption now: the eviction API answers 429 until it does.
    Blocked { pdb: String, allowed: i32, why: String, never: bool },
    /// Two budgets select it: the eviction API refuses it outright.
    Ambiguous { pdbs: Vec<String> },
}

impl Hold {
    pub fn blocks(&self) -> bool {
        matches!(self, Hold::Blocked { .. } | Hold::Ambiguous { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PodDrain {
    pub namespace: String,
    pub name: String,
    /// `deploy/api`, `sts/pg` (a service the cockpit shows), else the controller
    /// (`Job/backup-123`), else `-`.
    pub owner: String,
    pub action: PodAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipReason>,
    /// emptyDir volumes whose data is gone with the pod.
    pub empty_dirs: Vec<String>,
    pub hold: Hold,
    #[serde(skip)]
    pub requests: Resources,
    /// The controlling owner (kind, name) a drain waits on for the replacement.
    #[serde(skip)]
    pub controller: Option<(String, String)>,
}

impl PodDrain {
    /// The drain takes it off the node (evicted, whether or not it comes back).
    pub fn moves(&self) -> bool {
        self.action != PodAction::Skip
    }

    /// Something is lost: the pod itself, or data in its emptyDir volumes.
    pub fn loses_something(&self) -> bool {
        self.action == PodAction::Delete || (self.action != PodAction::Skip && !self.empty_dirs.is_empty())
    }
}

/// One node of a drain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeDrain {
    pub node: String,
    /// The cluster the node is in, when several are shown (a fleet): the drain goes there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub found: bool,
    pub cordoned: bool,
    pub pods: Vec<PodDrain>,
    /// Evicted pods whose replacement fits on no node that stays (they would stay Pending).
    pub unplaced: Vec<String>,
    /// Seconds until every replacement is ready, one service at a time; `None` when the
    /// drain cannot complete or nothing says how long a replacement takes.
    pub estimate_s: Option<u64>,
}

impl NodeDrain {
    pub fn blocked(&self) -> impl Iterator<Item = &PodDrain> {
        self.pods.iter().filter(|p| p.action != PodAction::Skip && p.hold.blocks())
    }

    /// Every pod can go now (budgets permitting in turn) and every replacement has a place.
    pub fn drainable(&self) -> bool {
        self.found && self.blocked().next().is_none() && self.unplaced.is_empty()
    }
}

/// Draining nodes in the order given (a rolling node upgrade).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrainPlan {
    pub nodes: Vec<NodeDrain>,
}

impl DrainPlan {
    pub fn drainable(&self) -> bool {
        self.nodes.iter().all(NodeDrain::drainable)
    }
}

/// A node as the nodes view lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub name: String,
    pub ready: bool,
    pub cordoned: bool,
    pub allocatable: Resources,
    pub requested: Resources,
    pub pods: usize,
    /// Pods per owner (`namespace/deploy/api` → 2), most first.
    pub by_owner: Vec<(String, usize)>,
    pub drain: NodeDrain,
}

/// Every node, with what it carries and what draining it alone would do.
pub fn node_rows(inputs: &DrainInputs) -> Vec<NodeRow> {
    let cluster = Cluster::new(inputs);
    let mut rows: Vec<NodeRow> = inputs
        .nodes
        .iter()
        .map(|node| {
            let name = node.metadata.name.as_deref().unwrap_or_default();
            let pods = cluster.pods_on(name);
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for pod in pods {
                *counts.entry(format!("{}/{}", pod.namespace, cluster.owners.owner_of(pod))).or_default() += 1;
            }
            let mut by_owner: Vec<(String, usize)> = counts.into_iter().collect();
            by_owner.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut rooms = cluster.rooms_outside(&BTreeSet::from([name]));
            NodeRow {
                name: clean(name),
                ready: node_ready(node),
                cordoned: cordoned(node),
                allocatable: node_allocatable(node),
                requested: cluster.requested.get(name).copied().unwrap_or_default(),
                pods: pods.len(),
                by_owner,
                drain: cluster.drain(name, &mut rooms),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// What a drain cannot be judged without, and the operator may not read: an unreadable
/// PDB list is not "no PDB", so a preview without it would look safe when it is not.
pub fn blind_spots(seen: Visibility) -> Vec<&'static str> {
    [
        (seen.nodes, "nodes"),
        (seen.pods, "the pods of every namespace"),
        (seen.pdbs, "the poddisruptionbudgets of every namespace"),
    ]
    .into_iter()
    .filter(|(visible, _)| !visible)
    .map(|(_, what)| what)
    .collect()
}

/// Draining `names` in order. Replacements are placed on the nodes outside the plan (the
/// drained ones stay cordoned; the later ones would only evict them again).
pub fn plan(inputs: &DrainInputs, names: &[String]) -> DrainPlan {
    let cluster = Cluster::new(inputs);
    let mut rooms = cluster.rooms_outside(&names.iter().map(String::as_str).collect());
    DrainPlan { nodes: names.iter().map(|name| cluster.drain(name, &mut rooms)).collect() }
}

/// What every node's drain reads alike, computed once per preview: a walk of the pods,
/// not one per node.
struct Cluster<'a> {
    inputs: &'a DrainInputs<'a>,
    owners: Owners,
    requested: BTreeMap<&'a str, Resources>,
    pods_by_node: HashMap<&'a str, Vec<&'a PodFacts>>,
}

impl<'a> Cluster<'a> {
    fn new(inputs: &'a DrainInputs<'a>) -> Self {
        let mut pods_by_node: HashMap<&str, Vec<&PodFacts>> = HashMap::new();
        for pod in inputs.pods {
            if let Some(node) = pod.node.as_deref() {
                pods_by_node.entry(node).or_default().push(pod);
            }
        }
        Cluster {
            inputs,
            owners: Owners::new(inputs.services),
            requested: requested_by_node(inputs.pods),
            pods_by_node,
        }
    }

    fn pods_on(&self, node: &str) -> &[&'a PodFacts] {
        self.pods_by_node.get(node).map_or(&[], Vec::as_slice)
    }

    /// Ready, uncordoned nodes outside `draining`, with what their pods already request.
    fn rooms_outside(&self, draining: &BTreeSet<&str>) -> Rooms {
        let nodes = self
            .inputs
            .nodes
            .iter()
            .filter(|n| node_ready(n) && !cordoned(n))
            .filter_map(|n| {
                let name = n.metadata.name.as_deref()?;
                (!draining.contains(name)).then(|| Room {
                    name: name.to_string(),
                    free: node_allocatable(n).minus(self.requested.get(name).copied().unwrap_or_default()),
                    labels: n.metadata.labels.clone().unwrap_or_default(),
                    taints: n.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default(),
                })
            })
            .collect();
        Rooms { nodes }
    }

    /// What draining `name` does to each of its pods, with its replacements placed in `rooms`.
    fn drain(&self, name: &str, rooms: &mut Rooms) -> NodeDrain {
        let node = self.inputs.nodes.iter().find(|n| n.metadata.name.as_deref() == Some(name));
        let facts = self.pods_on(name);
        let pods: Vec<PodDrain> = facts.iter().map(|pod| pod_drain(pod, self.inputs.pdbs, &self.owners)).collect();
        let unplaced = rooms.place(&pods, facts);
        let mut drain = NodeDrain {
            node: clean(name),
            cluster: None,
            found: node.is_some(),
            cordoned: node.is_some_and(|n| cordoned(n)),
            pods,
            unplaced,
            estimate_s: None,
        };
        drain.estimate_s = estimate(&drain, self.inputs, &self.owners);
        drain
    }
}

pub fn node_ready(node: &Node) -> bool {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.into_iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Why a drain leaves `pod` where it is, if it does.
fn skip_reason(pod: &PodFacts) -> Option<SkipReason> {
    let placement = &pod.placement;
    if placement.mirror {
        Some(SkipReason::Mirror)
    } else if placement.daemon_set() {
        Some(SkipReason::DaemonSet)
    } else if !holds_resources(pod) {
        Some(SkipReason::Finished)
    } else {
        None
    }
}

/// A drain takes this pod off its node (evicted, re-created elsewhere or not).
pub fn moved_by_drain(pod: &PodFacts) -> bool {
    skip_reason(pod).is_none()
}

fn pod_drain(pod: &PodFacts, pdbs: &[Arc<PodDisruptionBudget>], owners: &Owners) -> PodDrain {
    let placement = &pod.placement;
    let skip = skip_reason(pod);
    let action = match (skip, &placement.controller) {
        (Some(_), _) => PodAction::Skip,
        (None, None) => PodAction::Delete,
        (None, Some(_)) => PodAction::Evict,
    };
    PodDrain {
        namespace: clean(&pod.namespace),
        name: clean(&pod.name),
        owner: clean(&owners.owner_of(pod)),
        action,
        skip,
        empty_dirs: placement.empty_dirs.iter().map(|v| clean(v)).collect(),
        hold: if action == PodAction::Skip { Hold::Free } else { hold(pod, pdbs) },
        requests: pod.requests,
        controller: placement.controller.clone(),
    }
}

/// The eviction API's budget decision for this pod, on the budgets' status now.
fn hold(pod: &PodFacts, pdbs: &[Arc<PodDisruptionBudget>]) -> Hold {
    let running = matches!(pod.phase.as_deref(), Some("Running") | None | Some("Unknown"));
    if !running || pod.deleting {
        return Hold::Free;
    }
    let covering: Vec<&PodDisruptionBudget> = pdbs
        .iter()
        .filter(|b| b.metadata.namespace.as_deref() == Some(pod.namespace.as_str()))
        .filter(|b| {
            let selector = b.spec.as_ref().and_then(|s| s.selector.as_ref());
            // An empty selector selects nothing here, as in the eviction API.
            selector.is_some_and(|s| {
                let empty = s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                    && s.match_expressions.as_ref().is_none_or(|e| e.is_empty());
                !empty && selector_matches(s, &pod.labels)
            })
        })
        .map(|b| &**b)
        .collect();
    let pdb = match covering.as_slice() {
        [] => return Hold::Free,
        [one] => *one,
        many => {
            let pdbs = many.iter().map(|b| clean(b.metadata.name.as_deref().unwrap_or(""))).collect();
            return Hold::Ambiguous { pdbs };
        }
    };
    let headroom = pdb_headroom(pdb, Coverage { selected_pods: 0, healthy_pods: 0, controller_scale: 0 });
    if !pod.ready {
        let always = pdb.spec.as_ref().and_then(|s| s.unhealthy_pod_eviction_policy.as_deref()) == Some("AlwaysAllow");
        if always || (headroom.current_healthy >= headroom.desired_healthy && headroom.desired_healthy > 0) {
            return Hold::Free;
        }
    }
    if headroom.disruptions_allowed > 0 {
        return Hold::Allowed { pdb: headroom.name, allowed: headroom.disruptions_allowed };
    }
    // At full strength it still allows nothing: the drain can only finish after a scale-up
    // or a change to the budget.
    let never = headroom.desired_healthy >= headroom.expected_pods.max(headroom.current_healthy);
    Hold::Blocked { pdb: headroom.name, allowed: headroom.disruptions_allowed, why: headroom.explanation, never }
}

/// Who owns a pod, in the words the overview uses.
struct Owners {
    by_pod: HashMap<(String, String), String>,
}

impl Owners {
    fn new(services: &[Service]) -> Owners {
        let by_pod = services
            .iter()
            .flat_map(|s| {
                let owner = format!("{}/{}", s.key.kind.short(), s.key.name);
                s.pods.iter().map(move |p| ((s.key.namespace.clone(), p.name.clone()), owner.clone()))
            })
            .collect();
        Owners { by_pod }
    }

    fn owner_of(&self, pod: &PodFacts) -> String {
        if let Some(owner) = self.by_pod.get(&(pod.namespace.clone(), pod.name.clone())) {
            return owner.clone();
        }
        match &pod.placement.controller {
            Some((kind, name)) => format!("{kind}/{name}"),
            None => "-".into(),
        }
    }
}

/// The free allocatable of the nodes that take replacements.
struct Rooms {
    nodes: Vec<Room>,
}

struct Room {
    name: String,
    free: Resources,
    labels: BTreeMap<String, String>,
    taints: Vec<Taint>,
}

impl Rooms {
    /// Places the evicted pods' replacements, largest first, each on the node with the
    /// most cpu left that takes it; returns those that fit nowhere.
    /// `facts` are the pods' own, in the same order as `pods`.
    fn place(&mut self, pods: &[PodDrain], facts: &[&PodFacts]) -> Vec<String> {
        let mut moving: Vec<(&PodDrain, &PodFacts)> = pods
            .iter()
            .zip(facts.iter().copied())
            // A blocked pod does not move; a lost one is not re-created.
            .filter(|(p, _)| p.action == PodAction::Evict && !p.hold.blocks())
            .collect();
        moving.sort_by_key(|(p, _)| std::cmp::Reverse((p.requests.cpu_m, p.requests.memory)));
        let mut unplaced = Vec::new();
        for (pod, facts) in moving {
            let need = pod.requests;
            let best = self
                .nodes
                .iter_mut()
                .filter(|r| r.free.cpu_m >= need.cpu_m && r.free.memory >= need.memory)
                .filter(|r| facts.placement.fits_node(&r.labels, &r.taints))
                .max_by_key(|r| (r.free.cpu_m, r.free.memory, std::cmp::Reverse(r.name.clone())));
            match best {
                Some(room) => room.free = room.free.minus(need),
                None => unplaced.push(format!("{}/{} ({})", pod.namespace, pod.name, need.describe())),
            }
        }
        unplaced
    }
}

/// How long until every replacement is ready, one owner at a time: per owner, its pods go
/// in waves of what its budget allows, each wave as long as its pods took to become ready
/// before (else its probes' start-up and readiness delays).
fn estimate(drain: &NodeDrain, inputs: &DrainInputs, owners: &Owners) -> Option<u64> {
    if !drain.found || drain.blocked().next().is_some() {
        return None;
    }
    let mut groups: BTreeMap<(&str, &str), (usize, i32)> = BTreeMap::new();
    for pod in drain.pods.iter().filter(|p| p.action == PodAction::Evict) {
        let allowed = match &pod.hold {
            Hold::Allowed { allowed, .. } => *allowed,
            _ => i32::MAX,
        };
        let entry = groups.entry((pod.namespace.as_str(), pod.owner.as_str())).or_insert((0, allowed));
        entry.0 += 1;
        entry.1 = entry.1.min(allowed);
    }
    let mut total: u64 = 0;
    for ((namespace, owner), (count, allowed)) in groups {
        let waves = count.div_ceil(allowed.max(1) as usize) as u64;
        total = total.saturating_add(waves.saturating_mul(ready_after_s(namespace, owner, inputs, owners)?));
    }
    Some(total)
}

/// How long a new pod of this owner takes to become ready: the fastest its running pods
/// did, else its probes' delays.
fn ready_after_s(namespace: &str, owner: &str, inputs: &DrainInputs, owners: &Owners) -> Option<u64> {
    let observed = inputs
        .pods
        .iter()
        .filter(|p| p.namespace == namespace && owners.owner_of(p) == owner)
        .filter_map(|p| Some(p.ready_since?.duration_since(p.created?).as_secs()))
        .filter(|s| *s >= 0)
        .min();
    if let Some(seconds) = observed {
        return Some(seconds as u64);
    }
    let service = inputs
        .services
        .iter()
        .find(|s| s.key.namespace == namespace && format!("{}/{}", s.key.kind.short(), s.key.name) == owner)?;
    let delay = |kind: ProbeKind| {
        service
            .probes
            .iter()
            .filter(|p| p.probe == kind)
            .map(|p| i64::from(p.initial_delay_s).saturating_add(i64::from(p.period_s)))
            .max()
            .unwrap_or(0)
    };
    Some(delay(ProbeKind::Startup).saturating_add(delay(ProbeKind::Readiness)).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn node(name: &str, cpu: &str, extra: Value) -> Arc<Node> {
        let mut n = json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": "8Gi"}, "conditions": [{"type": "Ready", "status": "True"}]},
        });
        json_patch::merge(&mut n, &extra);
        Arc::new(serde_json::from_value(n).unwrap())
    }

    fn pod(name: &str, node: &str, owner: Option<(&str, &str)>, extra: Value) -> Arc<PodFacts> {
        let owners = owner.map_or(json!([]), |(kind, name)| {
            json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": format!("uid-{name}"), "controller": true}])
        });
        let mut p = json!({
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": name.split('-').next().unwrap()}, "ownerReferences": owners},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        });
        json_patch::merge(&mut p, &extra);
        Arc::new(serde_json::from_value(p).unwrap())
    }

    fn pdb(name: &str, app: &str, healthy: i32, desired: i32, expected: i32, allowed: i32) -> Arc<PodDisruptionBudget> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "shop", "generation": 1},
                "spec": {"minAvailable": desired, "selector": {"matchLabels": {"app": app}}},
                "status": {"observedGeneration": 1, "currentHealthy": healthy, "desiredHealthy": desired,
                           "expectedPods": expected, "disruptionsAllowed": allowed},
            }))
            .unwrap(),
        )
    }

    fn drain_of(
        nodes: &[Arc<Node>],
        pods: &[Arc<PodFacts>],
        pdbs: &[Arc<PodDisruptionBudget>],
        names: &[&str],
    ) -> DrainPlan {
        let inputs = DrainInputs { nodes, pods, pdbs, services: &[] };
        plan(&inputs, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
    }

    fn by_name<'a>(drain: &'a NodeDrain, name: &str) -> &'a PodDrain {
        drain.pods.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn each_pod_is_evicted_skipped_or_lost_as_kubectl_drain_would() {
        let nodes = [node("a", "4", json!({})), node("b", "4", json!({}))];
        let pods = [
            pod(
                "api-1",
                "a",
                Some(("ReplicaSet", "api-7d")),
                json!({"spec": {"volumes": [{"name": "cache", "emptyDir": {}}]}}),
            ),
            pod("agent-1", "a", Some(("DaemonSet", "agent")), json!({})),
            pod("etcd-a", "a", None, json!({"metadata": {"annotations": {"kubernetes.io/config.mirror": "x"}}})),
            pod("shell-1", "a", None, json!({})),
            pod("job-1", "a", Some(("Job", "backup")), json!({"status": {"phase": "Succeeded"}})),
        ];
        let plan = drain_of(&nodes, &pods, &[], &["a"]);
        let a = &plan.nodes[0];
        assert_eq!(
            (by_name(a, "api-1").action, by_name(a, "api-1").empty_dirs.clone()),
            (PodAction::Evict, vec!["cache".to_string()])
        );
        assert!(by_name(a, "api-1").loses_something(), "emptyDir data goes with the pod");
        assert_eq!(by_name(a, "agent-1").skip, Some(SkipReason::DaemonSet));
        assert_eq!(by_name(a, "etcd-a").skip, Some(SkipReason::Mirror));
        assert_eq!(by_name(a, "job-1").skip, Some(SkipReason::Finished));
        assert_eq!(by_name(a, "shell-1").action, PodAction::Delete);
        assert!(a.drainable(), "nothing blocks: lost pods are said, not blocking");
    }

    #[test]
    fn budgets_block_as_the_eviction_api_decides() {
        let nodes = [node("a", "4", json!({})), node("b", "4", json!({}))];
        let pods = [
            pod("db-0", "a", Some(("StatefulSet", "db")), json!({})),
            pod("web-1", "a", Some(("ReplicaSet", "web-5")), json!({})),
            pod(
                "sick-1",
                "a",
                Some(("ReplicaSet", "sick-5")),
                json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            ),
            pod("new-1", "a", Some(("ReplicaSet", "new-5")), json!({"status": {"phase": "Pending"}})),
        ];
        let pdbs = [
            pdb("db", "db", 1, 1, 1, 0),
            pdb("web", "web", 3, 2, 3, 1),
            // Unready, but the budget is met without it: free to go.
            pdb("sick", "sick", 2, 2, 3, 0),
            pdb("new", "new", 0, 1, 1, 0),
        ];
        let plan = drain_of(&nodes, &pods, &pdbs, &["a"]);
        let a = &plan.nodes[0];
        match &by_name(a, "db-0").hold {
            Hold::Blocked { pdb, never, why, .. } => {
                assert_eq!((pdb.as_str(), *never), ("db", true));
                assert!(why.contains("minAvailable 1 of 1 healthy"), "{why}");
            }
            other => panic!("db-0: {other:?}"),
        }
        assert_eq!(by_name(a, "web-1").hold, Hold::Allowed { pdb: "web".into(), allowed: 1 });
        assert_eq!(by_name(a, "sick-1").hold, Hold::Free);
        assert_eq!(by_name(a, "new-1").hold, Hold::Free, "a pending pod ignores its budget");
        assert_eq!(a.blocked().count(), 1);
        assert!(!plan.drainable());
        assert_eq!(a.estimate_s, None, "a blocked drain has no end to estimate");
    }

    #[test]
    fn replacements_go_only_where_they_fit_and_the_drained_nodes_take_none() {
        let nodes = [
            node("a", "4", json!({})),
            node("b", "1", json!({})),
            node("c", "8", json!({"spec": {"unschedulable": true}})),
            node("d", "8", json!({"spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]}})),
        ];
        let pods = [
            pod("api-1", "a", Some(("ReplicaSet", "api-7d")), json!({})),
            pod("api-2", "a", Some(("ReplicaSet", "api-7d")), json!({})),
            pod("api-3", "a", Some(("ReplicaSet", "api-7d")), json!({})),
            pod(
                "pinned-1",
                "a",
                Some(("ReplicaSet", "pinned-1")),
                json!({"spec": {"nodeSelector": {"kubernetes.io/hostname": "a"}}}),
            ),
        ];
        // b holds two 500m pods; c is cordoned; d's taint is not tolerated.
        let plan = drain_of(&nodes, &pods, &[], &["a"]);
        let unplaced = &plan.nodes[0].unplaced;
        assert_eq!(unplaced.len(), 2, "{unplaced:?}");
        assert!(unplaced.iter().any(|u| u.starts_with("shop/pinned-1")), "{unplaced:?}");
        assert!(!plan.drainable());
        // Draining b as well leaves nowhere at all.
        let both = drain_of(&nodes, &pods, &[], &["a", "b"]);
        assert_eq!(both.nodes[0].unplaced.len(), 4);
    }

    #[test]
    fn the_estimate_counts_waves_of_what_each_budget_allows() {
        let nodes = [node("a", "4", json!({})), node("b", "8", json!({}))];
        let started = json!({"metadata": {"creationTimestamp": "2026-12-01T10:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T10:00:30Z"}]}});
        let pods = [
            pod("web-1", "a", Some(("ReplicaSet", "web-5")), started.clone()),
            pod("web-2", "a", Some(("ReplicaSet", "web-5")), started.clone()),
            pod("web-3", "a", Some(("ReplicaSet", "web-5")), started.clone()),
        ];
        let pdbs = [pdb("web", "web", 5, 4, 5, 1)];
        let plan = drain_of(&nodes, &pods, &pdbs, &["a"]);
        // One at a time (the budget allows 1), each ready 30 s after it started.
        assert_eq!(plan.nodes[0].estimate_s, Some(90));
    }
}
