//! PATCH bodies as kubectl sends them: RFC 6902 JSON patch (`rollout undo`), RFC 7386
//! merge patch (`scale`), Kubernetes strategic merge patch (`set image`, `rollout
//! restart/pause/resume`, statefulset undo) and, cheaply, server-side apply (applied as
//! a strategic merge of the applied configuration, without field ownership).
//!
//! Strategic merge follows the `patchMergeKey`/`patchStrategy` tags of the built-in
//! types: lists of containers, volumes, env, ... merge element by element on their key;
//! other lists are replaced whole. Directives: `$patch: replace|delete|merge` (on maps
//! and list elements), `$retainKeys`, `$setElementOrder/<list>`,
//! `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

use crate::sim::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
            _ => Err(ApiError::unsupported_media_type(content_type)),
        }
    }
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError { code: 422, reason: "Invalid", message: message.into(), details: None, retry_after: None }
}

/// Parses a patch body of this kind (YAML for apply, JSON otherwise).
pub fn parse_body(kind: PatchKind, body: &[u8]) -> Result<Value, ApiError> {
    match kind {
        PatchKind::Apply => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("apply body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
        }
        _ => serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}"))),
    }
}

/// Applies a parsed patch to `doc`.
pub fn apply(kind: PatchKind, doc: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(doc, &ops).map_err(|e| unprocessable(e.to_string()))
        }
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(doc, patch);
            Ok(())
        }
        PatchKind::Strategic | PatchKind::Apply => {
            let Value::Object(patch) = patch else {
                return Err(ApiError::bad_request("a strategic merge patch must be a JSON object"));
            };
            if !doc.is_object() {
                *doc = Value::Object(Map::new());
            }
            let map = doc.as_object_mut().expect("object");
            strategic_merge_map(map, patch, &mut Vec::new())
        }
    }
}

/// How a list field merges, by field name and where it sits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ListStrategy {
    Replace,
    MergeByKey(&'static str),
    /// A list of scalars merged as a set (`finalizers`).
    MergePrimitives,
}

fn list_strategy(path: &[String], field: &str) -> ListStrategy {
    let parent = path.last().map(String::as_str).unwrap_or("");
    let in_container = path
        .iter()
        .rev()
        .take(2)
        .any(|p| matches!(p.as_str(), "containers" | "initContainers" | "ephemeralContainers"));
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => ListStrategy::MergeByKey("name"),
        "volumeMounts" => ListStrategy::MergeByKey("mountPath"),
        "volumeDevices" => ListStrategy::MergeByKey("devicePath"),
        "ports" if in_container => ListStrategy::MergeByKey("containerPort"),
        "ports" if parent == "spec" => ListStrategy::MergeByKey("port"),
        "conditions" => ListStrategy::MergeByKey("type"),
        "addresses" if parent == "status" => ListStrategy::MergeByKey("type"),
        "hostAliases" => ListStrategy::MergeByKey("ip"),
        "topologySpreadConstraints" => ListStrategy::MergeByKey("topologyKey"),
        "ownerReferences" => ListStrategy::MergeByKey("uid"),
        "finalizers" => ListStrategy::MergePrimitives,
        _ => ListStrategy::Replace,
    }
}

fn is_directive(key: &str) -> bool {
    key.starts_with('$')
}

/// A patch value with every directive removed, for places where it is stored as is.
fn without_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(k, _)| !is_directive(k)).map(|(k, v)| (k.clone(), without_directives(v))).collect(),
        ),
        Value::Array(a) => {
            Value::Array(a.iter().filter(|e| e.get("$patch").is_none()).map(without_directives).collect())
        }
        other => other.clone(),
    }
}

