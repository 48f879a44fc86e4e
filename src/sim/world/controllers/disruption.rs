//! The disruption controller: PodDisruptionBudget status exactly as upstream computes
//! it (`getExpectedPodCount`, `countHealthyPods`, `updatePdbStatus`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::rt;
use crate::sim::store::Store;
use crate::sim::world::events;
use crate::sim::world::objects::{self, ObjRef, i64_at, is_deleting, pod_ready, scaled_int_or_percent, str_at};
use crate::sim::world::runtime::World;

/// What the budget allows right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub expected_pods: i64,
    pub disruptions_allowed: i64,
    /// Pods matched by the selector with no controller (reported, not counted when a
    /// percentage or maxUnavailable needs the controllers' scale).
    pub unmanaged: Vec<String>,
    /// Pods an eviction is taking away (name → when), not counted healthy meanwhile.
    pub disrupted: BTreeMap<String, String>,
}

/// The scale of the workload controlling a pod: a Deployment (through its ReplicaSet),
/// a StatefulSet, or a bare ReplicaSet. `Err` names a pod whose controller is unknown.
fn controller_scale(store: &Store, pod: &Value) -> Result<Option<(String, i64)>, String> {
    let Some(owner) = objects::controller_ref(pod) else { return Ok(None) };
    let ns = objects::namespace(pod);
    let name = str_at(owner, "/name");
    let found = match str_at(owner, "/kind") {
        "ReplicaSet" => store.get(rt("replicasets"), ns, name).map(|rs| {
            let deployment = objects::controller_ref(&rs)
                .filter(|r| str_at(r, "/kind") == "Deployment")
                .and_then(|r| store.get(rt("deployments"), ns, str_at(r, "/name")));
            match deployment {
                Some(d) => (objects::uid(&d).to_string(), i64_at(&d, "/spec/replicas").unwrap_or(1)),
                None => (objects::uid(&rs).to_string(), i64_at(&rs, "/spec/replicas").unwrap_or(1)),
            }
        }),
        "StatefulSet" => store
            .get(rt("statefulsets"), ns, name)
            .map(|s| (objects::uid(&s).to_string(), i64_at(&s, "/spec/replicas").unwrap_or(1))),
        _ => None,
    };
    match found {
        Some(found) => Ok(Some(found)),
        None => Err(format!("found no controllers for pod \"{}\"", objects::name(pod))),
    }
}

fn expected_scale(store: &Store, pods: &[std::sync::Arc<Value>]) -> Result<(i64, Vec<String>), String> {
    let mut scales: BTreeMap<String, i64> = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for pod in pods {
        match controller_scale(store, pod)? {
            Some((uid, scale)) => {
                scales.entry(uid).or_insert(scale);
            }
            None => unmanaged.push(objects::name(pod).to_string()),
        }
    }
    Ok((scales.values().sum(), unmanaged))
}

/// The budget of a PDB over the pods of its namespace.
pub fn compute(store: &Store, pdb: &Value) -> Result<Budget, String> {
    let ns = objects::namespace(pdb);
    let selector = pdb.pointer("/spec/selector");
    let pods: Vec<_> = store
        .list(rt("pods"), Some(ns))
        .0
        .into_iter()
        .filter(|p| objects::label_selector_matches(selector, &objects::labels(p)))
        .collect();
    let mut unmanaged = Vec::new();
    let (expected, desired) = if let Some(max_unavailable) =
        pdb.pointer("/spec/maxUnavailable").filter(|v| !v.is_null())
    {
        let (expected, um) = expected_scale(store, &pods)?;
        unmanaged = um;
        let max = scaled_int_or_percent(Some(max_unavailable), expected, true).ok_or("invalid maxUnavailable")?;
        (expected, (expected - max).max(0))
    } else if let Some(min_available) = pdb.pointer("/spec/minAvailable").filter(|v| !v.is_null()) {
        match min_available {
            Value::Number(n) => (pods.len() as i64, n.as_i64().unwrap_or(0)),
            _ => {
                let (expected, um) = expected_scale(store, &pods)?;
                unmanaged = um;
                (expected, scaled_int_or_percent(Some(min_available), expected, true).ok_or("invalid minAvailable")?)
            }
        }
    } else {
        (0, 0)
    };
    let disrupted = disrupted_pods(pdb, &pods, jiff::Timestamp::now());
    let current =
        pods.iter().filter(|p| !is_deleting(p) && pod_ready(p) && !disrupted.contains_key(objects::name(p))).count()
            as i64;
    let mut allowed = current - desired;
    if expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    Ok(Budget {
        current_healthy: current,
        desired_healthy: desired,
        expected_pods: expected,
        disruptions_allowed: allowed,
        unmanaged,
        disrupted,
    })
}

