//! Changes to the cluster, executed from plans (see `actions/`). Every change can be sent
//! as a server-side dry-run first, carries the resourceVersion its preview was built on
//! (a concurrent change is a conflict, never an overwrite), and failures come back as one
//! line an operator understands.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v1::{Scale, ScaleSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::wait::{Condition, await_condition};

use super::connect::describe_kube_error;
use crate::model::service::{ServiceKey, WorkloadKind};

/// How a patch body is merged into the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchStrategy {
    /// Kubernetes strategic merge: lists of containers, env, volumes merge by name.
    Strategic,
    /// RFC 7386: maps merge, lists are replaced whole.
    Merge,
}

impl PatchStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchStrategy::Strategic => "strategic",
            PatchStrategy::Merge => "merge",
        }
    }
}

/// Why a change did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum MutationError {
    /// Someone changed the object since the preview: nothing was applied.
    Conflict(String),
    /// RBAC said no.
    Forbidden(String),
    /// The server refused the value.
    Invalid(String),
    Other(String),
}

impl std::fmt::Display for MutationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MutationError::Conflict(m) => write!(f, "conflict: {m}"),
            MutationError::Forbidden(m) => write!(f, "forbidden: {m}"),
            MutationError::Invalid(m) => write!(f, "invalid: {m}"),
            MutationError::Other(m) => f.write_str(m),
        }
    }
}

pub(crate) fn classify(e: kube::Error) -> MutationError {
    match &e {
        kube::Error::Api(s) if s.code == 409 => MutationError::Conflict(
            "the service changed since the preview was built; nothing was applied — look again and retry".into(),
        ),
        kube::Error::Api(s) if s.code == 403 => MutationError::Forbidden(s.message.clone()),
        kube::Error::Api(s) if s.code == 422 => MutationError::Invalid(s.message.clone()),
        _ => MutationError::Other(describe_kube_error(&e)),
    }
}

/// Sets the replicas through the `/scale` subresource. `resource_version` is the
/// precondition (the workload's, which the scale subresource shares).
pub async fn scale(
    client: &kube::Client,
    key: &ServiceKey,
    replicas: i32,
    resource_version: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    let body = Scale {
        metadata: ObjectMeta {
            name: Some(key.name.clone()),
            namespace: Some(key.namespace.clone()),
            resource_version: resource_version.map(str::to_string),
            ..Default::default()
        },
        spec: Some(ScaleSpec { replicas: Some(replicas) }),
        status: None,
    };
    let params = PostParams { dry_run, field_manager: Some("kubectl-cockpit".into()) };
    let result = match key.kind {
        WorkloadKind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), &key.namespace).replace_scale(&key.name, &params, &body).await
        }
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), &key.namespace)
                .replace_scale(&key.name, &params, &body)
                .await
        }
    };
    result.map(|_| ()).map_err(classify)
}

/// How a rollout being followed ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RolloutEnd {
    Complete,
    TimedOut,
}

/// Waits (on a watch, not by polling) until the workload has `replicas` updated, ready
/// and available pods for its latest generation, or `timeout` passes.
pub async fn await_rollout(
    client: &kube::Client,
    key: &ServiceKey,
    timeout: Duration,
) -> Result<RolloutEnd, MutationError> {
    let done = match key.kind {
        WorkloadKind::Deployment => {
            let api = Api::<Deployment>::namespaced(client.clone(), &key.namespace);
            tokio::time::timeout(timeout, await_condition(api, &key.name, deployment_rolled_out()))
                .await
                .map(|r| r.map(drop))
        }
        WorkloadKind::StatefulSet => {
            let api = Api::<StatefulSet>::namespaced(client.clone(), &key.namespace);
            tokio::time::timeout(timeout, await_condition(api, &key.name, statefulset_rolled_out()))
                .await
                .map(|r| r.map(drop))
        }
    };
    match done {
        Err(_) => Ok(RolloutEnd::TimedOut),
        Ok(Ok(_)) => Ok(RolloutEnd::Complete),
        Ok(Err(e)) => Err(MutationError::Other(e.to_string())),
    }
}

