//! Rollout state with the rules of `kubectl rollout status` (its Deployment and
//! StatefulSet status viewers), so the cockpit and kubectl never disagree. Paused
//! deployments are reported as such first: kubectl would wait on them forever.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};

use super::sanitize::{Sgr, sanitize};
use super::service::{Rollout, RolloutState};

/// The annotation the deployment controller keeps on a Deployment and its ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// The condition reason the deployment controller sets when the progress deadline passes.
const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";

pub fn deployment_rollout(deployment: &Deployment) -> Rollout {
    let name = safe_name(deployment.metadata.name.as_deref());
    let revision = deployment_revision(deployment);
    let spec = Some(&deployment.spec);
    let unknown = Default::default();
    let status = deployment.status.as_ref().unwrap_or(&unknown);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    let (state, message) = if spec.and_then(|s| s.paused).unwrap_or(false) {
        (RolloutState::Paused, format!("deployment \"{name}\" is paused"))
    } else if generation > observed {
        (RolloutState::Progressing, "Waiting for deployment spec update to be observed...".to_string())
    } else if progress_deadline_exceeded(deployment) {
        (RolloutState::Stalled, format!("deployment \"{name}\" exceeded its progress deadline"))
    } else {
        let desired = spec.and_then(|s| s.replicas);
        let updated = status.updated_replicas.unwrap_or(0);
        let total = status.replicas.unwrap_or(0);
        let available = status.available_replicas.unwrap_or(0);
        if let Some(desired) = desired.filter(|d| updated < *d) {
            let m = format!(
                "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {desired} new replicas have been updated..."
            );
            (RolloutState::Progressing, m)
        } else if total > updated {
            let m = format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                total - updated
            );
            (RolloutState::Progressing, m)
        } else if available < updated {
            let m = format!(
                "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
            );
            (RolloutState::Progressing, m)
        } else {
            (RolloutState::Complete, format!("deployment \"{name}\" successfully rolled out"))
        }
    };
    Rollout { state, revision, message }
}

fn progress_deadline_exceeded(deployment: &Deployment) -> bool {
    let conditions = deployment.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_.as_deref() == Some("Progressing") && c.reason.as_deref() == Some(TIMED_OUT_REASON))
}

pub fn deployment_revision(deployment: &Deployment) -> Option<i64> {
    revision_annotation(deployment.metadata.annotations.as_ref())
}

/// The revision a Deployment or ReplicaSet carries in its annotation.
pub fn revision_annotation(annotations: Option<&std::collections::BTreeMap<String, String>>) -> Option<i64> {
    annotations?.get(REVISION_ANNOTATION)?.trim().parse().ok()
}

pub fn statefulset_rollout(sts: &StatefulSet) -> Rollout {
    let spec = Some(&sts.spec);
    let unknown = Default::default();
    let status = sts.status.as_ref().unwrap_or(&unknown);
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let strategy_type = strategy.and_then(|u| u.type_.as_deref()).unwrap_or("RollingUpdate");
    let revision = statefulset_revision(sts);
    let generation = sts.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    let desired = spec.and_then(|s| s.replicas);
    let updated = status.updated_replicas.unwrap_or(0);
    let (state, message) = if strategy_type != "RollingUpdate" {
        // kubectl refuses here; pods change only when someone deletes them.
        let m =
            format!("rollout status is only available for RollingUpdate strategy type (this one is {strategy_type})");
        (RolloutState::Complete, safe(&m))
    } else if observed == 0 || generation > observed {
        (RolloutState::Progressing, "Waiting for statefulset spec update to be observed...".to_string())
    } else if let Some(desired) = desired.filter(|d| status.ready_replicas.unwrap_or(0) < *d) {
        let m = format!("Waiting for {} pods to be ready...", desired - status.ready_replicas.unwrap_or(0));
        (RolloutState::Progressing, m)
    } else if let Some(rolling) = strategy.and_then(|u| u.rolling_update.as_ref()) {
        match (desired, rolling.partition) {
            (Some(desired), Some(partition)) if updated < desired - partition => {
                let m = format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {} new pods have been updated...",
                    desired - partition
                );
                (RolloutState::Progressing, m)
            }
            _ => (
                RolloutState::Complete,
                format!("partitioned roll out complete: {updated} new pods have been updated..."),
            ),
        }
    } else if status.update_revision != status.current_revision {
        let m = format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {}...",
            safe_name(status.update_revision.as_deref())
        );
        (RolloutState::Progressing, m)
    } else {
        let m = format!(
            "statefulset rolling update complete {} pods at revision {}...",
            status.current_replicas.unwrap_or(0),
            safe_name(status.current_revision.as_deref())
        );
        (RolloutState::Complete, m)
    };
    Rollout { state, revision, message }
}

/// The number of a StatefulSet's update revision. The status names a ControllerRevision
/// (`<sts>-<hash>`); its number lives in that object, which the cockpit does not watch,
/// so this is a number only when the name ends in `-<digits>` and is otherwise unknown.
pub fn statefulset_revision(sts: &StatefulSet) -> Option<i64> {
    let name = sts.metadata.name.as_deref()?;
    let update = sts.status.as_ref()?.update_revision.as_deref()?;
    let suffix = update.strip_prefix(name)?.strip_prefix('-')?;
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    suffix.parse().ok()
}

