//! Events expire, as on a real API server: kube-apiserver stores each Event with a lease of
//! `--event-ttl` (one hour by default), renewed by every write, and etcd deletes the Event
//! when its lease runs out; watchers see it go (`DELETED`). Without this a simulated cluster
//! under churn would hold every Event it ever wrote, and no memory measurement of a watcher
//! could come out flat, while a real cluster at the same rate holds an hour's worth.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::resources::resource;
use super::store::{Store, obj_name, obj_namespace};

/// kube-apiserver's default `--event-ttl`.
pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(3600);

/// When each Event was last written, by namespace and name: its resourceVersion then.
#[derive(Default)]
struct Leases(HashMap<(String, String), (String, Instant)>);

impl Leases {
    /// The Events whose lease ran out by `now`, with the version they were last written at
    /// (an Event written again since is not deleted). Forgets Events no longer stored.
    fn expired(&mut self, events: &[Arc<Value>], now: Instant, ttl: Duration) -> Vec<(String, String, String)> {
        let mut seen = HashMap::with_capacity(events.len());
        let mut expired = Vec::new();
        for event in events {
            let key = (obj_namespace(event).to_string(), obj_name(event).to_string());
            let version = event.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("").to_string();
            let written = match self.0.remove(&key) {
                Some((before, at)) if before == version => at,
                _ => now,
            };
            if now.duration_since(written) >= ttl {
                expired.push((key.0.clone(), key.1.clone(), version.clone()));
            }
            seen.insert(key, (version, written));
        }
        self.0 = seen;
        expired
    }
}

/// How often the Events are looked at: a sixtieth of the TTL (a minute for the default
/// hour), so an Event outlives its TTL by under two percent; never more often than ten
/// times a second.
fn sweep_every(ttl: Duration) -> Duration {
    (ttl / 60).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Runs until the process ends: deletes every Event not written for `ttl`.
pub async fn run(store: Arc<Store>, ttl: Duration) {
    let events = resource("events").expect("served");
    let mut leases = Leases::default();
    let mut tick = tokio::time::interval(sweep_every(ttl));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (all, _) = store.list(events, None);
        for (namespace, name, version) in leases.expired(&all, Instant::now(), ttl) {
            // A conflict means it was written again meanwhile: its lease was renewed.
            let _ = store.delete(events, &namespace, &name, Some(&version));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(name: &str, version: &str) -> Arc<Value> {
        Arc::new(json!({"metadata": {"namespace": "shop", "name": name, "resourceVersion": version}}))
    }

    #[test]
    fn an_event_expires_a_ttl_after_its_last_write_not_its_first() {
        let ttl = Duration::from_secs(60);
        let start = Instant::now();
        let mut leases = Leases::default();
        assert!(leases.expired(&[event("a", "1"), event("b", "2")], start, ttl).is_empty());
        // `b` is written again half-way: its lease starts again.
        let half = start + ttl / 2;
        assert!(leases.expired(&[event("a", "1"), event("b", "3")], half, ttl).is_empty());
        let gone = leases.expired(&[event("a", "1"), event("b", "3")], start + ttl, ttl);
        assert_eq!(gone, [("shop".to_string(), "a".to_string(), "1".to_string())]);
        assert_eq!(leases.expired(&[event("b", "3")], half + ttl, ttl).len(), 1);
        assert!(leases.expired(&[], half + ttl, ttl).is_empty() && leases.0.is_empty(), "forgotten once gone");
    }

    #[test]
    fn the_sweep_is_a_sixtieth_of_the_ttl_within_bounds() {
        assert_eq!(sweep_every(DEFAULT_EVENT_TTL), Duration::from_secs(60));
        assert_eq!(sweep_every(Duration::from_secs(120)), Duration::from_secs(2));
        assert_eq!(sweep_every(Duration::from_secs(1)), Duration::from_millis(100));
    }
}
