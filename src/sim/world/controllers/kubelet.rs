//! The scheduler and the kubelets of the simulated nodes: node assignment, pod IPs,
//! image pulls, container states, probes (startup, readiness, liveness) driven by the
//! image's scripted behaviour, restarts with back-off, log generators, graceful
//! termination, and the events a real kubelet records.
//!
//! Probes run on timers only while their outcome can change: a healthy, ready container
//! costs nothing after start-up, so a large cluster of steady pods has no timers at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::rt;
use crate::sim::store::ChangeKind;
use crate::sim::world::behaviour::{Behaviour, Glob, LineContext, NodeConfig, Readiness};
use crate::sim::world::events::{self, kubelet as kubelet_source};
use crate::sim::world::objects::{self, ObjRef, i64_at, is_deleting, parse_quantity, str_at};
use crate::sim::world::runtime::{Task, World};

pub struct Kubelet {
    nodes: Vec<NodeState>,
    pods: HashMap<ObjRef, PodSim>,
}

struct NodeState {
    name: String,
    index: usize,
    internal_ip: String,
    labels: BTreeMap<String, String>,
    cpu: f64,
    memory: f64,
    max_pods: u32,
    used_cpu: f64,
    used_memory: f64,
    pods: u32,
    next_ip: u32,
    images: HashSet<String>,
}

struct PodSim {
    uid: String,
    node: String,
    ip: String,
    host_ip: String,
    containers: Vec<ContainerSim>,
    init_containers: Vec<(String, String)>,
    scheduled_at: String,
    start_time: String,
    ready: bool,
    ready_changed_at: String,
    ready_since: Option<Instant>,
    deleting_until: Option<Instant>,
    /// Where in its flapping cycle this pod starts (0..1), so pods do not flap in step.
    flap_offset: f64,
    requests: (f64, f64),
    qos: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Startup = 0,
    Readiness = 1,
    Liveness = 2,
}

impl ProbeKind {
    fn label(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Liveness => "Liveness",
        }
    }
}

#[derive(Clone, Debug)]
struct Probe {
    initial_delay: f64,
    period: f64,
    failure_threshold: u32,
    success_threshold: u32,
    handler: Handler,
}

#[derive(Clone, Debug)]
enum Handler {
    Http { scheme: String, path: String, port: String },
    Tcp { port: String },
    Exec { command: String },
    Grpc { port: String },
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Creating,
    Running,
    BackOff { message: String },
    Terminated { exit_code: i32, reason: &'static str, finished_at: String },
}

struct ContainerSim {
    name: String,
    image: String,
    container_id: String,
    probes: [Option<Probe>; 3],
    state: State,
    restarts: i64,
    last_terminated: Option<Value>,
    started: bool,
    ready: bool,
    run: u64,
    run_start: Option<Instant>,
    run_started_at: String,
    next_start: Option<Instant>,
    crash_at: Option<Instant>,
    next_probe: [Option<Instant>; 3],
    startup_failures: u32,
    ready_successes: u32,
    ready_failures: u32,
    live_failures: u32,
    log_counter: u64,
    next_log: Vec<Instant>,
}

impl Kubelet {
    pub fn new(nodes: &[NodeConfig]) -> Self {
        let nodes = nodes
            .iter()
            .enumerate()
            .map(|(index, n)| NodeState {
                name: n.name.clone(),
                index,
                internal_ip: node_ip(index),
                labels: node_labels(n),
                cpu: parse_quantity(&n.cpu).unwrap_or(8.0),
                memory: parse_quantity(&n.memory).unwrap_or(32.0 * 1024f64.powi(3)),
                max_pods: n.pods,
                used_cpu: 0.0,
                used_memory: 0.0,
                pods: 0,
                next_ip: 2,
                images: HashSet::new(),
            })
            .collect();
        Kubelet { nodes, pods: HashMap::new() }
    }

    /// Whether a pod change needs the kubelet (its own status writes do not).
    pub fn wants(&self, kind: ChangeKind, key: &ObjRef, pod: &Value) -> bool {
        if kind == ChangeKind::Deleted {
            return self.pods.contains_key(key);
        }
        match self.pods.get(key) {
            None => true,
            Some(sim) => sim.uid != objects::uid(pod) || (is_deleting(pod) && sim.deleting_until.is_none()),
        }
    }

    /// When the pod last became Ready, if the kubelet saw it happen.
    pub fn ready_since(&self, uid: &str) -> Option<Instant> {
        self.pods.values().find(|p| p.uid == uid).and_then(|p| p.ready_since)
    }

    pub fn pods_matching(&self, image: &Glob, namespace: &Glob) -> Vec<ObjRef> {
        self.pods
            .iter()
            .filter(|(k, p)| namespace.matches(&k.namespace) && p.containers.iter().any(|c| image.matches(&c.image)))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn node_mut(&mut self, name: &str) -> Option<&mut NodeState> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }

