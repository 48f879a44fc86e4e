//! The object verbs: get, list (selectors, `limit`/`continue`), create, update (409 on a
//! stale resourceVersion), patch, delete, deletecollection; `dryRun=All` on every
//! mutation computes and answers the result without storing it.
//!
//! # Deletion, and what the world half finishes
//!
//! - A pod on a node (`spec.nodeName` set, not yet Succeeded/Failed) is deleted
//!   gracefully, as by a real API server: the request marks `metadata.deletionTimestamp`
//!   (now + grace) and `metadata.deletionGracePeriodSeconds` (from the request's
//!   `gracePeriodSeconds`, else the pod's `spec.terminationGracePeriodSeconds`, else 30)
//!   with `Store::modify` and answers the marked pod. **The world's kubelet must notice
//!   the mark, stop the pod's containers (events `Killing`), and call `Store::delete`
//!   once the grace period is over** (and `LogStore::remove_pod`). A grace period of 0
//!   (`kubectl delete --force --grace-period=0`), an unscheduled pod or a finished pod
//!   is removed at once.
//! - Every other object is removed at once. `propagationPolicy` is accepted; dependents
//!   are left to the world's garbage collector (ownerReferences), whatever the policy.
//! - Deleting a namespace removes everything in it at once.
//!
//! Types with a `status` subresource ignore `status` in updates and patches of the main
//! resource, as on a real server (controllers write it through the store or `/status`).
//! Creates of built-in kinds keep a given `status`, so that seeding with `kubectl create -f`
//! is possible; custom resources drop it when their CRD declares `/status`, as for real.

use std::sync::Arc;

use base64::Engine;
use http::Response;
use serde::Serialize;
use serde_json::{Value, json};

use super::managed::{self, Operation, Writer};
use super::patch::{self, PatchKind};
use super::route::Target;
use super::selectors::{FieldSelector, LabelSelector};
use super::tables::{self, partial_object_metadata};
use super::validate::validate;
use super::{ApiRequest, ApiState, Body, Output, json_response, negotiate};
use crate::sim::error::ApiError;
use crate::sim::resources::{ResourceType, resource};
use crate::sim::store::{ensure_object, new_uid, now_rfc3339, obj_name, obj_namespace, random_suffix};

/// A single object in the form the client asked for.
pub fn object_response(req: &ApiRequest, target: &Target, obj: &Value, status: u16) -> Response<Body> {
    let rv = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
    let doc = match negotiate(req) {
        Output::Plain if needs_version(target.rt, obj) => return json_response(status, &in_version(target.rt, obj)),
        Output::Plain => return json_response(status, obj),
        Output::Metadata => partial_object_metadata(obj),
        Output::Table(include) => tables::table(target.rt, &[obj], rv, include, jiff::Timestamp::now()),
    };
    json_response(status, &doc)
}

/// Whether a custom resource stored through one served version is read through another.
pub fn needs_version(rt: &ResourceType, obj: &Value) -> bool {
    rt.custom.is_some() && obj.get("apiVersion").and_then(Value::as_str) != Some(rt.api_version().as_str())
}

/// A custom resource as the requested version shows it. CRD versions here convert with
/// the `None` strategy (the real server's default): only `apiVersion` changes.
pub fn in_version(rt: &ResourceType, obj: &Value) -> Value {
    let mut copy = obj.clone();
    copy["apiVersion"] = json!(rt.api_version());
    copy
}

pub fn get(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let obj = current(state, target)?;
    Ok(object_response(req, target, &obj, 200))
}

pub fn current(state: &ApiState, target: &Target) -> Result<Arc<Value>, ApiError> {
    state
        .store
        .get(target.rt, target.namespace_or_empty(), target.name_or_empty())
        .ok_or_else(|| ApiError::not_found(target.rt, target.name_or_empty()))
}

/// The objects a list or watch selects.
pub struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn from_request(req: &ApiRequest, rt: &ResourceType) -> Result<Self, ApiError> {
        Ok(Filter {
            labels: LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(req.param("fieldSelector").unwrap_or(""), rt)?,
        })
    }

    pub fn matches(&self, rt: &ResourceType, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(rt, obj)
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    ns: String,
    name: String,
}

