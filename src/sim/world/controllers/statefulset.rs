//! The StatefulSet controller (OrderedReady): pods `<sts>-<ordinal>` created one at a
//! time, each Running and Ready before the next; PVCs from volumeClaimTemplates;
//! ControllerRevisions `<sts>-<hash>` with revision numbers (so `kubectl rollout
//! history/undo sts` work); rolling update from the highest ordinal down to the partition.

use std::sync::Arc;

use serde_json::{Value, json};

use super::replicaset::{available_at, delete_pod_gracefully, new_pod};
use super::{owned, owned_pods, rt};
use crate::sim::world::events;
use crate::sim::world::objects::{
    self, ObjRef, canonical_json, fnv32a, i64_at, is_deleting, pod_ready, safe_encode, str_at,
};
use crate::sim::world::runtime::World;

pub const REVISION_LABEL: &str = "controller-revision-hash";

/// The revision data for a template, as upstream `getPatch` stores it.
pub fn revision_data(sts: &Value) -> Value {
    let mut template = sts.pointer("/spec/template").cloned().unwrap_or(json!({}));
    template["$patch"] = json!("replace");
    json!({"spec": {"template": template}})
}

pub fn revision_hash(data: &Value, collision_count: i64) -> String {
    let mut text = canonical_json(data);
    if collision_count > 0 {
        text.push_str(&collision_count.to_string());
    }
    safe_encode(fnv32a(text.as_bytes()))
}

/// A ControllerRevision object for a StatefulSet's current template.
pub fn revision_object(sts: &Value, revision: i64) -> Value {
    let data = revision_data(sts);
    let hash = revision_hash(&data, i64_at(sts, "/status/collisionCount").unwrap_or(0));
    let mut labels = objects::string_map(sts.pointer("/spec/template/metadata/labels"));
    labels.insert("controller.kubernetes.io/hash".into(), hash.clone());
    json!({
        "metadata": {
            "name": format!("{}-{hash}", objects::name(sts)),
            "namespace": objects::namespace(sts),
            "labels": labels,
            "annotations": sts.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
            "ownerReferences": [objects::owner_reference(sts, rt("statefulsets"))],
        },
        "data": data,
        "revision": revision,
    })
}

fn ordinal(sts: &Value, pod: &Value) -> Option<i64> {
    objects::name(pod).strip_prefix(&format!("{}-", objects::name(sts)))?.parse().ok()
}

fn revision_of(pod: &Value) -> &str {
    pod.pointer("/metadata/labels").and_then(|l| l.get(REVISION_LABEL)).and_then(Value::as_str).unwrap_or("")
}

/// The current and update revisions, creating or re-numbering the update revision.
fn revisions(world: &mut World, sts: &Value) -> Option<(Arc<Value>, Arc<Value>)> {
    let store = world.ctx.store.clone();
    let mut history = owned(&store, "controllerrevisions", objects::namespace(sts), objects::uid(sts));
    history.sort_by_key(|r| i64_at(r, "/revision").unwrap_or(0));
    let max_revision = history.iter().filter_map(|r| i64_at(r, "/revision")).max().unwrap_or(0);
    let data = revision_data(sts);
    let equal = history.iter().find(|r| r.get("data") == Some(&data)).cloned();
    let update = match equal {
        Some(existing) if i64_at(&existing, "/revision").unwrap_or(0) == max_revision => existing,
        Some(existing) => {
            // Rolled back to an older template: it becomes the newest revision again.
            store.modify_with(rt("controllerrevisions"), objects::namespace(sts), objects::name(&existing), |r| {
                r["revision"] = json!(max_revision + 1)
            })?
        }
        None => {
            let cr = revision_object(sts, max_revision + 1);
            match store.create(rt("controllerrevisions"), cr) {
                Ok(created) => created,
                Err(_) => return None,
            }
        }
    };
    let current_name = str_at(sts, "/status/currentRevision");
    let current = history.iter().find(|r| objects::name(r) == current_name).cloned().unwrap_or_else(|| update.clone());
    truncate_history(world, sts, &history, &current, &update);
    Some((current, update))
}

