//! Revision history of a Deployment (its ReplicaSets), newest first, and the
//! environment of its pod template with Secret-backed values named, never shown.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{EnvVarSource, PodSpec};
use serde::Deserialize;

use super::rollout::revision_annotation;
use super::sanitize::{Sgr, cut_for_display, sanitize};
use super::service::{EnvValue, EnvVar, Revision};
use super::services::controller_uid;

pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";

/// Literal values can be long (certificates, JSON); rows keep the start.
const MAX_LITERAL_CHARS: usize = 200;

/// What the model reads of a ReplicaSet: whose it is, its revision and what it ran. A
/// Deployment keeps ten of them by default and a whole ReplicaSet carries its pod
/// template, so the watch keeps this instead (an undo reads the template from the API).
/// Deserialises from a ReplicaSet's JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "ReplicaSet")]
pub struct ReplicaSetFacts {
    pub name: String,
    pub uid: Option<String>,
    /// The uid of the controlling Deployment.
    pub controller_uid: Option<String>,
    /// Its `pod-template-hash` label: the pods of this revision carry the same.
    pub pod_template_hash: Option<String>,
    pub revision: Option<i64>,
    /// Unsanitised.
    pub change_cause: Option<String>,
    pub created: Option<Timestamp>,
    pub replicas: i32,
    /// The template's container images, unsanitised.
    pub images: Vec<String>,
}

impl From<ReplicaSet> for ReplicaSetFacts {
    fn from(rs: ReplicaSet) -> Self {
        let meta = rs.metadata;
        let annotations = meta.annotations.as_ref();
        let template = rs.spec.template.and_then(|t| t.spec);
        ReplicaSetFacts {
            revision: revision_annotation(annotations),
            change_cause: annotations.and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION)).cloned(),
            pod_template_hash: meta.labels.as_ref().and_then(|l| l.get(POD_TEMPLATE_HASH)).cloned(),
            controller_uid: controller_uid(&meta).map(str::to_string),
            name: meta.name.unwrap_or_default(),
            uid: meta.uid,
            created: meta.creation_timestamp.map(|t| t.0),
            replicas: rs.status.map_or(0, |s| s.replicas),
            images: template.map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect()).unwrap_or_default(),
        }
    }
}

/// The label a Deployment's controller puts on a ReplicaSet and its pods.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// One row per ReplicaSet with a revision; `current` marks the one with `current_revision`.
pub fn revisions(replicasets: &[&ReplicaSetFacts], current_revision: Option<i64>) -> Vec<Revision> {
    let mut rows: Vec<Revision> = replicasets
        .iter()
        .filter_map(|rs| {
            let revision = rs.revision?;
            Some(Revision {
                revision,
                images: rs.images.iter().map(|i| safe(i)).collect(),
                change_cause: rs.change_cause.as_deref().map(safe),
                created: rs.created,
                replicas: rs.replicas,
                current: Some(revision) == current_revision,
            })
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.revision));
    rows
}

/// Environment variables of every app container. Values from Secrets are named by
/// secret and key only; an `envFrom` source is one row named `<prefix>*` with key `*`.
pub fn env_vars(spec: Option<&PodSpec>) -> Vec<EnvVar> {
    let Some(spec) = spec else { return Vec::new() };
    let mut rows = Vec::new();
    for container in &spec.containers {
        let container_name = safe(&container.name);
        for from in container.env_from.iter().flatten() {
            let prefix = safe(from.prefix.as_deref().unwrap_or(""));
            let value = if let Some(secret) = &from.secret_ref {
                EnvValue::FromSecret { secret: safe(&secret.name), key: "*".into() }
            } else if let Some(cm) = &from.config_map_ref {
                EnvValue::FromConfigMap { config_map: safe(&cm.name), key: "*".into() }
            } else {
                continue;
            };
            rows.push(EnvVar { container: container_name.clone(), name: format!("{prefix}*"), value });
        }
        for var in container.env.iter().flatten() {
            let value = match &var.value_from {
                Some(source) => from_source(source),
                None => {
                    let literal = safe(var.value.as_deref().unwrap_or(""));
                    EnvValue::Literal(cut_for_display(&literal, MAX_LITERAL_CHARS).into_owned())
                }
            };
            rows.push(EnvVar { container: container_name.clone(), name: safe(&var.name), value });
        }
    }
    rows
}

