//! Watches: a chunked stream of `{"type": …, "object": …}` lines.
//!
//! - `resourceVersion` empty or `0` (or `sendInitialEvents=true`): synthetic `ADDED`
//!   events for what exists now, then changes; otherwise changes after that version,
//!   replayed from the store's history. A version older than the history gets one
//!   `ERROR` event carrying a 410 Expired Status, as from a real API server.
//! - Namespace, label and field selectors filter events; an object that stops matching
//!   is reported `DELETED`, one that starts matching `ADDED`.
//! - `allowWatchBookmarks=true`: a `BOOKMARK` right after the initial events (marked
//!   `k8s.io/initial-events-end` when `sendInitialEvents=true`) and then every
//!   [`ApiState::bookmark_interval`].
//! - A `silence_watches` fault holds every watch open without a byte (no event, no
//!   bookmark) until it is cleared; then the watch goes on where it was.
//! - The stream ends at `timeoutSeconds`, on a `drop_watches` fault, when the client is
//!   too slow to keep up (it re-watches from its last version), or when the client goes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::route::Target;
use super::tables::{self, partial_object_metadata};
use super::verbs::Filter;
use super::{ApiRequest, ApiState, Body, Output, full_body, negotiate, stream_body};
use crate::sim::error::ApiError;
use crate::sim::resources::ResourceType;
use crate::sim::store::{Change, ChangeKind, WatchStart};

struct WatchPlan {
    rt: &'static ResourceType,
    namespace: Option<String>,
    filter: Filter,
    output: Output,
    bookmarks: bool,
    initial_end_marker: bool,
    timeout: Option<Duration>,
    initial: Vec<Arc<Value>>,
    start: WatchStart,
}

