//! `--message-format json`: every agent event as one JSON object per line on stdout, as it
//! happens, for editors and CI (cargo's `--message-format json`, `codex exec --json`); then the
//! proposal and, last, the summary `--json` prints, each with a `type`.
//!
//! This module is the wire shape, and the only one: kiln's own types are mapped onto these, not
//! serialized as they are, so renaming a Rust field or variant cannot change what an editor
//! reads. `assets/events.schema.json` describes every line type; `tests/events_json.rs` checks a
//! whole run against it, so a change here that the schema does not follow fails there.
//!
//! Text that a sandbox run printed (compiler messages, test names, failure messages, cargo's
//! units) arrives here already neutralised by the sandbox (control characters and bidi overrides
//! escaped, secrets redacted); text from elsewhere (the model, the user's file names) is
//! neutralised here, so an editor that shows a field raw shows nothing that drives a terminal.
//!
//! Streamed text and tool-argument deltas are left out: they are the model's raw answer, a line
//! every few characters, and the `reply`, `sandbox_finish` and `proposal` lines carry what came
//! of it.

use std::collections::BTreeMap;
use std::io::Write;

use kiln_sandbox::{neutralise_controls, Cause, Progress, RunOutcome, RunReport};
use serde::Serialize;

use super::json::JsonResult;
use crate::agent::{AgentEvent, Proposal, ReplyKind};
use crate::config::{Price, Tier};
use crate::llm::{LlmEvent, Usage, UsageSource};
use crate::task::{ProposedTests, RunPurpose};

/// One line: an event, marked with the part of a batch it belongs to, if any.
#[derive(Debug, Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    event: Event<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<PartOf>,
}

/// Which of a batched task's conversations an event belongs to; `index` counts from 0.
#[derive(Debug, Clone, Copy, Serialize)]
struct PartOf {
    index: usize,
    total: usize,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    Start {
        title: String,
        max_attempts: u32,
    },
    SandboxReady {
        took_ms: u64,
        notes: Vec<String>,
    },
    BatchPlan {
        parts: Vec<String>,
        jobs: usize,
    },
    /// A request goes to the model.
    Attempt {
        attempt: u32,
        max_attempts: u32,
        tier: Tier,
        model: &'a str,
    },
    Retry {
        retry: u32,
        of: u32,
        delay_ms: u64,
        reason: String,
    },
    StreamFallback,
    BadChunkSkipped {
        detail: String,
    },
    FirstToken {
        after_ms: u64,
    },
    Reply {
        answer: Answer,
        tool_call: Option<ToolCallOutcome>,
        /// What was repaired, or why the tool call was rejected.
        detail: Option<String>,
        first_token_ms: Option<u64>,
    },
    /// The tokens of the reply just received, and their cost where the tier has prices.
    Usage {
        tier: Tier,
        prompt_tokens: u64,
        completion_tokens: u64,
        cached_tokens: u64,
        reasoning_tokens: u64,
        usage_source: UsageSource,
        cost_usd: Option<f64>,
    },
    CandidateRejected {
        reason: String,
    },
    SandboxStart {
        summary: String,
    },
    Compiling {
        unit: &'a str,
    },
    TestsStarted {
        total: usize,
    },
    TestFinished {
        name: &'a str,
        passed: bool,
    },
    ValidationStep {
        what: String,
    },
    /// One sandbox run ended: what it was for, its wall time, and how much of it was the build.
    SandboxRun {
        purpose: RunPurpose,
        took_ms: u64,
        build_ms: Option<u64>,
    },
    SandboxFinish(Verdict<'a>),
    SecretsRedacted {
        count: usize,
    },
    Escalation {
        from: Tier,
        to: Tier,
        after_failures: u32,
    },
    Combining {
        proposed: usize,
        total: usize,
    },
    Proposal {
        file: &'a str,
        summary: String,
        headline: Option<String>,
        diff: &'a str,
    },
    Summary(&'a JsonResult),
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    ToolCall,
    /// No tool call, but a fenced Rust block that kiln used as the candidate.
    FencedCode,
    NoCandidate,
    /// The text of a native fill-in-the-middle completion.
    Completion,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum ToolCallOutcome {
    WellFormed,
    Repaired,
    Rejected,
}

/// A validation's last run and what it keeps.
#[derive(Debug, Serialize)]
struct Verdict<'a> {
    outcome: RunOutcome,
    cause: Option<Cause>,
    passed: usize,
    failed: usize,
    ignored: usize,
    duration_ms: u64,
    compiler_errors: Vec<CompilerError<'a>>,
    failures: Vec<TestFailure<'a>>,
    /// Where the proposal is tests: how many the candidate wrote and how many are kept.
    tests_written: Option<usize>,
    tests_kept: Option<usize>,
}

#[derive(Debug, Serialize)]
struct CompilerError<'a> {
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
}

#[derive(Debug, Serialize)]
struct TestFailure<'a> {
    name: &'a str,
    message: &'a str,
}

