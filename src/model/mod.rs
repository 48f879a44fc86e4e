//! The domain model: plain structs and pure functions over cluster objects. It imports
//! neither kube clients nor ratatui, and takes `now` as an argument.
pub mod sanitize;
pub mod service;
pub mod services;