fn deployment_rolled_out() -> impl Condition<Deployment> {
    |d: Option<&Deployment>| {
        let Some(d) = d else { return false };
        let want = d.spec.replicas.unwrap_or(1);
        let Some(s) = d.status.as_ref() else { return false };
        s.observed_generation >= d.metadata.generation
            && s.updated_replicas.unwrap_or(0) == want
            && s.ready_replicas.unwrap_or(0) == want
            && s.available_replicas.unwrap_or(0) == want
            && s.replicas.unwrap_or(0) == want
    }
}

/// As `kubectl rollout status` judges a StatefulSet: every pod ready and on the update
/// revision (down to the partition, for a partitioned update).
fn statefulset_rolled_out() -> impl Condition<StatefulSet> {
    |s: Option<&StatefulSet>| {
        let Some(s) = s else { return false };
        let want = s.spec.replicas.unwrap_or(1);
        let Some(st) = s.status.as_ref() else { return false };
        let partition =
            s.spec.update_strategy.as_ref().and_then(|u| u.rolling_update.as_ref()).and_then(|r| r.partition);
        let updated = match partition {
            Some(p) if p > 0 => st.updated_replicas.unwrap_or(0) >= want - p,
            _ => st.update_revision.is_none() || st.update_revision == st.current_revision,
        };
        st.observed_generation >= s.metadata.generation
            && st.ready_replicas.unwrap_or(0) == want
            && st.replicas == want
            && updated
    }
}

/// A patch of the workload, with `resource_version` as its precondition.
async fn patch_workload(
    client: &kube::Client,
    key: &ServiceKey,
    patch: serde_json::Value,
    resource_version: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    send_patch(client, key, PatchStrategy::Merge, patch, resource_version, dry_run).await.map(drop)
}

/// Sends a patch and returns the workload's spec as the server made it (on a dry-run,
/// as it would make it).
async fn send_patch(
    client: &kube::Client,
    key: &ServiceKey,
    strategy: PatchStrategy,
    mut patch: serde_json::Value,
    resource_version: Option<&str>,
    dry_run: bool,
) -> Result<serde_json::Value, MutationError> {
    use kube::api::{Patch, PatchParams};
    if let Some(rv) = resource_version {
        patch["metadata"]["resourceVersion"] = serde_json::json!(rv);
    }
    let params = PatchParams { dry_run, field_manager: Some("kubectl-cockpit".into()), ..Default::default() };
    let patch = match strategy {
        PatchStrategy::Merge => Patch::Merge(&patch),
        PatchStrategy::Strategic => Patch::Strategic(&patch),
    };
    let spec = match key.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), &key.namespace)
            .patch(&key.name, &params, &patch)
            .await
            .map(|d| serde_json::to_value(d.spec)),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), &key.namespace)
            .patch(&key.name, &params, &patch)
            .await
            .map(|s| serde_json::to_value(s.spec)),
    };
    spec.map_err(classify)?.map_err(|e| MutationError::Other(e.to_string()))
}

/// The workload's spec as stored now.
async fn current_spec(client: &kube::Client, key: &ServiceKey) -> Result<serde_json::Value, MutationError> {
    let spec = match key.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), &key.namespace)
            .get(&key.name)
            .await
            .map(|d| serde_json::to_value(d.spec)),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), &key.namespace)
            .get(&key.name)
            .await
            .map(|s| serde_json::to_value(s.spec)),
    };
    spec.map_err(classify)?.map_err(|e| MutationError::Other(e.to_string()))
}

/// Whether a patch would change the workload: the server's dry-run answer compared with
/// what is stored. This is how a resumed runbook tells a patch it already sent (or a
/// restart stamped with the same time) from one it still has to send.
pub async fn patch_would_change(
    client: &kube::Client,
    key: &ServiceKey,
    strategy: PatchStrategy,
    patch: serde_json::Value,
) -> Result<bool, MutationError> {
    let before = current_spec(client, key).await?;
    let after = send_patch(client, key, strategy, patch, None, true).await?;
    Ok(before != after)
}

/// A strategic or merge patch of the workload as the operator wrote it.
pub async fn patch(
    client: &kube::Client,
    key: &ServiceKey,
    strategy: PatchStrategy,
    body: &serde_json::Value,
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    send_patch(client, key, strategy, body.clone(), rv, dry_run).await.map(drop)
}

/// `set image`: one container's image, merged by container name as kubectl does it.
pub fn set_image_patch(container: &str, image: &str) -> serde_json::Value {
    serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}})
}