impl<'a> Verdict<'a> {
    fn of(report: &'a RunReport, tests: Option<ProposedTests>) -> Verdict<'a> {
        Verdict {
            outcome: report.outcome,
            cause: report.cause,
            passed: report.passed,
            failed: report.failed,
            ignored: report.ignored,
            duration_ms: report.duration.as_millis() as u64,
            compiler_errors: report
                .compiler_errors
                .iter()
                .map(|e| CompilerError {
                    message: &e.message,
                    file: e
                        .file
                        .as_ref()
                        .map(|f| neutralise_controls(&f.to_string_lossy())),
                    line: e.line,
                    column: e.column,
                })
                .collect(),
            failures: report
                .failures
                .iter()
                .map(|f| TestFailure {
                    name: &f.name,
                    message: &f.message,
                })
                .collect(),
            tests_written: tests.map(|t| t.written),
            tests_kept: tests.map(|t| t.kept),
        }
    }
}

/// Cargo's progress, as it streams in.
fn progress_event(progress: &Progress) -> Event<'_> {
    match progress {
        Progress::Compiling { unit } => Event::Compiling { unit },
        Progress::TestsStarted { total } => Event::TestsStarted { total: *total },
        Progress::TestFinished { name, passed } => Event::TestFinished {
            name,
            passed: *passed,
        },
    }
}

/// Writes the lines of one run on `out`, a line at a time, flushed, so a reader sees each event
/// when it happens.
pub struct EventLines<W: Write> {
    out: W,
    prices: BTreeMap<Tier, Price>,
    /// The tier each conversation (a batch's part, or the one task: `None`) asks now, for the
    /// `usage` line of its next reply.
    tiers: BTreeMap<Option<usize>, Tier>,
}

impl<W: Write> EventLines<W> {
    /// `prices`: the tiers' prices from the config, for the cost on `usage` lines.
    pub fn new(out: W, prices: BTreeMap<Tier, Price>) -> EventLines<W> {
        EventLines {
            out,
            prices,
            tiers: BTreeMap::new(),
        }
    }

    pub fn event(&mut self, event: &AgentEvent) {
        self.event_of(event, None);
    }

    fn event_of(&mut self, event: &AgentEvent, part: Option<PartOf>) {
        let key = part.map(|p| p.index);
        let line = match event {
            AgentEvent::Started {
                title,
                max_attempts,
            } => Event::Start {
                title: neutralise_controls(title),
                max_attempts: *max_attempts,
            },
            AgentEvent::SandboxReady { took, notes, .. } => Event::SandboxReady {
                took_ms: took.as_millis() as u64,
                notes: notes.iter().map(|n| neutralise_controls(n)).collect(),
            },
            AgentEvent::BatchPlanned { parts, jobs } => Event::BatchPlan {
                parts: parts.iter().map(|p| neutralise_controls(p)).collect(),
                jobs: *jobs,
            },
            AgentEvent::AttemptStarted {
                attempt,
                max_attempts,
                tier,
                model,
            } => {
                self.tiers.insert(key, *tier);
                Event::Attempt {
                    attempt: *attempt,
                    max_attempts: *max_attempts,
                    tier: *tier,
                    model,
                }
            }
            AgentEvent::Llm(event) => match llm_event(event) {
                Some(line) => line,
                None => return,
            },
            AgentEvent::ReplyReceived {
                kind,
                usage,
                first_token_ms,
            } => match self.reply_then_usage(kind, usage.as_ref(), *first_token_ms, part) {
                Some(line) => line,
                None => return,
            },
            AgentEvent::CandidateRejected { reason } => Event::CandidateRejected {
                reason: neutralise_controls(reason),
            },
            AgentEvent::SandboxStarted { summary } => Event::SandboxStart {
                summary: neutralise_controls(summary),
            },
            AgentEvent::Sandbox(progress) => progress_event(progress),
            AgentEvent::ValidationStep { what } => Event::ValidationStep {
                what: neutralise_controls(what),
            },
            AgentEvent::SandboxRun {
                purpose,
                took,
                build,
            } => Event::SandboxRun {
                purpose: *purpose,
                took_ms: took.as_millis() as u64,
                build_ms: build.map(|b| b.as_millis() as u64),
            },
            AgentEvent::SandboxFinished {
                report,
                proposed_tests,
            } => Event::SandboxFinish(Verdict::of(report, *proposed_tests)),
            AgentEvent::SecretsRedacted { count } => Event::SecretsRedacted { count: *count },
            AgentEvent::Escalated {
                from,
                to,
                after_failures,
            } => Event::Escalation {
                from: *from,
                to: *to,
                after_failures: *after_failures,
            },
            AgentEvent::Part {
                index,
                total,
                event,
            } => {
                let part = PartOf {
                    index: *index,
                    total: *total,
                };
                return self.event_of(event, Some(part));
            }
            AgentEvent::Combining { proposed, total } => Event::Combining {
                proposed: *proposed,
                total: *total,
            },
        };
        self.write(Line { event: line, part });
    }

