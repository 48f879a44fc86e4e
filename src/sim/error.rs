//! API errors as a real API server reports them: a `kind: Status` object with the
//! HTTP code, a machine-readable `reason` and a human message kubectl prints verbatim.

use serde_json::{Value, json};

use super::resources::ResourceType;

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds, sent as `Retry-After` (429 and some 5xx).
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.code, self.reason)
    }
}

impl std::error::Error for ApiError {}

fn group_resource(rt: &ResourceType) -> String {
    if rt.group.is_empty() { rt.plural.to_string() } else { format!("{}.{}", rt.plural, rt.group) }
}

fn details(rt: &ResourceType, name: &str) -> Value {
    json!({"name": name, "group": rt.group, "kind": rt.plural})
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None, retry_after: None }
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            details: Some(details(rt, name)),
            ..Self::new(404, "NotFound", format!("{} \"{name}\" not found", group_resource(rt)))
        }
    }

    /// NotFound for a resource named only by its plural (e.g. a missing namespace).
    pub fn not_found_kind(plural: &str, group: &str, name: &str) -> Self {
        let gr = if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") };
        ApiError {
            details: Some(json!({"name": name, "kind": plural})),
            ..Self::new(404, "NotFound", format!("{gr} \"{name}\" not found"))
        }
    }

    pub fn path_not_found(path: &str) -> Self {
        Self::new(404, "NotFound", format!("the server could not find the requested resource ({path})"))
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            details: Some(details(rt, name)),
            ..Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", group_resource(rt)))
        }
    }

    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            details: Some(details(rt, name)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    group_resource(rt)
                ),
            )
        }
    }

    /// 422 with one field cause, worded like the API server's validation errors.
    pub fn invalid(rt: &ResourceType, name: &str, field: &str, problem: &str) -> Self {
        ApiError {
            details: Some(json!({
                "name": name, "group": rt.group, "kind": rt.kind,
                "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: {problem}"), "field": field}]
            })),
            ..Self::new(422, "Invalid", format!("{} \"{name}\" is invalid: {field}: Invalid value: {problem}", rt.kind))
        }
    }

    pub fn forbidden(user: &str, verb: &str, rt: &ResourceType, namespace: Option<&str>) -> Self {
        let scope = match namespace {
            Some(ns) if !ns.is_empty() => format!(" in the namespace \"{ns}\""),
            _ => " at the cluster scope".to_string(),
        };
        ApiError {
            details: Some(json!({"group": rt.group, "kind": rt.plural})),
            ..Self::new(
                403,
                "Forbidden",
                format!(
                    "{} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\"{scope}",
                    group_resource(rt),
                    rt.plural,
                    rt.group
                ),
            )
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn gone(rv: u64) -> Self {
        Self::new(410, "Expired", format!("too old resource version: {rv}"))
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            details: Some(json!({"retryAfterSeconds": retry_after})),
            ..Self::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            )
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// The `kind: Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status
    }
}

/// One field problem, as in `field.Error`.
pub struct FieldError {
    pub field: String,
    /// `FieldValueInvalid`, `FieldValueRequired`, …
    pub reason: &'static str,
    pub detail: String,
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, value: &Value, why: &str) -> Self {
        let shown = match value {
            Value::String(s) => format!("\"{s}\""),
            other => other.to_string(),
        };
        FieldError {
            field: field.into(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {shown}: {why}"),
        }
    }

    pub fn required(field: impl Into<String>) -> Self {
        FieldError { field: field.into(), reason: "FieldValueRequired", detail: "Required value".into() }
    }

    pub fn required_because(field: impl Into<String>, why: &str) -> Self {
        FieldError { field: field.into(), reason: "FieldValueRequired", detail: format!("Required value: {why}") }
    }

    pub fn unsupported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        FieldError {
            field: field.into(),
            reason: "FieldValueNotSupported",
            detail: format!("Unsupported value: \"{value}\": supported values: {}", list.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    #[test]
    fn status_object_carries_code_and_reason() {
        let s = ApiError::not_found(resource("deployments").unwrap(), "api").to_status();
        assert_eq!(s["kind"], "Status");
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["message"], "deployments.apps \"api\" not found");
    }

    #[test]
    fn forbidden_names_user_verb_and_scope() {
        let e = ApiError::forbidden("viewer", "list", resource("poddisruptionbudgets").unwrap(), Some("prod"));
        assert!(e.message.contains("User \"viewer\" cannot list resource \"poddisruptionbudgets\" in API group \"policy\" in the namespace \"prod\""));
    }
}
