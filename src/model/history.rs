//! Revision history of a workload, newest first — a Deployment's ReplicaSets or a
//! StatefulSet's ControllerRevisions — with what an undo to each would change (images, env
//! var names, resources), and the environment of the pod template with Secret-backed
//! values named, never shown.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, EnvVarSource, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Deserialize;

use super::discovery::address::without_credentials;
use super::owners::controller_uid;
use super::pods::PodFacts;
use super::rollout::revision_annotation;
use super::sanitize::{Sgr, cut_for_display, sanitize};
use super::service::{ContainerImage, EnvValue, EnvVar, Revision, RevisionContainer};

pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// The pod label naming the ControllerRevision a StatefulSet pod runs.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

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
    /// What the undo diff compares of the template's containers, unsanitised.
    pub containers: Vec<RevisionContainer>,
}

impl From<ReplicaSet> for ReplicaSetFacts {
    fn from(rs: ReplicaSet) -> Self {
        let meta = rs.metadata;
        let annotations = meta.annotations.as_ref();
        ReplicaSetFacts {
            revision: revision_annotation(annotations),
            change_cause: annotations.and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION)).cloned(),
            pod_template_hash: meta.labels.as_ref().and_then(|l| l.get(POD_TEMPLATE_HASH)).cloned(),
            controller_uid: controller_uid(&meta).map(str::to_string),
            name: meta.name.unwrap_or_default(),
            uid: meta.uid,
            created: meta.creation_timestamp.map(|t| t.0),
            replicas: rs.status.map_or(0, |s| s.replicas),
            containers: revision_containers(rs.spec.template.as_ref()),
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
            let current = Some(revision) == current_revision;
            Some(revision_row(revision, rs.change_cause.as_deref(), rs.created, &rs.containers, rs.replicas, current))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.revision));
    rows
}

/// The app containers of a pod template and their images (sanitised: object fields are
/// untrusted).
pub fn container_images(spec: Option<&PodSpec>) -> Vec<ContainerImage> {
    let containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    containers
        .iter()
        .map(|c| ContainerImage { container: safe(&c.name), image: safe(c.image.as_deref().unwrap_or("")) })
        .collect()
}

/// One row per ControllerRevision of a StatefulSet: its number is the object's `revision`
/// field and its template the data (the template as a patch, `{"spec":{"template":…}}`).
/// `current` marks the update revision (what the template says now), else the current one.
pub fn statefulset_revisions(
    revisions: &[&ControllerRevision],
    pods: &[&PodFacts],
    update_revision: Option<&str>,
    current_revision: Option<&str>,
) -> Vec<Revision> {
    let current = update_revision.or(current_revision);
    let runs =
        |pod: &&&PodFacts, name: &str| pod.labels.get(CONTROLLER_REVISION_HASH).map(String::as_str) == Some(name);
    let mut rows: Vec<Revision> = revisions
        .iter()
        .filter_map(|cr| {
            let name = cr.metadata.name.as_deref().unwrap_or("");
            let template: Option<PodTemplateSpec> =
                cr.data.0.pointer("/spec/template").and_then(|t| serde_json::from_value(t.clone()).ok());
            let running = pods.iter().filter(|p| runs(p, name)).count() as i32;
            let meta = &cr.metadata;
            let change_cause = meta.annotations.as_ref().and_then(|a| a.get(CHANGE_CAUSE_ANNOTATION));
            Some(revision_row(
                cr.revision?,
                change_cause.map(String::as_str),
                meta.creation_timestamp.as_ref().map(|t| t.0),
                &revision_containers(template.as_ref()),
                running,
                Some(name) == current,
            ))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.revision));
    rows
}

/// A revision row; what comes from the objects (cause, containers) is sanitised here.
fn revision_row(
    revision: i64,
    change_cause: Option<&str>,
    created: Option<Timestamp>,
    containers: &[RevisionContainer],
    replicas: i32,
    current: bool,
) -> Revision {
    let quantities = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| (safe(k), safe(v))).collect();
    let containers = containers
        .iter()
        .map(|c| RevisionContainer {
            name: safe(&c.name),
            image: safe(&c.image),
            env: c.env.iter().map(|e| safe(e)).collect(),
            requests: quantities(&c.requests),
            limits: quantities(&c.limits),
        })
        .collect();
    Revision { revision, change_cause: change_cause.map(safe), created, replicas, current, containers }
}

