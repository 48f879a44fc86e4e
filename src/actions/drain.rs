//! A guided drain, through the same steps as every change: the plan (`model::drain`), its
//! guards (a blocking budget, replacements with nowhere to go, pods or data that would be
//! lost, a service with its only replica here), the API server's dry-run, then cordon and
//! evictions one owner at a time — each eviction asks the pod's budget, a 429 is waited
//! out with backoff, and the next owner starts only when this one's replacements are
//! ready. Every step is audited; an abort leaves the node cordoned.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::execute::ExecContext;
use super::guard::{Guard, Verdict};
use crate::cluster::mutate::MutationError;
use crate::cluster::nodes::{self, Eviction};
use crate::model::drain::{DrainInputs, Hold, NodeDrain, PodAction, PodDrain};
use crate::model::service::Service;

/// How long one eviction may wait on its budget, and one owner on its replacements, when
/// nobody says otherwise (the `drain` command's default).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the cluster-wide look a drain is planned on may take.
const LOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest wait between two tries of an eviction its budget refused (kubectl: 5 s).
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Why a drain may not start, or what the operator must accept first.
pub fn guards(drain: &NodeDrain, services: &[Service]) -> Vec<Guard> {
    let mut guards = Vec::new();
    let blocked: Vec<String> = drain.blocked().map(blocked_text).collect();
    if !blocked.is_empty() {
        guards.push(Guard::block(
            "drain-blocked",
            format!("cannot complete now: {}", blocked.join("; ")),
            Some("scale the service up or relax its budget, then drain".into()),
        ));
    }
    if !drain.unplaced.is_empty() {
        guards.push(Guard::refuse(
            "replacements-do-not-fit",
            format!("these would stay Pending, no other node takes them: {}", drain.unplaced.join(", ")),
            Some("free room or add a node first".into()),
        ));
    }
    let lost: Vec<String> = drain.pods.iter().filter(|p| p.action == PodAction::Delete).map(pod_name).collect();
    if !lost.is_empty() {
        guards.push(Guard::refuse(
            "pods-lost",
            format!("no controller re-creates {}", lost.join(", ")),
            Some("move them by hand, or accept their loss with --force".into()),
        ));
    }
    let data: Vec<String> = drain
        .pods
        .iter()
        .filter(|p| p.moves() && !p.empty_dirs.is_empty())
        .map(|p| format!("{} ({})", pod_name(p), p.empty_dirs.join(", ")))
        .collect();
    if !data.is_empty() {
        guards.push(Guard::refuse(
            "emptydir-data-lost",
            format!("emptyDir data is lost with {}", data.join(", ")),
            Some("accept it with --force (kubectl: --delete-emptydir-data)".into()),
        ));
    }
    let singletons: Vec<String> = services
        .iter()
        .filter(|s| s.replicas.desired == 1)
        .filter(|s| {
            drain
                .pods
                .iter()
                .any(|p| p.moves() && p.namespace == s.key.namespace && s.pods.iter().any(|r| r.name == p.name))
        })
        .map(|s| format!("{}/{}", s.key.namespace, s.key.name))
        .collect();
    if !singletons.is_empty() {
        guards.push(Guard::refuse(
            "singleton",
            format!("one replica, and it is here: {} is down until its replacement is ready", singletons.join(", ")),
            Some("scale it to 2 first, or accept the downtime with --force".into()),
        ));
    }
    guards
}

/// The guard that stops the drain: any blocking one, or a refusing one without `force`.
pub fn stopped_by(guards: &[Guard], force: bool) -> Option<&Guard> {
    guards.iter().find(|g| g.stops(force))
}

fn pod_name(pod: &PodDrain) -> String {
    format!("{}/{}", pod.namespace, pod.name)
}

fn blocked_text(pod: &PodDrain) -> String {
    match &pod.hold {
        Hold::Blocked { pdb, why, .. } => format!("{} (pdb {pdb}: {why})", pod_name(pod)),
        Hold::Ambiguous { pdbs } => format!("{} (two budgets: {})", pod_name(pod), pdbs.join(", ")),
        Hold::Free | Hold::Allowed { .. } => pod_name(pod),
    }
}

