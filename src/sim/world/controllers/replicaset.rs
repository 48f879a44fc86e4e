//! The ReplicaSet controller: keeps `spec.replicas` pods (named `<rs>-<5 chars>`),
//! deletes the surplus least-valuable first, and reports replicas / ready / available.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{owned_pods, rt};
use crate::sim::store::{ensure_object, random_suffix};
use crate::sim::world::events;
use crate::sim::world::objects::{self, ObjRef, i64_at, is_deleting, pod_ready, str_at};
use crate::sim::world::runtime::{Task, World};

pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(rs) = store.get(rt("replicasets"), &key.namespace, &key.name) else { return };
    if is_deleting(&rs) {
        return;
    }
    let pods = owned_pods(&store, &key.namespace, objects::uid(&rs));
    let active: Vec<&Arc<Value>> = pods.iter().filter(|p| !is_deleting(p)).collect();
    let want = i64_at(&rs, "/spec/replicas").unwrap_or(1).max(0) as usize;
    if active.len() < want {
        for _ in active.len()..want {
            let pod = new_pod(&rs, rt("replicasets"), None);
            if let Ok(created) = store.create(rt("pods"), pod) {
                let message = format!("Created pod: {}", objects::name(&created));
                world.event(&rs, None, false, "SuccessfulCreate", &message, events::REPLICASETS);
            }
        }
    } else if active.len() > want {
        let mut ranked: Vec<&Arc<Value>> = active.clone();
        ranked.sort_by_cached_key(|p| deletion_rank(world, p));
        for pod in ranked.into_iter().take(active.len() - want) {
            delete_pod_gracefully(world, pod);
            let message = format!("Deleted pod: {}", objects::name(pod));
            world.event(&rs, None, false, "SuccessfulDelete", &message, events::REPLICASETS);
        }
    }
    update_status(world, &rs);
}

fn update_status(world: &mut World, rs: &Value) {
    let store = world.ctx.store.clone();
    let pods = owned_pods(&store, objects::namespace(rs), objects::uid(rs));
    let min_ready = i64_at(rs, "/spec/minReadySeconds").unwrap_or(0);
    let mut replicas = 0;
    let mut ready = 0;
    let mut available = 0;
    let mut recheck: Option<Instant> = None;
    for pod in pods.iter().filter(|p| !is_deleting(p)) {
        replicas += 1;
        if pod_ready(pod) {
            ready += 1;
            match available_at(world, pod, min_ready) {
                Some(at) if at <= Instant::now() => available += 1,
                Some(at) => recheck = Some(recheck.map_or(at, |r| r.min(at))),
                None => {}
            }
        }
    }
    if let Some(at) = recheck {
        world.enqueue_at(at, Task::ReplicaSet(ObjRef::of(rs)));
    }
    let mut status = serde_json::Map::new();
    status.insert("replicas".into(), json!(replicas));
    for (field, value) in
        [("fullyLabeledReplicas", replicas), ("readyReplicas", ready), ("availableReplicas", available)]
    {
        if value > 0 {
            status.insert(field.into(), json!(value));
        }
    }
    status.insert("observedGeneration".into(), json!(i64_at(rs, "/metadata/generation").unwrap_or(1)));
    let status = Value::Object(status);
    if rs.get("status") != Some(&status) {
        store.modify_with(rt("replicasets"), objects::namespace(rs), objects::name(rs), |o| {
            o["status"] = status.clone()
        });
    }
}

/// When a ready pod counts as available (ready for `minReadySeconds`, scaled).
pub fn available_at(world: &World, pod: &Value, min_ready_seconds: i64) -> Option<Instant> {
    if !pod_ready(pod) {
        return None;
    }
    if min_ready_seconds <= 0 {
        return Some(Instant::now());
    }
    let since = world.kubelet.ready_since(objects::uid(pod)).unwrap_or_else(|| ready_since_from_condition(pod));
    Some(since + world.real_secs(min_ready_seconds as f64))
}

