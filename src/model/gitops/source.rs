//! Where a Flux owner takes what it applies from: the source its spec names (a
//! Kustomization's `sourceRef`, a HelmRelease's `chartRef` or chart `sourceRef`), that
//! source as read (Ready, the revision of its artifact, its URL), and whether the owner
//! has applied the revision its source holds now — what "synced" means for Flux.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::{Condition, GitOpsOwner, OwnerKind};
use crate::model::sanitize::clean;

/// The kind of a Flux source. The cockpit reads Git, OCI and Helm repositories; any other
/// kind an owner names (`HelmChart`, `Bucket`) is kept by name and never read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    GitRepository,
    OCIRepository,
    HelmRepository,
    Other(String),
}

impl SourceKind {
    /// The kinds the cockpit reads.
    pub const READ: [SourceKind; 3] =
        [SourceKind::GitRepository, SourceKind::OCIRepository, SourceKind::HelmRepository];

    pub fn parse(text: &str) -> SourceKind {
        SourceKind::READ.into_iter().find(|k| k.as_str() == text).unwrap_or_else(|| SourceKind::Other(clean(text)))
    }

    pub fn as_str(&self) -> &str {
        match self {
            SourceKind::GitRepository => "GitRepository",
            SourceKind::OCIRepository => "OCIRepository",
            SourceKind::HelmRepository => "HelmRepository",
            SourceKind::Other(kind) => kind,
        }
    }
}

/// The source an owner names. Flux defaults its namespace to the owner's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    pub kind: SourceKind,
    pub namespace: String,
    pub name: String,
}

impl SourceRef {
    /// From a Flux owner's spec: a Kustomization's `sourceRef`; a HelmRelease's `chartRef`,
    /// else its `chart.spec.sourceRef`. Argo CD Applications name no Flux source.
    pub fn of_owner(kind: OwnerKind, owner_namespace: &str, spec: &Value) -> Option<SourceRef> {
        let reference = match kind {
            OwnerKind::Kustomization => &spec["sourceRef"],
            OwnerKind::HelmRelease => {
                Some(&spec["chartRef"]).filter(|r| r.is_object()).unwrap_or(&spec["chart"]["spec"]["sourceRef"])
            }
            OwnerKind::Application => return None,
        };
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(clean);
        Some(SourceRef {
            kind: SourceKind::parse(reference["kind"].as_str()?),
            namespace: text(&reference["namespace"]).unwrap_or_else(|| owner_namespace.to_string()),
            name: text(&reference["name"])?,
        })
    }

    /// `GitRepository flux-system/app`.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind.as_str(), self.namespace, self.name)
    }
}

/// A Flux source as the cockpit reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitOpsSource {
    pub kind: SourceKind,
    pub namespace: String,
    pub name: String,
    pub ready: Option<Condition>,
    /// `status.artifact.revision`: what the source fetched last (`main@sha1:4f2a…`).
    pub revision: Option<String>,
    pub url: Option<String>,
    pub suspended: bool,
}

impl GitOpsSource {
    /// From a source object's metadata, spec and status.
    pub fn read(kind: SourceKind, meta: &ObjectMeta, spec: &Value, status: &Value) -> GitOpsSource {
        let text = |v: &Value| v.as_str().map(clean).filter(|s| !s.is_empty());
        GitOpsSource {
            kind,
            namespace: clean(meta.namespace.as_deref().unwrap_or_default()),
            name: clean(meta.name.as_deref().unwrap_or_default()),
            ready: super::ready_condition(status),
            revision: text(&status["artifact"]["revision"]),
            url: text(&spec["url"]),
            suspended: spec["suspend"].as_bool().unwrap_or(false),
        }
    }

    /// Why it is not Ready (`None`: Ready). A suspended source fetches nothing new.
    pub fn not_ready(&self) -> Option<String> {
        if self.suspended {
            return Some("suspended".into());
        }
        match &self.ready {
            Some(c) if c.status == "True" => None,
            Some(c) => {
                Some(c.message.clone().or_else(|| c.reason.clone()).unwrap_or_else(|| format!("Ready={}", c.status)))
            }
            None => Some("no Ready condition yet".into()),
        }
    }
}

/// The Flux sources read, and which kinds could be read at all (served and allowed): a
/// source missing from a kind that could not be listed is unknown, not absent.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub read: Vec<Arc<GitOpsSource>>,
    pub readable: Vec<SourceKind>,
}

/// What is known of an owner's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceState {
    Found(GitOpsSource),
    /// Its kind was listed and no such source exists.
    NotFound,
    /// Its kind is not read by the cockpit, not served, or not allowed.
    NotReadable(String),
}

/// An owner's source and what is known of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSource {
    pub reference: SourceRef,
    pub state: SourceState,
}

