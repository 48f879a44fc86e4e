//! Who owns a service in git, and what was changed behind its back: the Flux
//! Kustomization or HelmRelease, or the Argo CD Application, that applies the workload
//! (found from the labels and annotations the controllers put on it), whether that owner
//! is Ready or suspended, and the fields another field manager changed since it applied
//! (which it sets back at its next reconcile).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use serde_json::Value;

use super::sanitize::clean;

pub mod edit;
pub mod source;

use source::{ServiceSource, SourceRef, Sources};

const FLUX_KUSTOMIZATION_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
const FLUX_KUSTOMIZATION_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
const FLUX_HELM_NAME: &str = "helm.toolkit.fluxcd.io/name";
const FLUX_HELM_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";
const ARGO_INSTANCE_LABEL: &str = "argocd.argoproj.io/instance";
const ARGO_TRACKING_ANNOTATION: &str = "argocd.argoproj.io/tracking-id";
/// Argo CD's default tracking label; Helm charts set it too, so it names an owner only
/// when an Application of that name exists.
const APP_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// The annotation `suspend-gitops` keeps an Argo CD Application's `syncPolicy.automated`
/// in, for `resume-gitops` to restore.
pub const ARGO_AUTOMATED_ANNOTATION: &str = "cockpit.dev/suspended-automated";

/// The field managers GitOps controllers apply with.
pub const GITOPS_MANAGERS: [&str; 4] =
    ["kustomize-controller", "helm-controller", "argocd-controller", "argocd-application-controller"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum OwnerKind {
    Kustomization,
    HelmRelease,
    Application,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Kustomization => "Kustomization",
            OwnerKind::HelmRelease => "HelmRelease",
            OwnerKind::Application => "Application",
        }
    }

    /// `Flux` or `Argo CD`.
    pub fn tool(self) -> &'static str {
        match self {
            OwnerKind::Kustomization | OwnerKind::HelmRelease => "Flux",
            OwnerKind::Application => "Argo CD",
        }
    }

    /// `kustomization`, `helmrelease`, `application`: as kubectl and flux name the kind.
    pub fn resource(self) -> &'static str {
        match self {
            OwnerKind::Kustomization => "kustomization",
            OwnerKind::HelmRelease => "helmrelease",
            OwnerKind::Application => "application",
        }
    }

    /// `kustomize.toolkit.fluxcd.io/v1` and so on.
    pub fn api_version(self) -> &'static str {
        match self {
            OwnerKind::Kustomization => "kustomize.toolkit.fluxcd.io/v1",
            OwnerKind::HelmRelease => "helm.toolkit.fluxcd.io/v2",
            OwnerKind::Application => "argoproj.io/v1alpha1",
        }
    }

    pub fn parse(text: &str) -> Option<OwnerKind> {
        match text.to_ascii_lowercase().as_str() {
            "kustomization" | "ks" => Some(OwnerKind::Kustomization),
            "helmrelease" | "hr" => Some(OwnerKind::HelmRelease),
            "application" | "app" => Some(OwnerKind::Application),
            _ => None,
        }
    }
}

/// Where a workload says it comes from. An Argo CD label names no namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: OwnerKind,
    pub namespace: Option<String>,
    pub name: String,
}

/// A status condition, sanitized.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Condition {
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// A GitOps owner as the cockpit reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitOpsOwner {
    pub kind: OwnerKind,
    pub namespace: String,
    pub name: String,
    /// Flux: the `Ready` condition; Argo CD: `Healthy` and `Synced` read as one.
    pub ready: Option<Condition>,
    /// Flux `spec.suspend`; Argo CD: auto-sync off (no `spec.syncPolicy.automated`).
    pub suspended: bool,
    /// Flux `status.lastAppliedRevision`, Argo CD `status.sync.revision`.
    pub revision: Option<String>,
    /// Flux `spec.interval` (`10m`).
    pub interval: Option<String>,
    /// Argo CD: `spec.syncPolicy.automated` as JSON text, and the one `suspend-gitops`
    /// kept in [`ARGO_AUTOMATED_ANNOTATION`] (what `resume-gitops` restores).
    pub automated: Option<String>,
    pub saved_automated: Option<String>,
    /// Flux: the source it applies from (`None` for Argo CD).
    pub source: Option<SourceRef>,
    /// Flux HelmRelease: the digest of the OCI artifact it installed last
    /// (`status.lastAttemptedRevisionDigest`), compared with an OCIRepository source's.
    pub applied_digest: Option<String>,
}

