//! Types shared by the two halves of the simulator: the API server (HTTP, auth, faults)
//! and the world (scenarios, controllers, kubelet, log generators).

use std::time::Duration;

use serde::Deserialize;

/// A bearer-token user with simple RBAC, declared by a scenario. Without any users the
/// server accepts every request as `admin`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    pub token: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Allowed requests; a request matching none is 403 Forbidden.
    pub rules: Vec<RuleSpec>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `*`.
    pub verbs: Vec<String>,
    /// Plural resource names, optionally with a subresource (`deployments/scale`), or `*`.
    pub resources: Vec<String>,
    /// Namespaces this rule applies in; empty means all (and cluster-scoped resources).
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// A fault to inject, from a scenario timeline or the `/sim/` admin endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    /// End every open watch now (clients re-watch from their last resourceVersion).
    DropWatches,
    /// Forget the change history: every older resourceVersion gets 410 Gone on resume.
    ExpireVersions,
    /// Answer the next `count` requests (watches included) with this status code
    /// (500, 503 or 429; 429 carries Retry-After: 1).
    FailNext { count: u32, code: u16 },
    /// Hold the next `count` requests for `duration` before answering.
    Hang { count: u32, duration: Duration },
    /// Add latency to every request from now on (zero to clear).
    Latency { duration: Duration },
    /// Close the listener and every connection, then listen again on the same port;
    /// the store is kept.
    RestartListener,
    /// What a hung API server or a proxy holding the connection does: every watch, open or
    /// new, stays open but delivers nothing (no event, no bookmark) until `Clear`. Lists
    /// and other requests are served.
    SilenceWatches,
    /// Refuse one verb on one resource to one user (403), on top of the scenario's RBAC.
    Forbid { user: String, verb: String, resource: String },
    /// Undo every fault above.
    Clear,
}

/// Where the world sends timeline faults; implemented by the API server.
pub trait FaultSink: Send + Sync {
    fn inject(&self, fault: FaultSpec);
}
