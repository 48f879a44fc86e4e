//! The HorizontalPodAutoscaler controller (autoscaling/v2, CPU utilisation): reads the
//! scripted load, recommends `ceil(current × utilisation / target)` with the 10 %
//! tolerance, stabilises scale-downs over a window, limits scale-ups like the default
//! policy (double or +4 per period), clamps to min..max and writes the target's replicas.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::rt;
use crate::sim::world::events;
use crate::sim::world::objects::{self, ObjRef, i64_at, str_at};
use crate::sim::world::runtime::{Task, World};

const TOLERANCE: f64 = 0.1;

pub fn schedule_first_sync(world: &mut World) {
    for load in world.config.loads.clone() {
        set_load(world, &load.namespace, &load.name, load.utilization);
    }
    world.enqueue_after(world.config.hpa.sync, Task::HpaSync);
}

/// Scripted utilisation: the demand behind it stays when replicas change.
pub fn set_load(world: &mut World, namespace: &str, name: &str, utilization: f64) {
    let key = ObjRef::new(namespace, name);
    let replicas = world
        .ctx
        .store
        .get(rt("horizontalpodautoscalers"), namespace, name)
        .and_then(|hpa| target(world, &hpa))
        .map(|(_, t)| current_replicas(&t))
        .unwrap_or(1)
        .max(1);
    world.hpa_demand.insert(key.clone(), utilization * replicas as f64);
    world.enqueue(Task::Hpa(key));
}

pub fn sync_all(world: &mut World) {
    for hpa in world.ctx.store.list(rt("horizontalpodautoscalers"), None).0 {
        world.enqueue(Task::Hpa(ObjRef::of(&hpa)));
    }
    world.enqueue_after(world.config.hpa.sync, Task::HpaSync);
}

fn target(world: &World, hpa: &Value) -> Option<(&'static str, std::sync::Arc<Value>)> {
    let plural = match str_at(hpa, "/spec/scaleTargetRef/kind") {
        "Deployment" => "deployments",
        "StatefulSet" => "statefulsets",
        "ReplicaSet" => "replicasets",
        _ => return None,
    };
    let t = world.ctx.store.get(rt(plural), objects::namespace(hpa), str_at(hpa, "/spec/scaleTargetRef/name"))?;
    Some((plural, t))
}

fn current_replicas(target: &Value) -> i64 {
    i64_at(target, "/spec/replicas").unwrap_or(1)
}

fn target_utilization(hpa: &Value) -> Option<i64> {
    hpa.pointer("/spec/metrics")?.as_array()?.iter().find_map(|m| {
        (str_at(m, "/type") == "Resource" && str_at(m, "/resource/name") == "cpu")
            .then(|| i64_at(m, "/resource/target/averageUtilization"))
            .flatten()
    })
}

pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(hpa) = store.get(rt("horizontalpodautoscalers"), &key.namespace, &key.name) else {
        world.hpa_demand.remove(key);
        world.hpa_recommendations.remove(key);
        return;
    };
    let min = i64_at(&hpa, "/spec/minReplicas").unwrap_or(1).max(1);
    let max = i64_at(&hpa, "/spec/maxReplicas").unwrap_or(min).max(min);
    let Some((plural, target)) = target(world, &hpa) else {
        let message = format!(
            "the HPA controller was unable to get the target's current scale: {} \"{}\" not found",
            str_at(&hpa, "/spec/scaleTargetRef/kind").to_lowercase(),
            str_at(&hpa, "/spec/scaleTargetRef/name")
        );
        write_status(world, &hpa, None, 0, 0, &[("AbleToScale", "False", "FailedGetScale", &message)]);
        return;
    };
    let current = current_replicas(&target);
    if current == 0 {
        let conds = [
            (
                "AbleToScale",
                "True",
                "SucceededGetScale",
                "the HPA controller was able to get the target's current scale",
            ),
            (
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            ),
        ];
        write_status(world, &hpa, None, 0, 0, &conds);
        return;
    }
    let target_pct = target_utilization(&hpa).unwrap_or(80) as f64;
    let demand = *world.hpa_demand.entry(key.clone()).or_insert(target_pct * current as f64);
    let utilization = demand / current as f64;
    let ratio = utilization / target_pct;
    let raw = if (ratio - 1.0).abs() <= TOLERANCE { current } else { (current as f64 * ratio).ceil() as i64 };
    let now = Instant::now();
    let window = match i64_at(&hpa, "/spec/behavior/scaleDown/stabilizationWindowSeconds") {
        Some(secs) => world.real_secs(secs as f64),
        None => world.real(world.config.hpa.scale_down_stabilization),
    };
    let history = world.hpa_recommendations.entry(key.clone()).or_default();
    history.push_back((now, raw));
    while history.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) > window) {
        history.pop_front();
    }
    // Scale-down stabilisation: the highest recommendation in the window wins.
    let stabilized = history.iter().map(|(_, r)| *r).max().unwrap_or(raw).min(raw.max(current)).max(raw.min(current));
    let scale_up_limit = (current * 2).max(current + 4);
    let limited = stabilized.min(scale_up_limit);
    let desired = limited.clamp(min, max);
    let limit_condition = if limited > max {
        (
            "ScalingLimited",
            "True",
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    } else if limited < min {
        ("ScalingLimited", "True", "TooFewReplicas", "the desired replica count is less than the minimum replica count")
    } else {
        ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range")
    };
    let mut able = ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size".to_string());
    if desired != current {
        let replicas_now = desired;
        store.modify_with(rt(plural), &key.namespace, objects::name(&target), |t| {
            t["spec"]["replicas"] = json!(replicas_now)
        });
        let reason = if desired > current { "above" } else { "below" };
        let message =
            format!("New size: {desired}; reason: cpu resource utilization (percentage of request) {reason} target");
        world.event(&hpa, None, false, "SuccessfulRescale", &message, events::AUTOSCALER);
        able = (
            "AbleToScale",
            "True",
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
        );
    }
    let active = (
        "ScalingActive",
        "True",
        "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
    );
    let metric = (utilization.round() as i64, (utilization / 100.0 * 250.0).round() as i64);
    write_status(
        world,
        &hpa,
        Some(metric),
        current,
        desired,
        &[(able.0, able.1, able.2, &able.3), active, limit_condition],
    );
}

fn write_status(
    world: &mut World,
    hpa: &Value,
    metric: Option<(i64, i64)>,
    current: i64,
    desired: i64,
    conds: &[(&str, &str, &str, &str)],
) {
    let mut conditions = objects::conditions_of(hpa);
    for (kind, status, reason, message) in conds {
        objects::set_condition(&mut conditions, kind, status, reason, message, false);
    }
    let mut status = json!({
        "currentReplicas": current,
        "desiredReplicas": desired,
        "conditions": conditions,
    });
    if let Some((pct, millis)) = metric {
        status["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": pct, "averageValue": format!("{millis}m"),
        }}}]);
    }
    let old_desired = i64_at(hpa, "/status/desiredReplicas");
    if desired != current && desired != 0 || hpa.pointer("/status/lastScaleTime").is_some() {
        let last = if desired != current && old_desired != Some(desired) {
            json!(objects::now())
        } else {
            hpa.pointer("/status/lastScaleTime").cloned().unwrap_or(json!(objects::now()))
        };
        status["lastScaleTime"] = last;
    }
    if let Some(g) = i64_at(hpa, "/metadata/generation") {
        status["observedGeneration"] = json!(g);
    }
    if hpa.get("status") != Some(&status) {
        world.ctx.store.modify_with(rt("horizontalpodautoscalers"), objects::namespace(hpa), objects::name(hpa), |o| {
            o["status"] = status.clone()
        });
    }
}