/// The `Ready` condition of a Flux object's status, sanitized.
fn ready_condition(status: &Value) -> Option<Condition> {
    let text = |v: &Value| v.as_str().map(clean).filter(|s| !s.is_empty());
    let c = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Ready")?;
    Some(Condition {
        status: text(&c["status"]).unwrap_or_else(|| "Unknown".into()),
        reason: text(&c["reason"]),
        message: text(&c["message"]),
    })
}

/// What the overview's GITOPS column says of an owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerState {
    Ready,
    NotReady(String),
    Suspended,
    /// The owner could not be read (its API is not served, no RBAC, not found).
    Unknown,
}

impl GitOpsOwner {
    /// From an owner object's metadata, spec and status.
    pub fn read(kind: OwnerKind, meta: &ObjectMeta, spec: &Value, status: &Value) -> GitOpsOwner {
        let text = |v: &Value| v.as_str().map(clean).filter(|s| !s.is_empty());
        let mut automated = None;
        let (ready, suspended, revision) = match kind {
            OwnerKind::Kustomization | OwnerKind::HelmRelease => (
                ready_condition(status),
                spec["suspend"].as_bool().unwrap_or(false),
                // helm.toolkit.fluxcd.io/v2 says only what it attempted (Ready says it worked).
                text(&status["lastAppliedRevision"]).or_else(|| {
                    (kind == OwnerKind::HelmRelease).then(|| text(&status["lastAttemptedRevision"])).flatten()
                }),
            ),
            OwnerKind::Application => {
                let sync = text(&status["sync"]["status"]);
                let health = text(&status["health"]["status"]);
                let ready = (sync.is_some() || health.is_some()).then(|| {
                    let good = sync.as_deref() == Some("Synced") && health.as_deref() == Some("Healthy");
                    Condition {
                        status: if good { "True".into() } else { "False".into() },
                        reason: Some(format!(
                            "{} · {}",
                            sync.as_deref().unwrap_or("sync unknown"),
                            health.as_deref().unwrap_or("health unknown")
                        )),
                        message: text(&status["health"]["message"])
                            .or_else(|| text(&status["conditions"][0]["message"])),
                    }
                });
                automated = spec.pointer("/syncPolicy/automated").filter(|a| !a.is_null()).map(Value::to_string);
                (ready, automated.is_none(), text(&status["sync"]["revision"]))
            }
        };
        let namespace = clean(meta.namespace.as_deref().unwrap_or_default());
        GitOpsOwner {
            kind,
            source: SourceRef::of_owner(kind, &namespace, spec),
            namespace,
            name: clean(meta.name.as_deref().unwrap_or_default()),
            ready,
            suspended,
            revision,
            interval: text(&spec["interval"]),
            automated,
            applied_digest: text(&status["lastAttemptedRevisionDigest"]),
            saved_automated: meta.annotations.as_ref().and_then(|a| a.get(ARGO_AUTOMATED_ANNOTATION)).cloned(),
        }
    }

    /// The merge patch that suspends (`true`) or resumes the owner: Flux `spec.suspend`;
    /// Argo CD drops `spec.syncPolicy.automated` and keeps it in an annotation, and a
    /// resume restores it (`{}`, plain auto-sync, when none was kept).
    pub fn suspend_patch(&self, suspend: bool) -> Value {
        match self.kind {
            OwnerKind::Kustomization | OwnerKind::HelmRelease => serde_json::json!({"spec": {"suspend": suspend}}),
            OwnerKind::Application if suspend => serde_json::json!({
                "metadata": {"annotations": {ARGO_AUTOMATED_ANNOTATION: self.automated.clone().unwrap_or_else(|| "{}".into())}},
                "spec": {"syncPolicy": {"automated": null}},
            }),
            OwnerKind::Application => {
                let saved = self.saved_automated.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok());
                let restored = saved.filter(Value::is_object).unwrap_or_else(|| serde_json::json!({}));
                serde_json::json!({
                    "metadata": {"annotations": {ARGO_AUTOMATED_ANNOTATION: null}},
                    "spec": {"syncPolicy": {"automated": restored}},
                })
            }
        }
    }

    pub fn state(&self) -> OwnerState {
        if self.suspended {
            return OwnerState::Suspended;
        }
        match &self.ready {
            Some(c) if c.status == "True" => OwnerState::Ready,
            Some(c) => OwnerState::NotReady(
                c.message.clone().or_else(|| c.reason.clone()).unwrap_or_else(|| format!("Ready={}", c.status)),
            ),
            None => OwnerState::NotReady("no Ready condition yet".into()),
        }
    }

    /// Ready and reconciling: the owner's half of what the `gitops-synced` gate asks
    /// ([`ServiceGitOps::synced`] adds its source's revision).
    pub fn is_synced(&self) -> bool {
        self.state() == OwnerState::Ready
    }
}