    fn release(&mut self, sim: &PodSim) {
        if let Some(node) = self.node_mut(&sim.node) {
            node.used_cpu -= sim.requests.0;
            node.used_memory -= sim.requests.1;
            node.pods = node.pods.saturating_sub(1);
        }
    }
}

fn node_ip(index: usize) -> String {
    format!("10.0.{}.{}", index / 200, 10 + index % 200)
}

fn node_labels(n: &NodeConfig) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = [
        ("kubernetes.io/hostname", n.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    labels.extend(n.labels.clone());
    labels
}

/// The Node object for a configured node: Ready, with capacity and addresses.
pub fn node_object(n: &NodeConfig, index: usize) -> Value {
    let now = objects::now();
    let ip = node_ip(index);
    json!({
        "metadata": {"name": n.name, "labels": node_labels(n), "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": format!("10.42.{index}.0/24"), "podCIDRs": [format!("10.42.{index}.0/24")]},
        "status": {
            "capacity": {"cpu": n.cpu, "memory": n.memory, "pods": n.pods.to_string(), "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": n.cpu, "memory": n.memory, "pods": n.pods.to_string(), "ephemeral-storage": "95Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now},
            ],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": n.name}],
            "nodeInfo": {
                "kubeletVersion": "v1.31.4", "kubeProxyVersion": "v1.31.4", "containerRuntimeVersion": "containerd://1.7.23",
                "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-51-generic", "operatingSystem": "linux",
                "architecture": "amd64", "machineID": format!("{:032x}", objects::fnv32a(n.name.as_bytes())),
                "systemUUID": crate::sim::store::new_uid(), "bootID": crate::sim::store::new_uid(),
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        },
    })
}

fn parse_probe(v: Option<&Value>) -> Option<Probe> {
    let v = v.filter(|v| v.is_object())?;
    let port = |p: &Value| match p.get("port") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let handler = if let Some(h) = v.get("httpGet") {
        Handler::Http {
            scheme: str_at(h, "/scheme").to_lowercase(),
            path: match str_at(h, "/path") {
                "" => "/".into(),
                p => p.into(),
            },
            port: port(h),
        }
    } else if let Some(t) = v.get("tcpSocket") {
        Handler::Tcp { port: port(t) }
    } else if let Some(g) = v.get("grpc") {
        Handler::Grpc { port: port(g) }
    } else {
        let command = v
            .pointer("/exec/command")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        Handler::Exec { command }
    };
    Some(Probe {
        initial_delay: i64_at(v, "/initialDelaySeconds").unwrap_or(0) as f64,
        period: i64_at(v, "/periodSeconds").unwrap_or(10).max(1) as f64,
        failure_threshold: i64_at(v, "/failureThreshold").unwrap_or(3).max(1) as u32,
        success_threshold: i64_at(v, "/successThreshold").unwrap_or(1).max(1) as u32,
        handler,
    })
}

fn requests_of(spec: &Value) -> ((f64, f64), &'static str) {
    let containers = spec.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut cpu = 0.0;
    let mut memory = 0.0;
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let req_cpu = objects::quantity_at(c, "/resources/requests/cpu");
        let req_mem = objects::quantity_at(c, "/resources/requests/memory");
        let lim_cpu = objects::quantity_at(c, "/resources/limits/cpu");
        let lim_mem = objects::quantity_at(c, "/resources/limits/memory");
        any |= req_cpu.is_some() || req_mem.is_some() || lim_cpu.is_some() || lim_mem.is_some();
        guaranteed &= lim_cpu.is_some()
            && lim_mem.is_some()
            && req_cpu.is_none_or(|r| Some(r) == lim_cpu)
            && req_mem.is_none_or(|r| Some(r) == lim_mem);
        cpu += req_cpu.or(lim_cpu).unwrap_or(0.0);
        memory += req_mem.or(lim_mem).unwrap_or(0.0);
    }
    let qos = if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    };
    ((cpu, memory), qos)
}

fn container_id() -> String {
    let mut id = String::from("containerd://");
    (0..64).for_each(|_| id.push(char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0')));
    id
}

fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rfind(':') {
        Some(i) if !repo[i..].contains('/') => &repo[..i],
        _ => repo,
    };
    let mut digest = String::new();
    for salt in 0u8..8 {
        let mut data = image.as_bytes().to_vec();
        data.push(salt);
        digest.push_str(&format!("{:08x}", objects::fnv32a(&data)));
    }
    format!("{repo}@sha256:{digest}")
}

fn pod_label(pod: &Value) -> String {
    format!("{}_{}({})", objects::name(pod), objects::namespace(pod), objects::uid(pod))
}

/// The kubelet's sync of one pod.
pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(pod) = store.get(rt("pods"), &key.namespace, &key.name) else {
        if let Some(sim) = world.kubelet.pods.remove(key) {
            world.kubelet.release(&sim);
            world.ctx.logs.remove_pod(&key.namespace, &key.name);
        }
        return;
    };
    let uid = objects::uid(&pod).to_string();
    let mut sim = match world.kubelet.pods.remove(key) {
        Some(sim) if sim.uid == uid => sim,
        other => {
            if let Some(old) = other {
                world.kubelet.release(&old);
                world.ctx.logs.remove_pod(&key.namespace, &key.name);
            }
            match admit(world, &pod) {
                Some(sim) => sim,
                None => return,
            }
        }
    };
    let now = Instant::now();
    if is_deleting(&pod) && sim.deleting_until.is_none() {
        begin_termination(world, &mut sim, &pod, now);
    }
    if let Some(until) = sim.deleting_until {
        if now >= until {
            let _ = store.delete(rt("pods"), &key.namespace, &key.name, None);
            world.ctx.logs.remove_pod(&key.namespace, &key.name);
            world.kubelet.release(&sim);
            return;
        }
        world.enqueue_at(until, Task::Pod(key.clone()));
    } else {
        rearm_probes(world, &mut sim, &pod, now);
        for i in 0..sim.containers.len() {
            advance(world, &mut sim, &pod, i, now);
        }
        if let Some(wake) = next_wake(&sim) {
            world.enqueue_at(wake, Task::Pod(key.clone()));
        }
    }
    write_status(world, &mut sim, &pod);
    world.kubelet.pods.insert(key.clone(), sim);
}

/// A pod the kubelet has not seen: schedule it (or take its node), then either adopt
/// its running state (seeded pods) or start creating its containers.
fn admit(world: &mut World, pod: &Value) -> Option<PodSim> {
    let spec = pod.get("spec").cloned().unwrap_or(json!({}));
    let (requests, qos) = requests_of(&spec);
    let node_name = match str_at(pod, "/spec/nodeName") {
        "" => schedule(world, pod, requests)?,
        assigned => assigned.to_string(),
    };
    let (host_ip, ip) = {
        let node = world.kubelet.node_mut(&node_name);
        match node {
            Some(node) => {
                node.used_cpu += requests.0;
                node.used_memory += requests.1;
                node.pods += 1;
                let existing = str_at(pod, "/status/podIP");
                let ip = if existing.is_empty() {
                    let n = node.next_ip;
                    node.next_ip = if n >= 254 { 2 } else { n + 1 };
                    format!("10.42.{}.{}", node.index, n)
                } else {
                    existing.to_string()
                };
                (node.internal_ip.clone(), ip)
            }
            None => ("10.0.0.250".to_string(), format!("10.42.250.{}", fastrand::u8(2..254))),
        }
    };
    let now_ts = objects::now();
    let mut sim = PodSim {
        uid: objects::uid(pod).to_string(),
        node: node_name.clone(),
        ip,
        host_ip,
        containers: Vec::new(),
        init_containers: spec
            .get("initContainers")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|c| (str_at(c, "/name").to_string(), str_at(c, "/image").to_string())).collect())
            .unwrap_or_default(),
        scheduled_at: now_ts.clone(),
        start_time: now_ts.clone(),
        ready: false,
        ready_changed_at: now_ts.clone(),
        ready_since: None,
        deleting_until: None,
        flap_offset: fastrand::f64(),
        requests,
        qos,
    };
    let adopt = str_at(pod, "/status/phase") == "Running" && objects::pod_ready(pod);
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let now = Instant::now();
    for c in spec.get("containers").and_then(Value::as_array).into_iter().flatten() {
        let name = str_at(c, "/name").to_string();
        let image = str_at(c, "/image").to_string();
        let mut container = ContainerSim {
            name: name.clone(),
            image: image.clone(),
            container_id: String::new(),
            probes: [
                parse_probe(c.get("startupProbe")),
                parse_probe(c.get("readinessProbe")),
                parse_probe(c.get("livenessProbe")),
            ],
            state: State::Creating,
            restarts: 0,
            last_terminated: None,
            started: false,
            ready: false,
            run: 0,
            run_start: None,
            run_started_at: String::new(),
            next_start: None,
            crash_at: None,
            next_probe: [None, None, None],
            startup_failures: 0,
            ready_successes: 0,
            ready_failures: 0,
            live_failures: 0,
            log_counter: 0,
            next_log: Vec::new(),
        };
        if adopt {
            let status = statuses.iter().find(|s| str_at(s, "/name") == name);
            container.state = State::Running;
            container.started = true;
            container.ready = true;
            container.restarts = status.and_then(|s| i64_at(s, "/restartCount")).unwrap_or(0);
            container.container_id = status
                .map(|s| str_at(s, "/containerID").to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(container_id);
            container.run_started_at = status
                .map(|s| str_at(s, "/state/running/startedAt").to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| now_ts.clone());
            container.run_start = Some(now.checked_sub(Duration::from_secs(3600)).unwrap_or(now));
            container.run = 1;
        } else {
            let present = world.kubelet.node_mut(&node_name).is_some_and(|n| n.images.contains(&image));
            let pull_always = str_at(c, "/imagePullPolicy") == "Always";
            let behaviour = world.config.behaviour_for(&image, objects::namespace(pod)).clone();
            let delay = if present && !pull_always { Duration::from_millis(500) } else { behaviour.pull };
            container.next_start = Some(now + world.real(delay));
        }
        sim.containers.push(container);
    }
    if adopt {
        sim.ready = true;
        sim.ready_changed_at = objects::condition(pod.pointer("/status/conditions"), "Ready")
            .map(|c| str_at(c, "/lastTransitionTime").to_string())
            .unwrap_or(now_ts);
        sim.start_time = str_at(pod, "/status/startTime").to_string();
        sim.scheduled_at = sim.start_time.clone();
        if let Some(node) = world.kubelet.node_mut(&node_name) {
            for c in &sim.containers {
                node.images.insert(c.image.clone());
            }
        }
        for i in 0..sim.containers.len() {
            schedule_logs(world, &mut sim, pod, i, now);
        }
    } else {
        for c in &sim.containers {
            let present = world.kubelet.node_mut(&node_name).is_some_and(|n| n.images.contains(&c.image));
            if !present {
                let message = format!("Pulling image \"{}\"", c.image);
                let fp = format!("spec.containers{{{}}}", c.name);
                world.event(pod, Some(&fp), false, "Pulling", &message, kubelet_source(&node_name));
            }
        }
    }
    Some(sim)
}

