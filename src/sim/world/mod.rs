//! The simulated world: scenarios (manifests + behaviour + timeline), the controllers
//! that make objects behave like Kubernetes (deployment, replicaset, statefulset,
//! kubelet, disruption, HPA, garbage collector) and the pods' log generators.
//!
//! Contract with the API server half (`sim::start` calls these):
//! - [`load`] parses a scenario (precise errors, nothing started);
//! - [`seed`] puts its objects in the store before the server answers its first request;
//! - [`run`] drives controllers, kubelet, log generators and the timeline until dropped.
//!
//! The scenario format is described in [`scenario`]; the built-in scenarios live in
//! `assets/scenarios/`.

pub mod behaviour;
pub mod controllers;
pub mod events;
pub mod large;
pub mod objects;
pub mod runtime;
pub mod scenario;
pub mod settle;
pub mod timeline;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use color_eyre::eyre::WrapErr;
use serde_json::{Value, json};

use super::logs::LogStore;
use super::resources::{ResourceType, resource, resource_by_kind};
use super::spec::{FaultSink, UserSpec};
use super::store::Store;
use behaviour::SimConfig;

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
    /// Manifests, in file order.
    pub(crate) objects: Vec<Value>,
    pub(crate) sim: SimConfig,
    /// A generated cluster of about this many pods (seeded in code, not from manifests).
    pub(crate) large: Option<usize>,
}

impl Scenario {
    /// Plays the scenario faster (< 1) or slower (> 1) than written: every delay —
    /// probes, start times, back-offs, deadlines, log intervals, timeline — is multiplied.
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        if scale > 0.0 && scale.is_finite() {
            self.sim.time_scale = scale;
        }
        self
    }

    pub fn time_scale(&self) -> f64 {
        self.sim.time_scale
    }

    /// Names of the namespaces the scenario's manifests use.
    pub fn namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .objects
            .iter()
            .map(|o| match objects::str_at(o, "/kind") {
                "Namespace" => objects::name(o).to_string(),
                _ => objects::namespace(o).to_string(),
            })
            .filter(|n| !n.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Names of the scenarios compiled into the binary.
pub fn builtin_names() -> Vec<&'static str> {
    scenario::BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// Everything the world may touch.
#[derive(Clone)]
pub struct WorldContext {
    pub store: Arc<Store>,
    pub logs: Arc<LogStore>,
    pub faults: Arc<dyn FaultSink>,
}

pub fn load(source: &ScenarioSource) -> color_eyre::Result<Scenario> {
    match source {
        ScenarioSource::Builtin(name) => {
            let Some((_, text)) = scenario::BUILTINS.iter().find(|(n, _)| n == name) else {
                return Err(crate::exit::usage(format!(
                    "unknown built-in scenario {name:?}: expected one of {} or a path to a scenario file",
                    builtin_names().join(", ")
                )));
            };
            from_parsed(name, vec![parse(&crate::config::diagnostic::builtin_path("scenario", name), text)?])
        }
        ScenarioSource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| crate::exit::usage(format!("{}: cannot read scenario: {e}", path.display())))?;
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_string();
            from_parsed(&name, vec![parse(path, &text)?])
        }
        ScenarioSource::Manifests(dir) => {
            let files = scenario::manifest_files(dir)
                .map_err(|e| crate::exit::usage(format!("{}: cannot read manifests directory: {e}", dir.display())))?;
            if files.is_empty() {
                return Err(crate::exit::usage(format!(
                    "{}: no *.yaml, *.yml or *.json manifests found",
                    dir.display()
                )));
            }
            let mut parsed = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| crate::exit::usage(format!("{}: cannot read manifest: {e}", file.display())))?;
                parsed.push(parse(&file, &text)?);
            }
            let name = dir.file_name().and_then(|s| s.to_str()).unwrap_or("manifests").to_string();
            from_parsed(&name, parsed)
        }
        ScenarioSource::Large { pods } => Ok(large::scenario(*pods)),
    }
}

fn parse(file: &std::path::Path, text: &str) -> color_eyre::Result<scenario::Parsed> {
    scenario::parse_file(file, text).map_err(|d| crate::exit::usage(d.to_string()))
}

fn from_parsed(default_name: &str, parts: Vec<scenario::Parsed>) -> color_eyre::Result<Scenario> {
    let mut out = Scenario { name: default_name.to_string(), ..Scenario::default() };
    let mut sim_seen = false;
    for part in parts {
        if let Some(sim) = part.sim {
            if sim_seen {
                return Err(crate::exit::usage("more than one Scenario document across the manifests"));
            }
            sim_seen = true;
            out.sim = sim;
            out.users = part.users;
            if let Some(name) = part.name {
                out.name = name;
            }
        }
        out.objects.extend(part.objects);
    }
    Ok(out)
}

/// The order objects are created in: what others refer to first.
fn seed_rank(rt: &ResourceType) -> u8 {
    match rt.plural {
        "namespaces" | "customresourcedefinitions" => 0,
        "nodes" => 1,
        "serviceaccounts" | "configmaps" | "secrets" | "persistentvolumeclaims" => 2,
        "services" | "endpoints" => 3,
        "poddisruptionbudgets" => 5,
        "horizontalpodautoscalers" => 6,
        _ => 4,
    }
}

