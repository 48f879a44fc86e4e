//! A run's state on disk, and the lock that keeps two cockpits from running the same
//! runbook on the same target at once.
//!
//! Every transition is written atomically (a temporary file in the same folder, fsync,
//! rename, fsync of the folder), so a crash, a `kill -9` or a dropped SSH session leaves
//! either the previous state or the next one, never half of one. The lock is an advisory
//! file lock held for the run's lifetime: the kernel releases it when the process dies,
//! so a crashed run never leaves a stale lock behind, and a live one is never stolen.
//!
//! Times are `jiff::Timestamp`s, written as RFC 3339 (`2026-12-02T03:00:00Z`): the same text
//! the state files held when they were strings, so files written before still load.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::RunError;
use crate::config::paths::sanitize_file_name;
use crate::model::runbook::GateStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Running,
    Paused,
    Passed,
    /// A step failed and the runbook stopped there.
    Failed,
    /// A step failed and the rollback runbook ran to its end.
    RolledBack,
    /// A step failed and so did its rollback runbook.
    RollbackFailed,
    Aborted,
    /// The operator said no at a confirmation.
    Declined,
}

impl RunStatus {
    /// Whether the run has ended (an ended run is not resumed).
    pub fn ended(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Paused)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Passed => "passed",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled back",
            RunStatus::RollbackFailed => "rollback failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Declined => "declined",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Pending,
    /// Planning, dry-running, asking or sending its change.
    Running,
    /// The change is made (or was already there); the gates are being watched.
    Waiting,
    Passed,
    Failed,
    Skipped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Waiting => "waiting for gates",
            StepState::Passed => "passed",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }

    pub fn finished(self) -> bool {
        matches!(self, StepState::Passed | StepState::Skipped)
    }
}

/// A gate's last known status, for the stepper and the state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    pub summary: String,
    /// `waiting`, `passed`, `skipped` (nothing to judge), `failed`.
    pub state: String,
    pub detail: String,
    /// When it gives up, while it waits.
    pub deadline: Option<Timestamp>,
}

impl GateRecord {
    pub fn new(summary: String, status: &GateStatus, deadline: Option<Timestamp>) -> Self {
        GateRecord { summary, state: status.word().into(), detail: status.detail().to_string(), deadline }
    }

    pub fn passed(&self) -> bool {
        self.state == "passed"
    }

    pub fn skipped(&self) -> bool {
        self.state == "skipped"
    }

    /// Passed or skipped: nothing more to wait for.
    pub fn settled(&self) -> bool {
        self.passed() || self.skipped()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub state: StepState,
    pub detail: String,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    /// The change was about to be sent: on a resume, whether it arrived is asked of the
    /// cluster, not assumed.
    pub sending: bool,
    /// The change is in the cluster (sent, or found already there).
    pub applied: bool,
    /// A restart's stamp, so a resumed restart sends the same one (and is seen as done).
    pub restarted_at: Option<Timestamp>,
    pub skip_reason: Option<String>,
    pub gates: Vec<GateRecord>,
}

impl StepRecord {
    pub fn new(id: &str, title: &str, summary: String) -> Self {
        StepRecord {
            id: id.to_string(),
            title: title.to_string(),
            summary,
            state: StepState::Pending,
            detail: String::new(),
            started: None,
            finished: None,
            sending: false,
            applied: false,
            restarted_at: None,
            skip_reason: None,
            gates: Vec::new(),
        }
    }
}

/// Everything a resumed run needs, and what the stepper shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub runbook: String,
    /// Where the runbook came from (its path, or `<built-in runbook NAME>`).
    pub source: String,
    pub context: String,
    pub namespace: String,
    pub params: Vec<(String, String)>,
    pub status: RunStatus,
    pub started: Timestamp,
    pub updated: Timestamp,
    /// Pid of the process running it (for the "already running" message).
    pub pid: u32,
    pub steps: Vec<StepRecord>,
    /// The rollback runbook run after a failure, and how it ended.
    pub rollback: Option<String>,
    pub message: String,
}

impl RunState {
    /// What finds the runbook again: its file, or its name when it is a built-in one.
    pub fn source_name(&self) -> String {
        if self.source.starts_with("<built-in") { self.runbook.clone() } else { self.source.clone() }
    }

    /// The first step not yet passed or skipped: where a resumed run continues.
    pub fn resume_at(&self) -> Option<usize> {
        self.steps.iter().position(|s| !s.state.finished())
    }
}

/// Where the state of `runbook` on `namespace` in `context` lives.
pub fn state_path(dir: &Path, context: &str, namespace: &str, runbook: &str) -> PathBuf {
    dir.join(format!("{}.json", sanitize_file_name(&format!("{context}__{namespace}__{runbook}"))))
}

/// Writes `state` atomically: readers (and a resumed run) see the old or the new file.
pub fn save(path: &Path, state: &RunState) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut temp, state).map_err(std::io::Error::other)?;
    temp.write_all(b"\n")?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// Reads a state file; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<RunState>, RunError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| RunError::file(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::file(path, e)),
    }
}

