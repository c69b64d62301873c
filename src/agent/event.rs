//! Everything the agent does, as data. Front ends render these; they never reach into the loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kiln_sandbox::{Progress, RunReport};
use serde::Serialize;

use crate::config::{Price, Tier};
use crate::llm::{Counted, LlmEvent, TokenTotal, Usage, UsageSource};
use crate::task::{ProposedTests, RunPurpose};

#[derive(Debug, Clone)]
pub enum AgentEvent {
    Started {
        title: String,
        max_attempts: u32,
    },
    SandboxReady {
        path: PathBuf,
        took: Duration,
        /// What the copy left out or left pointing outside the crate, one line each: a build
        /// that fails for want of it is then explained.
        notes: Vec<String>,
    },
    AttemptStarted {
        attempt: u32,
        max_attempts: u32,
        tier: Tier,
        model: String,
    },
    Llm(LlmEvent),
    ReplyReceived {
        kind: ReplyKind,
        /// Its tokens, as the server reported them or as kiln estimated them.
        usage: Option<Usage>,
        /// `None` when the reply came whole, so when it began is unknown.
        first_token_ms: Option<u64>,
    },
    /// The candidate could not even be placed in the file (e.g. it does not parse).
    CandidateRejected {
        reason: String,
    },
    SandboxStarted {
        summary: String,
    },
    Sandbox(Progress),
    /// A validation that needs several runs starts its next kind of run (re-runs, mutants).
    ValidationStep {
        what: String,
    },
    /// One sandbox run ended: what it was for, how long it took, and how much of that was the
    /// build (`None`: cargo never said).
    SandboxRun {
        purpose: RunPurpose,
        took: Duration,
        build: Option<Duration>,
    },
    /// A candidate's validation ended: its last run, and where the proposal is the tests
    /// themselves (gen-tests), how many of the tests written it keeps.
    SandboxFinished {
        report: Box<RunReport>,
        proposed_tests: Option<ProposedTests>,
    },
    /// A sandbox run printed this many secrets, replaced with `[redacted]` in everything kiln
    /// shows, stores or sends.
    SecretsRedacted {
        count: usize,
    },
    /// The working tier failed too often; the next attempt goes to a stronger one.
    Escalated {
        from: Tier,
        to: Tier,
        after_failures: u32,
    },
    /// A batched task was split into these parts (titles), run at most `jobs` at a time.
    BatchPlanned {
        parts: Vec<String>,
        jobs: usize,
    },
    /// An event of one part of a batched task; `index` counts from 0 up to `total`.
    Part {
        index: usize,
        total: usize,
        event: Box<AgentEvent>,
    },
    /// Every part is done; the parts' results are being combined into one proposal.
    Combining {
        proposed: usize,
        total: usize,
    },
}

/// How the model answered, counted per tier: the measure of how well a small model uses tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    ToolCallWellFormed,
    ToolCallRepaired(String),
    ToolCallRejected(String),
    /// No tool call, but a fenced Rust block that kiln used as the candidate.
    FencedCode,
    /// Neither a tool call nor code.
    NoCandidate,
    /// The text of a native fill-in-the-middle completion.
    Completion,
}

/// Per-tier counters for `--json` and the end-of-run line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TierStats {
    pub requests: u32,
    /// `prompt_tokens`, `completion_tokens`, and `usage_source`: whether the server reported
    /// them, kiln estimated them, or both (`mixed`).
    #[serde(flatten)]
    pub tokens: TokenTotal,
    pub tool_calls_well_formed: u32,
    pub tool_calls_repaired: u32,
    pub tool_calls_rejected: u32,
    pub no_tool_call: u32,
    /// Each answered request, in order.
    pub per_request: Vec<RequestStats>,
    /// Dollars, when the tier has prices configured; as estimated as `tokens` are.
    pub cost_usd: Option<f64>,
}

/// One answered request: its tokens and who counted them, and how fast it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RequestStats {
    #[serde(flatten)]
    pub usage: Option<Usage>,
    /// Milliseconds to the first piece of the answer; `None` when it came whole.
    pub first_token_ms: Option<u64>,
}

