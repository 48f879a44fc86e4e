//! A scenario with `settled: true` (the demo) starts like a cluster you connect to, not
//! one being installed: its objects were created hours or days ago, and every Deployment
//! whose pods would simply run is seeded finished: a few revisions of history (older
//! ReplicaSets scaled to 0), the current ReplicaSet, pods running for hours (some with a
//! restart or two and their last state), and a complete rollout status. The kubelet
//! adopts running, ready pods as they are (see `kubelet::admit`).
//!
//! Deployments with a deliberate problem are left to the controllers, so the problem
//! plays out as written: an image that crashes or is never or intermittently ready, or a
//! template with affinity or init containers. A nodeSelector is honoured when placing. The timeline still
//! runs from the start (a scripted rollout begins from the settled state).

use std::sync::Arc;

use serde_json::{Value, json};

use super::controllers::{deployment, kubelet, replicaset, statefulset};
use super::objects::{self, template_hash};
use super::{WorldContext, behaviour::Readiness};
use crate::sim::resources::resource;

/// A stable small number from a name, so that ages and histories vary by object but
/// not between runs.
fn spread(name: &str, modulo: u64) -> u64 {
    name.bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211)) % modulo.max(1)
}

fn ago(secs: u64) -> String {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs as i64);
    at.round(jiff::Unit::Second).unwrap_or(at).to_string()
}

/// How long ago a seeded object was created: between one and twenty days.
pub fn created_secs_ago(namespace: &str, name: &str) -> u64 {
    86_400 + spread(&format!("{namespace}/{name}"), 19 * 86_400)
}

/// The revision a settled Deployment of this name starts at (one to three: zero to two
/// older revisions kept as history).
pub fn settled_revision(name: &str) -> i64 {
    1 + spread(name, 3) as i64
}

/// Whether a Deployment's pods would start and stay ready on their own.
fn settles(ctx_config: &super::behaviour::SimConfig, d: &Value) -> bool {
    let spec = d.pointer("/spec/template/spec").cloned().unwrap_or(json!({}));
    if spec.get("affinity").is_some() || spec.get("initContainers").is_some() {
        return false;
    }
    let namespace = objects::namespace(d);
    spec.get("containers").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().all(|c| {
            let b = ctx_config.behaviour_for(objects::str_at(c, "/image"), namespace);
            b.readiness == Readiness::Healthy && b.crash.is_none()
        })
    })
}

/// The replica count an HPA with a scripted load would have settled `d` at (one
/// `ceil(current × utilisation / target)` step, within min and max, as its first sync
/// would), or `None` without an HPA and load for it.
pub fn hpa_replicas(ctx: &WorldContext, config: &super::behaviour::SimConfig, d: &Value) -> Option<i64> {
    let (ns, name) = (objects::namespace(d), objects::name(d));
    let hpas = resource("horizontalpodautoscalers").expect("served");
    let hpa = ctx.store.list(hpas, Some(ns)).0.into_iter().find(|h| {
        objects::str_at(h, "/spec/scaleTargetRef/kind") == "Deployment"
            && objects::str_at(h, "/spec/scaleTargetRef/name") == name
    })?;
    let load = config.loads.iter().find(|l| l.namespace == ns && l.name == objects::name(&hpa))?;
    let current = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1).max(1);
    let target =
        hpa.pointer("/spec/metrics/0/resource/target/averageUtilization").and_then(Value::as_f64).unwrap_or(80.0);
    let ratio = load.utilization / target;
    let raw = if (ratio - 1.0).abs() <= 0.1 { current } else { (current as f64 * ratio).ceil() as i64 };
    let min = hpa.pointer("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1);
    let max = hpa.pointer("/spec/maxReplicas").and_then(Value::as_i64).unwrap_or(raw);
    Some(raw.min((current * 2).max(current + 4)).clamp(min, max))
}

