//! One row per pod: phase, readiness, restarts, the reason worth showing, readiness
//! flaps over the flapping window, and whether it runs the current revision.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodStatus};
use serde::Deserialize;

use super::changes::Change;
use super::owners::controller_uid;
use super::placement::PodPlacement;
use super::resources::{self, Resources};
use super::sanitize::{Sgr, sanitize};
use super::service::{FLAPPING_TRANSITIONS, FLAPPING_WINDOW_S, PodRow, PodsSummary};

/// Readiness transitions per pod, recorded as the pod watch delivers them; the model
/// counts them over [`FLAPPING_WINDOW_S`] to find flapping pods.
#[derive(Clone, Debug, Default)]
pub struct ReadinessHistory {
    /// By namespace, then pod: a lookup builds no key, a namespace's name is kept once.
    transitions: BTreeMap<String, BTreeMap<String, VecDeque<Timestamp>>>,
    /// Pods with transitions kept.
    pods: usize,
    /// Transitions recorded since pods whose every transition left the window were last
    /// forgotten.
    since_sweep: usize,
}

/// Pods whose transitions all left the window (gone, or steady since) are forgotten
/// after at least this many transitions, and at least as many as pods are kept: the
/// sweep costs a pass over them, so it stays a constant cost per transition.
const SWEEP_AFTER: usize = 1024;

impl ReadinessHistory {
    /// Records that `namespace/pod` changed readiness at `at`, forgetting what fell out of
    /// the window so memory stays bounded by the pods that changed within it.
    pub fn record(&mut self, namespace: &str, pod: &str, at: Timestamp) {
        let horizon = at - SignedDuration::from_secs(FLAPPING_WINDOW_S);
        if !self.transitions.contains_key(namespace) {
            self.transitions.insert(namespace.to_string(), BTreeMap::new());
        }
        let pods = self.transitions.get_mut(namespace).expect("inserted above");
        if !pods.contains_key(pod) {
            pods.insert(pod.to_string(), VecDeque::new());
            self.pods += 1;
        }
        let entry = pods.get_mut(pod).expect("inserted above");
        entry.push_back(at);
        while entry.front().is_some_and(|t| *t < horizon) {
            entry.pop_front();
        }
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_AFTER.max(self.pods) {
            self.forget_steady(horizon);
        }
    }

    /// Forgets the pods none of whose transitions is at or after `horizon`.
    fn forget_steady(&mut self, horizon: Timestamp) {
        for pods in self.transitions.values_mut() {
            pods.retain(|_, at| at.back().is_some_and(|t| *t >= horizon));
        }
        self.transitions.retain(|_, pods| !pods.is_empty());
        self.pods = self.transitions.values().map(BTreeMap::len).sum();
        self.since_sweep = 0;
    }

    /// Transitions of `namespace/pod` since `since`.
    pub fn transitions_since(&self, namespace: &str, pod: &str, since: Timestamp) -> usize {
        let at = self.transitions.get(namespace).and_then(|pods| pods.get(pod));
        at.map_or(0, |ts| ts.iter().filter(|t| **t >= since).count())
    }

    /// Pods with transitions kept.
    pub fn len(&self) -> usize {
        self.pods
    }

    pub fn is_empty(&self) -> bool {
        self.pods == 0
    }
}

/// What the model reads of a pod, and nothing else. A cluster has ten times more pods
/// than anything else, and a whole `Pod` (spec, status, every container's state) is
/// kilobytes, so the watch keeps this instead: the facts every number is computed from,
/// taken once when the pod arrives. Deserialises from a Pod's JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Pod")]
pub struct PodFacts {
    pub namespace: String,
    pub name: String,
    /// Shared: the pods of one ReplicaSet carry the same labels (see `Watched for Pod`).
    pub labels: Arc<BTreeMap<String, String>>,
    /// The uid of the controlling owner (a ReplicaSet or a StatefulSet).
    pub controller_uid: Option<String>,
    pub created: Option<Timestamp>,
    /// It has a deletionTimestamp: on its way out.
    pub deleting: bool,
    pub phase: Option<String>,
    /// The Ready condition is True, as Services and the disruption controller read it.
    pub ready: bool,
    /// When a Ready pod last became Ready (`None` when it is not Ready).
    pub ready_since: Option<Timestamp>,
    /// The containers of the spec, by name (to follow each one's logs).
    pub containers: Vec<String>,
    /// How many containers the pod has (the spec's, else the statuses').
    pub container_count: usize,
    pub containers_ready: usize,
    pub restarts: i32,
    /// The reason worth showing, unsanitised (see [`reason`]).
    pub reason: Option<String>,
    pub node: Option<String>,
    pub ip: Option<String>,
    /// What the pod holds of its node's allocatable while it runs (its effective cpu and
    /// memory requests), for the nodes' free capacity.
    pub requests: Resources,
    /// Who re-creates it and where it may go: what a drain preview reads.
    pub placement: PodPlacement,
}

