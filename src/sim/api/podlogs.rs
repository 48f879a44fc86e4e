//! `GET …/pods/{name}/log`: container logs from the [`LogStore`](crate::sim::logs::LogStore),
//! as plain text, with `container` (required when the pod has several), `previous`,
//! `sinceSeconds`/`sinceTime`, `tailLines`, `timestamps`, `limitBytes` and `follow`
//! (chunked; ends when the container restarts, the pod goes away, on a `drop_watches`
//! fault, or when the client leaves).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use super::route::Target;
use super::verbs::current;
use super::{ApiRequest, ApiState, Body, full_body, stream_body};
use crate::sim::error::ApiError;
use crate::sim::logs::LogLine;

/// How often a follow checks that its pod still exists.
const POD_CHECK: Duration = Duration::from_millis(500);

struct LogOptions {
    container: String,
    previous: bool,
    since: Option<jiff::Timestamp>,
    tail: Option<usize>,
    timestamps: bool,
    limit_bytes: Option<usize>,
    follow: bool,
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
        .collect()
}

fn options(req: &ApiRequest, pod: &Value) -> Result<LogOptions, ApiError> {
    let pod_name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let containers = names(pod, "containers");
    let init = names(pod, "initContainers");
    let container = match req.param("container").filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            return Err(ApiError::bad_request(message));
        }
    };
    if !containers.contains(&container) && !init.contains(&container) {
        return Err(ApiError::bad_request(format!("container {container} is not valid for pod {pod_name}")));
    }
    let number = |key: &str| -> Result<Option<i64>, ApiError> {
        req.param(key)
            .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("{key}: invalid value \"{v}\""))))
            .transpose()
    };
    let since = match (number("sinceSeconds")?, req.param("sinceTime")) {
        (Some(s), _) => Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s.max(0))),
        (None, Some(t)) => {
            Some(t.parse().map_err(|_| ApiError::bad_request(format!("sinceTime: invalid time \"{t}\"")))?)
        }
        (None, None) => None,
    };
    Ok(LogOptions {
        container,
        previous: req.flag("previous"),
        since,
        tail: number("tailLines")?.map(|n| n.max(0) as usize),
        timestamps: req.flag("timestamps"),
        limit_bytes: number("limitBytes")?.map(|n| n.max(0) as usize),
        follow: req.flag("follow"),
    })
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["/status/containerStatuses", "/status/initContainerStatuses"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
}

/// The line's bytes as the container wrote them (invalid UTF-8 passes through).
fn format_line(line: &LogLine, timestamps: bool) -> Vec<u8> {
    let mut text = Vec::with_capacity(line.text.len() + 32);
    if timestamps {
        // RFC 3339 with as many fraction digits as needed, like Go's RFC3339Nano.
        text.extend_from_slice(line.at.to_string().as_bytes());
        text.push(b' ');
    }
    let mut body = line.text.as_slice();
    while let [rest @ .., b'\n'] = body {
        body = rest;
    }
    text.extend_from_slice(body);
    text.push(b'\n');
    text
}

