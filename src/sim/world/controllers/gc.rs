//! The garbage collector (background propagation): when an owner is gone, its
//! dependents are deleted — pods gracefully, through the kubelet.

use serde_json::Value;

use super::replicaset::delete_pod_gracefully;
use super::rt;
use crate::sim::world::objects::{self, is_deleting, str_at};
use crate::sim::world::runtime::{Task, World};

/// Types whose objects carry owner references in this simulator.
const DEPENDENT_TYPES: &[&str] = &["replicasets", "pods", "controllerrevisions", "persistentvolumeclaims", "endpoints"];

fn owner_uids(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| refs.iter().map(|r| str_at(r, "/uid")).collect())
        .unwrap_or_default()
}

/// Deletes dependents of `owner_uid` in `namespace` whose owners are all gone.
pub fn collect(world: &mut World, namespace: &str, owner_uid: &str) {
    let store = world.ctx.store.clone();
    let namespaces: Vec<Option<&str>> = if namespace.is_empty() { vec![None] } else { vec![Some(namespace)] };
    for ns in namespaces {
        for plural in DEPENDENT_TYPES {
            for obj in store.list(rt(plural), ns).0 {
                let owners = owner_uids(&obj);
                if !owners.contains(&owner_uid)
                    || owners.iter().any(|u| *u != owner_uid && owner_exists(world, &obj, u))
                {
                    continue;
                }
                delete_dependent(world, plural, &obj);
            }
        }
    }
}

fn owner_exists(world: &World, obj: &Value, uid: &str) -> bool {
    let Some(r) = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| str_at(r, "/uid") == uid))
    else {
        return false;
    };
    let plural = match str_at(r, "/kind") {
        "Deployment" => "deployments",
        "ReplicaSet" => "replicasets",
        "StatefulSet" => "statefulsets",
        "Pod" => "pods",
        "Service" => "services",
        _ => return true,
    };
    world
        .ctx
        .store
        .get(rt(plural), objects::namespace(obj), str_at(r, "/name"))
        .is_some_and(|o| objects::uid(&o) == uid)
}

fn delete_dependent(world: &mut World, plural: &str, obj: &Value) {
    if plural == "pods" {
        if !is_deleting(obj) {
            delete_pod_gracefully(world, obj);
        }
        return;
    }
    let _ = world.ctx.store.delete(rt(plural), objects::namespace(obj), objects::name(obj), None);
}

/// At start-up: dependents whose owner no longer exists (e.g. deleted while no world ran).
pub fn enqueue_orphans(world: &mut World) {
    let store = world.ctx.store.clone();
    let mut orphaned = Vec::new();
    for plural in DEPENDENT_TYPES {
        for obj in store.list(rt(plural), None).0 {
            for uid in owner_uids(&obj) {
                if !owner_exists(world, &obj, uid) {
                    orphaned.push((objects::namespace(&obj).to_string(), uid.to_string()));
                }
            }
        }
    }
    orphaned.sort();
    orphaned.dedup();
    for (namespace, owner_uid) in orphaned {
        world.enqueue(Task::Collect { namespace, owner_uid });
    }
}
