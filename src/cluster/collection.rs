//! What the watches keep: a [`Collection`] of one kind's objects as last seen, in the
//! shape [`Watched`] says the store keeps them in. Apart from the watch loop so the kinds
//! defined elsewhere (operators' clusters, GitOps owners) depend on this, not on the loop.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;

use crate::model::changes::Change;
use crate::model::pods::PodFacts;

/// Objects of one kind as last seen, keyed by namespace/name, in the shape the store
/// keeps them in ([`Watched::Stored`]).
pub struct Collection<S> {
    inner: RwLock<CollectionInner<S>>,
}

/// An object's namespace (`""` when cluster-scoped) and name.
pub type Key = (String, String);

struct CollectionInner<S> {
    live: BTreeMap<Key, Arc<S>>,
    /// A relist in progress: replaces `live` at `InitDone`.
    relisting: Option<BTreeMap<Key, Arc<S>>>,
    malformed: usize,
}

impl<S> Default for Collection<S> {
    fn default() -> Self {
        Collection { inner: RwLock::new(CollectionInner { live: BTreeMap::new(), relisting: None, malformed: 0 }) }
    }
}

pub fn key_of<K: Resource>(obj: &K) -> Key {
    (obj.meta().namespace.clone().unwrap_or_default(), obj.meta().name.clone().unwrap_or_default())
}

impl<S> Collection<S> {
    /// The current objects, cheap to take (shared pointers), in namespace/name order.
    pub fn snapshot(&self) -> Vec<Arc<S>> {
        self.read().live.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Objects skipped because they could not be decoded.
    pub fn malformed(&self) -> usize {
        self.read().malformed
    }

    /// Counts objects skipped because they could not be decoded.
    pub(super) fn skipped_malformed(&self, bad: usize) {
        self.write().malformed += bad;
    }

    pub(super) fn get(&self, key: &Key) -> Option<Arc<S>> {
        self.read().live.get(key).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CollectionInner<S>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CollectionInner<S>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every object: the kind can no longer be listed, so what was seen is not
    /// current any more. Returns whether anything was shown.
    pub(super) fn forget(&self) -> bool {
        let mut inner = self.write();
        inner.relisting = None;
        !std::mem::take(&mut inner.live).is_empty()
    }

    /// Applies one watcher event; returns what it changed of the visible objects
    /// (`classify` tells a status-only update from one that changes what the model groups
    /// by; `gone` is what an object deleted changes, [`Watched::GONE`]).
    pub(super) fn apply(
        &self,
        event: Event<(Key, Arc<S>)>,
        classify: fn(Option<&S>, &S) -> Change,
        gone: Change,
    ) -> Change {
        let mut inner = self.write();
        match event {
            Event::Init => {
                inner.relisting = Some(BTreeMap::new());
                Change::None
            }
            Event::InitApply((key, obj)) => {
                inner.relisting.get_or_insert_with(BTreeMap::new).insert(key, obj);
                Change::None
            }
            Event::InitDone => {
                if let Some(fresh) = inner.relisting.take() {
                    inner.live = fresh;
                }
                Change::All
            }
            Event::Apply((key, obj)) => {
                let change = classify(inner.live.get(&key).map(|old| &**old), &obj);
                inner.live.insert(key, obj);
                change
            }
            Event::Delete((key, _)) => match inner.live.remove(&key) {
                Some(_) => gone,
                None => Change::None,
            },
        }
    }

    /// Forgets objects no view can show again ([`Watched::crowded_out`]): nothing the
    /// model reads changes, so nothing is recorded.
    pub(super) fn drop_unread(&self, keys: &[Key]) {
        let mut inner = self.write();
        for key in keys {
            inner.live.remove(key);
        }
    }

    /// The objects of one namespace (`""` for cluster-scoped kinds), in name order.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<S>> {
        let inner = self.read();
        let from = (namespace.to_string(), String::new());
        inner.live.range(from..).take_while(|((ns, _), _)| ns == namespace).map(|(_, o)| o.clone()).collect()
    }

    /// The objects of `namespace` with these names (those that exist), in name order: a
    /// lookup per name, not a walk over the namespace.
    pub fn named(&self, namespace: &str, names: &std::collections::BTreeSet<String>) -> Vec<Arc<S>> {
        let inner = self.read();
        let mut key: Key = (namespace.to_string(), String::new());
        let mut found = Vec::with_capacity(names.len());
        for name in names {
            name.clone_into(&mut key.1);
            found.extend(inner.live.get(&key).cloned());
        }
        found
    }

    /// The namespaces that hold at least one object, in order; a skip from one namespace
    /// to the next, not a walk over every object.
    pub fn namespaces(&self) -> Vec<String> {
        let inner = self.read();
        let mut found = Vec::new();
        let mut next = inner.live.keys().next();
        while let Some((ns, _)) = next {
            found.push(ns.clone());
            // `ns` followed by NUL sorts after every key of `ns` and before the next namespace.
            next = inner.live.range((format!("{ns}\0"), String::new())..).next().map(|(k, _)| k);
        }
        found
    }
}

/// A kind the cockpit watches, and what its store keeps of each object: the object with
/// what the model never reads stripped, or (for the most numerous kinds) a small shape
/// made of just the fields the model reads.
pub trait Watched: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static {
    type Stored: Send + Sync + 'static;
    /// What one watch remembers from object to object, to share what consecutive
    /// objects have in common.
    type Memo: Default + Send;

    fn keep(self, memo: &mut Self::Memo) -> Self::Stored;

    /// The stored pod, for the readiness observer (only pods answer `Some`).
    fn as_pod(_stored: &Self::Stored) -> Option<&PodFacts> {
        None
    }

    /// Lets an update share what it has in common with the object it replaces (the same
    /// labels), so updates do not each leave a copy behind.
    fn share(_new: &mut Self::Stored, _previous: &Self::Stored) {}

    /// Objects the store may forget now that `new` is in: ones the model can never read
    /// again (for Events, the older ones about the same object past what the model shows).
    fn crowded_out(_store: &Collection<Self::Stored>, _new: &Self::Stored) -> Vec<Key> {
        Vec::new()
    }

    /// What an update changed, for the incremental model: by default everything the
    /// model reads of the object may have moved.
    fn classify(_old: Option<&Self::Stored>, _new: &Self::Stored) -> Change {
        Change::Structure
    }

    /// What an object going changes: by default what services are grouped by.
    const GONE: Change = Change::Structure;
}

/// A custom resource (an operator's cluster, a GitOps owner) read as untyped `spec` and
/// `status` and kept as the small shape `$keep` makes of them
/// (`fn(&ObjectMeta, &Value, &Value) -> $stored`): everything else in it is ignored, and an
/// update that leaves that shape as it was changes nothing downstream.
macro_rules! custom_resource {
    ($name:ident: $kind:literal in $group:literal/$version:literal as $plural:literal, kept as $stored:ty, by $keep:expr) => {
        #[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
        pub struct $name {
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            #[serde(default)]
            pub spec: serde_json::Value,
            #[serde(default)]
            pub status: serde_json::Value,
        }

        impl kube::Resource for $name {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;
            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl $crate::cluster::collection::Watched for $name {
            type Stored = $stored;
            type Memo = ();
            fn keep(self, _: &mut ()) -> $stored {
                ($keep)(&self.metadata, &self.spec, &self.status)
            }
            fn classify(old: Option<&$stored>, new: &$stored) -> $crate::model::changes::Change {
                if old == Some(new) {
                    $crate::model::changes::Change::None
                } else {
                    $crate::model::changes::Change::Structure
                }
            }
        }
    };
}
pub(crate) use custom_resource;
