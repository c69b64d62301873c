//! The end of a one-shot run: a machine-readable result for `--json`, a one-line cost summary for people.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agent::TierStats;
use crate::config::Tier;

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
}

pub fn usage_line(attempts: u32, stats: &BTreeMap<Tier, TierStats>) -> String {
    let tiers: Vec<String> = stats
        .iter()
        .map(|(tier, s)| {
            format!(
                "{tier}: {} request(s), {} in / {} out tokens",
                s.requests, s.prompt_tokens, s.completion_tokens
            )
        })
        .collect();
    if tiers.is_empty() {
        format!("{attempts} attempt(s)")
    } else {
        format!("{attempts} attempt(s) · {}", tiers.join(" · "))
    }
}