/// What the drain is doing, as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainEvent {
    Cordoned,
    Evicted {
        pod: String,
    },
    /// The budget said no (429); the eviction is tried again.
    WaitingOnBudget {
        pod: String,
        cause: String,
    },
    /// The owner's replicas are all ready again.
    ReplacementsReady {
        owner: String,
    },
}

impl DrainEvent {
    /// One step of the drain, as the operator reads it.
    pub fn describe(&self) -> String {
        match self {
            DrainEvent::Cordoned => "cordoned".into(),
            DrainEvent::Evicted { pod } => format!("evicted {pod}"),
            DrainEvent::WaitingOnBudget { pod, cause } => format!("waiting on budget: {pod}: {cause}"),
            DrainEvent::ReplacementsReady { owner } => format!("replacements ready: {owner}"),
        }
    }
}

/// How a drain ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainEnd {
    Drained,
    /// Stopped before the end (timeout, abort, an error): the node stays cordoned.
    Stopped(String),
}

/// The server's dry-run of every call the drain makes: the cordon and each eviction. A
/// budget that allows fewer evictions than there are pods answers 429 here for the later
/// ones; that is waited out in the drain, so only other refusals count.
pub async fn dry_run(exec: &ExecContext, drain: &NodeDrain) -> Result<(), MutationError> {
    nodes::set_cordon(&exec.client, &drain.node, true, true).await?;
    for pod in drain.pods.iter().filter(|p| p.moves()) {
        nodes::evict(&exec.client, &pod.namespace, &pod.name, true).await?;
    }
    Ok(())
}

/// Cordons the node, then evicts its pods one owner at a time. `abort` set to true stops it
/// between two steps.
pub async fn execute(
    exec: &ExecContext,
    drain: &NodeDrain,
    timeout: Duration,
    abort: &watch::Receiver<bool>,
    mut progress: impl FnMut(DrainEvent),
) -> DrainEnd {
    let target = format!("node/{}", drain.node);
    let end = run(exec, drain, timeout, abort, &mut progress).await;
    let outcome = match &end {
        DrainEnd::Drained => "drained".to_string(),
        DrainEnd::Stopped(why) => format!("stopped: {why}; the node stays cordoned"),
    };
    let _ = exec.record_attempt("drain", target, json!(null), json!(null), None, outcome);
    end
}

/// Cordons (`true`) or uncordons the node, audited like every change.
pub async fn set_cordon(exec: &ExecContext, node: &str, cordon: bool) -> Result<(), MutationError> {
    let result = nodes::set_cordon(&exec.client, node, cordon, false).await;
    let outcome = result.as_ref().map_or_else(|e| format!("failed: {e}"), |_| "applied".into());
    let _ = exec.record_attempt(
        if cordon { "cordon" } else { "uncordon" },
        format!("node/{node}"),
        json!({"unschedulable": !cordon}),
        json!({"unschedulable": cordon}),
        None,
        outcome,
    );
    result
}

async fn run(
    exec: &ExecContext,
    drain: &NodeDrain,
    timeout: Duration,
    abort: &watch::Receiver<bool>,
    progress: &mut impl FnMut(DrainEvent),
) -> DrainEnd {
    let stopped = |why: String| DrainEnd::Stopped(why);
    if !drain.cordoned
        && let Err(e) = set_cordon(exec, &drain.node, true).await
    {
        return stopped(format!("cordon failed: {e}"));
    }
    progress(DrainEvent::Cordoned);
    for (owner, pods) in by_owner(drain) {
        for pod in &pods {
            if *abort.borrow() {
                return stopped("aborted by the operator".into());
            }
            if let Err(why) = evict_when_allowed(exec, pod, timeout, abort, progress).await {
                return stopped(why);
            }
        }
        for pod in &pods {
            if let Ok(Some(uid)) = nodes::pod_uid(&exec.client, &pod.namespace, &pod.name).await
                && !nodes::wait_gone(&exec.client, &pod.namespace, &pod.name, &uid, timeout).await
            {
                return stopped(format!("{} did not terminate in {}s", pod_name(pod), timeout.as_secs()));
            }
        }
        let Some((kind, name)) = pods[0].controller.clone() else { continue };
        if !nodes::wait_owner_ready(&exec.client, &pods[0].namespace, &kind, &name, timeout).await {
            return stopped(format!("the replacements of {owner} were not ready in {}s", timeout.as_secs()));
        }
        progress(DrainEvent::ReplacementsReady { owner });
    }
    DrainEnd::Drained
}

