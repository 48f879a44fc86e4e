//! Files on disk → resolved settings: where config lives, themes, keymaps, profiles,
//! runbooks.
//! Problems are reported with file and line; a bad file never stops the cockpit from
//! starting on the defaults.

pub mod check;
pub mod commands;
pub mod diagnostic;
pub mod duration;
pub mod keymap;
pub mod paths;
pub mod profile;
pub mod runbook;
mod source;
pub mod theme;
pub mod yaml;