/// Picks a node: nodeSelector must match, requests must fit; the least busy wins.
fn schedule(world: &mut World, pod: &Value, requests: (f64, f64)) -> Option<String> {
    let selector = objects::string_map(pod.pointer("/spec/nodeSelector"));
    let total = world.kubelet.nodes.len();
    let mut selector_misses = 0;
    let mut resource_misses = 0;
    let mut cordoned = 0;
    let mut best: Option<(u32, usize)> = None;
    let tolerates_cordon = tolerates_unschedulable(pod);
    for (i, node) in world.kubelet.nodes.iter().enumerate() {
        if !tolerates_cordon && is_cordoned(world, &node.name) {
            cordoned += 1;
            continue;
        }
        if !selector.iter().all(|(k, v)| node.labels.get(k) == Some(v)) {
            selector_misses += 1;
            continue;
        }
        if node.used_cpu + requests.0 > node.cpu + 1e-9
            || node.used_memory + requests.1 > node.memory
            || node.pods >= node.max_pods
        {
            resource_misses += 1;
            continue;
        }
        if best.is_none_or(|(pods, _)| node.pods < pods) {
            best = Some((node.pods, i));
        }
    }
    let Some((_, index)) = best else {
        let mut reasons = Vec::new();
        if cordoned > 0 {
            reasons.push(format!("{cordoned} node(s) were unschedulable"));
        }
        if selector_misses > 0 {
            reasons.push(format!("{selector_misses} node(s) didn't match Pod's node affinity/selector"));
        }
        if resource_misses > 0 {
            reasons.push(format!("{resource_misses} Insufficient cpu or memory"));
        }
        let message = format!(
            "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
            reasons.join(", ")
        );
        world.event(pod, None, true, "FailedScheduling", &message, events::SCHEDULER);
        let unschedulable = json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": objects::now(), "reason": "Unschedulable", "message": message}],
            "qosClass": requests_of(pod.get("spec").unwrap_or(&Value::Null)).1,
        });
        if pod.pointer("/status/conditions") != unschedulable.get("conditions") {
            world.ctx.store.modify_with(rt("pods"), objects::namespace(pod), objects::name(pod), |p| {
                p["status"] = unschedulable.clone()
            });
        }
        world.enqueue_after(Duration::from_secs(10), Task::Pod(ObjRef::of(pod)));
        return None;
    };
    let node = world.kubelet.nodes[index].name.clone();
    let bound = world.ctx.store.modify_with(rt("pods"), objects::namespace(pod), objects::name(pod), |p| {
        p["spec"]["nodeName"] = json!(node);
    });
    bound.as_ref()?;
    let message = format!("Successfully assigned {}/{} to {node}", objects::namespace(pod), objects::name(pod));
    world.event(pod, None, false, "Scheduled", &message, events::SCHEDULER);
    Some(node)
}

