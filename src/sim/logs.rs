//! Container logs of simulated pods: what the world's log generators write and what
//! `GET .../pods/{name}/log` reads, including `follow` (a live feed per container) and
//! `previous` (the log of the container's last run before a restart).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

/// Lines kept per container run; older lines fall off like a rotated log file.
pub const LINES_PER_CONTAINER: usize = 5_000;

/// The live feed of one container run; it closes when the container restarts or the
/// pod is removed.
pub type LiveLog = broadcast::Receiver<Arc<LogLine>>;

/// One line as the container wrote it: bytes, not text. A real kubelet passes a
/// container's output through unchanged, invalid UTF-8 included, and so does this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub at: jiff::Timestamp,
    pub text: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    pod: String,
    container: String,
}

struct ContainerLog {
    current: VecDeque<Arc<LogLine>>,
    previous: Vec<Arc<LogLine>>,
    live: broadcast::Sender<Arc<LogLine>>,
}

impl ContainerLog {
    fn new() -> Self {
        ContainerLog { current: VecDeque::new(), previous: Vec::new(), live: broadcast::channel(1024).0 }
    }
}

#[derive(Default)]
pub struct LogStore {
    containers: Mutex<HashMap<Key, ContainerLog>>,
}

fn key(namespace: &str, pod: &str, container: &str) -> Key {
    Key { namespace: namespace.into(), pod: pod.into(), container: container.into() }
}

impl LogStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, ContainerLog>> {
        self.containers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one line (text or raw bytes, e.g. `b"\xff\xfe"`).
    pub fn append(&self, namespace: &str, pod: &str, container: &str, at: jiff::Timestamp, text: impl Into<Vec<u8>>) {
        let mut map = self.lock();
        let log = map.entry(key(namespace, pod, container)).or_insert_with(ContainerLog::new);
        let line = Arc::new(LogLine { at, text: text.into() });
        log.current.push_back(line.clone());
        if log.current.len() > LINES_PER_CONTAINER {
            log.current.pop_front();
        }
        let _ = log.live.send(line);
    }

    /// The container restarted: its log becomes the `previous` log and followers of the
    /// old run see their stream end, as with a real kubelet.
    pub fn restart_container(&self, namespace: &str, pod: &str, container: &str) {
        let mut map = self.lock();
        let k = key(namespace, pod, container);
        let old = map.remove(&k);
        let mut fresh = ContainerLog::new();
        if let Some(old) = old {
            fresh.previous = old.current.into_iter().collect();
        }
        map.insert(k, fresh);
    }

    /// The pod is gone: drop its logs; open follows end.
    pub fn remove_pod(&self, namespace: &str, pod: &str) {
        self.lock().retain(|k, _| !(k.namespace == namespace && k.pod == pod));
    }

    /// Whether any log was ever written for this container (or it was registered).
    pub fn has_container(&self, namespace: &str, pod: &str, container: &str) -> bool {
        self.lock().contains_key(&key(namespace, pod, container))
    }

    /// Registers a container with an empty log so that a follow can start before the
    /// first line is written.
    pub fn ensure_container(&self, namespace: &str, pod: &str, container: &str) {
        self.lock().entry(key(namespace, pod, container)).or_insert_with(ContainerLog::new);
    }

    pub fn read(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<Vec<Arc<LogLine>>> {
        let map = self.lock();
        let log = map.get(&key(namespace, pod, container))?;
        Some(if previous { log.previous.clone() } else { log.current.iter().cloned().collect() })
    }

    /// The lines so far and a live feed of the next ones, taken atomically so no line is
    /// lost or repeated between the two.
    pub fn follow(&self, namespace: &str, pod: &str, container: &str) -> Option<(Vec<Arc<LogLine>>, LiveLog)> {
        let map = self.lock();
        let log = map.get(&key(namespace, pod, container))?;
        Some((log.current.iter().cloned().collect(), log.live.subscribe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_sees_backlog_then_live_lines() {
        let logs = LogStore::default();
        let now = jiff::Timestamp::now();
        logs.append("ns", "p", "c", now, "one");
        let (backlog, mut live) = logs.follow("ns", "p", "c").unwrap();
        logs.append("ns", "p", "c", now, "two");
        assert_eq!(backlog.len(), 1);
        assert_eq!(live.try_recv().unwrap().text, b"two");
    }

    #[test]
    fn restart_moves_current_to_previous_and_ends_followers() {
        let logs = LogStore::default();
        let now = jiff::Timestamp::now();
        logs.append("ns", "p", "c", now, "before crash");
        let (_, mut live) = logs.follow("ns", "p", "c").unwrap();
        logs.restart_container("ns", "p", "c");
        assert!(matches!(live.try_recv(), Err(broadcast::error::TryRecvError::Closed)));
        assert_eq!(logs.read("ns", "p", "c", true).unwrap()[0].text, b"before crash");
        assert!(logs.read("ns", "p", "c", false).unwrap().is_empty());
    }
}
