//! The calls a node drain makes: cordon and uncordon (`spec.unschedulable`, as `kubectl
//! cordon` patches it), one eviction through the Eviction API (policy/v1: the API server
//! checks the pod's disruption budget), and waiting — on watches — for an evicted pod to
//! be gone and for its controller to have its replicas ready again.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

use super::mutate::{MutationError, classify};

/// Marks the node (un)schedulable.
pub async fn set_cordon(client: &kube::Client, node: &str, cordon: bool, dry_run: bool) -> Result<(), MutationError> {
    let api: Api<Node> = Api::all(client.clone());
    let params = PatchParams { dry_run, ..Default::default() };
    let body = json!({"spec": {"unschedulable": if cordon { json!(true) } else { json!(null) }}});
    api.patch(node, &params, &Patch::Strategic(&body)).await.map(|_| ()).map_err(classify)
}

/// Whether the node is cordoned now.
pub async fn is_cordoned(client: &kube::Client, node: &str) -> Result<bool, MutationError> {
    let api: Api<Node> = Api::all(client.clone());
    let found = api.get(node).await.map_err(classify)?;
    Ok(found.spec.and_then(|s| s.unschedulable).unwrap_or(false))
}

/// What the Eviction API answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// The pod is on its way out.
    Evicted,
    /// The pod was already gone.
    Gone,
    /// Its disruption budget allows no disruption now (429): the cause, to show and retry on.
    Budget(String),
}

/// Asks the API server to evict one pod (`dry_run`: only whether it would).
pub async fn evict(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    dry_run: bool,
) -> Result<Eviction, MutationError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = EvictParams { post_options: PostParams { dry_run, ..Default::default() }, ..Default::default() };
    match api.evict(pod, &params).await {
        Ok(_) => Ok(Eviction::Evicted),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Eviction::Gone),
        Err(kube::Error::Api(s)) if s.code == 429 => Ok(Eviction::Budget(s.message)),
        Err(e) => Err(classify(e)),
    }
}

/// Waits until the pod named `pod` with `uid` no longer exists; `false` on timeout.
pub async fn wait_gone(client: &kube::Client, namespace: &str, pod: &str, uid: &str, timeout: Duration) -> bool {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    tokio::time::timeout(timeout, await_condition(api, pod, conditions::is_deleted(uid))).await.is_ok_and(|r| r.is_ok())
}

/// Waits until the controller (`ReplicaSet` or `StatefulSet`) has as many ready replicas as
/// it wants again; `false` on timeout. Other controllers (Jobs, operators) are not waited on.
pub async fn wait_owner_ready(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
    timeout: Duration,
) -> bool {
    match kind {
        "ReplicaSet" => {
            let replicas = |rs: &ReplicaSet| (rs.spec.replicas, rs.status.as_ref().and_then(|s| s.ready_replicas));
            all_ready(Api::namespaced(client.clone(), namespace), name, replicas, timeout).await
        }
        "StatefulSet" => {
            let replicas = |s: &StatefulSet| (s.spec.replicas, s.status.as_ref().and_then(|s| s.ready_replicas));
            all_ready(Api::namespaced(client.clone(), namespace), name, replicas, timeout).await
        }
        _ => true,
    }
}

/// Watches one controller until its ready replicas reach the wanted ones (or it is gone).
async fn all_ready<K>(
    api: Api<K>,
    name: &str,
    replicas: fn(&K) -> (Option<i32>, Option<i32>),
    timeout: Duration,
) -> bool
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let cond = move |object: Option<&K>| {
        object.is_none_or(|o| {
            let (want, ready) = replicas(o);
            ready.unwrap_or(0) >= want.unwrap_or(1)
        })
    };
    tokio::time::timeout(timeout, await_condition(api, name, cond)).await.is_ok_and(|r| r.is_ok())
}

/// The pod's uid now (to tell it from a replacement of the same name), if it exists.
pub async fn pod_uid(client: &kube::Client, namespace: &str, pod: &str) -> Result<Option<String>, MutationError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    api.get_opt(pod).await.map(|p| p.and_then(|p| p.metadata.uid)).map_err(classify)
}

/// One cluster-wide look for the cockpit's nodes view: a node's pods, and the budgets that
/// guard them, belong to any namespace, so a namespaced cockpit's own watches (its
/// namespace's PDBs only) cannot judge a drain. Taken when the view opens, not per event.
#[derive(Debug)]
pub struct NodesLook {
    pub objects: crate::model::services::ClusterObjects,
    /// The services of every namespace (names, singletons, start-up times).
    pub services: Vec<crate::model::service::Service>,
    /// What could not be read (a drain is then not judged: "no PDB" would be a guess).
    pub blind: Vec<&'static str>,
    /// The drain permissions RBAC denies (`patch nodes`, `create pods/eviction`).
    pub denied: Vec<String>,
    pub taken_at: jiff::Timestamp,
}

// Compared by identity: two looks are the same only when they are one look.
impl PartialEq for NodesLook {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for NodesLook {}

/// Lists everything across every namespace once (within `timeout`) and asks which drain
/// permissions RBAC denies.
pub async fn look(client: &kube::Client, server_url: &str, timeout: Duration) -> NodesLook {
    use crate::model::services::{self, ReadinessHistory};
    let watches = super::watch::Watches::start(client.clone(), server_url, None, 0, None);
    watches.wait_synced(timeout).await;
    let seen = super::watch::visibility(&watches.health());
    let objects = watches.objects();
    drop(watches);
    let taken_at = jiff::Timestamp::now();
    let built = services::build_scope(&objects, &ReadinessHistory::default(), taken_at, seen);
    let denied = missing_drain_permissions(client).await;
    NodesLook { objects, services: built.services, blind: crate::model::drain::blind_spots(seen), denied, taken_at }
}

/// What a drain writes, as RBAC names it.
const DRAIN_PERMISSIONS: [(&str, &str, &str); 2] = [("patch", "nodes", ""), ("create", "pods", "eviction")];

/// The drain permissions the user lacks (`patch nodes`); an unanswered review counts as
/// allowed: the server's dry-run still catches a refusal before anything changes.
pub async fn missing_drain_permissions(client: &kube::Client) -> Vec<String> {
    let mut missing = Vec::new();
    for (verb, resource, subresource) in DRAIN_PERMISSIONS {
        let access = super::access::Access { verb, group: "", resource, subresource, namespace: None };
        if super::access::review(client, &access).await == Ok(false) {
            let what = if subresource.is_empty() { resource.to_string() } else { format!("{resource}/{subresource}") };
            missing.push(format!("{verb} {what}"));
        }
    }
    missing
}

/// Every pod on `node`, whatever its namespace (one list with a field selector, as
/// `kubectl drain` asks): what a node-drained gate reads.
pub async fn pods_on(
    client: &kube::Client,
    node: &str,
) -> Result<Vec<std::sync::Arc<crate::model::pods::PodFacts>>, MutationError> {
    let api: Api<Pod> = Api::all(client.clone());
    let params = kube::api::ListParams::default().fields(&format!("spec.nodeName={node}"));
    let pods = api.list(&params).await.map_err(classify)?;
    Ok(pods.items.into_iter().map(|p| std::sync::Arc::new(p.into())).collect())
}
