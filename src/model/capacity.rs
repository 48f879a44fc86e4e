//! Node capacity for scale-ups: how many more pods of a service the nodes' free allocatable
//! holds (allocatable minus what the pods already scheduled there request), as the
//! scheduler's resource check sees it. Node selectors and affinity are not considered, so
//! the answer is an upper bound: "does not fit" is certain, "fits" is not a promise.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, PodSpec, Taint};

use super::placement::tolerates;
use super::pods::PodFacts;
use super::resources::{PodNeed, Resources, Room, bytes, cpu_m};
use super::sanitize::clean;

/// A node that takes new pods, with what is left of its allocatable.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRoom {
    pub name: String,
    pub free: Resources,
    /// NoSchedule / NoExecute taints a new pod must tolerate.
    pub taints: Vec<Taint>,
}

/// The nodes' free capacity, or why it is not known.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeCapacity {
    Known(Vec<NodeRoom>),
    Unknown(String),
}

/// Before the nodes are first read (a view is shown while the scope still lists).
impl Default for NodeCapacity {
    fn default() -> Self {
        NodeCapacity::Unknown("the nodes are not read yet".into())
    }
}

pub use super::pods::holds_resources;

/// What the pods that still hold resources request, per node.
pub fn requested_by_node(pods: &[Arc<PodFacts>]) -> BTreeMap<&str, Resources> {
    let mut used: BTreeMap<&str, Resources> = BTreeMap::new();
    for pod in pods.iter().filter(|p| holds_resources(p)) {
        let Some(node) = pod.node.as_deref() else { continue };
        let entry = used.entry(node).or_default();
        *entry = entry.plus(pod.requests);
    }
    used
}

/// Cordoned (`spec.unschedulable`): the scheduler sends it no new pods.
pub fn cordoned(node: &Node) -> bool {
    node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
}

