//! Exit codes of the command-line contract and the error type that carries them.
//!
//! A [`UserError`] is something the operator can fix (bad flag, unreachable cluster,
//! refused by a guard): printed as one line, no backtrace. Anything else is a bug and gets
//! the full color-eyre report.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The check ran and failed: budget over 100 %, gate failed, error-level finding.
    Failed = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Could not talk to the cluster: unreachable, unauthorized, timeout.
    Cluster = 3,
    /// Refused by a guard (read-only, singleton, RWO volume, RBAC, ...).
    Refused = 4,
    /// The operator declined at the confirmation prompt.
    Declined = 5,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

#[derive(Debug)]
pub struct UserError {
    pub exit: Exit,
    pub message: String,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

fn user(exit: Exit, message: impl Into<String>) -> color_eyre::Report {
    color_eyre::Report::new(UserError { exit, message: message.into() })
}

pub fn usage(message: impl Into<String>) -> color_eyre::Report {
    user(Exit::Usage, message)
}

pub fn cluster(message: impl Into<String>) -> color_eyre::Report {
    user(Exit::Cluster, message)
}

pub fn refused(message: impl Into<String>) -> color_eyre::Report {
    user(Exit::Refused, message)
}

pub fn declined(message: impl Into<String>) -> color_eyre::Report {
    user(Exit::Declined, message)
}

/// The user error inside a report, if the report is one (possibly wrapped in context).
pub fn as_user_error(report: &color_eyre::Report) -> Option<&UserError> {
    report.chain().find_map(|e| e.downcast_ref::<UserError>())
}
