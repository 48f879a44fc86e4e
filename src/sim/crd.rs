//! CustomResourceDefinitions: what a CRD object makes the simulator serve (one resource
//! type per served version), the checks the real API server makes before accepting a
//! CRD (422 Invalid), and the status its controller sets (names accepted, established).
//!
//! Resource types are `&'static` everywhere in the simulator. A CRD's types are built
//! once and leaked (`Box::leak`), and interned, so re-applying the same CRD reuses them:
//! a handful of small values per distinct CRD version for the life of the process,
//! which keeps every other module unchanged.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::error::FieldError;
use super::meta::now_rfc3339;
use super::resources::{CustomInfo, PrinterColumn, ResourceType, ScalePaths};

const CRUD_VERBS: &[&str] = &["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

static INTERNED: Mutex<Vec<&'static ResourceType>> = Mutex::new(Vec::new());

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_strs(items: &[String]) -> &'static [&'static str] {
    Box::leak(items.iter().map(|s| leak_str(s)).collect::<Vec<_>>().into_boxed_slice())
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

/// The resource types a (valid, stored) CRD serves: one per `served: true` version,
/// highest-priority version first.
pub fn types_of(crd: &Value) -> Vec<&'static ResourceType> {
    let group = text(crd, "/spec/group");
    let names = &crd["spec"]["names"];
    let plural = text(names, "/plural");
    let kind = text(names, "/kind");
    let singular = match text(names, "/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    let namespaced = text(crd, "/spec/scope") != "Cluster";
    let mut versions: Vec<&Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter(|v| v["served"].as_bool().unwrap_or(false)).collect())
        .unwrap_or_default();
    versions.sort_by(|a, b| version_order(text(a, "/name"), text(b, "/name")));
    let mut out = Vec::new();
    for v in versions {
        let mut subresources = Vec::new();
        if v.pointer("/subresources/scale").is_some() {
            subresources.push("scale".to_string());
        }
        if v.pointer("/subresources/status").is_some() {
            subresources.push("status".to_string());
        }
        let printer_columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| PrinterColumn {
                        name: text(c, "/name").to_string(),
                        kind: text(c, "/type").to_string(),
                        json_path: text(c, "/jsonPath").to_string(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let scale = v.pointer("/subresources/scale").map(|s| ScalePaths {
            spec_replicas: text(s, "/specReplicasPath").to_string(),
            status_replicas: text(s, "/statusReplicasPath").to_string(),
            label_selector: s.get("labelSelectorPath").and_then(Value::as_str).map(String::from),
        });
        let wanted = ResourceType {
            group: leak_str(group),
            version: leak_str(text(v, "/name")),
            kind: leak_str(kind),
            plural: leak_str(plural),
            singular: leak_str(&singular),
            namespaced,
            short_names: leak_strs(&strings(names, "/shortNames")),
            categories: leak_strs(&strings(names, "/categories")),
            verbs: CRUD_VERBS,
            subresources: leak_strs(&subresources),
            custom: Some(Box::leak(Box::new(CustomInfo { printer_columns, scale }))),
        };
        out.push(intern(wanted));
    }
    out
}

/// The interned copy of `rt` (the leaked strings of a duplicate are small and bounded by
/// the number of CRD writes; the types themselves are shared).
fn intern(rt: ResourceType) -> &'static ResourceType {
    let mut interned = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = interned.iter().find(|t| ***t == rt) {
        return found;
    }
    let leaked: &'static ResourceType = Box::leak(Box::new(rt));
    interned.push(leaked);
    leaked
}

/// Kubernetes version priority (`v1` > `v1beta2` > `v1beta1` > `v1alpha1` > `foo`), as
/// an ordering where the preferred version sorts first.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn rank(v: &str) -> (u8, u64, u64, String) {
        let parsed = v.strip_prefix('v').and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: u64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            let (stage, minor) = if tail.is_empty() {
                (3, 0)
            } else if let Some(n) = tail.strip_prefix("beta") {
                (2, n.parse().ok()?)
            } else if let Some(n) = tail.strip_prefix("alpha") {
                (1, n.parse().ok()?)
            } else {
                return None;
            };
            Some((stage, major, minor))
        });
        match parsed {
            Some((stage, major, minor)) => (stage, major, minor, String::new()),
            None => (0, 0, 0, v.to_string()),
        }
    }
    let (ra, rb) = (rank(a), rank(b));
    // Higher stage, major and minor first; non-Kubernetes names alphabetically last.
    (rb.0, rb.1, rb.2).cmp(&(ra.0, ra.1, ra.2)).then_with(|| ra.3.cmp(&rb.3))
}

