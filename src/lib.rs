//! kiln: turns cheap model tiers into a coding tool you can trust.
//!
//! The core (`task`, `agent`, `llm`, `code`, `diff`, `project`, `config`, `prompt`, and the
//! `kiln-sandbox` crate) turns a task on a piece of code into a validated proposal and reports
//! every step as an [`agent::AgentEvent`]. The front ends (`cli`, `tui` and the git `hook`) only
//! pick tasks, render events and ask for approval: they never drive cargo or HTTP themselves.
//! What they share (session setup, wording, exit codes) is in `frontend`; they never import each
//! other, and the core imports neither them nor `frontend` (`tests/architecture.rs` checks).

pub mod agent;
pub mod cli;
pub mod code;
pub mod config;
pub mod diff;
pub mod frontend;
pub mod hook;
pub mod llm;
pub mod project;
pub mod prompt;
pub mod task;
pub mod tui;