impl OwnerState {
    /// `Ready`, `not ready: <message>`, `suspended`, `unknown`.
    pub fn badge(&self) -> String {
        match self {
            OwnerState::Ready => "Ready".into(),
            OwnerState::NotReady(m) => format!("not ready: {m}"),
            OwnerState::Suspended => "suspended".into(),
            OwnerState::Unknown => "unknown".into(),
        }
    }
}

/// A field the GitOps owner applies that another manager changed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// `spec.replicas`, `image of container api`, `containers`.
    pub field: String,
    pub manager: String,
    /// `Update` or `Apply`, with the subresource (`Update /scale`).
    pub operation: String,
    pub time: Option<Timestamp>,
}

impl Drift {
    /// `spec.replicas changed by kubectl (Update /scale) at 2026-12-04T02:31:00Z`.
    pub fn describe(&self) -> String {
        let when = self.time.map_or(String::new(), |t| format!(" at {}", t.strftime("%Y-%m-%dT%H:%M:%SZ")));
        format!("{} changed by {} ({}){when}", self.field, self.manager, self.operation)
    }
}

/// The owner of one service, as much as is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceGitOps {
    pub owner: OwnerRef,
    /// `None`: the owner could not be read (not served, no access, not found).
    pub state: Option<GitOpsOwner>,
    pub drift: Vec<Drift>,
    /// The Flux source the owner names, as far as it is known (`None`: the owner was not
    /// read, or names none, as an Argo CD Application).
    pub source: Option<ServiceSource>,
}

impl ServiceGitOps {
    /// `Flux Kustomization flux-system/apps`.
    pub fn describe(&self) -> String {
        let ns = self.state.as_ref().map(|s| s.namespace.clone()).or_else(|| self.owner.namespace.clone());
        let at = ns.map_or_else(|| self.owner.name.clone(), |ns| format!("{ns}/{}", self.owner.name));
        format!("{} {} {at}", self.owner.kind.tool(), self.owner.kind.as_str())
    }

    pub fn state(&self) -> OwnerState {
        self.state.as_ref().map_or(OwnerState::Unknown, GitOpsOwner::state)
    }

    pub fn interval(&self) -> Option<&str> {
        self.state.as_ref().and_then(|s| s.interval.as_deref())
    }

    /// What the `gitops-synced` gate asks: the owner Ready, and a Flux owner at the
    /// revision its source holds now (a source named but unreadable is never taken as
    /// synced). `Ok` says what was checked, `Err` what it waits for.
    pub fn synced(&self) -> Result<String, String> {
        let owner = self.describe();
        let Some(state) = self.state.as_ref() else { return Err(format!("{owner} could not be read")) };
        match state.state() {
            OwnerState::Ready => {}
            OwnerState::Suspended => return Err(format!("{owner} is suspended")),
            OwnerState::NotReady(why) => return Err(format!("owner {owner} not ready: {why}")),
            OwnerState::Unknown => return Err(format!("{owner} could not be read")),
        }
        let revision = state.revision.as_ref().map_or(String::new(), |r| format!(" at {r}"));
        match &self.source {
            None => Ok(format!("{owner} Ready{revision}")),
            Some(source) => source::applied_from_source(state, source)
                .map(|checked| format!("{owner} Ready{revision}; {checked}"))
                .map_err(|why| format!("{owner} Ready, but {why}")),
        }
    }

