//! The interactive cockpit: terminal lifecycle, event loop, views and widgets. Draws from
//! state; does no I/O and never awaits in drawing code.
pub mod app;
pub mod chrome;
pub mod context;
pub mod format;
pub mod frame;
pub mod fuzzy;
pub mod layout;
pub mod panes;
pub mod popups;
pub mod runbooks;
pub mod runtime;
pub mod screens;
pub mod sgr;
#[cfg(test)]
mod snapshot_tests;
pub mod terminal;
