//! Rollout actions as plans: restart, pause, resume and undo, each with a preview (for an
//! undo, what changes between the current and the target revision) and guards.

use super::scale::{Guard, PreviewLine, Verdict, kubectl_kind};
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutPlan {
    pub service: ServiceKey,
    pub resource_version: Option<String>,
    /// `None` when the request cannot be turned into a change (see the blocking guard).
    pub change: Option<RolloutChange>,
    pub preview: Vec<PreviewLine>,
    pub guards: Vec<Guard>,
    pub kubectl: String,
    /// The restart stamp to send (a runbook fixes it so a resumed step sends the same
    /// one); `None`: the time of sending.
    pub restarted_at: Option<String>,
}

impl RolloutPlan {
    pub fn stopped_by(&self) -> Option<&Guard> {
        self.guards.iter().find(|g| g.verdict != Verdict::Warn)
    }

    pub fn describe(&self) -> String {
        let what = self.change.map_or("rollout", RolloutChange::name);
        format!("{what} {}/{}/{}", self.service.namespace, self.service.kind.short(), self.service.name)
    }
}

fn kubectl(key: &ServiceKey, verb: &str, extra: &str) -> String {
    format!("kubectl rollout {verb} {}/{} -n {}{extra}", kubectl_kind(key), key.name, key.namespace)
}

fn block(id: &'static str, message: String, alternative: Option<String>) -> Guard {
    Guard { id, verdict: Verdict::Block, message, alternative }
}

fn warn(id: &'static str, message: String, alternative: Option<String>) -> Guard {
    Guard { id, verdict: Verdict::Warn, message, alternative }
}

pub fn plan_rollout(service: &Service, request: RolloutRequest) -> RolloutPlan {
    let key = &service.key;
    let mut plan = RolloutPlan {
        service: key.clone(),
        resource_version: service.resource_version.clone(),
        change: None,
        preview: Vec::new(),
        guards: Vec::new(),
        kubectl: String::new(),
        restarted_at: None,
    };
    let paused = service.rollout.state == RolloutState::Paused;
    match request {
        RolloutRequest::Restart => {
            plan.kubectl = kubectl(key, "restart", "");
            plan.change = Some(RolloutChange::Restart);
            plan.preview
                .push(line("pods", format!("all {} pods are replaced by a rolling update", service.replicas.desired)));
            if paused {
                plan.guards.push(warn("paused", "the rollout is paused: the restart waits for a resume".into(), None));
            }
            if let Some(volume) = &service.flags.rwo_volume {
                plan.guards.push(warn(
                    "rwo-volume",
                    format!("the ReadWriteOnce volume {volume} cannot attach to a new pod on another node while the old one runs"),
                    Some("expect a pause in service while the old pod stops".into()),
                ));
            }
        }
        RolloutRequest::Pause | RolloutRequest::Resume if key.kind == WorkloadKind::StatefulSet => {
            plan.guards.push(block(
                "not-pausable",
                "a StatefulSet cannot be paused or resumed".into(),
                Some("set spec.updateStrategy.rollingUpdate.partition to hold an update".into()),
            ));
        }
        RolloutRequest::Pause => {
            plan.kubectl = kubectl(key, "pause", "");
            plan.change = Some(RolloutChange::Pause);
            plan.preview
                .push(line("rollout", "changes to the pod template wait until resumed; scaling still works".into()));
            if paused {
                plan.guards.push(block("already-paused", "the rollout is already paused".into(), None));
            }
        }
        RolloutRequest::Resume => {
            plan.kubectl = kubectl(key, "resume", "");
            plan.change = Some(RolloutChange::Resume);
            plan.preview.push(line("rollout", "pending template changes roll out now".into()));
            if !paused {
                plan.guards.push(block("not-paused", "the rollout is not paused".into(), None));
            }
        }
        RolloutRequest::Undo(_) if key.kind == WorkloadKind::StatefulSet => {
            plan.guards.push(block(
                "undo-statefulset",
                "rolling back a StatefulSet is not supported here".into(),
                Some(format!("kubectl rollout undo statefulset/{} -n {}", key.name, key.namespace)),
            ));
        }
        RolloutRequest::Undo(wanted) => plan_undo(service, wanted, &mut plan),
    }
    if let Some(tool) = &service.flags.gitops {
        plan.guards.push(warn(
            "gitops-managed",
            format!("{} is managed by {tool}: the next reconcile may revert this", key.name),
            None,
        ));
    }
    plan
}

fn line(label: &'static str, text: String) -> PreviewLine {
    PreviewLine { label, text, severity: Severity::Info }
}

fn plan_undo(service: &Service, wanted: Option<i64>, plan: &mut RolloutPlan) {
    let Some(current) =
        service.revisions.iter().find(|r| r.current).or_else(|| service.revisions.iter().max_by_key(|r| r.revision))
    else {
        plan.guards.push(block("no-history", "no revision history is known for this service".into(), None));
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
        plan.guards.push(block("no-such-revision", message, None));
        return;
    };
    if target.revision == current.revision {
        plan.guards.push(block("already-current", format!("revision {} is the current one", target.revision), None));
        return;
    }
    plan.change = Some(RolloutChange::Undo { from: current.revision, to: target.revision });
    plan.kubectl = kubectl(&plan.service, "undo", &format!(" --to-revision={}", target.revision));
    plan.preview.push(line("revision", format!("{} → {} (as a new revision)", current.revision, target.revision)));
    plan.preview.extend(image_diff(current, target));
}

/// Images that differ between the current and the target revision.
fn image_diff(current: &Revision, target: &Revision) -> Vec<PreviewLine> {
    if current.images == target.images {
        return vec![line("images", format!("unchanged: {}", current.images.join(", ")))];
    }
    vec![PreviewLine {
        label: "images",
        text: format!("{} → {}", current.images.join(", "), target.images.join(", ")),
        severity: Severity::Warning,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::*;

    fn service(kind: WorkloadKind, revisions: &[(i64, &str)], current: i64) -> Service {
        let mut s = Service::example("shop", "api", 3);
        s.key.kind = kind;
        s.rollout.revision = Some(current);
        s.revisions = revisions
            .iter()
            .map(|(n, image)| Revision {
                revision: *n,
                images: vec![image.to_string()],
                change_cause: None,
                created: None,
                replicas: 0,
                current: *n == current,
            })
            .collect();
        s
    }

    #[test]
    fn undo_goes_to_the_previous_revision_and_shows_the_image_change() {
        let s = service(WorkloadKind::Deployment, &[(1, "api:1.0"), (2, "api:1.1"), (3, "api:1.2")], 3);
        let plan = plan_rollout(&s, RolloutRequest::Undo(None));
        assert_eq!(plan.change, Some(RolloutChange::Undo { from: 3, to: 2 }));
        assert!(plan.preview.iter().any(|l| l.text == "api:1.2 → api:1.1"), "{:?}", plan.preview);
        assert_eq!(plan.kubectl, "kubectl rollout undo deployment/api -n shop --to-revision=2");
        let chosen = plan_rollout(&s, RolloutRequest::Undo(Some(1)));
        assert_eq!(chosen.change, Some(RolloutChange::Undo { from: 3, to: 1 }));
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
}