/// A cordoned node (`spec.unschedulable`, what `kubectl cordon` sets) takes no new pods.
fn is_cordoned(world: &World, node: &str) -> bool {
    world.ctx.store.get(rt("nodes"), "", node).is_some_and(|n| n.pointer("/spec/unschedulable") == Some(&json!(true)))
}

/// DaemonSet pods (and any pod that says so) tolerate the cordon's
/// `node.kubernetes.io/unschedulable:NoSchedule` taint, as the scheduler's NodeUnschedulable
/// plugin checks.
fn tolerates_unschedulable(pod: &Value) -> bool {
    let tolerations = pod.pointer("/spec/tolerations").and_then(Value::as_array);
    tolerations.into_iter().flatten().any(|t| {
        let key = str_at(t, "/key");
        let effect = str_at(t, "/effect");
        let exists = str_at(t, "/operator") == "Exists";
        (key == "node.kubernetes.io/unschedulable" || (key.is_empty() && exists))
            && (effect.is_empty() || effect == "NoSchedule")
    })
}

fn begin_termination(world: &mut World, sim: &mut PodSim, pod: &Value, now: Instant) {
    let grace = i64_at(pod, "/metadata/deletionGracePeriodSeconds")
        .or_else(|| i64_at(pod, "/spec/terminationGracePeriodSeconds"))
        .unwrap_or(30)
        .max(0) as f64;
    let mut shutdown: f64 = 0.0;
    let finished = objects::now();
    for c in &mut sim.containers {
        let behaviour = world.config.behaviour_for(&c.image, objects::namespace(pod));
        shutdown = shutdown.max(behaviour.shutdown.as_secs_f64());
        if matches!(c.state, State::Running) {
            let fp = format!("spec.containers{{{}}}", c.name);
            let message = format!("Stopping container {}", c.name);
            world.events.record(
                &world.ctx.store,
                pod,
                Some(&fp),
                false,
                "Killing",
                &message,
                kubelet_source(&sim.node),
            );
        }
        c.state = State::Terminated { exit_code: 0, reason: "Completed", finished_at: finished.clone() };
        c.ready = false;
        c.next_probe = [None, None, None];
    }
    sim.deleting_until = Some(now + world.real_secs(shutdown.min(grace)));
}