/// What the real server checks in a CRD that matters here (apiextensions validation).
pub fn validate(crd: &Value, errors: &mut Vec<FieldError>) {
    let name = text(crd, "/metadata/name");
    let group = text(crd, "/spec/group");
    let plural = text(crd, "/spec/names/plural");
    if group.is_empty() {
        errors.push(FieldError::required("spec.group"));
    } else if !group.contains('.') {
        errors.push(FieldError::invalid("spec.group", &json!(group), "should be a domain with at least one dot"));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        errors.push(FieldError::invalid("metadata.name", &json!(name), "must be spec.names.plural+\".\"+spec.group"));
    }
    if plural.is_empty() {
        errors.push(FieldError::required("spec.names.plural"));
    }
    if text(crd, "/spec/names/kind").is_empty() {
        errors.push(FieldError::required("spec.names.kind"));
    }
    match text(crd, "/spec/scope") {
        "Namespaced" | "Cluster" => {}
        "" => errors.push(FieldError::required("spec.scope")),
        other => errors.push(FieldError::unsupported("spec.scope", other, &["Cluster", "Namespaced"])),
    }
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        errors.push(FieldError::required_because(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
        return;
    }
    let storage = versions.iter().filter(|v| v["storage"].as_bool() == Some(true)).count();
    if storage != 1 {
        errors.push(FieldError::invalid(
            "spec.versions",
            &json!(versions.iter().map(|v| text(v, "/name")).collect::<Vec<_>>()),
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if text(v, "/name").is_empty() {
            errors.push(FieldError::required(format!("spec.versions[{i}].name")));
        }
        if v.pointer("/schema/openAPIV3Schema").is_none() {
            errors.push(FieldError::required_because(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            ));
        }
    }
}

/// `crd` with the status its controller would set: names accepted, established, and the
/// storage version recorded. Conditions keep their transition time while unchanged.
pub fn with_status(crd: &mut Value, old: Option<&Value>) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({}));
    let mut accepted = names.clone();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(text(&names, "/kind").to_lowercase());
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{}List", text(&names, "/kind")));
    }
    let since = |kind: &str| {
        old.and_then(|o| o.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
            .map(|c| c["lastTransitionTime"].clone())
            .unwrap_or_else(|| json!(now_rfc3339()))
    };
    let mut stored: Vec<String> = old.map(|o| strings(o, "/status/storedVersions")).unwrap_or_default();
    if let Some(v) = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v["storage"].as_bool() == Some(true)))
        .map(|v| text(v, "/name").to_string())
        && !stored.contains(&v)
    {
        stored.push(v);
    }
    crd["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": since("Established")},
        ],
        "storedVersions": stored,
    });
}

/// A JSON path of the simple form CRDs use (`.spec.replicas`) as a JSON pointer.
pub fn pointer_of(json_path: &str) -> String {
    json_path.trim_start_matches('.').split('.').fold(String::new(), |mut p, seg| {
        p.push('/');
        p.push_str(seg);
        p
    })
}

/// Evaluates an `additionalPrinterColumns` JSONPath on an object: dotted fields, `[N]`
/// and `[?(@.field=="value")]` filters (enough for the printer columns operators ship,
/// e.g. `.status.conditions[?(@.type=="Ready")].status`). `None` when nothing matches.
pub fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}').trim_start_matches('.');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = &after[..end];
            rest = after[end + 1..].trim_start_matches('.');
            let items = cur.as_array()?;
            cur = if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, wanted) = filter.split_once("==")?;
                let wanted = wanted.trim().trim_matches(|c| c == '"' || c == '\'');
                items.iter().find(|item| {
                    json_path(item, field.trim()).is_some_and(|v| match v {
                        Value::String(s) => s == wanted,
                        other => serde_json::from_str::<Value>(wanted).ok().as_ref() == Some(other),
                    })
                })?
            } else {
                items.get(inner.trim().parse::<usize>().ok()?)?
            };
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        cur = cur.get(&rest[..end])?;
        rest = rest[end..].trim_start_matches('.');
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}},
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}}},
                    {"name": "v0", "served": false, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}
                ]
            }
        })
    }

    #[test]
    fn served_versions_become_types_preferred_first_and_are_interned() {
        let types = types_of(&crd());
        let versions: Vec<&str> = types.iter().map(|t| t.version).collect();
        assert_eq!(versions, vec!["v1", "v1beta1"]);
        assert_eq!(types[0].subresources, &["scale", "status"]);
        assert_eq!(types[0].short_names, &["wd"]);
        assert_eq!(types[0].singular, "widget");
        assert!(types[1].subresources.is_empty());
        assert!(std::ptr::eq(types[0], types_of(&crd())[0]));
    }

    #[test]
    fn version_priority_is_kubernetes_order() {
        let mut vs = vec!["v1alpha1", "foo", "v2", "v1beta2", "v1", "v1beta1", "v10"];
        vs.sort_by(|a, b| version_order(a, b));
        assert_eq!(vs, vec!["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn invalid_crds_name_every_problem() {
        let mut errors = Vec::new();
        validate(&crd(), &mut errors);
        assert!(errors.is_empty());
        let mut bad = crd();
        bad["metadata"]["name"] = json!("widgets.other.com");
        bad["spec"]["scope"] = json!("Global");
        bad["spec"]["versions"][0]["storage"] = json!(true);
        validate(&bad, &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["metadata.name", "spec.scope", "spec.versions"]);
    }

    #[test]
    fn status_accepts_names_and_establishes() {
        let mut c = crd();
        with_status(&mut c, None);
        assert_eq!(c["status"]["acceptedNames"]["kind"], "Widget");
        assert_eq!(c["status"]["acceptedNames"]["listKind"], "WidgetList");
        assert_eq!(c["status"]["conditions"][1]["type"], "Established");
        assert_eq!(c["status"]["storedVersions"], json!(["v1"]));
    }

    #[test]
    fn printer_column_paths() {
        let obj = json!({"spec": {"instances": 3}, "status": {"conditions": [
            {"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(json_path(&obj, ".spec.instances"), Some(&json!(3)));
        assert_eq!(json_path(&obj, ".status.conditions[?(@.type==\"Ready\")].status"), Some(&json!("True")));
        assert_eq!(json_path(&obj, ".status.conditions[0].type"), Some(&json!("Other")));
        assert_eq!(json_path(&obj, ".status.missing"), None);
        assert_eq!(pointer_of(".spec.replicas"), "/spec/replicas");
    }
}