fn from_source(source: &EnvVarSource) -> EnvValue {
    if let Some(s) = &source.secret_key_ref {
        EnvValue::FromSecret { secret: safe(&s.name), key: safe(&s.key) }
    } else if let Some(c) = &source.config_map_key_ref {
        EnvValue::FromConfigMap { config_map: safe(&c.name), key: safe(&c.key) }
    } else if let Some(f) = &source.field_ref {
        EnvValue::FromField(safe(&f.field_path))
    } else if let Some(r) = &source.resource_field_ref {
        EnvValue::FromResource(safe(&r.resource))
    } else {
        EnvValue::FromField(String::new())
    }
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, revision: &str, image: &str, replicas: i32, cause: Option<&str>) -> ReplicaSetFacts {
        let mut annotations = json!({"deployment.kubernetes.io/revision": revision});
        if let Some(cause) = cause {
            annotations[CHANGE_CAUSE_ANNOTATION] = json!(cause);
        }
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations, "creationTimestamp": "2025-06-01T10:00:00Z"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
            "status": {"replicas": replicas},
        }))
        .unwrap()
    }

    #[test]
    fn history_newest_first_with_current_marked() {
        let old = rs("web-a", "3", "web:4f1e2d7", 3, Some("kubectl set image web=4f1e2d7"));
        let new = rs("web-b", "4", "web:9c3a1f0", 1, None);
        let rows = revisions(&[&old, &new], Some(4));
        assert_eq!(rows.iter().map(|r| r.revision).collect::<Vec<_>>(), [4, 3]);
        assert!(rows[0].current && !rows[1].current);
        assert_eq!(rows[1].images, ["web:4f1e2d7"]);
        assert_eq!(rows[1].change_cause.as_deref(), Some("kubectl set image web=4f1e2d7"));
        assert_eq!(rows[1].replicas, 3);
    }

    #[test]
    fn secret_values_are_never_carried() {
        let spec: PodSpec = serde_json::from_value(json!({"containers": [{
            "name": "api",
            "envFrom": [{"configMapRef": {"name": "honeydue-config"}}, {"secretRef": {"name": "bulk"}, "prefix": "APP_"}],
            "env": [
                {"name": "PORT", "value": "3000"},
                {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "honeydue-secrets", "key": "POSTGRES_PASSWORD"}}},
                {"name": "API_URL", "valueFrom": {"configMapKeyRef": {"name": "honeydue-config", "key": "API_URL"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
            ],
        }]}))
        .unwrap();
        let rows = env_vars(Some(&spec));
        let by_name = |n: &str| rows.iter().find(|r| r.name == n).unwrap().value.clone();
        assert_eq!(by_name("PORT"), EnvValue::Literal("3000".into()));
        assert_eq!(
            by_name("POSTGRES_PASSWORD"),
            EnvValue::FromSecret { secret: "honeydue-secrets".into(), key: "POSTGRES_PASSWORD".into() }
        );
        assert_eq!(by_name("APP_*"), EnvValue::FromSecret { secret: "bulk".into(), key: "*".into() });
        assert_eq!(by_name("*"), EnvValue::FromConfigMap { config_map: "honeydue-config".into(), key: "*".into() });
        assert_eq!(by_name("POD_IP"), EnvValue::FromField("status.podIP".into()));
        assert_eq!(by_name("MEM"), EnvValue::FromResource("limits.memory".into()));
        assert!(rows.iter().all(|r| r.container == "api"));
    }
}
