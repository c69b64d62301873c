//! The words for what the core reports, shared by every front end: progress lines for agent
//! events, what an [`Outcome`] means, the usage line at the end of a run, and what the sandbox
//! probe found. The CLI prints these on stderr, the TUI shows them in its task log and status
//! bar, the hook in its one-line findings; writing them once keeps the three saying the same.

use std::collections::BTreeMap;

use kiln_sandbox::{Protection, RunOutcome, RunReport, NO_READS_OUTSIDE};

use crate::agent::{Cost, CostPerResult, Outcome, PerResult, Proposal, ReplyKind, TierStats};
use crate::config::{Price, Tier};
use crate::llm::{Counted, TokenTotal};
pub use crate::task::first_line;
use crate::task::gen_tests::{Chosen, Plan};
use crate::task::ProposedTests;

/// `1 test`, `2,000 tests`: a count with its noun in the right number.
pub fn counted(count: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(count),
        if count == 1 { one } else { many }
    )
}

pub fn describe_attempt(attempt: u32, max_attempts: u32, tier: Tier, model: &str) -> String {
    format!("attempt {attempt}/{max_attempts} · {tier} ({model})")
}

pub fn describe_batch_plan(parts: usize, jobs: usize) -> String {
    format!(
        "{parts} batches, {} at a time; their candidates are tested together",
        jobs.min(parts)
    )
}

/// What a gen-tests run will ask, before it asks: `plan: 2,000 functions in 400 batches,
/// ~1.2M input tokens on the first attempts (estimated), input cost ~$0.90 at mini prices`.
/// Only the input side has a price: what the model answers, and how many repairs it needs,
/// is not known yet.
pub fn plan_line(plan: &Plan, tier: Tier, price: Option<Price>) -> String {
    let functions = match plan.chosen {
        Chosen::First { of } if of > plan.functions => format!(
            "the first {} of {} functions (in file order, through {})",
            thousands(plan.functions),
            thousands(of),
            plan.last_function
        ),
        _ => counted(plan.functions, "function", "functions"),
    };
    let cost = match price {
        Some(price) => format!(
            "input cost ~${} at {tier} prices",
            dollars(price.cost(plan.input_tokens, 0))
        ),
        None => format!("cost unknown: no prices for {tier} in kiln.toml"),
    };
    format!(
        "plan: {functions} in {}, ~{} input tokens on the first attempts (estimated), {cost}",
        counted(plan.batches, "batch", "batches"),
        approx(plan.input_tokens),
    )
}

/// Why a run over `max_functions` does not start, and the three ways to let it.
pub fn over_max_functions(plan: &Plan, max_functions: u32) -> String {
    format!(
        "{} is over max_functions ({max_functions}); narrow it with --fn NAME or \
         --max-functions N, or pass --yes to spend it",
        counted(plan.functions, "function", "functions")
    )
}

/// `2,000`: a count people read at a glance.
fn thousands(count: impl std::fmt::Display) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `950`, `12.3k`, `1.2M`: an estimate shown without false precision.
fn approx(count: u64) -> String {
    match count {
        0..1_000 => count.to_string(),
        1_000..1_000_000 => format!("{:.1}k", count as f64 / 1e3),
        _ => format!("{:.1}M", count as f64 / 1e6),
    }
}

/// `0.31`, or four places under a cent, so a small cost never reads as zero.
fn dollars(amount: f64) -> String {
    if amount >= 0.01 {
        format!("{amount:.2}")
    } else {
        format!("{amount:.4}")
    }
}

/// "[2/4] ": marks what a batch's second part did.
pub fn part_prefix(index: usize, total: usize) -> String {
    format!("[{}/{total}] ", index + 1)
}

pub fn describe_combining(proposed: usize, total: usize) -> String {
    format!("every batch is done; running the kept tests of {proposed} of {total} batches together")
}

pub fn describe_escalation(from: Tier, to: Tier, after_failures: u32) -> String {
    format!("escalating from {from} to {to} after {after_failures} failed attempt(s)")
}

/// A candidate that could not even be placed in the file.
pub fn describe_rejection(reason: &str) -> String {
    format!("  candidate rejected: {}", first_line(reason))
}

