//! Label and field selectors, parsed and matched as the API server does, so that a
//! filtered list or watch answers exactly what kubectl and kube-rs expect.

use serde_json::Value;

use crate::sim::error::ApiError;
use crate::sim::resources::ResourceType;

#[derive(Clone, Debug, PartialEq)]
pub enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl LabelRequirement {
    fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        match self {
            LabelRequirement::Equals(k, v) => get(k) == Some(v.as_str()),
            // As in Kubernetes, `!=` also matches objects without the label.
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelRequirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::DoesNotExist(k) => get(k).is_none(),
        }
    }
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector(pub Vec<LabelRequirement>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            reqs.push(parse_label_term(term).map_err(|why| {
                ApiError::bad_request(format!("unable to parse requirement: {why} (in label selector \"{text}\")"))
            })?);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// Splits on commas that are not inside `( … )` value sets.
fn split_terms(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn parse_label_term(term: &str) -> Result<LabelRequirement, String> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::DoesNotExist(valid_key(key.trim())?));
    }
    for (op, build) in [
        ("==", LabelRequirement::Equals as fn(String, String) -> LabelRequirement),
        ("!=", LabelRequirement::NotEquals),
        ("=", LabelRequirement::Equals),
    ] {
        if let Some((k, v)) = term.split_once(op) {
            return Ok(build(valid_key(k.trim())?, v.trim().to_string()));
        }
    }
    for (op, negate) in [(" notin ", true), (" in ", false)] {
        if let Some((k, rest)) = term.split_once(op) {
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("found '{rest}', expected: '(' … ')'"))?;
            let values = inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            let key = valid_key(k.trim())?;
            return Ok(if negate { LabelRequirement::NotIn(key, values) } else { LabelRequirement::In(key, values) });
        }
    }
    Ok(LabelRequirement::Exists(valid_key(term)?))
}

fn valid_key(key: &str) -> Result<String, String> {
    let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok { Ok(key.to_string()) } else { Err(format!("invalid label key \"{key}\"")) }
}

/// A parsed `fieldSelector`: `field=value` / `field!=value` terms, all of which must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector(pub Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses and checks every field against what the resource type supports, with the
    /// API server's error for an unsupported one.
    pub fn parse(text: &str, rt: &ResourceType) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{text}'; can't understand '{term}'")));
            };
            let field = field.trim();
            if field_path(rt, field).is_none() {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, rt: &ResourceType, obj: &Value) -> bool {
        self.0.iter().all(|(field, equal, want)| {
            let got = field_path(rt, field).map(|p| field_value(obj, p)).unwrap_or_default();
            (got == *want) == *equal
        })
    }

    /// The name a `metadata.name=X` term pins, if any (lets a list look up one object).
    pub fn pinned_name(&self) -> Option<&str> {
        self.0.iter().find(|(f, eq, _)| f == "metadata.name" && *eq).map(|(_, _, v)| v.as_str())
    }
}

/// The JSON pointer a supported field label reads, per resource type.
fn field_path(rt: &ResourceType, field: &str) -> Option<&'static str> {
    let common = match field {
        "metadata.name" => Some("/metadata/name"),
        "metadata.namespace" => Some("/metadata/namespace"),
        _ => None,
    };
    if rt.custom.is_some() {
        return common;
    }
    common.or(match (rt.plural, field) {
        ("pods", "spec.nodeName") => Some("/spec/nodeName"),
        ("pods", "spec.restartPolicy") => Some("/spec/restartPolicy"),
        ("pods", "spec.schedulerName") => Some("/spec/schedulerName"),
        ("pods", "spec.serviceAccountName") => Some("/spec/serviceAccountName"),
        ("pods", "spec.hostNetwork") => Some("/spec/hostNetwork"),
        ("pods", "status.phase") => Some("/status/phase"),
        ("pods", "status.podIP") => Some("/status/podIP"),
        ("pods", "status.nominatedNodeName") => Some("/status/nominatedNodeName"),
        ("events", "involvedObject.kind") => Some("/involvedObject/kind"),
        ("events", "involvedObject.namespace") => Some("/involvedObject/namespace"),
        ("events", "involvedObject.name") => Some("/involvedObject/name"),
        ("events", "involvedObject.uid") => Some("/involvedObject/uid"),
        ("events", "involvedObject.apiVersion") => Some("/involvedObject/apiVersion"),
        ("events", "involvedObject.resourceVersion") => Some("/involvedObject/resourceVersion"),
        ("events", "involvedObject.fieldPath") => Some("/involvedObject/fieldPath"),
        ("events", "reason") => Some("/reason"),
        ("events", "reportingComponent") => Some("/reportingComponent"),
        ("events", "source") => Some("/source/component"),
        ("events", "type") => Some("/type"),
        ("secrets", "type") => Some("/type"),
        ("nodes", "spec.unschedulable") => Some("/spec/unschedulable"),
        ("namespaces", "status.phase") => Some("/status/phase"),
        ("replicasets", "status.replicas") => Some("/status/replicas"),
        _ => None,
    })
}

