//! Pod logs through the API server: one-shot reads of the recent past (the gate), and a
//! follower that streams every container of a set of pods the way stern does: it attaches to
//! pods as they appear (a rollout's new pods), detaches from the ones that go, and reconnects
//! a stream that ends while its pod lives, without repeating lines it already delivered.
//! Lines stay bytes here: they are untrusted and the model sanitises them.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{AsyncBufReadExt, AsyncReadExt};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One line of a container's log, with the API server's timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub pod: String,
    pub container: String,
    pub at: Timestamp,
    pub bytes: Vec<u8>,
    /// When the pod started, as the follower was told (for the rules' startup grace);
    /// `None` from one-shot reads, whose callers know their pods.
    pub pod_started: Option<Timestamp>,
}

/// A pod to follow: its containers and when it started (for the rules' startup grace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodTarget {
    pub name: String,
    pub containers: Vec<String>,
    pub started: Option<Timestamp>,
}

/// The pods to follow for a service now: its pods with their containers.
pub fn pod_targets(service: &crate::model::service::Service) -> Vec<PodTarget> {
    service
        .pods
        .iter()
        .map(|p| PodTarget { name: p.name.clone(), containers: p.containers.clone(), started: p.created })
        .collect()
}

/// What a follower reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    Line(LogLine),
    /// A stream (re)opened.
    Attached {
        pod: String,
        container: String,
    },
    /// A stream ended; it is retried while the pod is followed.
    Interrupted {
        pod: String,
        container: String,
        cause: String,
    },
    /// More containers than the cap: these were not attached.
    Capped {
        wanted: usize,
        cap: usize,
    },
}

/// `2026-11-29T05:00:00.123456789Z message` (what `timestamps=true` gives) → time and text.
pub fn split_timestamp(line: &[u8]) -> (Option<Timestamp>, &[u8]) {
    let Some(space) = line.iter().position(|b| *b == b' ') else { return (None, line) };
    match std::str::from_utf8(&line[..space]).ok().and_then(|t| t.parse::<Timestamp>().ok()) {
        Some(at) => (Some(at), &line[space + 1..]),
        None => (None, line),
    }
}

fn without_newline(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// The lines a container wrote in the last `since`, oldest first, as bytes: a log is
/// whatever the container wrote, and one invalid UTF-8 byte must not lose the others
/// (`Api::logs` would refuse the whole body as text).
pub async fn read_recent(
    pods: &Api<Pod>,
    pod: &str,
    container: &str,
    since: Duration,
) -> Result<Vec<LogLine>, kube::Error> {
    let params = LogParams {
        container: Some(container.to_string()),
        timestamps: true,
        since_seconds: Some(i64::try_from(since.as_secs()).unwrap_or(i64::MAX).max(1)),
        ..Default::default()
    };
    let mut body = std::pin::pin!(pods.log_stream(pod, &params).await?);
    let mut text = Vec::new();
    body.read_to_end(&mut text).await.map_err(kube::Error::ReadEvents)?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let (at, rest) = split_timestamp(without_newline(l));
            let (pod, container) = (pod.to_string(), container.to_string());
            Some(LogLine { pod, container, at: at?, bytes: rest.to_vec(), pod_started: None })
        })
        .collect())
}

/// Follows the logs of a changing set of pods until dropped.
pub struct LogFollower {
    pods: Api<Pod>,
    /// How far back a newly attached stream starts.
    backfill: Duration,
    cap: usize,
    events: mpsc::UnboundedSender<LogEvent>,
    streams: BTreeMap<(String, String), JoinHandle<()>>,
}

/// A stream that ended is retried after this long, doubling up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(10);

impl LogFollower {
    pub fn new(pods: Api<Pod>, backfill: Duration, cap: usize, events: mpsc::UnboundedSender<LogEvent>) -> Self {
        LogFollower { pods, backfill, cap, events, streams: BTreeMap::new() }
    }