fn encode_continue(rv: u64, last: &Value) -> String {
    let token = ContinueToken { rv, ns: obj_namespace(last).into(), name: obj_name(last).into() };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(text: &str) -> Result<ContinueToken, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion"))
}

/// One page of a list: the objects, the resourceVersion, and the continue token.
pub struct Page {
    pub items: Vec<Arc<Value>>,
    pub rv: u64,
    pub next: Option<String>,
    pub remaining: usize,
}

pub fn list_page(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Page, ApiError> {
    let filter = Filter::from_request(req, target.rt)?;
    let (all, rv) = state.store.list(target.rt, target.namespace.as_deref());
    let start = req.param("continue").filter(|c| !c.is_empty()).map(decode_continue).transpose()?;
    let limit = req.param("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let mut items: Vec<Arc<Value>> = all
        .into_iter()
        .filter(|o| match &start {
            Some(t) => (obj_namespace(o), obj_name(o)) > (t.ns.as_str(), t.name.as_str()),
            None => true,
        })
        .filter(|o| filter.matches(target.rt, o))
        .collect();
    let (mut next, mut remaining) = (None, 0);
    if let Some(limit) = limit
        && items.len() > limit
    {
        remaining = items.len() - limit;
        items.truncate(limit);
        next = items.last().map(|last| encode_continue(rv, last));
    }
    Ok(Page { items, rv, next, remaining })
}

#[derive(Serialize)]
struct ListDoc<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<&'a Value>,
}

pub fn list(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let page = list_page(state, req, target)?;
    let mut metadata = json!({"resourceVersion": page.rv.to_string()});
    if let Some(next) = &page.next {
        metadata["continue"] = json!(next);
        metadata["remainingItemCount"] = json!(page.remaining);
    }
    let doc = match negotiate(req) {
        Output::Plain => {
            let converted: Vec<Value> = match target.rt.custom {
                Some(_) => page.items.iter().map(|o| in_version(target.rt, o)).collect(),
                None => Vec::new(),
            };
            let items = match target.rt.custom {
                Some(_) => converted.iter().collect(),
                None => page.items.iter().map(|a| a.as_ref()).collect(),
            };
            let doc = ListDoc { kind: target.rt.list_kind(), api_version: target.rt.api_version(), metadata, items };
            let body = serde_json::to_vec(&doc).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut resp = Response::new(super::full_body(body));
            resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            return Ok(resp);
        }
        Output::Metadata => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "items": page.items.iter().map(|o| partial_object_metadata(o)).collect::<Vec<_>>(),
        }),
        Output::Table(include) => {
            let objects: Vec<&Value> = page.items.iter().map(|a| a.as_ref()).collect();
            let mut table = tables::table(target.rt, &objects, &page.rv.to_string(), include, jiff::Timestamp::now());
            table["metadata"] = metadata;
            table
        }
    };
    Ok(json_response(200, &doc))
}

fn check_type(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    if let Some(v) = obj.get("apiVersion").and_then(Value::as_str)
        && v != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str)
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    Ok(())
}

/// The body of a create or update, checked against the URL and with its namespace set.
fn body_object(req: &ApiRequest, target: &Target) -> Result<Value, ApiError> {
    let mut obj = req.json_body()?;
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    check_type(target.rt, &obj)?;
    if target.rt.namespaced {
        let url_ns = target.namespace_or_empty();
        let body_ns = obj_namespace(&obj).to_string();
        if body_ns.is_empty() {
            ensure_object(&mut obj, "metadata").insert("namespace".into(), json!(url_ns));
        } else if body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    if let Some(name) = &target.name
        && obj_name(&obj) != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            obj_name(&obj)
        )));
    }
    Ok(obj)
}

/// What a real API server fills in on create before storing.
fn create_defaults(rt: &ResourceType, obj: &mut Value) {
    if rt.custom.is_some() {
        // The CRD strategy drops a given status when status is a subresource.
        if rt.has_status() {
            obj.as_object_mut().map(|m| m.remove("status"));
        }
        return;
    }
    match rt.plural {
        "pods" if obj.pointer("/status/phase").is_none() => {
            ensure_object(obj, "status").insert("phase".into(), json!("Pending"));
        }
        "namespaces" if obj.pointer("/status/phase").is_none() => {
            ensure_object(obj, "status").insert("phase".into(), json!("Active"));
        }
        _ => {}
    }
}

