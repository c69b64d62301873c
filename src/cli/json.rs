//! The end of a one-shot run as one machine-readable object, for `--json`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agent::{CostPerResult, TierStats};
use crate::config::Tier;
use crate::frontend::timings::Timings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    Applied,
    /// Validated and shown, not applied (`--dry-run`, declined, or no terminal to ask on).
    Proposed,
    NothingToDo,
    NoPassingResult,
    InputError,
    ModelError,
    Interrupted,
}

#[derive(Debug, Serialize)]
pub struct JsonResult {
    pub outcome: ResultKind,
    pub file: Option<String>,
    pub attempts: u32,
    pub summary: Option<String>,
    pub message: Option<String>,
    pub tiers: BTreeMap<Tier, TierStats>,
    pub diff: Option<String>,
    /// The task's own findings (gen-tests: tests kept and dropped, mutants per function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<serde_json::Value>,
    /// What the spend bought: dollars (or tokens) per kept test, caught mutant and applied hunk.
    /// `None` when no model request was made.
    pub per_result: Option<CostPerResult>,
    /// Secrets that sandbox runs printed and kiln replaced with `[redacted]`.
    pub secrets_redacted: usize,
    /// Where the time went: the sandbox copy, each kind of sandbox run, kiln's own CPU.
    pub timings: Timings,
}
