//! The GitOps owners of workloads, read where their APIs are served: Flux
//! Kustomizations and HelmReleases, Argo CD Applications, and the Flux sources they apply
//! from (Git, OCI and Helm repositories). Each is kept as the small [`GitOpsOwner`] or
//! [`GitOpsSource`] the model reads (Ready, suspended, revision, interval), so a status
//! update that moves only timestamps changes nothing downstream.

use super::collection::custom_resource;
use crate::model::gitops::source::{GitOpsSource, SourceKind};
use crate::model::gitops::{GitOpsOwner, OwnerKind};

custom_resource!(FluxKustomization: "Kustomization" in "kustomize.toolkit.fluxcd.io"/"v1" as "kustomizations",
    kept as GitOpsOwner, by |meta, spec, status| GitOpsOwner::read(OwnerKind::Kustomization, meta, spec, status));
custom_resource!(FluxHelmRelease: "HelmRelease" in "helm.toolkit.fluxcd.io"/"v2" as "helmreleases",
    kept as GitOpsOwner, by |meta, spec, status| GitOpsOwner::read(OwnerKind::HelmRelease, meta, spec, status));
custom_resource!(ArgoApplication: "Application" in "argoproj.io"/"v1alpha1" as "applications",
    kept as GitOpsOwner, by |meta, spec, status| GitOpsOwner::read(OwnerKind::Application, meta, spec, status));

// Flux sources: what the owners apply from (their revision says whether an owner is synced).
custom_resource!(FluxGitRepository: "GitRepository" in "source.toolkit.fluxcd.io"/"v1" as "gitrepositories",
    kept as GitOpsSource, by |meta, spec, status| GitOpsSource::read(SourceKind::GitRepository, meta, spec, status));
custom_resource!(FluxOciRepository: "OCIRepository" in "source.toolkit.fluxcd.io"/"v1" as "ocirepositories",
    kept as GitOpsSource, by |meta, spec, status| GitOpsSource::read(SourceKind::OCIRepository, meta, spec, status));
custom_resource!(FluxHelmRepository: "HelmRepository" in "source.toolkit.fluxcd.io"/"v1" as "helmrepositories",
    kept as GitOpsSource, by |meta, spec, status| GitOpsSource::read(SourceKind::HelmRepository, meta, spec, status));
