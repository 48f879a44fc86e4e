//! One row per pod: phase, readiness, restarts, the reason worth showing, readiness
//! flaps over the flapping window, and whether it runs the current revision.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::sanitize::{Sgr, sanitize};
use super::service::{FLAPPING_TRANSITIONS, FLAPPING_WINDOW_S, PodRow, PodsSummary};
use super::services::ReadinessHistory;

/// A pod as the detail view shows it; `updated` is decided by the caller (it knows the
/// current ReplicaSet or revision).
pub fn pod_row(pod: &Pod, updated: bool, readiness: &ReadinessHistory, now: Timestamp) -> PodRow {
    let meta = &pod.metadata;
    let status = pod.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let containers = pod.spec.as_ref().map_or(statuses.len(), |s| s.containers.len());
    let namespace = meta.namespace.as_deref().unwrap_or("");
    let name = meta.name.as_deref().unwrap_or("");
    let since = now - SignedDuration::from_secs(FLAPPING_WINDOW_S);
    PodRow {
        name: safe(name),
        phase: phase(pod),
        ready: is_ready(pod),
        containers_ready: (statuses.iter().filter(|c| c.ready).count(), containers),
        restarts: statuses.iter().map(|c| c.restart_count).sum(),
        reason: reason(pod),
        node: pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).map(safe),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
        flaps: readiness.transitions_since(namespace, name, since),
        updated,
        ip: status.and_then(|s| s.pod_ip.as_deref()).map(safe),
        containers: pod
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default(),
    }
}

/// The pod's Ready condition, as Services and the disruption controller read it.
pub fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// When a Ready pod last became Ready (`None` when it is not Ready).
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let conditions = pod.status.as_ref()?.conditions.as_deref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready" && c.status == "True")?;
    ready.last_transition_time.as_ref().map(|t| t.0)
}

/// Ready and not on its way out: what a PDB counts as healthy.
pub fn is_healthy(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && is_ready(pod)
}

fn phase(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".to_string();
    }
    safe(pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Unknown"))
}

/// The reason an operator wants to see: a waiting or terminated container state
/// (`CrashLoopBackOff`, `ImagePullBackOff`, `Error`), an OOM kill that caused the last
/// restart, an eviction, or why the pod cannot be scheduled.
fn reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
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
        .map(|r| safe(&r))
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
        restarts: rows.iter().map(|p| p.restarts).sum(),
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

    fn pod(v: serde_json::Value) -> Pod {
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
        let summary = summarize(&rows);
        assert_eq!((summary.total, summary.ready, summary.flapping), (1, 0, 1));
    }

    #[test]
    fn hostile_names_are_sanitized() {
        let p = pod(json!({"metadata": {"name": "x\u{1b}[31mred", "namespace": "s"}, "spec": {"containers": []}}));
        assert_eq!(pod_row(&p, true, &ReadinessHistory::default(), now()).name, "xred");
    }
}
