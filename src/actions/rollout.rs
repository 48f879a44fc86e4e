//! Rollout actions as plans: restart, pause, resume and undo, each with a preview (for an
//! undo, what changes between the current and the target revision: images, env var names,
//! requests and limits) and guards. An undo works for Deployments (to a ReplicaSet's
//! template) and StatefulSets (to a ControllerRevision's), as `kubectl rollout undo` does.

use super::guard::{Guard, PreviewLine};
use super::plan::{Action, ActionPlan, kubectl_kind};
use crate::model::history::{TemplateChange, template_changes};
use crate::model::service::{Revision, RolloutState, Service, ServiceKey, Severity, WorkloadKind};

/// What the operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutRequest {
    Restart,
    Pause,
    Resume,
    /// `None`: the previous revision.
    Undo(Option<i64>),
}

/// The change the plan makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutChange {
    Restart,
    Pause,
    Resume,
    Undo { from: i64, to: i64 },
}

impl RolloutChange {
    pub fn name(self) -> &'static str {
        match self {
            RolloutChange::Restart => "rollout restart",
            RolloutChange::Pause => "rollout pause",
            RolloutChange::Resume => "rollout resume",
            RolloutChange::Undo { .. } => "rollout undo",
        }
    }

    /// Whether pods are replaced, so the rollout is worth following.
    pub fn rolls_pods(self) -> bool {
        !matches!(self, RolloutChange::Pause)
    }
}

/// What a rollout plan does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutAction {
    /// `None` when the request cannot be turned into a change (see the blocking guard).
    pub change: Option<RolloutChange>,
    /// The restart stamp to send (a runbook fixes it so a resumed step sends the same
    /// one); `None`: the time of sending.
    pub restarted_at: Option<String>,
}

/// The plan now makes `change`, sent as `command`.
fn makes(plan: &mut ActionPlan, change: RolloutChange, command: String) {
    plan.kubectl = command;
    plan.action = Action::Rollout(RolloutAction { change: Some(change), restarted_at: None });
}

fn kubectl(key: &ServiceKey, verb: &str, extra: &str) -> String {
    format!("kubectl rollout {verb} {}/{} -n {}{extra}", kubectl_kind(key), key.name, key.namespace)
}

pub fn plan_rollout(service: &Service, request: RolloutRequest) -> ActionPlan {
    let key = &service.key;
    let nothing = Action::Rollout(RolloutAction { change: None, restarted_at: None });
    let mut plan = ActionPlan::new(service, nothing, String::new());
    let paused = service.rollout.state == RolloutState::Paused;
    match request {
        RolloutRequest::Restart => {
            makes(&mut plan, RolloutChange::Restart, kubectl(key, "restart", ""));
            plan.preview.push(PreviewLine::info(
                "pods",
                format!("all {} pods are replaced by a rolling update", service.replicas.desired),
            ));
            if paused {
                plan.guards.push(Guard::warn(
                    "paused",
                    "the rollout is paused: the restart waits for a resume".into(),
                    None,
                ));
            }
            plan.guards.extend(super::guard::rwo_volume(service));
        }
        RolloutRequest::Pause | RolloutRequest::Resume if key.kind == WorkloadKind::StatefulSet => {
            plan.guards.push(Guard::block(
                "not-pausable",
                "a StatefulSet cannot be paused or resumed".into(),
                Some("set spec.updateStrategy.rollingUpdate.partition to hold an update".into()),
            ));
        }
        RolloutRequest::Pause => {
            makes(&mut plan, RolloutChange::Pause, kubectl(key, "pause", ""));
            plan.preview.push(PreviewLine::info(
                "rollout",
                "changes to the pod template wait until resumed; scaling still works".into(),
            ));
            if paused {
                plan.guards.push(Guard::block("already-paused", "the rollout is already paused".into(), None));
            }
        }
        RolloutRequest::Resume => {
            makes(&mut plan, RolloutChange::Resume, kubectl(key, "resume", ""));
            plan.preview.push(PreviewLine::info("rollout", "pending template changes roll out now".into()));
            if !paused {
                plan.guards.push(Guard::block("not-paused", "the rollout is not paused".into(), None));
            }
        }
        RolloutRequest::Undo(wanted) => plan_undo(service, wanted, &mut plan),
    }
    if let Some(owner) = &service.gitops {
        plan.guards.push(Guard::warn(
            "gitops-managed",
            format!("{} is {}", key.name, owner.revert_warning()),
            Some(super::guard::gitops_alternative(owner, "the template")),
        ));
    } else if let Some(tool) = &service.flags.gitops {
        plan.guards.push(Guard::warn(
            "gitops-managed",
            format!("{} is managed by {tool}: the next reconcile may revert this", key.name),
            None,
        ));
    }
    plan
}

