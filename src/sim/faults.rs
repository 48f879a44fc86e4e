//! Fault injection: the API server's implementation of [`FaultSink`], fed by the world's
//! timeline and by the admin endpoint.
//!
//! # Admin endpoint
//!
//! `POST /sim/faults` with one JSON object (no authentication, never itself faulted):
//!
//! | body | effect |
//! |---|---|
//! | `{"fault":"drop_watches"}` | end every open watch (and `follow` log stream) now |
//! | `{"fault":"expire_versions"}` | forget the change history: resuming from any older resourceVersion gets 410 |
//! | `{"fault":"fail_next","count":3,"code":503}` | answer the next `count` API requests with `code` (500, 503 or 429 with `Retry-After: 1`; other 4xx/5xx codes are accepted too) |
//! | `{"fault":"hang","count":1,"duration_ms":2000}` | hold the next `count` requests for `duration_ms` before serving them |
//! | `{"fault":"latency","duration_ms":150}` | add this latency to every request from now on (`0` clears) |
//! | `{"fault":"restart_listener"}` | close the listener and every connection, listen again on the same port (store kept) |
//! | `{"fault":"forbid","user":"viewer","verb":"list","resource":"pods"}` | 403 for that user/verb/resource on top of RBAC (`*` matches any user or verb; `resource` may be `pods/log`) |
//! | `{"fault":"silence_watches"}` | a hung server or a proxy holding the connection: every watch, open or opened later, stays open but delivers nothing (no events, no bookmarks) until `clear`; lists and other requests are still served, so a relist works |
//! | `{"fault":"clear"}` | undo all of the above that still lasts (silenced watches speak again) |
//!
//! It answers `200 {"ok": true, "fault": …}` or a 400 Status naming the expected shape.
//! `GET /sim/faults` shows what is armed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::error::ApiError;
use super::spec::{FaultSink, FaultSpec};
use super::store::Store;

#[derive(Default, Debug)]
struct Armed {
    fail: Option<(u32, u16)>,
    hang: Option<(u32, Duration)>,
    latency: Duration,
    forbids: Vec<(String, String, String)>,
}

pub struct Faults {
    store: Arc<Store>,
    armed: Mutex<Armed>,
    /// Bumped to end every open watch and log follow.
    drops: watch::Sender<u64>,
    /// Bumped to make the server restart its listener.
    restarts: watch::Sender<u64>,
    /// Whether watches are silenced (`silence_watches`).
    silence: watch::Sender<bool>,
}

