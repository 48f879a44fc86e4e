//! User intent → action plan (pure preview) → dry-run → confirmation → execution → audit.
//! Plans are values built from the model; `cluster::mutate` executes them.

pub mod audit;
pub mod execute;
pub mod rollout;
pub mod scale;
pub mod target;
