//! Scaling a service: the plan (pure), with its impact preview and the guards that refuse
//! or warn before anything is sent. The same plan serves the cockpit's wizard and the
//! headless `scale` command.

use super::guard::{Guard, PreviewLine, Verdict};
use super::plan::{Action, ActionPlan, kubectl_kind};
use crate::model::budget::{BudgetState, DatabaseBudget, format_percent};
use crate::model::pdb::headroom_if_scaled;
use crate::model::resources::Room;
use crate::model::service::{Service, ServiceKey, Severity, WorkloadKind};

/// The replica change a scale plan makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleChange {
    pub from: i32,
    pub to: i32,
    /// Refusals are overridden (the confirmation is then the typed service name).
    pub force: bool,
}

/// The plan for scaling `service` to `to` replicas; `room` is how many more of its pods
/// the nodes hold now ([`crate::model::capacity::room_for`]).
pub fn plan_scale(service: &Service, to: i32, force: bool, budget: Option<&DatabaseBudget>, room: &Room) -> ActionPlan {
    let from = service.replicas.desired;
    let scale = ScaleChange { from, to, force };
    let mut plan = ActionPlan::new(service, Action::Scale(scale), kubectl_scale(&service.key, to));
    plan.preview.push(replicas_line(service, to));
    plan.preview.extend(pdb_line(service, to));
    plan.preview.extend(hpa_line(service));
    plan.preview.extend(budget.and_then(|b| budget_line(b, service, to)));
    plan.preview.extend(node_capacity_line(service, room, to));
    plan.guards = guards(service, to);
    plan.guards.extend(budget.and_then(|b| budget_guard(b, service, to)));
    plan.guards.extend(node_capacity_guard(service, room, to));
    plan
}

/// The pods a scale-up adds.
fn added_pods(service: &Service, to: i32) -> Option<u64> {
    u64::try_from(i64::from(to) - i64::from(service.replicas.desired)).ok().filter(|n| *n > 0)
}

/// Whether the nodes hold the added pods: `3 new pods x 500m cpu, 1Gi memory; room for 34 more on 3 nodes`.
fn node_capacity_line(service: &Service, room: &Room, to: i32) -> Option<PreviewLine> {
    let added = added_pods(service, to)?;
    let (text, severity) = match room {
        Room::Unknown(why) => (format!("unknown: {why}"), Severity::Info),
        Room::NoRequests => ("the pods request no cpu or memory: nothing to check".into(), Severity::Info),
        Room::Known { per_pod, more_pods, nodes } => (
            format!("{added} new pods x {}; room for {more_pods} more on {nodes} nodes", per_pod.describe()),
            if *more_pods < added { Severity::Warning } else { Severity::Info },
        ),
    };
    Some(PreviewLine { label: "node capacity", text, severity })
}

/// Pods the nodes cannot hold stay Pending ("Insufficient cpu"): the rollout then waits
/// for capacity that may never come.
fn node_capacity_guard(service: &Service, room: &Room, to: i32) -> Option<Guard> {
    let added = added_pods(service, to)?;
    let Room::Known { per_pod, more_pods, .. } = room else { return None };
    let fits = *more_pods;
    (fits < added).then(|| Guard {
        id: "node-capacity",
        verdict: Verdict::Warn,
        message: format!(
            "the nodes' free allocatable holds {fits} more pods of {}, not {added}: {} would stay Pending",
            per_pod.describe(),
            added - fits
        ),
        alternative: Some(format!(
            "add nodes first, lower the pods' requests, or scale to {} at most",
            i64::from(service.replicas.desired).saturating_add(i64::try_from(fits).unwrap_or(i64::MAX))
        )),
    })
}

/// The service's database before and after: `statewave-pg 75 → 90 of 97 usable (77 % → 93 %)`.
fn budget_line(budget: &DatabaseBudget, service: &Service, to: i32) -> Option<PreviewLine> {
    let used = budget.uses(&service.key)?;
    let after = budget.if_scaled(&service.key, u32::try_from(to).ok()?);
    if !budget.limit_known() {
        return Some(PreviewLine {
            label: "connection budget",
            text: format!(
                "{}: {} → {} connections of an unknown limit ({} per replica)",
                budget.name,
                budget.required(),
                after.required(),
                used.per_replica()
            ),
            severity: Severity::Warning,
        });
    }
    let severity = match after.state() {
        BudgetState::Unknown => Severity::Warning,
        BudgetState::Ok => Severity::Info,
        BudgetState::Warn => Severity::Warning,
        BudgetState::Over => Severity::Error,
    };
    Some(PreviewLine {
        label: "connection budget",
        text: format!(
            "{}: {} → {} of {} usable ({} → {}; {} per replica)",
            budget.name,
            budget.required(),
            after.required(),
            budget.usable(),
            format_percent(budget.percent()),
            format_percent(after.percent()),
            used.per_replica()
        ),
        severity,
    })
}

