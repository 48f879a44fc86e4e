//! Subresources: `/scale` (autoscaling/v1 `Scale`: get, put, and merge/strategic/JSON
//! patch, as `kubectl scale` sends), `/status` (get, put, patch: only `status` changes),
//! and the self-reviews `kubectl auth can-i` asks, answered by the same check that
//! guards every request.

use std::sync::Arc;

use http::Response;
use serde_json::{Value, json};

use super::managed::{self, Operation, Writer};
use super::patch::{self, PatchKind};
use super::protobuf;
use super::route::{Target, Verb};
use super::tables::format_label_selector;
use super::validate::{invalid, replicas_error};
use super::verbs::{current, modify_or_preview, object_response};
use super::{ApiRequest, ApiState, Body, allowed, json_response};
use crate::sim::auth::{Attributes, Identity};
use crate::sim::crd::pointer_of;
use crate::sim::error::ApiError;
use crate::sim::resources::ResourceType;

/// Where a type keeps what `/scale` shows: spec replicas, status replicas, and the label
/// selector (built-in workloads: `spec.selector`; custom resources: their CRD's paths).
struct ScaleAt {
    spec_replicas: String,
    status_replicas: String,
    selector: Option<String>,
}

fn scale_at(rt: &ResourceType) -> ScaleAt {
    match rt.custom.and_then(|c| c.scale.as_ref()) {
        Some(paths) => ScaleAt {
            spec_replicas: pointer_of(&paths.spec_replicas),
            status_replicas: pointer_of(&paths.status_replicas),
            selector: paths.label_selector.as_deref().map(pointer_of),
        },
        None => ScaleAt {
            spec_replicas: "/spec/replicas".into(),
            status_replicas: "/status/replicas".into(),
            selector: None,
        },
    }
}

/// The `Scale` view of a deployment, statefulset or replicaset.
pub fn scale_of(obj: &Value) -> Value {
    scale_view(&scale_at(&NO_TYPE), obj)
}

/// A stand-in type for built-in workloads' scale paths.
static NO_TYPE: ResourceType = ResourceType {
    group: "",
    version: "",
    kind: "",
    plural: "",
    singular: "",
    namespaced: true,
    short_names: &[],
    categories: &[],
    verbs: &[],
    subresources: &[],
    custom: None,
};

fn scale_view(at: &ScaleAt, obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let mut metadata = serde_json::Map::new();
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = meta.get(field) {
            metadata.insert(field.into(), v.clone());
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer(&at.spec_replicas).and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": obj.pointer(&at.status_replicas).and_then(Value::as_i64).unwrap_or(0),
            "selector": match &at.selector {
                // A CRD's labelSelectorPath points at a selector already in string form.
                Some(p) => json!(obj.pointer(p).and_then(Value::as_str).unwrap_or("")),
                None => json!(format_label_selector(obj.pointer("/spec/selector")).replace("<none>", "")),
            },
        },
    })
}

/// Applies a wanted Scale to its parent object.
fn apply_scale(target: &Target, parent: &Value, wanted: &Value) -> Result<Value, ApiError> {
    let name = target.name_or_empty();
    let replicas = wanted.pointer("/spec/replicas").cloned().unwrap_or(json!(1));
    if let Some(e) = replicas_error(&replicas) {
        return Err(invalid("Scale", "autoscaling", name, &[e]));
    }
    let wanted_rv = wanted.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
    if !wanted_rv.is_empty() && Some(wanted_rv) != parent.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
        return Err(ApiError::conflict(target.rt, name));
    }
    let mut next = parent.clone();
    set_at(&mut next, &scale_at(target.rt).spec_replicas, replicas);
    Ok(next)
}

/// Sets the value at a JSON pointer, creating the objects on the way.
fn set_at(obj: &mut Value, pointer: &str, value: Value) {
    let mut cur = obj;
    for seg in pointer.split('/').filter(|s| !s.is_empty()) {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = cur.as_object_mut().expect("object").entry(seg.to_string()).or_insert(Value::Null);
    }
    *cur = value;
}

pub fn scale(state: &ApiState, req: &ApiRequest, target: &Target, verb: Verb) -> Result<Response<Body>, ApiError> {
    let result = match verb {
        Verb::Get => current(state, target)?,
        Verb::Update => {
            let wanted = req.json_body()?;
            let writer = Writer::of(req, Operation::Update, Some("scale"))?;
            modify_or_preview(state, req, target, |parent| {
                let mut next = apply_scale(target, parent, &wanted)?;
                managed::record(target.rt, &writer, Some(parent), &mut next, None)?;
                Ok(next)
            })?
        }
        _ => {
            let kind = PatchKind::from_content_type(req.header("content-type"))?;
            let body = patch::parse_body(kind, &req.body)?;
            let writer = Writer::of(req, operation_of(kind), Some("scale"))?;
            modify_or_preview(state, req, target, |parent| {
                let mut wanted = scale_view(&scale_at(target.rt), parent);
                patch::apply(kind, &mut wanted, &body)?;
                let mut next = apply_scale(target, parent, &wanted)?;
                managed::record(target.rt, &writer, Some(parent), &mut next, None)?;
                Ok(next)
            })?
        }
    };
    Ok(json_response(200, &scale_view(&scale_at(target.rt), &result)))
}

