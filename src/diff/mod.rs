//! Showing a change and applying it without ever losing the user's work.

mod apply;
mod hunks;
mod render;

pub use apply::{apply, check_writable, ApplyError};
pub use hunks::{hunks, merge_accepted, Hunk, HunkChoice, HunkLine, LineKind};
pub use render::{unified, Colour};
