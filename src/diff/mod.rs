//! Showing a change and applying it without ever losing the user's work.

mod apply;
mod render;

pub use apply::{apply, ApplyError};
pub use render::{unified, Colour};
