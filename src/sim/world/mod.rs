//! The simulated world: scenarios (manifests + behaviour + timeline), the controllers
//! that make objects behave like Kubernetes (deployment, replicaset, statefulset,
//! kubelet, disruption, HPA, garbage collector) and the pods' log generators.
//!
//! Contract with the API server half (`sim::start` calls these):
//! - [`load`] parses a scenario (precise errors, nothing started);
//! - [`seed`] puts its objects in the store before the server answers its first request;
//! - [`run`] drives controllers, kubelet, log generators and the timeline until dropped.

use std::path::PathBuf;
use std::sync::Arc;

use super::logs::LogStore;
use super::spec::{FaultSink, UserSpec};
use super::store::Store;

/// Where a scenario comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioSource {
    /// A scenario compiled into the binary (`demo`, ...).
    Builtin(String),
    /// A scenario YAML file.
    File(PathBuf),
    /// A directory of plain manifests, run with healthy default behaviour.
    Manifests(PathBuf),
    /// A generated large cluster with about this many pods (benchmarks).
    Large { pods: usize },
}

/// A parsed scenario, ready to seed and run.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub name: String,
    /// Bearer-token users; empty means every request is `admin`.
    pub users: Vec<UserSpec>,
}

/// Everything the world may touch.
#[derive(Clone)]
pub struct WorldContext {
    pub store: Arc<Store>,
    pub logs: Arc<LogStore>,
    pub faults: Arc<dyn FaultSink>,
}

pub fn load(source: &ScenarioSource) -> color_eyre::Result<Scenario> {
    Ok(Scenario { name: format!("{source:?}"), users: Vec::new() })
}

pub fn seed(_scenario: &Scenario, ctx: &WorldContext) -> color_eyre::Result<()> {
    let namespaces = super::resources::resource("namespaces").expect("namespaces are served");
    for ns in ["default", "kube-system"] {
        if ctx.store.get(namespaces, "", ns).is_none() {
            ctx.store.create(namespaces, serde_json::json!({"metadata": {"name": ns}}))?;
        }
    }
    Ok(())
}

pub async fn run(_scenario: Scenario, _ctx: WorldContext) {
    std::future::pending::<()>().await
}
