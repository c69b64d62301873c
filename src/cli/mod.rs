//! One-shot commands: run a task, show progress on stderr, the diff (or JSON) on stdout, ask,
//! apply.

pub mod doc;
pub mod doctor;
mod events_json;
pub mod fim;
pub mod gen_tests;
mod json;
mod progress;
pub mod refactor;
mod task_command;