impl From<Pod> for PodFacts {
    fn from(pod: Pod) -> Self {
        let meta = pod.metadata;
        let status = pod.status.unwrap_or_default();
        let statuses = status.container_statuses.as_deref().unwrap_or_default();
        let conditions = status.conditions.as_deref().unwrap_or_default();
        let ready = conditions.iter().find(|c| c.type_ == "Ready" && c.status == "True");
        let spec = pod.spec;
        PodFacts {
            placement: PodPlacement::of(&meta, spec.as_ref()),
            controller_uid: controller_uid(&meta).map(str::to_string),
            namespace: meta.namespace.unwrap_or_default(),
            name: meta.name.unwrap_or_default(),
            labels: Arc::new(meta.labels.unwrap_or_default()),
            created: meta.creation_timestamp.map(|t| t.0),
            deleting: meta.deletion_timestamp.is_some(),
            ready: ready.is_some(),
            ready_since: ready.and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0),
            container_count: spec.as_ref().map_or(statuses.len(), |s| s.containers.len()),
            containers_ready: statuses.iter().filter(|c| c.ready).count(),
            restarts: statuses.iter().map(|c| c.restart_count).fold(0, i32::saturating_add),
            reason: reason(&status),
            node: spec.as_ref().and_then(|s| s.node_name.clone()),
            requests: spec.as_ref().map(resources::pod_requests).unwrap_or_default(),
            // Cloned, not collected in place: that would keep the `Container`s' allocation.
            containers: spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default(),
            ip: status.pod_ip,
            phase: status.phase,
        }
    }
}

/// A pod as the detail view shows it; `updated` is decided by the caller (it knows the
/// current ReplicaSet or revision).
pub fn pod_row(pod: &PodFacts, updated: bool, readiness: &ReadinessHistory, now: Timestamp) -> PodRow {
    let since = now - SignedDuration::from_secs(FLAPPING_WINDOW_S);
    PodRow {
        name: safe(&pod.name),
        phase: phase(pod),
        ready: pod.ready,
        containers_ready: (pod.containers_ready, pod.container_count),
        restarts: pod.restarts,
        reason: pod.reason.as_deref().map(safe),
        node: pod.node.as_deref().map(safe),
        created: pod.created,
        flaps: readiness.transitions_since(&pod.namespace, &pod.name, since),
        updated,
        ip: pod.ip.as_deref().map(safe),
        containers: pod.containers.clone(),
    }
}

/// Ready and not on its way out: what a PDB counts as healthy.
/// What an update of a pod changed, for the live model: nothing it reads, its status
/// alone, or what it is grouped, placed or counted on a node by.
pub fn change_between(old: &PodFacts, new: &PodFacts) -> Change {
    if old == new {
        return Change::None;
    }
    let same_place = old.labels == new.labels
        && old.controller_uid == new.controller_uid
        && old.node == new.node
        && old.requests == new.requests
        && old.placement == new.placement
        && old.deleting == new.deleting
        && old.containers == new.containers
        && holds_resources(old) == holds_resources(new);
    if same_place { Change::Status } else { Change::Structure }
}

/// A pod holds its node's allocatable until it has finished (Succeeded or Failed).
pub fn holds_resources(pod: &PodFacts) -> bool {
    !matches!(pod.phase.as_deref(), Some("Succeeded" | "Failed"))
}

pub fn is_healthy(pod: &PodFacts) -> bool {
    !pod.deleting && pod.ready
}

fn phase(pod: &PodFacts) -> String {
    if pod.deleting {
        return "Terminating".to_string();
    }
    safe(pod.phase.as_deref().unwrap_or("Unknown"))
}

/// The reason an operator wants to see: a waiting or terminated container state
/// (`CrashLoopBackOff`, `ImagePullBackOff`, `Error`), an OOM kill that caused the last
/// restart, an eviction, or why the pod cannot be scheduled.
fn reason(status: &PodStatus) -> Option<String> {
    let statuses = status.container_statuses.as_deref().unwrap_or_default();
    statuses
        .iter()
        .find_map(current_state_reason)
        .or_else(|| statuses.iter().find_map(last_oom_kill))
        .or_else(|| status.reason.clone())
        .or_else(|| {
            let conditions = status.conditions.as_deref().unwrap_or_default();
            conditions.iter().find(|c| c.type_ == "PodScheduled" && c.status == "False").and_then(|c| c.reason.clone())
        })
}

fn current_state_reason(c: &ContainerStatus) -> Option<String> {
    let state = c.state.as_ref()?;
    if let Some(waiting) = &state.waiting {
        return waiting.reason.clone();
    }
    state.terminated.as_ref().and_then(|t| t.reason.clone())
}