    /// `the next reconcile (every 10m) reverts it` for the change previews.
    pub fn revert_warning(&self) -> String {
        let when = match (self.state(), self.interval()) {
            (OwnerState::Suspended, _) => "it is suspended now: the reconcile after a resume".to_string(),
            (_, Some(interval)) => format!("the next reconcile (every {interval})"),
            _ => "the next reconcile".to_string(),
        };
        format!("managed by {}: {when} reverts this change", self.describe())
    }
}

/// Where the workload says it comes from, by the labels and annotations Flux and Argo CD set.
pub fn owner_ref(meta: &ObjectMeta) -> Option<OwnerRef> {
    let empty = BTreeMap::new();
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    let annotations = meta.annotations.as_ref().unwrap_or(&empty);
    let flux = |kind, name: &str, namespace: &str| {
        Some(OwnerRef { kind, namespace: labels.get(namespace).map(|n| clean(n)), name: clean(labels.get(name)?) })
    };
    flux(OwnerKind::Kustomization, FLUX_KUSTOMIZATION_NAME, FLUX_KUSTOMIZATION_NAMESPACE)
        .or_else(|| flux(OwnerKind::HelmRelease, FLUX_HELM_NAME, FLUX_HELM_NAMESPACE))
        .or_else(|| {
            // `<app>:<group>/<kind>:<ns>/<name>`; with applications in any namespace `<ns>_<app>`.
            let id = annotations.get(ARGO_TRACKING_ANNOTATION)?;
            let app = id.split(':').next().unwrap_or(id);
            let (namespace, name) = match app.split_once('_') {
                Some((ns, name)) => (Some(clean(ns)), name),
                None => (None, app),
            };
            Some(OwnerRef { kind: OwnerKind::Application, namespace, name: clean(name) })
        })
        .or_else(|| {
            let app = labels.get(ARGO_INSTANCE_LABEL)?;
            Some(OwnerRef { kind: OwnerKind::Application, namespace: None, name: clean(app) })
        })
}

/// The owner of a workload and its state among `owners` (`None`: the owners could not be
/// read), with its source among `sources`. `app.kubernetes.io/instance` names an owner only
/// when such an Application exists.
pub fn resolve(
    meta: &ObjectMeta,
    owners: Option<&[Arc<GitOpsOwner>]>,
    sources: &Sources,
    autoscaled: bool,
) -> Option<ServiceGitOps> {
    let found = |r: &OwnerRef| {
        owners?
            .iter()
            .find(|o| o.kind == r.kind && o.name == r.name && r.namespace.as_ref().is_none_or(|ns| *ns == o.namespace))
            .map(|o| (**o).clone())
    };
    let owner = owner_ref(meta).or_else(|| {
        let app = meta.labels.as_ref()?.get(APP_INSTANCE_LABEL)?;
        let r = OwnerRef { kind: OwnerKind::Application, namespace: None, name: clean(app) };
        found(&r).map(|_| r)
    })?;
    let state = found(&owner);
    let drift = drift(meta.managed_fields.as_deref().unwrap_or_default(), autoscaled);
    let source = state.as_ref().and_then(|o| o.source.clone()).map(|r| ServiceSource::find(r, sources));
    Some(ServiceGitOps { owner, state, drift, source })
}

/// The fields a GitOps manager applied that another manager changed after its last apply.
/// An Update moves the fields it changes to its own manager, so a tracked field held by
/// another manager, written after the GitOps apply, is a change the next reconcile reverts.
/// With an autoscaler the replicas are its business, not drift.
pub fn drift(managed: &[ManagedFieldsEntry], autoscaled: bool) -> Vec<Drift> {
    let is_gitops = |e: &ManagedFieldsEntry| e.manager.as_deref().is_some_and(|m| GITOPS_MANAGERS.contains(&m));
    let Some(applied) = managed.iter().filter(|e| is_gitops(e)).map(|e| e.time.as_ref().map(|t| t.0)).max() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in managed.iter().filter(|e| !is_gitops(e)) {
        let time = e.time.as_ref().map(|t| t.0);
        if matches!((time, applied), (Some(t), Some(a)) if t < a) {
            continue;
        }
        let Some(fields) = e.fields_v1.as_ref().map(|f| &f.0) else { continue };
        for field in tracked_fields(fields) {
            if autoscaled && field == "spec.replicas" {
                continue;
            }
            let operation = match &e.subresource {
                Some(sub) => format!("{} /{}", e.operation.as_deref().unwrap_or("Update"), sub),
                None => e.operation.clone().unwrap_or_else(|| "Update".into()),
            };
            out.push(Drift { field, manager: clean(e.manager.as_deref().unwrap_or("unknown")), operation, time });
        }
    }
    out
}

