//! From cluster objects to services: grouping (selector → pods, owner → ReplicaSets,
//! PDB and HPA matching) and the per-service computations. Pure: `now` is passed in.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::service::*;

/// The objects of one scope (a namespace or all), as the watches last saw them.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    pub deployments: Vec<Arc<Deployment>>,
    pub statefulsets: Vec<Arc<StatefulSet>>,
    pub replicasets: Vec<Arc<ReplicaSet>>,
    pub pods: Vec<Arc<Pod>>,
    pub pdbs: Vec<Arc<PodDisruptionBudget>>,
    pub hpas: Vec<Arc<HorizontalPodAutoscaler>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub events: Vec<Arc<Event>>,
}

/// Readiness transitions per pod, recorded as the pod watch delivers them; the model
/// counts them over [`FLAPPING_WINDOW_S`] to find flapping pods.
#[derive(Clone, Debug, Default)]
pub struct ReadinessHistory {
    transitions: BTreeMap<(String, String), VecDeque<Timestamp>>,
}

impl ReadinessHistory {
    /// Records that `namespace/pod` changed readiness at `at`, forgetting what fell out of
    /// the window so memory stays bounded.
    pub fn record(&mut self, namespace: &str, pod: &str, at: Timestamp) {
        let entry = self.transitions.entry((namespace.to_string(), pod.to_string())).or_default();
        entry.push_back(at);
        let horizon = at - jiff::SignedDuration::from_secs(FLAPPING_WINDOW_S);
        while entry.front().is_some_and(|t| *t < horizon) {
            entry.pop_front();
        }
    }

    /// Transitions of `namespace/pod` since `since`.
    pub fn transitions_since(&self, namespace: &str, pod: &str, since: Timestamp) -> usize {
        self.transitions
            .get(&(namespace.to_string(), pod.to_string()))
            .map_or(0, |ts| ts.iter().filter(|t| **t >= since).count())
    }

    pub fn forget(&mut self, namespace: &str, pod: &str) {
        self.transitions.remove(&(namespace.to_string(), pod.to_string()));
    }
}

/// Every service in `objects`, in namespace/name order.
pub fn build(objects: &ClusterObjects, readiness: &ReadinessHistory, now: Timestamp) -> Vec<Service> {
    let _ = (readiness, now);
    let deployments = objects.deployments.iter().map(|d| skeleton(&d.metadata, WorkloadKind::Deployment));
    let statefulsets = objects.statefulsets.iter().map(|s| skeleton(&s.metadata, WorkloadKind::StatefulSet));
    let mut services: Vec<Service> = deployments.chain(statefulsets).collect();
    services.sort_by(|a, b| a.key.cmp(&b.key));
    services
}

fn skeleton(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, kind: WorkloadKind) -> Service {
    Service {
        key: ServiceKey {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            kind,
        },
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
        replicas: Replicas::default(),
        hpa: None,
        rollout: Rollout { state: RolloutState::Complete, revision: None, message: String::new() },
        probes: Vec::new(),
        pods: Vec::new(),
        pods_summary: PodsSummary::default(),
        pdb: None,
        events: Vec::new(),
        revisions: Vec::new(),
        env: Vec::new(),
        flags: ServiceFlags::default(),
        findings: Vec::new(),
    }
}