pub fn create(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let mut obj = body_object(req, target)?;
    create_defaults(target.rt, &mut obj);
    validate(target.rt, &obj)?;
    managed::record(target.rt, &Writer::of(req, Operation::Update, None)?, None, &mut obj, None)?;
    let created = if req.dry_run() {
        Arc::new(dry_run_create(state, target.rt, obj)?)
    } else {
        state.store.create(target.rt, obj)?
    };
    Ok(object_response(req, target, &created, 201))
}

/// What `Store::create` would store, without storing it.
fn dry_run_create(state: &ApiState, rt: &'static ResourceType, mut obj: Value) -> Result<Value, ApiError> {
    let namespace = obj_namespace(&obj).to_string();
    let namespaces = resource("namespaces").expect("namespaces are served");
    if rt.namespaced && !rt.is("", "events") && state.store.get(namespaces, "", &namespace).is_none() {
        return Err(ApiError::not_found_kind("namespaces", "", &namespace));
    }
    let mut name = obj_name(&obj).to_string();
    if name.is_empty() {
        let prefix = obj.pointer("/metadata/generateName").and_then(Value::as_str).unwrap_or("");
        if prefix.is_empty() {
            return Err(ApiError::invalid(rt, "", "metadata.name", "name or generateName is required"));
        }
        name = format!("{prefix}{}", random_suffix(5));
    }
    if state.store.get(rt, &namespace, &name).is_some() {
        return Err(ApiError::already_exists(rt, &name));
    }
    let has_spec = obj.get("spec").is_some() || rt.custom.is_some();
    let meta = ensure_object(&mut obj, "metadata");
    meta.insert("name".into(), json!(name));
    meta.insert("uid".into(), json!(new_uid()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    if has_spec {
        meta.insert("generation".into(), json!(1));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    Ok(obj)
}

fn keeps_status(rt: &ResourceType) -> bool {
    rt.has_status()
}

pub fn update(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let mut obj = body_object(req, target)?;
    let old = current(state, target)?;
    if keeps_status(target.rt) {
        match old.get("status") {
            Some(s) => obj["status"] = s.clone(),
            None => {
                obj.as_object_mut().map(|m| m.remove("status"));
            }
        }
    }
    validate(target.rt, &obj)?;
    managed::record(target.rt, &Writer::of(req, Operation::Update, None)?, Some(&old), &mut obj, None)?;
    let updated = if req.dry_run() {
        let wanted = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
        if !wanted.is_empty() && Some(wanted) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
            return Err(ApiError::conflict(target.rt, target.name_or_empty()));
        }
        Arc::new(obj)
    } else {
        state.store.update(target.rt, obj)?
    };
    Ok(object_response(req, target, &updated, 200))
}

/// Applies a parsed patch to a copy of `old`, keeping identity and (for the main
/// resource) status; a resourceVersion in the patch is a precondition.
pub fn patched(
    rt: &ResourceType,
    kind: PatchKind,
    body: &Value,
    old: &Value,
    keep_status: bool,
) -> Result<Value, ApiError> {
    let mut next = old.clone();
    patch::apply(kind, &mut next, body)?;
    let rv_before = old.pointer("/metadata/resourceVersion");
    let rv_after = next.pointer("/metadata/resourceVersion");
    if rv_after.is_some_and(|rv| rv.as_str() != Some("")) && rv_after != rv_before {
        return Err(ApiError::conflict(rt, obj_name(old)));
    }
    if obj_name(&next) != obj_name(old) || obj_namespace(&next) != obj_namespace(old) {
        return Err(ApiError::bad_request("metadata.name and metadata.namespace cannot be changed by a patch"));
    }
    if keep_status {
        match old.get("status") {
            Some(s) => next["status"] = s.clone(),
            None => {
                next.as_object_mut().map(|m| m.remove("status"));
            }
        }
    }
    if let Some(rv) = rv_before {
        ensure_object(&mut next, "metadata").insert("resourceVersion".into(), rv.clone());
    }
    validate(rt, &next)?;
    Ok(next)
}

/// Runs a patch-like change: on a copy for dry runs, through `Store::modify` otherwise.
pub fn modify_or_preview(
    state: &ApiState,
    req: &ApiRequest,
    target: &Target,
    mut change: impl FnMut(&Value) -> Result<Value, ApiError>,
) -> Result<Arc<Value>, ApiError> {
    if req.dry_run() {
        let old = current(state, target)?;
        return Ok(Arc::new(change(&old)?));
    }
    state.store.modify(target.rt, target.namespace_or_empty(), target.name_or_empty(), |obj| {
        *obj = change(obj)?;
        Ok(())
    })
}

pub fn patch(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let kind = PatchKind::from_content_type(req.header("content-type"))?;
    let body = patch::parse_body(kind, &req.body)?;
    if kind == PatchKind::Apply
        && state.store.get(target.rt, target.namespace_or_empty(), target.name_or_empty()).is_none()
    {
        // Server-side apply of a new object is a create.
        let mut obj = body;
        check_type(target.rt, &obj)?;
        if target.rt.namespaced && obj_namespace(&obj).is_empty() {
            ensure_object(&mut obj, "metadata").insert("namespace".into(), json!(target.namespace_or_empty()));
        }
        create_defaults(target.rt, &mut obj);
        validate(target.rt, &obj)?;
        let applied = obj.clone();
        managed::record(target.rt, &Writer::of(req, Operation::Apply, None)?, None, &mut obj, Some(&applied))?;
        let created = if req.dry_run() {
            Arc::new(dry_run_create(state, target.rt, obj)?)
        } else {
            state.store.create(target.rt, obj)?
        };
        return Ok(object_response(req, target, &created, 201));
    }
    let keep = keeps_status(target.rt);
    let (operation, applied) = match kind {
        PatchKind::Apply => (Operation::Apply, Some(&body)),
        _ => (Operation::Update, None),
    };
    let writer = Writer::of(req, operation, None)?;
    let result = modify_or_preview(state, req, target, |old| {
        let mut next = patched(target.rt, kind, &body, old, keep)?;
        managed::record(target.rt, &writer, Some(old), &mut next, applied)?;
        Ok(next)
    })?;
    Ok(object_response(req, target, &result, 200))
}

/// DeleteOptions from the body and the query.
pub(super) struct DeleteOptions {
    grace: Option<i64>,
    rv: Option<String>,
    uid: Option<String>,
    pub(super) dry_run: bool,
}

fn delete_options(req: &ApiRequest) -> Result<DeleteOptions, ApiError> {
    let body: Value = if req.body.is_empty() { json!({}) } else { req.json_body()? };
    Ok(delete_options_in(&body, req))
}

/// DeleteOptions from a body (a DELETE's own, or an Eviction's `deleteOptions`) and the query.
pub(super) fn delete_options_in(body: &Value, req: &ApiRequest) -> DeleteOptions {
    let grace = body
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| req.param("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let dry_run =
        req.dry_run() || body.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|x| x == "All"));
    DeleteOptions {
        grace,
        rv: body.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(String::from),
        uid: body.pointer("/preconditions/uid").and_then(Value::as_str).map(String::from),
        dry_run,
    }
}

pub fn delete(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let obj = current(state, target)?;
    let gone = delete_one(state, target.rt, &obj, &opts)?;
    Ok(object_response(req, target, &gone, 200))
}

pub(super) fn delete_one(
    state: &ApiState,
    rt: &'static ResourceType,
    obj: &Value,
    opts: &DeleteOptions,
) -> Result<Arc<Value>, ApiError> {
    let (ns, name) = (obj_namespace(obj).to_string(), obj_name(obj).to_string());
    if let Some(uid) = &opts.uid {
        let actual = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("");
        if uid != actual {
            return Err(ApiError {
                code: 409,
                reason: "Conflict",
                message: format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}",
                    rt.plural
                ),
                details: None,
                retry_after: None,
            });
        }
    }
    if let Some(rv) = &opts.rv
        && Some(rv.as_str()) != obj.pointer("/metadata/resourceVersion").and_then(Value::as_str)
    {
        return Err(ApiError::conflict(rt, &name));
    }
    if opts.dry_run {
        return Ok(Arc::new(obj.clone()));
    }
    if rt.is("", "pods")
        && let Some(grace) = pod_grace(obj, opts.grace)
    {
        return state.store.modify(rt, &ns, &name, |pod| {
            mark_terminating(pod, grace);
            Ok(())
        });
    }
    if rt.is("", "namespaces") {
        delete_namespace_contents(state, &name);
    }
    state.store.delete(rt, &ns, &name, opts.rv.as_deref())
}

