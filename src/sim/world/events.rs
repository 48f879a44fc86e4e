//! Events as the real components record them: one object per (object, reason, message),
//! whose `count` and `lastTimestamp` grow on repeats, so `kubectl describe` shows
//! "(x12 over 2m)" like on a real cluster.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::objects::{name, namespace, str_at, uid};
use crate::sim::resources::resource;
use crate::sim::store::Store;

/// Who reports an event (`source.component`, and the node for the kubelet).
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub component: &'static str,
    pub host: Option<&'a str>,
}

pub const SCHEDULER: Source<'static> = Source { component: "default-scheduler", host: None };
pub const DEPLOYMENTS: Source<'static> = Source { component: "deployment-controller", host: None };
pub const REPLICASETS: Source<'static> = Source { component: "replicaset-controller", host: None };
pub const STATEFULSETS: Source<'static> = Source { component: "statefulset-controller", host: None };
pub const AUTOSCALER: Source<'static> = Source { component: "horizontal-pod-autoscaler", host: None };
pub const DISRUPTION: Source<'static> = Source { component: "controllermanager", host: None };
pub const VOLUMES: Source<'static> = Source { component: "persistentvolume-controller", host: None };

pub fn kubelet(node: &str) -> Source<'_> {
    Source { component: "kubelet", host: Some(node) }
}

/// The suffix of an event's name, as client-go's recorder makes it: the time in Unix
/// nanoseconds, in hex. A list sorted by name then shows each object's events in the
/// order they happened (`kubectl get events`), and no two events share a name.
fn event_nanos() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = jiff::Timestamp::now().as_nanosecond().max(0) as u64;
    let previous = LAST.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)));
    now.max(previous.unwrap_or(0) + 1)
}

#[derive(Default)]
pub struct Recorder {
    /// (object uid, fieldPath, reason, message) → event name, for aggregation.
    seen: HashMap<(String, String, String, String), String>,
}

impl Recorder {
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        store: &Store,
        involved: &Value,
        field_path: Option<&str>,
        warning: bool,
        reason: &str,
        message: &str,
        source: Source<'_>,
    ) {
        let events = resource("events").expect("events are served");
        let ns = match namespace(involved) {
            "" => "default",
            ns => ns,
        };
        let key =
            (uid(involved).to_string(), field_path.unwrap_or("").to_string(), reason.to_string(), message.to_string());
        let now = super::objects::now();
        if let Some(existing) = self.seen.get(&key)
            && store
                .modify_with(events, ns, existing, |e| {
                    let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
                    e["count"] = json!(count + 1);
                    e["lastTimestamp"] = json!(now);
                })
                .is_some()
        {
            return;
        }
        let mut involved_ref = json!({
            "kind": str_at(involved, "/kind"),
            "namespace": namespace(involved),
            "name": name(involved),
            "uid": uid(involved),
            "apiVersion": str_at(involved, "/apiVersion"),
            "resourceVersion": str_at(involved, "/metadata/resourceVersion"),
        });
        if let Some(fp) = field_path {
            involved_ref["fieldPath"] = json!(fp);
        }
        let mut source_obj = json!({"component": source.component});
        if let Some(host) = source.host {
            source_obj["host"] = json!(host);
        }
        let event_name = format!("{}.{:x}", name(involved), event_nanos());
        let event = json!({
            "metadata": {"name": event_name, "namespace": ns},
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "source": source_obj,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": if warning { "Warning" } else { "Normal" },
            "eventTime": null,
            "reportingComponent": source.component,
            "reportingInstance": source.host.unwrap_or(""),
        });
        if store.create(events, event).is_ok() {
            self.seen.insert(key, event_name);
        }
    }

    /// Forgets aggregation keys of a deleted object (its events stay, as on a real
    /// cluster, until they expire).
    pub fn forget(&mut self, object_uid: &str) {
        self.seen.retain(|k, _| k.0 != object_uid);
    }
}