/// Past 100 % the new pods fail to connect ("too many connections") and take others down
/// with them; the plan says so before anything is sent.
fn budget_guard(budget: &DatabaseBudget, service: &Service, to: i32) -> Option<Guard> {
    let after = budget.if_scaled(&service.key, u32::try_from(to).ok()?);
    if to > service.replicas.desired && !budget.limit_known() {
        return Some(Guard {
            id: "db-limit-unknown",
            verdict: Verdict::Warn,
            message: format!(
                "{} would need {} connections, and its max_connections is not known: the cockpit cannot say whether new pods can connect",
                budget.name,
                after.required()
            ),
            alternative: after.advice(BudgetState::Unknown),
        });
    }
    (to > service.replicas.desired && after.state() == BudgetState::Over).then(|| Guard {
        id: "db-budget-exceeded",
        verdict: Verdict::Warn,
        message: format!(
            "{} would need {} connections of {} usable: new pods will fail with \"too many connections\"",
            budget.name,
            after.required(),
            budget.usable()
        ),
        alternative: after.advice(BudgetState::Over),
    })
}

fn kubectl_scale(key: &ServiceKey, to: i32) -> String {
    format!("kubectl scale {}/{} -n {} --replicas={to}", kubectl_kind(key), key.name, key.namespace)
}

fn replicas_line(service: &Service, to: i32) -> PreviewLine {
    let r = &service.replicas;
    let how = match service.key.kind {
        WorkloadKind::StatefulSet if to > r.desired => "pods start one at a time, in order",
        WorkloadKind::StatefulSet => "the highest ordinals stop first",
        WorkloadKind::Deployment if to > r.desired => "new pods start next to the running ones",
        WorkloadKind::Deployment => "surplus pods are terminated",
    };
    PreviewLine {
        label: "replicas",
        text: format!("{} → {to} ({} ready now); {how}", r.desired, r.ready),
        severity: Severity::Info,
    }
}

fn pdb_line(service: &Service, to: i32) -> Option<PreviewLine> {
    let pdb = service.pdb.as_ref()?;
    let after = headroom_if_scaled(pdb, to);
    let severity = if after.desired_healthy > to || (after.disruptions_allowed == 0 && to > 0) {
        Severity::Warning
    } else {
        Severity::Info
    };
    Some(PreviewLine {
        label: "disruption budget",
        text: format!(
            "{}: {} allowed now → {} after ({})",
            pdb.name, pdb.disruptions_allowed, after.disruptions_allowed, after.explanation
        ),
        severity,
    })
}

fn hpa_line(service: &Service) -> Option<PreviewLine> {
    let hpa = service.hpa.as_ref()?;
    Some(PreviewLine {
        label: "autoscaler",
        text: format!("{} keeps replicas between {} and {} (wants {} now)", hpa.name, hpa.min, hpa.max, hpa.desired),
        severity: Severity::Warning,
    })
}