pub fn describe_reply(kind: &ReplyKind) -> String {
    match kind {
        ReplyKind::ToolCallWellFormed => "  candidate received".to_string(),
        ReplyKind::ToolCallRepaired(what) => {
            format!("  candidate received (tool call repaired: {what})")
        }
        ReplyKind::ToolCallRejected(why) => format!("  unusable tool call ({why}); asking again"),
        ReplyKind::FencedCode => {
            "  candidate received as a code block, not a tool call".to_string()
        }
        ReplyKind::NoCandidate => "  the reply held no code; asking again".to_string(),
        ReplyKind::Completion => "  completion received".to_string(),
    }
}

/// A validation's last run. `proposed`: what the proposal keeps of the tests written, when the
/// tests are the proposal; said instead of the run's count when validation dropped some, since
/// "2 tests passed" over a one-test proposal reads as two tests proposed.
pub fn describe_report(report: &RunReport, proposed: Option<ProposedTests>) -> String {
    let took = report.duration.as_secs_f64();
    match report.outcome {
        RunOutcome::Passed => match proposed {
            Some(ProposedTests { written, kept }) if kept < written => {
                let what = match kept {
                    0 => "  ✗ no test kept".to_string(),
                    _ => format!("  ✓ {} proposed", counted(kept, "test", "tests")),
                };
                format!(
                    "{what} ({written} written, {} dropped, {took:.1}s)",
                    written - kept
                )
            }
            _ => format!(
                "  ✓ {} passed ({took:.1}s)",
                counted(report.passed, "test", "tests")
            ),
        },
        RunOutcome::BuildFailed => {
            let first = report
                .compiler_errors
                .first()
                .map(|e| format!(": {}", e.message))
                .unwrap_or_default();
            format!(
                "  ✗ does not compile: {} error(s){first} ({took:.1}s)",
                report.compiler_errors.len()
            )
        }
        RunOutcome::TestsFailed => {
            let names: Vec<&str> = report.failures.iter().map(|f| f.name.as_str()).collect();
            format!(
                "  ✗ {} of {} tests failed: {} ({took:.1}s)",
                report.failed,
                report.passed + report.failed,
                names.join(", ")
            )
        }
        RunOutcome::TimedOut => format!("  ✗ timed out after {took:.0}s"),
        RunOutcome::NoTestsRan => "  ✗ no tests ran".to_string(),
    }
}

/// How much of an outcome a front end shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form<'a> {
    /// For a task list or a hook's line: what gave up, and the first line of why. Errors of the
    /// model or the sandbox are given as they are.
    Brief,
    /// The CLI's closing message: that the file `label` is unchanged, and the whole last
    /// failure, indented.
    Full { label: &'a str },
}

/// What a proposal holds with what its validation found in one line, as a review header or a
/// saved patch shows it: "2 tests: a, b · mutants 6/8 caught (75%), 2 survived".
pub fn proposal_headline(proposal: &Proposal) -> String {
    match proposal.notes.as_ref().and_then(|n| n.headline.as_deref()) {
        Some(headline) => format!("{} · {headline}", proposal.summary),
        None => proposal.summary.clone(),
    }
}

