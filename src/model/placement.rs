//! What a drain needs to know of a pod beyond its numbers: who re-creates it (its
//! controller), whether the node itself runs it (a mirror pod), what data dies with it
//! (emptyDir volumes), and where its replacement may go (node selector, tolerations).
//! Taken once when the pod arrives; a leaf of the model (it imports nothing from it).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The annotation the kubelet puts on the API copy of a static pod.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Tolerations every pod gets from the API server's admission; they matter only for nodes
/// that are not ready, which a drain never sends pods to, so they are not kept.
const DEFAULT_TOLERATIONS: [&str; 2] = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodPlacement {
    /// The controlling owner: (kind, name), e.g. ("ReplicaSet", "api-7d9f").
    pub controller: Option<(String, String)>,
    /// A static pod's mirror: the kubelet runs it, eviction cannot remove it.
    pub mirror: bool,
    /// The pod's emptyDir volumes: their data is gone when the pod goes.
    pub empty_dirs: Vec<String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
}

// Toleration has no float in it, only strings and an integer: equality is total.
impl Eq for PodPlacement {}

impl PodPlacement {
    pub fn of(meta: &ObjectMeta, spec: Option<&PodSpec>) -> PodPlacement {
        let controller = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| (o.kind.clone(), o.name.clone()));
        let mirror = meta.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR_ANNOTATION));
        let empty_dirs = spec
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
            .filter(|v| v.empty_dir.is_some())
            .map(|v| v.name.clone())
            .collect();
        let tolerations = spec
            .and_then(|s| s.tolerations.as_ref())
            .into_iter()
            .flatten()
            .filter(|t| !t.key.as_deref().is_some_and(|k| DEFAULT_TOLERATIONS.contains(&k)))
            .cloned()
            .collect();
        PodPlacement {
            controller,
            mirror,
            empty_dirs,
            node_selector: spec.and_then(|s| s.node_selector.clone()).unwrap_or_default(),
            tolerations,
        }
    }

    /// Owned by a DaemonSet: `kubectl drain --ignore-daemonsets` leaves it, and it would
    /// come straight back if evicted.
    pub fn daemon_set(&self) -> bool {
        self.controller.as_ref().is_some_and(|(kind, _)| kind == "DaemonSet")
    }

    /// Whether a node with these labels and taints takes the pod's replacement.
    pub fn fits_node(&self, labels: &BTreeMap<String, String>, taints: &[Taint]) -> bool {
        let selected = self.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v));
        let schedulable_taints = taints.iter().filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute");
        selected && schedulable_taints.into_iter().all(|taint| self.tolerations.iter().any(|t| tolerates(t, taint)))
    }
}

/// Whether one toleration lets a pod onto a node with `taint`.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = match toleration.key.as_deref() {
        None | Some("") => toleration.operator.as_deref() == Some("Exists"),
        Some(key) => key == taint.key,
    };
    let value_ok = toleration.operator.as_deref() == Some("Exists")
        || toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("");
    effect_ok && key_ok && value_ok
}
