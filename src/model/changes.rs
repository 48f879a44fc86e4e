//! What changed in the watched objects since the model was last updated: the input that
//! lets the live model rebuild only what depends on it ([`super::live`]).

use std::collections::BTreeSet;

/// What one watch event changed of what the model reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing the model reads (a pod's annotations, a heartbeat).
    None,
    /// A pod's status alone (readiness, restarts, phase): its grouping, its node and what
    /// it holds there are as before, so only the services it belongs to are touched.
    Status,
    /// An object appeared, went, or changed what the model groups or checks by.
    Structure,
    /// A whole kind was listed again or forgotten.
    All,
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
    /// Pods whose status alone changed, as (namespace, name).
    pub pod_statuses: BTreeSet<(String, String)>,
}

impl Changes {
    pub fn everything_at_start() -> Self {
        Changes { everything: true, capacity: true, ..Default::default() }
    }

    pub fn everything(&mut self) {
        self.everything = true;
        self.capacity = true;
    }

    pub fn capacity(&mut self) {
        self.capacity = true;
    }

    pub fn namespace(&mut self, namespace: &str) {
        if !self.namespaces.contains(namespace) {
            self.namespaces.insert(namespace.to_string());
        }
    }

    pub fn pod_status(&mut self, namespace: &str, name: &str) {
        self.pod_statuses.insert((namespace.to_string(), name.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}
