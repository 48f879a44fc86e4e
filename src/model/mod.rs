//! The domain model: plain structs and pure functions over cluster objects. It imports
//! neither kube clients nor ratatui, and takes `now` as an argument.
pub mod age;
pub mod budget;
pub mod capacity;
pub mod drain;
pub mod events;
pub mod findings;
pub mod flags;
pub mod gate;
pub mod helm;
pub mod history;
pub mod hpa;
pub mod lint;
pub mod pdb;
pub mod placement;
pub mod pods;
pub mod probes;
pub mod profile;
pub mod rollout;
pub mod runbook;
pub mod sanitize;
pub mod selectors;
pub mod service;
pub mod services;
pub mod slo;