/// Seeds `d` (already stored) as a finished rollout with history; `false` when its pods
/// are left to the controllers.
pub fn settle_deployment(
    ctx: &WorldContext,
    config: &super::behaviour::SimConfig,
    d: &Arc<Value>,
    placement: &mut usize,
) -> color_eyre::Result<bool> {
    // Pods go where the scheduler could put them: nodes whose labels match the selector.
    let selector = objects::string_map(d.pointer("/spec/template/spec/nodeSelector"));
    let nodes: Vec<(usize, &str)> = config
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| selector.iter().all(|(k, v)| n.labels.get(k) == Some(v)))
        .map(|(i, n)| (i, n.name.as_str()))
        .collect();
    if !settles(config, d) || nodes.is_empty() {
        return Ok(false);
    }
    let store = &ctx.store;
    let (ns, name) = (objects::namespace(d).to_string(), objects::name(d).to_string());
    let created = created_secs_ago(&ns, &name);
    let replicas = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let revision = settled_revision(&name);
    let old_revisions = revision - 1;
    // The current ReplicaSet came with the last rollout, hours to days after creation.
    let current_ago = created.saturating_sub(3600).min(3600 * (2 + spread(&format!("{name}/rs"), 70)));
    let rs_type = resource("replicasets").expect("served");
    for old in 1..=old_revisions {
        // Earlier revisions: the same pods restarted (`kubectl rollout restart`).
        let restarted_at = ago(created - (old as u64) * (created - current_ago) / (revision as u64));
        let mut older = (**d).clone();
        older["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
            json!(restarted_at.clone());
        let hash = template_hash(&older["spec"]["template"], 0);
        let rs = store.create(rs_type, deployment::build_rs(&older, &hash, 0, old))?;
        store.backdate(rs_type, &ns, objects::name(&rs), &restarted_at);
        store.modify_with(rs_type, &ns, objects::name(&rs), |o| {
            o["status"] = json!({"replicas": 0, "observedGeneration": 1});
        });
    }
    let since = ago(current_ago);
    let hash = template_hash(d.pointer("/spec/template").unwrap_or(&Value::Null), 0);
    let rs = store.create(rs_type, deployment::build_rs(d, &hash, replicas, revision))?;
    store.backdate(rs_type, &ns, objects::name(&rs), &since);
    let pods = resource("pods").expect("served");
    for p in 0..replicas {
        let mut pod = replicaset::new_pod(&rs, rs_type, None);
        let (index, node) = nodes[*placement % nodes.len()];
        *placement += 1;
        pod["spec"]["nodeName"] = json!(node);
        let (host_ip, _) = kubelet::seeded_addresses(index, 0);
        // Above the range the kubelet hands out first, so the two never collide early.
        let ip = format!("10.42.{index}.{}", 160 + (*placement % 90));
        let started = current_ago.saturating_sub(5 + p as u64 * 7);
        let mut status = kubelet::steady_status(&pod, &host_ip, &ip, &ago(started));
        let restarts = match spread(objects::name(&pod), 5) {
            0 => 1 + spread(&format!("{}/r", objects::name(&pod)), 3) as i64,
            _ => 0,
        };
        if restarts > 0
            && let Some(first) = status.pointer_mut("/containerStatuses/0")
        {
            let last_start = started / 2;
            let oom = spread(objects::name(&pod), 2) == 0;
            first["restartCount"] = json!(restarts);
            first["state"] = json!({"running": {"startedAt": ago(last_start)}});
            first["lastState"] = json!({"terminated": {
                "exitCode": if oom { 137 } else { 1 },
                "reason": if oom { "OOMKilled" } else { "Error" },
                "startedAt": ago(started),
                "finishedAt": ago(last_start + 2),
                "containerID": first["containerID"].clone(),
            }});
        }
        pod["status"] = status;
        let created_pod = store.create(pods, pod)?;
        store.backdate(pods, &ns, objects::name(&created_pod), &ago(started + 2));
        past_pod_events(ctx, &created_pod, node, started + 2);
    }
    let rs_name = objects::name(&rs).to_string();
    store.modify_with(rs_type, &ns, &rs_name, |o| {
        o["status"] = json!({"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                             "availableReplicas": replicas, "observedGeneration": 1});
    });
    let condition = |kind: &str, reason: &str, message: String, at: &str| json!({"type": kind, "status": "True", "lastUpdateTime": at, "lastTransitionTime": at, "reason": reason, "message": message});
    let available_since = ago(current_ago.saturating_sub(30));
    let deployments = resource("deployments").expect("served");
    store.modify_with(deployments, &ns, &name, |o| {
        o["metadata"]["annotations"][deployment::REVISION] = json!(revision.to_string());
        let generation = o.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
        o["status"] = json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [
                condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability.".into(), &available_since),
                condition("Progressing", "NewReplicaSetAvailable",
                          format!("ReplicaSet \"{rs_name}\" has successfully progressed."), &available_since),
            ],
        });
    });
    Ok(true)
}

