//! What the money bought: a run's spend divided over what it produced that a user keeps (kept
//! tests, caught mutants, applied hunks). Reckoned once here from the per-tier totals, so the
//! CLI's summary line, `--json` and the TUI's status bar divide the same way; each only words it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Proposal, TierStats};
use crate::config::Tier;
use crate::llm::Counted;

/// What a run produced, counted by the front end that knows how much of it was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Produced {
    /// `None` where the task does not make tests (or made no proposal): there is nothing to say
    /// per test then, not "no test kept".
    pub kept_tests: Option<usize>,
    /// `None` where no mutant was judged.
    pub caught_mutants: Option<usize>,
    pub applied_hunks: usize,
}

impl Produced {
    /// What `proposal` holds, of which `applied_hunks` hunks were written to the user's file.
    pub fn of(proposal: Option<&Proposal>, applied_hunks: usize) -> Produced {
        let tests = proposal
            .and_then(|p| p.notes.as_ref())
            .and_then(|n| n.tests);
        Produced {
            kept_tests: tests.map(|t| t.kept),
            caught_mutants: tests.and_then(|t| t.mutants_caught),
            applied_hunks,
        }
    }
}

/// The run's spend, and its share per result of each kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostPerResult {
    /// Dollars over every tier; `None` unless every tier that was asked has prices, since a sum
    /// that leaves a tier out would make each result look cheaper than it was.
    pub spent_usd: Option<f64>,
    /// Prompt and completion tokens over every tier.
    pub spent_tokens: u64,
    /// Who counted those tokens (and so the dollars): `estimated` or `mixed` marks an estimate
    /// in every figure below. `None` while no request's tokens were counted.
    pub usage_source: Option<Counted>,
    pub kept_tests: Option<PerResult>,
    pub caught_mutants: Option<PerResult>,
    pub applied_hunks: PerResult,
}

/// How many results of one kind, and what each cost; no share of a count of zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerResult {
    pub count: usize,
    pub usd_each: Option<f64>,
    pub tokens_each: Option<f64>,
}

impl PerResult {
    fn of(count: usize, usd: Option<f64>, tokens: Option<u64>) -> PerResult {
        let share = |total: f64| (count > 0).then(|| total / count as f64);
        PerResult {
            count,
            usd_each: usd.and_then(share),
            tokens_each: tokens.and_then(|t| share(t as f64)),
        }
    }
}

/// The spend in `stats` divided over what the run `produced`.
pub fn cost_per_result(stats: &BTreeMap<Tier, TierStats>, produced: Produced) -> CostPerResult {
    let asked: Vec<&TierStats> = stats.values().filter(|s| s.requests > 0).collect();
    let spent_usd = asked
        .iter()
        .map(|s| s.cost_usd)
        .sum::<Option<f64>>()
        .filter(|_| !asked.is_empty());
    let spent_tokens = asked
        .iter()
        .map(|s| s.tokens.prompt_tokens + s.tokens.completion_tokens)
        .sum();
    let usage_source = asked
        .iter()
        .fold(None, |sofar, s| Counted::combine(sofar, s.tokens.source));
    let tokens = usage_source.map(|_| spent_tokens);
    CostPerResult {
        spent_usd,
        spent_tokens,
        usage_source,
        kept_tests: produced
            .kept_tests
            .map(|n| PerResult::of(n, spent_usd, tokens)),
        caught_mutants: produced
            .caught_mutants
            .map(|n| PerResult::of(n, spent_usd, tokens)),
        applied_hunks: PerResult::of(produced.applied_hunks, spent_usd, tokens),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::llm::TokenTotal;
    use pretty_assertions::assert_eq;

    fn tier(tokens: u64, cost_usd: Option<f64>, source: Counted) -> TierStats {
        TierStats {
            requests: 1,
            tokens: TokenTotal {
                prompt_tokens: tokens,
                completion_tokens: 0,
                source: Some(source),
                ..TokenTotal::default()
            },
            cost_usd,
            ..TierStats::default()
        }
    }

    #[test]
    fn the_spend_over_every_tier_is_shared_per_result_and_a_zero_count_gets_no_share() {
        let stats = BTreeMap::from([
            (Tier::Mini, tier(300, Some(0.03), Counted::Server)),
            (Tier::Full, tier(100, Some(0.09), Counted::Server)),
        ]);
        let produced = Produced {
            kept_tests: Some(4),
            caught_mutants: Some(0),
            applied_hunks: 1,
        };
        let per = cost_per_result(&stats, produced);
        assert_eq!(per.spent_tokens, 400);
        assert_eq!(per.usage_source, Some(Counted::Server));
        let kept = per.kept_tests.unwrap();
        assert_eq!(kept.count, 4);
        assert!((kept.usd_each.unwrap() - 0.03).abs() < 1e-12, "{kept:?}");
        assert_eq!(kept.tokens_each, Some(100.0));
        assert_eq!(
            per.caught_mutants,
            Some(PerResult {
                count: 0,
                usd_each: None,
                tokens_each: None
            })
        );
        assert_eq!(per.applied_hunks.tokens_each, Some(400.0));
    }

    #[test]
    fn a_tier_without_prices_leaves_only_tokens_and_an_estimate_stays_marked() {
        let stats = BTreeMap::from([
            (Tier::Mini, tier(300, Some(0.03), Counted::Server)),
            (Tier::Full, tier(100, None, Counted::Estimated)),
        ]);
        let per = cost_per_result(&stats, Produced::default());
        assert_eq!(per.spent_usd, None);
        assert_eq!(per.usage_source, Some(Counted::Mixed));
        assert_eq!(per.kept_tests, None);
        assert_eq!(per.applied_hunks.count, 0);
    }
}