/// `set env`: literal values set (a `valueFrom` the variable had is dropped, or the
/// variable would have both) or variables removed, in each named container.
pub fn set_env_patch(containers: &[String], vars: &[(String, Option<String>)]) -> serde_json::Value {
    let env: Vec<serde_json::Value> = vars
        .iter()
        .map(|(name, value)| match value {
            Some(v) => serde_json::json!({"name": name, "value": v, "valueFrom": null}),
            None => serde_json::json!({"name": name, "$patch": "delete"}),
        })
        .collect();
    let containers: Vec<serde_json::Value> =
        containers.iter().map(|c| serde_json::json!({"name": c, "env": env})).collect();
    serde_json::json!({"spec": {"template": {"spec": {"containers": containers}}}})
}

/// New bounds of an autoscaler, with its resourceVersion as the precondition.
pub async fn hpa_bounds(
    client: &kube::Client,
    namespace: &str,
    hpa: &str,
    (min, max): (i32, i32),
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use kube::api::{Patch, PatchParams};
    let mut body = serde_json::json!({"spec": {"minReplicas": min, "maxReplicas": max}});
    if let Some(rv) = rv {
        body["metadata"]["resourceVersion"] = serde_json::json!(rv);
    }
    let params = PatchParams { dry_run, field_manager: Some("kubectl-cockpit".into()), ..Default::default() };
    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), namespace)
        .patch(hpa, &params, &Patch::Merge(&body))
        .await
        .map(drop)
        .map_err(classify)
}

/// A merge patch of a GitOps owner (suspend or resume it).
pub async fn patch_gitops_owner(
    client: &kube::Client,
    kind: crate::model::gitops::OwnerKind,
    namespace: &str,
    name: &str,
    body: &serde_json::Value,
    dry_run: bool,
) -> Result<(), MutationError> {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
    let (group, version) = kind.api_version().split_once('/').unwrap_or(("", kind.api_version()));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind.as_str()));
    let params = PatchParams { dry_run, field_manager: Some("kubectl-cockpit".into()), ..Default::default() };
    Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource)
        .patch(name, &params, &Patch::Merge(body))
        .await
        .map(drop)
        .map_err(classify)
}

/// `rollout restart`: a new pod-template annotation, as kubectl sets it.
pub async fn restart(
    client: &kube::Client,
    key: &ServiceKey,
    restarted_at: &str,
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    patch_workload(client, key, restart_patch(restarted_at), rv, dry_run).await
}

/// The stamp `rollout restart` puts on the pod template; the same stamp twice is one restart.
pub fn restart_patch(restarted_at: &str) -> serde_json::Value {
    serde_json::json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": restarted_at}}}}})
}

/// `rollout pause` / `resume` (Deployments only).
pub async fn set_paused(
    client: &kube::Client,
    key: &ServiceKey,
    paused: bool,
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    patch_workload(client, key, serde_json::json!({"spec": {"paused": paused}}), rv, dry_run).await
}

/// `rollout undo`: the Deployment's template becomes the one recorded in the ReplicaSet of
/// `revision` (as kubectl does it), minus the hash label the controller adds; a
/// StatefulSet's, the one in its ControllerRevision.
pub async fn undo(
    client: &kube::Client,
    key: &ServiceKey,
    revision: i64,
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    if key.kind == WorkloadKind::StatefulSet {
        return undo_statefulset(client, key, revision, rv, dry_run).await;
    }
    let deployment =
        Api::<Deployment>::namespaced(client.clone(), &key.namespace).get(&key.name).await.map_err(classify)?;
    let uid = deployment.metadata.uid.unwrap_or_default();
    let replicasets = Api::<ReplicaSet>::namespaced(client.clone(), &key.namespace)
        .list(&Default::default())
        .await
        .map_err(classify)?;
    let wanted = revision.to_string();
    let rs = replicasets
        .items
        .into_iter()
        .filter(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.uid == uid))
        .find(|rs| {
            rs.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")) == Some(&wanted)
        })
        .ok_or_else(|| MutationError::Invalid(format!("no ReplicaSet of {} has revision {revision}", key.name)))?;
    let mut template = rs
        .spec
        .template
        .ok_or_else(|| MutationError::Invalid(format!("the ReplicaSet of revision {revision} has no pod template")))?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let mut template = serde_json::to_value(template).map_err(|e| MutationError::Other(e.to_string()))?;
    // A merge patch keeps map keys it does not mention: clear the ones the target revision
    // lacks (a later restartedAt, say), so the template becomes exactly the old one.
    let current = serde_json::to_value(deployment.spec.template).unwrap_or_default();
    for field in ["labels", "annotations"] {
        for (k, _) in current["metadata"][field].as_object().into_iter().flatten() {
            if template["metadata"][field].get(k).is_none() {
                template["metadata"][field][k] = serde_json::Value::Null;
            }
        }
    }
    patch_workload(client, key, serde_json::json!({"spec": {"template": template}}), rv, dry_run).await
}

