//! The world's event loop: one task that follows the store's change feed, keeps a work
//! queue of objects to reconcile (deduplicated, like a controller's workqueue) and a
//! timer heap for everything that happens later (probes, back-offs, deadlines, log
//! lines, timeline steps). Controllers are plain functions over `&mut World`, so they
//! never race each other and always read the store's current state.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;

use super::behaviour::{Glob, SimConfig};
use super::controllers::{self, kubelet::Kubelet};
use super::events::{Recorder, Source};
use super::objects::{self, ObjRef};
use super::{Scenario, WorldContext, timeline};
use crate::sim::resources::resource;
use crate::sim::store::{Change, ChangeKind};

/// Something to reconcile now or at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    Deployment(ObjRef),
    ReplicaSet(ObjRef),
    StatefulSet(ObjRef),
    /// The kubelet's sync of one pod.
    Pod(ObjRef),
    Pdb(ObjRef),
    Hpa(ObjRef),
    Pvc(ObjRef),
    /// Endpoints of a service.
    Service(ObjRef),
    /// The default ServiceAccount of a namespace.
    Namespace(String),
    /// Garbage collection of dependents of a deleted owner.
    Collect {
        namespace: String,
        owner_uid: String,
    },
    /// Log generators of one container of one pod incarnation.
    Logs {
        pod: ObjRef,
        uid: String,
        container: usize,
        run: u64,
    },
    Timeline(usize),
    HpaSync,
}

