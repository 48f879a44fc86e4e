//! The live model: the services of a scope kept current from what changed, not rebuilt
//! from every object on every change. On a large cluster pods change all day (readiness,
//! restarts, heartbeats); a rebuild per change would cost a core.
//!
//! - A change to anything but a pod's status rebuilds its namespace (services depend only
//!   on objects of their own namespace).
//! - A pod's status alone reassembles only the services that pod belongs to (and those
//!   whose PDBs select it); their preflight checks are kept, since status cannot change a
//!   spec. Every other service stays the same `Arc`. Which services an object reaches is
//!   noted when its namespace is built ([`services::Reads`]), and a reassembly reads only
//!   those services' ReplicaSets, pods and Events, looked up by name, beside the few
//!   objects every service of the namespace reads: its cost follows the services reached,
//!   not the namespace. An Event, new, counted again or expired, is status too.
//! - The nodes' capacity is computed again only when nodes, or where pods run and what
//!   they request, changed. It goes with the scope as it is; no service holds its room
//!   (a scale-up's preview reads it from the capacity and what the service's pods need),
//!   so a pod landing anywhere makes no row new.
//! - What depends on the clock (readiness flaps and warnings counted over a window) ages:
//!   under steady change, the namespace looked at longest ago is looked at again once it
//!   is [`REFRESH_AFTER`] old, one per update, so no row shows a window that has long
//!   closed; only its services that read the clock are assembled again.
//! - Which database each service uses (discovery) is found again only when a workload's
//!   template or what discovery reads besides workloads changed (`Changes::network`),
//!   never for a pod coming, going or changing status.
//! - The profile's cross-service part (database budgets) is summed from every service
//!   (a pass over services, not pods) only when an input to it changed; a service is
//!   finished again only when it was rebuilt or the budget of its database changed.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use jiff::Timestamp;

use super::budget::{self, DatabaseBudget};
use super::capacity::NodeCapacity;
use super::changes::{Changes, Part, read_key};
use super::discovery::{self, Discovered, Network};
use super::events::EventFacts;
use super::profile::{self, Profile};
use super::service::{FLAPPING_WINDOW_S, Service};
use super::services::{self, ClusterObjects, NamespaceFinding, ReadinessHistory, Reads, Touched, Visibility};

/// How old a namespace's build may grow under steady change before it is rebuilt for
/// the clock's sake alone.
pub const REFRESH_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

/// Where the live model reads objects from (the watches' stores).
pub trait Objects {
    /// The objects of one namespace (no nodes, no pods of other namespaces).
    fn objects_in(&self, namespace: &str) -> ClusterObjects;
    /// The namespaces that hold pods or workloads.
    fn namespaces(&self) -> Vec<String>;
    /// The nodes and every pod on them (`nodes` and `node_pods` filled).
    fn on_nodes(&self) -> ClusterObjects;
    /// What database discovery reads besides workloads (Services, referenced ConfigMaps,
    /// operators' clusters).
    fn network(&self) -> Network;
    /// The objects of one namespace a reassembly after status changes reads: every
    /// workload, PDB, HPA, PVC, ControllerRevision and release, and of the ReplicaSets,
    /// pods and Events only those `wanted` names. A store that looks objects up by name
    /// answers without walking the namespace.
    fn named(&self, namespace: &str, wanted: &Wanted) -> ClusterObjects {
        wanted.keep_only(self.objects_in(namespace))
    }
    /// The Events of one namespace with these names (what new Events are about), alone.
    fn events_named(&self, namespace: &str, names: &BTreeSet<String>) -> Vec<Arc<EventFacts>> {
        self.objects_in(namespace).events.into_iter().filter(|e| names.contains(&e.name)).collect()
    }
}

/// The ReplicaSets, pods and Events of a namespace a reassembly reads, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub replicasets: BTreeSet<String>,
    pub pods: BTreeSet<String>,
    pub events: BTreeSet<String>,
}

impl Wanted {
    /// `objects` (one namespace) with only the ReplicaSets, pods and Events wanted.
    pub fn keep_only(&self, mut objects: ClusterObjects) -> ClusterObjects {
        objects.replicasets.retain(|rs| self.replicasets.contains(&rs.name));
        objects.pods.retain(|p| self.pods.contains(&p.name));
        objects.events.retain(|e| self.events.contains(&e.name));
        objects
    }