/// Seeds a StatefulSet (already stored) with its claims, its current revision and its
/// pods running for a while, and a complete status; `false` when left to the controller.
pub fn settle_statefulset(
    ctx: &WorldContext,
    config: &super::behaviour::SimConfig,
    sts: &Arc<Value>,
    placement: &mut usize,
) -> color_eyre::Result<bool> {
    if !settles(config, sts) || config.nodes.is_empty() {
        return Ok(false);
    }
    let store = &ctx.store;
    let (ns, name) = (objects::namespace(sts).to_string(), objects::name(sts).to_string());
    let since_secs = created_secs_ago(&ns, &name).saturating_sub(600);
    let replicas = sts.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let revisions = resource("controllerrevisions").expect("served");
    let revision = store.create(revisions, statefulset::revision_object(sts, 1))?;
    let revision_name = objects::name(&revision).to_string();
    store.backdate(revisions, &ns, &revision_name, &ago(since_secs));
    let claims = sts.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array).cloned().unwrap_or_default();
    let pvcs = resource("persistentvolumeclaims").expect("served");
    let pods = resource("pods").expect("served");
    let sts_type = resource("statefulsets").expect("served");
    for ord in 0..replicas {
        let pod_name = format!("{name}-{ord}");
        let mut volumes = Vec::new();
        for claim in &claims {
            let claim_name = format!("{}-{name}-{ord}", objects::name(claim));
            let mut labels = objects::string_map(sts.pointer("/spec/selector/matchLabels"));
            labels.extend(objects::string_map(claim.pointer("/metadata/labels")));
            let pvc = json!({
                "metadata": {"name": claim_name, "namespace": ns, "labels": labels},
                "spec": claim.get("spec").cloned().unwrap_or(json!({})),
            });
            if store.get(pvcs, &ns, &claim_name).is_none() {
                store.create(pvcs, pvc)?;
                store.backdate(pvcs, &ns, &claim_name, &ago(since_secs));
            }
            volumes.push(json!({"name": objects::name(claim), "persistentVolumeClaim": {"claimName": claim_name}}));
        }
        let mut pod = replicaset::new_pod(sts, sts_type, Some(pod_name.clone()));
        pod["metadata"]["labels"][statefulset::REVISION_LABEL] = json!(revision_name);
        pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
        pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = json!(ord.to_string());
        pod["spec"]["hostname"] = json!(pod_name);
        if let Some(service) = sts.pointer("/spec/serviceName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            pod["spec"]["subdomain"] = json!(service);
        }
        let mut all_volumes = pod["spec"]["volumes"].as_array().cloned().unwrap_or_default();
        all_volumes.extend(volumes);
        pod["spec"]["volumes"] = json!(all_volumes);
        let index = *placement % config.nodes.len();
        *placement += 1;
        pod["spec"]["nodeName"] = json!(config.nodes[index].name);
        let (host_ip, _) = kubelet::seeded_addresses(index, 0);
        let ip = format!("10.42.{index}.{}", 160 + (*placement % 90));
        let started = since_secs.saturating_sub(20 * ord as u64);
        pod["status"] = kubelet::steady_status(&pod, &host_ip, &ip, &ago(started));
        store.create(pods, pod)?;
        store.backdate(pods, &ns, &pod_name, &ago(started + 2));
    }
    store.modify_with(sts_type, &ns, &name, |o| {
        let generation = o.pointer("/metadata/generation").cloned().unwrap_or(json!(1));
        o["status"] = json!({
            "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas,
            "currentRevision": revision_name, "updateRevision": revision_name, "collisionCount": 0,
        });
    });
    Ok(true)
}

/// The events a pod's start left (scheduled, image pulled, containers created and
/// started), dated when it started: what `kubectl describe` shows on a cluster that keeps
/// events longer than the default hour.
fn past_pod_events(ctx: &WorldContext, pod: &Value, node: &str, secs_ago: u64) {
    let events = resource("events").expect("served");
    let ns = objects::namespace(pod);
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs_ago as i64);
    let mut step = 0i64;
    let mut record = |reason: &str, message: String, field_path: Option<String>, component: &str| {
        step += 1;
        let when = at + jiff::SignedDuration::from_millis(step * 700);
        let stamp = when.round(jiff::Unit::Second).unwrap_or(when).to_string();
        let nanos = when.as_nanosecond().max(0) as u64;
        let mut involved = json!({
            "kind": "Pod", "namespace": ns, "name": objects::name(pod), "uid": objects::uid(pod),
            "apiVersion": "v1", "resourceVersion": objects::str_at(pod, "/metadata/resourceVersion"),
        });
        if let Some(fp) = field_path {
            involved["fieldPath"] = json!(fp);
        }
        let host = if component == "kubelet" { node } else { "" };
        let mut source = json!({"component": component});
        if !host.is_empty() {
            source["host"] = json!(host);
        }
        let name = format!("{}.{nanos:x}", objects::name(pod));
        let event = json!({
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message, "source": source,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": "Normal", "eventTime": null,
            "reportingComponent": component, "reportingInstance": host,
        });
        if ctx.store.create(events, event).is_ok() {
            ctx.store.backdate(events, ns, &name, &stamp);
        }
    };
    record(
        "Scheduled",
        format!("Successfully assigned {ns}/{} to {node}", objects::name(pod)),
        None,
        "default-scheduler",
    );
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    for c in &containers {
        let (name, image) = (objects::str_at(c, "/name"), objects::str_at(c, "/image"));
        let fp = Some(format!("spec.containers{{{name}}}"));
        record("Pulling", format!("Pulling image \"{image}\""), fp.clone(), "kubelet");
        record(
            "Pulled",
            format!("Successfully pulled image \"{image}\" in 2.1s (2.1s including waiting)"),
            fp.clone(),
            "kubelet",
        );
        record("Created", format!("Created container {name}"), fp.clone(), "kubelet");
        record("Started", format!("Started container {name}"), fp, "kubelet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_days_and_stable() {
        let a = created_secs_ago("app", "api");
        assert_eq!(a, created_secs_ago("app", "api"));
        assert!((86_400..20 * 86_400).contains(&a));
        assert_ne!(a, created_secs_ago("app", "web"));
    }
}
