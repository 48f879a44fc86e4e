//! The interactive cockpit: terminal lifecycle, event loop, views and widgets. Draws from
//! state; does no I/O and never awaits in drawing code.
pub mod terminal;
