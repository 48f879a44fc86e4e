//! What changed in the watched objects since the model was last updated: the input that
//! lets the live model rebuild only what depends on it ([`super::live`]).

use std::collections::{BTreeMap, BTreeSet};

/// What one watch event changed of what the model reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing the model reads (a pod's annotations, a heartbeat).
    None,
    /// An object's status alone (a pod's readiness, a Deployment's ready replicas, a
    /// PDB's allowed disruptions, a new Event): what groups it, its spec and, for a pod,
    /// its node and what it holds there are as before, so only the services it belongs
    /// to are touched, and no preflight check needs to run again.
    Status,
    /// An object appeared, went, or changed what the model groups or checks by.
    Structure,
    /// A whole kind was listed again or forgotten.
    All,
}

/// The kinds whose status alone can change, each reaching only the services it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Pod,
    /// A Deployment or a StatefulSet.
    Workload,
    ReplicaSet,
    DisruptionBudget,
    Autoscaler,
    /// An Event about a workload, a ReplicaSet or a pod.
    Event,
}

/// An object as a status change names it (its part and name), as a number: what each
/// service reads is kept as these, eight bytes an object rather than its name. Two objects
/// may share one, which can only make a change reach a service it need not reach, never
/// miss one it must.
pub fn read_key(part: Part, name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x636f_636b_7069_7400).hash_one((part, name))
}

/// The changes gathered between two model updates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Rebuild everything (the first update, a relist, a forgotten kind).
    pub everything: bool,
    /// The nodes, or what the pods on them hold, changed: the nodes' free capacity.
    pub capacity: bool,
    /// Namespaces where something other than a pod's status changed.
    pub namespaces: BTreeSet<String>,
    /// Objects whose status alone changed, by namespace.
    pub statuses: BTreeMap<String, BTreeSet<(Part, String)>>,
    /// What database discovery reads changed (a workload's template, Services, referenced
    /// ConfigMaps, operators' clusters): which database each service uses is found again.
    /// A pod coming or going changes none of it.
    pub network: bool,
}

impl Changes {
    pub fn everything_at_start() -> Self {
        Changes { everything: true, capacity: true, network: true, ..Default::default() }
    }

    pub fn everything(&mut self) {
        self.everything = true;
        self.capacity = true;
        self.network = true;
    }

    pub fn network(&mut self) {
        self.network = true;
    }

    pub fn capacity(&mut self) {
        self.capacity = true;
    }

    pub fn namespace(&mut self, namespace: &str) {
        if !self.namespaces.contains(namespace) {
            self.namespaces.insert(namespace.to_string());
        }
    }

    pub fn status(&mut self, namespace: &str, part: Part, name: &str) {
        self.statuses.entry(namespace.to_string()).or_default().insert((part, name.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}
