//! Facts that change what is safe to do: a singleton must never run twice, a
//! GitOps-managed workload reverts manual changes, and a ReadWriteOnce volume keeps a
//! surge pod on another node from starting.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pdb::allows_everything;
use super::sanitize::{Sgr, sanitize};
use super::service::PdbHeadroom;

pub const SINGLETON_ANNOTATION: &str = "cockpit.dev/singleton";
pub const SINGLETON_REASON_ANNOTATION: &str = "cockpit.dev/singleton-reason";

const FLUX_KUSTOMIZATION_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
const FLUX_HELM_LABEL: &str = "helm.toolkit.fluxcd.io/name";
const ARGO_INSTANCE_LABEL: &str = "argocd.argoproj.io/instance";
const ARGO_TRACKING_ANNOTATION: &str = "argocd.argoproj.io/tracking-id";

/// Why the workload must not run twice: the `cockpit.dev/singleton` annotation (with its
/// reason when given), or one replica whose PDB says `minAvailable: 0`.
pub fn singleton_reason(meta: &ObjectMeta, desired: i32, pdb: Option<&PdbHeadroom>) -> Option<String> {
    let annotations = meta.annotations.as_ref();
    let annotated = annotations
        .and_then(|a| a.get(SINGLETON_ANNOTATION))
        .is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "no" | "0" | ""));
    if annotated {
        let reason = annotations.and_then(|a| a.get(SINGLETON_REASON_ANNOTATION)).map(|r| safe(r));
        return Some(reason.unwrap_or_else(|| format!("annotation {SINGLETON_ANNOTATION}")));
    }
    match pdb {
        Some(p) if desired == 1 && allows_everything(p) => {
            Some(format!("1 replica with PDB {} minAvailable 0", p.name))
        }
        _ => None,
    }
}

/// The replicas the last `kubectl apply` (or a GitOps controller applying client-side, as
/// Argo CD does by default) declared, from the last-applied annotation.
pub fn declared_replicas(meta: &ObjectMeta) -> Option<i32> {
    let applied = meta.annotations.as_ref()?.get("kubectl.kubernetes.io/last-applied-configuration")?;
    let value: serde_json::Value = serde_json::from_str(applied).ok()?;
    i32::try_from(value.pointer("/spec/replicas")?.as_i64()?).ok()
}

/// Which GitOps controller owns the workload (`Flux` or `Argo CD`) and where it comes
/// from, in words.
pub fn gitops(meta: &ObjectMeta) -> Option<(String, String)> {
    let empty = BTreeMap::new();
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    if let Some(name) = labels.get(FLUX_KUSTOMIZATION_LABEL) {
        return Some(("Flux".into(), format!("Flux Kustomization {}", safe(name))));
    }
    if let Some(name) = labels.get(FLUX_HELM_LABEL) {
        return Some(("Flux".into(), format!("Flux HelmRelease {}", safe(name))));
    }
    if let Some(app) = labels.get(ARGO_INSTANCE_LABEL) {
        return Some(("Argo CD".into(), format!("Argo CD application {}", safe(app))));
    }
    if let Some(id) = annotations.get(ARGO_TRACKING_ANNOTATION) {
        let app = id.split(':').next().unwrap_or(id);
        return Some(("Argo CD".into(), format!("Argo CD application {}", safe(app))));
    }
    None
}

/// The first ReadWriteOnce (or ReadWriteOncePod) volume the pods mount: a PVC named in
/// the pod template, or a StatefulSet volume claim template.
pub fn rwo_volume(
    spec: Option<&PodSpec>,
    claim_templates: &[PersistentVolumeClaim],
    pvcs: &[&PersistentVolumeClaim],
) -> Option<String> {
    let claimed = shared_rwo_claim(spec, pvcs);
    claimed.or_else(|| {
        claim_templates.iter().find_map(|t| {
            let mode = single_node_mode(t)?;
            Some(format!("volumeClaimTemplate {} ({mode})", safe(t.metadata.name.as_deref().unwrap_or(""))))
        })
    })
}

/// A single-node claim that every pod of the workload mounts (unlike a StatefulSet's
/// per-pod volumeClaimTemplates): replicas on two nodes cannot both attach it.
pub fn shared_rwo_claim(spec: Option<&PodSpec>, pvcs: &[&PersistentVolumeClaim]) -> Option<String> {
    spec.and_then(|s| s.volumes.as_ref()).into_iter().flatten().find_map(|v| {
        let claim = &v.persistent_volume_claim.as_ref()?.claim_name;
        let pvc = pvcs.iter().find(|p| p.metadata.name.as_deref() == Some(claim.as_str()))?;
        let mode = single_node_mode(pvc)?;
        Some(format!("PVC {} ({mode})", safe(claim)))
    })
}

