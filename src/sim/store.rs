//! The simulator's object store: every API object as its JSON wire form, one global
//! resourceVersion counter, and a bounded change history so watches can resume (and an
//! old resourceVersion gets 410 Gone, as from etcd compaction).
//!
//! The lock is a plain `std::sync::Mutex`: it is never held across an `.await`, and every
//! operation is short. Watchers subscribe to a broadcast channel *while holding the lock*
//! so that no change can fall between the replayed history and the live stream.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::crd;
use super::error::ApiError;
use super::resources::{self, RESOURCES, ResourceType};

/// Where an object lives: its API group and resource (plural), namespace ("" for
/// cluster-scoped) and name. Keyed by group and plural, not version: every served version
/// of a type reads the same objects, and a CRD's plural never collides with a built-in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: &'static str,
    pub resource: &'static str,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(rt: &ResourceType, namespace: &str, name: &str) -> Self {
        ObjectKey {
            group: rt.group,
            resource: rt.plural,
            namespace: if rt.namespaced { namespace.to_string() } else { String::new() },
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_watch_type(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One committed change, as a watch will report it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: ChangeKind,
    pub key: ObjectKey,
    pub object: Arc<Value>,
    /// What the object was before a modification: a filtered watch needs it to tell
    /// "stopped matching" (DELETED) from "never matched", even when it replays history.
    pub previous: Option<Arc<Value>>,
}

/// A watch opened at a resourceVersion: the changes since then, and the live feed after.
pub struct WatchStart {
    pub backlog: Vec<Arc<Change>>,
    pub live: broadcast::Receiver<Arc<Change>>,
    /// The store's resourceVersion when the watch was opened (for bookmarks).
    pub current_rv: u64,
}

struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Oldest resourceVersion a watch may resume from (every later change is still in
    /// `history`); older ones answer 410 Gone.
    oldest_resumable: u64,
    /// The types the stored CRDs serve, recomputed on every CRD write.
    custom: Vec<&'static ResourceType>,
}

pub struct Store {
    state: Mutex<State>,
    changes: broadcast::Sender<Arc<Change>>,
}

/// How many changes are kept for watch resumption unless the caller says otherwise.
pub const DEFAULT_HISTORY: usize = 20_000;

impl Default for Store {
    fn default() -> Self {
        Store::with_history(DEFAULT_HISTORY)
    }
}

impl Store {
    pub fn with_history(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(history_limit.clamp(1024, 65_536));
        Store {
            state: Mutex::new(State {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                history_limit,
                oldest_resumable: 1,
                custom: Vec::new(),
            }),
            changes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is
        // applied in one step), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Every served type: the built-in ones, then the ones the stored CRDs define.
    pub fn served(&self) -> Vec<&'static ResourceType> {
        let state = self.lock();
        RESOURCES.iter().chain(state.custom.iter().copied()).collect()
    }

    /// A served type by group, version and plural (what a URL names).
    pub fn resource_in(&self, group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
        resources::resource_in(group, version, plural).or_else(|| {
            let state = self.lock();
            state.custom.iter().copied().find(|r| r.group == group && r.version == version && r.plural == plural)
        })
    }

    /// A served type by apiVersion and kind (what a manifest names).
    pub fn resource_by_kind(&self, api_version: &str, kind: &str) -> Option<&'static ResourceType> {
        resources::resource_by_kind(api_version, kind).or_else(|| {
            let state = self.lock();
            state.custom.iter().copied().find(|r| r.kind == kind && r.api_version() == api_version)
        })
    }

    /// Recomputes the CRD-defined types from the stored CRDs (under the lock, so that a
    /// CRD write and the types it serves change together).
    fn refresh_custom(state: &mut State) {
        let crds = resources::crds();
        let from =
            ObjectKey { group: crds.group, resource: crds.plural, namespace: String::new(), name: String::new() };
        state.custom = state
            .objects
            .range(from..)
            .take_while(|(k, _)| k.group == crds.group && k.resource == crds.plural)
            .flat_map(|(_, crd)| crd::types_of(crd))
            .collect();
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.lock().objects.get(&ObjectKey::new(rt, namespace, name)).cloned()
    }

    /// Every object of a type, in one namespace (`Some`) or all (`None`), in key order,
    /// with the resourceVersion the list is consistent with.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let state = self.lock();
        let items = match namespace.filter(|_| rt.namespaced) {
            Some(ns) => {
                let from =
                    ObjectKey { group: rt.group, resource: rt.plural, namespace: ns.to_string(), name: String::new() };
                state
                    .objects
                    .range(from..)
                    .take_while(|(k, _)| k.group == rt.group && k.resource == rt.plural && k.namespace == ns)
                    .map(|(_, v)| v.clone())
                    .collect()
            }
            None => {
                let from =
                    ObjectKey { group: rt.group, resource: rt.plural, namespace: String::new(), name: String::new() };
                state
                    .objects
                    .range(from..)
                    .take_while(|(k, _)| k.group == rt.group && k.resource == rt.plural)
                    .map(|(_, v)| v.clone())
                    .collect()
            }
        };
        (items, state.rv)
    }

    /// Creates an object: fills uid, resourceVersion, creationTimestamp, generation.
    /// `generateName` is honoured when `name` is empty.
    pub fn create(&self, rt: &'static ResourceType, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        let mut state = self.lock();
        let namespace = obj_namespace(&obj).to_string();
        if rt.namespaced && namespace.is_empty() {
            return Err(ApiError::bad_request("the namespace of the object must be set"));
        }
        if rt.namespaced && !rt.is("", "events") {
            let ns_key =
                ObjectKey { group: "", resource: "namespaces", namespace: String::new(), name: namespace.clone() };
            if !state.objects.contains_key(&ns_key) {
                return Err(ApiError::not_found_kind("namespaces", "", &namespace));
            }
        }
        let mut name = obj_name(&obj).to_string();
        if name.is_empty() {
            let prefix = obj.pointer("/metadata/generateName").and_then(Value::as_str).unwrap_or("");
            if prefix.is_empty() {
                return Err(ApiError::invalid(rt, "", "metadata.name", "name or generateName is required"));
            }
            loop {
                let candidate = format!("{prefix}{}", random_suffix(5));
                if !state.objects.contains_key(&ObjectKey::new(rt, &namespace, &candidate)) {
                    name = candidate;
                    break;
                }
            }
        }
        let key = ObjectKey::new(rt, &namespace, &name);
        if state.objects.contains_key(&key) {
            return Err(ApiError::already_exists(rt, &name));
        }
        state.rv += 1;
        let rv = state.rv;
        let meta = ensure_object(&mut obj, "metadata");
        meta.insert("name".into(), json!(name));
        if rt.namespaced {
            meta.insert("namespace".into(), json!(namespace));
        } else {
            meta.remove("namespace");
        }
        meta.insert("uid".into(), json!(new_uid()));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        meta.remove("deletionTimestamp");
        // Custom resources always carry a generation (the CRD registry sets it).
        if obj.get("spec").is_some() || rt.custom.is_some() {
            ensure_object(&mut obj, "metadata").insert("generation".into(), json!(1));
        }
        let is_crd = is_crd_type(rt);
        if is_crd {
            crd::with_status(&mut obj, None);
        }
        set_type_meta(&mut obj, rt);
        let obj = Arc::new(obj);
        state.objects.insert(key.clone(), obj.clone());
        self.record(&mut state, ChangeKind::Added, key, obj.clone(), None);
        if is_crd {
            Self::refresh_custom(&mut state);
        }
        Ok(obj)
    }

    /// Replaces an object. When `obj` carries a resourceVersion it must match the stored
    /// one (409 Conflict otherwise), exactly like an API server's optimistic concurrency.
    /// `generation` is bumped when `spec` changes; server-owned metadata is preserved.
    pub fn update(&self, rt: &'static ResourceType, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        let mut state = self.lock();
        let key = ObjectKey::new(rt, obj_namespace(&obj), obj_name(&obj));
        let Some(old) = state.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(rt, &key.name));
        };
        if let Some(wanted) = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str)
            && !wanted.is_empty()
            && Some(wanted) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return Err(ApiError::conflict(rt, &key.name));
        }
        let is_crd = is_crd_type(rt);
        if is_crd {
            crd::with_status(&mut obj, Some(&old));
        }
        if rt.custom.is_some() {
            // Served versions share storage: a write through another version is not a
            // change by itself (the object takes the version it was written with below).
            obj["apiVersion"] = old["apiVersion"].clone();
        }
        if *old == obj_with_rv(&obj, &old) {
            return Ok(old); // no-op updates do not bump resourceVersion, as on a real server
        }
        state.rv += 1;
        let rv = state.rv;
        let old_generation = old.pointer("/metadata/generation").and_then(Value::as_i64);
        let spec_changed = match rt.custom {
            // A custom resource's generation counts every change but metadata (and status,
            // when status is a subresource), as the real server's CRD strategy does.
            Some(_) => without_meta(&old, rt.has_status()) != without_meta(&obj, rt.has_status()),
            None => old.get("spec") != obj.get("spec"),
        };
        let meta = ensure_object(&mut obj, "metadata");
        for preserved in ["uid", "creationTimestamp", "namespace", "name"] {
            match old.pointer(&format!("/metadata/{preserved}")) {
                Some(v) => meta.insert(preserved.into(), v.clone()),
                None => meta.remove(preserved),
            };
        }
        if let Some(ts) = old.pointer("/metadata/deletionTimestamp") {
            meta.insert("deletionTimestamp".into(), ts.clone());
        }
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        match old_generation {
            Some(g) => {
                meta.insert("generation".into(), json!(if spec_changed { g + 1 } else { g }));
            }
            None => {
                meta.remove("generation");
            }
        }
        set_type_meta(&mut obj, rt);
        let obj = Arc::new(obj);
        state.objects.insert(key.clone(), obj.clone());
        self.record(&mut state, ChangeKind::Modified, key, obj.clone(), Some(old));
        if is_crd {
            Self::refresh_custom(&mut state);
        }
        Ok(obj)
    }

    /// Sets an object's creationTimestamp, which no API request can change: for seeding a
    /// world that existed before the simulator started (the demo's hours-old objects).
    /// Recorded as a modification with a new resourceVersion.
    pub fn backdate(&self, rt: &ResourceType, namespace: &str, name: &str, created: &str) {
        let mut state = self.lock();
        let key = ObjectKey::new(rt, namespace, name);
        let Some(old) = state.objects.get(&key).cloned() else { return };
        state.rv += 1;
        let rv = state.rv;
        let mut obj = (*old).clone();
        let meta = ensure_object(&mut obj, "metadata");
        meta.insert("creationTimestamp".into(), json!(created));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        let obj = Arc::new(obj);
        state.objects.insert(key.clone(), obj.clone());
        self.record(&mut state, ChangeKind::Modified, key, obj, Some(old));
    }

    /// Reads, changes and writes one object, retrying when a concurrent write got in
    /// between (the closure may run more than once, so it must only compute the change).
    /// The building block for controllers and for patch requests.
    pub fn modify(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        mut change: impl FnMut(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Arc<Value>, ApiError> {
        for _ in 0..16 {
            let current = self.get(rt, namespace, name).ok_or_else(|| ApiError::not_found(rt, name))?;
            let mut next = (*current).clone();
            change(&mut next)?;
            let rv = current.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
            ensure_object(&mut next, "metadata").insert("resourceVersion".into(), rv);
            match self.update(rt, next) {
                Err(e) if e.code == 409 => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(rt, name))
    }

    /// [`Store::modify`] for changes that cannot fail; `None` when the object is gone.
    pub fn modify_with(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        mut change: impl FnMut(&mut Value),
    ) -> Option<Arc<Value>> {
        self.modify(rt, namespace, name, |v| {
            change(v);
            Ok(())
        })
        .ok()
    }

    /// Deletes an object immediately (graceful pod termination is the kubelet's job:
    /// it marks `deletionTimestamp` with `modify` first and calls this when done).
    /// With `precondition_rv`, a stale resourceVersion answers 409.
    pub fn delete(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        precondition_rv: Option<&str>,
    ) -> Result<Arc<Value>, ApiError> {
        let mut state = self.lock();
        let key = ObjectKey::new(rt, namespace, name);
        let Some(old) = state.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(rt, name));
        };
        if let Some(want) = precondition_rv
            && Some(want) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return Err(ApiError::conflict(rt, name));
        }
        let is_crd = is_crd_type(rt);
        if is_crd {
            // The real server's finalizer deletes every custom resource of the CRD before
            // the CRD goes; here it happens at once, in the same order.
            let group = old.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
            let plural = old.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or("");
            let doomed: Vec<ObjectKey> =
                state.objects.keys().filter(|k| k.group == group && k.resource == plural).cloned().collect();
            for k in doomed {
                self.remove(&mut state, k);
            }
        }
        let gone = self.remove(&mut state, key);
        if is_crd {
            Self::refresh_custom(&mut state);
        }
        Ok(gone.expect("the object was just read"))
    }

    /// Removes one object and records its deletion.
    fn remove(&self, state: &mut State, key: ObjectKey) -> Option<Arc<Value>> {
        let old = state.objects.remove(&key)?;
        state.rv += 1;
        let rv = state.rv;
        let mut gone = (*old).clone();
        ensure_object(&mut gone, "metadata").insert("resourceVersion".into(), json!(rv.to_string()));
        let gone = Arc::new(gone);
        self.record(state, ChangeKind::Deleted, key, gone.clone(), None);
        Some(gone)
    }

    /// Opens a watch: changes after `from_rv` (0 = from now). 410 Gone when `from_rv`
    /// is older than the retained history.
    pub fn watch(&self, from_rv: u64) -> Result<WatchStart, ApiError> {
        let state = self.lock();
        let live = self.changes.subscribe();
        if from_rv == 0 {
            return Ok(WatchStart { backlog: Vec::new(), live, current_rv: state.rv });
        }
        if from_rv < state.oldest_resumable {
            return Err(ApiError::gone(from_rv));
        }
        let backlog = state.history.iter().filter(|c| c.rv > from_rv).cloned().collect();
        Ok(WatchStart { backlog, live, current_rv: state.rv })
    }

    /// Forgets all history: every resourceVersion older than now answers 410 on resume.
    /// Fault injection for "etcd compacted".
    pub fn expire_history(&self) {
        let mut state = self.lock();
        state.history.clear();
        // etcd's revision is cluster-wide and keeps moving; a compaction therefore leaves
        // every version a client holds behind, which is what makes its next watch a 410.
        state.rv += 1;
        state.oldest_resumable = state.rv;
    }

    fn record(
        &self,
        state: &mut State,
        kind: ChangeKind,
        key: ObjectKey,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let change = Arc::new(Change { rv: state.rv, kind, key, object, previous });
        state.history.push_back(change.clone());
        while state.history.len() > state.history_limit {
            if let Some(dropped) = state.history.pop_front() {
                state.oldest_resumable = dropped.rv;
            }
        }
        // No receiver is fine: nobody is watching.
        let _ = self.changes.send(change);
    }

    /// Number of stored objects (for metrics and benchmarks).
    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn is_crd_type(rt: &ResourceType) -> bool {
    rt.is("apiextensions.k8s.io", "customresourcedefinitions")
}

