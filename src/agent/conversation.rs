//! One conversation about a task: the execute-and-repair loop, written as its steps. Each
//! attempt asks the model, reads the candidate from the reply, validates it in the sandbox and
//! turns the verdict into feedback; too many failures on one tier escalate to a stronger one.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedSender;

use super::failure::LastFailure;
use super::sandbox::SharedSandbox;
use super::{
    AgentEvent, AgentSettings, Escalation, Outcome, Proposal, ReplyKind, RequestStats, RunSummary,
    Spend, TierStats,
};
use crate::code;
use crate::config::{FimMode, Tier};
use crate::llm::tools::{self, ArgsQuality, RUN_CODE};
use crate::llm::{
    messages, ChatRequest, CompletionRequest, LlmClient, LlmEvent, Message, Previous, Reply,
};
use crate::prompt;
use crate::task::{
    first_line, FimPrompt, Merit, Placement, Recheck, Round, Task, Validated, Verdict,
};

/// One request to the model: a chat turn with tools, or a native fill-in-the-middle completion.
enum Question<'a> {
    Chat {
        conversation: &'a [Message],
        tools: &'a [async_openai::types::chat::ChatCompletionTools],
        previous: Option<Previous<'a>>,
    },
    Fill(&'a FimPrompt),
}

/// One conversation about `task` in an existing sandbox.
pub(super) async fn converse(
    task: &dyn Task,
    llm: &LlmClient,
    settings: &AgentSettings,
    sandbox: &SharedSandbox,
    spend: &Spend,
    events: &UnboundedSender<AgentEvent>,
) -> RunSummary {
    let mut conversation = Conversation {
        task,
        llm,
        settings,
        sandbox,
        events,
        spend,
        stats: BTreeMap::new(),
        attempts: 0,
        best: None,
    };
    let outcome = conversation.repair_loop().await;
    let outcome = match (outcome, conversation.best) {
        // A proposable result from an earlier round beats giving up.
        (
            Outcome::Exhausted { .. } | Outcome::BudgetSpent { .. } | Outcome::ModelFailed(_),
            Some((_, best)),
        ) => Outcome::Proposed(Box::new(best)),
        (outcome, _) => outcome,
    };
    RunSummary {
        outcome,
        attempts: conversation.attempts,
        stats: conversation.stats,
    }
}

/// One conversation with the model about a task: what it works with, and what it has cost and
/// tried so far.
struct Conversation<'a> {
    task: &'a dyn Task,
    llm: &'a LlmClient,
    settings: &'a AgentSettings,
    sandbox: &'a SharedSandbox,
    events: &'a UnboundedSender<AgentEvent>,
    /// The whole run's spend, shared with the other conversations of a batch.
    spend: &'a Spend,
    stats: BTreeMap<Tier, TierStats>,
    attempts: u32,
    /// The improvable result of most merit so far: proposed if no later one is green.
    best: Option<(Merit, Proposal)>,
}

/// What the repair loop carries from one attempt to the next.
struct Transcript {
    /// What the next chat request sends.
    messages: Vec<Message>,
    /// The last reply, where the server keeps it (the Responses API), and how many of
    /// `messages` it holds: the next request sends only what came after.
    kept_reply: Option<(String, usize)>,
    last_failure: LastFailure,
    /// One line per failed attempt: what a stronger tier is told when the task escalates.
    history: Vec<String>,
    tier: Tier,
    failures_on_tier: u32,
    /// What the last candidate was told; a completion has no conversation to carry it.
    feedback: Option<String>,
}

impl Transcript {
    /// Records that `attempt` failed because of `why`, in the one line escalation will show,
    /// and counts it against the tier.
    fn note_failure(&mut self, attempt: u32, why: &str) {
        self.failures_on_tier += 1;
        self.history.push(format!(
            "attempt {attempt} ({}): {}",
            self.tier,
            first_line(why)
        ));
    }
}

/// A reply, how it was asked for, and how fast it began.
struct Answer {
    reply: Reply,
    asked: Asked,
    first_token_ms: Option<u64>,
}

/// How a candidate was asked for, so its reply is read the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Chat,
    Fill,
}