impl ServiceSource {
    /// The source `reference` names among `sources`.
    pub fn find(reference: SourceRef, sources: &Sources) -> ServiceSource {
        let state = if !sources.readable.contains(&reference.kind) {
            let why = match &reference.kind {
                SourceKind::Other(kind) => format!("the cockpit does not read {kind} sources"),
                kind => format!("{} is not served or may not be listed here", kind.as_str()),
            };
            SourceState::NotReadable(why)
        } else {
            sources
                .read
                .iter()
                .find(|s| s.kind == reference.kind && s.namespace == reference.namespace && s.name == reference.name)
                .map_or(SourceState::NotFound, |s| SourceState::Found((**s).clone()))
        };
        ServiceSource { reference, state }
    }

    /// `Ready`, `not ready: <message>`, `not found`, `not readable: <why>`.
    pub fn badge(&self) -> String {
        match &self.state {
            SourceState::Found(s) => s.not_ready().map_or_else(|| "Ready".into(), |why| format!("not ready: {why}")),
            SourceState::NotFound => "not found".into(),
            SourceState::NotReadable(why) => format!("not readable: {why}"),
        }
    }

    pub fn found(&self) -> Option<&GitOpsSource> {
        match &self.state {
            SourceState::Found(s) => Some(s),
            _ => None,
        }
    }

    /// `source GitRepository flux-system/app  Ready  rev main@sha1:abc123`.
    pub fn describe(&self) -> String {
        let revision = self.found().and_then(|s| s.revision.as_ref()).map_or(String::new(), |r| format!("  rev {r}"));
        format!("source {}  {}{revision}", self.reference.describe(), self.badge())
    }
}