fn guards(service: &Service, to: i32) -> Vec<Guard> {
    let mut out = Vec::new();
    let name = &service.key.name;
    if to < 0 {
        out.push(Guard {
            id: "invalid-replicas",
            verdict: Verdict::Block,
            message: format!("{to} is not a replica count"),
            alternative: None,
        });
        return out;
    }
    if let Some(hpa) = &service.hpa {
        out.push(Guard {
            id: "hpa-owns-replicas",
            verdict: Verdict::Block,
            message: format!(
                "the autoscaler {} owns the replica count ({}..{}): it would undo this within seconds",
                hpa.name, hpa.min, hpa.max
            ),
            alternative: Some(format!(
                "change the autoscaler's bounds instead: kubectl patch hpa {} -n {} -p '{{\"spec\":{{\"minReplicas\":{to}}}}}'",
                hpa.name, service.key.namespace
            )),
        });
    }
    if let Some(why) = service.flags.singleton.as_ref().filter(|_| to > 1) {
        out.push(Guard {
            id: "singleton",
            verdict: Verdict::Refuse,
            message: format!("{name} must run as a single replica ({why}): two copies would do its work twice"),
            alternative: Some("keep 1 replica; scale to 0 and back to restart it".into()),
        });
    }
    if let Some(volume) =
        service.flags.rwo_volume.as_ref().filter(|_| to > 1 && service.key.kind == WorkloadKind::Deployment)
    {
        out.push(Guard {
            id: "rwo-volume",
            verdict: Verdict::Refuse,
            message: format!(
                "{name} mounts the ReadWriteOnce volume {volume}: a second pod on another node cannot attach it"
            ),
            alternative: Some(
                "use a ReadWriteMany volume, share an existing claim, use emptyDir, or run without persistence".into(),
            ),
        });
    }
    if let Some(owner) = &service.gitops {
        out.push(Guard {
            id: "gitops-managed",
            verdict: Verdict::Warn,
            message: format!("{name} is {}", owner.revert_warning()),
            alternative: Some(super::guard::gitops_alternative(owner, "the replicas")),
        });
    } else if let Some(tool) = &service.flags.gitops {
        let suspend = if tool.contains("Flux") {
            "suspend it first: flux suspend kustomization <name> (or helmrelease)"
        } else {
            "disable auto-sync for the application in Argo CD first, or change the replicas in Git"
        };
        out.push(Guard {
            id: "gitops-managed",
            verdict: Verdict::Warn,
            message: format!("{name} is managed by {tool}: the next reconcile reverts this change"),
            alternative: Some(suspend.into()),
        });
    }
    if let Some(pdb) = &service.pdb {
        let after = headroom_if_scaled(pdb, to);
        if to < service.replicas.desired && after.desired_healthy > to {
            out.push(Guard {
                id: "pdb-unsatisfiable",
                verdict: Verdict::Warn,
                message: format!(
                    "{} needs {} healthy pods; with {to} it can never be met and every node drain will hang",
                    pdb.name, after.desired_healthy
                ),
                alternative: Some(format!("lower the budget's minAvailable below {to} first")),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::service::*;

    fn service(replicas: i32) -> Service {
        Service::example("shop", "web", replicas)
    }

    fn pdb(min: &str, replicas: i32) -> PdbHeadroom {
        let allowed = (replicas - min.parse::<i32>().unwrap()).max(0);
        PdbHeadroom {
            name: "web-pdb".into(),
            min_available: Some(min.into()),
            max_unavailable: None,
            current_healthy: replicas,
            desired_healthy: min.parse().unwrap(),
            disruptions_allowed: allowed,
            expected_pods: replicas,
            explanation: String::new(),
        }
    }

    fn ids(plan: &ActionPlan) -> Vec<&str> {
        plan.guards.iter().map(|g| g.id).collect()
    }

    #[test]
    fn a_plain_scale_previews_replicas_and_the_kubectl_command() {
        let plan = plan_scale(&service(3), 5, false, None, &Room::NoRequests);
        assert_eq!(plan.scale().map(|s| (s.from, s.to)), Some((3, 5)));
        assert!(plan.stopped_by().is_none());
        assert!(plan.preview[0].text.starts_with("3 → 5"), "{:?}", plan.preview);
        assert_eq!(plan.kubectl, "kubectl scale deployment/web -n shop --replicas=5");
        assert_eq!(plan.resource_version.as_deref(), Some("42"));
    }

    #[test]
    fn the_pdb_line_shows_the_headroom_after_the_change() {
        let mut s = service(3);
        s.pdb = Some(pdb("2", 3));
        let down = plan_scale(&s, 2, false, None, &Room::NoRequests);
        let line = down.preview.iter().find(|l| l.label == "disruption budget").unwrap();
        assert!(line.text.contains("1 allowed now → 0 after"), "{}", line.text);
        assert_eq!(line.severity, Severity::Warning);
        let to_one = plan_scale(&s, 1, false, None, &Room::NoRequests);
        assert_eq!(ids(&to_one), ["pdb-unsatisfiable"]);
        assert!(to_one.stopped_by().is_none(), "a warning, not a refusal");
        let up = plan_scale(&s, 5, false, None, &Room::NoRequests);
        assert!(up.preview.iter().any(|l| l.text.contains("1 allowed now → 3 after")), "{:?}", up.preview);
    }

    #[test]
    fn an_hpa_owned_service_is_redirected_to_the_hpa() {
        let mut s = service(3);
        s.hpa = Some(HpaSummary {
            name: "web".into(),
            min: 2,
            max: 10,
            current: 3,
            desired: 3,
            targets: vec![],
            resource_version: None,
        });
        let plan = plan_scale(&s, 6, true, None, &Room::NoRequests);
        let guard = plan.stopped_by().expect("even --force cannot beat the HPA");
        assert_eq!(guard.id, "hpa-owns-replicas");
        assert!(guard.alternative.as_ref().unwrap().contains("kubectl patch hpa web"));
    }

    #[test]
    fn singletons_and_rwo_volumes_refuse_unless_forced() {
        let mut s = service(1);
        s.flags.singleton = Some("annotation cockpit.dev/singleton".into());
        let plan = plan_scale(&s, 2, false, None, &Room::NoRequests);
        assert_eq!(plan.stopped_by().map(|g| g.id), Some("singleton"));
        let forced = plan_scale(&s, 2, true, None, &Room::NoRequests);
        assert!(forced.stopped_by().is_none() && forced.overrides_a_guard());
        assert!(
            plan_scale(&s, 0, false, None, &Room::NoRequests).stopped_by().is_none(),
            "stopping a singleton is fine"
        );

        let mut s = service(1);
        s.flags.rwo_volume = Some("data".into());
        let plan = plan_scale(&s, 3, false, None, &Room::NoRequests);
        let guard = plan.stopped_by().unwrap();
        assert_eq!(guard.id, "rwo-volume");
        assert!(guard.alternative.as_ref().unwrap().contains("ReadWriteMany"));
    }

    #[test]
    fn gitops_is_a_warning_with_how_to_suspend() {
        let mut s = service(2);
        s.flags.gitops = Some("Flux".into());
        let plan = plan_scale(&s, 3, false, None, &Room::NoRequests);
        assert!(plan.stopped_by().is_none());
        assert_eq!(ids(&plan), ["gitops-managed"]);
        assert!(plan.guards[0].alternative.as_ref().unwrap().contains("flux suspend"));
        assert_eq!(
            plan_scale(&s, -1, true, None, &Room::NoRequests).stopped_by().map(|g| g.id),
            Some("invalid-replicas")
        );
    }

    #[test]
    fn the_preview_shows_the_database_before_and_after_and_warns_past_100_percent() {
        let mut s = service(4);
        s.database.uses = Some("pg".into());
        let budget = crate::model::budget::example_budget(&s, 15);
        let plan = plan_scale(&s, 5, false, Some(&budget), &Room::NoRequests);
        let line = plan.preview.iter().find(|l| l.label == "connection budget").unwrap();
        assert_eq!(line.text, "pg: 75 → 90 of 97 usable (77 % → 93 %; 15 per replica)");
        assert_eq!(line.severity, Severity::Warning);
        assert!(ids(&plan).is_empty(), "93 % warns in the preview but is no guard");
        let plan = plan_scale(&s, 6, false, Some(&budget), &Room::NoRequests);
        assert_eq!(plan.preview.iter().find(|l| l.label == "connection budget").unwrap().severity, Severity::Error);
        assert_eq!(ids(&plan), ["db-budget-exceeded"]);
        assert!(plan.guards[0].message.contains("105 connections of 97 usable"), "{}", plan.guards[0].message);
        assert!(plan.stopped_by().is_none(), "a warning: the operator decides");
        assert!(
            ids(&plan_scale(&s, 2, false, Some(&budget), &Room::NoRequests)).is_empty(),
            "scaling down never trips it"
        );
    }

    #[test]
    fn a_scale_up_the_nodes_cannot_hold_warns_and_says_how_far_it_can_go() {
        use crate::model::resources::Resources;
        let s = service(3);
        let room = Room::Known { per_pod: Resources { cpu_m: 500, memory: 1 << 30 }, more_pods: 4, nodes: 3 };
        let fits = plan_scale(&s, 7, false, None, &room);
        assert!(ids(&fits).is_empty(), "4 more fit");
        let line = fits.preview.iter().find(|l| l.label == "node capacity").unwrap();
        assert_eq!(line.text, "4 new pods x 500m cpu, 1Gi memory; room for 4 more on 3 nodes");
        assert_eq!(line.severity, Severity::Info);
        let over = plan_scale(&s, 10, false, None, &room);
        assert_eq!(ids(&over), ["node-capacity"]);
        assert!(over.stopped_by().is_none(), "a warning: a cluster autoscaler may add nodes");
        assert!(
            over.guards[0].message.contains("holds 4 more pods")
                && over.guards[0].message.contains("3 would stay Pending")
        );
        assert!(over.guards[0].alternative.as_ref().unwrap().ends_with("scale to 7 at most"));
        assert!(
            plan_scale(&s, 2, false, None, &room).preview.iter().all(|l| l.label != "node capacity"),
            "not for a scale-down"
        );
    }

    #[test]
    fn unknown_node_capacity_is_said_not_guessed() {
        let s = service(3);
        let room = Room::Unknown("the nodes cannot be listed (a cluster-scoped permission)".into());
        let plan = plan_scale(&s, 30, false, None, &room);
        assert!(ids(&plan).is_empty());
        let line = plan.preview.iter().find(|l| l.label == "node capacity").unwrap();
        assert_eq!(line.text, "unknown: the nodes cannot be listed (a cluster-scoped permission)");
        assert!(ids(&plan_scale(&s, 30, false, None, &Room::NoRequests)).is_empty());
    }
}