/// A field's value as the selector compares it: strings as they are, booleans and
/// numbers in their text form, a missing field as "" (as for `spec.nodeName=` on an
/// unscheduled pod).
fn field_value(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None if pointer == "/spec/unschedulable" || pointer == "/spec/hostNetwork" => "false".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;
    use serde_json::json;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"name": "x", "labels": labels}})
    }

    #[test]
    fn equality_and_inequality() {
        let sel = LabelSelector::parse("app=api,tier!=db").unwrap();
        assert!(sel.matches(&labelled(json!({"app": "api", "tier": "web"}))));
        assert!(sel.matches(&labelled(json!({"app": "api"}))), "!= matches a missing label");
        assert!(!sel.matches(&labelled(json!({"app": "api", "tier": "db"}))));
        assert!(LabelSelector::parse("app==api").unwrap().matches(&labelled(json!({"app": "api"}))));
    }

    #[test]
    fn set_based_terms() {
        let sel = LabelSelector::parse("env in (prod, staging),track notin (canary),team,!legacy").unwrap();
        assert_eq!(sel.0.len(), 4);
        assert!(sel.matches(&labelled(json!({"env": "prod", "team": "a"}))));
        assert!(!sel.matches(&labelled(json!({"env": "dev", "team": "a"}))));
        assert!(!sel.matches(&labelled(json!({"env": "prod", "team": "a", "track": "canary"}))));
        assert!(!sel.matches(&labelled(json!({"env": "prod"}))), "team must exist");
        assert!(!sel.matches(&labelled(json!({"env": "prod", "team": "a", "legacy": "1"}))));
    }

    #[test]
    fn empty_selector_matches_everything_and_bad_one_is_rejected() {
        assert!(LabelSelector::parse("").unwrap().matches(&json!({"metadata": {}})));
        let err = LabelSelector::parse("app in prod").unwrap_err();
        assert_eq!(err.code, 400);
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn field_selectors_on_pods_and_events() {
        let pods = resource("pods").unwrap();
        let pod = json!({"metadata": {"name": "p", "namespace": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        assert!(FieldSelector::parse("spec.nodeName=n1,status.phase!=Pending", pods).unwrap().matches(pods, &pod));
        assert!(!FieldSelector::parse("metadata.namespace==b", pods).unwrap().matches(pods, &pod));
        let unscheduled = json!({"metadata": {"name": "q"}, "spec": {}});
        assert!(FieldSelector::parse("spec.nodeName=", pods).unwrap().matches(pods, &unscheduled));

        let events = resource("events").unwrap();
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p", "uid": "u1"}});
        let sel = FieldSelector::parse("involvedObject.name=p,involvedObject.kind=Pod,involvedObject.uid=u1", events);
        assert!(sel.unwrap().matches(events, &ev));
    }

    #[test]
    fn unsupported_field_is_the_api_servers_error() {
        let err = FieldSelector::parse("spec.replicas=3", resource("deployments").unwrap()).unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.replicas");
    }
}
