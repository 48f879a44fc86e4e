//! Request accounting, so a test can prove the cockpit is idle (no list or get in steady
//! state, only open watches).
//!
//! `GET /sim/metrics` answers
//! `{"requests_total": N, "watches_open": N, "by": [{"verb": "list", "resource": "pods", "count": N}, …]}`:
//! every API request counts once in `requests_total` (a watch when it is opened);
//! discovery, version and OpenAPI requests appear as verb `get` on resource `discovery`;
//! subresources as `pods/log`, `deployments/scale`. `/sim/` requests are not counted.
//! Reads (`get`, `list`, `watch`) are counted once more in `by_form`, by the form the
//! answer took (`object`, `metadata` for PartialObjectMetadata, `table`):
//! `[{"verb": "list", "resource": "secrets", "form": "metadata", "count": N}, …]`, so a
//! test can prove a client never asked for whole objects of a kind (Secret bodies).
//! `POST /sim/metrics/reset` zeroes the counters (open watches stay open and counted).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// Requests in total, and per (verb, resource).
type Counts = (u64, BTreeMap<(String, String), u64>);

/// Reads per (verb, resource, form of the answer).
type Forms = BTreeMap<(String, String, &'static str), u64>;

#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
    forms: Mutex<Forms>,
    watches_open: Arc<AtomicI64>,
}

impl Metrics {
    pub fn record(&self, verb: &str, resource: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.0 += 1;
        *counts.1.entry((verb.to_string(), resource.to_string())).or_default() += 1;
    }

    /// Counts a read by the form its answer takes (`object`, `metadata`, `table`).
    pub fn record_form(&self, verb: &str, resource: &str, form: &'static str) {
        let mut forms = self.forms.lock().unwrap_or_else(|p| p.into_inner());
        *forms.entry((verb.to_string(), resource.to_string(), form)).or_default() += 1;
    }

    pub fn watch_opened(&self) -> WatchGuard {
        self.watches_open.fetch_add(1, Ordering::Relaxed);
        WatchGuard(self.watches_open.clone())
    }

    pub fn watches_open(&self) -> i64 {
        self.watches_open.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Value {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let by: Vec<Value> = counts
            .1
            .iter()
            .map(|((verb, resource), count)| json!({"verb": verb, "resource": resource, "count": count}))
            .collect();
        let forms = self.forms.lock().unwrap_or_else(|p| p.into_inner());
        let by_form: Vec<Value> = forms
            .iter()
            .map(|((verb, resource, form), count)| {
                json!({"verb": verb, "resource": resource, "form": form, "count": count})
            })
            .collect();
        json!({"requests_total": counts.0, "watches_open": self.watches_open(), "by": by, "by_form": by_form})
    }

    pub fn reset(&self) {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
        *self.forms.lock().unwrap_or_else(|p| p.into_inner()) = Default::default();
    }
}

/// Counts a watch as open until dropped.
pub struct WatchGuard(Arc<AtomicI64>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_verb_and_resource_and_resets() {
        let m = Metrics::default();
        m.record("list", "pods");
        m.record("list", "pods");
        m.record("watch", "pods");
        m.record_form("list", "secrets", "metadata");
        m.record_form("list", "secrets", "metadata");
        let s = m.snapshot();
        assert_eq!(s["by_form"], json!([{"verb": "list", "resource": "secrets", "form": "metadata", "count": 2}]));
        assert_eq!(s["requests_total"], 3);
        assert_eq!(s["by"][0], json!({"verb": "list", "resource": "pods", "count": 2}));
        {
            let _w = m.watch_opened();
            assert_eq!(m.watches_open(), 1);
        }
        assert_eq!(m.watches_open(), 0);
        m.reset();
        assert_eq!(m.snapshot()["requests_total"], 0);
        assert_eq!(m.snapshot()["by_form"], json!([]));
    }
}