/// The drain of `node` planned now, on one look at the pods and budgets of every namespace,
/// with what its guards say, one line each (what a runbook step shows before it asks); or
/// why it may not start: the look is blind, RBAC denies it, the node is unknown, or a
/// guard stops it (audited).
pub async fn plan_node(exec: &ExecContext, node: &str, force: bool) -> Result<(NodeDrain, Vec<String>), String> {
    let look = nodes::look(&exec.client, &exec.context, LOOK_TIMEOUT).await;
    if !look.blind.is_empty() {
        return Err(format!("drain {node}: cannot be judged without reading {}", look.blind.join(", ")));
    }
    if let Some(denied) = crate::actions::allowed::drain_denied(&look.denied) {
        return Err(format!("drain {node}: {denied}"));
    }
    if !look.objects.nodes.iter().any(|n| n.metadata.name.as_deref() == Some(node)) {
        return Err(format!("drain {node}: no such node"));
    }
    let inputs = DrainInputs {
        nodes: &look.objects.nodes,
        pods: &look.objects.pods,
        pdbs: &look.objects.pdbs,
        services: &look.services,
    };
    let plan = crate::model::drain::plan(&inputs, &[node.to_string()]);
    let guards = guards(&plan.nodes[0], &look.services);
    if let Some(guard) = stopped_by(&guards, force) {
        let _ = exec.record_refusal("drain", format!("node/{node}"), format!("refused: {}", guard.id));
        let hint = if guard.verdict == Verdict::Refuse { " (force: true accepts it)" } else { "" };
        return Err(format!("drain {node}: refused: {}{hint}", guard.message));
    }
    let mut preview: Vec<String> = crate::report::nodes::plan_table(&plan).lines().map(str::to_string).collect();
    preview.extend(guards.iter().map(|g| format!("accepted {}: {}", g.id, g.message)));
    let drain = plan.nodes.into_iter().next().ok_or_else(|| format!("drain {node}: nothing planned"))?;
    Ok((drain, preview))
}

/// The pods the drain moves, grouped by owner in the order the plan lists them.
fn by_owner(drain: &NodeDrain) -> Vec<(String, Vec<&PodDrain>)> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&PodDrain>> = BTreeMap::new();
    for pod in drain.pods.iter().filter(|p| p.moves()) {
        let owner = format!("{}/{}", pod.namespace, pod.owner);
        if !groups.contains_key(&owner) {
            order.push(owner.clone());
        }
        groups.entry(owner).or_default().push(pod);
    }
    order.into_iter().map(|o| (o.clone(), groups.remove(&o).unwrap_or_default())).collect()
}