pub fn logs(state: &Arc<ApiState>, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let pod = current(state, target)?;
    let opts = options(req, &pod)?;
    let (ns, name) = (target.namespace_or_empty().to_string(), target.name_or_empty().to_string());
    let status = container_status(&pod, &opts.container);
    if opts.previous {
        let restarted = status.and_then(|s| s.get("restartCount")).and_then(Value::as_i64).unwrap_or(0) > 0;
        let lines = state.logs.read(&ns, &name, &opts.container, true).unwrap_or_default();
        if !restarted && lines.is_empty() {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{}\" in pod \"{name}\" not found",
                opts.container
            )));
        }
        return Ok(text(render(&lines, &opts)));
    }
    if !state.logs.has_container(&ns, &name, &opts.container)
        && let Some(reason) = status.and_then(|s| s.pointer("/state/waiting/reason")).and_then(Value::as_str)
    {
        return Err(ApiError::bad_request(format!(
            "container \"{}\" in pod \"{name}\" is waiting to start: {reason}",
            opts.container
        )));
    }
    let finished = matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    if !opts.follow || finished {
        let lines = state.logs.read(&ns, &name, &opts.container, false).unwrap_or_default();
        return Ok(text(render(&lines, &opts)));
    }
    state.logs.ensure_container(&ns, &name, &opts.container);
    let Some((backlog, live)) = state.logs.follow(&ns, &name, &opts.container) else {
        return Ok(text(Vec::new()));
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let first = render(&backlog, &opts);
    let uid = pod.pointer("/metadata/uid").cloned();
    let follow = Follow { state: state.clone(), target: target.clone(), uid, opts, sent: first.len() };
    tokio::spawn(follow.run(first, live, tx));
    let mut resp = Response::new(stream_body(rx));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

fn text(body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(full_body(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// The selected backlog as bytes: since, then tail, then the byte limit (a cut in the
/// middle of a character is the kubelet's too: it counts bytes).
fn render(lines: &[Arc<LogLine>], opts: &LogOptions) -> Vec<u8> {
    let selected: Vec<&Arc<LogLine>> = lines.iter().filter(|l| opts.since.is_none_or(|s| l.at >= s)).collect();
    let skip = opts.tail.map_or(0, |t| selected.len().saturating_sub(t));
    let mut out = Vec::new();
    for line in &selected[skip..] {
        out.extend_from_slice(&format_line(line, opts.timestamps));
    }
    if let Some(limit) = opts.limit_bytes {
        out.truncate(limit);
    }
    out
}

struct Follow {
    state: Arc<ApiState>,
    target: Target,
    uid: Option<Value>,
    opts: LogOptions,
    sent: usize,
}

impl Follow {
    async fn run(mut self, first: Vec<u8>, mut live: broadcast::Receiver<Arc<LogLine>>, tx: mpsc::Sender<Bytes>) {
        if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        let mut drops = self.state.faults.stream_drops();
        drops.mark_unchanged();
        let mut check = tokio::time::interval(POD_CHECK);
        loop {
            if self.opts.limit_bytes.is_some_and(|l| self.sent >= l) {
                return;
            }
            tokio::select! {
                _ = tx.closed() => return,
                _ = drops.changed() => return,
                _ = check.tick() => if !self.pod_still_there() { return },
                next = live.recv() => match next {
                    Ok(line) => {
                        let mut chunk = format_line(&line, self.opts.timestamps);
                        if let Some(limit) = self.opts.limit_bytes {
                            let room = limit.saturating_sub(self.sent);
                            chunk.truncate(room);
                        }
                        self.sent += chunk.len();
                        if tx.send(Bytes::from(chunk)).await.is_err() { return; }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    fn pod_still_there(&self) -> bool {
        let pod = self.state.store.get(self.target.rt, self.target.namespace_or_empty(), self.target.name_or_empty());
        pod.is_some_and(|p| p.pointer("/metadata/uid").cloned() == self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(secs: i64, text: &str) -> Arc<LogLine> {
        Arc::new(LogLine { at: jiff::Timestamp::from_second(secs).unwrap(), text: text.as_bytes().to_vec() })
    }

    fn opts() -> LogOptions {
        LogOptions {
            container: "c".into(),
            previous: false,
            since: None,
            tail: None,
            timestamps: false,
            limit_bytes: None,
            follow: false,
        }
    }

    #[test]
    fn since_then_tail_then_limit() {
        let lines = vec![line(100, "a"), line(200, "b"), line(300, "c"), line(400, "d")];
        assert_eq!(render(&lines, &LogOptions { tail: Some(2), ..opts() }), b"c\nd\n");
        let since = jiff::Timestamp::from_second(200).unwrap();
        assert_eq!(render(&lines, &LogOptions { since: Some(since), tail: Some(5), ..opts() }), b"b\nc\nd\n");
        assert_eq!(render(&lines, &LogOptions { limit_bytes: Some(3), ..opts() }), b"a\nb");
    }

    #[test]
    fn timestamps_are_rfc3339_nanos() {
        assert_eq!(format_line(&line(0, "hello"), true), b"1970-01-01T00:00:00Z hello\n");
        let at = jiff::Timestamp::new(5, 120_000_000).unwrap();
        let l = LogLine { at, text: b"x".to_vec() };
        assert_eq!(format_line(&l, true), b"1970-01-01T00:00:05.12Z x\n");
    }

    #[test]
    fn several_containers_need_a_name() {
        let pod = serde_json::json!({"metadata": {"name": "web-1"}, "spec": {"containers": [{"name": "app"}, {"name": "proxy"}], "initContainers": [{"name": "init"}]}});
        let req = ApiRequest {
            method: http::Method::GET,
            path: String::new(),
            query: vec![],
            headers: Default::default(),
            body: Bytes::new(),
        };
        let err = options(&req, &pod).err().unwrap();
        assert_eq!(
            err.message,
            "a container name must be specified for pod web-1, choose one of: [app proxy] or one of the init containers: [init]"
        );
    }
}
