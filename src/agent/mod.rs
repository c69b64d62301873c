//! The execute-and-repair loop: ask the model for a candidate, run it in the sandbox, feed the
//! failure back, and repeat until it is green or the attempt budget is spent.
//!
//! One attempt is one model request. Every step is reported as an [`AgentEvent`]; the loop never
//! prints and never asks the user anything.

mod batch;
mod event;
mod failure;
mod sandbox;

use kiln_sandbox::SandboxConfig;
use std::collections::BTreeMap;
use tokio::sync::mpsc::UnboundedSender;

pub use batch::{perform_batch, Work};
pub use event::{AgentEvent, Outcome, Proposal, ReplyKind, RunSummary, TierStats};
use failure::LastFailure;

use crate::code;
use crate::config::{Config, FimMode, Tier};
use crate::llm::tools::{self, ArgsQuality, RUN_CODE};
use crate::llm::{messages, ChatRequest, CompletionRequest, LlmClient, LlmEvent, Message, Reply};
use crate::prompt;
use crate::task::{first_line, FimPrompt, Round, Task, Verdict};
use sandbox::SharedSandbox;

#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub max_attempts: u32,
    /// The tier the first attempt uses.
    pub tier: Tier,
    pub escalation: Escalation,
    /// Stop before the next request once this many dollars are spent (needs prices in config).
    pub max_cost_usd: Option<f64>,
    pub sandbox: SandboxConfig,
    pub build_cache: BuildCache,
    /// How tasks that fill a hole are asked (chat for everything else).
    pub fim: FimMode,
}

/// One request to the model: a chat turn with tools, or a native fill-in-the-middle completion.
enum Question<'a> {
    Chat {
        conversation: &'a [Message],
        tools: &'a [async_openai::types::chat::ChatCompletionTools],
    },
    Fill(&'a FimPrompt),
}

impl AgentSettings {
    /// What a front end runs with: the config's budget and sandbox limits, starting on `tier`
    /// when the user pinned one (no escalation), else on mini with escalation to full.
    pub fn from_config(config: &Config, pinned: Option<Tier>) -> AgentSettings {
        AgentSettings {
            max_attempts: config.max_attempts,
            tier: pinned.unwrap_or(Tier::Mini),
            escalation: match pinned {
                Some(_) => Escalation::Pinned,
                None => Escalation::After {
                    failures: config.escalate_after,
                    to: Tier::Full,
                },
            },
            max_cost_usd: None,
            sandbox: SandboxConfig {
                timeout: config.sandbox_timeout,
                ..SandboxConfig::default()
            },
            build_cache: BuildCache::PerCrate,
            fim: config.fim,
        }
    }
}

/// Where the sandbox's cargo builds go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildCache {
    /// A persistent target dir per crate under the user cache dir (`KILN_CACHE_DIR`), so
    /// dependencies build once ever and each repair round rebuilds only the crate.
    PerCrate,
    /// `SandboxConfig::target_dir` as given (`None`: inside the sandbox, gone with it).
    AsConfigured,
}

/// When to hand the task to a stronger model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Stay on the starting tier (`--tier` given).
    Pinned,
    /// After this many failed attempts on the current tier, continue on `to`.
    After { failures: u32, to: Tier },
}

/// Performs one task: a sandbox copy of its crate, and one conversation in it.
pub async fn perform_task(
    task: &dyn Task,
    llm: &LlmClient,
    settings: &AgentSettings,
    events: &UnboundedSender<AgentEvent>,
) -> RunSummary {
    let _ = events.send(AgentEvent::Started {
        title: task.title(),
        max_attempts: settings.max_attempts,
    });
    let sandbox =
        match SharedSandbox::create(&task.location().workspace_root, settings, events).await {
            Ok(sandbox) => sandbox,
            Err(message) => {
                return RunSummary {
                    outcome: Outcome::SandboxFailed(message),
                    attempts: 0,
                    stats: BTreeMap::new(),
                }
            }
        };
    converse(task, llm, settings, &sandbox, &Spend::default(), events).await
}

/// Dollars spent by every conversation of a run, so `--max-cost` bounds the whole run.
#[derive(Debug, Default)]
pub(crate) struct Spend(std::sync::Mutex<f64>);

impl Spend {
    fn add(&self, usd: f64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += usd;
    }