fn plan_undo(service: &Service, wanted: Option<i64>, plan: &mut ActionPlan) {
    let Some(current) =
        service.revisions.iter().find(|r| r.current).or_else(|| service.revisions.iter().max_by_key(|r| r.revision))
    else {
        plan.guards.push(Guard::block("no-history", "no revision history is known for this service".into(), None));
        return;
    };
    let target = match wanted {
        Some(n) => service.revisions.iter().find(|r| r.revision == n),
        None => service.revisions.iter().filter(|r| r.revision < current.revision).max_by_key(|r| r.revision),
    };
    let Some(target) = target else {
        let known: Vec<String> = service.revisions.iter().map(|r| r.revision.to_string()).collect();
        let message = match wanted {
            Some(n) => format!("revision {n} is not in the history (known: {})", known.join(", ")),
            None => "there is no previous revision to go back to".into(),
        };
        plan.guards.push(Guard::block("no-such-revision", message, None));
        return;
    };
    if target.revision == current.revision {
        plan.guards.push(Guard::block(
            "already-current",
            format!("revision {} is the current one", target.revision),
            None,
        ));
        return;
    }
    let command = kubectl(&plan.service, "undo", &format!(" --to-revision={}", target.revision));
    makes(plan, RolloutChange::Undo { from: current.revision, to: target.revision }, command);
    plan.preview
        .push(PreviewLine::info("revision", format!("{} → {} (as a new revision)", current.revision, target.revision)));
    plan.preview.extend(revision_diff(current, target));
    plan.guards.extend(super::guard::rwo_volume(service));
    if service.key.kind == WorkloadKind::StatefulSet {
        plan.preview.push(PreviewLine::info("pods", "replaced one at a time, from the highest ordinal down".into()));
    }
}

/// What the undo changes in the pod template, one line per difference; env vars by name
/// only (their values, some from Secrets, are never carried, let alone shown).
pub fn revision_diff(current: &Revision, target: &Revision) -> Vec<PreviewLine> {
    let changes = template_changes(current, target);
    if changes.is_empty() {
        let images = current.images().join(", ");
        return vec![PreviewLine::info("template", format!("images, env and resources unchanged ({images})"))];
    }
    let mut lines = Vec::new();
    if !changes.iter().any(|c| matches!(c, TemplateChange::Image { .. })) {
        lines.push(PreviewLine::info("images", format!("unchanged: {}", current.images().join(", "))));
    }
    lines.extend(changes.into_iter().map(change_line));
    lines
}