fn last_oom_kill(c: &ContainerStatus) -> Option<String> {
    let reason = c.last_state.as_ref()?.terminated.as_ref()?.reason.as_deref()?;
    (reason == "OOMKilled").then(|| reason.to_string())
}

pub fn summarize(rows: &[PodRow]) -> PodsSummary {
    PodsSummary {
        total: rows.len(),
        ready: rows.iter().filter(|p| p.ready).count(),
        restarts: rows.iter().map(|p| p.restarts).fold(0, i32::saturating_add),
        flapping: rows.iter().filter(|p| p.flaps >= FLAPPING_TRANSITIONS).count(),
    }
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> PodFacts {
        serde_json::from_value(v).unwrap()
    }

    fn now() -> Timestamp {
        "2025-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn crashlooping_pod() {
        let p = pod(json!({
            "metadata": {"name": "agg-1", "namespace": "app", "creationTimestamp": "2025-06-01T11:00:00Z"},
            "spec": {"nodeName": "k3s-node-2", "containers": [{"name": "agg"}, {"name": "side"}]},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "agg", "ready": false, "restartCount": 5, "image": "i", "imageID": "",
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                    {"name": "side", "ready": true, "restartCount": 1, "image": "i", "imageID": "", "state": {"running": {}}},
                ]},
        }));
        let row = pod_row(&p, true, &ReadinessHistory::default(), now());
        assert_eq!(row.phase, "Running");
        assert!(!row.ready);
        assert_eq!(row.containers_ready, (1, 2));
        assert_eq!(row.restarts, 6);
        assert_eq!(row.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(row.node.as_deref(), Some("k3s-node-2"));
    }

    #[test]
    fn oom_kill_explains_a_restart_of_a_running_pod() {
        let p = pod(json!({
            "metadata": {"name": "a", "namespace": "x"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "c", "ready": true, "restartCount": 1, "image": "i", "imageID": "",
                    "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]},
        }));
        let row = pod_row(&p, false, &ReadinessHistory::default(), now());
        assert!(row.ready);
        assert_eq!(row.reason.as_deref(), Some("OOMKilled"));
        assert!(!row.updated);
    }

    #[test]
    fn unschedulable_and_terminating() {
        let p = pod(json!({
            "metadata": {"name": "a", "namespace": "x", "deletionTimestamp": "2025-06-01T11:59:00Z"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]},
        }));
        let row = pod_row(&p, true, &ReadinessHistory::default(), now());
        assert_eq!(row.phase, "Terminating");
        assert_eq!(row.reason.as_deref(), Some("Unschedulable"));
        assert!(!is_healthy(&p));
    }

    #[test]
    fn flaps_count_only_inside_the_window() {
        let p = pod(json!({"metadata": {"name": "fe-1", "namespace": "s"}, "spec": {"containers": []}}));
        let mut history = ReadinessHistory::default();
        let n = now();
        history.record("s", "fe-1", n - SignedDuration::from_secs(FLAPPING_WINDOW_S + 60));
        for ago in [500, 300, 100, 10] {
            history.record("s", "fe-1", n - SignedDuration::from_secs(ago));
        }
        let rows = vec![pod_row(&p, true, &history, n)];
        assert_eq!(rows[0].flaps, 4);
        assert_eq!(history.transitions_since("s", "fe-2", n - SignedDuration::from_secs(600)), 0);
        let summary = summarize(&rows);
        assert_eq!((summary.total, summary.ready, summary.flapping), (1, 0, 1));
    }

    #[test]
    fn pods_steady_for_a_whole_window_are_forgotten() {
        let mut history = ReadinessHistory::default();
        let start = now() - SignedDuration::from_secs(3 * FLAPPING_WINDOW_S);
        // Two thousand pods flip once, long ago (pods since deleted, or steady since).
        for i in 0..2000 {
            history.record("s", &format!("old-{i}"), start);
        }
        assert_eq!(history.len(), 2000);
        // A busy pod flips all the while: the old ones are swept, it is kept.
        for i in 0..3000 {
            history.record("s", "busy", now() - SignedDuration::from_secs(i % 60));
        }
        assert_eq!(history.len(), 1, "only the pod that changed within the window");
        assert!(history.transitions_since("s", "busy", now() - SignedDuration::from_secs(60)) > 0);
        assert_eq!(history.transitions_since("s", "old-7", start), 0);
    }

    #[test]
    fn hostile_names_are_sanitized() {
        let p = pod(json!({"metadata": {"name": "x\u{1b}[31mred", "namespace": "s"}, "spec": {"containers": []}}));
        assert_eq!(pod_row(&p, true, &ReadinessHistory::default(), now()).name, "xred");
    }
}
