//! The GitOps owners of workloads, read where their APIs are served: Flux
//! Kustomizations and HelmReleases, Argo CD Applications. Each is kept as the small
//! [`GitOpsOwner`] the model reads (Ready, suspended, revision, interval), so a status
//! update that moves only timestamps changes nothing downstream.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::collection::Watched;
use crate::model::changes::Change;
use crate::model::gitops::{GitOpsOwner, OwnerKind};

/// An owner resource, read for the few fields [`GitOpsOwner`] keeps; everything else in
/// its spec and status is ignored.
macro_rules! gitops_resource {
    ($name:ident, $kind:expr, $kind_name:literal, $group:literal, $version:literal, $plural:literal) => {
        #[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
        pub struct $name {
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: serde_json::Value,
            #[serde(default)]
            pub status: serde_json::Value,
        }

        impl kube::Resource for $name {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;
            fn kind(_: &()) -> Cow<'_, str> {
                $kind_name.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl Watched for $name {
            type Stored = GitOpsOwner;
            type Memo = ();
            fn keep(self, _: &mut ()) -> GitOpsOwner {
                GitOpsOwner::read($kind, &self.metadata, &self.spec, &self.status)
            }
            fn classify(old: Option<&GitOpsOwner>, new: &GitOpsOwner) -> Change {
                if old == Some(new) { Change::None } else { Change::Structure }
            }
        }
    };
}

gitops_resource!(
    FluxKustomization,
    OwnerKind::Kustomization,
    "Kustomization",
    "kustomize.toolkit.fluxcd.io",
    "v1",
    "kustomizations"
);
gitops_resource!(
    FluxHelmRelease,
    OwnerKind::HelmRelease,
    "HelmRelease",
    "helm.toolkit.fluxcd.io",
    "v2",
    "helmreleases"
);
gitops_resource!(ArgoApplication, OwnerKind::Application, "Application", "argoproj.io", "v1alpha1", "applications");