fn safe_name(name: Option<&str>) -> String {
    safe(name.unwrap_or(""))
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    fn web(spec: serde_json::Value, status: serde_json::Value) -> Deployment {
        deployment(json!({
            "metadata": {"name": "web", "generation": 2, "annotations": {REVISION_ANNOTATION: "7"}},
            "spec": spec, "status": status,
        }))
    }

    #[test]
    fn complete_when_all_updated_and_available() {
        let d = web(
            json!({"replicas": 3}),
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
        );
        let r = deployment_rollout(&d);
        assert_eq!(r.state, RolloutState::Complete);
        assert_eq!(r.revision, Some(7));
        assert_eq!(r.message, "deployment \"web\" successfully rolled out");
    }

    #[test]
    fn progressing_counts_like_kubectl() {
        let d = web(
            json!({"replicas": 3}),
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}),
        );
        let r = deployment_rollout(&d);
        assert_eq!(r.state, RolloutState::Progressing);
        assert_eq!(
            r.message,
            "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available..."
        );

        let d = web(json!({"replicas": 3}), json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1}));
        let r = deployment_rollout(&d);
        assert_eq!(
            r.message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );

        let d = web(json!({"replicas": 3}), json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3}));
        let r = deployment_rollout(&d);
        assert_eq!(
            r.message,
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
    }

    #[test]
    fn unobserved_generation_is_progressing() {
        let d = web(json!({"replicas": 3}), json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3}));
        let r = deployment_rollout(&d);
        assert_eq!(r.state, RolloutState::Progressing);
        assert_eq!(r.message, "Waiting for deployment spec update to be observed...");
    }

    #[test]
    fn stalled_on_progress_deadline() {
        let d = web(
            json!({"replicas": 3}),
            json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1, "availableReplicas": 3, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
            ]}),
        );
        let r = deployment_rollout(&d);
        assert_eq!(r.state, RolloutState::Stalled);
        assert_eq!(r.message, "deployment \"web\" exceeded its progress deadline");
    }

    #[test]
    fn paused_wins() {
        let d = web(
            json!({"replicas": 3, "paused": true}),
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 3}),
        );
        assert_eq!(deployment_rollout(&d).state, RolloutState::Paused);
    }

    #[test]
    fn zero_replicas_is_complete() {
        let d = web(json!({"replicas": 0}), json!({"observedGeneration": 2}));
        let r = deployment_rollout(&d);
        assert_eq!(r.state, RolloutState::Complete);
    }

    #[test]
    fn missing_or_bad_revision_is_unknown() {
        let d = deployment(json!({"metadata": {"name": "x", "annotations": {REVISION_ANNOTATION: "abc"}}}));
        assert_eq!(deployment_revision(&d), None);
        let d = deployment(json!({"metadata": {"name": "x"}}));
        assert_eq!(deployment_revision(&d), None);
    }

    fn sts(spec: serde_json::Value, status: serde_json::Value) -> StatefulSet {
        serde_json::from_value(json!({"metadata": {"name": "pg", "generation": 3}, "spec": spec, "status": status}))
            .unwrap()
    }

    fn sts_spec(replicas: i32, update: serde_json::Value) -> serde_json::Value {
        json!({"replicas": replicas, "serviceName": "pg", "selector": {}, "template": {}, "updateStrategy": update})
    }

    #[test]
    fn statefulset_rules() {
        let done = sts(
            sts_spec(3, json!({"type": "RollingUpdate"})),
            json!({"observedGeneration": 3, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
                   "updatedReplicas": 3, "currentRevision": "pg-5c8d", "updateRevision": "pg-5c8d"}),
        );
        let r = statefulset_rollout(&done);
        assert_eq!(r.state, RolloutState::Complete);
        assert_eq!(r.message, "statefulset rolling update complete 3 pods at revision pg-5c8d...");
        assert_eq!(r.revision, None, "a hash is not a revision number");

        let rolling = sts(
            sts_spec(3, json!({"type": "RollingUpdate"})),
            json!({"observedGeneration": 3, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 1,
                   "currentRevision": "pg-5c8d", "updateRevision": "pg-12"}),
        );
        let r = statefulset_rollout(&rolling);
        assert_eq!(r.state, RolloutState::Progressing);
        assert_eq!(r.message, "waiting for statefulset rolling update to complete 1 pods at revision pg-12...");
        assert_eq!(r.revision, Some(12));

        let not_ready = sts(
            sts_spec(3, json!({"type": "RollingUpdate"})),
            json!({"observedGeneration": 3, "replicas": 3, "readyReplicas": 1}),
        );
        assert_eq!(statefulset_rollout(&not_ready).message, "Waiting for 2 pods to be ready...");

        let partitioned = sts(
            sts_spec(4, json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})),
            json!({"observedGeneration": 3, "replicas": 4, "readyReplicas": 4, "updatedReplicas": 1}),
        );
        let r = statefulset_rollout(&partitioned);
        assert_eq!(r.state, RolloutState::Progressing);
        assert_eq!(r.message, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...");

        let on_delete = sts(sts_spec(1, json!({"type": "OnDelete"})), json!({"observedGeneration": 3}));
        assert_eq!(statefulset_rollout(&on_delete).state, RolloutState::Complete);
    }
}
