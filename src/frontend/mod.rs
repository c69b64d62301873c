//! What every front end shares. `cli`, `tui` and `hook` each render the same core events, start
//! the same sessions and end with the same exit codes; that belongs here, below them, so no front
//! end has to import another to get it. The core (`agent`, `task`, `llm`, `code`, ...) never
//! imports this module: it reports in [`crate::agent::AgentEvent`]s and leaves the words to us.
//!
//! - [`session`]: where the config comes from, the model client, agent settings, the sandbox
//!   probe, and how gen-tests work is split into batches;
//! - [`wording`]: the words for events and outcomes, usage lines, the protections summary;
//! - [`exit`]: the exit codes scripts rely on;
//! - [`signal`]: the signals that stop the work cleanly, and the exit code each gives;
//! - [`timings`]: where a run's time went (sandbox copy, each kind of run, kiln's own CPU).

pub mod exit;
pub mod session;
pub mod signal;
pub mod timings;
pub mod wording;

pub use exit::Exit;
