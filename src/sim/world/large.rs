//! A generated large cluster for benchmarks (`--pods N`): tens of namespaces, about N/10
//! deployments with services, HPAs and PDBs, a few StatefulSets, some events, and N
//! pods. Everything is seeded in the settled state the controllers would reach (pods
//! Running and Ready, statuses filled in), so the world starts with nothing to do and
//! no per-pod timers.

use std::time::Duration;

use serde_json::{Value, json};

use super::behaviour::{Behaviour, NodeConfig, SimConfig};
use super::controllers::{deployment, kubelet, replicaset, rt, statefulset};
use super::objects::{self, template_hash};
use super::{Scenario, WorldContext};

const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "billing",
    "notifications",
    "analytics",
    "media",
    "messaging",
    "inventory",
    "shipping",
    "pricing",
    "reviews",
    "recommendations",
    "ads",
    "support",
    "reporting",
    "gateway",
    "platform",
];
const STAGES: &[&str] = &["prod", "staging", "canary"];
const SERVICES: &[&str] = &[
    "api",
    "worker",
    "web",
    "scheduler",
    "consumer",
    "indexer",
    "gateway",
    "cache-warmer",
    "exporter",
    "sync",
    "webhook",
    "grpc",
    "admin",
    "ingest",
    "events",
];

/// Pods per node the generated cluster aims for.
const PODS_PER_NODE: usize = 90;

pub fn scenario(pods: usize) -> Scenario {
    let node_count = pods.div_ceil(PODS_PER_NODE).max(3);
    let nodes = (0..node_count)
        .map(|i| NodeConfig {
            name: format!("node-{:03}", i + 1),
            cpu: "32".into(),
            memory: "128Gi".into(),
            pods: 110,
            labels: [("topology.kubernetes.io/zone".to_string(), format!("zone-{}", ["a", "b", "c"][i % 3]))].into(),
        })
        .collect();
    let defaults = Behaviour { pull: Duration::from_secs(1), start: Duration::from_secs(2), ..Behaviour::default() };
    Scenario {
        name: format!("large-{pods}"),
        users: Vec::new(),
        objects: Vec::new(),
        sim: SimConfig { nodes, defaults, ..SimConfig::default() },
        large: Some(pods),
    }
}

fn namespace_names(pods: usize) -> Vec<String> {
    let count = (pods / 300).clamp(3, 60);
    (0..count).map(|i| format!("{}-{}", TEAMS[i % TEAMS.len()], STAGES[(i / TEAMS.len()) % STAGES.len()])).collect()
}

/// Replica counts around 10 that add up to `pods` exactly.
fn replica_plan(pods: usize) -> Vec<i64> {
    let workloads = (pods / 10).max(1);
    let base = (pods / workloads) as i64;
    let mut plan = vec![base; workloads];
    for (k, pair) in plan.chunks_mut(2).enumerate() {
        if pair.len() == 2 {
            let v = (k as i64 % 9).min(base - 1).max(0);
            pair[0] -= v;
            pair[1] += v;
        }
    }
    let remainder = pods - (base as usize * workloads);
    for r in plan.iter_mut().take(remainder) {
        *r += 1;
    }
    plan
}

struct Placement {
    nodes: usize,
    next: usize,
}

impl Placement {
    fn place(&mut self) -> (String, usize, usize) {
        let n = self.next;
        self.next += 1;
        let index = n % self.nodes;
        (format!("node-{:03}", index + 1), index, n / self.nodes)
    }
}

pub fn seed(ctx: &WorldContext, pods: usize) -> color_eyre::Result<()> {
    let store = &ctx.store;
    let namespaces = namespace_names(pods);
    // The store refuses objects in a namespace that does not exist, as an API server does.
    for ns in &namespaces {
        if store.get(rt("namespaces"), "", ns).is_none() {
            store.create(rt("namespaces"), super::namespace_object(ns))?;
        }
    }
    let mut placement = Placement { nodes: pods.div_ceil(PODS_PER_NODE).max(3), next: 0 };
    let since = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(26))
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| objects::now());
    let mut plan = replica_plan(pods);
    // A few StatefulSets of 3 take their pods from the plan's last entries.
    let statefulsets = (namespaces.len() / 5).max(1).min(plan.len().saturating_sub(1));
    let sts_plan: Vec<i64> = plan.split_off(plan.len() - statefulsets);
    for (i, replicas) in plan.iter().enumerate() {
        let ns = &namespaces[i % namespaces.len()];
        let service = format!(
            "{}-{}",
            SERVICES[(i / namespaces.len()) % SERVICES.len()],
            i / (namespaces.len() * SERVICES.len())
        );
        seed_deployment(ctx, ns, &service, *replicas, i, &since, &mut placement)?;
    }
    for (i, replicas) in sts_plan.iter().enumerate() {
        let ns = &namespaces[i % namespaces.len()];
        seed_statefulset(ctx, ns, &format!("db-{i}"), *replicas, &since, &mut placement)?;
    }
    Ok(())
}