pub struct World {
    pub ctx: WorldContext,
    pub config: SimConfig,
    /// Log generators switched by the timeline: (image, namespace, generator, on).
    pub log_switches: Vec<(Glob, Glob, String, bool)>,
    /// Scripted CPU demand per HPA, in "percent × replicas" (see `HpaLoad`).
    pub hpa_demand: HashMap<ObjRef, f64>,
    pub hpa_recommendations: HashMap<ObjRef, VecDeque<(Instant, i64)>>,
    /// When each deployment's Progressing condition last moved (uid → (lastUpdateTime, instant)).
    pub progress_marks: HashMap<String, (String, Instant)>,
    /// Per Deployment uid: how often in a row its progress check was requeued with the
    /// deadline already past (the workqueue's per-item exponential backoff).
    pub stuck_requeues: HashMap<String, u32>,
    pub kubelet: Kubelet,
    pub events: Recorder,
    pub started: Instant,
    queue: VecDeque<Task>,
    queued: HashSet<Task>,
    timers: BinaryHeap<Reverse<(Instant, u64, Task)>>,
    timer_seq: u64,
    /// What fan-out a pod change needs: (ready, phase, deleting, ip, node) last seen.
    pod_summaries: HashMap<ObjRef, PodSummary>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
struct PodSummary {
    uid: String,
    ready: bool,
    phase: String,
    deleting: bool,
    ip: String,
}

impl PodSummary {
    fn of(pod: &Value) -> Self {
        PodSummary {
            uid: objects::uid(pod).to_string(),
            ready: objects::pod_ready(pod),
            phase: objects::str_at(pod, "/status/phase").to_string(),
            deleting: objects::is_deleting(pod),
            ip: objects::str_at(pod, "/status/podIP").to_string(),
        }
    }
}

/// How many tasks run between two looks at the change feed and the clock.
const BATCH: usize = 512;

impl World {
    pub fn new(scenario: &Scenario, ctx: WorldContext) -> Self {
        let kubelet = Kubelet::new(&scenario.sim.nodes);
        World {
            ctx,
            config: scenario.sim.clone(),
            log_switches: Vec::new(),
            hpa_demand: HashMap::new(),
            hpa_recommendations: HashMap::new(),
            progress_marks: HashMap::new(),
            stuck_requeues: HashMap::new(),
            kubelet,
            events: Recorder::default(),
            started: Instant::now(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            pod_summaries: HashMap::new(),
        }
    }

    pub fn enqueue(&mut self, task: Task) {
        if self.queued.insert(task.clone()) {
            self.queue.push_back(task);
        }
    }

    pub fn enqueue_at(&mut self, at: Instant, task: Task) {
        self.timer_seq += 1;
        self.timers.push(Reverse((at, self.timer_seq, task)));
    }

    /// Schedules `task` after a *scenario* delay (scaled to real time).
    pub fn enqueue_after(&mut self, scenario_delay: Duration, task: Task) {
        let at = Instant::now() + self.config.real(scenario_delay);
        self.enqueue_at(at, task);
    }

    pub fn real(&self, d: Duration) -> Duration {
        self.config.real(d)
    }

    pub fn real_secs(&self, secs: f64) -> Duration {
        self.config.real_secs(secs)
    }

    pub fn event(
        &mut self,
        involved: &Value,
        field_path: Option<&str>,
        warning: bool,
        reason: &str,
        message: &str,
        source: Source<'_>,
    ) {
        let store = self.ctx.store.clone();
        self.events.record(&store, involved, field_path, warning, reason, message, source);
    }

    /// Every object the controllers own a reconcile for, e.g. at start or after the
    /// change feed lagged.
    fn resync(&mut self) {
        let store = self.ctx.store.clone();
        let all = |plural: &str| store.list(resource(plural).expect("served"), None).0;
        for ns in all("namespaces") {
            self.enqueue(Task::Namespace(objects::name(&ns).to_string()));
        }
        for pvc in all("persistentvolumeclaims") {
            self.enqueue(Task::Pvc(ObjRef::of(&pvc)));
        }
        for pod in all("pods") {
            self.pod_summaries.insert(ObjRef::of(&pod), PodSummary::of(&pod));
            self.enqueue(Task::Pod(ObjRef::of(&pod)));
        }
        for (plural, make) in [
            ("statefulsets", Task::StatefulSet as fn(ObjRef) -> Task),
            ("replicasets", Task::ReplicaSet),
            ("deployments", Task::Deployment),
            ("poddisruptionbudgets", Task::Pdb),
            ("horizontalpodautoscalers", Task::Hpa),
            ("services", Task::Service),
        ] {
            for obj in all(plural) {
                self.enqueue(make(ObjRef::of(&obj)));
            }
        }
        controllers::gc::enqueue_orphans(self);
    }

    fn on_change(&mut self, change: &Change) {
        // Controllers act on built-in kinds only; a CRD may reuse a built-in plural.
        if resource(change.key.resource).is_none_or(|rt| rt.group != change.key.group) {
            return;
        }
        let obj = &*change.object;
        let key = ObjRef::new(&change.key.namespace, &change.key.name);
        match change.key.resource {
            "pods" => self.on_pod_change(change.kind, key, obj),
            "replicasets" => {
                // The ReplicaSet first: its status must reflect a scale-down before the
                // deployment decides how much more it may scale down.
                self.enqueue(Task::ReplicaSet(key));
                if let Some(owner) = owner_of(obj, "Deployment") {
                    self.enqueue(Task::Deployment(owner));
                }
            }
            "deployments" => self.enqueue(Task::Deployment(key)),
            "statefulsets" => self.enqueue(Task::StatefulSet(key)),
            "controllerrevisions" => {
                if let Some(owner) = owner_of(obj, "StatefulSet") {
                    self.enqueue(Task::StatefulSet(owner));
                }
            }
            "poddisruptionbudgets" => self.enqueue(Task::Pdb(key)),
            "horizontalpodautoscalers" => self.enqueue(Task::Hpa(key)),
            "persistentvolumeclaims" => self.enqueue(Task::Pvc(key)),
            "services" => self.enqueue(Task::Service(key)),
            "namespaces" if change.kind == ChangeKind::Added => self.enqueue(Task::Namespace(key.name)),
            _ => {}
        }
        if change.kind == ChangeKind::Deleted {
            let uid = objects::uid(obj);
            if !uid.is_empty() {
                self.events.forget(uid);
                self.enqueue(Task::Collect { namespace: change.key.namespace.clone(), owner_uid: uid.to_string() });
            }
        }
    }

    fn on_pod_change(&mut self, kind: ChangeKind, key: ObjRef, pod: &Value) {
        if self.kubelet.wants(kind, &key, pod) {
            self.enqueue(Task::Pod(key.clone()));
        }
        let summary = PodSummary::of(pod);
        let changed = match kind {
            ChangeKind::Deleted => {
                self.pod_summaries.remove(&key);
                true
            }
            _ => self.pod_summaries.insert(key.clone(), summary).as_ref() != Some(&PodSummary::of(pod)),
        };
        if !changed {
            return;
        }
        if let Some(owner) = owner_of(pod, "ReplicaSet") {
            self.enqueue(Task::ReplicaSet(owner));
        }
        if let Some(owner) = owner_of(pod, "StatefulSet") {
            self.enqueue(Task::StatefulSet(owner));
        }
        let labels = objects::labels(pod);
        let store = self.ctx.store.clone();
        let ns = Some(key.namespace.as_str());
        for pdb in store.list(resource("poddisruptionbudgets").expect("served"), ns).0 {
            if objects::label_selector_matches(pdb.pointer("/spec/selector"), &labels) {
                self.enqueue(Task::Pdb(ObjRef::of(&pdb)));
            }
        }
        for svc in store.list(resource("services").expect("served"), ns).0 {
            if objects::map_selector_matches(svc.pointer("/spec/selector"), &labels) {
                self.enqueue(Task::Service(ObjRef::of(&svc)));
            }
        }
    }

    fn process(&mut self, task: Task) {
        match task {
            Task::Deployment(r) => controllers::deployment::sync(self, &r),
            Task::ReplicaSet(r) => controllers::replicaset::sync(self, &r),
            Task::StatefulSet(r) => controllers::statefulset::sync(self, &r),
            Task::Pod(r) => controllers::kubelet::sync(self, &r),
            Task::Pdb(r) => controllers::disruption::sync(self, &r),
            Task::Hpa(r) => controllers::hpa::sync(self, &r),
            Task::HpaSync => controllers::hpa::sync_all(self),
            Task::Pvc(r) => controllers::misc::bind_claim(self, &r),
            Task::Service(r) => controllers::misc::sync_endpoints(self, &r),
            Task::Namespace(ns) => controllers::misc::default_service_account(self, &ns),
            Task::Collect { namespace, owner_uid } => controllers::gc::collect(self, &namespace, &owner_uid),
            Task::Logs { pod, uid, container, run } => {
                controllers::kubelet::emit_logs(self, &pod, &uid, container, run)
            }
            Task::Timeline(i) => timeline::fire(self, i),
        }
    }

    fn process_batch(&mut self) -> bool {
        for _ in 0..BATCH {
            let Some(task) = self.queue.pop_front() else { return false };
            self.queued.remove(&task);
            self.process(task);
        }
        !self.queue.is_empty()
    }

    fn fire_due_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, task))) = self.timers.pop() else { break };
            self.enqueue(task);
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Wakes every pod whose containers run `image` in `namespace` (after a behaviour
    /// change), so probes and log generators pick it up.
    pub fn wake_pods_matching(&mut self, image: &Glob, namespace: &Glob) {
        for key in self.kubelet.pods_matching(image, namespace) {
            self.enqueue(Task::Pod(key));
        }
    }
}

