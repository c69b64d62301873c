//! Everything the agent does, as data. Front ends render these; they never reach into the loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kiln_sandbox::{Progress, RunReport};
use serde::Serialize;

use crate::config::{Price, Tier};
use crate::llm::{LlmEvent, Usage};

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
        usage: Option<Usage>,
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
    SandboxFinished(Box<RunReport>),
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
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub tool_calls_well_formed: u32,
    pub tool_calls_repaired: u32,
    pub tool_calls_rejected: u32,
    pub no_tool_call: u32,
    /// Milliseconds to the first byte of each reply, in order.
    pub first_token_ms: Vec<u64>,
    /// Dollars, when the tier has prices configured.
    pub cost_usd: Option<f64>,
}

impl TierStats {
    /// Adds another conversation's counters to these.
    pub fn absorb(&mut self, other: TierStats) {
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.tool_calls_well_formed += other.tool_calls_well_formed;
        self.tool_calls_repaired += other.tool_calls_repaired;
        self.tool_calls_rejected += other.tool_calls_rejected;
        self.no_tool_call += other.no_tool_call;
        self.first_token_ms.extend(other.first_token_ms);
        if let Some(cost) = other.cost_usd {
            *self.cost_usd.get_or_insert(0.0) += cost;
        }
    }

    /// One answered request: its kind, its tokens, and its cost when the tier has a price. The
    /// agent and the TUI's live view both count with this, so their totals agree. Returns the
    /// reply's cost in dollars (0 without a price).
    pub fn count_reply(
        &mut self,
        kind: &ReplyKind,
        usage: Option<Usage>,
        price: Option<Price>,
    ) -> f64 {
        self.requests += 1;
        match kind {
            ReplyKind::ToolCallWellFormed => self.tool_calls_well_formed += 1,
            ReplyKind::ToolCallRepaired(_) => self.tool_calls_repaired += 1,
            ReplyKind::ToolCallRejected(_) => self.tool_calls_rejected += 1,
            ReplyKind::FencedCode | ReplyKind::NoCandidate => self.no_tool_call += 1,
            // No tool was offered, so there is no tool use to count.
            ReplyKind::Completion => {}
        }
        let Some(usage) = usage else {
            return 0.0;
        };
        self.prompt_tokens += usage.prompt_tokens;
        self.completion_tokens += usage.completion_tokens;
        let Some(price) = price else {
            return 0.0;
        };
        let cost = price.cost(usage.prompt_tokens, usage.completion_tokens);
        *self.cost_usd.get_or_insert(0.0) += cost;
        cost
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
        spent_usd: f64,
        last_failure: String,
    },
}

#[derive(Debug)]
pub struct RunSummary {
    pub outcome: Outcome,
    pub attempts: u32,
    pub stats: BTreeMap<Tier, TierStats>,
}
