//! Runbooks as guided procedures: each step's action becomes the same plan a wizard
//! builds (scale, rollout, set env, …: one preview, one set of guards, one execution
//! path), its gates are judged by the same model as the overview and `gate`, and every
//! transition is saved so a run survives a crash or a dropped session.

pub mod engine;
pub mod error;
pub mod launch;
pub mod state;

use std::borrow::Borrow;

use crate::actions::change::{
    PatchStrategy, plan_gitops_suspend, plan_hpa_bounds, plan_patch, plan_set_env, plan_set_image,
};
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::actions::scale::plan_scale;
use crate::actions::{Action, ActionPlan};
use crate::model::budget::{DatabaseBudget, budget_of};
use crate::model::resources::Room;
use crate::model::runbook::{Gate, Runbook, Step, StepAction, next_increment};
use crate::model::service::{ContainerImage, EnvValue, EnvVar, Service};
use crate::model::service_ref::ServiceRef;
use crate::model::slo::SloRule;
use error::StepError;

/// The plan of one step against the services as they are (or as earlier steps of a
/// preview will have left them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepPlan {
    Change(Box<ActionPlan>),
    Wait {
        seconds: i64,
    },
    Manual {
        checklist: Vec<String>,
    },
    /// A step on a node: its plan (the drain's preview) is made when it runs, from a
    /// cluster-wide look, since a node's pods and their budgets belong to any namespace.
    Node(NodeStep),
}

/// What a step does to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeStep {
    Cordon(String),
    Uncordon(String),
    Drain { node: String, force: bool },
}

impl NodeStep {
    pub fn node(&self) -> &str {
        match self {
            NodeStep::Cordon(node) | NodeStep::Uncordon(node) | NodeStep::Drain { node, .. } => node,
        }
    }
}

/// The service a step or gate names, in the runbook's namespace.
pub fn resolve<'a, S: Borrow<Service>>(
    services: &'a [S],
    name: &str,
    namespace: &str,
) -> Result<&'a Service, StepError> {
    ServiceRef::parse(name).and_then(|r| r.resolve(services, namespace)).map_err(StepError::Unresolved)
}

/// Plans `step`. A scale in increments plans its next increment from the current replicas;
/// `room` says how many more of a service's pods the nodes hold now.
pub fn plan_step<S: Borrow<Service>>(
    step: &Step,
    services: &[S],
    budgets: &[DatabaseBudget],
    room: &dyn Fn(&Service) -> Room,
    namespace: &str,
    restarted_at: Option<&str>,
) -> Result<StepPlan, StepError> {
    let service = match step.action.service() {
        Some(name) => Some(resolve(services, name, namespace)?),
        None => None,
    };
    let plan = match (&step.action, service) {
        (StepAction::Wait { seconds }, _) => return Ok(StepPlan::Wait { seconds: *seconds }),
        (StepAction::Manual { checklist }, _) => return Ok(StepPlan::Manual { checklist: checklist.clone() }),
        (StepAction::Cordon { node }, _) => return Ok(StepPlan::Node(NodeStep::Cordon(node.clone()))),
        (StepAction::Uncordon { node }, _) => return Ok(StepPlan::Node(NodeStep::Uncordon(node.clone()))),
        (StepAction::Drain { node, force }, _) => {
            return Ok(StepPlan::Node(NodeStep::Drain { node: node.clone(), force: *force }));
        }
        (StepAction::Scale { replicas, step, .. }, Some(s)) => {
            let to = next_increment(s.replicas.desired, *replicas, *step);
            plan_scale(s, to, false, budget_of(budgets, &s.key), &room(s))
        }
        (StepAction::SetEnv { container, vars, .. }, Some(s)) => plan_set_env(s, container.as_deref(), vars),
        (StepAction::SetImage { container, image, .. }, Some(s)) => plan_set_image(s, container.as_deref(), image),
        (StepAction::Patch { strategic, body, .. }, Some(s)) => {
            let strategy = if *strategic { PatchStrategy::Strategic } else { PatchStrategy::Merge };
            plan_patch(s, strategy, body)
        }
        (StepAction::HpaBounds { min, max, .. }, Some(s)) => plan_hpa_bounds(s, *min, *max, budget_of(budgets, &s.key)),
        (StepAction::GitOpsSuspend { suspend, .. }, Some(s)) => plan_gitops_suspend(s, *suspend),
        (StepAction::Restart { .. }, Some(s)) => {
            let mut plan = plan_rollout(s, RolloutRequest::Restart);
            if let Action::Rollout(rollout) = &mut plan.action {
                rollout.restarted_at = restarted_at.map(str::to_string);
            }
            plan
        }
        (StepAction::Undo { revision, .. }, Some(s)) => plan_rollout(s, RolloutRequest::Undo(*revision)),
        (_, None) => return Err(StepError::NoService { step: step.id.clone() }),
    };
    Ok(StepPlan::Change(Box::new(plan)))
}

