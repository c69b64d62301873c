//! The view model of a task: what the TUI knows about each one, built only from the agent's
//! events and final summary, and drawn by `components::task_panel`.

use std::collections::BTreeMap;

use kiln_sandbox::Progress;

use crate::agent::{
    cost_per_result, AgentEvent, Outcome, Produced, Proposal, ReplyKind, RequestStats, RunSummary,
    TierStats,
};
use crate::config::{Price, Tier};
use crate::frontend::wording::{
    self, describe_attempt, describe_batch_plan, describe_combining, describe_copy_note,
    describe_escalation, describe_outcome, describe_redactions, describe_rejection, describe_reply,
    describe_report, first_line, part_prefix, Form,
};
use crate::llm::{LlmEvent, TokenTotal, Usage};

/// Enough of the live model output to follow what it is writing, bounded however long it talks.
const STREAM_TAIL_BYTES: usize = 4_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a place in the pool.
    Queued,
    Running,
    /// Green, with a diff to review.
    Proposed,
    Applied,
    Failed(String),
    Cancelled,
}

#[derive(Debug)]
pub struct TaskView {
    pub id: TaskId,
    pub title: String,
    pub state: TaskState,
    pub tier: Option<Tier>,
    pub attempt: u32,
    pub max_attempts: u32,
    /// One line per step: attempts, replies, each run_code call and the sandbox's verdict.
    pub log: Vec<String>,
    /// The tail of the current attempt's streamed model output.
    pub streamed: String,
    /// What the sandbox is doing right now ("compiling demo", "testing 2/5").
    pub activity: String,
    pub tokens: TokenTotal,
    /// Requests, tokens and cost per tier: counted live from the events, then replaced by the
    /// agent's own totals when the run ends.
    pub stats: BTreeMap<Tier, TierStats>,
    pub proposal: Option<Box<Proposal>>,
    /// How many of the proposal's hunks the user accepted and kiln wrote.
    pub applied_hunks: usize,
    /// A batch's parts by index: the attempt each is on. Their sum is the task's attempt.
    part_attempts: BTreeMap<usize, u32>,
    /// The part whose model output `streamed` shows: the one whose attempt started last. Parts
    /// run concurrently, and interleaving their streams would show nothing readable.
    streaming_part: Option<usize>,
}

impl TaskView {
    pub fn new(id: TaskId, title: String) -> TaskView {
        TaskView {
            id,
            title,
            state: TaskState::Queued,
            tier: None,
            attempt: 0,
            max_attempts: 0,
            log: Vec::new(),
            streamed: String::new(),
            activity: String::new(),
            tokens: TokenTotal::default(),
            stats: BTreeMap::new(),
            proposal: None,
            applied_hunks: 0,
            part_attempts: BTreeMap::new(),
            streaming_part: None,
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self.state, TaskState::Queued | TaskState::Running)
    }

    /// The CLI's end-of-run line for this task so far (cost only when its tiers have prices),
    /// and once it has ended what that cost per result; `None` before the model has answered.
    pub fn usage_line(&self) -> Option<String> {
        if self.stats.is_empty() {
            return None;
        }
        let usage = wording::usage_line(self.attempt, &self.stats);
        if self.is_active() || self.state == TaskState::Cancelled {
            return Some(usage);
        }
        let produced = Produced::of(self.proposal.as_deref(), self.applied_hunks);
        let per_result = wording::describe_cost_per_result(&cost_per_result(&self.stats, produced));
        Some(format!("{usage} · {per_result}"))
    }