pub fn seed(scenario: &Scenario, ctx: &WorldContext) -> color_eyre::Result<()> {
    let store = &ctx.store;
    let namespaces = resource("namespaces").expect("namespaces are served");
    let mut wanted: Vec<String> = vec!["default".into(), "kube-system".into(), "kube-public".into()];
    wanted.extend(scenario.namespaces());
    for ns in wanted {
        if store.get(namespaces, "", &ns).is_none() {
            store.create(namespaces, namespace_object(&ns))?;
        }
    }
    let nodes = resource("nodes").expect("nodes are served");
    for (index, node) in scenario.sim.nodes.iter().enumerate() {
        if store.get(nodes, "", &node.name).is_none() {
            store.create(nodes, controllers::kubelet::node_object(node, index))?;
        }
    }
    if let Some(pods) = scenario.large {
        return large::seed(ctx, pods);
    }
    let mut objects: Vec<(&'static ResourceType, Value)> = Vec::new();
    // Custom resources wait for the scenario's CRDs (created with the built-in kinds).
    let mut custom: Vec<&Value> = Vec::new();
    for obj in &scenario.objects {
        if scenario::is_custom_group(obj) {
            custom.push(obj);
            continue;
        }
        let rt = resource_by_kind(objects::str_at(obj, "/apiVersion"), objects::str_at(obj, "/kind"))
            .ok_or_else(|| color_eyre::eyre::eyre!("unserved kind in scenario {}", scenario.name))?;
        let mut obj = obj.clone();
        if rt.namespaced && objects::namespace(&obj).is_empty() {
            obj["metadata"]["namespace"] = json!("default");
        }
        objects.push((rt, obj));
    }
    objects.sort_by_key(|(rt, _)| seed_rank(rt));
    let mut seeded = Vec::new();
    for (rt, obj) in objects {
        if rt.plural == "namespaces" && store.get(rt, "", objects::name(&obj)).is_some() {
            let name = objects::name(&obj).to_string();
            store.modify_with(rt, "", &name, |ns| ns["metadata"]["labels"] = obj["metadata"]["labels"].clone());
            continue;
        }
        let label = format!("{} {}/{}", rt.kind, objects::namespace(&obj), objects::name(&obj));
        let created = store
            .create(rt, prepare_for_create(rt, obj))
            .map_err(|e| crate::exit::usage(format!("scenario {}: cannot create {label}: {e}", scenario.name)))
            .wrap_err("seeding the simulated cluster")?;
        seeded.push((rt, created));
    }
    for obj in custom {
        let (api_version, kind) = (objects::str_at(obj, "/apiVersion"), objects::str_at(obj, "/kind"));
        let label = format!("{kind} {}/{}", objects::namespace(obj), objects::name(obj));
        let rt = store.resource_by_kind(api_version, kind).ok_or_else(|| {
            crate::exit::usage(format!(
                "scenario {}: cannot create {label}: no CustomResourceDefinition in the scenario serves {api_version} {kind}",
                scenario.name
            ))
        })?;
        let mut obj = obj.clone();
        if rt.namespaced && objects::namespace(&obj).is_empty() {
            obj["metadata"]["namespace"] = json!("default");
        }
        let created = store
            .create(rt, prepare_for_create(rt, obj))
            .map_err(|e| crate::exit::usage(format!("scenario {}: cannot create {label}: {e}", scenario.name)))
            .wrap_err("seeding the simulated cluster")?;
        seeded.push((rt, created));
    }
    if scenario.sim.settled {
        settle_seeded(scenario, ctx, &seeded).wrap_err("settling the simulated cluster")?;
    }
    Ok(())
}

/// Backdates what the scenario seeded, then seeds the Deployments that would just run
/// as finished rollouts (see [`settle`]).
fn settle_seeded(
    scenario: &Scenario,
    ctx: &WorldContext,
    seeded: &[(&'static ResourceType, Arc<Value>)],
) -> color_eyre::Result<()> {
    let store = &ctx.store;
    let namespaces = resource("namespaces").expect("namespaces are served");
    for ns in store.list(namespaces, None).0 {
        let secs = settle::created_secs_ago("", objects::name(&ns)) + 20 * 86_400;
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs as i64);
        store.backdate(namespaces, "", objects::name(&ns), &at.round(jiff::Unit::Second).unwrap_or(at).to_string());
    }
    let mut placement = 0;
    for (rt, obj) in seeded.iter().filter(|(rt, _)| !rt.is("", "namespaces")) {
        let (ns, name) = (objects::namespace(obj), objects::name(obj));
        let secs = settle::created_secs_ago(ns, name);
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs as i64);
        store.backdate(rt, ns, name, &at.round(jiff::Unit::Second).unwrap_or(at).to_string());
        if rt.is("apps", "deployments") {
            if let Some(replicas) = settle::hpa_replicas(ctx, &scenario.sim, obj) {
                store.modify_with(rt, ns, name, |d| d["spec"]["replicas"] = json!(replicas));
            }
            let current = store.get(rt, ns, name).unwrap_or_else(|| obj.clone());
            settle::settle_deployment(ctx, &scenario.sim, &current, &mut placement)?;
        }
        if rt.is("apps", "statefulsets") {
            let current = store.get(rt, ns, name).unwrap_or_else(|| obj.clone());
            settle::settle_statefulset(ctx, &scenario.sim, &current, &mut placement)?;
        }
    }
    Ok(())
}

fn namespace_object(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// Server-side defaults a real API server would fill on create (the ones the
/// controllers and kubectl read).
fn prepare_for_create(rt: &ResourceType, mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for server_owned in ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"] {
            meta.remove(server_owned);
        }
    }
    // Controllers write the status of built-in kinds; no operator runs here, so a custom
    // resource keeps the status its manifest gives (what its operator would have set).
    if let Some(map) = obj.as_object_mut()
        && rt.custom.is_none()
    {
        map.remove("status");
    }
    controllers::defaults::apply(rt, &mut obj);
    obj
}

pub async fn run(scenario: Scenario, ctx: WorldContext) {
    runtime::run_world(scenario, ctx).await
}