/// The namespace a runbook works in: its own `namespace`, else the one its services name
/// (`--param service=shop/api`) when they agree on one.
pub fn namespace_of(runbook: &Runbook) -> Option<String> {
    if runbook.namespace.as_deref().is_some_and(|ns| !ns.is_empty()) {
        return runbook.namespace.clone();
    }
    let mut named =
        runbook.steps.iter().filter_map(|s| s.action.service()).filter_map(|s| ServiceRef::parse(s).ok()?.namespace);
    let first = named.next()?;
    named.all(|ns| ns == first).then_some(first)
}

/// What would stop the run before its first step: a service it names is not in the
/// namespace, a gate names an SLO rule the profile does not have.
pub fn preflight<S: Borrow<Service>>(
    runbook: &Runbook,
    services: &[S],
    rules: &[SloRule],
    namespace: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut named: Vec<&str> = runbook.steps.iter().filter_map(|s| s.action.service()).collect();
    named.extend(runbook.steps.iter().flat_map(|s| s.gates.iter().filter_map(Gate::service)));
    named.sort_unstable();
    named.dedup();
    for name in named {
        if let Err(e) = resolve(services, name, namespace) {
            problems.push(e.to_string());
        }
    }
    for step in &runbook.steps {
        for gate in &step.gates {
            let Gate::SloClean { rules: wanted, .. } = gate else { continue };
            for name in wanted.iter().filter(|w| !rules.iter().any(|r| &r.name == *w)) {
                let known: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                problems.push(format!("step {}: no SLO rule named {name:?} in the profile (it has: {known})", step.id));
            }
        }
    }
    problems
}

/// Whether a scale in increments has further increments to go.
pub fn more_increments(step: &Step, service: &Service) -> bool {
    matches!(step.action, StepAction::Scale { replicas, step: Some(_), .. } if service.replicas.desired != replicas)
}

