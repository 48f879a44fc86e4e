//! Who controls an object: the owner reference marked `controller`, which ties pods to
//! their ReplicaSet and ReplicaSets and revisions to their workload. A leaf of the model.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The uid of the object's controlling owner.
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references.iter().flatten().find(|o| o.controller == Some(true)).map(|o| o.uid.as_str())
}