/// Every run state in `dir` that has not ended: what the cockpit offers to continue.
pub fn unfinished(dir: &Path) -> Vec<(PathBuf, RunState)> {
    crate::config::paths::files_in(dir, &["json"])
        .into_iter()
        .filter_map(|path| Some((path.clone(), load(&path).ok()??)))
        .filter(|(_, state)| !state.status.ended())
        .collect()
}

/// Held while a run is in progress; dropped (or the process gone), it is free again.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock next to `state_path`, or says who holds it.
    pub fn acquire(state_path: &Path) -> Result<RunLock, RunError> {
        let path = state_path.with_extension("lock");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RunError::file(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RunError::file(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                let holder = format!("pid {} since {}", std::process::id(), jiff::Timestamp::now());
                file.set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| file.write_all(holder.as_bytes()))
                    .map_err(|e| RunError::file(&path, e))?;
                Ok(RunLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = if holder.is_empty() { "another cockpit" } else { holder.trim() };
                Err(RunError::AlreadyRunning { holder: holder.to_string() })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(RunError::file(&path, e)),
        }
    }

    /// Whether someone holds the lock now (a crashed run's lock is free).
    pub fn is_held(state_path: &Path) -> bool {
        let path = state_path.with_extension("lock");
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else { return false };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RunState {
        RunState {
            runbook: "rb".into(),
            source: "<built-in runbook rb>".into(),
            context: "ctx".into(),
            namespace: "ns".into(),
            params: vec![("a".into(), "1".into())],
            status: RunStatus::Running,
            started: "2026-12-02T00:00:00Z".parse().unwrap(),
            updated: "2026-12-02T00:00:00Z".parse().unwrap(),
            pid: 1,
            steps: vec![
                StepRecord::new("one", "One", "scale x to 2".into()),
                StepRecord::new("two", "Two", "wait 5 s".into()),
            ],
            rollback: None,
            message: String::new(),
        }
    }

    /// A state file as the cockpit wrote it when its times were strings (`Timestamp`'s
    /// own text, fractional seconds and all): it must still load, and be written back the same.
    const WRITTEN_WITH_STRING_TIMES: &str = r#"{
  "runbook": "rb",
  "source": "<built-in runbook rb>",
  "context": "ctx",
  "namespace": "ns",
  "params": [["a", "1"]],
  "status": "running",
  "started": "2026-12-02T03:00:00.123456789Z",
  "updated": "2026-12-02T03:01:30Z",
  "pid": 4711,
  "steps": [
    {
      "id": "restart",
      "title": "Restart",
      "summary": "restart api",
      "state": "waiting",
      "detail": "",
      "started": "2026-12-02T03:00:01.5Z",
      "finished": null,
      "sending": false,
      "applied": true,
      "restarted_at": "2026-12-02T03:00:02.25Z",
      "skip_reason": null,
      "gates": [
        {
          "summary": "rollout-complete api",
          "state": "waiting",
          "detail": "2 of 3 updated",
          "deadline": "2026-12-02T03:10:01.5Z"
        }
      ]
    }
  ],
  "rollback": null,
  "message": ""
}"#;

    #[test]
    fn a_state_file_written_with_string_times_still_loads_and_is_written_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.json");
        std::fs::write(&path, WRITTEN_WITH_STRING_TIMES).unwrap();
        let state = load(&path).unwrap().unwrap();
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        assert_eq!(state.started, at("2026-12-02T03:00:00.123456789Z"));
        assert_eq!(state.updated, at("2026-12-02T03:01:30Z"));
        let step = &state.steps[0];
        assert_eq!((step.started, step.finished), (Some(at("2026-12-02T03:00:01.5Z")), None));
        assert_eq!(step.restarted_at, Some(at("2026-12-02T03:00:02.25Z")));
        assert_eq!(step.gates[0].deadline, Some(at("2026-12-02T03:10:01.5Z")));
        assert_eq!(state.resume_at(), Some(0));
        save(&path, &state).unwrap();
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let before: serde_json::Value = serde_json::from_str(WRITTEN_WITH_STRING_TIMES).unwrap();
        assert_eq!(written, before, "the same RFC 3339 text, field for field");
    }

    #[test]
    fn state_round_trips_and_resumes_at_the_first_unfinished_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path(), "arn:aws:eks/prod", "shop", "rb");
        assert!(path.file_name().unwrap().to_str().unwrap().starts_with("arn_aws_eks_prod__shop__rb"));
        let mut s = state();
        s.steps[0].state = StepState::Passed;
        save(&path, &s).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(back.resume_at(), Some(1));
        assert_eq!(unfinished(dir.path()).len(), 1);
        s.status = RunStatus::Passed;
        save(&path, &s).unwrap();
        assert!(unfinished(dir.path()).is_empty(), "an ended run is not offered again");
        assert_eq!(load(&dir.path().join("none.json")).unwrap(), None);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path(), "c", "n", "rb");
        let first = RunLock::acquire(&path).unwrap();
        assert!(RunLock::is_held(&path));
        let refused = RunLock::acquire(&path).unwrap_err().to_string();
        assert!(refused.starts_with(&format!("already running (pid {}", std::process::id())), "{refused}");
        drop(first);
        assert!(!RunLock::is_held(&path));
        assert!(RunLock::acquire(&path).is_ok());
    }
}