fn container(ns: &str, service: &str, i: usize) -> Value {
    json!({
        "name": service.split('-').next().unwrap_or("app"),
        "image": format!("registry.example.com/{ns}/{service}:1.{}.{}", i % 17, i % 5),
        "ports": [{"containerPort": 8080, "name": "http"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/livez", "port": 8080}, "initialDelaySeconds": 10, "periodSeconds": 20},
    })
}

fn create(ctx: &WorldContext, plural: &str, mut obj: Value) -> color_eyre::Result<std::sync::Arc<Value>> {
    super::controllers::defaults::apply(rt(plural), &mut obj);
    Ok(ctx.store.create(rt(plural), obj)?)
}

fn set_status(ctx: &WorldContext, plural: &str, obj: &Value, status: Value) {
    ctx.store.modify_with(rt(plural), objects::namespace(obj), objects::name(obj), |o| o["status"] = status.clone());
}

fn seed_pod(
    ctx: &WorldContext,
    mut pod: Value,
    since: &str,
    placement: &mut Placement,
    event: bool,
) -> color_eyre::Result<()> {
    let (node, index, n) = placement.place();
    let (host_ip, ip) = kubelet::seeded_addresses(index, n);
    pod["spec"]["nodeName"] = json!(node);
    pod["status"] = kubelet::steady_status(&pod, &host_ip, &ip, since);
    let created = ctx.store.create(rt("pods"), pod)?;
    if event {
        let mut recorder = super::events::Recorder::default();
        let message =
            format!("Successfully assigned {}/{} to {node}", objects::namespace(&created), objects::name(&created));
        recorder.record(&ctx.store, &created, None, false, "Scheduled", &message, super::events::SCHEDULER);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn seed_deployment(
    ctx: &WorldContext,
    ns: &str,
    service: &str,
    replicas: i64,
    i: usize,
    since: &str,
    placement: &mut Placement,
) -> color_eyre::Result<()> {
    let labels = json!({"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": ns});
    let d = create(
        ctx,
        "deployments",
        json!({
            "metadata": {"name": service, "namespace": ns, "labels": labels, "annotations": {deployment::REVISION: "1"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container(ns, service, i)]}},
            },
        }),
    )?;
    let hash = template_hash(d.pointer("/spec/template").unwrap_or(&Value::Null), 0);
    let rs = ctx.store.create(rt("replicasets"), deployment::build_rs(&d, &hash, replicas, 1))?;
    for p in 0..replicas {
        let pod = replicaset::new_pod(&rs, rt("replicasets"), None);
        seed_pod(ctx, pod, since, placement, i.is_multiple_of(20) && p == 0)?;
    }
    set_status(
        ctx,
        "replicasets",
        &rs,
        json!({"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "observedGeneration": 1}),
    );
    let condition = |kind: &str, reason: &str, message: String| json!({"type": kind, "status": "True", "lastUpdateTime": since, "lastTransitionTime": since, "reason": reason, "message": message});
    set_status(
        ctx,
        "deployments",
        &d,
        json!({
            "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
                condition("Progressing", "NewReplicaSetAvailable", format!("ReplicaSet \"{}\" has successfully progressed.", objects::name(&rs))),
            ],
        }),
    );
    create(
        ctx,
        "services",
        json!({"metadata": {"name": service, "namespace": ns, "labels": labels}, "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    )?;
    if i.is_multiple_of(3) {
        create(
            ctx,
            "horizontalpodautoscalers",
            json!({
                "metadata": {"name": service, "namespace": ns},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
                    "minReplicas": (replicas / 2).max(1), "maxReplicas": (replicas * 2).max(2),
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
                },
            }),
        )?;
    }
    if i.is_multiple_of(2) && replicas > 1 {
        let budget =
            if i.is_multiple_of(4) { json!({"minAvailable": replicas - 1}) } else { json!({"maxUnavailable": "25%"}) };
        let mut spec = budget;
        spec["selector"] = json!({"matchLabels": labels});
        create(
            ctx,
            "poddisruptionbudgets",
            json!({"metadata": {"name": format!("{service}-pdb"), "namespace": ns}, "spec": spec}),
        )?;
    }
    Ok(())
}

fn seed_statefulset(
    ctx: &WorldContext,
    ns: &str,
    name: &str,
    replicas: i64,
    since: &str,
    placement: &mut Placement,
) -> color_eyre::Result<()> {
    let labels = json!({"app.kubernetes.io/name": name});
    let sts = create(
        ctx,
        "statefulsets",
        json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                    "name": "postgres", "image": "postgres:16.4",
                    "ports": [{"containerPort": 5432}],
                    "readinessProbe": {"exec": {"command": ["pg_isready"]}, "periodSeconds": 10},
                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}},
                }]}},
            },
        }),
    )?;
    let revision = ctx.store.create(rt("controllerrevisions"), statefulset::revision_object(&sts, 1))?;
    let revision_name = objects::name(&revision).to_string();
    for ord in 0..replicas {
        let mut pod = replicaset::new_pod(&sts, rt("statefulsets"), Some(format!("{name}-{ord}")));
        pod["metadata"]["labels"][statefulset::REVISION_LABEL] = json!(revision_name);
        pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = json!(format!("{name}-{ord}"));
        pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = json!(ord.to_string());
        pod["spec"]["hostname"] = json!(format!("{name}-{ord}"));
        pod["spec"]["subdomain"] = json!(name);
        seed_pod(ctx, pod, since, placement, false)?;
    }
    set_status(
        ctx,
        "statefulsets",
        &sts,
        json!({
            "observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "currentReplicas": replicas, "updatedReplicas": replicas, "currentRevision": revision_name,
            "updateRevision": revision_name, "collisionCount": 0,
        }),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_plan_adds_up_and_varies() {
        for pods in [10, 95, 1000, 10_000] {
            let plan = replica_plan(pods);
            assert_eq!(plan.iter().sum::<i64>() as usize, pods);
            assert!(plan.iter().all(|r| *r >= 1));
        }
        let plan = replica_plan(10_000);
        assert_eq!(plan.len(), 1000);
        assert!(plan.iter().max() > plan.iter().min());
    }
}
