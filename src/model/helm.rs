//! Helm awareness: the release a workload belongs to and the release's revision history,
//! from the *metadata* of Helm's release Secrets (`sh.helm.release.v1.<release>.v<N>`,
//! labels `name`, `owner=helm`, `status`, `version`). The Secrets' bodies (the encoded
//! release, chart values included) are never read, so the chart and app version of a
//! revision are not known from its Secret: the workload's own labels (`helm.sh/chart`,
//! `app.kubernetes.io/version`) give them for the revision that is running.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::sanitize::clean;

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
const CHART_LABEL: &str = "helm.sh/chart";
const APP_VERSION_LABEL: &str = "app.kubernetes.io/version";
const SECRET_PREFIX: &str = "sh.helm.release.v1.";

// The release and its revisions are part of the service row ([`Service::helm`]); the
// names stay reachable here, where operators look for Helm.
pub use super::service::{HelmRelease, HelmRevision};

/// The release named by a workload's Helm labels and annotations, with its history from
/// `secrets` (release Secrets' metadata; `None`: they could not be listed).
pub fn release_of(meta: &ObjectMeta, secrets: Option<&[Arc<ObjectMeta>]>) -> Option<HelmRelease> {
    let labels = meta.labels.as_ref()?;
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some("Helm") {
        return None;
    }
    let annotations = meta.annotations.as_ref()?;
    let name = annotations.get(RELEASE_NAME_ANNOTATION)?;
    let namespace = annotations
        .get(RELEASE_NAMESPACE_ANNOTATION)
        .or(meta.namespace.as_ref())
        .map_or_else(String::new, |n| n.clone());
    Some(HelmRelease {
        name: clean(name),
        namespace: clean(&namespace),
        chart: labels.get(CHART_LABEL).map(|c| clean(c)),
        app_version: labels.get(APP_VERSION_LABEL).map(|v| clean(v)),
        history: secrets.map(|all| history(name, &namespace, all)),
    })
}

/// The revisions of `release` in `namespace`, newest first.
fn history(release: &str, namespace: &str, secrets: &[Arc<ObjectMeta>]) -> Vec<HelmRevision> {
    let mut rows: Vec<HelmRevision> = secrets
        .iter()
        .filter(|m| m.namespace.as_deref() == Some(namespace))
        .filter_map(|m| revision_of(release, m))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.revision));
    rows
}

/// A release Secret's revision, when its name and labels agree that it is one of `release`.
fn revision_of(release: &str, meta: &ObjectMeta) -> Option<HelmRevision> {
    let labels: &BTreeMap<String, String> = meta.labels.as_ref()?;
    let label = |k: &str| labels.get(k).map(String::as_str);
    if label("owner") != Some("helm") || label("name") != Some(release) {
        return None;
    }
    let revision: i64 = label("version")?.parse().ok()?;
    let expected = format!("{SECRET_PREFIX}{release}.v{revision}");
    if meta.name.as_deref() != Some(expected.as_str()) {
        return None;
    }
    let epoch = |k: &str| label(k).and_then(|s| s.parse::<i64>().ok()).and_then(|s| Timestamp::from_second(s).ok());
    Some(HelmRevision {
        revision,
        status: clean(label("status").unwrap_or("unknown")),
        created: epoch("createdAt").or_else(|| meta.creation_timestamp.as_ref().map(|t| t.0)),
        modified: epoch("modifiedAt"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(value).unwrap()
    }

    fn release_secret(release: &str, ns: &str, version: i64, status: &str) -> Arc<ObjectMeta> {
        Arc::new(meta(json!({
            "name": format!("sh.helm.release.v1.{release}.v{version}"), "namespace": ns,
            "creationTimestamp": "2025-06-01T10:00:00Z",
            "labels": {"name": release, "owner": "helm", "status": status, "version": version.to_string(),
                       "modifiedAt": "1748772000"},
        })))
    }

    fn workload() -> ObjectMeta {
        meta(json!({
            "name": "docs", "namespace": "web",
            "labels": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "docs-1.4.2",
                       "app.kubernetes.io/version": "2.3.0"},
            "annotations": {"meta.helm.sh/release-name": "docs", "meta.helm.sh/release-namespace": "web"},
        }))
    }

    #[test]
    fn a_helm_workload_shows_its_release_history_newest_first() {
        let secrets = vec![
            release_secret("docs", "web", 1, "superseded"),
            release_secret("docs", "web", 3, "deployed"),
            release_secret("docs", "web", 2, "superseded"),
            release_secret("other", "web", 7, "deployed"),
            release_secret("docs", "elsewhere", 9, "deployed"),
        ];
        let release = release_of(&workload(), Some(&secrets)).expect("a Helm release");
        assert_eq!((release.name.as_str(), release.namespace.as_str()), ("docs", "web"));
        assert_eq!(release.chart.as_deref(), Some("docs-1.4.2"));
        assert_eq!(release.app_version.as_deref(), Some("2.3.0"));
        let history = release.history.as_ref().unwrap();
        assert_eq!(history.iter().map(|r| r.revision).collect::<Vec<_>>(), [3, 2, 1]);
        assert_eq!(release.deployed().map(|r| r.revision), Some(3));
        assert_eq!(release.rollback_candidate().map(|r| r.revision), Some(2));
        assert_eq!(history[0].modified, Some(Timestamp::from_second(1_748_772_000).unwrap()));
        assert_eq!(history[0].created, Some("2025-06-01T10:00:00Z".parse().unwrap()), "no createdAt label");
        assert_eq!(release.rollback_command(2), "helm rollback docs 2 -n web");
    }

    #[test]
    fn only_helm_managed_workloads_and_well_formed_release_secrets_count() {
        let mut not_helm = workload();
        not_helm.labels.as_mut().unwrap().insert(MANAGED_BY_LABEL.into(), "Flux".into());
        assert_eq!(release_of(&not_helm, Some(&[])), None);
        let misnamed = Arc::new(meta(json!({
            "name": "docs-backup", "namespace": "web",
            "labels": {"name": "docs", "owner": "helm", "status": "deployed", "version": "4"},
        })));
        let release = release_of(&workload(), Some(&[misnamed])).unwrap();
        assert_eq!(release.history, Some(vec![]), "a Secret not named like a release is not one");
        assert_eq!(release_of(&workload(), None).unwrap().history, None, "no access: unknown, not empty");
    }

    #[test]
    fn labels_from_the_cluster_are_sanitised() {
        let mut w = workload();
        w.labels.as_mut().unwrap().insert(CHART_LABEL.into(), "docs\u{1b}[31m-1".into());
        let release = release_of(&w, None).unwrap();
        assert!(!release.chart.unwrap().contains('\u{1b}'));
    }
}
