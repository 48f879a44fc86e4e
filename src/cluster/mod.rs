//! The only code that talks to the Kubernetes API: connection, watches, log streams,
//! mutations; for the connection budget, to a PostgreSQL server (read-only); and, for a
//! Helm release's rollback, the operator's own `helm`.
//! It never reads UI state; callers pass what it needs.

pub mod access;
pub mod collection;
pub mod connect;
pub mod fleet;
pub mod gitops;
pub mod helm;
pub mod logs;
pub mod measure;
pub mod mutate;
pub mod network;
pub mod nodes;
pub mod postgres;
mod raw;
pub mod session;
pub mod watch;