fn owner_of(obj: &Value, kind: &str) -> Option<ObjRef> {
    let r = objects::controller_ref(obj)?;
    (objects::str_at(r, "/kind") == kind).then(|| ObjRef::new(objects::namespace(obj), objects::str_at(r, "/name")))
}

/// Drives the world until the future is dropped.
pub async fn run_world(scenario: Scenario, ctx: WorldContext) {
    let store = ctx.store.clone();
    let Ok(watch) = store.watch(0) else { return };
    let mut live = watch.live;
    let mut world = World::new(&scenario, ctx);
    world.resync();
    timeline::schedule(&mut world);
    controllers::hpa::schedule_first_sync(&mut world);
    loop {
        let more = world.process_batch();
        loop {
            match live.try_recv() {
                Ok(change) => world.on_change(&change),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => world.resync(),
                Err(TryRecvError::Closed) => return,
            }
        }
        world.fire_due_timers();
        if more || !world.queue.is_empty() {
            tokio::task::yield_now().await;
            continue;
        }
        let deadline = world.next_timer();
        tokio::select! {
            received = live.recv() => match received {
                Ok(change) => world.on_change(&change),
                Err(RecvError::Lagged(_)) => world.resync(),
                Err(RecvError::Closed) => return,
            },
            _ = sleep_until_opt(deadline) => world.fire_due_timers(),
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
