//! Small helpers over objects in wire form (serde_json values): fields, labels and
//! selectors, owner references, conditions, int-or-percent and quantities, as the
//! Kubernetes controllers read them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::sim::resources::ResourceType;

/// A namespaced object's address (namespace, name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjRef {
    pub namespace: String,
    pub name: String,
}

impl ObjRef {
    pub fn new(namespace: &str, name: &str) -> Self {
        ObjRef { namespace: namespace.to_string(), name: name.to_string() }
    }

    pub fn of(obj: &Value) -> Self {
        ObjRef::new(namespace(obj), name(obj))
    }
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

pub fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

pub fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub fn i64_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

pub fn bool_at(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    string_map(obj.pointer("/metadata/labels"))
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// A `metav1.LabelSelector`: matchLabels and matchExpressions (In, NotIn, Exists,
/// DoesNotExist). An empty selector matches everything; `null` matches nothing.
pub fn label_selector_matches(selector: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_null()) else { return false };
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in match_labels {
            if labels.get(k).map(String::as_str) != v.as_str() {
                return false;
            }
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for expr in exprs {
            let key = str_at(expr, "/key");
            let values: Vec<&str> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let value = labels.get(key).map(String::as_str);
            let ok = match str_at(expr, "/operator") {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// A Service's plain map selector; an empty one selects nothing (no endpoints managed).
pub fn map_selector_matches(selector: Option<&Value>, labels: &BTreeMap<String, String>) -> bool {
    match selector.and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m.iter().all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str()),
        _ => false,
    }
}

/// The owner reference marked `controller: true`, if any.
pub fn controller_ref(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/ownerReferences")?.as_array()?.iter().find(|r| bool_at(r, "/controller"))
}

pub fn controller_uid(obj: &Value) -> Option<&str> {
    controller_ref(obj).map(|r| str_at(r, "/uid"))
}

pub fn owned_by(obj: &Value, owner_uid: &str) -> bool {
    controller_uid(obj) == Some(owner_uid)
}

/// An owner reference to `owner`, as a controller sets it on what it creates.
pub fn owner_reference(owner: &Value, rt: &ResourceType) -> Value {
    json!({
        "apiVersion": rt.api_version(),
        "kind": rt.kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int, or a percentage of `total` rounded
/// up or down. `None` when absent or malformed.
pub fn scaled_int_or_percent(v: Option<&Value>, total: i64, round_up: bool) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let pct: i64 = s.strip_suffix('%')?.trim().parse().ok()?;
            let scaled = pct.checked_mul(total)?;
            Some(if round_up { scaled.saturating_add(99).div_euclid(100) } else { scaled.div_euclid(100) })
        }
        _ => None,
    }
}

/// A resource quantity in base units: CPU in cores (`250m` = 0.25), memory in bytes.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        _ => {
            let exp: i32 = suffix.strip_prefix(['e', 'E'])?.parse().ok()?;
            10f64.powi(exp)
        }
    };
    // A scenario's `1e999` or `infGi` is not a quantity: the kubelet would not admit it.
    Some(value * factor).filter(|q| q.is_finite() && q.abs() <= 9.3e18)
}

pub fn quantity_at(obj: &Value, pointer: &str) -> Option<f64> {
    match obj.pointer(pointer)? {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

pub fn now() -> String {
    crate::sim::store::now_rfc3339()
}

/// Finds a condition of `kind` in `conditions`.
pub fn condition<'a>(conditions: Option<&'a Value>, kind: &str) -> Option<&'a Value> {
    conditions?.as_array()?.iter().find(|c| str_at(c, "/type") == kind)
}

