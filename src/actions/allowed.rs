//! Whether RBAC lets the operator make a change here, as the session's access reviews
//! answered: the screen asks, this decides.

use crate::cluster::mutate::CHANGE_PERMISSIONS;
use crate::model::service::WorkloadKind;

/// How a change writes its workload, as RBAC sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Through the `scale` subresource (a scale).
    Scale,
    /// A patch of the workload itself (rollout actions, images).
    Patch,
}

/// Why a `write` to a `kind` workload is not allowed in `namespace` (the permission it
/// lacks, as the session's access reviews listed in `denied`), or `None` when it is.
pub fn change_denied(denied: &[String], namespace: Option<&str>, kind: WorkloadKind, write: Write) -> Option<String> {
    let resource = match kind {
        WorkloadKind::Deployment => "deployments",
        WorkloadKind::StatefulSet => "statefulsets",
    };
    let scale = write == Write::Scale;
    let needed = CHANGE_PERMISSIONS.iter().find(|p| p.resource == resource && (p.subresource == "scale") == scale)?;
    let wanted = needed.describe(namespace);
    denied.iter().find(|d| **d == wanted).cloned()
}

/// Why a drain is not allowed here: the first drain permission RBAC denies (as the nodes
/// view's access reviews listed them).
pub fn drain_denied(denied: &[String]) -> Option<String> {
    denied.first().map(|d| format!("RBAC: you may not {d}"))
}
