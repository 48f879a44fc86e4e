//! The simulated cluster: a Kubernetes API server emulator on loopback that the real
//! `kubectl` and kube-rs accept. It is the demo (`--demo`), the test bed and the
//! benchmark rig. The cockpit reaches it only over HTTP, like any other cluster.
//!
//! Two halves meet here:
//! - the API server (`server`, `api`, `auth`, `faults`, `metrics`): HTTP, discovery,
//!   verbs, tables, patches, watches, logs endpoint, RBAC and fault injection;
//! - the world (`world`): scenarios, controllers, kubelet, log generators, timeline.
//!
//! They share only `store` (objects), `logs` (container logs) and `spec` (users, faults).

pub mod error;
pub mod logs;
pub mod resources;
pub mod spec;
pub mod store;
pub mod world;