    fn add(&mut self, reads: &Reads) {
        self.replicasets.extend(reads.replicasets.iter().map(String::from));
        self.pods.extend(reads.pods.iter().map(String::from));
        self.events.extend(reads.events.iter().map(String::from));
    }
}

/// What one update hands to the view.
#[derive(Clone, Debug, Default)]
pub struct Current {
    /// Every service of the scope, in namespace/name order.
    pub services: Vec<Arc<Service>>,
    /// The budgets that matter in the scope.
    pub budgets: Vec<DatabaseBudget>,
    pub namespace_findings: Vec<NamespaceFinding>,
    /// What database discovery could not read.
    pub discovery_notes: Vec<String>,
    /// The nodes' free capacity: the room a scale-up has.
    pub capacity: Arc<NodeCapacity>,
}

/// How much an update rebuilt: what the tests and the bench read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Namespaces built from all their objects.
    pub namespaces: usize,
    /// Services assembled again after pods' status changed.
    pub services: usize,
    /// Services whose preflight checks ran.
    pub checked: usize,
    /// Services finished again with the profile (budgets, rules).
    pub finished: usize,
    /// Discovery runs (which database each service uses).
    pub discovered: usize,
    /// Times the databases' budgets were summed over every service.
    pub summed: usize,
}

#[derive(Default)]
pub struct LiveModel {
    /// The services of each namespace before the profile's cross-service part.
    namespaces: BTreeMap<String, Namespace>,
    capacity: Option<Arc<NodeCapacity>>,
    visibility: Option<Visibility>,
    profile: Option<Arc<Profile>>,
    /// Every database's budget, as last summed.
    budgets: Vec<DatabaseBudget>,
    /// No input to the budgets changed since they were last summed (see
    /// [`budget::same_inputs`]): a status change leaves them as they are.
    budgets_hold: bool,
    /// Which database each service uses, as last discovered: found again only when a
    /// namespace was rebuilt or the network changed, never for a status change.
    discovered: Discovered,
    /// What the last update rebuilt.
    pub work: Work,
    /// The overview's default order, kept while no service moves in it.
    order: services::ProblemsFirst,
}

#[derive(Default)]
struct Namespace {
    /// As built, before the profile's cross-service part, in namespace/name order.
    services: Vec<Arc<Service>>,
    /// When it was built from all its objects, or last looked at for the clock's sake.
    built_at: Timestamp,
    /// `finished[i]` is `services[i]` finished with the profile; `None` until it is.
    finished: Vec<Option<Arc<Service>>>,
    findings: Vec<NamespaceFinding>,
    /// `reads[i]`: what `services[i]` was assembled from.
    reads: Vec<Reads>,
    /// Which services read an object: the services a status change of it reaches.
    readers: Readers,
}

/// The services (by position) that read each object, by its [`read_key`].
#[derive(Default)]
struct Readers(HashMap<u64, Reader>);

/// Most objects are read by one service; a pod that two services' PDBs select, by more.
enum Reader {
    One(usize),
    Many(Vec<usize>),
}

impl Readers {
    fn of(&self, key: u64) -> &[usize] {
        match self.0.get(&key) {
            Some(Reader::One(at)) => std::slice::from_ref(at),
            Some(Reader::Many(all)) => all,
            None => &[],
        }
    }

    fn add(&mut self, at: usize, reads: &Reads) {
        for &key in &reads.reach {
            match self.0.entry(key) {
                Entry::Vacant(slot) => drop(slot.insert(Reader::One(at))),
                Entry::Occupied(mut slot) => match slot.get_mut() {
                    Reader::One(first) => {
                        let all = vec![*first, at];
                        slot.insert(Reader::Many(all));
                    }
                    Reader::Many(all) => all.push(at),
                },
            }
        }
    }

    fn remove(&mut self, at: usize, reads: &Reads) {
        for key in &reads.reach {
            let Entry::Occupied(mut slot) = self.0.entry(*key) else { continue };
            let gone = match slot.get_mut() {
                Reader::One(only) => *only == at,
                Reader::Many(all) => {
                    all.retain(|&i| i != at);
                    all.is_empty()
                }
            };
            if gone {
                slot.remove();
            }
        }
    }
}