    fn total(&self) -> f64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One conversation about `task` in an existing sandbox.
async fn converse(
    task: &dyn Task,
    llm: &LlmClient,
    settings: &AgentSettings,
    sandbox: &SharedSandbox,
    spend: &Spend,
    events: &UnboundedSender<AgentEvent>,
) -> RunSummary {
    let mut conversation = Conversation {
        events,
        spend,
        stats: BTreeMap::new(),
        attempts: 0,
    };
    let mut best = None;
    let outcome = conversation
        .repair_loop(task, llm, settings, sandbox, &mut best)
        .await;
    let outcome = match (outcome, best) {
        // A proposable result from an earlier round beats giving up.
        (
            Outcome::Exhausted { .. } | Outcome::BudgetSpent { .. } | Outcome::ModelFailed(_),
            Some(best),
        ) => Outcome::Proposed(Box::new(best)),
        (outcome, _) => outcome,
    };
    RunSummary {
        outcome,
        attempts: conversation.attempts,
        stats: conversation.stats,
    }
}

/// One conversation with the model about a task: its events, the run's shared spend, and what it
/// has cost and tried so far.
struct Conversation<'a> {
    events: &'a UnboundedSender<AgentEvent>,
    spend: &'a Spend,
    stats: BTreeMap<Tier, TierStats>,
    attempts: u32,
}

impl Conversation<'_> {
    fn emit(&self, event: AgentEvent) {
        // A front end that stopped listening must not stop the work.
        let _ = self.events.send(event);
    }

    async fn repair_loop(
        &mut self,
        task: &dyn Task,
        llm: &LlmClient,
        settings: &AgentSettings,
        sandbox: &SharedSandbox,
        best: &mut Option<Proposal>,
    ) -> Outcome {
        let tools = vec![tools::run_code_tool(task.tool_description())];
        let mut conversation = task.messages();
        let mut last_failure = LastFailure::default();
        let mut history: Vec<String> = Vec::new();
        let mut tier = settings.tier;
        let mut failures_on_tier = 0;
        // What the last candidate was told; a completion has no conversation to carry it.
        let mut feedback: Option<String> = None;
        for attempt in 1..=settings.max_attempts {
            self.attempts = attempt;
            if let Escalation::After { failures, to } = settings.escalation {
                if tier != to && failures > 0 && failures_on_tier >= failures {
                    self.emit(AgentEvent::Escalated {
                        from: tier,
                        to,
                        after_failures: failures_on_tier,
                    });
                    tier = to;
                    failures_on_tier = 0;
                    conversation = escalated_conversation(task, &history, &last_failure.text());
                }
            }
            if let Some(limit) = settings.max_cost_usd {
                let spent = self.spend.total();
                if spent >= limit {
                    return Outcome::BudgetSpent {
                        spent_usd: spent,
                        last_failure: last_failure.text(),
                    };
                }
            }
            failures_on_tier += 1;
            self.emit(AgentEvent::AttemptStarted {
                attempt,
                max_attempts: settings.max_attempts,
                tier,
                model: llm.model(tier).to_string(),
            });
            let fill = match settings.fim {
                FimMode::Completions => task.fim_prompt(feedback.as_deref()),
                FimMode::Chat => None,
            };
            let question = match &fill {
                Some(fill) => Question::Fill(fill),
                None => Question::Chat {
                    conversation: &conversation,
                    tools: &tools,
                },
            };
            let reply = match self.ask(llm, tier, question).await {
                Ok(reply) => reply,
                Err(e) => return Outcome::ModelFailed(e),
            };
            conversation.push(messages::assistant(&reply));
            let (kind, candidate) = match fill {
                Some(_) => read_completion(&reply),
                None => read_candidate(&reply),
            };
            let stats = self.stats.entry(tier).or_default();
            let cost = stats.count_reply(&kind, reply.usage, llm.price(tier));
            self.spend.add(cost);
            self.emit(AgentEvent::ReplyReceived {
                kind: kind.clone(),
                usage: reply.usage,
            });

            let candidate = match candidate {
                Ok(code) => code,
                Err(text) => {
                    respond(&mut conversation, &reply, &text);
                    feedback = Some(text);
                    last_failure.reply_unusable(&kind);
                    history.push(format!(
                        "attempt {attempt} ({tier}): {}",
                        first_line(&last_failure.text())
                    ));
                    continue;
                }
            };
            let placement = match task.place(&candidate) {
                Ok(placement) => placement,
                Err(reason) => {
                    self.emit(AgentEvent::CandidateRejected {
                        reason: reason.clone(),
                    });
                    respond(&mut conversation, &reply, &reason);
                    history.push(format!(
                        "attempt {attempt} ({tier}): {}",
                        first_line(&reason)
                    ));
                    feedback = Some(reason.clone());
                    last_failure.candidate_failed(reason);
                    continue;
                }
            };
            self.emit(AgentEvent::SandboxStarted {
                summary: placement.summary.clone(),
            });
            let runs = sandbox.lend(&task.location().relative_path, self.events);
            let validated = match task
                .validate(placement, Round { attempt, tier }, &runs)
                .await
            {
                Ok(validated) => validated,
                Err(e) => return Outcome::SandboxFailed(e),
            };
            self.emit(AgentEvent::SandboxFinished(Box::new(
                validated.report.clone(),
            )));
            let proposal = Proposal {
                file: task.location().file.clone(),
                original: task.original().to_string(),
                new_text: validated.placement.new_text,
                summary: validated.placement.summary,
                report: validated.report,
                notes: validated.notes,
            };
            let (report, text) = match validated.verdict {
                Verdict::Green => return Outcome::Proposed(Box::new(proposal)),
                Verdict::Red(report) => {
                    let text = prompt::render(prompt::FEEDBACK, &[("report", &report)])
                        .unwrap_or_else(|_| report.clone());
                    (report, text)
                }
                // The task's own words: the candidate did pass, in part.
                Verdict::Improvable(report) => {
                    if attempt == settings.max_attempts {
                        return Outcome::Proposed(Box::new(proposal));
                    }
                    *best = Some(proposal);
                    (report.clone(), report)
                }
            };
            respond(&mut conversation, &reply, &text);
            history.push(format!(
                "attempt {attempt} ({tier}): {}",
                first_line(&report)
            ));
            feedback = Some(report.clone());
            last_failure.candidate_failed(report);
        }
        Outcome::Exhausted {
            last_failure: last_failure.text(),
        }
    }

    async fn ask(
        &mut self,
        llm: &LlmClient,
        tier: Tier,
        question: Question<'_>,
    ) -> Result<Reply, crate::llm::LlmError> {
        let events = self.events;
        // Retried requests report a first token too; the reply's own is the last one.
        let mut first_token = None;
        let mut on_event = |event: LlmEvent| {
            if let LlmEvent::FirstToken { after } = &event {
                first_token = Some(after.as_millis() as u64);
            }
            let _ = events.send(AgentEvent::Llm(event));
        };
        let result = match question {
            Question::Chat {
                conversation,
                tools,
            } => {
                let request = ChatRequest {
                    tier,
                    messages: conversation,
                    tools,
                    force_tool: Some(RUN_CODE),
                };
                llm.chat(&request, &mut on_event).await
            }
            Question::Fill(fill) => {
                let request = CompletionRequest {
                    tier,
                    prompt: &fill.prompt,
                    suffix: &fill.suffix,
                };
                llm.complete(&request, &mut on_event).await
            }
        };
        if result.is_ok() {
            self.stats
                .entry(tier)
                .or_default()
                .first_token_ms
                .extend(first_token);
        }
        result
    }
}