/// The fields the cockpit cares about in a `fieldsV1` set: `spec.replicas`, each
/// container's image and env (or `containers` when the set names the list as a whole).
fn tracked_fields(fields: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if fields.pointer("/f:spec/f:replicas").is_some() {
        out.push("spec.replicas".to_string());
    }
    if let Some(containers) = fields.pointer("/f:spec/f:template/f:spec/f:containers").and_then(Value::as_object) {
        if containers.is_empty() {
            out.push("containers".to_string());
        }
        for (key, container) in containers {
            let Some(name) = container_name(key) else { continue };
            for (f, what) in [("f:image", "image"), ("f:env", "env")] {
                if container.get(f).is_some() {
                    out.push(format!("{what} of container {}", clean(&name)));
                }
            }
        }
    }
    out
}

/// `k:{"name":"api"}` → `api`.
fn container_name(key: &str) -> Option<String> {
    let value: Value = serde_json::from_str(key.strip_prefix("k:")?).ok()?;
    value["name"].as_str().map(String::from)
}

/// A `fieldsV1` set cut down to the fields [`drift`] reads (`None`: none of them).
pub fn compact_fields(fields: &Value) -> Option<Value> {
    let mut out = serde_json::Map::new();
    let mut spec = serde_json::Map::new();
    if fields.pointer("/f:spec/f:replicas").is_some() {
        spec.insert("f:replicas".into(), Value::Object(Default::default()));
    }
    if let Some(containers) = fields.pointer("/f:spec/f:template/f:spec/f:containers").and_then(Value::as_object) {
        let kept: serde_json::Map<String, Value> = containers
            .iter()
            .filter_map(|(k, c)| {
                let inner: serde_json::Map<String, Value> = ["f:image", "f:env"]
                    .into_iter()
                    .filter(|f| c.get(*f).is_some())
                    .map(|f| (f.to_string(), Value::Object(Default::default())))
                    .collect();
                (!inner.is_empty()).then(|| (k.clone(), Value::Object(inner)))
            })
            .collect();
        if containers.is_empty() || !kept.is_empty() {
            spec.insert("f:template".into(), serde_json::json!({"f:spec": {"f:containers": Value::Object(kept)}}));
        }
    }
    if spec.is_empty() {
        return None;
    }
    out.insert("f:spec".into(), Value::Object(spec));
    Some(Value::Object(out))
}

