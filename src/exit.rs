//! Exit codes of the command-line contract, the signals that end a command (and the
//! status a shell expects after them), and the error type that carries them.
//!
//! A [`UserError`] is something the operator can fix (bad flag, unreachable cluster,
//! refused by a guard): printed as one line, no backtrace. Anything else is a bug and gets
//! the full color-eyre report.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok,
    /// The check ran and failed: budget over 100 %, gate failed, error-level finding.
    Failed,
    /// Usage or configuration error.
    Usage,
    /// Could not talk to the cluster: unreachable, unauthorized, timeout.
    Cluster,
    /// Refused by a guard (read-only, singleton, RWO volume, RBAC, ...).
    Refused,
    /// The operator declined at the confirmation prompt.
    Declined,
    /// Ended by a signal (a dropped SSH session, Ctrl-C, a kill): 128 + its number, as a
    /// shell reports a process the signal stopped, so scripts can tell it from a failure.
    Signalled(Signal),
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Cluster => 3,
            Exit::Refused => 4,
            Exit::Declined => 5,
            Exit::Signalled(signal) => 128 + signal.number(),
        }
    }
}

/// The signals that end the cockpit and long-running commands cleanly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Hangup,
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn number(self) -> i32 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for SIGHUP, SIGINT and SIGTERM from the moment it is made: made first, so a
/// signal during set-up is not lost to the default action (which would skip restoring the
/// terminal or saving a run's state).
pub struct Terminations {
    hangup: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Terminations {
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Terminations {
            hangup: signal(SignalKind::hangup())?,
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next of the three to arrive.
    pub async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.hangup.recv() => Signal::Hangup,
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_ends_with_128_plus_its_number() {
        let codes: Vec<i32> =
            [Signal::Hangup, Signal::Interrupt, Signal::Terminate].map(|s| Exit::Signalled(s).code()).to_vec();
        assert_eq!(codes, [129, 130, 143]);
    }
}