/// The grace period a pod deletion waits for, or `None` to remove it at once.
fn pod_grace(pod: &Value, requested: Option<i64>) -> Option<i64> {
    let scheduled = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let finished = matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    let grace =
        requested.or_else(|| pod.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64)).unwrap_or(30);
    let already = pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64);
    if grace <= 0 || !scheduled || finished {
        return None;
    }
    // A second delete may shorten the grace period, never lengthen it.
    Some(already.map_or(grace, |a| a.min(grace)))
}

fn mark_terminating(pod: &mut Value, grace: i64) {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
    let at = at.round(jiff::Unit::Second).unwrap_or(at);
    let meta = ensure_object(pod, "metadata");
    let shorter = meta.get("deletionGracePeriodSeconds").and_then(Value::as_i64).is_none_or(|g| grace < g);
    if shorter {
        meta.insert("deletionTimestamp".into(), json!(at.to_string()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
    }
}

fn delete_namespace_contents(state: &ApiState, namespace: &str) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for rt in state.store.served().into_iter().filter(|r| r.namespaced) {
        // Served versions of one custom type share their objects: delete them once.
        if seen.contains(&(rt.group, rt.plural)) {
            continue;
        }
        seen.push((rt.group, rt.plural));
        for obj in state.store.list(rt, Some(namespace)).0 {
            let _ = state.store.delete(rt, namespace, obj_name(&obj), None);
            if rt.is("", "pods") {
                state.logs.remove_pod(namespace, obj_name(&obj));
            }
        }
    }
}

pub fn delete_collection(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let opts = delete_options(req)?;
    let filter = Filter::from_request(req, target.rt)?;
    let (all, _) = state.store.list(target.rt, target.namespace.as_deref());
    let mut deleted = Vec::new();
    for obj in all.iter().filter(|o| filter.matches(target.rt, o)) {
        match delete_one(state, target.rt, obj, &opts) {
            Ok(gone) => deleted.push((*gone).clone()),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let doc = json!({
        "kind": target.rt.list_kind(),
        "apiVersion": target.rt.api_version(),
        "metadata": {"resourceVersion": state.store.current_rv().to_string()},
        "items": deleted,
    });
    Ok(json_response(200, &doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let obj = json!({"metadata": {"name": "b", "namespace": "a"}});
        let token = decode_continue(&encode_continue(42, &obj)).unwrap();
        assert_eq!((token.rv, token.ns.as_str(), token.name.as_str()), (42, "a", "b"));
        assert_eq!(decode_continue("garbage!").unwrap_err().code, 400);
    }

    #[test]
    fn scheduled_pods_get_a_grace_period_others_go_at_once() {
        let pod =
            json!({"spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 10}, "status": {"phase": "Running"}});
        assert_eq!(pod_grace(&pod, None), Some(10));
        assert_eq!(pod_grace(&pod, Some(0)), None);
        assert_eq!(pod_grace(&json!({"spec": {}}), None), None);
        let done = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert_eq!(pod_grace(&done, None), None);
    }

    #[test]
    fn patch_keeps_status_and_checks_resource_version() {
        let rt = resource("deployments").unwrap();
        let old = json!({"metadata": {"name": "d", "resourceVersion": "5"}, "spec": {"replicas": 1, "selector": {}, "template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}, "status": {"replicas": 1}});
        let next =
            patched(rt, PatchKind::Merge, &json!({"spec": {"replicas": 4}, "status": {"replicas": 9}}), &old, true)
                .unwrap();
        assert_eq!(next["spec"]["replicas"], 4);
        assert_eq!(next["status"]["replicas"], 1);
        let stale = patched(rt, PatchKind::Merge, &json!({"metadata": {"resourceVersion": "4"}}), &old, true);
        assert_eq!(stale.unwrap_err().code, 409);
        let negative = patched(rt, PatchKind::Merge, &json!({"spec": {"replicas": -2}}), &old, true);
        assert_eq!(negative.unwrap_err().code, 422);
    }
}