fn strategic_merge_map(
    doc: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), ApiError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *doc = match without_directives(&Value::Object(patch.clone())) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            return Ok(());
        }
        Some("delete") => {
            doc.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(ApiError::bad_request(format!("unknown patch type: {other}"))),
    }
    for (key, value) in patch {
        if is_directive(key) {
            continue;
        }
        match value {
            Value::Null => {
                doc.remove(key);
            }
            Value::Object(sub) => {
                if sub.get("$patch").and_then(Value::as_str) == Some("delete") {
                    doc.remove(key);
                    continue;
                }
                let entry = doc.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                path.push(key.clone());
                let result = strategic_merge_map(entry.as_object_mut().expect("object"), sub, path);
                path.pop();
                result?;
            }
            Value::Array(items) => {
                let strategy = list_strategy(path, key);
                let current = doc.remove(key);
                path.push(key.clone());
                let merged = merge_list(current, items, strategy, path);
                path.pop();
                doc.insert(key.clone(), merged?);
            }
            scalar => {
                doc.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(items)) = doc.get_mut(list) {
                items.retain(|v| !remove.contains(v));
            }
        }
    }
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix("$setElementOrder/") {
            let strategy = list_strategy(path, list);
            if let (Some(Value::Array(items)), Some(order)) = (doc.get_mut(list), value.as_array()) {
                reorder(items, order, strategy);
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        doc.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
    Ok(())
}

fn merge_key_value<'a>(item: &'a Value, key: &str) -> Option<&'a Value> {
    item.as_object().and_then(|m| m.get(key))
}

fn merge_list(
    current: Option<Value>,
    patch: &[Value],
    strategy: ListStrategy,
    path: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let replace_all = patch.iter().any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace"));
    let mut items = match current {
        Some(Value::Array(a)) if !replace_all => a,
        _ => Vec::new(),
    };
    match strategy {
        ListStrategy::Replace => return Ok(without_directives(&Value::Array(patch.to_vec()))),
        ListStrategy::MergePrimitives => {
            for v in patch {
                if !items.contains(v) {
                    items.push(v.clone());
                }
            }
        }
        ListStrategy::MergeByKey(key) => {
            for element in patch {
                if element.get("$patch").and_then(Value::as_str) == Some("replace") {
                    continue;
                }
                let Some(wanted) = merge_key_value(element, key) else {
                    return Err(ApiError::bad_request(format!(
                        "map: {element} does not contain declared merge key: {key}"
                    )));
                };
                let position = items.iter().position(|i| merge_key_value(i, key) == Some(wanted));
                let delete = element.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(at), true) => {
                        items.remove(at);
                    }
                    (None, true) => {}
                    (Some(at), false) => {
                        if let (Some(target), Some(changes)) = (items[at].as_object_mut(), element.as_object()) {
                            strategic_merge_map(target, changes, path)?;
                        }
                    }
                    (None, false) => items.push(without_directives(element)),
                }
            }
        }
    }
    Ok(Value::Array(items))
}