/// The part an Event's object is recorded under, when a service can read that object.
fn part_of_kind(kind: &str) -> Option<Part> {
    match kind {
        "Pod" => Some(Part::Pod),
        "ReplicaSet" => Some(Part::ReplicaSet),
        "Deployment" | "StatefulSet" => Some(Part::Workload),
        _ => None,
    }
}

impl Namespace {
    fn new(built: services::Built, prepared: Vec<Arc<Service>>, built_at: Timestamp) -> Self {
        let mut readers = Readers::default();
        for (at, reads) in built.reads.iter().enumerate() {
            readers.add(at, reads);
        }
        Namespace {
            finished: vec![None; prepared.len()],
            services: prepared,
            findings: built.namespace_findings,
            reads: built.reads,
            readers,
            built_at,
        }
    }

    /// `services[at]` assembled again: its finished row goes, what it reads is noted anew.
    fn set(&mut self, at: usize, service: Arc<Service>, reads: Reads) {
        self.readers.remove(at, &self.reads[at]);
        self.readers.add(at, &reads);
        self.services[at] = service;
        self.reads[at] = reads;
        self.finished[at] = None;
    }
}

/// The inputs of one update besides the objects.
pub struct Inputs<'a> {
    pub readiness: &'a ReadinessHistory,
    pub now: Timestamp,
    pub visibility: Visibility,
    pub profile: &'a Arc<Profile>,
    /// The scope's namespace (`None`: all).
    pub scope: Option<&'a str>,
}

impl LiveModel {
    /// `current`'s services (in key order) in the overview's default order: problems first,
    /// sorted again only when a service came, went or changed severity.
    pub fn problems_first(&mut self, by_key: Vec<Arc<Service>>) -> Vec<Arc<Service>> {
        self.order.order(by_key)
    }

    /// Brings the model up to date with `changes` and returns the scope as it is now.
    pub fn update(&mut self, objects: &impl Objects, mut changes: Changes, inputs: &Inputs<'_>) -> Current {
        self.work = Work::default();
        let same_profile = self.profile.as_ref().is_some_and(|p| Arc::ptr_eq(p, inputs.profile));
        if self.visibility != Some(inputs.visibility) || !same_profile {
            changes.everything();
        }
        self.visibility = Some(inputs.visibility);
        self.profile = Some(inputs.profile.clone());
        // Read the nodes again only when they or what runs on them changed (and the first time).
        let first = self.capacity.is_none();
        if first || changes.capacity {
            let read = services::node_capacity(inputs.visibility, &objects.on_nodes());
            if self.capacity.as_deref() != Some(&read) {
                self.capacity = Some(Arc::new(read));
            }
        }
        changes.everything |= first;
        if changes.everything {
            self.budgets_hold = false;
            self.namespaces.clear();
            changes.namespaces = objects.namespaces().into_iter().collect();
        }
        for namespace in &changes.namespaces {
            self.rebuild(objects, namespace, inputs);
        }
        self.refresh_statuses(objects, &changes, inputs);
        if let Some(stale) = self.oldest_build(inputs.now) {
            self.age(objects, &stale, inputs);
        }
        if changes.everything || changes.network {
            self.discover(objects);
        }
        self.current(inputs)
    }

    /// Finds again which database each service uses (specs only, never status).
    fn discover(&mut self, objects: &impl Objects) {
        let plain: Vec<&Service> = self.namespaces.values().flat_map(|n| n.services.iter().map(|s| &**s)).collect();
        self.discovered = discovery::discover(&plain, &objects.network());
        self.work.discovered += 1;
        self.budgets_hold = false;
    }

    /// The namespace built longest ago, when that is [`REFRESH_AFTER`] or more.
    fn oldest_build(&self, now: Timestamp) -> Option<String> {
        let (name, oldest) = self.namespaces.iter().min_by_key(|(_, n)| n.built_at)?;
        (now.duration_since(oldest.built_at) >= REFRESH_AFTER).then(|| name.clone())
    }