fn truncate_history(world: &World, sts: &Value, history: &[Arc<Value>], current: &Value, update: &Value) {
    let limit = i64_at(sts, "/spec/revisionHistoryLimit").unwrap_or(10).max(0) as usize;
    let pods = owned_pods(&world.ctx.store, objects::namespace(sts), objects::uid(sts));
    let live: Vec<String> = pods.iter().map(|p| revision_of(p).to_string()).collect();
    let historic: Vec<&Arc<Value>> = history
        .iter()
        .filter(|r| {
            let n = objects::name(r);
            n != objects::name(current) && n != objects::name(update) && !live.iter().any(|l| l == n)
        })
        .collect();
    if historic.len() > limit {
        for r in &historic[..historic.len() - limit] {
            let _ = world.ctx.store.delete(rt("controllerrevisions"), objects::namespace(sts), objects::name(r), None);
        }
    }
}

fn template_of(revision: &Value) -> Value {
    let mut t = revision.pointer("/data/spec/template").cloned().unwrap_or(json!({}));
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    t
}

fn claim_name(claim: &Value, sts: &Value, ord: i64) -> String {
    format!("{}-{}-{ord}", objects::name(claim), objects::name(sts))
}

fn create_pod(world: &mut World, sts: &Value, revision: &Value, ord: i64) {
    let store = world.ctx.store.clone();
    let name = format!("{}-{ord}", objects::name(sts));
    let claims = sts.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array).cloned().unwrap_or_default();
    for claim in &claims {
        let claim_name = claim_name(claim, sts, ord);
        if store.get(rt("persistentvolumeclaims"), objects::namespace(sts), &claim_name).is_some() {
            continue;
        }
        let mut labels = objects::string_map(sts.pointer("/spec/selector/matchLabels"));
        labels.extend(objects::string_map(claim.pointer("/metadata/labels")));
        let pvc = json!({
            "metadata": {"name": claim_name, "namespace": objects::namespace(sts), "labels": labels},
            "spec": claim.get("spec").cloned().unwrap_or(json!({})),
        });
        if store.create(rt("persistentvolumeclaims"), pvc).is_ok() {
            let message = format!("create Claim {claim_name} Pod {name} in StatefulSet {} success", objects::name(sts));
            world.event(sts, None, false, "SuccessfulCreate", &message, events::STATEFULSETS);
        }
    }
    let mut owner = sts.clone();
    owner["spec"]["template"] = template_of(revision);
    let mut pod = new_pod(&owner, rt("statefulsets"), Some(name.clone()));
    let labels = pod["metadata"].as_object_mut().expect("object").entry("labels").or_insert_with(|| json!({}));
    labels[REVISION_LABEL] = json!(objects::name(revision));
    labels["statefulset.kubernetes.io/pod-name"] = json!(name);
    labels["apps.kubernetes.io/pod-index"] = json!(ord.to_string());
    pod["spec"]["hostname"] = json!(name);
    if let Some(service) = sts.pointer("/spec/serviceName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        pod["spec"]["subdomain"] = json!(service);
    }
    let volumes = pod["spec"].as_object_mut().expect("object").entry("volumes").or_insert_with(|| json!([]));
    if let Some(volumes) = volumes.as_array_mut() {
        for claim in &claims {
            volumes.retain(|v| str_at(v, "/name") != objects::name(claim));
            volumes.push(json!({"name": objects::name(claim), "persistentVolumeClaim": {"claimName": claim_name(claim, sts, ord)}}));
        }
    }
    if store.create(rt("pods"), pod).is_ok() {
        let message = format!("create Pod {name} in StatefulSet {} successful", objects::name(sts));
        world.event(sts, None, false, "SuccessfulCreate", &message, events::STATEFULSETS);
    }
}

fn delete_pod(world: &mut World, sts: &Value, pod: &Value) {
    delete_pod_gracefully(world, pod);
    let message = format!("delete Pod {} in StatefulSet {} successful", objects::name(pod), objects::name(sts));
    world.event(sts, None, false, "SuccessfulDelete", &message, events::STATEFULSETS);
}

pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(sts) = store.get(rt("statefulsets"), &key.namespace, &key.name) else { return };
    if is_deleting(&sts) {
        return;
    }
    let Some((current, update)) = revisions(world, &sts) else { return };
    let replicas = i64_at(&sts, "/spec/replicas").unwrap_or(1).max(0);
    let partition = i64_at(&sts, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0).clamp(0, replicas);
    let rolling = str_at(&sts, "/spec/updateStrategy/type") != "OnDelete";
    let pods = owned_pods(&store, &key.namespace, objects::uid(&sts));
    let by_ordinal = |ord: i64| pods.iter().find(|p| ordinal(&sts, p) == Some(ord));
    reconcile_pods(world, &sts, &pods, &current, &update, replicas, partition, rolling, &by_ordinal);
    update_status(world, &sts, &current, &update, replicas);
}

#[allow(clippy::too_many_arguments)]
fn reconcile_pods<'a>(
    world: &mut World,
    sts: &Value,
    pods: &'a [Arc<Value>],
    current: &Value,
    update: &Value,
    replicas: i64,
    partition: i64,
    rolling: bool,
    by_ordinal: &dyn Fn(i64) -> Option<&'a Arc<Value>>,
) {
    // Ordered start: create the first missing ordinal, wait for each to be Running and Ready.
    for ord in 0..replicas {
        match by_ordinal(ord) {
            None => {
                let revision = if rolling && ord < partition { current } else { update };
                create_pod(world, sts, revision, ord);
                return;
            }
            Some(pod) if is_deleting(pod) => return,
            Some(pod) if !(pod_ready(pod) && str_at(pod, "/status/phase") == "Running") => return,
            Some(_) => {}
        }
    }
    // Scale down from the highest ordinal, one at a time.
    let mut surplus: Vec<&Arc<Value>> = pods.iter().filter(|p| ordinal(sts, p).is_none_or(|o| o >= replicas)).collect();
    if !surplus.is_empty() {
        if surplus.iter().any(|p| is_deleting(p)) {
            return;
        }
        surplus.sort_by_key(|p| std::cmp::Reverse(ordinal(sts, p).unwrap_or(i64::MAX)));
        delete_pod(world, sts, surplus[0]);
        return;
    }
    if !rolling {
        return;
    }
    // Rolling update: replace the highest ordinal not yet at the update revision.
    let update_name = objects::name(update);
    for ord in (partition..replicas).rev() {
        if let Some(pod) = by_ordinal(ord)
            && revision_of(pod) != update_name
        {
            delete_pod(world, sts, pod);
            return;
        }
    }
}

fn update_status(world: &mut World, sts: &Value, current: &Value, update: &Value, replicas_wanted: i64) {
    let store = world.ctx.store.clone();
    let pods = owned_pods(&store, objects::namespace(sts), objects::uid(sts));
    let min_ready = i64_at(sts, "/spec/minReadySeconds").unwrap_or(0);
    let (mut replicas, mut ready, mut available, mut current_replicas, mut updated) = (0, 0, 0, 0, 0);
    for pod in &pods {
        replicas += 1;
        if pod_ready(pod) {
            ready += 1;
            if available_at(world, pod, min_ready).is_some_and(|at| at <= tokio::time::Instant::now()) {
                available += 1;
            }
        }
        if !is_deleting(pod) {
            if revision_of(pod) == objects::name(current) {
                current_replicas += 1;
            }
            if revision_of(pod) == objects::name(update) {
                updated += 1;
            }
        }
    }
    let mut current_revision = objects::name(current).to_string();
    if updated == replicas_wanted && ready == replicas_wanted && replicas == replicas_wanted {
        current_revision = objects::name(update).to_string();
        current_replicas = updated;
    }
    let status = json!({
        "observedGeneration": i64_at(sts, "/metadata/generation").unwrap_or(1),
        "replicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": available,
        "currentReplicas": current_replicas,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": objects::name(update),
        "collisionCount": i64_at(sts, "/status/collisionCount").unwrap_or(0),
    });
    if sts.get("status") != Some(&status) {
        store.modify_with(rt("statefulsets"), objects::namespace(sts), objects::name(sts), |o| {
            o["status"] = status.clone()
        });
    }
}