/// After a behaviour change, probes that stopped (steady) must run again.
fn rearm_probes(world: &World, sim: &mut PodSim, pod: &Value, now: Instant) {
    for c in &mut sim.containers {
        if c.state != State::Running || !c.started {
            continue;
        }
        let behaviour = world.config.behaviour_for(&c.image, objects::namespace(pod));
        for kind in [ProbeKind::Readiness, ProbeKind::Liveness] {
            if c.probes[kind as usize].is_some()
                && c.next_probe[kind as usize].is_none()
                && !steady(behaviour, kind, c.ready)
            {
                c.next_probe[kind as usize] = Some(now);
            }
        }
    }
}

/// Whether a probe's outcome can no longer change, so it need not run on a timer.
fn steady(behaviour: &Behaviour, kind: ProbeKind, ready: bool) -> bool {
    match kind {
        ProbeKind::Readiness => behaviour.readiness == Readiness::Healthy && ready,
        ProbeKind::Liveness => true,
        ProbeKind::Startup => false,
    }
}

#[derive(Clone, Copy)]
enum Due {
    Start,
    Crash,
    Probe(ProbeKind),
}

fn next_event(c: &ContainerSim) -> Option<(Instant, Due)> {
    let mut best: Option<(Instant, Due)> = None;
    let mut consider = |at: Option<Instant>, due: Due| {
        if let Some(at) = at
            && best.is_none_or(|(b, _)| at < b)
        {
            best = Some((at, due));
        }
    };
    match c.state {
        State::Creating | State::BackOff { .. } => consider(c.next_start, Due::Start),
        State::Running => {
            consider(c.crash_at, Due::Crash);
            for kind in [ProbeKind::Startup, ProbeKind::Readiness, ProbeKind::Liveness] {
                consider(c.next_probe[kind as usize], Due::Probe(kind));
            }
        }
        State::Terminated { .. } => {}
    }
    best
}

fn next_wake(sim: &PodSim) -> Option<Instant> {
    sim.containers.iter().filter_map(|c| next_event(c).map(|(at, _)| at)).min()
}

fn advance(world: &mut World, sim: &mut PodSim, pod: &Value, i: usize, now: Instant) {
    // Bounded: each step moves a timer forward, but a misconfigured probe must not spin.
    for _ in 0..10_000 {
        let Some((at, due)) = next_event(&sim.containers[i]) else { return };
        if at > now {
            return;
        }
        match due {
            Due::Start => start_container(world, sim, pod, i, at),
            Due::Crash => {
                let behaviour = world.config.behaviour_for(&sim.containers[i].image, objects::namespace(pod)).clone();
                let code = behaviour.crash.as_ref().map(|c| c.exit_code).unwrap_or(1);
                if let Some(message) = behaviour.crash.as_ref().and_then(|c| c.message.clone()) {
                    let c = &sim.containers[i];
                    world.ctx.logs.append(
                        objects::namespace(pod),
                        objects::name(pod),
                        &c.name,
                        jiff::Timestamp::now(),
                        message,
                    );
                }
                stop_and_back_off(world, sim, pod, i, at, code);
            }
            Due::Probe(kind) => run_probe(world, sim, pod, i, kind, at),
        }
    }
}

fn start_container(world: &mut World, sim: &mut PodSim, pod: &Value, i: usize, at: Instant) {
    let ns = objects::namespace(pod).to_string();
    let node = sim.node.clone();
    let behaviour = world.config.behaviour_for(&sim.containers[i].image, &ns).clone();
    let c = &mut sim.containers[i];
    let fp = format!("spec.containers{{{}}}", c.name);
    let first_run = c.run == 0;
    let present = world.kubelet.nodes.iter().any(|n| n.name == node && n.images.contains(&c.image));
    let pulled = if first_run && !present {
        let secs = behaviour.pull.as_secs_f64();
        format!(
            "Successfully pulled image \"{}\" in {secs:.3}s ({secs:.3}s including waiting). Image size: {} bytes.",
            c.image,
            40_000_000 + (objects::fnv32a(c.image.as_bytes()) % 200_000_000)
        )
    } else {
        format!("Container image \"{}\" already present on machine", c.image)
    };
    if let Some(n) = world.kubelet.nodes.iter_mut().find(|n| n.name == node) {
        n.images.insert(c.image.clone());
    }
    let name = c.name.clone();
    c.state = State::Running;
    c.run += 1;
    c.run_start = Some(at);
    c.run_started_at = objects::now();
    c.container_id = container_id();
    c.started = false;
    c.ready = false;
    c.next_start = None;
    c.startup_failures = 0;
    c.ready_successes = 0;
    c.ready_failures = 0;
    c.live_failures = 0;
    c.next_probe = [None, None, None];
    c.crash_at = behaviour.crash.as_ref().map(|crash| at + world.config.real(crash.after));
    match &c.probes[ProbeKind::Startup as usize] {
        Some(p) => c.next_probe[ProbeKind::Startup as usize] = Some(at + world.config.real_secs(p.initial_delay)),
        None => startup_passed(world, c, at),
    }
    world.ctx.logs.ensure_container(&ns, objects::name(pod), &name);
    let source = kubelet_source(&node);
    world.events.record(&world.ctx.store, pod, Some(&fp), false, "Pulled", &pulled, source);
    world.events.record(
        &world.ctx.store,
        pod,
        Some(&fp),
        false,
        "Created",
        &format!("Created container {name}"),
        source,
    );
    world.events.record(
        &world.ctx.store,
        pod,
        Some(&fp),
        false,
        "Started",
        &format!("Started container {name}"),
        source,
    );
    schedule_logs(world, sim, pod, i, at);
}