/// Dollars spent, and who counted the tokens they were reckoned from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub usd: f64,
    pub counted: Counted,
}

impl Cost {
    /// `sofar` with `usd` more, reckoned from tokens counted by `source`.
    pub fn add(sofar: Option<Cost>, usd: f64, source: UsageSource) -> Cost {
        let counted = Counted::from(source);
        Cost {
            counted: sofar.map_or(counted, |c| c.counted.and(counted)),
            usd: sofar.map_or(0.0, |c| c.usd) + usd,
        }
    }
}

/// "$0.0123" as the server's counts price it; "~$0.0123 (estimated)" or "~$0.0123 (partly
/// estimated)" when kiln counted some of the tokens itself. The core words its own failure
/// lines (a batch's) with it, as the front ends do.
impl std::fmt::Display for Cost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let usd = self.usd;
        match self.counted {
            Counted::Server => write!(f, "${usd:.4}"),
            Counted::Estimated => write!(f, "~${usd:.4} (estimated)"),
            Counted::Mixed => write!(f, "~${usd:.4} (partly estimated)"),
        }
    }
}

impl TierStats {
    /// Adds another conversation's counters to these.
    pub fn absorb(&mut self, other: TierStats) {
        self.requests += other.requests;
        self.tokens.absorb(other.tokens);
        self.tool_calls_well_formed += other.tool_calls_well_formed;
        self.tool_calls_repaired += other.tool_calls_repaired;
        self.tool_calls_rejected += other.tool_calls_rejected;
        self.no_tool_call += other.no_tool_call;
        self.per_request.extend(other.per_request);
        if let Some(cost) = other.cost_usd {
            *self.cost_usd.get_or_insert(0.0) += cost;
        }
    }

    /// One answered request: its kind, its tokens and first token, and its cost when the tier
    /// has a price. The agent and the TUI's live view both count with this, so their totals
    /// agree. Returns the reply's cost in dollars, `None` without a price or a count of tokens.
    pub fn count_reply(
        &mut self,
        kind: &ReplyKind,
        request: RequestStats,
        price: Option<Price>,
    ) -> Option<f64> {
        self.requests += 1;
        self.per_request.push(request);
        match kind {
            ReplyKind::ToolCallWellFormed => self.tool_calls_well_formed += 1,
            ReplyKind::ToolCallRepaired(_) => self.tool_calls_repaired += 1,
            ReplyKind::ToolCallRejected(_) => self.tool_calls_rejected += 1,
            ReplyKind::FencedCode | ReplyKind::NoCandidate => self.no_tool_call += 1,
            // No tool was offered, so there is no tool use to count.
            ReplyKind::Completion => {}
        }
        let usage = request.usage?;
        self.tokens.add(usage);
        let cost = price?.cost(usage.prompt_tokens, usage.completion_tokens);
        *self.cost_usd.get_or_insert(0.0) += cost;
        Some(cost)
    }
}

/// A validated change to one file, not yet applied.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub file: PathBuf,
    pub original: String,
    pub new_text: String,
    pub summary: String,
    pub report: RunReport,
    /// What the task's validation found beyond pass/fail (gen-tests: per-function filter report).
    pub notes: Option<crate::task::ValidationNotes>,
}

#[derive(Debug)]
pub enum Outcome {
    Proposed(Box<Proposal>),
    /// Every attempt was used and none passed.
    Exhausted {
        last_failure: String,
    },
    /// The model server failed for good (after retries).
    ModelFailed(crate::llm::LlmError),
    /// kiln could not set up or run the sandbox: a local problem, not the model's.
    SandboxFailed(String),
    /// `--max-cost` was reached before a candidate passed.
    BudgetSpent {
        spent: Cost,
        last_failure: String,
    },
}

#[derive(Debug)]
pub struct RunSummary {
    pub outcome: Outcome,
    pub attempts: u32,
    pub stats: BTreeMap<Tier, TierStats>,
}