/// How long an eviction's pod counts as disrupted before the controller stops waiting for
/// its deletion (upstream `DeletionTimeout`).
const DELETION_TIMEOUT_S: i64 = 120;

/// The pods the eviction handler recorded as about to go that are still there and not yet
/// terminating, within the deletion timeout (`buildDisruptedPodMap`).
fn disrupted_pods(pdb: &Value, pods: &[std::sync::Arc<Value>], now: jiff::Timestamp) -> BTreeMap<String, String> {
    let Some(recorded) = pdb.pointer("/status/disruptedPods").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    pods.iter()
        .filter(|p| !is_deleting(p))
        .filter_map(|p| {
            let name = objects::name(p);
            let at = recorded.get(name)?.as_str()?;
            let when: jiff::Timestamp = at.parse().ok()?;
            (now.as_second() - when.as_second() < DELETION_TIMEOUT_S).then(|| (name.to_string(), at.to_string()))
        })
        .collect()
}

pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(pdb) = store.get(rt("poddisruptionbudgets"), &key.namespace, &key.name) else { return };
    let generation = i64_at(&pdb, "/metadata/generation").unwrap_or(1);
    let mut conditions = objects::conditions_of(&pdb);
    let status = match compute(&store, &pdb) {
        Ok(budget) => {
            if !budget.unmanaged.is_empty() && pdb.pointer("/spec/minAvailable").is_none_or(|v| !v.is_number()) {
                let message = format!(
                    "Pods selected by this PodDisruptionBudget (selector: {}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.",
                    pdb.pointer("/spec/selector").cloned().unwrap_or(Value::Null)
                );
                world.event(&pdb, None, true, "UnmanagedPods", &message, events::DISRUPTION);
            }
            let (status, reason) =
                if budget.disruptions_allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
            objects::set_condition(&mut conditions, "DisruptionAllowed", status, reason, "", false);
            let mut status = json!({
                "observedGeneration": generation,
                "currentHealthy": budget.current_healthy,
                "desiredHealthy": budget.desired_healthy,
                "expectedPods": budget.expected_pods,
                "disruptionsAllowed": budget.disruptions_allowed,
            });
            if !budget.disrupted.is_empty() {
                status["disruptedPods"] = json!(budget.disrupted);
            }
            status
        }
        Err(message) => {
            objects::set_condition(&mut conditions, "DisruptionAllowed", "False", "SyncFailed", &message, false);
            let old = pdb.get("status").cloned().unwrap_or(json!({}));
            json!({
                "observedGeneration": generation,
                "currentHealthy": old.get("currentHealthy").cloned().unwrap_or(json!(0)),
                "desiredHealthy": old.get("desiredHealthy").cloned().unwrap_or(json!(0)),
                "expectedPods": old.get("expectedPods").cloned().unwrap_or(json!(0)),
                "disruptionsAllowed": 0,
            })
        }
    };
    for c in &mut conditions {
        c["observedGeneration"] = json!(generation);
    }
    let mut status = status;
    status["conditions"] = json!(conditions);
    if pdb.get("status") != Some(&status) {
        store.modify_with(rt("poddisruptionbudgets"), &key.namespace, &key.name, |o| o["status"] = status.clone());
    }
}