/// The startup probe passed (or there is none): readiness and liveness begin, measured
/// from the container's start as in the kubelet.
fn startup_passed(world: &World, c: &mut ContainerSim, at: Instant) {
    c.started = true;
    c.next_probe[ProbeKind::Startup as usize] = None;
    let run_start = c.run_start.unwrap_or(at);
    for kind in [ProbeKind::Readiness, ProbeKind::Liveness] {
        if let Some(p) = &c.probes[kind as usize] {
            c.next_probe[kind as usize] = Some((run_start + world.config.real_secs(p.initial_delay)).max(at));
        }
    }
    if c.probes[ProbeKind::Readiness as usize].is_none() {
        c.ready = true;
    }
}

fn probe_outcome(
    world: &World,
    sim: &PodSim,
    c: &ContainerSim,
    namespace: &str,
    kind: ProbeKind,
    at: Instant,
) -> Result<(), String> {
    let behaviour = world.config.behaviour_for(&c.image, namespace);
    let elapsed = at.saturating_duration_since(c.run_start.unwrap_or(at));
    let start = world.config.real(behaviour.start);
    let probe = c.probes[kind as usize].as_ref();
    if elapsed < start {
        return Err(refused(sim, probe));
    }
    if kind != ProbeKind::Readiness {
        return Ok(());
    }
    match &behaviour.readiness {
        Readiness::Healthy => Ok(()),
        Readiness::Never => Err(unhealthy(probe)),
        Readiness::Flapping { ready, unready } => {
            let ready = world.config.real(*ready).as_secs_f64();
            let cycle = ready + world.config.real(*unready).as_secs_f64();
            let position = ((elapsed - start).as_secs_f64() + sim.flap_offset * cycle) % cycle;
            if position < ready { Ok(()) } else { Err(unhealthy(probe)) }
        }
    }
}

fn refused(sim: &PodSim, probe: Option<&Probe>) -> String {
    match probe.map(|p| &p.handler) {
        Some(Handler::Http { scheme, path, port }) => {
            let scheme = if scheme.is_empty() { "http" } else { scheme };
            format!(
                "Get \"{scheme}://{ip}:{port}{path}\": dial tcp {ip}:{port}: connect: connection refused",
                ip = sim.ip
            )
        }
        Some(Handler::Tcp { port }) => format!("dial tcp {}:{port}: connect: connection refused", sim.ip),
        Some(Handler::Grpc { port }) => format!("timeout: failed to connect service \":{port}\" within 1s"),
        Some(Handler::Exec { command }) => format!("command \"{command}\" exited with 1"),
        None => "connection refused".into(),
    }
}

fn unhealthy(probe: Option<&Probe>) -> String {
    match probe.map(|p| &p.handler) {
        Some(Handler::Http { .. }) | None => "HTTP probe failed with statuscode: 503".into(),
        Some(Handler::Tcp { .. }) => "dial tcp: i/o timeout".into(),
        Some(Handler::Grpc { .. }) => "service unhealthy (responded with \"NOT_SERVING\")".into(),
        Some(Handler::Exec { command }) => format!("command \"{command}\" exited with 1"),
    }
}

