//! kubectl-cockpit: a terminal cockpit for operators of services on Kubernetes.
//!
//! Data flows one way (see `../shared/STYLE.md` in the project's workspace):
//!
//! ```text
//! kubeconfig ─► cluster/ (watchers, log streams, mutations)   the only code that talks to the API
//!                 ▼
//!              model/   (plain structs + pure functions; `now` is passed in)
//!                 ▼
//!              ui/      (view state + drawing as a function of model, view state, theme)
//! user keys ─► keymap ─► command ─► ui/ component ─► Effect ─► effects/ (jobs, runbook
//!              runner, log followers) ─► actions/ (plan → preview → dry-run → execute → track)
//!              ─► results back to ui/ as messages
//! report/ renders the same model headless; config/ turns files on disk into resolved settings;
//! sim/ is a separate world: a Kubernetes API server emulator the cockpit never special-cases.
//! ```

pub mod actions;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod effects;
pub mod exit;
pub mod memory;
pub mod model;
pub mod report;
pub mod sim;
pub mod ui;