/// For pods the kubelet did not see become ready (seeded), trust the condition's time.
fn ready_since_from_condition(pod: &Value) -> Instant {
    let ts = objects::condition(pod.pointer("/status/conditions"), "Ready")
        .and_then(|c| str_at(c, "/lastTransitionTime").parse::<jiff::Timestamp>().ok());
    let ago = ts
        .and_then(|t| jiff::Timestamp::now().duration_since(t).try_into().ok())
        .unwrap_or(std::time::Duration::from_secs(3600));
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

/// `controller.ActivePods` order: the first pods are the cheapest to lose.
/// Sort key for surplus pods: unassigned, pending, unready, recently ready, restarting, new.
type DeletionRank = (u8, u8, u8, std::cmp::Reverse<Option<Instant>>, std::cmp::Reverse<i64>, std::cmp::Reverse<String>);

fn deletion_rank(world: &World, pod: &Value) -> DeletionRank {
    let assigned = u8::from(!str_at(pod, "/spec/nodeName").is_empty());
    let phase = match str_at(pod, "/status/phase") {
        "Pending" | "" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    let ready = pod_ready(pod);
    let ready_since = if ready { world.kubelet.ready_since(objects::uid(pod)) } else { None };
    let restarts = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| i64_at(c, "/restartCount")).max().unwrap_or(0))
        .unwrap_or(0);
    let created = str_at(pod, "/metadata/creationTimestamp").to_string();
    (
        assigned,
        phase,
        u8::from(ready),
        std::cmp::Reverse(ready_since),
        std::cmp::Reverse(restarts),
        std::cmp::Reverse(created),
    )
}

/// Deletes a pod as the API server does for a controller: sets `deletionTimestamp`; the
/// kubelet stops the containers and removes the object.
pub fn delete_pod_gracefully(world: &mut World, pod: &Value) {
    let grace = i64_at(pod, "/spec/terminationGracePeriodSeconds").unwrap_or(30);
    let when = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(grace))
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| objects::now());
    world.ctx.store.modify_with(rt("pods"), objects::namespace(pod), objects::name(pod), |p| {
        if !is_deleting(p) {
            let meta = ensure_object(p, "metadata");
            meta.insert("deletionTimestamp".into(), json!(when));
            meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        }
    });
}

/// A pod from an owner's template: labels and annotations of the template, an owner
/// reference, and a generated name (`<owner>-<5 chars>`) unless `name` is given.
pub fn new_pod(owner: &Value, owner_rt: &'static crate::sim::resources::ResourceType, name: Option<String>) -> Value {
    let template = owner.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut meta = template.get("metadata").cloned().unwrap_or(json!({}));
    if !meta.is_object() {
        meta = json!({});
    }
    let meta_map = meta.as_object_mut().expect("object");
    meta_map.insert("namespace".into(), json!(objects::namespace(owner)));
    meta_map
        .insert("name".into(), json!(name.unwrap_or_else(|| format!("{}-{}", objects::name(owner), random_suffix(5)))));
    meta_map.insert("ownerReferences".into(), json!([objects::owner_reference(owner, owner_rt)]));
    meta_map.remove("creationTimestamp");
    let spec = template.get("spec").cloned().unwrap_or(json!({}));
    let mut pod = json!({"metadata": meta, "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort"}});
    super::defaults::apply(rt("pods"), &mut pod);
    if let Some(sa) = pod.pointer("/spec/serviceAccountName").cloned().filter(|v| !v.is_null()) {
        pod["spec"]["serviceAccount"] = sa;
    } else {
        pod["spec"]["serviceAccountName"] = json!("default");
        pod["spec"]["serviceAccount"] = json!("default");
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pods_carry_template_labels_and_an_owner() {
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "api-7d9f", "namespace": "shop", "uid": "u1"},
            "spec": {"template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "api", "image": "i:1"}]}}}
        });
        let pod = new_pod(&rs, rt("replicasets"), None);
        assert!(objects::name(&pod).starts_with("api-7d9f-"));
        assert_eq!(objects::name(&pod).len(), "api-7d9f-".len() + 5);
        assert_eq!(pod["metadata"]["labels"]["app"], "api");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["restartPolicy"], "Always");
    }
}