fn single_node_mode(pvc: &PersistentVolumeClaim) -> Option<&'static str> {
    let modes = pvc.spec.as_ref()?.access_modes.as_ref()?;
    ["ReadWriteOncePod", "ReadWriteOnce"].into_iter().find(|m| modes.iter().any(|x| x == m))
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pdb::{Coverage, pdb_headroom};
    use serde_json::json;

    fn meta(v: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn singleton_by_annotation_with_reason() {
        let m = meta(
            json!({"annotations": {SINGLETON_ANNOTATION: "true", SINGLETON_REASON_ANNOTATION: "asynq scheduler"}}),
        );
        assert_eq!(singleton_reason(&m, 1, None).as_deref(), Some("asynq scheduler"));
        let m = meta(json!({"annotations": {SINGLETON_ANNOTATION: "true"}}));
        assert_eq!(singleton_reason(&m, 3, None).as_deref(), Some("annotation cockpit.dev/singleton"));
        let m = meta(json!({"annotations": {SINGLETON_ANNOTATION: "false"}}));
        assert_eq!(singleton_reason(&m, 1, None), None);
    }

    #[test]
    fn seed_singleton_worker_by_pdb_min_available_0() {
        let pdb =
            serde_json::from_value(json!({"metadata": {"name": "worker-pdb"}, "spec": {"minAvailable": 0}})).unwrap();
        let h = pdb_headroom(&pdb, Coverage { selected_pods: 1, healthy_pods: 1, controller_scale: 1 });
        let m = meta(json!({"name": "worker"}));
        assert_eq!(singleton_reason(&m, 1, Some(&h)).as_deref(), Some("1 replica with PDB worker-pdb minAvailable 0"));
        assert_eq!(singleton_reason(&m, 2, Some(&h)), None, "two replicas are not a singleton");
    }

    #[test]
    fn gitops_from_flux_and_argo() {
        let flux = meta(json!({"labels": {FLUX_KUSTOMIZATION_LABEL: "apps"}}));
        assert_eq!(gitops(&flux), Some(("Flux".into(), "Flux Kustomization apps".into())));
        let helm = meta(json!({"labels": {FLUX_HELM_LABEL: "soundspan"}}));
        assert_eq!(gitops(&helm).unwrap().0, "Flux");
        let argo = meta(json!({"labels": {ARGO_INSTANCE_LABEL: "shop"}}));
        assert_eq!(gitops(&argo).unwrap().1, "Argo CD application shop");
        let tracked = meta(json!({"annotations": {ARGO_TRACKING_ANNOTATION: "shop:apps/Deployment:shop/api"}}));
        assert_eq!(gitops(&tracked).unwrap().1, "Argo CD application shop");
        assert_eq!(gitops(&meta(json!({}))), None);
    }

    #[test]
    fn rwo_from_claims_and_templates() {
        let rwo: PersistentVolumeClaim = serde_json::from_value(
            json!({"metadata": {"name": "redis-data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}),
        )
        .unwrap();
        let rwx: PersistentVolumeClaim =
            serde_json::from_value(json!({"metadata": {"name": "music"}, "spec": {"accessModes": ["ReadWriteMany"]}}))
                .unwrap();
        let spec: PodSpec = serde_json::from_value(json!({"containers": [], "volumes": [
            {"name": "m", "persistentVolumeClaim": {"claimName": "music"}},
            {"name": "d", "persistentVolumeClaim": {"claimName": "redis-data"}},
        ]}))
        .unwrap();
        assert_eq!(rwo_volume(Some(&spec), &[], &[&rwx, &rwo]).as_deref(), Some("PVC redis-data (ReadWriteOnce)"));
        assert_eq!(rwo_volume(Some(&spec), &[], &[&rwx]), None, "unknown PVC: no claim");
        let template: PersistentVolumeClaim =
            serde_json::from_value(json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}))
                .unwrap();
        assert_eq!(rwo_volume(None, &[template], &[]).as_deref(), Some("volumeClaimTemplate data (ReadWriteOnce)"));
    }
}
