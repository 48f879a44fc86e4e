//! Headless renderings of the model (`status`, `budget`, `gate`, `lint`, `doctor`, `nodes`,
//! `drain-plan`, `config init`, `fleet diff`): tables for
//! people, JSON for scripts. Same numbers as the cockpit: one source of truth.

pub mod budget;
pub mod doctor;
pub mod drift;
pub mod lint;
pub mod nodes;
pub mod starter;
pub mod status;
