//! Which service an operator means: the parsed `SERVICE` argument now lives in the model
//! ([`crate::model::service_ref`]), since config and the CLI name services too. This name is
//! kept only while `ui/` is rewritten on another branch; new code imports the model's.

pub use crate::model::service_ref::ServiceRef;