/// The free allocatable of every node that takes new pods: allocatable minus the requests
/// of the pods scheduled on it that still hold them (not Succeeded or Failed).
pub fn node_rooms(nodes: &[Arc<Node>], pods: &[Arc<PodFacts>]) -> Vec<NodeRoom> {
    let used = requested_by_node(pods);
    nodes
        .iter()
        .filter(|n| !cordoned(n))
        .map(|n| {
            let name = n.metadata.name.as_deref().unwrap_or("");
            NodeRoom {
                name: clean(name),
                free: node_allocatable(n).minus(used.get(name).copied().unwrap_or_default()),
                taints: n.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// What a node offers pods in all: its allocatable cpu and memory.
pub fn node_allocatable(node: &Node) -> Resources {
    let allocatable = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let get = |k: &str| allocatable.and_then(|a| a.get(k));
    Resources { cpu_m: get("cpu").map_or(0, cpu_m), memory: get("memory").map_or(0, bytes) }
}

/// How many more pods of `spec` fit the free capacity. Identical pods place independently
/// per node, so the count is exact for the resource check: per node, the smaller of what
/// its free cpu and its free memory hold.
pub fn room(capacity: &NodeCapacity, spec: Option<&PodSpec>) -> Room {
    room_for(capacity, &PodNeed::of(spec))
}

/// [`room`] from what one pod needs, kept with the service: when only the nodes' free
/// capacity moved, each service's room is computed again from it, not rebuilt.
pub fn room_for(capacity: &NodeCapacity, need: &PodNeed) -> Room {
    let rooms = match capacity {
        NodeCapacity::Unknown(why) => return Room::Unknown(why.clone()),
        NodeCapacity::Known(rooms) => rooms,
    };
    let per_pod = need.per_pod;
    if per_pod.is_zero() {
        return Room::NoRequests;
    }
    let eligible: Vec<&NodeRoom> = rooms
        .iter()
        .filter(|n| n.taints.iter().all(|taint| need.tolerations.iter().any(|t| tolerates(t, taint))))
        .collect();
    let holds = |free: i64, each: i64| if each <= 0 { u64::MAX } else { (free.max(0) / each) as u64 };
    let more_pods = eligible
        .iter()
        .map(|n| holds(n.free.cpu_m, per_pod.cpu_m).min(holds(n.free.memory, per_pod.memory)))
        .fold(0u64, u64::saturating_add);
    Room::Known { per_pod, more_pods, nodes: eligible.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::{format_cpu, format_memory, pod_requests, quantity};
    use serde_json::json;

    fn node(name: &str, cpu: &str, memory: &str, spec: serde_json::Value) -> Arc<Node> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name},
                "spec": spec,
                "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}},
            }))
            .unwrap(),
        )
    }

    fn pod(node: &str, cpu: &str, memory: &str, phase: &str) -> Arc<PodFacts> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": format!("p-{node}-{cpu}")},
                "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
                "status": {"phase": phase},
            }))
            .unwrap(),
        )
    }

    fn spec(value: serde_json::Value) -> PodSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn quantities_parse_as_kubernetes_writes_them() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("0.5"), Some(0.5));
        assert_eq!(quantity("128Mi"), Some(134_217_728.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("lots"), None);
        assert_eq!((format_cpu(250), format_cpu(2000), format_cpu(1500)), ("250m".into(), "2".into(), "1.5".into()));
        assert_eq!((format_memory(256 << 20), format_memory(16 << 30)), ("256Mi".into(), "16Gi".into()));
    }

    #[test]
    fn huge_or_non_finite_quantities_are_refused_and_sums_saturate() {
        for bad in ["inf", "NaN", "infKi", "1e999", "99999999999999999999E", "-inf"] {
            assert_eq!(quantity(bad), None, "{bad}");
        }
        assert_eq!(quantity("8E"), Some(8e18));
        let s = spec(json!({"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "9000000000000000", "memory": "8E"}}},
            {"name": "b", "resources": {"requests": {"cpu": "9000000000000000", "memory": "8E"}}},
        ]}));
        assert_eq!(pod_requests(&s), Resources { cpu_m: i64::MAX, memory: i64::MAX });
    }

    #[test]
    fn effective_requests_take_limits_for_missing_requests_and_the_largest_init_container() {
        let s = spec(json!({
            "initContainers": [{"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}],
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                {"name": "sidecar", "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}},
            ],
        }));
        assert_eq!(pod_requests(&s), Resources { cpu_m: 2000, memory: 320 << 20 });
    }

    #[test]
    fn free_capacity_is_allocatable_minus_the_requests_still_held() {
        let nodes = [node("n1", "8", "16Gi", json!({})), node("cordoned", "8", "16Gi", json!({"unschedulable": true}))];
        let pods =
            [pod("n1", "2", "4Gi", "Running"), pod("n1", "3", "1Gi", "Succeeded"), pod("n1", "1", "1Gi", "Pending")];
        let rooms = node_rooms(&nodes, &pods);
        assert_eq!(rooms.len(), 1, "a cordoned node takes no new pods");
        assert_eq!(rooms[0].free, Resources { cpu_m: 5000, memory: 11 << 30 }, "a finished pod holds nothing");
    }

    #[test]
    fn room_counts_per_node_the_smaller_of_cpu_and_memory() {
        let nodes = [
            node("n1", "8", "16Gi", json!({})),
            node("n2", "8", "16Gi", json!({})),
            node("n3", "8", "16Gi", json!({})),
        ];
        let capacity = NodeCapacity::Known(node_rooms(&nodes, &[pod("n1", "7", "1Gi", "Running")]));
        let big =
            spec(json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}));
        // n1 has 1 cpu left (2 pods); n2 and n3 have 8 cpu (16 pods each by cpu, 16 by memory).
        assert_eq!(
            room(&capacity, Some(&big)),
            Room::Known { per_pod: Resources { cpu_m: 500, memory: 1 << 30 }, more_pods: 34, nodes: 3 }
        );
        let memory_bound =
            spec(json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "10m", "memory": "8Gi"}}}]}));
        assert!(matches!(room(&capacity, Some(&memory_bound)), Room::Known { more_pods: 5, .. }));
        let nothing = spec(json!({"containers": [{"name": "a"}]}));
        assert_eq!(room(&capacity, Some(&nothing)), Room::NoRequests);
        let unknown = NodeCapacity::Unknown("no access".into());
        assert_eq!(room(&unknown, Some(&big)), Room::Unknown("no access".into()));
    }

    #[test]
    fn tainted_nodes_count_only_for_pods_that_tolerate_them() {
        let taint = json!({"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]});
        let nodes = [node("plain", "1", "4Gi", json!({})), node("db", "8", "16Gi", taint)];
        let capacity = NodeCapacity::Known(node_rooms(&nodes, &[]));
        let request = json!([{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]);
        let plain = spec(json!({"containers": request}));
        assert!(matches!(room(&capacity, Some(&plain)), Room::Known { more_pods: 1, nodes: 1, .. }));
        let tolerant = spec(json!({"containers": request,
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]}));
        assert!(matches!(room(&capacity, Some(&tolerant)), Room::Known { more_pods: 9, nodes: 2, .. }));
        let everything = spec(json!({"containers": request, "tolerations": [{"operator": "Exists"}]}));
        assert!(matches!(room(&capacity, Some(&everything)), Room::Known { nodes: 2, .. }));
    }
}