pub fn watch(state: &Arc<ApiState>, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let rt = target.rt;
    let filter = Filter::from_request(req, rt)?;
    let output = negotiate(req);
    let send_initial = req.param("sendInitialEvents") == Some("true");
    let from = match req.param("resourceVersion").unwrap_or("") {
        "" | "0" => None,
        rv => Some(rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?),
    };
    let (initial, start) = match from {
        Some(rv) if !send_initial => match state.store.watch(rv) {
            Ok(start) => (Vec::new(), start),
            Err(e) if e.code == 410 => return Ok(expired(&e)),
            Err(e) => return Err(e),
        },
        _ => {
            let (items, list_rv) = state.store.list(rt, target.namespace.as_deref());
            let start = state.store.watch(list_rv)?;
            (items, start)
        }
    };
    let plan = WatchPlan {
        rt,
        namespace: target.namespace.clone(),
        filter,
        output,
        bookmarks: req.flag("allowWatchBookmarks"),
        initial_end_marker: send_initial,
        timeout: req
            .param("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map(Duration::from_secs),
        initial,
        start,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let guard = state.metrics.watch_opened();
    let drops = state.faults.stream_drops();
    let silence = state.faults.watch_silence();
    let interval = state.bookmark_interval;
    tokio::spawn(async move {
        let _open = guard;
        let mut stream = WatchStream { plan, tx, last_rv: 0, silence };
        stream.run(drops, interval).await;
    });
    let mut resp = Response::new(stream_body(rx));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// The answer to a watch from an expired version: one ERROR event, then the end.
fn expired(err: &ApiError) -> Response<Body> {
    let mut resp = Response::new(full_body(encode("ERROR", &err.to_status())));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    object: &'a Value,
}

fn encode(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&Event { kind, object }).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

struct WatchStream {
    plan: WatchPlan,
    tx: mpsc::Sender<Bytes>,
    last_rv: u64,
    /// `true` while a `silence_watches` fault holds every watch mute.
    silence: tokio::sync::watch::Receiver<bool>,
}

impl WatchStream {
    async fn run(&mut self, mut drops: tokio::sync::watch::Receiver<u64>, interval: Duration) {
        drops.mark_unchanged();
        if !self.wait_out_silence(&mut drops).await {
            return;
        }
        let initial = std::mem::take(&mut self.plan.initial);
        for obj in initial.iter().filter(|o| self.plan.filter.matches(self.plan.rt, o)) {
            if !self.send("ADDED", obj).await {
                return;
            }
        }
        for change in std::mem::take(&mut self.plan.start.backlog) {
            if !self.deliver(&change).await {
                return;
            }
        }
        self.last_rv = self.plan.start.current_rv;
        if self.plan.bookmarks && !self.bookmark(self.plan.initial_end_marker).await {
            return;
        }
        let deadline = self.plan.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            // A hung server does not keep its deadline either: the watch just stays mute.
            if *self.silence.borrow() && !self.wait_out_silence(&mut drops).await {
                return;
            }
            tokio::select! {
                _ = self.tx.closed() => return,
                _ = drops.changed() => return,
                _ = sleep_until(deadline) => return,
                _ = self.silence.changed() => {}
                _ = ticks.tick(), if self.plan.bookmarks => {
                    if !self.bookmark(false).await { return; }
                }
                next = self.plan.start.live.recv() => match next {
                    Ok(change) => {
                        self.last_rv = change.rv;
                        if !self.deliver(&change).await { return; }
                    }
                    // Too slow to keep up, or the store is gone: the client re-watches.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    /// Holds the stream mute while watches are silenced, as a hung server would (the
    /// connection stays open). Returns `false` when the stream must end instead: the
    /// client went away or a `drop_watches` fault came.
    async fn wait_out_silence(&mut self, drops: &mut tokio::sync::watch::Receiver<u64>) -> bool {
        loop {
            if !*self.silence.borrow_and_update() {
                return true;
            }
            tokio::select! {
                _ = self.tx.closed() => return false,
                _ = drops.changed() => return false,
                changed = self.silence.changed() => if changed.is_err() { return false },
            }
        }
    }

    async fn deliver(&mut self, change: &Change) -> bool {
        let plan = &self.plan;
        if change.key.resource != plan.rt.plural || change.key.group != plan.rt.group {
            return true;
        }
        if let Some(ns) = &plan.namespace
            && change.key.namespace != *ns
        {
            return true;
        }
        let obj = &change.object;
        let kind = if plan.filter.is_empty() {
            Some(change.kind.as_watch_type())
        } else {
            // As an API server does: compare the object before and after the change.
            let matches = plan.filter.matches(plan.rt, obj);
            let matched = change.previous.as_ref().is_some_and(|old| plan.filter.matches(plan.rt, old));
            match (change.kind, matched, matches) {
                (ChangeKind::Deleted, _, true) | (ChangeKind::Modified, true, false) => Some("DELETED"),
                (ChangeKind::Added, _, true) | (ChangeKind::Modified, false, true) => Some("ADDED"),
                (ChangeKind::Modified, true, true) => Some("MODIFIED"),
                _ => None,
            }
        };
        match kind {
            Some(kind) => self.send(kind, obj).await,
            None => true,
        }
    }

    async fn send(&self, kind: &str, obj: &Value) -> bool {
        let bytes = match self.plan.output {
            Output::Plain if super::verbs::needs_version(self.plan.rt, obj) => {
                encode(kind, &super::verbs::in_version(self.plan.rt, obj))
            }
            Output::Plain => encode(kind, obj),
            Output::Metadata => encode(kind, &partial_object_metadata(obj)),
            Output::Table(include) => {
                let rv = obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("");
                encode(kind, &tables::table(self.plan.rt, &[obj], rv, include, jiff::Timestamp::now()))
            }
        };
        self.tx.send(bytes).await.is_ok()
    }

    async fn bookmark(&self, initial_end: bool) -> bool {
        let rv = self.last_rv.to_string();
        let mut metadata = json!({"resourceVersion": rv});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = match self.plan.output {
            Output::Plain => {
                json!({"kind": self.plan.rt.kind, "apiVersion": self.plan.rt.api_version(), "metadata": metadata})
            }
            Output::Metadata => {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
            }
            Output::Table(_) => {
                json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": [], "rows": []})
            }
        };
        self.tx.send(encode("BOOKMARK", &object)).await.is_ok()
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