/// A fresh start for a stronger tier: the task, a one-line summary per failed attempt, and the
/// last failure in full. The weaker model's whole transcript would cost more and mislead.
fn escalated_conversation(task: &dyn Task, history: &[String], last_failure: &str) -> Vec<Message> {
    let mut conversation = task.messages();
    let text = prompt::render(
        prompt::ESCALATION,
        &[
            ("history", &history.join("\n")),
            ("last_failure", last_failure),
        ],
    )
    .unwrap_or_else(|_| last_failure.to_string());
    conversation.push(messages::user(text));
    conversation
}

/// The candidate in a reply, or the message that tells the model what to do instead.
fn read_candidate(reply: &Reply) -> (ReplyKind, Result<String, String>) {
    if let Some(call) = reply.tool_calls.iter().find(|c| c.name.trim() == RUN_CODE) {
        return match tools::parse_run_code_args(&call.arguments) {
            Ok(args) => {
                let kind = match args.quality {
                    ArgsQuality::WellFormed => ReplyKind::ToolCallWellFormed,
                    ArgsQuality::Repaired(what) => ReplyKind::ToolCallRepaired(what.to_string()),
                };
                (kind, Ok(args.code))
            }
            Err(message) => (
                ReplyKind::ToolCallRejected(
                    "arguments unusable: not JSON, or `code` missing or empty".to_string(),
                ),
                Err(message),
            ),
        };
    }
    if let Some(call) = reply.tool_calls.first() {
        return (
            ReplyKind::ToolCallRejected(format!("unknown tool `{}`", call.name)),
            Err(format!(
                "There is no tool named `{}`. The only tool is `{RUN_CODE}`, with arguments matching {}",
                call.name,
                tools::run_code_schema()
            )),
        );
    }
    match code::extract_rust_code_block(&reply.content) {
        Some(code) => (ReplyKind::FencedCode, Ok(code)),
        None => (
            ReplyKind::NoCandidate,
            Err(prompt::render(prompt::NO_TOOL_CALL, &[]).unwrap_or_default()),
        ),
    }
}