/// The managed fields an object is stored with: GitOps entries (their time says when they
/// last applied) and every entry that holds a field [`drift`] reads, cut down to those.
pub fn compact_managed_fields(entries: Vec<ManagedFieldsEntry>) -> Option<Vec<ManagedFieldsEntry>> {
    let kept: Vec<ManagedFieldsEntry> = entries
        .into_iter()
        .filter_map(|e| {
            let gitops = e.manager.as_deref().is_some_and(|m| GITOPS_MANAGERS.contains(&m));
            let fields = e.fields_v1.as_ref().and_then(|f| compact_fields(&f.0));
            if fields.is_none() && !gitops {
                return None;
            }
            Some(ManagedFieldsEntry {
                manager: e.manager,
                operation: e.operation,
                subresource: e.subresource,
                time: e.time,
                fields_v1: fields.map(k8s_openapi::apimachinery::pkg::apis::meta::v1::FieldsV1),
                ..Default::default()
            })
        })
        .collect();
    (!kept.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: Value) -> ObjectMeta {
        serde_json::from_value(v).unwrap()
    }

    fn owner(kind: OwnerKind, obj: Value) -> GitOpsOwner {
        GitOpsOwner::read(kind, &meta(obj["metadata"].clone()), &obj["spec"], &obj["status"])
    }

    #[test]
    fn flux_owner_reads_ready_suspend_revision_interval() {
        let ks = owner(
            OwnerKind::Kustomization,
            json!({"metadata": {"namespace": "flux-system", "name": "apps"},
                   "spec": {"interval": "10m", "suspend": false},
                   "status": {"lastAppliedRevision": "main@sha1:abc",
                              "conditions": [{"type": "Ready", "status": "False", "reason": "BuildFailed",
                                              "message": "kustomize build failed\u{1b}[31m"}]}}),
        );
        assert_eq!(ks.interval.as_deref(), Some("10m"));
        assert_eq!(ks.revision.as_deref(), Some("main@sha1:abc"));
        assert_eq!(ks.state().badge(), "not ready: kustomize build failed");
        let suspended =
            owner(OwnerKind::HelmRelease, json!({"metadata": {"name": "x"}, "spec": {"suspend": true}, "status": {}}));
        assert_eq!(suspended.state(), OwnerState::Suspended);
        assert!(!suspended.is_synced());
    }

    #[test]
    fn argo_without_automated_is_suspended() {
        let app = json!({"metadata": {"namespace": "argocd", "name": "shop"},
            "spec": {"syncPolicy": {"automated": {"prune": true}}},
            "status": {"sync": {"status": "Synced", "revision": "abc"}, "health": {"status": "Healthy"}}});
        let a = owner(OwnerKind::Application, app.clone());
        assert!(a.is_synced());
        assert_eq!(a.revision.as_deref(), Some("abc"));
        let mut manual = app;
        manual["spec"] = json!({});
        assert_eq!(owner(OwnerKind::Application, manual).state(), OwnerState::Suspended);
    }

    #[test]
    fn argo_suspend_keeps_the_automated_policy_and_resume_restores_it() {
        let app = json!({"metadata": {"namespace": "argocd", "name": "shop"},
            "spec": {"syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}, "status": {}});
        let a = owner(OwnerKind::Application, app);
        let suspend = a.suspend_patch(true);
        assert_eq!(suspend["spec"]["syncPolicy"]["automated"], Value::Null);
        let kept = suspend["metadata"]["annotations"][ARGO_AUTOMATED_ANNOTATION].as_str().unwrap().to_string();
        let suspended = owner(
            OwnerKind::Application,
            json!({"metadata": {"namespace": "argocd", "name": "shop", "annotations": {ARGO_AUTOMATED_ANNOTATION: kept}},
                   "spec": {"syncPolicy": {}}, "status": {}}),
        );
        assert_eq!(suspended.state(), OwnerState::Suspended);
        let resume = suspended.suspend_patch(false);
        assert_eq!(resume["spec"]["syncPolicy"]["automated"], json!({"prune": true, "selfHeal": true}));
        assert_eq!(resume["metadata"]["annotations"][ARGO_AUTOMATED_ANNOTATION], Value::Null);
        let flux = owner(OwnerKind::Kustomization, json!({"metadata": {"name": "apps"}, "spec": {}, "status": {}}));
        assert_eq!(flux.suspend_patch(true), json!({"spec": {"suspend": true}}));
    }

    #[test]
    fn owner_refs_from_labels_and_tracking_id() {
        let flux =
            meta(json!({"labels": {FLUX_KUSTOMIZATION_NAME: "apps", FLUX_KUSTOMIZATION_NAMESPACE: "flux-system"}}));
        assert_eq!(
            owner_ref(&flux),
            Some(OwnerRef {
                kind: OwnerKind::Kustomization,
                namespace: Some("flux-system".into()),
                name: "apps".into()
            })
        );
        let hr = meta(json!({"labels": {FLUX_HELM_NAME: "web", FLUX_HELM_NAMESPACE: "shop"}}));
        assert_eq!(owner_ref(&hr).unwrap().kind, OwnerKind::HelmRelease);
        let argo = meta(json!({"annotations": {ARGO_TRACKING_ANNOTATION: "shop:apps/Deployment:shop/api"}}));
        assert_eq!(owner_ref(&argo).unwrap().name, "shop");
        let helm_only = meta(json!({"labels": {APP_INSTANCE_LABEL: "web"}}));
        assert_eq!(owner_ref(&helm_only), None);
        assert!(resolve(&helm_only, Some(&[]), &Sources::default(), false).is_none(), "no Application named web");
        let app = Arc::new(owner(
            OwnerKind::Application,
            json!({"metadata": {"namespace": "argocd", "name": "web"}, "spec": {}, "status": {}}),
        ));
        let found = resolve(&helm_only, Some(&[app]), &Sources::default(), false).unwrap();
        assert_eq!(found.describe(), "Argo CD Application argocd/web");
    }

    #[test]
    fn synced_says_whether_the_owner_or_its_source_holds_it_back() {
        use source::{GitOpsSource, SourceKind};
        let workload =
            meta(json!({"labels": {FLUX_KUSTOMIZATION_NAME: "apps", FLUX_KUSTOMIZATION_NAMESPACE: "flux-system"}}));
        let ks = |ready: &str| {
            Arc::new(owner(
                OwnerKind::Kustomization,
                json!({"metadata": {"namespace": "flux-system", "name": "apps"},
                       "spec": {"sourceRef": {"kind": "GitRepository", "name": "fleet"}},
                       "status": {"lastAppliedRevision": "main@sha1:aaa",
                                  "conditions": [{"type": "Ready", "status": ready, "message": "build failed"}]}}),
            ))
        };
        let repo = GitOpsSource::read(
            SourceKind::GitRepository,
            &meta(json!({"namespace": "flux-system", "name": "fleet"})),
            &json!({}),
            &json!({"artifact": {"revision": "main@sha1:aaa"}, "conditions": [{"type": "Ready", "status": "True"}]}),
        );
        let sources = Sources { read: vec![Arc::new(repo)], readable: SourceKind::READ.to_vec() };
        let synced = |owner| resolve(&workload, Some(&[owner]), &sources, false).unwrap().synced();
        assert!(synced(ks("True")).is_ok());
        assert_eq!(
            synced(ks("False")),
            Err("owner Flux Kustomization flux-system/apps not ready: build failed".into())
        );
        let unread = resolve(&workload, Some(&[ks("True")]), &Sources::default(), false).unwrap();
        assert!(unread.synced().unwrap_err().contains("could not be read"), "Ready alone is not synced");
    }

    fn entry(manager: &str, operation: &str, sub: Option<&str>, time: &str, fields: Value) -> ManagedFieldsEntry {
        serde_json::from_value(json!({"manager": manager, "operation": operation, "subresource": sub,
            "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields}))
        .unwrap()
    }

    #[test]
    fn a_scale_after_the_apply_is_drift_naming_the_manager() {
        let managed = vec![
            entry(
                "kustomize-controller",
                "Apply",
                None,
                "2026-12-04T02:00:00Z",
                json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}}}}}}}),
            ),
            entry("kubectl", "Update", Some("scale"), "2026-12-04T02:10:00Z", json!({"f:spec": {"f:replicas": {}}})),
            entry("old-tool", "Update", None, "2026-12-04T01:00:00Z", json!({"f:spec": {"f:replicas": {}}})),
        ];
        let found = drift(&managed, false);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].describe(), "spec.replicas changed by kubectl (Update /scale) at 2026-12-04T02:10:00Z");
        assert!(drift(&managed, true).is_empty(), "an autoscaler owns the replicas");
        assert!(drift(&managed[1..], false).is_empty(), "no GitOps apply: nothing to revert to");
    }

    #[test]
    fn compacting_keeps_what_drift_reads() {
        let full = json!({"f:metadata": {"f:labels": {}}, "f:spec": {"f:replicas": {}, "f:selector": {},
            "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}, "f:ports": {}}}}}}});
        assert_eq!(
            compact_fields(&full),
            Some(json!({"f:spec": {"f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"api\"}": {"f:image": {}}}}}}}))
        );
        assert_eq!(compact_fields(&json!({"f:status": {"f:replicas": {}}})), None);
        let kept = compact_managed_fields(vec![
            entry("kube-controller-manager", "Update", Some("status"), "2026-12-04T02:00:00Z", json!({"f:status": {}})),
            entry("kustomize-controller", "Apply", None, "2026-12-04T02:00:00Z", json!({"f:metadata": {}})),
        ])
        .unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].manager.as_deref(), Some("kustomize-controller"));
    }
}
