//! Churn, as a large cluster always has it: at a set rate, pod updates of the kinds real
//! clusters make all day — a readiness flip (back again a moment later), a container
//! restart, a status heartbeat — plus an Event now and then and, every minute, a rollout of
//! one Deployment. Each is an ordinary write to the store, so watchers see real watch
//! events. The rate is set at start (`sim serve --churn RATE`) and changed at run time
//! (`POST /sim/churn {"rate": N}`); 0 stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::resources::resource;
use super::store::{Store, ensure_object, new_uid};

/// Updates per second, in thousandths (so a rate like 0.5/s is exact).
#[derive(Debug, Default)]
pub struct ChurnRate(AtomicU64);

impl ChurnRate {
    pub fn set(&self, per_second: f64) {
        let milli = (per_second.max(0.0) * 1000.0).min(1e12) as u64;
        self.0.store(milli, Ordering::Relaxed);
    }

    pub fn per_second(&self) -> f64 {
        self.0.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// How often, in updates, a Deployment is rolled (at 50/s: about once a minute).
const ROLLOUT_EVERY: u64 = 3000;

/// Runs until the process ends; idle (one timer a second) while the rate is 0.
pub async fn run(store: Arc<Store>, rate: Arc<ChurnRate>) {
    let mut count: u64 = 0;
    let mut pods: Vec<Arc<Value>> = Vec::new();
    let mut listed = tokio::time::Instant::now() - Duration::from_secs(60);
    loop {
        let per_second = rate.per_second();
        if per_second <= 0.0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Updates go out in small batches every 10 ms at high rates, one by one at low.
        let batch = (per_second / 100.0).ceil().max(1.0);
        tokio::time::sleep(Duration::from_secs_f64(batch / per_second)).await;
        // The pods to pick from, listed again once a second (not per update).
        if listed.elapsed() >= Duration::from_secs(1) {
            pods = store.list(resource("pods").expect("served"), None).0;
            pods.retain(|p| p.pointer("/metadata/deletionTimestamp").is_none());
            listed = tokio::time::Instant::now();
        }
        for _ in 0..batch as u64 {
            count += 1;
            if count.is_multiple_of(ROLLOUT_EVERY) {
                roll_one_deployment(&store);
            } else if !pods.is_empty() {
                one_update(&store, &pods[fastrand::usize(..pods.len())], count);
            }
        }
    }
}

fn one_update(store: &Arc<Store>, pod: &Value, count: u64) {
    let pods = resource("pods").expect("served");
    let (ns, name) =
        (pod["metadata"]["namespace"].as_str().unwrap_or(""), pod["metadata"]["name"].as_str().unwrap_or(""));
    match fastrand::u8(..100) {
        0..=9 => record_event(store, pod),
        10..=29 => flip_readiness(store, ns, name),
        30..=39 => {
            store.modify_with(pods, ns, name, restart_container);
        }
        _ => {
            store.modify_with(pods, ns, name, |p| heartbeat(p, count));
        }
    }
}

/// Unready now, ready again a second later (a probe that failed once).
fn flip_readiness(store: &Arc<Store>, ns: &str, name: &str) {
    let pods = resource("pods").expect("served");
    store.modify_with(pods, ns, name, |p| set_ready(p, false));
    let (store, ns, name) = (store.clone(), ns.to_string(), name.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        store.modify_with(pods, &ns, &name, |p| set_ready(p, true));
    });
}

fn set_ready(pod: &mut Value, ready: bool) {
    let status = if ready { "True" } else { "False" };
    let now = super::world::objects::now();
    if let Some(conditions) = pod.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
        for c in conditions.iter_mut().filter(|c| c["type"] == "Ready" || c["type"] == "ContainersReady") {
            c["status"] = json!(status);
            c["lastTransitionTime"] = json!(now);
        }
    }
    if let Some(containers) = pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
        for c in containers {
            c["ready"] = json!(ready);
        }
    }
}

fn restart_container(pod: &mut Value) {
    let now = super::world::objects::now();
    if let Some(first) = pod.pointer_mut("/status/containerStatuses/0") {
        let restarts = first["restartCount"].as_i64().unwrap_or(0) + 1;
        first["restartCount"] = json!(restarts);
        first["lastState"] =
            json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": now, "finishedAt": now}});
        first["state"] = json!({"running": {"startedAt": now}});
    }
}

/// A write that changes nothing an operator sees, as controllers and kubelets make all the
/// time (here an annotation, as the measurements in the churn issue were made).
fn heartbeat(pod: &mut Value, count: u64) {
    let meta = ensure_object(pod, "metadata");
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert("sim.cockpit.dev/heartbeat".into(), json!(count.to_string()));
    }
}

fn record_event(store: &Arc<Store>, pod: &Value) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let now = super::world::objects::now();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.{}", &new_uid()[..8]), "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": pod["metadata"]["uid"]},
        "reason": "Unhealthy",
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
        "type": "Warning",
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet"},
    });
    let _ = store.create(resource("events").expect("served"), event);
}

/// `kubectl rollout restart` of one Deployment, picked at random.
fn roll_one_deployment(store: &Arc<Store>) {
    let deployments = resource("deployments").expect("served");
    let (all, _) = store.list(deployments, None);
    if all.is_empty() {
        return;
    }
    let d = &all[fastrand::usize(..all.len())];
    let (ns, name) = (d["metadata"]["namespace"].as_str().unwrap_or(""), d["metadata"]["name"].as_str().unwrap_or(""));
    store.modify_with(deployments, ns, name, |d| {
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
            json!(super::world::objects::now());
    });
}
