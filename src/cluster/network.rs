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

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::collection::{Collection, Watched};
use crate::model::changes::{Change, Changes};
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
        let specs = self
            .deployments
            .snapshot()
            .into_iter()
            .filter_map(|d| Some((d.metadata.namespace.clone()?, d.spec.template.spec.clone()?)))
            .chain(
                self.statefulsets
                    .snapshot()
                    .into_iter()
                    .filter_map(|s| Some((s.metadata.namespace.clone()?, s.spec.template.spec.clone()?))),
            )
            .collect::<Vec<(String, PodSpec)>>();
        specs
            .iter()
            .flat_map(|(ns, spec)| discovery::config_maps_to_read(spec).into_iter().map(move |name| (ns.clone(), name)))
            .collect()
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

/// An operator's PostgreSQL cluster resource, read for the few fields the budget needs;
/// everything else in its spec is ignored (and an odd spec reads as "not set").
macro_rules! operator_resource {
    ($name:ident, $kind:literal, $group:literal, $version:literal, $plural:literal, $operator:expr) => {
        #[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
        pub struct $name {
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: serde_json::Value,
        }

        impl kube::Resource for $name {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;
            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
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
            type Stored = OperatorCluster;
            type Memo = ();
            fn keep(self, _: &mut ()) -> OperatorCluster {
                operator_cluster($operator, self.metadata, &self.spec)
            }
            fn classify(old: Option<&OperatorCluster>, new: &OperatorCluster) -> Change {
                if old == Some(new) { Change::None } else { Change::Structure }
            }
        }
    };
}

operator_resource!(CnpgCluster, "Cluster", "postgresql.cnpg.io", "v1", "clusters", Operator::CloudNativePg);
operator_resource!(ZalandoCluster, "postgresql", "acid.zalan.do", "v1", "postgresqls", Operator::Zalando);

/// What the budget reads of an operator's cluster: instances (`spec.instances`,
/// `spec.numberOfInstances`) and `spec.postgresql.parameters.max_connections`, which both
/// operators take as a string (a number is accepted too).
fn operator_cluster(operator: Operator, meta: ObjectMeta, spec: &serde_json::Value) -> OperatorCluster {
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

/// Whether the API server serves `group_version` (an operator's CRD is installed). Only a
/// 404 means "not installed"; any other failure is left to the watch to report.
pub async fn serves(client: &kube::Client, group_version: &str) -> bool {
    !matches!(client.list_api_group_resources(group_version).await, Err(kube::Error::Api(e)) if e.code == 404)
}