/// A native completion's text is the candidate as it stands.
fn read_completion(reply: &Reply) -> (ReplyKind, Result<String, String>) {
    if reply.content.trim().is_empty() {
        return (
            ReplyKind::NoCandidate,
            Err("The completion was empty.".to_string()),
        );
    }
    (ReplyKind::Completion, Ok(reply.content.clone()))
}

/// Answers the model's last reply: each tool call gets its tool message (the API requires one per
/// call id), a prose reply gets a user message.
fn respond(conversation: &mut Vec<Message>, reply: &Reply, text: &str) {
    if reply.tool_calls.is_empty() {
        conversation.push(messages::user(text));
        return;
    }
    for (i, call) in reply.tool_calls.iter().enumerate() {
        let body = if i == 0 {
            text
        } else {
            "Ignored: kiln runs one `run_code` call per turn."
        };
        conversation.push(messages::tool_result(&call.id, body));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    fn call(name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: "call_1".to_string(),
            name: name.to_string(),
            arguments: arguments.to_string(),
        }
    }

    /// Front ends spawn the loop on a runtime (the TUI runs several at once), so its future must be
    /// `Send`; this fails to compile if it stops being so.
    #[allow(dead_code)]
    fn a_task_is_spawnable(
        task: &'static dyn Task,
        llm: &'static LlmClient,
        settings: &'static AgentSettings,
        events: &'static UnboundedSender<AgentEvent>,
    ) -> tokio::task::JoinHandle<RunSummary> {
        tokio::spawn(perform_task(task, llm, settings, events))
    }

    /// The same for a batch, whose parts share one sandbox and wait for each other.
    #[allow(dead_code)]
    fn batch_is_spawnable(
        work: &'static Work,
        llm: &'static LlmClient,
        settings: &'static AgentSettings,
        events: &'static UnboundedSender<AgentEvent>,
    ) -> tokio::task::JoinHandle<RunSummary> {
        tokio::spawn(work.perform(llm, settings, events))
    }

    #[test]
    fn candidates_come_from_tool_calls_then_fenced_code() {
        let tool = Reply {
            tool_calls: vec![call("run_code", r#"{"code":"fn a() {}"}"#)],
            ..Reply::default()
        };
        assert_eq!(
            read_candidate(&tool),
            (ReplyKind::ToolCallWellFormed, Ok("fn a() {}".to_string()))
        );
        let prose = Reply {
            content: "Here:\n```rust\n#[test]\nfn t() {}\n```\n".to_string(),
            ..Reply::default()
        };
        assert_eq!(read_candidate(&prose).0, ReplyKind::FencedCode);
        let nothing = Reply {
            content: "I cannot help with that.".to_string(),
            ..Reply::default()
        };
        let (kind, result) = read_candidate(&nothing);
        assert_eq!(kind, ReplyKind::NoCandidate);
        assert!(result.unwrap_err().contains("run_code"));
    }

    #[test]
    fn unknown_tools_are_rejected_with_the_valid_one_named() {
        let reply = Reply {
            tool_calls: vec![call("execute", "{}")],
            ..Reply::default()
        };
        let (kind, result) = read_candidate(&reply);
        assert!(matches!(kind, ReplyKind::ToolCallRejected(_)));
        assert!(result.unwrap_err().contains("The only tool is `run_code`"));
    }

    #[test]
    fn every_tool_call_gets_an_answer() {
        let reply = Reply {
            tool_calls: vec![call("run_code", "{}"), call("run_code", "{}")],
            ..Reply::default()
        };
        let mut conversation = Vec::new();
        respond(&mut conversation, &reply, "fix it");
        assert_eq!(conversation.len(), 2);
        let json = serde_json::to_value(&conversation).unwrap();
        assert_eq!(json[0]["role"], "tool");
        assert_eq!(json[0]["content"], "fix it");
    }
}