    /// Attaches to containers of `targets` not yet followed and detaches from those no
    /// longer listed. Beyond the cap, the first containers (by pod name) win.
    pub fn sync(&mut self, targets: &[PodTarget]) {
        let mut wanted: Vec<(String, String)> =
            targets.iter().flat_map(|p| p.containers.iter().map(|c| (p.name.clone(), c.clone()))).collect();
        wanted.sort();
        let started = |pod: &str| targets.iter().find(|t| t.name == pod).and_then(|t| t.started);
        if wanted.len() > self.cap {
            let _ = self.events.send(LogEvent::Capped { wanted: wanted.len(), cap: self.cap });
            wanted.truncate(self.cap);
        }
        self.streams.retain(|key, task| {
            let keep = wanted.contains(key);
            if !keep {
                task.abort();
            }
            keep
        });
        for key in wanted {
            if !self.streams.contains_key(&key) {
                let stream = Stream { pod: key.0.clone(), container: key.1.clone(), started: started(&key.0) };
                let task = tokio::spawn(follow(self.pods.clone(), stream, self.backfill, self.events.clone()));
                self.streams.insert(key, task);
            }
        }
    }

    /// How many container streams are followed.
    pub fn followed(&self) -> usize {
        self.streams.len()
    }
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        for task in self.streams.values() {
            task.abort();
        }
    }
}

/// One container's stream, and when its pod started.
struct Stream {
    pod: String,
    container: String,
    started: Option<Timestamp>,
}

/// Streams one container until aborted, reconnecting from the last line it delivered.
async fn follow(pods: Api<Pod>, stream: Stream, backfill: Duration, events: mpsc::UnboundedSender<LogEvent>) {
    let (pod, container) = (&stream.pod, &stream.container);
    let mut last: Option<Timestamp> = None;
    let mut retry = FIRST_RETRY;
    loop {
        let params = LogParams {
            container: Some(container.clone()),
            follow: true,
            timestamps: true,
            since_seconds: last.is_none().then(|| i64::try_from(backfill.as_secs()).unwrap_or(i64::MAX).max(1)),
            since_time: last,
            ..Default::default()
        };
        let cause = match pods.log_stream(pod, &params).await {
            Ok(body) => {
                if events.send(LogEvent::Attached { pod: pod.clone(), container: container.clone() }).is_err() {
                    return;
                }
                retry = FIRST_RETRY;
                match deliver(body, &stream, &mut last, &events).await {
                    Some(cause) => cause,
                    None => return,
                }
            }
            Err(e) => e.to_string(),
        };
        let interrupted = LogEvent::Interrupted { pod: pod.clone(), container: container.clone(), cause };
        if events.send(interrupted).is_err() {
            return;
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Forwards lines newer than `last`; returns why the stream ended, or `None` when nobody
/// listens any more.
async fn deliver(
    body: impl futures::AsyncBufRead,
    stream: &Stream,
    last: &mut Option<Timestamp>,
    events: &mpsc::UnboundedSender<LogEvent>,
) -> Option<String> {
    let mut body = std::pin::pin!(body);
    let mut line = Vec::new();
    loop {
        line.clear();
        match body.read_until(b'\n', &mut line).await {
            Ok(0) => return Some("the stream ended".into()),
            Ok(_) => {}
            Err(e) => return Some(e.to_string()),
        }
        let (at, text) = split_timestamp(without_newline(&line));
        let Some(at) = at else { continue };
        // A reconnect from `last` (second precision) repeats that second's lines.
        if last.is_some_and(|l| at <= l) {
            continue;
        }
        *last = Some(at);
        let record = LogLine {
            pod: stream.pod.clone(),
            container: stream.container.clone(),
            at,
            bytes: text.to_vec(),
            pod_started: stream.started,
        };
        if events.send(LogEvent::Line(record)).is_err() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_split_from_the_text() {
        let (at, text) = split_timestamp(b"2026-11-29T05:00:00.123456789Z [HTTP] GET / 200");
        assert_eq!(at, Some("2026-11-29T05:00:00.123456789Z".parse().unwrap()));
        assert_eq!(text, b"[HTTP] GET / 200");
        assert_eq!(split_timestamp(b"no timestamp here"), (None, &b"no timestamp here"[..]));
        assert_eq!(without_newline(b"line\r\n"), b"line");
    }
}
