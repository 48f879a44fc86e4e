//! What frames every screen: the profile banner on top and the status line at the bottom.

pub mod banner;
pub mod statusline;