pub fn status(state: &ApiState, req: &ApiRequest, target: &Target, verb: Verb) -> Result<Response<Body>, ApiError> {
    let result = match verb {
        Verb::Get => current(state, target)?,
        Verb::Update => {
            let wanted = req.json_body()?;
            let writer = Writer::of(req, Operation::Update, Some("status"))?;
            modify_or_preview(state, req, target, |old| {
                let mut next = with_status_of(target, old, &wanted)?;
                managed::record(target.rt, &writer, Some(old), &mut next, None)?;
                Ok(next)
            })?
        }
        _ => {
            let kind = PatchKind::from_content_type(req.header("content-type"))?;
            let body = patch::parse_body(kind, &req.body)?;
            let writer = Writer::of(req, operation_of(kind), Some("status"))?;
            let applied = (kind == PatchKind::Apply)
                .then(|| json!({"status": body.get("status").cloned().unwrap_or(Value::Null)}));
            modify_or_preview(state, req, target, |old| {
                let mut wanted = old.clone();
                patch::apply(kind, &mut wanted, &body)?;
                let mut next = with_status_of(target, old, &wanted)?;
                managed::record(target.rt, &writer, Some(old), &mut next, applied.as_ref())?;
                Ok(next)
            })?
        }
    };
    Ok(object_response(req, target, &result, 200))
}

fn operation_of(kind: PatchKind) -> Operation {
    if kind == PatchKind::Apply { Operation::Apply } else { Operation::Update }
}

/// `old` with `wanted`'s status; a resourceVersion in `wanted` is a precondition.
fn with_status_of(target: &Target, old: &Value, wanted: &Value) -> Result<Value, ApiError> {
    let wanted_rv = wanted.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
    if !wanted_rv.is_empty() && Some(wanted_rv) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
        return Err(ApiError::conflict(target.rt, target.name_or_empty()));
    }
    let mut next = old.clone();
    match wanted.get("status") {
        Some(s) => next["status"] = s.clone(),
        None => {
            next.as_object_mut().map(|m| m.remove("status"));
        }
    }
    Ok(next)
}

/// A review from JSON or, as kubectl's typed client sends it, protobuf.
fn review_body(req: &ApiRequest, kind: &str) -> Result<Value, ApiError> {
    if protobuf::is_protobuf(req.header("content-type")) {
        protobuf::decode_review(kind, &req.body)
    } else {
        req.json_body()
    }
}

/// `POST selfsubjectaccessreviews`: may I do this?
pub fn access_review(state: &Arc<ApiState>, req: &ApiRequest, who: &Identity) -> Result<Response<Body>, ApiError> {
    let mut review = review_body(req, "SelfSubjectAccessReview")?;
    let allowed = match review.pointer("/spec/resourceAttributes") {
        Some(attrs) => {
            let text = |f: &str| attrs.get(f).and_then(Value::as_str).unwrap_or("");
            let sub = text("subresource");
            let what = Attributes {
                verb: text("verb"),
                resource: text("resource"),
                subresource: (!sub.is_empty()).then_some(sub),
                namespace: text("namespace"),
            };
            allowed(state, who, &what)
        }
        // Non-resource URLs: discovery is open to everyone, the rest to admins.
        None => {
            who.is_superuser()
                || review.pointer("/spec/nonResourceAttributes/verb").and_then(Value::as_str) == Some("get")
        }
    };
    review["status"] = if allowed { json!({"allowed": true}) } else { json!({"allowed": false}) };
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    Ok(json_response(201, &review))
}

/// `POST selfsubjectrulesreviews`: what may I do in this namespace?
pub fn rules_review(state: &Arc<ApiState>, req: &ApiRequest, who: &Identity) -> Result<Response<Body>, ApiError> {
    let mut review = review_body(req, "SelfSubjectRulesReview")?;
    let namespace = review.pointer("/spec/namespace").and_then(Value::as_str).unwrap_or("").to_string();
    review["status"] = state.auth.rules_review(who, &namespace);
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectRulesReview");
    Ok(json_response(201, &review))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_view_carries_replicas_and_selector() {
        let d = json!({"metadata": {"name": "api", "namespace": "prod", "resourceVersion": "9", "labels": {"x": "y"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}}}, "status": {"replicas": 2}});
        let s = scale_of(&d);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"], json!({"replicas": 2, "selector": "app=api"}));
        assert_eq!(s["metadata"]["resourceVersion"], "9");
        assert!(s["metadata"].get("labels").is_none());
    }
}
