//! Why a runbook run could not start or resume (nothing was changed): one clear line for
//! the operator, the same in the cockpit, the CLI and the audit log.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum RunError {
    /// A run's state or lock file could not be read or written.
    File {
        path: PathBuf,
        cause: String,
    },
    /// Another cockpit holds the run's lock (`pid 4711 since …`, or who it is not known).
    AlreadyRunning {
        holder: String,
    },
    /// The lock of this runbook on this namespace could not be taken.
    Lock {
        runbook: String,
        namespace: String,
        cause: Box<RunError>,
    },
    /// An earlier run stopped part-way: it is continued with `--resume`, not started again.
    Interrupted {
        runbook: String,
        namespace: String,
        at: Option<(usize, String)>,
        path: PathBuf,
    },
    NothingToResume {
        runbook: String,
        namespace: String,
    },
    /// The runbook's steps changed since the run started: its step numbers would mean
    /// something else.
    Changed {
        runbook: String,
        then: Vec<String>,
        now: Vec<String>,
    },
}

impl RunError {
    /// `path` could not be read or written, because of `cause`.
    pub fn file(path: &Path, cause: impl fmt::Display) -> RunError {
        RunError::File { path: path.to_path_buf(), cause: cause.to_string() }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::File { path, cause } => write!(f, "{}: {cause}", path.display()),
            RunError::AlreadyRunning { holder } => write!(f, "already running ({holder})"),
            RunError::Lock { runbook, namespace, cause } => write!(f, "runbook {runbook} on {namespace}: {cause}"),
            RunError::Interrupted { runbook, namespace, at, path } => {
                let at = at.as_ref().map_or_else(String::new, |(i, id)| format!(" at step {} ({id})", i + 1));
                write!(
                    f,
                    "runbook {runbook} on {namespace} was interrupted{at}: continue it with --resume, or remove {} to start over",
                    path.display()
                )
            }
            RunError::NothingToResume { runbook, namespace } => {
                write!(f, "no interrupted run of {runbook} on {namespace} to resume")
            }
            RunError::Changed { runbook, then, now } => write!(
                f,
                "runbook {runbook} changed since the run started (steps {} then, {} now): it cannot be resumed",
                then.join(", "),
                now.join(", ")
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Why a step has no plan (nothing was sent): the service it names is not in the namespace,
/// or it names none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The model's words for why the name finds no service (`no Deployment or StatefulSet "x"`).
    Unresolved(String),
    NoService {
        step: String,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Unresolved(why) => f.write_str(why),
            StepError::NoService { step } => write!(f, "step {step} names no service"),
        }
    }
}

impl std::error::Error for StepError {}
