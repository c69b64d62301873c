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
    /// The task's own findings (gen-tests: tests kept and dropped, mutants per function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<serde_json::Value>,
}

pub fn usage_line(attempts: u32, stats: &BTreeMap<Tier, TierStats>) -> String {
    let tiers: Vec<String> = stats
        .iter()
        .map(|(tier, s)| {
            let mut line = format!(
                "{tier}: {} request(s), {} in / {} out tokens",
                s.requests, s.prompt_tokens, s.completion_tokens
            );
            if let Some(ms) = median(&s.first_token_ms) {
                line.push_str(&format!(", first token {ms} ms"));
            }
            if let Some(cost) = s.cost_usd {
                line.push_str(&format!(", ${cost:.4}"));
            }
            line
        })
        .collect();
    if tiers.is_empty() {
        format!("{attempts} attempt(s)")
    } else {
        format!("{attempts} attempt(s) · {}", tiers.join(" · "))
    }
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn usage_line_shows_tokens_latency_and_cost_per_tier() {
        let mut stats = BTreeMap::new();
        stats.insert(
            Tier::Mini,
            TierStats {
                requests: 2,
                prompt_tokens: 100,
                completion_tokens: 20,
                first_token_ms: vec![90, 30, 50],
                cost_usd: Some(0.0015),
                ..TierStats::default()
            },
        );
        assert_eq!(
            usage_line(2, &stats),
            "2 attempt(s) · mini: 2 request(s), 100 in / 20 out tokens, first token 50 ms, $0.0015"
        );
        assert_eq!(usage_line(0, &BTreeMap::new()), "0 attempt(s)");
    }
}
