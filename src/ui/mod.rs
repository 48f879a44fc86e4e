//! The interactive cockpit: terminal lifecycle, event loop, views and widgets. Draws from
//! state; does no I/O and never awaits in drawing code.
pub mod app;
pub mod format;
pub mod fuzzy;
pub mod panes;
pub mod runbooks;
pub mod runtime;
pub mod sgr;
#[cfg(test)]
mod snapshot_tests;
pub mod terminal;
pub mod views;