/// One eviction, tried again while the budget says no (with backoff), until `timeout`.
async fn evict_when_allowed(
    exec: &ExecContext,
    pod: &PodDrain,
    timeout: Duration,
    abort: &watch::Receiver<bool>,
    progress: &mut impl FnMut(DrainEvent),
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut wait = Duration::from_millis(500);
    let mut last_cause = None;
    loop {
        let answer = nodes::evict(&exec.client, &pod.namespace, &pod.name, false).await;
        let target = format!("{}/pod/{}", pod.namespace, pod.name);
        match answer {
            Ok(Eviction::Evicted) => {
                let _ = exec.record_attempt("evict", target, json!(null), json!(null), None, "applied".into());
                progress(DrainEvent::Evicted { pod: pod_name(pod) });
                return Ok(());
            }
            Ok(Eviction::Gone) => return Ok(()),
            Ok(Eviction::Budget(cause)) => {
                if last_cause.as_ref() != Some(&cause) {
                    progress(DrainEvent::WaitingOnBudget { pod: pod_name(pod), cause: cause.clone() });
                    last_cause = Some(cause);
                }
            }
            Err(e) => {
                let _ = exec.record_attempt("evict", target, json!(null), json!(null), None, format!("failed: {e}"));
                return Err(format!("evicting {} failed: {e}", pod_name(pod)));
            }
        }
        if tokio::time::Instant::now() + wait > deadline {
            return Err(format!("{}: its budget allowed no eviction in {}s", pod_name(pod), timeout.as_secs()));
        }
        let mut abort = abort.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = abort.wait_for(|a| *a) => return Err("aborted by the operator".into()),
        }
        wait = (wait * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::Resources;

    fn pod(name: &str, action: PodAction, hold: Hold, empty_dirs: &[&str]) -> PodDrain {
        PodDrain {
            namespace: "shop".into(),
            name: name.into(),
            owner: format!("deploy/{name}"),
            action,
            skip: None,
            empty_dirs: empty_dirs.iter().map(|d| d.to_string()).collect(),
            hold,
            requests: Resources::default(),
            controller: Some(("ReplicaSet".into(), format!("{name}-5"))),
        }
    }

    fn node(pods: Vec<PodDrain>, unplaced: Vec<String>) -> NodeDrain {
        NodeDrain { node: "a".into(), cluster: None, found: true, cordoned: false, pods, unplaced, estimate_s: None }
    }

    #[test]
    fn losses_want_force_and_a_blocking_budget_stops_the_drain_whatever_is_forced() {
        let drain = node(
            vec![
                pod("api-1", PodAction::Evict, Hold::Free, &["cache"]),
                pod("shell", PodAction::Delete, Hold::Free, &[]),
            ],
            vec!["shop/api-1 (250m cpu, 256Mi memory)".into()],
        );
        let found = guards(&drain, &[]);
        let ids: Vec<&str> = found.iter().map(|g| g.id).collect();
        assert_eq!(ids, ["replacements-do-not-fit", "pods-lost", "emptydir-data-lost"]);
        assert_eq!(stopped_by(&found, false).map(|g| g.id), Some("replacements-do-not-fit"));
        assert_eq!(stopped_by(&found, true), None, "--force accepts what it warns of");

        let blocked =
            Hold::Blocked { pdb: "db".into(), allowed: 0, why: "minAvailable 1 of 1 healthy".into(), never: true };
        let drain = node(vec![pod("db-0", PodAction::Evict, blocked, &[])], vec![]);
        let found = guards(&drain, &[]);
        let stop = stopped_by(&found, true).expect("a blocking budget is never overridden");
        assert_eq!(stop.id, "drain-blocked");
        assert!(stop.message.contains("shop/db-0 (pdb db: minAvailable 1 of 1 healthy)"), "{}", stop.message);
    }

    #[test]
    fn evictions_go_one_owner_at_a_time_in_plan_order() {
        let drain = node(
            vec![
                pod("web", PodAction::Evict, Hold::Free, &[]),
                pod("api", PodAction::Evict, Hold::Free, &[]),
                PodDrain { name: "web-2".into(), ..pod("web", PodAction::Evict, Hold::Free, &[]) },
                PodDrain {
                    skip: Some(crate::model::drain::SkipReason::DaemonSet),
                    ..pod("agent", PodAction::Skip, Hold::Free, &[])
                },
            ],
            vec![],
        );
        let groups: Vec<(String, usize)> = by_owner(&drain).into_iter().map(|(o, p)| (o, p.len())).collect();
        assert_eq!(groups, [("shop/deploy/web".to_string(), 2), ("shop/deploy/api".to_string(), 1)]);
    }
}
