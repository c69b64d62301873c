//! Showing a change and applying it without ever losing the user's work.

mod apply;
mod hunks;
mod render;

pub use apply::{apply, check_writable, ApplyError};
pub use hunks::{
    hunks, merge_accepted, place_of_line, rejected_hunk_adding, Hunk, HunkChoice, HunkLine,
    LineKind, LinePlace,
};
pub use render::{hunk, unified, Colour};
