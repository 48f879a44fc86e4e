//! Basic validation with the API server's 422 wording, for objects that are obviously
//! wrong (bad names, negative replicas, a selector that does not select the template,
//! pods without containers). Not a schema check: unknown fields are accepted.

use serde_json::{Value, json};

use crate::sim::error::ApiError;
use crate::sim::resources::ResourceType;

pub use crate::sim::error::FieldError;

/// `Kind.group "name" is invalid: field: detail` with every cause listed.
pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> ApiError {
    let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
    let text: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.detail)).collect();
    let message = if text.len() == 1 {
        format!("{qualified} \"{name}\" is invalid: {}", text[0])
    } else {
        format!("{qualified} \"{name}\" is invalid: [{}]", text.join(", "))
    };
    let causes: Vec<Value> =
        errors.iter().map(|e| json!({"reason": e.reason, "message": e.detail, "field": e.field})).collect();
    ApiError {
        code: 422,
        reason: "Invalid",
        message,
        details: Some(json!({"name": name, "group": group, "kind": kind, "causes": causes})),
        retry_after: None,
    }
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks an object about to be stored; `Ok` or a 422 naming every problem found.
pub fn validate(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() && !is_dns1123_subdomain(name) {
        errors.push(FieldError::invalid("metadata.name", &json!(name), DNS1123_SUBDOMAIN));
    }
    if rt.custom.is_some() {
        // Custom resources: names only (the CRD's schema is not enforced here).
        return if errors.is_empty() { Ok(()) } else { Err(invalid(rt.kind, rt.group, name, &errors)) };
    }
    match rt.plural {
        "customresourcedefinitions" => crate::sim::crd::validate(obj, &mut errors),
        "deployments" | "statefulsets" | "replicasets" | "daemonsets" => workload(rt.plural, obj, &mut errors),
        "pods" => containers("spec", obj.get("spec"), &mut errors),
        "poddisruptionbudgets"
            if obj.pointer("/spec/minAvailable").is_some() && obj.pointer("/spec/maxUnavailable").is_some() =>
        {
            errors.push(FieldError::invalid(
                "spec",
                &json!("minAvailable and maxUnavailable"),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        "horizontalpodautoscalers" => {
            let max = obj.pointer("/spec/maxReplicas").and_then(Value::as_i64).unwrap_or(0);
            let min = obj.pointer("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1);
            if max < 1 {
                errors.push(FieldError::invalid("spec.maxReplicas", &json!(max), "must be greater than or equal to 1"));
            } else if max < min {
                errors.push(FieldError::invalid(
                    "spec.maxReplicas",
                    &json!(max),
                    "must be greater than or equal to `minReplicas`",
                ));
            }
        }
        _ => {}
    }
    if errors.is_empty() { Ok(()) } else { Err(invalid(rt.kind, rt.group, name, &errors)) }
}

pub fn replicas_error(replicas: &Value) -> Option<FieldError> {
    match replicas.as_i64() {
        Some(n) if n >= 0 => None,
        Some(_) => Some(FieldError::invalid("spec.replicas", replicas, "must be greater than or equal to 0")),
        None => Some(FieldError::invalid("spec.replicas", replicas, "must be an integer")),
    }
}

fn workload(plural: &str, obj: &Value, errors: &mut Vec<FieldError>) {
    if let Some(replicas) = obj.pointer("/spec/replicas")
        && let Some(e) = replicas_error(replicas)
    {
        errors.push(e);
    }
    let Some(selector) = obj.pointer("/spec/selector").filter(|s| s.is_object()) else {
        errors.push(FieldError::required("spec.selector"));
        return;
    };
    let template_labels = obj.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
    let selects = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|wanted| wanted.iter().all(|(k, v)| template_labels.and_then(|l| l.get(k)) == Some(v)));
    if !selects {
        let shown = json!(template_labels.cloned().unwrap_or_default());
        errors.push(FieldError::invalid(
            "spec.template.metadata.labels",
            &shown,
            "`selector` does not match template `labels`",
        ));
    }
    if plural != "daemonsets" || obj.pointer("/spec/template").is_some() {
        containers("spec.template.spec", obj.pointer("/spec/template/spec"), errors);
    }
}

fn containers(prefix: &str, spec: Option<&Value>, errors: &mut Vec<FieldError>) {
    let list = spec.and_then(|s| s.get("containers")).and_then(Value::as_array);
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        errors.push(FieldError::required(format!("{prefix}.containers")));
        return;
    };
    for (i, c) in list.iter().enumerate() {
        if c.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            errors.push(FieldError::required(format!("{prefix}.containers[{i}].name")));
        }
        if c.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            errors.push(FieldError::required(format!("{prefix}.containers[{i}].image")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    fn deployment(replicas: i64) -> Value {
        json!({"metadata": {"name": "api"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "app", "image": "api:1"}]}}}})
    }

    #[test]
    fn negative_replicas_are_invalid_with_a_field_cause() {
        let err = validate(resource("deployments").unwrap(), &deployment(-1)).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "Deployment.apps \"api\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(err.details.unwrap()["causes"][0]["field"], "spec.replicas");
        assert!(validate(resource("deployments").unwrap(), &deployment(3)).is_ok());
    }

    #[test]
    fn selector_must_match_template_and_containers_need_images() {
        let mut d = deployment(1);
        d["spec"]["template"]["metadata"]["labels"]["app"] = json!("other");
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
        let err = validate(resource("deployments").unwrap(), &d).unwrap_err();
        assert!(err.message.contains("`selector` does not match template `labels`"), "{}", err.message);
        assert!(err.message.contains("spec.template.spec.containers[0].image: Required value"), "{}", err.message);
    }

    #[test]
    fn bad_names_and_empty_pods() {
        let err = validate(resource("configmaps").unwrap(), &json!({"metadata": {"name": "Bad_Name"}})).unwrap_err();
        assert!(
            err.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"")
        );
        let err = validate(resource("pods").unwrap(), &json!({"metadata": {"name": "p"}, "spec": {}})).unwrap_err();
        assert_eq!(err.message, "Pod \"p\" is invalid: spec.containers: Required value");
    }
}
