//! What database discovery reads besides the watched workloads: the ConfigMaps pod
//! templates take database settings from, and only those (a cluster's ConfigMaps are
//! many, and none of the others is any of the cockpit's business).
//!
//! They are read once per reference, when the templates that reference them change, not
//! watched: an env var takes its value from a ConfigMap when the container starts, so an
//! edit reaches running pods only through a new template (a restart), which reads it again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec};
use kube::api::Api;
use tokio::sync::{Notify, watch as latest};
use tokio::task::JoinHandle;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::collection::{Collection, custom_resource};
use crate::model::changes::Changes;
use crate::model::discovery::{self, Operator, OperatorCluster, Setting};
use crate::model::sanitize::clean;

type Name = (String, String);

/// The ConfigMaps read so far, and why some could not be.
#[derive(Default)]
pub struct ConfigMaps {
    inner: Mutex<Read>,
}

#[derive(Default)]
struct Read {
    data: BTreeMap<Name, BTreeMap<String, String>>,
    /// A reference that could not be read, and why (shown on the budget screen).
    unread: BTreeMap<Name, String>,
}

impl ConfigMaps {
    pub fn data(&self) -> BTreeMap<Name, BTreeMap<String, String>> {
        self.lock().data.clone()
    }

    pub fn notes(&self) -> Vec<String> {
        self.lock().unread.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Read> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The workloads' pod templates, and a signal that one of them changed.
pub struct Templates {
    pub deployments: Arc<Collection<Deployment>>,
    pub statefulsets: Arc<Collection<StatefulSet>>,
    pub changed: Arc<Notify>,
}

impl Templates {
    /// Every ConfigMap a template references for its database settings.
    fn referenced(&self) -> BTreeSet<Name> {
        let mut wanted = BTreeSet::new();
        let mut add = |meta: &ObjectMeta, spec: Option<&PodSpec>| {
            let (Some(ns), Some(spec)) = (meta.namespace.as_ref(), spec) else { return };
            wanted.extend(discovery::config_maps_to_read(spec).into_iter().map(|name| (ns.clone(), name)));
        };
        for d in self.deployments.snapshot() {
            add(&d.metadata, d.spec.template.spec.as_ref());
        }
        for s in self.statefulsets.snapshot() {
            add(&s.metadata, s.spec.template.spec.as_ref());
        }
        wanted
    }
}

/// Reads the ConfigMaps the templates reference.
#[derive(Clone)]
pub struct ConfigMapReader {
    pub client: kube::Client,
    pub store: Arc<ConfigMaps>,
    pub templates: Arc<Templates>,
}

impl ConfigMapReader {
    /// Reads what the templates reference now and was not read yet, and forgets what
    /// they no longer reference. Returns whether anything changed.
    pub async fn refresh(&self) -> bool {
        let wanted = self.templates.referenced();
        let (mut moved, missing) = {
            let mut read = self.store.lock();
            let before = read.data.len() + read.unread.len();
            read.data.retain(|k, _| wanted.contains(k));
            read.unread.retain(|k, _| wanted.contains(k));
            let missing: Vec<Name> = wanted
                .iter()
                .filter(|k| !read.data.contains_key(*k) && !read.unread.contains_key(*k))
                .cloned()
                .collect();
            (before != read.data.len() + read.unread.len(), missing)
        };
        for (namespace, name) in missing {
            let answer = Api::<ConfigMap>::namespaced(self.client.clone(), &namespace).get_opt(&name).await;
            let mut read = self.store.lock();
            let shown = format!("ConfigMap {namespace}/{}", clean(&name));
            let key = (namespace, name);
            match answer {
                Ok(Some(cm)) => {
                    read.data.insert(key, cm.data.unwrap_or_default());
                }
                Ok(None) => {
                    read.unread.insert(key, format!("{shown} does not exist"));
                }
                Err(kube::Error::Api(e)) if e.code == 403 => {
                    read.unread.insert(key, format!("{shown} cannot be read (no RBAC access)"));
                }
                // Anything else (a timeout, the server away) is asked again at the next change.
                Err(_) => continue,
            }
            moved = true;
        }
        moved
    }

    /// Reads again whenever the templates change; a change tells the model to discover again.
    pub fn spawn(self, changes: Arc<Mutex<Changes>>, pulse: latest::Sender<u64>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.templates.changed.notified().await;
                if self.refresh().await {
                    changes.lock().unwrap_or_else(|p| p.into_inner()).network();
                    pulse.send_modify(|n| *n = n.wrapping_add(1));
                }
            }
        })
    }
}

custom_resource!(CnpgCluster: "Cluster" in "postgresql.cnpg.io"/"v1" as "clusters",
    kept as OperatorCluster, by |meta, spec, _| operator_cluster(Operator::CloudNativePg, meta, spec));
custom_resource!(ZalandoCluster: "postgresql" in "acid.zalan.do"/"v1" as "postgresqls",
    kept as OperatorCluster, by |meta, spec, _| operator_cluster(Operator::Zalando, meta, spec));

/// What the budget reads of an operator's cluster: instances (`spec.instances`,
/// `spec.numberOfInstances`) and `spec.postgresql.parameters.max_connections`, which both
/// operators take as a string (a number is accepted too).
fn operator_cluster(operator: Operator, meta: &ObjectMeta, spec: &serde_json::Value) -> OperatorCluster {
    let count = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_u64().map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        serde_json::Value::String(s) => crate::model::count::parse_count(s),
        _ => None,
    };
    let instances = match operator {
        Operator::CloudNativePg => &spec["instances"],
        Operator::Zalando => &spec["numberOfInstances"],
    };
    OperatorCluster {
        operator,
        namespace: clean(meta.namespace.as_deref().unwrap_or_default()),
        name: clean(meta.name.as_deref().unwrap_or_default()),
        instances: count(instances),
        max_connections: match &spec["postgresql"]["parameters"]["max_connections"] {
            serde_json::Value::Null => Setting::NotSet,
            set => count(set).map_or_else(|| Setting::Unreadable(clean(&set.to_string())), Setting::Set),
        },
    }
}

/// Whether the API server serves `plural` in `group_version` (an operator's CRD is
/// installed, at that version: Flux served OCIRepositories at v1beta2 before v1). Only a
/// 404 or a group without that resource means "not installed"; any other failure is left
/// to the watch to report.
pub async fn serves(client: &kube::Client, group_version: &str, plural: &str) -> bool {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => list.resources.iter().any(|r| r.name == plural),
        Err(kube::Error::Api(e)) => e.code != 404,
        Err(_) => true,
    }
}