    /// Updates the view; returns the tokens a reply used, for the session total.
    pub fn on_event(
        &mut self,
        event: &AgentEvent,
        prices: &BTreeMap<Tier, Price>,
    ) -> Option<Usage> {
        if !self.is_active() {
            // A cancelled task may still have events in flight; they describe nothing real.
            return None;
        }
        match event {
            AgentEvent::Started { max_attempts, .. } => {
                self.state = TaskState::Running;
                self.max_attempts = *max_attempts;
            }
            AgentEvent::SandboxReady { notes, .. } => self
                .log
                .extend(notes.iter().map(|note| describe_copy_note(note))),
            AgentEvent::AttemptStarted {
                attempt,
                max_attempts,
                tier,
                model,
            } => {
                self.attempt = *attempt;
                self.max_attempts = *max_attempts;
                self.tier = Some(*tier);
                self.streamed.clear();
                self.activity.clear();
                self.log
                    .push(describe_attempt(*attempt, *max_attempts, *tier, model));
            }
            AgentEvent::Llm(LlmEvent::TextDelta(text) | LlmEvent::ToolArgumentsDelta(text)) => {
                self.streamed.push_str(text);
                keep_tail(&mut self.streamed, STREAM_TAIL_BYTES);
            }
            AgentEvent::Llm(LlmEvent::Retrying { reason, .. }) => {
                self.log.push(format!("  retrying: {}", first_line(reason)))
            }
            AgentEvent::Llm(_) => {}
            AgentEvent::ReplyReceived {
                kind,
                usage,
                first_token_ms,
            } => {
                let request = RequestStats {
                    usage: *usage,
                    first_token_ms: *first_token_ms,
                };
                return self.on_reply(kind, request, prices);
            }
            AgentEvent::CandidateRejected { reason } => self.log.push(describe_rejection(reason)),
            AgentEvent::SandboxStarted { summary } => {
                self.log.push(format!("  run_code: {summary}"));
                self.activity = "compiling…".to_string();
            }
            AgentEvent::Sandbox(Progress::Compiling { unit }) => {
                self.activity = format!("compiling {unit}…")
            }
            AgentEvent::Sandbox(Progress::TestsStarted { total }) => {
                self.activity = format!("running {total} test(s)…")
            }
            AgentEvent::Sandbox(Progress::TestFinished { .. }) => {}
            AgentEvent::SandboxFinished {
                report,
                proposed_tests,
            } => {
                self.activity.clear();
                self.log.push(describe_report(report, *proposed_tests));
            }
            AgentEvent::Escalated {
                from,
                to,
                after_failures,
            } => self
                .log
                .push(describe_escalation(*from, *to, *after_failures)),
            AgentEvent::BatchPlanned { parts, jobs } => self.on_batch_planned(parts, *jobs),
            AgentEvent::Part {
                index,
                total,
                event,
            } => return self.on_part_event(*index, *total, event, prices),
            AgentEvent::Combining { proposed, total } => {
                self.streamed.clear();
                self.activity = "compiling…".to_string();
                self.log.push(describe_combining(*proposed, *total));
            }
            AgentEvent::ValidationStep { what } => self.log.push(format!("  {what}")),
            // The per-run durations are for the one-shot summary and `--json`; the task log
            // already shows each step as it starts.
            AgentEvent::SandboxRun { .. } => {}
            AgentEvent::SecretsRedacted { count } => self.log.push(describe_redactions(*count)),
        }
        None
    }

    /// A reply: logged, and counted per tier with its price.
    fn on_reply(
        &mut self,
        kind: &ReplyKind,
        request: RequestStats,
        prices: &BTreeMap<Tier, Price>,
    ) -> Option<Usage> {
        self.log.push(describe_reply(kind));
        // AttemptStarted, which sets the tier, always comes before a reply.
        if let Some(tier) = self.tier {
            let price = prices.get(&tier).copied();
            self.stats
                .entry(tier)
                .or_default()
                .count_reply(kind, request, price);
        }
        if let Some(usage) = request.usage {
            self.tokens.add(usage);
        }
        request.usage
    }

    /// A batch's plan: every part named in the log, the attempt budget theirs together.
    fn on_batch_planned(&mut self, parts: &[String], jobs: usize) {
        // Every part gets the same attempt budget; the task's is their sum.
        self.max_attempts = self.max_attempts.saturating_mul(parts.len() as u32);
        self.log.push(describe_batch_plan(parts.len(), jobs));
        let total = parts.len();
        self.log.extend(
            parts
                .iter()
                .enumerate()
                .map(|(index, title)| format!("{}{title}", part_prefix(index, total))),
        );
    }

    /// A batch part's event: shown like a task's own, each line marked "[2/4] " with its part.
    fn on_part_event(
        &mut self,
        index: usize,
        total: usize,
        event: &AgentEvent,
        prices: &BTreeMap<Tier, Price>,
    ) -> Option<Usage> {
        match event {
            // The plan already named every part.
            AgentEvent::Started { .. } => return None,
            AgentEvent::Llm(LlmEvent::TextDelta(_) | LlmEvent::ToolArgumentsDelta(_))
                if self.streaming_part != Some(index) =>
            {
                return None
            }
            _ => {}
        }
        let (logged, activity, max_attempts) =
            (self.log.len(), self.activity.clone(), self.max_attempts);
        let usage = self.on_event(event, prices);
        // The task's budget is the batch's, not this part's.
        self.max_attempts = max_attempts;
        if let AgentEvent::AttemptStarted { attempt, .. } = event {
            self.streaming_part = Some(index);
            self.part_attempts.insert(index, *attempt);
            self.attempt = self.part_attempts.values().sum();
        }
        let prefix = part_prefix(index, total);
        for line in &mut self.log[logged..] {
            line.insert_str(0, &prefix);
        }
        if self.activity != activity && !self.activity.is_empty() {
            self.activity.insert_str(0, &prefix);
        }
        usage
    }

    pub fn on_finished(&mut self, summary: RunSummary) {
        if !self.is_active() {
            return;
        }
        self.attempt = summary.attempts;
        self.stats = summary.stats;
        self.activity.clear();
        let words = describe_outcome(&summary.outcome, summary.attempts, "result", Form::Brief);
        self.state = match summary.outcome {
            Outcome::Proposed(proposal) => {
                self.log.push(format!("✓ {words}"));
                self.proposal = Some(proposal);
                TaskState::Proposed
            }
            _ => TaskState::Failed(words),
        };
        if let TaskState::Failed(message) = &self.state {
            self.log.push(format!("✗ {message}"));
        }
    }
}

fn keep_tail(text: &mut String, max_bytes: usize) {
    if text.len() > max_bytes {
        let mut cut = text.len() - max_bytes;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.drain(..cut);
    }
}