/// What a revision row and the undo diff compare of a pod template, container by
/// container: name, image, the names of its env vars (never a value: some come from
/// Secrets), requests and limits. Unsanitised, as the object has them. Shared by
/// ReplicaSets and ControllerRevisions.
pub fn revision_containers(template: Option<&PodTemplateSpec>) -> Vec<RevisionContainer> {
    let containers = template.and_then(|t| t.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or_default();
    containers.iter().map(revision_container).collect()
}

fn revision_container(c: &Container) -> RevisionContainer {
    let quantities = |m: Option<&BTreeMap<String, Quantity>>| {
        m.into_iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect::<BTreeMap<_, _>>()
    };
    let resources = c.resources.as_ref();
    RevisionContainer {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        env: c.env.iter().flatten().map(|e| e.name.clone()).collect(),
        requests: quantities(resources.and_then(|r| r.requests.as_ref())),
        limits: quantities(resources.and_then(|r| r.limits.as_ref())),
    }
}

/// One difference an undo would make to the pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateChange {
    Image {
        container: String,
        from: String,
        to: String,
    },
    /// The target revision has a container the current one does not, or lacks one.
    Container {
        container: String,
        added: bool,
    },
    /// Env var names the undo adds and removes (names only: values are never carried).
    Env {
        container: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// `requests.cpu 250m → 500m`; `None`: not set.
    Resource {
        container: String,
        field: String,
        from: Option<String>,
        to: Option<String>,
    },
}

/// What changes when the template goes from `current` to `target`, container by container
/// (matched by name, in the target's order, then the containers the target drops).
pub fn template_changes(current: &Revision, target: &Revision) -> Vec<TemplateChange> {
    let mut out = Vec::new();
    for to in &target.containers {
        let Some(from) = current.containers.iter().find(|c| c.name == to.name) else {
            out.push(TemplateChange::Container { container: to.name.clone(), added: true });
            continue;
        };
        if from.image != to.image {
            out.push(TemplateChange::Image {
                container: to.name.clone(),
                from: from.image.clone(),
                to: to.image.clone(),
            });
        }
        out.extend(env_change(from, to));
        out.extend(resource_changes(&to.name, "requests", &from.requests, &to.requests));
        out.extend(resource_changes(&to.name, "limits", &from.limits, &to.limits));
    }
    for gone in current.containers.iter().filter(|c| !target.containers.iter().any(|t| t.name == c.name)) {
        out.push(TemplateChange::Container { container: gone.name.clone(), added: false });
    }
    out
}

fn env_change(from: &RevisionContainer, to: &RevisionContainer) -> Option<TemplateChange> {
    let (before, after): (BTreeSet<&String>, BTreeSet<&String>) = (from.env.iter().collect(), to.env.iter().collect());
    let added: Vec<String> = after.difference(&before).map(|n| n.to_string()).collect();
    let removed: Vec<String> = before.difference(&after).map(|n| n.to_string()).collect();
    (!added.is_empty() || !removed.is_empty()).then(|| TemplateChange::Env {
        container: to.name.clone(),
        added,
        removed,
    })
}

fn resource_changes(
    container: &str,
    kind: &str,
    from: &BTreeMap<String, String>,
    to: &BTreeMap<String, String>,
) -> Vec<TemplateChange> {
    let names: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    names
        .into_iter()
        .filter(|n| from.get(*n) != to.get(*n))
        .map(|n| TemplateChange::Resource {
            container: container.to_string(),
            field: format!("{kind}.{n}"),
            from: from.get(n).cloned(),
            to: to.get(n).cloned(),
        })
        .collect()
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
                    // A literal URL or DSN may carry a password: it never reaches the screen.
                    let literal = without_credentials(&safe(var.value.as_deref().unwrap_or("")));
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
        assert_eq!(rows[1].images(), ["web:4f1e2d7"]);
        assert_eq!(rows[1].change_cause.as_deref(), Some("kubectl set image web=4f1e2d7"));
        assert_eq!(rows[1].replicas, 3);
    }

    /// A ControllerRevision as the StatefulSet controller writes it: the template as a
    /// `$patch: replace` patch, the revision number, the StatefulSet's annotations.
    fn controller_revision(name: &str, revision: i64, container: serde_json::Value) -> ControllerRevision {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": "2025-06-01T10:00:00Z",
                         "labels": {"controller.kubernetes.io/hash": name.rsplit('-').next().unwrap()},
                         "annotations": {CHANGE_CAUSE_ANNOTATION: format!("revision {revision}")}},
            "data": {"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "pg"}},
                                            "spec": {"containers": [container]}}}},
            "revision": revision,
        }))
        .unwrap()
    }

    fn sts_pod(name: &str, revision: &str) -> PodFacts {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": {CONTROLLER_REVISION_HASH: revision}}}))
            .unwrap()
    }

    #[test]
    fn statefulset_revisions_come_from_controller_revisions() {
        let one = controller_revision("pg-5c8d", 1, json!({"name": "postgres", "image": "pgvector/pgvector:pg16"}));
        let two = controller_revision("pg-7f2a", 2, json!({"name": "postgres", "image": "pgvector/pgvector:pg17"}));
        let pods = [sts_pod("pg-0", "pg-7f2a"), sts_pod("pg-1", "pg-5c8d"), sts_pod("pg-2", "pg-7f2a")];
        let pods: Vec<&PodFacts> = pods.iter().collect();
        let rows = statefulset_revisions(&[&one, &two], &pods, Some("pg-7f2a"), Some("pg-5c8d"));
        assert_eq!(
            rows.iter().map(|r| (r.revision, r.current, r.replicas)).collect::<Vec<_>>(),
            [(2, true, 2), (1, false, 1)]
        );
        assert_eq!(rows[1].images(), ["pgvector/pgvector:pg16"]);
        assert_eq!(rows[0].change_cause.as_deref(), Some("revision 2"));
        assert!(rows[0].created.is_some());
        let settled = statefulset_revisions(&[&one, &two], &pods, None, Some("pg-5c8d"));
        assert!(settled[1].current, "without an update revision the current one is marked");
    }

    /// A ReplicaSet as the watch store keeps it.
    fn stored(containers: serde_json::Value) -> ReplicaSetFacts {
        serde_json::from_value(json!({
            "metadata": {"name": "api-1", "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"selector": {}, "template": {"spec": {"containers": containers}}},
        }))
        .unwrap()
    }

    fn revision(containers: serde_json::Value) -> Revision {
        revisions(&[&stored(containers)], None).remove(0)
    }

    #[test]
    fn the_undo_diff_names_images_env_names_and_resources() {
        let current = revision(json!([
            {"name": "api", "image": "api:1.2",
             "env": [{"name": "PORT", "value": "3000"},
                     {"name": "NEW_FLAG", "value": "on"},
                     {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
             "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
            {"name": "sidecar", "image": "envoy:1.30"},
        ]));
        let target = revision(json!([
            {"name": "api", "image": "api:1.1",
             "env": [{"name": "PORT", "value": "8080"},
                     {"name": "OLD_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "old"}}},
                     {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
             "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
        ]));
        let changes = template_changes(&current, &target);
        assert_eq!(
            changes,
            [
                TemplateChange::Image { container: "api".into(), from: "api:1.2".into(), to: "api:1.1".into() },
                TemplateChange::Env {
                    container: "api".into(),
                    added: vec!["OLD_TOKEN".into()],
                    removed: vec!["NEW_FLAG".into()]
                },
                TemplateChange::Resource {
                    container: "api".into(),
                    field: "requests.cpu".into(),
                    from: Some("500m".into()),
                    to: Some("250m".into())
                },
                TemplateChange::Resource {
                    container: "api".into(),
                    field: "limits.memory".into(),
                    from: Some("1Gi".into()),
                    to: None
                },
                TemplateChange::Container { container: "sidecar".into(), added: false },
            ]
        );
        let env = json!([{"name": "api", "image": "api:1.2", "env": [{"name": "PORT", "value": "3000"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]);
        let carried = format!("{current:?}{target:?}{:?}", stored(env));
        for value in ["3000", "8080", "password", "tokens", "on\""] {
            assert!(!carried.contains(value), "a revision carries env names only, never {value}: {carried}");
        }
        assert!(template_changes(&target, &target).is_empty());
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