    /// Writes the `reply` line; returns the `usage` line that follows it, when the reply's
    /// tokens are known and so is the tier that answered.
    fn reply_then_usage(
        &mut self,
        kind: &ReplyKind,
        usage: Option<&Usage>,
        first_token_ms: Option<u64>,
        part: Option<PartOf>,
    ) -> Option<Event<'static>> {
        let (answer, tool_call, detail) = reply(kind);
        self.write(Line {
            event: Event::Reply {
                answer,
                tool_call,
                detail: detail.map(neutralise_controls),
                first_token_ms,
            },
            part,
        });
        let usage = usage?;
        let tier = self.tiers.get(&part.map(|p| p.index)).copied()?;
        Some(Event::Usage {
            tier,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cached_tokens: usage.cached_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            usage_source: usage.source,
            cost_usd: self
                .prices
                .get(&tier)
                .map(|p| p.cost(usage.prompt_tokens, usage.completion_tokens)),
        })
    }

    /// The validated proposal for `file` (as the user names it), with its unified `diff`.
    pub fn proposal(&mut self, file: &str, proposal: &Proposal, diff: &str) {
        let headline = proposal.notes.as_ref().and_then(|n| n.headline.as_deref());
        self.write(Line {
            event: Event::Proposal {
                file,
                summary: neutralise_controls(&proposal.summary),
                headline: headline.map(neutralise_controls),
                diff,
            },
            part: None,
        });
    }

    /// The last line: what `--json` prints, with `"type": "summary"`.
    pub fn summary(&mut self, result: &JsonResult) {
        self.write(Line {
            event: Event::Summary(result),
            part: None,
        });
    }

    fn write(&mut self, line: Line<'_>) {
        // A reader that went away ends kiln by SIGPIPE (see main.rs); any other failure to
        // write leaves the run itself unharmed, as a lost progress line on stderr does.
        if serde_json::to_writer(&mut self.out, &line).is_ok() {
            let _ = self.out.write_all(b"\n");
            let _ = self.out.flush();
        }
    }
}

fn llm_event(event: &LlmEvent) -> Option<Event<'static>> {
    Some(match event {
        LlmEvent::FirstToken { after } => Event::FirstToken {
            after_ms: after.as_millis() as u64,
        },
        LlmEvent::Retrying {
            retry,
            of,
            delay,
            reason,
        } => Event::Retry {
            retry: *retry,
            of: *of,
            delay_ms: delay.as_millis() as u64,
            reason: neutralise_controls(reason),
        },
        LlmEvent::StreamFallback => Event::StreamFallback,
        LlmEvent::BadChunkSkipped(detail) => Event::BadChunkSkipped {
            detail: neutralise_controls(detail),
        },
        LlmEvent::TextDelta(_) | LlmEvent::ToolArgumentsDelta(_) => return None,
    })
}

fn reply(kind: &ReplyKind) -> (Answer, Option<ToolCallOutcome>, Option<&str>) {
    match kind {
        ReplyKind::ToolCallWellFormed => {
            (Answer::ToolCall, Some(ToolCallOutcome::WellFormed), None)
        }
        ReplyKind::ToolCallRepaired(what) => (
            Answer::ToolCall,
            Some(ToolCallOutcome::Repaired),
            Some(what.as_str()),
        ),
        ReplyKind::ToolCallRejected(why) => (
            Answer::ToolCall,
            Some(ToolCallOutcome::Rejected),
            Some(why.as_str()),
        ),
        ReplyKind::FencedCode => (Answer::FencedCode, None, None),
        ReplyKind::NoCandidate => (Answer::NoCandidate, None, None),
        ReplyKind::Completion => (Answer::Completion, None, None),
    }
}
