//! Controllers that make objects behave like Kubernetes. Each is a set of plain
//! functions over [`World`](super::runtime::World), called from its work queue with the
//! object to reconcile; each reads the store's current state and writes only what changed.

pub mod defaults;
pub mod deployment;
pub mod disruption;
pub mod gc;
pub mod hpa;
pub mod kubelet;
pub mod misc;
pub mod replicaset;
pub mod statefulset;

use std::sync::Arc;

use serde_json::Value;

use super::objects;
use crate::sim::resources::{ResourceType, resource};
use crate::sim::store::Store;

/// A served resource type by plural; the table is static, so a miss is a bug.
pub fn rt(plural: &str) -> &'static ResourceType {
    resource(plural).unwrap_or_else(|| panic!("resource {plural} is not served"))
}

/// Objects of a type in a namespace whose controller reference is `owner_uid`.
pub fn owned(store: &Store, plural: &str, namespace: &str, owner_uid: &str) -> Vec<Arc<Value>> {
    store.list(rt(plural), Some(namespace)).0.into_iter().filter(|o| objects::owned_by(o, owner_uid)).collect()
}

pub fn owned_pods(store: &Store, namespace: &str, owner_uid: &str) -> Vec<Arc<Value>> {
    owned(store, "pods", namespace, owner_uid)
}