/// An object without metadata, type meta and (optionally) status: what a generation counts.
fn without_meta(obj: &Value, drop_status: bool) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        for k in ["metadata", "apiVersion", "kind"] {
            map.remove(k);
        }
        if drop_status {
            map.remove("status");
        }
    }
    copy
}

pub fn obj_name(obj: &Value) -> &str {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

pub fn obj_namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("")
}

/// `obj` with the resourceVersion of `old`, to compare content while ignoring the RV.
fn obj_with_rv(obj: &Value, old: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["resourceVersion", "uid", "creationTimestamp", "generation"] {
            match old.pointer(&format!("/metadata/{k}")) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
    }
    copy
}

/// The map at `obj[field]`, created if missing.
pub fn ensure_object<'a>(obj: &'a mut Value, field: &str) -> &'a mut serde_json::Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("object");
    let entry = map.entry(field.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("object")
}

fn set_type_meta(obj: &mut Value, rt: &ResourceType) {
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
    }
}

pub use super::meta::now_rfc3339;

/// Lowercase alphanumerics without vowels, as Kubernetes' name generator uses.
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect()
}

pub fn new_uid() -> String {
    let hex = |n: usize| (0..n).map(|_| format!("{:x}", fastrand::u8(..16))).collect::<String>();
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::resource;

    fn ns(store: &Store, name: &str) {
        store.create(resource("namespaces").unwrap(), json!({"metadata": {"name": name}})).unwrap();
    }

    #[test]
    fn create_assigns_metadata_and_rejects_duplicates() {
        let store = Store::default();
        ns(&store, "a");
        let cm = resource("configmaps").unwrap();
        let obj = store.create(cm, json!({"metadata": {"name": "x", "namespace": "a"}, "data": {}})).unwrap();
        assert_eq!(obj["kind"], "ConfigMap");
        assert!(obj.pointer("/metadata/uid").is_some());
        let err = store.create(cm, json!({"metadata": {"name": "x", "namespace": "a"}})).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "AlreadyExists");
    }

    #[test]
    fn create_in_missing_namespace_is_not_found() {
        let store = Store::default();
        let cm = resource("configmaps").unwrap();
        let err = store.create(cm, json!({"metadata": {"name": "x", "namespace": "nope"}})).unwrap_err();
        assert_eq!(err.code, 404);
    }

    #[test]
    fn update_with_stale_resource_version_conflicts() {
        let store = Store::default();
        ns(&store, "a");
        let cm = resource("configmaps").unwrap();
        let first = store.create(cm, json!({"metadata": {"name": "x", "namespace": "a"}, "data": {"k": "1"}})).unwrap();
        let mut second = (*first).clone();
        second["data"]["k"] = json!("2");
        store.update(cm, second.clone()).unwrap();
        second["data"]["k"] = json!("3");
        let err = store.update(cm, second).unwrap_err();
        assert_eq!(err.code, 409);
    }

    #[test]
    fn spec_change_bumps_generation_status_change_does_not() {
        let store = Store::default();
        ns(&store, "a");
        let deploy = resource("deployments").unwrap();
        store.create(deploy, json!({"metadata": {"name": "d", "namespace": "a"}, "spec": {"replicas": 1}})).unwrap();
        let v = store.modify_with(deploy, "a", "d", |o| o["status"] = json!({"replicas": 1})).unwrap();
        assert_eq!(v["metadata"]["generation"], 1);
        let v = store.modify_with(deploy, "a", "d", |o| o["spec"]["replicas"] = json!(3)).unwrap();
        assert_eq!(v["metadata"]["generation"], 2);
    }

    #[test]
    fn watch_replays_history_and_expired_history_is_gone() {
        let store = Store::default();
        ns(&store, "a");
        let cm = resource("configmaps").unwrap();
        let rv = store.current_rv();
        store.create(cm, json!({"metadata": {"name": "x", "namespace": "a"}})).unwrap();
        store.delete(cm, "a", "x", None).unwrap();
        let start = store.watch(rv).unwrap();
        let kinds: Vec<_> = start.backlog.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![ChangeKind::Added, ChangeKind::Deleted]);
        store.expire_history();
        assert_eq!(store.watch(rv).err().map(|e| e.code), Some(410));
    }

    #[test]
    fn bounded_history_makes_old_versions_gone() {
        let store = Store::with_history(3);
        ns(&store, "a");
        let cm = resource("configmaps").unwrap();
        let rv = store.current_rv();
        for i in 0..10 {
            store.create(cm, json!({"metadata": {"name": format!("c{i}"), "namespace": "a"}})).unwrap();
        }
        assert_eq!(store.watch(rv).err().map(|e| e.code), Some(410));
        assert!(store.watch(store.current_rv() - 1).is_ok());
    }

    #[test]
    fn list_is_scoped_to_namespace() {
        let store = Store::default();
        ns(&store, "a");
        ns(&store, "b");
        let cm = resource("configmaps").unwrap();
        store.create(cm, json!({"metadata": {"name": "x", "namespace": "a"}})).unwrap();
        store.create(cm, json!({"metadata": {"name": "y", "namespace": "b"}})).unwrap();
        assert_eq!(store.list(cm, Some("a")).0.len(), 1);
        assert_eq!(store.list(cm, None).0.len(), 2);
    }
}