fn change_line(change: TemplateChange) -> PreviewLine {
    let changed = |label, text| PreviewLine { label, text, severity: Severity::Warning };
    match change {
        TemplateChange::Image { container, from, to } => changed("images", format!("{container}: {from} → {to}")),
        TemplateChange::Container { container, added: true } => changed("containers", format!("+ {container}")),
        TemplateChange::Container { container, added: false } => changed("containers", format!("- {container}")),
        TemplateChange::Env { container, added, removed } => {
            let names = added.iter().map(|n| format!("+{n}")).chain(removed.iter().map(|n| format!("-{n}")));
            PreviewLine::info("env names", format!("{container}: {}", names.collect::<Vec<_>>().join(" ")))
        }
        TemplateChange::Resource { container, field, from, to } => {
            let shown = |q: Option<String>| q.unwrap_or_else(|| "(none)".into());
            PreviewLine::info("resources", format!("{container}: {field} {} → {}", shown(from), shown(to)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::*;

    fn container(image: &str) -> RevisionContainer {
        RevisionContainer { name: "api".into(), image: image.into(), ..Default::default() }
    }

    fn service(kind: WorkloadKind, revisions: &[(i64, &str)], current: i64) -> Service {
        let mut s = Service::example("shop", "api", 3);
        s.key.kind = kind;
        s.rollout.revision = Some(current);
        s.revisions = revisions
            .iter()
            .map(|(n, image)| Revision {
                revision: *n,
                change_cause: None,
                created: None,
                replicas: 0,
                current: *n == current,
                containers: vec![container(image)],
            })
            .collect();
        s
    }

    /// A one-replica Deployment on the default strategy mounting a ReadWriteOnce claim, as the
    /// model assembles it from the manifests.
    fn rwo_deployment_on_the_default_strategy() -> Service {
        use std::sync::Arc;

        use crate::model::services::{ClusterObjects, ReadinessHistory, build};
        let deployment = serde_json::json!({
            "metadata": {"name": "git", "namespace": "shop", "uid": "u1", "generation": 1},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "git"}},
                "template": {"metadata": {"labels": {"app": "git"}}, "spec": {
                    "containers": [{"name": "git", "image": "git:1.0.0"}],
                    "volumes": [{"name": "repos", "persistentVolumeClaim": {"claimName": "repos"}}]
                }}
            },
            "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "observedGeneration": 1}
        });
        let pvc = serde_json::json!({"metadata": {"name": "repos", "namespace": "shop"}, "spec": {"accessModes": ["ReadWriteOnce"]}});
        let objects = ClusterObjects {
            deployments: vec![Arc::new(serde_json::from_value(deployment).unwrap())],
            pvcs: vec![Arc::new(serde_json::from_value(pvc).unwrap())],
            ..Default::default()
        };
        build(&objects, &ReadinessHistory::default(), jiff::Timestamp::now()).remove(0)
    }

    #[test]
    fn restart_set_image_and_undo_of_a_surging_deployment_on_a_rwo_claim_warn_that_the_rollout_stalls() {
        let mut s = rwo_deployment_on_the_default_strategy();
        s.revisions = service(WorkloadKind::Deployment, &[(1, "git:0.9.0"), (2, "git:1.0.0")], 2).revisions;
        let undo = plan_rollout(&s, RolloutRequest::Undo(None));
        assert_eq!(undo.rollout().and_then(|r| r.change), Some(RolloutChange::Undo { from: 2, to: 1 }));
        let restart = plan_rollout(&s, RolloutRequest::Restart);
        let set_image = crate::actions::change::plan_set_image(&s, None, "git:1.0.1");
        for plan in [restart, set_image, undo] {
            let stall = plan.guards.iter().find(|g| g.id == "rwo-rolling-update").expect("the stall warning");
            assert_eq!(stall.verdict, crate::actions::guard::Verdict::Warn);
            assert!(stall.message.contains("PVC repos (ReadWriteOnce)"), "{}", stall.message);
            assert_eq!(stall.alternative.as_deref(), Some("strategy: Recreate, or a StatefulSet"));
            assert!(!plan.guards.iter().any(|g| g.id == "rwo-volume"), "one warning about the volume, not two");
        }
    }

    #[test]
    fn undo_goes_to_the_previous_revision_and_shows_the_image_change() {
        let s = service(WorkloadKind::Deployment, &[(1, "api:1.0"), (2, "api:1.1"), (3, "api:1.2")], 3);
        let plan = plan_rollout(&s, RolloutRequest::Undo(None));
        assert_eq!(plan.rollout().and_then(|r| r.change), Some(RolloutChange::Undo { from: 3, to: 2 }));
        assert!(plan.preview.iter().any(|l| l.text == "api: api:1.2 → api:1.1"), "{:?}", plan.preview);
        assert_eq!(plan.kubectl, "kubectl rollout undo deployment/api -n shop --to-revision=2");
        let chosen = plan_rollout(&s, RolloutRequest::Undo(Some(1)));
        assert_eq!(chosen.rollout().and_then(|r| r.change), Some(RolloutChange::Undo { from: 3, to: 1 }));
        assert_eq!(
            plan_rollout(&s, RolloutRequest::Undo(Some(9))).stopped_by().map(|g| g.id),
            Some("no-such-revision")
        );
        assert_eq!(plan_rollout(&s, RolloutRequest::Undo(Some(3))).stopped_by().map(|g| g.id), Some("already-current"));
        let first = service(WorkloadKind::Deployment, &[(1, "api:1.0")], 1);
        assert_eq!(
            plan_rollout(&first, RolloutRequest::Undo(None)).stopped_by().map(|g| g.id),
            Some("no-such-revision")
        );
    }

    #[test]
    fn pause_and_resume_follow_the_current_state_and_not_statefulsets() {
        let mut s = service(WorkloadKind::Deployment, &[(1, "a")], 1);
        assert!(plan_rollout(&s, RolloutRequest::Pause).stopped_by().is_none());
        assert_eq!(plan_rollout(&s, RolloutRequest::Resume).stopped_by().map(|g| g.id), Some("not-paused"));
        s.rollout.state = RolloutState::Paused;
        assert!(plan_rollout(&s, RolloutRequest::Resume).stopped_by().is_none());
        assert!(plan_rollout(&s, RolloutRequest::Restart).guards.iter().any(|g| g.id == "paused"));
        let sts = service(WorkloadKind::StatefulSet, &[], 1);
        assert_eq!(plan_rollout(&sts, RolloutRequest::Pause).stopped_by().map(|g| g.id), Some("not-pausable"));
        assert!(plan_rollout(&sts, RolloutRequest::Restart).stopped_by().is_none(), "a StatefulSet restarts");
    }

    #[test]
    fn a_statefulset_undoes_to_a_controller_revision_with_the_same_diff() {
        let s = service(WorkloadKind::StatefulSet, &[(1, "pgvector/pgvector:pg16"), (2, "pgvector/pgvector:pg17")], 2);
        let plan = plan_rollout(&s, RolloutRequest::Undo(None));
        assert!(plan.stopped_by().is_none(), "{:?}", plan.guards);
        assert_eq!(plan.rollout().and_then(|r| r.change), Some(RolloutChange::Undo { from: 2, to: 1 }));
        assert_eq!(plan.kubectl, "kubectl rollout undo statefulset/api -n shop --to-revision=1");
        assert!(plan.preview.iter().any(|l| l.text == "api: pgvector/pgvector:pg17 → pgvector/pgvector:pg16"));
        let none = service(WorkloadKind::StatefulSet, &[], 1);
        assert_eq!(plan_rollout(&none, RolloutRequest::Undo(None)).stopped_by().map(|g| g.id), Some("no-history"));
    }

    #[test]
    fn the_undo_preview_lists_env_names_and_resources_but_no_values() {
        let mut s = service(WorkloadKind::Deployment, &[(1, "api:1.0"), (2, "api:1.0")], 2);
        let (target, current) = (0, 1);
        s.revisions[target].containers[0].env = vec!["PORT".into(), "OLD_TOKEN".into()];
        s.revisions[target].containers[0].requests = [("cpu".to_string(), "250m".to_string())].into();
        s.revisions[current].containers[0].env = vec!["PORT".into(), "FEATURE_X".into()];
        s.revisions[current].containers[0].requests = [("cpu".to_string(), "500m".to_string())].into();
        let plan = plan_rollout(&s, RolloutRequest::Undo(Some(1)));
        let text =
            |label: &str| plan.preview.iter().filter(|l| l.label == label).map(|l| l.text.clone()).collect::<Vec<_>>();
        assert_eq!(text("images"), ["unchanged: api:1.0"]);
        assert_eq!(text("env names"), ["api: +OLD_TOKEN -FEATURE_X"]);
        assert_eq!(text("resources"), ["api: requests.cpu 500m → 250m"]);
        let same = service(WorkloadKind::Deployment, &[(1, "api:1.0"), (2, "api:1.0")], 2);
        let plan = plan_rollout(&same, RolloutRequest::Undo(Some(1)));
        assert!(
            plan.preview.iter().any(|l| l.label == "template" && l.text.contains("unchanged")),
            "{:?}",
            plan.preview
        );
    }
}