/// Whether an owner applied what its source holds now: `Ok` with what was checked, `Err`
/// with why it cannot be said (yet). A Kustomization's `lastAppliedRevision` is its
/// source's artifact revision. A HelmRelease installs a chart version: from an
/// OCIRepository the digest it installed is compared with the artifact's; from a Helm
/// repository (an index) there is nothing to compare, and its source must be Ready.
pub fn applied_from_source(owner: &GitOpsOwner, source: &ServiceSource) -> Result<String, String> {
    let at = source.reference.describe();
    let found = match &source.state {
        SourceState::Found(s) => s,
        SourceState::NotFound => return Err(format!("source {at} not found")),
        SourceState::NotReadable(why) => {
            return Err(format!("source {at} could not be read ({why}): whether its revision is applied is unknown"));
        }
    };
    if let Some(why) = found.not_ready() {
        return Err(format!("source {at} not ready: {why}"));
    }
    let Some(held) = found.revision.as_deref() else { return Err(format!("source {at} has no artifact yet")) };
    let (applied, expected) = match owner.kind {
        OwnerKind::Kustomization => (owner.revision.as_deref(), held),
        OwnerKind::HelmRelease if found.kind == SourceKind::OCIRepository && owner.applied_digest.is_some() => {
            (owner.applied_digest.as_deref(), held.rsplit_once('@').map_or(held, |(_, digest)| digest))
        }
        _ => return Ok(format!("source {at} Ready (a chart version has no revision of it to compare)")),
    };
    match applied {
        Some(applied) if applied == expected => Ok(format!("the revision of source {at}")),
        applied => {
            Err(format!("applied rev {}, source {at} at {held} (not yet reconciled)", applied.unwrap_or("none")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(kind: OwnerKind, spec: Value) -> Option<SourceRef> {
        SourceRef::of_owner(kind, "shop", &spec)
    }

    #[test]
    fn a_source_ref_without_namespace_is_in_the_owners() {
        let ks = reference(OwnerKind::Kustomization, json!({"sourceRef": {"kind": "GitRepository", "name": "app"}}));
        assert_eq!(ks.unwrap().describe(), "GitRepository shop/app");
        let elsewhere = reference(
            OwnerKind::Kustomization,
            json!({"sourceRef": {"kind": "OCIRepository", "name": "app", "namespace": "flux-system"}}),
        );
        assert_eq!(elsewhere.unwrap().describe(), "OCIRepository flux-system/app");
        assert_eq!(reference(OwnerKind::Kustomization, json!({})), None);
        assert_eq!(
            reference(OwnerKind::Application, json!({"sourceRef": {"kind": "GitRepository", "name": "x"}})),
            None
        );
    }

    #[test]
    fn a_helmrelease_names_its_chart_ref_else_its_charts_source() {
        let chart_ref = reference(
            OwnerKind::HelmRelease,
            json!({"chartRef": {"kind": "OCIRepository", "name": "podinfo"},
                   "chart": {"spec": {"sourceRef": {"kind": "HelmRepository", "name": "ignored"}}}}),
        );
        assert_eq!(chart_ref.unwrap().describe(), "OCIRepository shop/podinfo");
        let helm_chart = reference(OwnerKind::HelmRelease, json!({"chartRef": {"kind": "HelmChart", "name": "web"}}));
        assert_eq!(helm_chart.unwrap().kind, SourceKind::Other("HelmChart".into()));
        let chart = reference(
            OwnerKind::HelmRelease,
            json!({"chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}}}),
        );
        assert_eq!(chart.unwrap().describe(), "HelmRepository flux-system/charts");
    }

    fn source(kind: SourceKind, ready: &str, revision: &str) -> Arc<GitOpsSource> {
        let meta = serde_json::from_value(json!({"namespace": "shop", "name": "app"})).unwrap();
        Arc::new(GitOpsSource::read(
            kind,
            &meta,
            &json!({"url": "https://example.com/app.git"}),
            &json!({"artifact": {"revision": revision},
                    "conditions": [{"type": "Ready", "status": ready, "message": "auth failed\u{1b}[31m"}]}),
        ))
    }

    fn git(ready: &str, revision: &str) -> Arc<GitOpsSource> {
        source(SourceKind::GitRepository, ready, revision)
    }

    fn found(read: Vec<Arc<GitOpsSource>>, readable: Vec<SourceKind>) -> ServiceSource {
        let kind = read.first().map_or(SourceKind::GitRepository, |s| s.kind.clone());
        let r = SourceRef { kind, namespace: "shop".into(), name: "app".into() };
        ServiceSource::find(r, &Sources { read, readable })
    }

    /// A Flux owner Ready with `status` (its lastAppliedRevision and the rest).
    fn owner(kind: OwnerKind, status: Value) -> GitOpsOwner {
        let meta = serde_json::from_value(json!({"namespace": "shop", "name": "x"})).unwrap();
        let mut status = status;
        status["conditions"] = json!([{"type": "Ready", "status": "True"}]);
        GitOpsOwner::read(kind, &meta, &json!({}), &status)
    }

    fn kustomization(applied: &str) -> GitOpsOwner {
        owner(OwnerKind::Kustomization, json!({"lastAppliedRevision": applied}))
    }

    #[test]
    fn synced_is_the_sources_revision_applied() {
        let at_a = found(vec![git("True", "main@sha1:aaa")], SourceKind::READ.to_vec());
        assert_eq!(at_a.describe(), "source GitRepository shop/app  Ready  rev main@sha1:aaa");
        assert!(applied_from_source(&kustomization("main@sha1:aaa"), &at_a).is_ok());
        assert_eq!(
            applied_from_source(&kustomization("main@sha1:000"), &at_a),
            Err("applied rev main@sha1:000, source GitRepository shop/app at main@sha1:aaa (not yet reconciled)".into())
        );
        let chart = owner(OwnerKind::HelmRelease, json!({"lastAttemptedRevision": "1.0.0"}));
        assert_eq!(chart.revision.as_deref(), Some("1.0.0"), "helm.toolkit.fluxcd.io/v2 says what it attempted");
        assert!(applied_from_source(&chart, &at_a).is_ok(), "a chart version is not a git revision");
        let failing = found(vec![git("False", "main@sha1:aaa")], SourceKind::READ.to_vec());
        assert_eq!(failing.badge(), "not ready: auth failed");
        assert_eq!(
            applied_from_source(&kustomization("main@sha1:aaa"), &failing),
            Err("source GitRepository shop/app not ready: auth failed".into())
        );
    }

    #[test]
    fn a_helmrelease_from_an_oci_repository_is_synced_at_its_digest() {
        let oci = found(vec![source(SourceKind::OCIRepository, "True", "1.2.0@sha256:bbb")], SourceKind::READ.to_vec());
        let installed = |digest: &str| {
            owner(
                OwnerKind::HelmRelease,
                json!({"lastAttemptedRevision": "1.2.0", "lastAttemptedRevisionDigest": digest}),
            )
        };
        assert!(applied_from_source(&installed("sha256:bbb"), &oci).is_ok());
        assert_eq!(
            applied_from_source(&installed("sha256:aaa"), &oci),
            Err("applied rev sha256:aaa, source OCIRepository shop/app at 1.2.0@sha256:bbb (not yet reconciled)".into())
        );
    }

    #[test]
    fn a_source_that_cannot_be_read_is_never_taken_as_synced() {
        let absent = found(Vec::new(), SourceKind::READ.to_vec());
        assert_eq!(absent.state, SourceState::NotFound);
        let hidden = found(vec![git("True", "a")], Vec::new());
        assert_eq!(hidden.badge(), "not readable: GitRepository is not served or may not be listed here");
        for s in [absent, hidden] {
            assert!(applied_from_source(&kustomization("a"), &s).is_err());
            assert!(applied_from_source(&owner(OwnerKind::HelmRelease, json!({})), &s).is_err());
        }
    }
}