    /// Builds one namespace from all its objects (a namespace that no longer holds
    /// anything is dropped).
    fn rebuild(&mut self, objects: &impl Objects, namespace: &str, inputs: &Inputs<'_>) {
        let found = objects.objects_in(namespace);
        self.budgets_hold = false;
        if found.pods.is_empty() && found.deployments.is_empty() && found.statefulsets.is_empty() {
            self.namespaces.remove(namespace);
            return;
        }
        let mut built = services::build_scope(&found, inputs.readiness, inputs.now, inputs.visibility);
        let mut services = std::mem::take(&mut built.services);
        profile::apply_singletons(&mut services, &inputs.profile.singletons);
        self.work.namespaces += 1;
        self.work.checked += services.len();
        let services = services.into_iter().map(Arc::new).collect();
        self.namespaces.insert(namespace.to_string(), Namespace::new(built, services, inputs.now));
    }

    /// Reassembles the services whose objects changed status alone, in namespaces not
    /// rebuilt whole by this update.
    fn refresh_statuses(&mut self, objects: &impl Objects, changes: &Changes, inputs: &Inputs<'_>) {
        for (namespace, changed) in &changes.statuses {
            if !changes.namespaces.contains(namespace) {
                self.reassemble(objects, namespace, changed, inputs);
            }
        }
    }

    /// The clock moved on for the namespace looked at longest ago. Only its services
    /// whose rows read the clock (readiness flaps or warnings inside the window, which
    /// expire) are assembled again, with their checks kept: nothing else in a row
    /// changes with time alone.
    fn age(&mut self, objects: &impl Objects, namespace: &str, inputs: &Inputs<'_>) {
        let Some(entry) = self.namespaces.get_mut(namespace) else { return };
        let looked_at = std::mem::replace(&mut entry.built_at, inputs.now);
        let ageing: BTreeSet<(Part, String)> = entry
            .services
            .iter()
            .filter(|s| reads_the_clock(s, looked_at))
            .map(|s| (Part::Workload, s.key.name.clone()))
            .collect();
        if !ageing.is_empty() {
            self.reassemble(objects, namespace, &ageing, inputs);
        }
    }

    /// Assembles again the services of `namespace` that `changed` reaches (their checks
    /// kept), from their own objects and what every service of the namespace reads
    /// alike; every other service stays the same `Arc`. The work follows the services
    /// reached, not the namespace.
    fn reassemble(
        &mut self,
        objects: &impl Objects,
        namespace: &str,
        changed: &BTreeSet<(Part, String)>,
        inputs: &Inputs<'_>,
    ) {
        let Some(entry) = self.namespaces.get_mut(namespace) else { return };
        let reached = reached(entry, objects, namespace, changed);
        if reached.is_empty() {
            return;
        }
        // New Events are read by the services they reach; those gone are simply not found.
        let mut wanted = Wanted::default();
        wanted.events.extend(changed.iter().filter(|(part, _)| *part == Part::Event).map(|(_, name)| name.clone()));
        for &at in &reached {
            wanted.add(&entry.reads[at]);
        }
        // A service whose names could not be listed reads its whole namespace.
        let unlisted = reached.iter().any(|&at| entry.reads[at].unlisted);
        let found = if unlisted { objects.objects_in(namespace) } else { objects.named(namespace, &wanted) };
        let touched = reached
            .iter()
            .map(|&at| Touched {
                kind: entry.services[at].key.kind,
                name: &entry.reads[at].workload,
                preflight: entry.services[at].preflight.clone(),
            })
            .collect();
        let fresh = services::reassemble(&found, inputs.readiness, inputs.now, inputs.visibility, touched);
        for (mut service, reads) in fresh {
            profile::apply_singletons(std::slice::from_mut(&mut service), &inputs.profile.singletons);
            let Ok(at) = entry.services.binary_search_by(|s| s.key.cmp(&service.key)) else { continue };
            self.budgets_hold &= budget::same_inputs(&entry.services[at], &service);
            entry.set(at, Arc::new(service), reads);
            self.work.services += 1;
        }
    }