fn run_probe(world: &mut World, sim: &mut PodSim, pod: &Value, i: usize, kind: ProbeKind, at: Instant) {
    let ns = objects::namespace(pod).to_string();
    let outcome = probe_outcome(world, sim, &sim.containers[i], &ns, kind, at);
    let node = sim.node.clone();
    let Some(probe) = sim.containers[i].probes[kind as usize].clone() else {
        sim.containers[i].next_probe[kind as usize] = None;
        return;
    };
    let period = world.config.real_secs(probe.period);
    let fp = format!("spec.containers{{{}}}", sim.containers[i].name);
    if let Err(detail) = &outcome {
        let message = format!("{} probe failed: {detail}", kind.label());
        world.events.record(&world.ctx.store, pod, Some(&fp), true, "Unhealthy", &message, kubelet_source(&node));
    }
    let behaviour = world.config.behaviour_for(&sim.containers[i].image, &ns).clone();
    let c = &mut sim.containers[i];
    match (kind, outcome) {
        (ProbeKind::Startup, Ok(())) => startup_passed(world, c, at),
        (ProbeKind::Startup, Err(_)) => {
            c.startup_failures += 1;
            if c.startup_failures >= probe.failure_threshold {
                let message = format!("Container {} failed startup probe, will be restarted", c.name);
                world.events.record(
                    &world.ctx.store,
                    pod,
                    Some(&fp),
                    false,
                    "Killing",
                    &message,
                    kubelet_source(&node),
                );
                stop_and_back_off(world, sim, pod, i, at, 137);
                return;
            }
            c.next_probe[kind as usize] = Some(at + period);
        }
        (ProbeKind::Readiness, Ok(())) => {
            c.ready_failures = 0;
            c.ready_successes += 1;
            if c.ready_successes >= probe.success_threshold {
                c.ready = true;
            }
            c.next_probe[kind as usize] = (!steady(&behaviour, kind, c.ready)).then_some(at + period);
        }
        (ProbeKind::Readiness, Err(_)) => {
            c.ready_successes = 0;
            c.ready_failures += 1;
            if c.ready_failures >= probe.failure_threshold {
                c.ready = false;
            }
            c.next_probe[kind as usize] = Some(at + period);
        }
        (ProbeKind::Liveness, Ok(())) => {
            c.live_failures = 0;
            let still_starting =
                at.saturating_duration_since(c.run_start.unwrap_or(at)) < world.config.real(behaviour.start);
            c.next_probe[kind as usize] = still_starting.then_some(at + period);
        }
        (ProbeKind::Liveness, Err(_)) => {
            c.live_failures += 1;
            if c.live_failures >= probe.failure_threshold {
                let message = format!("Container {} failed liveness probe, will be restarted", c.name);
                world.events.record(
                    &world.ctx.store,
                    pod,
                    Some(&fp),
                    false,
                    "Killing",
                    &message,
                    kubelet_source(&node),
                );
                stop_and_back_off(world, sim, pod, i, at, 137);
                return;
            }
            c.next_probe[kind as usize] = Some(at + period);
        }
    }
}

/// The container exited (crash or kill): record it, keep its log as `previous`, and
/// wait out the back-off (10s doubling to 5m, scaled) before starting it again.
fn stop_and_back_off(world: &mut World, sim: &mut PodSim, pod: &Value, i: usize, at: Instant, exit_code: i32) {
    let ns = objects::namespace(pod).to_string();
    let node = sim.node.clone();
    let c = &mut sim.containers[i];
    let finished = objects::now();
    c.last_terminated = Some(json!({"terminated": {
        "exitCode": exit_code,
        "reason": "Error",
        "startedAt": c.run_started_at,
        "finishedAt": finished,
        "containerID": c.container_id,
    }}));
    c.restarts += 1;
    c.ready = false;
    c.started = false;
    c.crash_at = None;
    c.next_probe = [None, None, None];
    let backoff_secs = (10.0 * 2f64.powi((c.restarts - 1).clamp(0, 10) as i32)).min(300.0);
    c.next_start = Some(at + world.config.real_secs(backoff_secs));
    let label = pod_label(pod);
    c.state = State::BackOff {
        message: format!("back-off {}s restarting failed container={} pod={label}", backoff_secs as u64, c.name),
    };
    world.ctx.logs.restart_container(&ns, objects::name(pod), &c.name);
    let fp = format!("spec.containers{{{}}}", c.name);
    let message = format!("Back-off restarting failed container {} in pod {label}", c.name);
    world.events.record(&world.ctx.store, pod, Some(&fp), true, "BackOff", &message, kubelet_source(&node));
}

fn container_status(c: &ContainerSim) -> Value {
    let state = match &c.state {
        State::Creating => json!({"waiting": {"reason": "ContainerCreating"}}),
        State::BackOff { message } => json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}}),
        State::Running => json!({"running": {"startedAt": c.run_started_at}}),
        State::Terminated { exit_code, reason, finished_at } => json!({"terminated": {
            "exitCode": exit_code, "reason": reason, "startedAt": c.run_started_at, "finishedAt": finished_at, "containerID": c.container_id,
        }}),
    };
    let mut status = json!({
        "name": c.name,
        "image": c.image,
        "imageID": if c.run > 0 { image_id(&c.image) } else { String::new() },
        "ready": c.ready,
        "started": c.started && c.state == State::Running,
        "restartCount": c.restarts,
        "state": state,
        "lastState": c.last_terminated.clone().unwrap_or(json!({})),
    });
    if !c.container_id.is_empty() {
        status["containerID"] = json!(c.container_id);
    }
    status
}