impl Conversation<'_> {
    fn emit(&self, event: AgentEvent) {
        // A front end that stopped listening must not stop the work.
        let _ = self.events.send(event);
    }

    /// Attempts until a candidate is green or the budget is spent. Each attempt asks, reads the
    /// candidate, validates it and turns the verdict into feedback; too many failures on one
    /// tier escalate to a stronger one first.
    async fn repair_loop(&mut self) -> Outcome {
        let tools = vec![tools::run_code_tool(self.task.tool_description())];
        let mut transcript = Transcript {
            messages: self.task.messages(),
            kept_reply: None,
            last_failure: LastFailure::default(),
            history: Vec::new(),
            tier: self.settings.tier,
            failures_on_tier: 0,
            feedback: None,
        };
        for attempt in 1..=self.settings.max_attempts {
            self.attempts = attempt;
            self.escalate_if_due(&mut transcript);
            if let Some(limit) = self.settings.max_cost_usd {
                if let Some(spent) = self.spend.total().filter(|spent| spent.usd >= limit) {
                    return Outcome::BudgetSpent {
                        spent,
                        last_failure: transcript.last_failure.text(),
                    };
                }
            }
            let answer = match self
                .ask_for_candidate(attempt, &tools, &mut transcript)
                .await
            {
                Ok(answer) => answer,
                Err(e) => return Outcome::ModelFailed(e),
            };
            let Some(placement) = self.take_candidate(attempt, &answer, &mut transcript) else {
                continue;
            };
            let round = Round {
                attempt,
                tier: transcript.tier,
            };
            let validated = match self.validate(placement, round).await {
                Ok(validated) => validated,
                Err(e) => return Outcome::SandboxFailed(e),
            };
            if let Some(outcome) =
                self.feed_back(attempt, validated, &answer.reply, &mut transcript)
            {
                return outcome;
            }
        }
        Outcome::Exhausted {
            last_failure: transcript.last_failure.text(),
        }
    }

    /// After too many failed attempts on one tier, the task starts afresh on the stronger one;
    /// never once a result is proposable: improving it is the cheaper tier's job, and a fresh
    /// start on the dearer one would throw the kept work away.
    fn escalate_if_due(&self, transcript: &mut Transcript) {
        let Escalation::After { failures, to } = self.settings.escalation else {
            return;
        };
        if self.best.is_some() {
            return;
        }
        if transcript.tier != to && failures > 0 && transcript.failures_on_tier >= failures {
            self.emit(AgentEvent::Escalated {
                from: transcript.tier,
                to,
                after_failures: transcript.failures_on_tier,
            });
            transcript.tier = to;
            transcript.failures_on_tier = 0;
            // A fresh conversation, maybe on another server: nothing of the old one to continue.
            transcript.kept_reply = None;
            transcript.messages = escalated_conversation(
                self.task,
                &transcript.history,
                &transcript.last_failure.text(),
            );
        }
    }

    /// Asks for a candidate: a chat turn with the `run_code` tool, or a native completion of
    /// the hole when the task has one and the config asks for completions.
    async fn ask_for_candidate(
        &mut self,
        attempt: u32,
        tools: &[async_openai::types::chat::ChatCompletionTools],
        transcript: &mut Transcript,
    ) -> Result<Answer, crate::llm::LlmError> {
        let tier = transcript.tier;
        self.emit(AgentEvent::AttemptStarted {
            attempt,
            max_attempts: self.settings.max_attempts,
            tier,
            model: self.llm.model(tier).to_string(),
        });
        let fill = match self.settings.fim {
            FimMode::Completions => self.task.fim_prompt(transcript.feedback.as_deref()),
            FimMode::Chat => None,
        };
        let (question, asked) = match &fill {
            Some(fill) => (Question::Fill(fill), Asked::Fill),
            None => (
                Question::Chat {
                    conversation: &transcript.messages,
                    tools,
                    previous: transcript.kept_reply.as_ref().map(|(id, held)| Previous {
                        response_id: id,
                        messages_held: *held,
                    }),
                },
                Asked::Chat,
            ),
        };
        let (reply, first_token_ms) = self.ask(tier, question).await?;
        transcript.messages.push(messages::assistant(&reply));
        transcript.kept_reply = reply
            .response_id
            .clone()
            .map(|id| (id, transcript.messages.len()));
        Ok(Answer {
            reply,
            asked,
            first_token_ms,
        })
    }

    /// Counts the reply and places its candidate in the file. `None`: the reply held no usable
    /// candidate, or it could not be placed; the model has been told why.
    fn take_candidate(
        &mut self,
        attempt: u32,
        answer: &Answer,
        transcript: &mut Transcript,
    ) -> Option<Placement> {
        let tier = transcript.tier;
        let reply = &answer.reply;
        let (kind, candidate) = match answer.asked {
            Asked::Fill => read_completion(reply),
            Asked::Chat => read_candidate(reply),
        };
        let stats = self.stats.entry(tier).or_default();
        let request = RequestStats {
            usage: reply.usage,
            first_token_ms: answer.first_token_ms,
        };
        let cost = stats.count_reply(&kind, request, self.llm.price(tier));
        if let (Some(usd), Some(usage)) = (cost, reply.usage) {
            self.spend.add(usd, usage.source);
        }
        self.emit(AgentEvent::ReplyReceived {
            kind: kind.clone(),
            usage: reply.usage,
            first_token_ms: answer.first_token_ms,
        });
        let candidate = match candidate {
            Ok(code) => code,
            Err(text) => {
                respond(&mut transcript.messages, reply, &text);
                transcript.feedback = Some(text);
                transcript.last_failure.reply_unusable(&kind);
                let why = transcript.last_failure.text();
                transcript.note_failure(attempt, &why);
                return None;
            }
        };
        // Every change is shown on the user's terminal before it is applied: raw control
        // characters in it could drive that terminal (clear it, set the clipboard).
        let placed = match kiln_sandbox::first_raw_control(&candidate) {
            Some(control) => Err(format!(
                "the code holds a raw control character ({}): kiln shows every change on a \
                 terminal before applying it, so write it as an escape in a literal instead",
                control.escape_unicode()
            )),
            None => self.task.place(&candidate),
        };
        match placed {
            Ok(placement) => Some(placement),
            Err(reason) => {
                self.emit(AgentEvent::CandidateRejected {
                    reason: reason.clone(),
                });
                respond(&mut transcript.messages, reply, &reason);
                transcript.note_failure(attempt, &reason);
                transcript.feedback = Some(reason.clone());
                transcript.last_failure.candidate_failed(reason);
                None
            }
        }
    }

    /// Runs the task's validation of a placed candidate in the sandbox. `Err`: the sandbox
    /// itself failed.
    async fn validate(&self, placement: Placement, round: Round) -> Result<Validated, String> {
        self.emit(AgentEvent::SandboxStarted {
            summary: placement.summary.clone(),
        });
        let runs = self
            .sandbox
            .lend(&self.task.location().relative_path, self.events);
        let validated = self.task.validate(placement, round, &runs).await?;
        self.emit(AgentEvent::SandboxFinished {
            report: Box::new(validated.report.clone()),
            proposed_tests: validated.proposed_tests,
        });
        Ok(validated)
    }

    /// Turns the verdict into the outcome, or into feedback for the next attempt (`None`).
    fn feed_back(
        &mut self,
        attempt: u32,
        validated: Validated,
        reply: &Reply,
        transcript: &mut Transcript,
    ) -> Option<Outcome> {
        let proposal = Proposal {
            file: self.task.location().file.clone(),
            original: self.task.original().to_string(),
            new_text: validated.placement.new_text,
            summary: validated.placement.summary,
            report: validated.report,
            notes: validated.notes,
            recheck: Recheck {
                location: self.task.location().clone(),
                test_args: validated.placement.test_args,
                rule: self.task.recheck_rule(),
            },
        };
        let (report, text) = match validated.verdict {
            Verdict::Green => return Some(Outcome::Proposed(Box::new(proposal))),
            Verdict::Red(report) => {
                let text = prompt::render(prompt::FEEDBACK, &[("report", &report)])
                    .unwrap_or_else(|_| report.clone());
                (report, text)
            }
            // The task's own words: the candidate did pass, in part. Not a failure: asking for
            // better keeps the tier, and the best so far is what is proposed in the end.
            Verdict::Improvable { feedback, merit } => {
                let better = self.best.as_ref().is_none_or(|(best, _)| merit >= *best);
                if better {
                    self.best = Some((merit, proposal));
                }
                if attempt == self.settings.max_attempts {
                    return self
                        .best
                        .take()
                        .map(|(_, best)| Outcome::Proposed(Box::new(best)));
                }
                respond(&mut transcript.messages, reply, &feedback);
                transcript.feedback = Some(feedback);
                return None;
            }
        };
        respond(&mut transcript.messages, reply, &text);
        transcript.note_failure(attempt, &report);
        transcript.feedback = Some(report.clone());
        transcript.last_failure.candidate_failed(report);
        None
    }

    /// One request to the model, its events forwarded; with the reply, its time to first
    /// token in milliseconds when it streamed.
    async fn ask(
        &mut self,
        tier: Tier,
        question: Question<'_>,
    ) -> Result<(Reply, Option<u64>), crate::llm::LlmError> {
        let events = self.events;
        let mut first_token = None;
        let mut on_event = |event: LlmEvent| {
            match &event {
                LlmEvent::FirstToken { after } => first_token = Some(after.as_millis() as u64),
                // A request asked again starts afresh: only the reply's own first token counts,
                // and one that then came whole has none.
                LlmEvent::Retrying { .. } | LlmEvent::StreamFallback => first_token = None,
                _ => {}
            }
            let _ = events.send(AgentEvent::Llm(event));
        };
        let result = match question {
            Question::Chat {
                conversation,
                tools,
                previous,
            } => {
                let request = ChatRequest {
                    tier,
                    messages: conversation,
                    tools,
                    force_tool: Some(RUN_CODE),
                    previous,
                };
                self.llm.chat(&request, &mut on_event).await
            }
            Question::Fill(fill) => {
                let request = CompletionRequest {
                    tier,
                    prompt: &fill.prompt,
                    suffix: &fill.suffix,
                };
                self.llm.complete(&request, &mut on_event).await
            }
        };
        result.map(|reply| (reply, first_token))
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