/// The services as `plan` leaves them, for previewing the steps after it: later steps
/// are planned on the outcome of earlier ones, not on the cluster as it is before the run.
pub fn project(services: &mut [Service], plan: &StepPlan) {
    let StepPlan::Change(plan) = plan else { return };
    if plan.stopped_by().is_some() {
        return;
    }
    let Some(service) = services.iter_mut().find(|s| &s.key == plan.service()) else { return };
    match &plan.action {
        Action::Scale(p) => {
            let r = &mut service.replicas;
            (r.desired, r.ready, r.updated, r.available) = (p.to, p.to, p.to, p.to);
        }
        Action::Change(change) => match change {
            crate::actions::change::Change::SetImage { container, image, .. } => {
                for c in service.containers.iter_mut().filter(|c| &c.container == container) {
                    *c = ContainerImage { container: container.clone(), image: image.clone() };
                }
            }
            crate::actions::change::Change::SetEnv { containers, vars } => {
                for (name, value) in vars {
                    service.env.retain(|e| !(e.name == *name && containers.contains(&e.container)));
                    if let Some(v) = value {
                        service.env.extend(containers.iter().map(|c| EnvVar {
                            container: c.clone(),
                            name: name.clone(),
                            value: EnvValue::Literal(v.clone()),
                        }));
                    }
                }
            }
            crate::actions::change::Change::HpaBounds { to, .. } => {
                if let Some(hpa) = service.hpa.as_mut() {
                    (hpa.min, hpa.max) = *to;
                }
            }
            crate::actions::change::Change::Patch { .. } => {}
            crate::actions::change::Change::GitOpsSuspend { suspend, .. } => {
                if let Some(owner) = service.gitops.as_mut().and_then(|g| g.state.as_mut()) {
                    owner.suspended = *suspend;
                }
            }
        },
        Action::Rollout(_) | Action::HelmRollback(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runbook::OnFailure;

    fn step(action: StepAction) -> Step {
        Step { id: "s".into(), title: "S".into(), action, gates: vec![], on_failure: OnFailure::Stop, enabled: true }
    }

    #[test]
    fn steps_become_the_same_plans_the_wizards_build() {
        let services = vec![Service::example("shop", "api", 2), Service::example("shop", "worker", 0)];
        let scale = step(StepAction::Scale { service: "worker".into(), replicas: 1, step: None });
        let StepPlan::Change(p) = plan_step(&scale, &services, &[], &|_| Room::NoRequests, "shop", None).unwrap()
        else {
            panic!("a scale plan")
        };
        let scaled = p.scale().expect("a scale plan");
        assert_eq!((scaled.from, scaled.to), (0, 1));
        assert_eq!(p.kubectl, "kubectl scale deployment/worker -n shop --replicas=1");
        let missing = step(StepAction::Restart { service: "gone".into() });
        assert!(
            plan_step(&missing, &services, &[], &|_| Room::NoRequests, "shop", None)
                .unwrap_err()
                .to_string()
                .contains("no Deployment or StatefulSet \"gone\"")
        );
        let restart = step(StepAction::Restart { service: "api".into() });
        let StepPlan::Change(plan) =
            plan_step(&restart, &services, &[], &|_| Room::NoRequests, "shop", Some("T")).unwrap()
        else {
            panic!("a rollout plan")
        };
        let r = plan.rollout().expect("a rollout plan");
        assert_eq!(r.restarted_at.as_deref(), Some("T"), "a resumed restart sends the stamp it saved");
    }

    #[test]
    fn a_runbook_without_a_namespace_works_in_the_one_its_services_name() {
        let mut rb = Runbook {
            name: "r".into(),
            description: String::new(),
            source: String::new(),
            params: vec![],
            namespace: None,
            services: vec![],
            steps: vec![step(StepAction::Undo { service: "shop/api".into(), revision: None })],
        };
        assert_eq!(namespace_of(&rb).as_deref(), Some("shop"));
        rb.steps.push(step(StepAction::Restart { service: "deploy/web".into() }));
        assert_eq!(namespace_of(&rb).as_deref(), Some("shop"), "a name without a namespace does not disagree");
        rb.steps.push(step(StepAction::Restart { service: "other/web".into() }));
        assert_eq!(namespace_of(&rb), None, "two namespaces: the command's own");
        rb.namespace = Some("music".into());
        assert_eq!(namespace_of(&rb).as_deref(), Some("music"));
    }

    #[test]
    fn increments_are_planned_one_at_a_time_from_the_current_replicas() {
        let mut services = vec![Service::example("shop", "api", 2)];
        let scale = step(StepAction::Scale { service: "api".into(), replicas: 5, step: Some(2) });
        let first = plan_step(&scale, &services, &[], &|_| Room::NoRequests, "shop", None).unwrap();
        assert!(matches!(&first, StepPlan::Change(p) if p.scale().is_some_and(|s| s.to == 4)));
        project(&mut services, &first);
        assert!(more_increments(&scale, &services[0]));
        let second = plan_step(&scale, &services, &[], &|_| Room::NoRequests, "shop", None).unwrap();
        assert!(matches!(&second, StepPlan::Change(p) if p.scale().is_some_and(|s| s.to == 5)));
        project(&mut services, &second);
        assert!(!more_increments(&scale, &services[0]));
    }

    #[test]
    fn a_preview_plans_later_steps_on_what_earlier_ones_change() {
        let mut services = vec![Service::example("shop", "api", 1)];
        let env = step(StepAction::SetEnv {
            service: "api".into(),
            container: None,
            vars: vec![("ROLE".into(), Some("api".into()))],
        });
        let plan = plan_step(&env, &services, &[], &|_| Room::NoRequests, "shop", None).unwrap();
        let StepPlan::Change(p) = &plan else { panic!() };
        assert_eq!(p.already_applied(&services[0]), Some(false));
        project(&mut services, &plan);
        assert_eq!(p.already_applied(&services[0]), Some(true), "the projection holds the change");
    }
}