/// A StatefulSet's undo, as kubectl does it: the ControllerRevision's data (the template as
/// a strategic merge patch with `$patch: replace`) is sent as the patch; the controller
/// then renumbers that revision as the newest.
async fn undo_statefulset(
    client: &kube::Client,
    key: &ServiceKey,
    revision: i64,
    rv: Option<&str>,
    dry_run: bool,
) -> Result<(), MutationError> {
    use k8s_openapi::api::apps::v1::ControllerRevision;
    use kube::api::{Patch, PatchParams};
    let statefulsets = Api::<StatefulSet>::namespaced(client.clone(), &key.namespace);
    let sts = statefulsets.get(&key.name).await.map_err(classify)?;
    let uid = sts.metadata.uid.unwrap_or_default();
    let history = Api::<ControllerRevision>::namespaced(client.clone(), &key.namespace)
        .list(&Default::default())
        .await
        .map_err(classify)?;
    let chosen = history
        .items
        .into_iter()
        .filter(|cr| cr.metadata.owner_references.iter().flatten().any(|o| o.uid == uid && o.controller == Some(true)))
        .find(|cr| cr.revision == Some(revision))
        .ok_or_else(|| {
            MutationError::Invalid(format!("no ControllerRevision of {} has revision {revision}", key.name))
        })?;
    let mut patch = chosen.data.0;
    if !patch.pointer("/spec/template").is_some_and(serde_json::Value::is_object) {
        return Err(MutationError::Invalid(format!("revision {revision} of {} holds no pod template", key.name)));
    }
    if let Some(rv) = rv {
        patch["metadata"]["resourceVersion"] = serde_json::json!(rv);
    }
    let params = PatchParams { dry_run, field_manager: Some("kubectl-cockpit".into()), ..Default::default() };
    statefulsets.patch(&key.name, &params, &Patch::Strategic(&patch)).await.map(drop).map_err(classify)
}

/// A permission a change needs, as RBAC names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    pub verb: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
}

impl Permission {
    /// The question for the API server's access review.
    pub fn access<'a>(&'a self, namespace: Option<&'a str>) -> super::access::Access<'a> {
        super::access::Access {
            verb: self.verb,
            group: "apps",
            resource: self.resource,
            subresource: self.subresource,
            namespace,
        }
    }

    /// `update deployments/scale in ns shop`, as the status line and wizard say it.
    pub fn describe(&self, namespace: Option<&str>) -> String {
        let resource = if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        };
        match namespace {
            Some(ns) => format!("{} {resource} in ns {ns}", self.verb),
            None => format!("{} {resource} in all namespaces", self.verb),
        }
    }
}

/// What the cockpit's changes need: scale through the subresource, rollout actions as
/// patches of the workload.
pub const CHANGE_PERMISSIONS: [Permission; 4] = [
    Permission { verb: "update", resource: "deployments", subresource: "scale" },
    Permission { verb: "patch", resource: "deployments", subresource: "" },
    Permission { verb: "update", resource: "statefulsets", subresource: "scale" },
    Permission { verb: "patch", resource: "statefulsets", subresource: "" },
];

/// Asks the API server (SelfSubjectAccessReview) which of `CHANGE_PERMISSIONS` the user
/// lacks in `namespace`. An unanswered review counts as allowed: the server-side dry-run
/// still catches a refusal before anything changes.
pub async fn missing_permissions(client: &kube::Client, namespace: Option<&str>) -> Vec<Permission> {
    let mut missing = Vec::new();
    for permission in CHANGE_PERMISSIONS {
        let access = permission.access(namespace);
        if super::access::review(client, &access).await == Ok(false) {
            missing.push(permission);
        }
    }
    missing
}