    /// Sums the budgets and finishes every service with the profile, reusing a finished
    /// service whose built one and database budget are as before.
    fn current(&mut self, inputs: &Inputs<'_>) -> Current {
        let profile = inputs.profile;
        // Summed again only when an input moved; then the finished rows of the databases
        // whose budget moved are finished again.
        let mut moved = BTreeSet::new();
        if !self.budgets_hold {
            let plain: Vec<&Service> = self.namespaces.values().flat_map(|n| n.services.iter().map(|s| &**s)).collect();
            let summed = budget::databases(&profile.budget, &plain, &self.discovered);
            moved = moved_budgets(&self.budgets, &summed);
            self.budgets = summed;
            self.budgets_hold = true;
            self.work.summed += 1;
        }
        let budgets = &self.budgets;
        let mut services = Vec::with_capacity(self.namespaces.values().map(|n| n.services.len()).sum());
        for namespace in self.namespaces.values_mut() {
            for (base, finished) in namespace.services.iter().zip(namespace.finished.iter_mut()) {
                let still =
                    |done: &Arc<Service>| done.budget.as_ref().is_none_or(|b| !moved.contains(b.database.as_str()));
                let done = match finished.as_ref().filter(|done| still(done)) {
                    Some(done) => done.clone(),
                    None => {
                        self.work.finished += 1;
                        // Most services use no database and no rule touches them: share the
                        // built one rather than copy it (or keep two copies of every row).
                        let done = if profile::leaves_as_built(base, budgets, profile) {
                            base.clone()
                        } else {
                            let mut service = (**base).clone();
                            profile::finish(&mut service, budgets, profile);
                            if service == **base { base.clone() } else { Arc::new(service) }
                        };
                        finished.insert(done).clone()
                    }
                };
                services.push(done);
            }
        }
        let namespace_findings = self.namespaces.values().flat_map(|n| n.findings.iter().cloned()).collect();
        Current {
            services,
            budgets: profile::in_scope(budgets.clone(), profile, inputs.scope),
            namespace_findings,
            discovery_notes: self.discovered.notes.clone(),
            capacity: self.capacity.clone().unwrap_or_default(),
        }
    }
}

/// Whether a row built at `built` may read differently later with nothing changed:
/// readiness flaps and warning Events are counted over a window that slides with the
/// clock, so one inside the window when the row was built may have left it since.
fn reads_the_clock(s: &Service, built: Timestamp) -> bool {
    let window_then = built - jiff::SignedDuration::from_secs(FLAPPING_WINDOW_S);
    s.pods.iter().any(|p| p.flaps > 0)
        || s.events.iter().any(|e| e.warning && e.last_seen.is_some_and(|t| t >= window_then))
}

/// The databases whose budget differs between two sums (or is in only one).
fn moved_budgets(before: &[DatabaseBudget], now: &[DatabaseBudget]) -> BTreeSet<String> {
    let old: HashMap<&str, &DatabaseBudget> = before.iter().map(|b| (b.name.as_str(), b)).collect();
    let new: HashMap<&str, &DatabaseBudget> = now.iter().map(|b| (b.name.as_str(), b)).collect();
    let changed_or_new = now.iter().filter(|b| old.get(b.name.as_str()) != Some(b)).map(|b| b.name.as_str());
    let gone = before.iter().filter(|b| !new.contains_key(b.name.as_str())).map(|b| b.name.as_str());
    changed_or_new.chain(gone).map(String::from).collect()
}

/// The services of a namespace (by position) that status changes reach: those that read
/// a changed object, and for an Event not read before, those that read what it is about.
fn reached(
    entry: &Namespace,
    objects: &impl Objects,
    namespace: &str,
    changed: &BTreeSet<(Part, String)>,
) -> BTreeSet<usize> {
    let mut reached = BTreeSet::new();
    let mut news = BTreeSet::new();
    for (part, name) in changed {
        match entry.readers.of(read_key(*part, name)) {
            [] if *part == Part::Event => drop(news.insert(name.clone())),
            readers => reached.extend(readers),
        }
    }
    if news.is_empty() {
        return reached;
    }
    for event in &objects.events_named(namespace, &news) {
        if event.about_namespace() != namespace {
            continue;
        }
        if let Some(part) = part_of_kind(&event.about_kind) {
            reached.extend(entry.readers.of(read_key(part, &event.about_name)));
        }
    }
    reached
}

#[cfg(test)]
mod tests;
