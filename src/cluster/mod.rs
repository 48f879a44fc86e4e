//! The only code that talks to the Kubernetes API: connection, watches, log streams,
//! mutations. It never reads UI state; callers pass what it needs.

pub mod connect;
pub mod mutate;
pub mod session;
pub mod watch;