/// `$setElementOrder`: the listed elements in the listed order; elements the server has
/// but the order does not mention keep their place after them.
fn reorder(items: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let identity = |v: &Value| -> Option<Value> {
        match strategy {
            ListStrategy::MergeByKey(key) => merge_key_value(v, key).cloned(),
            _ => Some(v.clone()),
        }
    };
    let wanted: Vec<Value> = order.iter().filter_map(identity).collect();
    let mut ordered = Vec::with_capacity(items.len());
    for w in &wanted {
        if let Some(at) = items.iter().position(|i| identity(i).as_ref() == Some(w)) {
            ordered.push(items.remove(at));
        }
    }
    ordered.append(items);
    *items = ordered;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "metadata": {"name": "api", "annotations": {"a": "1"}, "finalizers": ["x"]},
            "spec": {
                "replicas": 2,
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {
                        "containers": [
                            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                             "ports": [{"containerPort": 8080, "name": "http"}],
                             "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                            {"name": "sidecar", "image": "proxy:1"}
                        ],
                        "volumes": [{"name": "data", "emptyDir": {}}]
                    }
                }
            }
        })
    }

    fn strategic(doc: &mut Value, patch: Value) {
        apply(PatchKind::Strategic, doc, &patch).unwrap();
    }

    #[test]
    fn set_image_changes_only_the_named_container() {
        let mut d = deployment();
        strategic(
            &mut d,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
                "containers": [{"image": "app:2", "name": "app"}]
            }}}}),
        );
        let containers = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "app:2");
        assert_eq!(containers[0]["env"][1]["value"], "2", "untouched fields stay");
        assert_eq!(containers[1]["image"], "proxy:1");
        assert_eq!(containers.as_array().unwrap().len(), 2);
    }

    #[test]
    fn set_element_order_reorders_and_new_elements_append() {
        let mut d = deployment();
        strategic(
            &mut d,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}, {"name": "new"}],
                "containers": [{"name": "new", "image": "new:1"}]
            }}}}),
        );
        let names: Vec<_> = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["sidecar", "app", "new"]);
    }

    #[test]
    fn rollout_restart_pause_and_resume_shapes() {
        let mut d = deployment();
        strategic(
            &mut d,
            json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}}),
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app"], "api");
        strategic(&mut d, json!({"spec": {"paused": true}}));
        assert_eq!(d["spec"]["paused"], true);
        strategic(&mut d, json!({"spec": {"paused": null}}));
        assert!(d["spec"].get("paused").is_none());
        assert_eq!(d["spec"]["replicas"], 2);
    }

    #[test]
    fn env_merges_by_name_and_delete_directive_removes() {
        let mut d = deployment();
        strategic(
            &mut d,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "env": [{"name": "B", "value": "22"}, {"name": "C", "value": "3"}, {"name": "A", "$patch": "delete"}]}
            ]}}}}),
        );
        let env = &d["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env, &json!([{"name": "B", "value": "22"}, {"name": "C", "value": "3"}]));
    }

    #[test]
    fn ports_merge_by_container_port_and_mounts_by_path() {
        let mut d = deployment();
        strategic(
            &mut d,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "app",
            "ports": [{"containerPort": 8080, "name": "web"}, {"containerPort": 9090}],
            "volumeMounts": [{"mountPath": "/data", "readOnly": true}]}]}}}}),
        );
        let app = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(app["ports"], json!([{"containerPort": 8080, "name": "web"}, {"containerPort": 9090}]));
        assert_eq!(app["volumeMounts"], json!([{"name": "data", "mountPath": "/data", "readOnly": true}]));
    }

    #[test]
    fn replace_directive_on_map_and_list() {
        let mut d = deployment();
        // The shape of a statefulset rollback from a ControllerRevision.
        strategic(
            &mut d,
            json!({"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "old"}},
            "spec": {"containers": [{"name": "app", "image": "app:0"}]}}}}),
        );
        assert_eq!(
            d["spec"]["template"],
            json!({"metadata": {"labels": {"app": "old"}}, "spec": {"containers": [{"name": "app", "image": "app:0"}]}})
        );
        strategic(
            &mut d,
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o:1"}]}}}}),
        );
        assert_eq!(d["spec"]["template"]["spec"]["containers"], json!([{"name": "only", "image": "o:1"}]));
    }

    #[test]
    fn retain_keys_and_primitive_list_directives() {
        let mut d = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}, "metadata": {"finalizers": ["a", "b"]}});
        strategic(
            &mut d,
            json!({
                "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
                "metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]}
            }),
        );
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(d["metadata"]["finalizers"], json!(["b", "c"]));
    }

    #[test]
    fn unkeyed_lists_are_replaced() {
        let mut d = json!({"spec": {"tolerations": [{"key": "a"}], "args": ["x", "y"]}});
        strategic(&mut d, json!({"spec": {"tolerations": [{"key": "b"}], "args": ["z"]}}));
        assert_eq!(d, json!({"spec": {"tolerations": [{"key": "b"}], "args": ["z"]}}));
    }

    #[test]
    fn missing_merge_key_is_rejected() {
        let mut d = deployment();
        let err = apply(
            PatchKind::Strategic,
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        );
        assert_eq!(err.unwrap_err().code, 400);
    }

    #[test]
    fn json_patch_replaces_template_like_rollout_undo() {
        let mut d = deployment();
        let patch = json!([{"op": "replace", "path": "/spec/template", "value": {"spec": {"containers": [{"name": "app", "image": "app:0"}]}}}]);
        apply(PatchKind::Json, &mut d, &patch).unwrap();
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "app:0");
        let bad = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
        assert_eq!(apply(PatchKind::Json, &mut d, &bad).unwrap_err().code, 422);
    }

    #[test]
    fn merge_patch_replaces_lists_and_nulls_remove() {
        let mut d = deployment();
        apply(PatchKind::Merge, &mut d, &json!({"spec": {"replicas": 5}, "metadata": {"annotations": null}})).unwrap();
        assert_eq!(d["spec"]["replicas"], 5);
        assert!(d["metadata"].get("annotations").is_none());
    }

    #[test]
    fn content_types_map_to_patch_kinds() {
        assert_eq!(PatchKind::from_content_type("application/merge-patch+json").unwrap(), PatchKind::Merge);
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json; charset=utf-8").unwrap(),
            PatchKind::Strategic
        );
        assert_eq!(PatchKind::from_content_type("text/plain").unwrap_err().code, 415);
    }
}