/// A condition as the Kubernetes helpers set it: `lastTransitionTime` changes only when
/// the status flips; with `update_time` (deployments), `lastUpdateTime` is refreshed
/// whenever reason or message change. Returns whether anything changed.
pub fn set_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    update_time: bool,
) -> bool {
    let now = now();
    let existing = conditions.iter().position(|c| str_at(c, "/type") == kind);
    if let Some(i) = existing {
        let c = &conditions[i];
        if str_at(c, "/status") == status && str_at(c, "/reason") == reason && str_at(c, "/message") == message {
            return false;
        }
        let transition = if str_at(c, "/status") == status {
            c.get("lastTransitionTime").cloned().unwrap_or(json!(now))
        } else {
            json!(now)
        };
        let mut next = json!({"type": kind, "status": status, "lastTransitionTime": transition, "reason": reason, "message": message});
        if update_time {
            next["lastUpdateTime"] = json!(now);
        }
        conditions[i] = next;
    } else {
        let mut next =
            json!({"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message});
        if update_time {
            next["lastUpdateTime"] = json!(now);
        }
        conditions.push(next);
    }
    true
}

pub fn conditions_of(obj: &Value) -> Vec<Value> {
    obj.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Whether a pod counts as Ready (its `Ready` condition is True).
pub fn pod_ready(pod: &Value) -> bool {
    condition(pod.pointer("/status/conditions"), "Ready").is_some_and(|c| str_at(c, "/status") == "True")
}

/// Deterministic JSON text with sorted keys, so hashes do not depend on key order.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// FNV-1a, 32 bits: the hash Kubernetes uses for pod-template-hash and revision names.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c9dc5;
    for b in data {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// `rand.SafeEncodeString(fmt.Sprint(hash))`: the decimal digits mapped onto
/// Kubernetes' vowel-free alphabet, which is why real hashes look like `7d9f8c6b5`.
pub fn safe_encode(hash: u32) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string().bytes().map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char).collect()
}

/// The hash of a pod template, as `pod-template-hash` / `controller-revision-hash`.
pub fn template_hash(template: &Value, collision_count: i64) -> String {
    let mut text = canonical_json(&strip_hash_label(template));
    if collision_count > 0 {
        text.push_str(&collision_count.to_string());
    }
    safe_encode(fnv32a(text.as_bytes()))
}

/// A template without the `pod-template-hash` label, for comparing templates as the
/// deployment controller does (`EqualIgnoreHash`).
pub fn strip_hash_label(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove("pod-template-hash");
        if labels.is_empty()
            && let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("labels");
        }
    }
    normalise_empty(&mut t);
    t
}

/// Drops empty maps and nulls so `{}` and a missing field compare equal, as Go's
/// semantic equality treats them.
fn normalise_empty(v: &mut Value) {
    if let Value::Object(m) = v {
        for child in m.values_mut() {
            normalise_empty(child);
        }
        m.retain(|_, c| !(c.is_null() || c.as_object().is_some_and(Map::is_empty)));
    } else if let Value::Array(a) = v {
        for child in a {
            normalise_empty(child);
        }
    }
}

pub fn templates_equal(a: &Value, b: &Value) -> bool {
    strip_hash_label(a) == strip_hash_label(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_kubernetes_does() {
        assert_eq!(scaled_int_or_percent(Some(&json!("25%")), 3, true), Some(1));
        assert_eq!(scaled_int_or_percent(Some(&json!("25%")), 3, false), Some(0));
        assert_eq!(scaled_int_or_percent(Some(&json!("50%")), 5, true), Some(3));
        assert_eq!(scaled_int_or_percent(Some(&json!(2)), 5, true), Some(2));
        assert_eq!(scaled_int_or_percent(None, 5, true), None);
    }

    #[test]
    fn quantities_parse_in_base_units() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("x"), None);
    }

    #[test]
    fn selectors_follow_label_selector_semantics() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "api".to_string())].into();
        assert!(label_selector_matches(Some(&json!({"matchLabels": {"app": "api"}})), &labels));
        assert!(!label_selector_matches(Some(&json!({"matchLabels": {"app": "web"}})), &labels));
        assert!(label_selector_matches(Some(&json!({})), &labels));
        assert!(!label_selector_matches(None, &labels));
        let expr = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]});
        assert!(label_selector_matches(Some(&expr), &labels));
        let expr = json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]});
        assert!(!label_selector_matches(Some(&expr), &labels));
    }

    #[test]
    fn template_hash_ignores_its_own_label_and_key_order() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "i:1", "name": "c"}]}, "metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}}});
        assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
        assert!(templates_equal(&a, &b));
        let hash = template_hash(&a, 0);
        assert!(hash.chars().all(|c| "bcdf456789".contains(c)), "{hash}");
    }

    #[test]
    fn conditions_keep_transition_time_when_status_is_unchanged() {
        let mut conds = vec![
            json!({"type": "Available", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z", "reason": "A", "message": ""}),
        ];
        assert!(set_condition(&mut conds, "Available", "True", "B", "", false));
        assert_eq!(conds[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert!(!set_condition(&mut conds, "Available", "True", "B", "", false));
        assert!(set_condition(&mut conds, "Available", "False", "B", "", false));
        assert_ne!(conds[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
    }
}