impl Faults {
    pub fn new(store: Arc<Store>) -> Self {
        Faults {
            store,
            armed: Mutex::new(Armed::default()),
            drops: watch::channel(0).0,
            restarts: watch::channel(0).0,
            silence: watch::channel(false).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Armed> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes whenever open streams must end.
    pub fn stream_drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Changes whenever the listener must restart.
    pub fn listener_restarts(&self) -> watch::Receiver<u64> {
        self.restarts.subscribe()
    }

    /// `true` while watches must deliver nothing.
    pub fn watch_silence(&self) -> watch::Receiver<bool> {
        self.silence.subscribe()
    }

    /// Latency, hangs and failures due for one API request, in that order.
    pub async fn before_request(&self) -> Result<(), ApiError> {
        let (latency, hang, fail) = {
            let mut armed = self.lock();
            let hang = take_one(&mut armed.hang);
            let fail = take_one(&mut armed.fail);
            (armed.latency, hang, fail)
        };
        let delay = latency + hang.unwrap_or_default();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match fail {
            Some(code) => Err(injected_error(code)),
            None => Ok(()),
        }
    }

    /// Whether a `forbid` fault refuses this request.
    pub fn forbids(&self, user: &str, verb: &str, resource: &str, subresource: Option<&str>) -> bool {
        let full = subresource.map(|s| format!("{resource}/{s}"));
        self.lock().forbids.iter().any(|(u, v, r)| {
            (u == "*" || u == user) && (v == "*" || v == verb) && (r == resource || Some(r) == full.as_ref())
        })
    }

    pub fn describe(&self) -> Value {
        let armed = self.lock();
        json!({
            "fail_next": armed.fail.map(|(count, code)| json!({"count": count, "code": code})),
            "hang": armed.hang.map(|(count, d)| json!({"count": count, "duration_ms": d.as_millis() as u64})),
            "latency_ms": armed.latency.as_millis() as u64,
            "silence_watches": *self.silence.borrow(),
            "forbid": armed.forbids.iter().map(|(u, v, r)| json!({"user": u, "verb": v, "resource": r})).collect::<Vec<_>>(),
        })
    }
}

/// Takes one use of a counted fault, disarming it when used up.
fn take_one<T: Copy>(slot: &mut Option<(u32, T)>) -> Option<T> {
    let (count, value) = (*slot)?;
    *slot = if count > 1 { Some((count - 1, value)) } else { None };
    Some(value)
}

fn injected_error(code: u16) -> ApiError {
    match code {
        429 => ApiError::too_many_requests(1),
        503 => ApiError::unavailable("the simulated API server is unavailable (injected fault)"),
        500 => ApiError::internal("an error on the server (injected fault) has prevented the request from succeeding"),
        other => ApiError {
            code: other,
            reason: if other >= 500 { "InternalError" } else { "BadRequest" },
            message: format!("injected fault {other}"),
            details: None,
            retry_after: None,
        },
    }
}

impl FaultSink for Faults {
    fn inject(&self, fault: FaultSpec) {
        match fault {
            FaultSpec::DropWatches => {
                self.drops.send_modify(|n| *n += 1);
            }
            FaultSpec::ExpireVersions => self.store.expire_history(),
            FaultSpec::FailNext { count, code } => self.lock().fail = (count > 0).then_some((count, code)),
            FaultSpec::Hang { count, duration } => self.lock().hang = (count > 0).then_some((count, duration)),
            FaultSpec::Latency { duration } => self.lock().latency = duration,
            FaultSpec::RestartListener => {
                self.restarts.send_modify(|n| *n += 1);
            }
            FaultSpec::Forbid { user, verb, resource } => self.lock().forbids.push((user, verb, resource)),
            FaultSpec::SilenceWatches => {
                self.silence.send_replace(true);
            }
            FaultSpec::Clear => {
                *self.lock() = Armed::default();
                self.silence.send_replace(false);
            }
        }
    }
}

/// Parses the admin endpoint's JSON shape (see the module documentation).
pub fn fault_from_json(v: &Value) -> Result<FaultSpec, String> {
    let kind = v.get("fault").and_then(Value::as_str).ok_or("expected {\"fault\": NAME, …}")?;
    let count = || -> Result<u32, String> {
        match v.get("count") {
            None => Ok(1),
            Some(c) => {
                c.as_u64().and_then(|c| u32::try_from(c).ok()).ok_or_else(|| "count must be a whole number".into())
            }
        }
    };
    let millis = || -> Result<Duration, String> {
        v.get("duration_ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{kind} needs duration_ms (milliseconds)"))
    };
    let text = |field: &str| -> Result<String, String> {
        v.get(field).and_then(Value::as_str).map(String::from).ok_or_else(|| format!("{kind} needs \"{field}\""))
    };
    Ok(match kind {
        "drop_watches" => FaultSpec::DropWatches,
        "expire_versions" => FaultSpec::ExpireVersions,
        "fail_next" => {
            let code = v.get("code").and_then(Value::as_u64).unwrap_or(503);
            if !(400..600).contains(&code) {
                return Err(format!("fail_next code must be an HTTP error code (4xx or 5xx), got {code}"));
            }
            FaultSpec::FailNext { count: count()?, code: code as u16 }
        }
        "hang" => FaultSpec::Hang { count: count()?, duration: millis()? },
        "latency" => FaultSpec::Latency { duration: millis()? },
        "restart_listener" => FaultSpec::RestartListener,
        "silence_watches" => FaultSpec::SilenceWatches,
        "forbid" => FaultSpec::Forbid { user: text("user")?, verb: text("verb")?, resource: text("resource")? },
        "clear" => FaultSpec::Clear,
        other => {
            return Err(format!(
                "unknown fault \"{other}\"; expected one of drop_watches, expire_versions, fail_next, hang, latency, restart_listener, silence_watches, forbid, clear"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(Arc::new(Store::default()))
    }

    #[tokio::test]
    async fn fail_next_fails_exactly_count_requests() {
        let f = faults();
        f.inject(FaultSpec::FailNext { count: 2, code: 429 });
        let e = f.before_request().await.unwrap_err();
        assert_eq!((e.code, e.retry_after), (429, Some(1)));
        assert!(f.before_request().await.is_err());
        assert!(f.before_request().await.is_ok());
    }

    #[test]
    fn forbid_matches_user_verb_and_resource() {
        let f = faults();
        f.inject(FaultSpec::Forbid { user: "viewer".into(), verb: "list".into(), resource: "pods".into() });
        assert!(f.forbids("viewer", "list", "pods", None));
        assert!(!f.forbids("viewer", "get", "pods", None));
        assert!(!f.forbids("admin", "list", "pods", None));
        f.inject(FaultSpec::Clear);
        assert!(!f.forbids("viewer", "list", "pods", None));
    }

    #[test]
    fn admin_shapes_parse() {
        let p = |v: Value| fault_from_json(&v);
        assert_eq!(
            p(json!({"fault": "fail_next", "count": 3, "code": 503})),
            Ok(FaultSpec::FailNext { count: 3, code: 503 })
        );
        assert_eq!(
            p(json!({"fault": "hang", "count": 2, "duration_ms": 1500})),
            Ok(FaultSpec::Hang { count: 2, duration: Duration::from_millis(1500) })
        );
        assert_eq!(p(json!({"fault": "restart_listener"})), Ok(FaultSpec::RestartListener));
        assert_eq!(p(json!({"fault": "silence_watches"})), Ok(FaultSpec::SilenceWatches));
        assert!(p(json!({"fault": "latency"})).unwrap_err().contains("duration_ms"));
        assert!(p(json!({"fault": "boom"})).unwrap_err().contains("unknown fault"));
        assert!(p(json!({"fault": "fail_next", "code": 200})).is_err());
    }

    #[test]
    fn silence_lasts_until_clear() {
        let f = faults();
        let silence = f.watch_silence();
        assert!(!*silence.borrow());
        f.inject(FaultSpec::SilenceWatches);
        assert!(*silence.borrow() && f.describe()["silence_watches"] == true);
        f.inject(FaultSpec::Clear);
        assert!(!*silence.borrow());
    }

    #[test]
    fn drop_and_restart_signals_change() {
        let f = faults();
        let drops = f.stream_drops();
        let restarts = f.listener_restarts();
        f.inject(FaultSpec::DropWatches);
        f.inject(FaultSpec::RestartListener);
        assert!(drops.has_changed().unwrap());
        assert!(restarts.has_changed().unwrap());
    }
}
