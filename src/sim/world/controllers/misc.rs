//! Small controllers: PVC binding, Service endpoints from ready pods, and the default
//! ServiceAccount of every namespace.

use serde_json::{Value, json};

use super::rt;
use crate::sim::world::events;
use crate::sim::world::objects::{self, ObjRef, is_deleting, pod_ready, str_at};
use crate::sim::world::runtime::World;

/// A claim is bound at once to a generated volume of the requested size.
pub fn bind_claim(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(pvc) = store.get(rt("persistentvolumeclaims"), &key.namespace, &key.name) else { return };
    if str_at(&pvc, "/status/phase") == "Bound" {
        return;
    }
    let volume = format!("pvc-{}", objects::uid(&pvc));
    let storage = pvc.pointer("/spec/resources/requests/storage").cloned().unwrap_or(json!("1Gi"));
    let modes = pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"]));
    let class = pvc.pointer("/spec/storageClassName").cloned().filter(|c| !c.is_null()).unwrap_or(json!("standard"));
    store.modify_with(rt("persistentvolumeclaims"), &key.namespace, &key.name, |p| {
        if p.pointer("/spec/volumeName").is_none_or(Value::is_null) {
            p["spec"]["volumeName"] = json!(volume);
        }
        p["spec"]["storageClassName"] = class.clone();
        let annotations =
            crate::sim::store::ensure_object(p, "metadata").entry("annotations").or_insert_with(|| json!({}));
        annotations["pv.kubernetes.io/bind-completed"] = json!("yes");
        annotations["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        p["status"] = json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}});
    });
    let message = format!("Successfully provisioned volume {volume}");
    world.event(&pvc, None, false, "ProvisioningSucceeded", &message, events::VOLUMES);
}

/// Endpoints of a Service: ready pods as addresses, others as notReadyAddresses.
pub fn sync_endpoints(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(svc) = store.get(rt("services"), &key.namespace, &key.name) else {
        let _ = store.delete(rt("endpoints"), &key.namespace, &key.name, None);
        return;
    };
    let selector = svc.pointer("/spec/selector");
    if selector.and_then(Value::as_object).is_none_or(|m| m.is_empty()) {
        return;
    }
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for pod in store.list(rt("pods"), Some(&key.namespace)).0 {
        if is_deleting(&pod) || !objects::map_selector_matches(selector, &objects::labels(&pod)) {
            continue;
        }
        let ip = str_at(&pod, "/status/podIP");
        if ip.is_empty() {
            continue;
        }
        let address = json!({
            "ip": ip,
            "nodeName": str_at(&pod, "/spec/nodeName"),
            "targetRef": {"kind": "Pod", "namespace": key.namespace, "name": objects::name(&pod), "uid": objects::uid(&pod)},
        });
        if pod_ready(&pod) { ready.push(address) } else { not_ready.push(address) }
    }
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let port = match p.get("targetPort") {
                        Some(Value::Number(n)) => json!(n),
                        _ => p.get("port").cloned().unwrap_or(json!(0)),
                    };
                    let mut out = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
                    if let Some(name) = p.get("name") {
                        out["name"] = name.clone();
                    }
                    out
                })
                .collect()
        })
        .unwrap_or_default();
    let subsets = if ready.is_empty() && not_ready.is_empty() {
        json!([])
    } else {
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        json!([subset])
    };
    match store.get(rt("endpoints"), &key.namespace, &key.name) {
        Some(existing) if existing.get("subsets") == Some(&subsets) => {}
        Some(_) => {
            store.modify_with(rt("endpoints"), &key.namespace, &key.name, |e| e["subsets"] = subsets.clone());
        }
        None => {
            let labels = svc.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
            let _ = store.create(
                rt("endpoints"),
                json!({"metadata": {"name": key.name, "namespace": key.namespace, "labels": labels}, "subsets": subsets}),
            );
        }
    }
}

/// Every namespace has a `default` ServiceAccount.
pub fn default_service_account(world: &mut World, namespace: &str) {
    let store = world.ctx.store.clone();
    if store.get(rt("namespaces"), "", namespace).is_none()
        || store.get(rt("serviceaccounts"), namespace, "default").is_some()
    {
        return;
    }
    let _ = store.create(rt("serviceaccounts"), json!({"metadata": {"name": "default", "namespace": namespace}}));
}
