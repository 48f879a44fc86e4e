//! The interactive cockpit: screens and popups (each its own state, commands and drawing),
//! the app that stacks them and pumps commands to them, and the event loop that owns the
//! terminal. Draws from state; does no I/O (effects go to `effects/`) and never awaits in
//! drawing code.
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