fn write_status(world: &mut World, sim: &mut PodSim, pod: &Value) {
    let ready = sim.deleting_until.is_none() && !sim.containers.is_empty() && sim.containers.iter().all(|c| c.ready);
    if ready != sim.ready {
        sim.ready = ready;
        sim.ready_changed_at = objects::now();
        sim.ready_since = ready.then(Instant::now);
    }
    let unready: Vec<&str> = sim.containers.iter().filter(|c| !c.ready).map(|c| c.name.as_str()).collect();
    let ready_condition = |kind: &str| {
        let mut c = json!({"type": kind, "status": if ready { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": sim.ready_changed_at});
        if !ready {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(format!("containers with unready status: [{}]", unready.join(" ")));
        }
        c
    };
    let started_once = sim.containers.iter().all(|c| c.run > 0);
    let mut status = json!({
        "phase": if started_once { "Running" } else { "Pending" },
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": sim.scheduled_at},
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": sim.scheduled_at},
            ready_condition("Ready"),
            ready_condition("ContainersReady"),
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": sim.scheduled_at},
        ],
        "hostIP": sim.host_ip,
        "hostIPs": [{"ip": sim.host_ip}],
        "podIP": sim.ip,
        "podIPs": [{"ip": sim.ip}],
        "startTime": sim.start_time,
        "containerStatuses": sim.containers.iter().map(container_status).collect::<Vec<_>>(),
        "qosClass": sim.qos,
    });
    if !sim.init_containers.is_empty() {
        status["initContainerStatuses"] = json!(sim
            .init_containers
            .iter()
            .map(|(name, image)| json!({
                "name": name, "image": image, "imageID": image_id(image), "ready": true, "started": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": sim.start_time, "finishedAt": sim.start_time}},
                "lastState": {},
            }))
            .collect::<Vec<_>>());
    }
    if pod.get("status") != Some(&status) {
        world.ctx.store.modify_with(rt("pods"), objects::namespace(pod), objects::name(pod), |p| {
            if objects::uid(p) == sim.uid {
                p["status"] = status.clone();
            }
        });
    }
}

/// The status of a pod that has been running and ready for a while (large clusters are
/// seeded in this state, so the kubelet has nothing to do for them).
pub fn steady_status(pod: &Value, host_ip: &str, ip: &str, since: &str) -> Value {
    let spec = pod.get("spec").cloned().unwrap_or(json!({}));
    let containers = spec.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let cond = |kind: &str| json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": since});
    json!({
        "phase": "Running",
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": since,
        "qosClass": requests_of(&spec).1,
        "containerStatuses": containers.iter().map(|c| json!({
            "name": str_at(c, "/name"), "image": str_at(c, "/image"), "imageID": image_id(str_at(c, "/image")),
            "containerID": container_id(), "ready": true, "started": true, "restartCount": 0,
            "state": {"running": {"startedAt": since}}, "lastState": {},
        })).collect::<Vec<_>>(),
    })
}

/// Addresses for seeded pods on a node, in the same ranges the kubelet uses.
pub fn seeded_addresses(node_index: usize, n: usize) -> (String, String) {
    (node_ip(node_index), format!("10.42.{}.{}", node_index, 2 + n % 252))
}

fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.8 + fastrand::f64() * 0.4)
}

fn schedule_logs(world: &mut World, sim: &mut PodSim, pod: &Value, i: usize, at: Instant) {
    let behaviour = world.config.behaviour_for(&sim.containers[i].image, objects::namespace(pod));
    if behaviour.logs.is_empty() {
        return;
    }
    let next: Vec<Instant> = behaviour.logs.iter().map(|g| at + jittered(world.config.real(g.every))).collect();
    let first = next.iter().min().copied().unwrap_or(at);
    let c = &mut sim.containers[i];
    c.next_log = next;
    let task = Task::Logs { pod: ObjRef::of(pod), uid: sim.uid.clone(), container: i, run: c.run };
    world.enqueue_at(first, task);
}

/// Writes the log lines that are due for one container run and schedules the next.
pub fn emit_logs(world: &mut World, key: &ObjRef, uid: &str, i: usize, run: u64) {
    let Some(sim) = world.kubelet.pods.get_mut(key) else { return };
    if sim.uid != uid || sim.deleting_until.is_some() {
        return;
    }
    let Some(c) = sim.containers.get_mut(i) else { return };
    if c.run != run || c.state != State::Running {
        return;
    }
    let behaviour = world.config.behaviour_for(&c.image, &key.namespace);
    let now = Instant::now();
    if c.next_log.len() != behaviour.logs.len() {
        c.next_log = vec![now; behaviour.logs.len()];
    }
    let mut lines = Vec::new();
    for (g, generator) in behaviour.logs.iter().enumerate() {
        if c.next_log[g] > now {
            continue;
        }
        let enabled = world
            .log_switches
            .iter()
            .rev()
            .find(|(img, ns, name, _)| *name == generator.name && img.matches(&c.image) && ns.matches(&key.namespace))
            .map(|(_, _, _, on)| *on)
            .unwrap_or(generator.enabled);
        if enabled && !generator.lines.is_empty() {
            c.log_counter += 1;
            let template = &generator.lines[fastrand::usize(..generator.lines.len())];
            let cx = LineContext {
                pod: &key.name,
                namespace: &key.namespace,
                container: &c.name,
                node: &sim.node,
                ip: &sim.ip,
                counter: c.log_counter,
            };
            lines.push(template.render(&cx));
        }
        let every = world.config.real(generator.every);
        // Catch up without a burst if the world was busy: skip missed ticks.
        let mut next = c.next_log[g] + jittered(every);
        if next <= now {
            next = now + jittered(every);
        }
        c.next_log[g] = next;
    }
    let container = c.name.clone();
    let next = c.next_log.iter().min().copied();
    for line in lines {
        world.ctx.logs.append(&key.namespace, &key.name, &container, jiff::Timestamp::now(), line);
    }
    if let Some(next) = next {
        world.enqueue_at(next, Task::Logs { pod: key.clone(), uid: uid.to_string(), container: i, run });
    }
}