/// What `outcome` means, after `attempts` attempts. `noun` names what the task makes ("tests",
/// "docs", "refactor"), as in "no passing tests after 4 attempt(s)".
pub fn describe_outcome(outcome: &Outcome, attempts: u32, noun: &str, form: Form<'_>) -> String {
    match outcome {
        Outcome::Proposed(proposal) => format!("validated {}", proposal.summary),
        Outcome::Exhausted { last_failure } => {
            let gave_up = format!("no passing {noun} after {attempts} attempt(s)");
            match form {
                Form::Brief => format!("{gave_up}: {}", first_line(last_failure)),
                Form::Full { label } => format!(
                    "{gave_up}; {label} is unchanged. Last failure:\n{}",
                    indent(last_failure)
                ),
            }
        }
        Outcome::BudgetSpent {
            spent,
            last_failure,
        } => match form {
            Form::Brief => format!("stopped at {spent}: the cost budget is spent"),
            Form::Full { label } => format!(
                "stopped at {spent} (--max-cost) without passing {noun}; {label} is unchanged.{} Last failure:\n{}",
                match spent.counted {
                    Counted::Server => "",
                    Counted::Estimated =>
                        " The server reported no usage, so kiln counted the tokens itself (o200k).",
                    Counted::Mixed =>
                        " The server reported usage for some replies only; kiln counted the rest itself (o200k).",
                },
                indent(last_failure),
            ),
        },
        Outcome::ModelFailed(e) => e.to_string(),
        Outcome::SandboxFailed(message) => message.clone(),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1,200 in / 340 out tokens` as the server reported them; `~1,200 in / ~340 out tokens
/// (estimated)` when kiln counted them itself, `(partly estimated)` for a sum of both. Nothing
/// counted yet is zero. Cached input and reasoning output, where a server reported any, are
/// shown inside their totals: `1,200 in (1,024 cached) / 340 out (120 reasoning) tokens`.
pub fn describe_tokens(tokens: &TokenTotal) -> String {
    let part = |total: u64, direction: &str, of: u64, what: &str| match of {
        0 => format!("{} {direction}", thousands(total)),
        of => format!(
            "{} {direction} ({} {what})",
            thousands(total),
            thousands(of)
        ),
    };
    let (prompt, completion) = (
        part(tokens.prompt_tokens, "in", tokens.cached_tokens, "cached"),
        part(
            tokens.completion_tokens,
            "out",
            tokens.reasoning_tokens,
            "reasoning",
        ),
    );
    match tokens.source {
        None | Some(Counted::Server) => format!("{prompt} / {completion} tokens"),
        Some(Counted::Estimated) => format!("~{prompt} / ~{completion} tokens (estimated)"),
        Some(Counted::Mixed) => format!("~{prompt} / ~{completion} tokens (partly estimated)"),
    }
}

/// `1,200+340 tok`, `~1,200+340 tok` when any of it is estimated: for a task list's row.
pub fn describe_tokens_briefly(tokens: &TokenTotal) -> String {
    let mark = match tokens.source {
        None | Some(Counted::Server) => "",
        Some(Counted::Estimated | Counted::Mixed) => "~",
    };
    format!(
        "{mark}{}+{} tok",
        thousands(tokens.prompt_tokens),
        thousands(tokens.completion_tokens)
    )
}

/// The end-of-run line: attempts, then per tier its requests, tokens (marked when estimated),
/// median first-token latency and cost (when the tier has prices). What kiln could not measure
/// is `-`: the first token of replies that all came whole, the tokens of replies nobody
/// counted.
pub fn usage_line(attempts: u32, stats: &BTreeMap<Tier, TierStats>) -> String {
    let tiers: Vec<String> = stats
        .iter()
        .map(|(tier, s)| {
            let tokens = match s.tokens.source {
                Some(_) => describe_tokens(&s.tokens),
                None => "- in / - out tokens".to_string(),
            };
            let mut line = format!("{tier}: {} request(s), {tokens}", s.requests);
            let first_tokens: Vec<u64> = s
                .per_request
                .iter()
                .filter_map(|r| r.first_token_ms)
                .collect();
            match median(&first_tokens) {
                Some(ms) => line.push_str(&format!(", first token {ms} ms")),
                None => line.push_str(", first token -"),
            }
            if let (Some(usd), Some(counted)) = (s.cost_usd, s.tokens.source) {
                line.push_str(&format!(", {}", Cost { usd, counted }));
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

/// What the run's spend bought: "cost per result: $0.0300 per kept test (4 kept) · $0.0120
/// per caught mutant (10 caught) · no hunk applied". Tokens stand in for dollars where a tier
/// has no prices; "(estimated)" after "cost per result" and a `~` on each figure when kiln
/// counted tokens the server did not report. A count of zero is said, never divided by.
pub fn describe_cost_per_result(per: &CostPerResult) -> String {
    let (label, mark) = match per.usage_source {
        None | Some(Counted::Server) => ("cost per result", ""),
        Some(Counted::Estimated) => ("cost per result (estimated)", "~"),
        Some(Counted::Mixed) => ("cost per result (partly estimated)", "~"),
    };
    let each = |result: &PerResult, noun: &str, verb: &str, none: &str| {
        let count = thousands(result.count);
        match (result.usd_each, result.tokens_each) {
            _ if result.count == 0 => none.to_string(),
            (Some(usd), _) => format!("{mark}${usd:.4} per {noun} ({count} {verb})"),
            (None, Some(tokens)) => format!(
                "{mark}{} tokens per {noun} ({count} {verb})",
                thousands(tokens.round() as u64)
            ),
            (None, None) => format!("- per {noun} ({count} {verb})"),
        }
    };
    let mut parts = Vec::new();
    if let Some(kept) = &per.kept_tests {
        parts.push(each(kept, "kept test", "kept", "no test kept"));
    }
    if let Some(caught) = &per.caught_mutants {
        parts.push(each(caught, "caught mutant", "caught", "no mutant caught"));
    }
    parts.push(each(
        &per.applied_hunks,
        "applied hunk",
        "applied",
        "no hunk applied",
    ));
    format!("{label}: {}", parts.join(" · "))
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

fn missing(protections: &[Protection]) -> Vec<&str> {
    protections
        .iter()
        .filter(|protection| !protection.is_active())
        .map(|protection| protection.name)
        .collect()
}

/// The one-line warning a front end shows before sandboxed runs when
/// protections are missing, or `None` when all are in force.
pub fn missing_protections_warning(protections: &[Protection]) -> Option<String> {
    let missing = missing(protections);
    (!missing.is_empty()).then(|| {
        // "runs without: no reads outside …" reads as a double negative, and unconfined reads
        // are what a user most needs to notice: name them as what they are.
        let (reads, others): (Vec<&str>, Vec<&str>) = missing
            .into_iter()
            .partition(|name| *name == NO_READS_OUTSIDE);
        let mut parts = Vec::new();
        if !reads.is_empty() {
            parts.push("reads unconfined (generated code can read your files)".to_string());
        }
        if !others.is_empty() {
            parts.push(format!("runs without: {}", others.join(", ")));
        }
        format!(
            "warning: the sandbox {} (see `kiln doctor`)",
            parts.join("; ")
        )
    })
}

/// The copy of the crate left something out or pointing outside it.
pub fn describe_copy_note(note: &str) -> String {
    format!("  sandbox copy: {note}")
}

/// Secrets a run printed, redacted before anything was shown or sent.
pub fn describe_redactions(count: usize) -> String {
    format!("  {count} secret(s) in the run's output replaced with [redacted] before it was shown or sent to the model")
}

/// One short status-bar phrase: how many protections are in force, and which are not.
pub fn protections_summary(protections: &[Protection]) -> String {
    let missing = missing(protections);
    if missing.is_empty() {
        format!("sandbox: all {} protections", protections.len())
    } else {
        format!(
            "sandbox: {} of {} protections (off: {})",
            protections.len() - missing.len(),
            protections.len(),
            missing.join(", ")
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use kiln_sandbox::ProtectionStatus;
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::agent::RequestStats;
    use crate::config::Price;
    use crate::llm::{Usage, UsageSource};

    #[test]
    fn a_run_line_says_how_many_tests_are_proposed_when_some_were_dropped() {
        let ran = |passed| crate::task::test_crate::run_report(RunOutcome::Passed, passed);
        let kept = |written, kept| Some(ProposedTests { written, kept });
        let lines: Vec<String> = [
            (ran(2), kept(2, 1)),
            (ran(2), kept(2, 0)),
            // Parts of a batch share a run: it passed 7, this part wrote and keeps 5.
            (ran(7), kept(5, 5)),
            (ran(2), None),
        ]
        .iter()
        .map(|(report, kept)| describe_report(report, *kept))
        .collect();
        assert_eq!(
            lines,
            vec![
                "  ✓ 1 test proposed (2 written, 1 dropped, 1.5s)",
                "  ✗ no test kept (2 written, 2 dropped, 1.5s)",
                "  ✓ 7 tests passed (1.5s)",
                "  ✓ 2 tests passed (1.5s)",
            ]
        );
    }

    fn request(usage: Usage, first_token_ms: Option<u64>) -> RequestStats {
        RequestStats {
            usage: Some(usage),
            first_token_ms,
        }
    }

    /// A tier's counters as the agent adds them up, one reply at a time.
    fn tier(requests: &[RequestStats], price: Option<Price>) -> TierStats {
        let mut stats = TierStats::default();
        for r in requests {
            stats.count_reply(&ReplyKind::ToolCallWellFormed, *r, price);
        }
        stats
    }

    fn usage(prompt_tokens: u64, completion_tokens: u64, source: UsageSource) -> Usage {
        Usage {
            source,
            ..Usage::reported(prompt_tokens, completion_tokens)
        }
    }

    #[test]
    fn usage_line_shows_tokens_latency_and_cost_per_tier() {
        let price = Some(Price {
            input_per_mtok: 10.0,
            output_per_mtok: 25.0,
        });
        let server = |p, c, ms| request(usage(p, c, UsageSource::Server), Some(ms));
        let stats = BTreeMap::from([(
            Tier::Mini,
            tier(
                &[server(50, 10, 90), server(25, 5, 30), server(25, 5, 50)],
                price,
            ),
        )]);
        assert_eq!(
            usage_line(3, &stats),
            "3 attempt(s) · mini: 3 request(s), 100 in / 20 out tokens, first token 50 ms, $0.0015"
        );
        assert_eq!(usage_line(0, &BTreeMap::new()), "0 attempt(s)");
    }

    #[test]
    fn cached_and_reasoning_tokens_are_shown_inside_their_totals() {
        let details = Usage {
            cached_tokens: 1_024,
            reasoning_tokens: 120,
            ..usage(2_000, 300, UsageSource::Server)
        };
        let stats = BTreeMap::from([(Tier::Mini, tier(&[request(details, None)], None))]);
        assert_eq!(
            usage_line(1, &stats),
            "1 attempt(s) · mini: 1 request(s), 2,000 in (1,024 cached) / 300 out (120 reasoning) \
             tokens, first token -"
        );
    }

    #[test]
    fn estimated_tokens_and_costs_are_labelled_and_unmeasured_figures_are_unknown() {
        let price = Some(Price {
            input_per_mtok: 1.0,
            output_per_mtok: 0.0,
        });
        let estimated = request(usage(2_310, 940, UsageSource::Estimated), None);
        let stats = BTreeMap::from([(Tier::Mini, tier(&[estimated], price))]);
        assert_eq!(
            usage_line(1, &stats),
            "1 attempt(s) · mini: 1 request(s), ~2,310 in / ~940 out tokens (estimated), \
             first token -, ~$0.0023 (estimated)"
        );
        let reported = request(usage(1_000_000, 1, UsageSource::Server), Some(40));
        let stats = BTreeMap::from([(Tier::Full, tier(&[estimated, reported], None))]);
        assert_eq!(
            usage_line(2, &stats),
            "2 attempt(s) · full: 2 request(s), ~1,002,310 in / ~941 out tokens (partly estimated), \
             first token 40 ms"
        );
        let uncounted = RequestStats {
            usage: None,
            first_token_ms: Some(7),
        };
        let stats = BTreeMap::from([(Tier::Nano, tier(&[uncounted], price))]);
        assert_eq!(
            usage_line(1, &stats),
            "1 attempt(s) · nano: 1 request(s), - in / - out tokens, first token 7 ms"
        );
        assert_eq!(
            describe_tokens_briefly(&stats[&Tier::Nano].tokens),
            "0+0 tok",
            "nothing counted yet"
        );
        let mut mixed = TokenTotal::default();
        mixed.add(usage(1_200, 340, UsageSource::Estimated));
        assert_eq!(describe_tokens_briefly(&mixed), "~1,200+340 tok");
    }

    #[test]
    fn cost_per_result_says_dollars_or_tokens_marks_estimates_and_names_a_zero() {
        let price = Some(Price {
            input_per_mtok: 10.0,
            output_per_mtok: 0.0,
        });
        let produced = crate::agent::Produced {
            kept_tests: Some(4),
            caught_mutants: Some(0),
            applied_hunks: 1,
        };
        let line = |requests: &[RequestStats], price| {
            let stats = BTreeMap::from([(Tier::Mini, tier(requests, price))]);
            describe_cost_per_result(&crate::agent::cost_per_result(&stats, produced))
        };
        let server = request(usage(12_000, 0, UsageSource::Server), None);
        assert_eq!(
            line(&[server], price),
            "cost per result: $0.0300 per kept test (4 kept) · no mutant caught · \
             $0.1200 per applied hunk (1 applied)"
        );
        assert_eq!(
            line(&[server], None),
            "cost per result: 3,000 tokens per kept test (4 kept) · no mutant caught · \
             12,000 tokens per applied hunk (1 applied)"
        );
        let estimated = request(usage(12_000, 0, UsageSource::Estimated), None);
        assert_eq!(
            line(&[estimated], None),
            "cost per result (estimated): ~3,000 tokens per kept test (4 kept) · no mutant \
             caught · ~12,000 tokens per applied hunk (1 applied)"
        );
        let stats = BTreeMap::from([(Tier::Mini, tier(&[server], price))]);
        let nothing = crate::agent::cost_per_result(&stats, crate::agent::Produced::default());
        assert_eq!(
            describe_cost_per_result(&nothing),
            "cost per result: no hunk applied"
        );
    }

    fn protection(name: &'static str, status: ProtectionStatus) -> Protection {
        Protection { name, status }
    }

    #[test]
    fn counts_take_the_noun_in_the_right_number() {
        assert_eq!(counted(1, "test", "tests"), "1 test");
        assert_eq!(counted(0, "test", "tests"), "0 tests");
        assert_eq!(counted(2, "attempt", "attempts"), "2 attempts");
    }

    #[test]
    fn warning_names_only_the_missing_protections() {
        let active = ProtectionStatus::Active { via: "x".into() };
        let off = ProtectionStatus::Unavailable {
            reason: "no kernel support".into(),
        };
        assert_eq!(
            missing_protections_warning(&[protection("output cap", active.clone())]),
            None
        );
        assert_eq!(
            missing_protections_warning(&[
                protection("no network", off.clone()),
                protection("output cap", active),
                protection("process limit", off.clone()),
            ])
            .unwrap(),
            "warning: the sandbox runs without: no network, process limit (see `kiln doctor`)"
        );
        assert_eq!(
            missing_protections_warning(&[
                protection("no network", off.clone()),
                protection(NO_READS_OUTSIDE, off.clone()),
            ])
            .unwrap(),
            "warning: the sandbox reads unconfined (generated code can read your files); \
             runs without: no network (see `kiln doctor`)"
        );
        assert_eq!(
            protections_summary(&[
                protection("no network", off),
                protection("output cap", ProtectionStatus::Active { via: "x".into() }),
            ]),
            "sandbox: 1 of 2 protections (off: no network)"
        );
    }

    #[test]
    fn outcomes_read_the_same_in_every_front_end() {
        let exhausted = Outcome::Exhausted {
            last_failure: "test t failed\n  left: 1".to_string(),
        };
        assert_eq!(
            describe_outcome(&exhausted, 2, "tests", Form::Brief),
            "no passing tests after 2 attempt(s): test t failed"
        );
        assert_eq!(
            describe_outcome(&exhausted, 2, "tests", Form::Full { label: "src/lib.rs" }),
            "no passing tests after 2 attempt(s); src/lib.rs is unchanged. Last failure:\n  test t failed\n    left: 1"
        );
        let spent = Outcome::BudgetSpent {
            spent: Cost {
                usd: 0.5,
                counted: Counted::Server,
            },
            last_failure: "E0308".to_string(),
        };
        assert_eq!(
            describe_outcome(&spent, 3, "docs", Form::Brief),
            "stopped at $0.5000: the cost budget is spent"
        );
        let estimated = Outcome::BudgetSpent {
            spent: Cost {
                usd: 0.5,
                counted: Counted::Estimated,
            },
            last_failure: "E0308".to_string(),
        };
        assert_eq!(
            describe_outcome(
                &estimated,
                3,
                "docs",
                Form::Full {
                    label: "src/lib.rs"
                }
            ),
            "stopped at ~$0.5000 (estimated) (--max-cost) without passing docs; src/lib.rs is \
             unchanged. The server reported no usage, so kiln counted the tokens itself (o200k). \
             Last failure:\n  E0308"
        );
    }

    #[test]
    fn a_plan_says_its_size_its_estimate_and_its_price_or_that_none_is_known() {
        let plan = Plan {
            functions: 2_000,
            chosen: Chosen::Untested,
            last_function: "last".into(),
            batches: 400,
            input_tokens: 1_200_000,
        };
        let mini = Price {
            input_per_mtok: 0.75,
            output_per_mtok: 4.5,
        };
        assert_eq!(
            plan_line(&plan, Tier::Mini, Some(mini)),
            "plan: 2,000 functions in 400 batches, ~1.2M input tokens on the first attempts \
             (estimated), input cost ~$0.90 at mini prices"
        );
        let first = Plan {
            functions: 1,
            chosen: Chosen::First { of: 2_000 },
            batches: 1,
            input_tokens: 950,
            ..plan.clone()
        };
        assert_eq!(
            plan_line(&first, Tier::Full, None),
            "plan: the first 1 of 2,000 functions (in file order, through last) in 1 batch, ~950 \
             input tokens on the first attempts (estimated), cost unknown: no prices for full in \
             kiln.toml"
        );
        assert_eq!(
            over_max_functions(&plan, 50),
            "2,000 functions is over max_functions (50); narrow it with --fn NAME or \
             --max-functions N, or pass --yes to spend it"
        );
    }
}
