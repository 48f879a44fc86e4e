//! User intent → action plan (pure preview) → dry-run → confirmation → execution → audit.
//! Plans are values built from the model; `cluster::mutate` executes them.

pub mod allowed;
pub mod audit;
pub mod change;
pub mod drain;
pub mod execute;
pub mod git_edit;
pub mod guard;
pub mod helm;
pub mod plan;
pub mod rollout;
pub mod runbook;
pub mod scale;

pub use plan::{Action, ActionPlan};
