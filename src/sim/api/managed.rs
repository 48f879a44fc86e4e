//! `metadata.managedFields`: which field manager set which fields, as the API server
//! records it on every create, update, patch and server-side apply, so that GitOps tools
//! (and the cockpit) can tell who owns `spec.replicas`.
//!
//! One entry per (manager, operation, subresource), `fieldsType: FieldsV1`, `fieldsV1` in
//! the `{"f:spec": {"f:replicas": {}}}` form. The rules kept from the real server:
//! - Update (create, update, patch, `/status`, `/scale`): the fields the request changed
//!   move to the requesting manager, away from every other manager.
//! - Apply (server-side apply): the applying manager owns exactly what it applied;
//!   applying a different value to a field another manager owns is a 409 Conflict unless
//!   `force=true`, which moves the field; applying the same value shares it.
//! - Fields that no longer exist leave every set; empty entries are dropped.
//!
//! Simplified on purpose: sets are at leaf granularity for maps, and every list is one
//! leaf (`f:containers: {}`, not `k:{"name":"app"}` per element), and maps carry no `.`
//! self-entries. Fields an applier stops applying are not removed from the object.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::ApiRequest;
use crate::sim::error::ApiError;
use crate::sim::resources::ResourceType;
use crate::sim::store::now_rfc3339;

/// A field path: the keys from the object's root to a leaf.
type Path = Vec<String>;

/// Metadata the server owns; never part of a field set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who writes, how, and through which subresource.
pub struct Writer<'a> {
    pub manager: String,
    pub operation: Operation,
    pub subresource: Option<&'a str>,
    pub force: bool,
}

impl<'a> Writer<'a> {
    /// The writer of a request: `fieldManager`, else the user agent's first segment
    /// (`kubectl/v1.32.0 (linux/amd64) …` → `kubectl`), as the API server defaults it.
    /// Server-side apply requires an explicit manager (400 otherwise).
    pub fn of(req: &ApiRequest, operation: Operation, subresource: Option<&'a str>) -> Result<Self, ApiError> {
        let manager = match req.param("fieldManager").filter(|m| !m.is_empty()) {
            Some(m) => m.to_string(),
            None if operation == Operation::Apply => {
                return Err(ApiError::bad_request("PATCH, application/apply-patch+yaml requires fieldManager"));
            }
            None => req.header("user-agent").split('/').next().unwrap_or("").to_string(),
        };
        Ok(Writer { manager, operation, subresource, force: req.flag("force") })
    }
}

/// The leaf paths of an object's user-settable fields (`status` left out when the type
/// serves `/status` and the write is to the main resource).
fn leaves(obj: &Value, skip_status: bool) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let Some(map) = obj.as_object() else { return out };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "status" if skip_status => {}
            "metadata" => {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta.iter().filter(|(mk, _)| !SERVER_METADATA.contains(&mk.as_str())) {
                        walk(mv, vec!["metadata".into(), mk.clone()], &mut out);
                    }
                }
            }
            _ => walk(v, vec![k.clone()], &mut out),
        }
    }
    out
}

fn walk(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match v.as_object() {
        Some(map) if !map.is_empty() => {
            for (k, child) in map {
                let mut p = path.clone();
                p.push(k.clone());
                walk(child, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn value_at<'a>(obj: &'a Value, path: &Path) -> Option<&'a Value> {
    path.iter().try_fold(obj, |cur, k| cur.get(k))
}

/// A set in the FieldsV1 form.
fn to_fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for k in path {
            cur = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("field sets hold only objects");
        }
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value) -> BTreeSet<Path> {
    fn go(v: &Value, path: &Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&String, &Value)> =
            v.as_object().map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect()).unwrap_or_default();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (k, child) in children {
            let mut p = path.clone();
            p.push(k[2..].to_string());
            go(child, &p, out);
        }
    }
    let mut out = BTreeSet::new();
    go(v, &Vec::new(), &mut out);
    out
}

struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    api_version: String,
    time: Value,
    fields: BTreeSet<Path>,
}

fn entries_of(obj: Option<&Value>) -> Vec<Entry> {
    let list = obj.and_then(|o| o.pointer("/metadata/managedFields")).and_then(Value::as_array);
    list.map(|l| {
        l.iter()
            .map(|e| Entry {
                manager: e["manager"].as_str().unwrap_or("").to_string(),
                operation: e["operation"].as_str().unwrap_or("").to_string(),
                subresource: e["subresource"].as_str().map(String::from),
                api_version: e["apiVersion"].as_str().unwrap_or("").to_string(),
                time: e["time"].clone(),
                fields: from_fields_v1(&e["fieldsV1"]),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn entry_json(e: &Entry) -> Value {
    let mut v = json!({
        "manager": e.manager,
        "operation": e.operation,
        "apiVersion": e.api_version,
        "time": e.time,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(&e.fields),
    });
    if let Some(sub) = &e.subresource {
        v["subresource"] = json!(sub);
    }
    v
}

/// `.spec.replicas`, as the API server names a conflicting field.
fn dotted(path: &Path) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// Records `writer`'s write of `next` (over `old`, `None` for a create) in `next`'s
/// managedFields. `applied` is the applied configuration of a server-side apply.
pub fn record(
    rt: &ResourceType,
    writer: &Writer,
    old: Option<&Value>,
    next: &mut Value,
    applied: Option<&Value>,
) -> Result<(), ApiError> {
    let skip_status = rt.has_status() && writer.subresource.is_none();
    let now_leaves = leaves(next, false);
    let old_leaves = old.map(|o| leaves(o, false)).unwrap_or_default();
    let changed: BTreeSet<Path> = now_leaves
        .iter()
        .filter(|p| old.is_none_or(|o| value_at(o, p) != value_at(next, p)) || !old_leaves.contains(*p))
        .filter(|p| !(skip_status && p.first().is_some_and(|k| k == "status")))
        .cloned()
        .collect();
    let mut entries = entries_of(old);
    let same_writer = |e: &Entry| {
        e.manager == writer.manager
            && e.operation == writer.operation.as_str()
            && e.subresource.as_deref() == writer.subresource
    };
    if writer.operation == Operation::Update && changed.is_empty() && old.is_some() {
        // Nothing changed: the ownership stays as it was (a real no-op write).
        restore(next, old);
        return Ok(());
    }
    let owned: BTreeSet<Path> = match (writer.operation, applied) {
        (Operation::Apply, Some(config)) => leaves(config, skip_status),
        _ => changed.clone(),
    };
    if writer.operation == Operation::Apply {
        let mut conflicts = Vec::new();
        for e in entries.iter().filter(|e| !same_writer(e)) {
            for p in owned.intersection(&e.fields) {
                let current = old.and_then(|o| value_at(o, p));
                if current.is_some() && current != value_at(next, p) {
                    conflicts.push((e.manager.clone(), e.api_version.clone(), p.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !writer.force {
            return Err(conflict(rt, next, &conflicts));
        }
        // Forced or shared: a field whose value changed leaves its other owners.
        for e in entries.iter_mut().filter(|e| !same_writer(e)) {
            e.fields.retain(|p| !conflicts.iter().any(|(m, _, c)| *m == e.manager && c == p));
        }
    } else {
        for e in entries.iter_mut().filter(|e| !same_writer(e)) {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    let mine = match entries.iter().position(same_writer) {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: writer.manager.clone(),
                operation: writer.operation.as_str().into(),
                subresource: writer.subresource.map(String::from),
                api_version: String::new(),
                time: Value::Null,
                fields: BTreeSet::new(),
            });
            entries.len() - 1
        }
    };
    let e = &mut entries[mine];
    e.fields = match writer.operation {
        Operation::Apply => owned,
        Operation::Update => e.fields.union(&owned).cloned().collect(),
    };
    e.api_version = rt.api_version();
    e.time = json!(now_rfc3339());
    for e in entries.iter_mut() {
        e.fields.retain(|p| now_leaves.contains(p) || value_at(next, p).is_some());
    }
    entries.retain(|e| !e.fields.is_empty());
    let list: Vec<Value> = entries.iter().map(entry_json).collect();
    if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("managedFields".into(), Value::Array(list));
    }
    Ok(())
}

/// `next` with `old`'s managedFields (a request's own managedFields are not taken).
fn restore(next: &mut Value, old: Option<&Value>) {
    let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    match old.and_then(|o| o.pointer("/metadata/managedFields")) {
        Some(m) => meta.insert("managedFields".into(), m.clone()),
        None => meta.remove("managedFields"),
    };
}

fn conflict(rt: &ResourceType, obj: &Value, conflicts: &[(String, String, Path)]) -> ApiError {
    let texts: Vec<String> = conflicts
        .iter()
        .map(|(manager, api_version, path)| {
            format!("conflict with \"{manager}\" using {api_version}: {}", dotted(path))
        })
        .collect();
    let message = match texts.len() {
        1 => format!("Apply failed with 1 conflict: {}", texts[0]),
        n => format!("Apply failed with {n} conflicts: {}", texts.join("\n")),
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(manager, api_version, path)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\" using {api_version}"), "field": dotted(path)})
        })
        .collect();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    ApiError {
        code: 409,
        reason: "Conflict",
        message,
        details: Some(json!({"name": name, "group": rt.group, "kind": rt.plural, "causes": causes})),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    fn writer(manager: &str, operation: Operation, force: bool) -> Writer<'static> {
        Writer { manager: manager.into(), operation, subresource: None, force }
    }

    fn fields_of(obj: &Value, manager: &str) -> Value {
        obj["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == manager)
            .map(|e| e["fieldsV1"].clone())
            .unwrap_or(Value::Null)
    }

    #[test]
    fn create_update_and_apply_move_ownership() {
        let rt = resource("deployments").unwrap();
        let mut obj =
            json!({"metadata": {"name": "d", "labels": {"app": "d"}}, "spec": {"replicas": 1, "paused": false}});
        record(rt, &writer("kubectl-create", Operation::Update, false), None, &mut obj, None).unwrap();
        assert_eq!(
            fields_of(&obj, "kubectl-create"),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}, "f:paused": {}}})
        );
        // flux applies replicas 3: a different value of a field an Update manager owns.
        let config = json!({"spec": {"replicas": 3}});
        let old = obj.clone();
        let mut next = obj.clone();
        next["spec"]["replicas"] = json!(3);
        let err =
            record(rt, &writer("flux", Operation::Apply, false), Some(&old), &mut next, Some(&config)).unwrap_err();
        assert_eq!(err.code, 409);
        assert!(
            err.message.contains("conflict with \"kubectl-create\" using apps/v1: .spec.replicas"),
            "{}",
            err.message
        );
        record(rt, &writer("flux", Operation::Apply, true), Some(&old), &mut next, Some(&config)).unwrap();
        assert_eq!(fields_of(&next, "flux"), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(fields_of(&next, "kubectl-create")["f:spec"], json!({"f:paused": {}}));
        // The same value again is shared, not a conflict; an update takes it over.
        let old = next.clone();
        record(rt, &writer("argo", Operation::Apply, false), Some(&old), &mut next, Some(&config)).unwrap();
        assert_eq!(fields_of(&next, "argo"), json!({"f:spec": {"f:replicas": {}}}));
        let old = next.clone();
        next["spec"]["replicas"] = json!(5);
        record(rt, &writer("kubectl", Operation::Update, false), Some(&old), &mut next, None).unwrap();
        assert_eq!(fields_of(&next, "kubectl"), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(fields_of(&next, "flux"), Value::Null, "an emptied entry is dropped");
    }
}
