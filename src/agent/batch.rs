//! A batched task: its parts are separate conversations, run concurrently (at most `jobs` at a
//! time) in one sandbox copy under one cost budget, then combined into one proposal.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::UnboundedSender;

use super::sandbox::SharedSandbox;
use super::{converse, AgentEvent, AgentSettings, Outcome, Proposal, RunSummary, Spend, TierStats};
use crate::config::Tier;
use crate::llm::LlmClient;
use crate::project::SourceLocation;
use crate::task::{first_line, Batched, PartEnd, Task, Verdict};

/// What a front end hands the agent: one conversation, or a batch of them run `jobs` at a time.
pub enum Work {
    One(Box<dyn Task>),
    Batch {
        batch: Box<dyn Batched>,
        jobs: usize,
    },
}

impl Work {
    pub fn title(&self) -> String {
        match self {
            Work::One(task) => task.title(),
            Work::Batch { batch, .. } => batch.title(),
        }
    }

    pub fn location(&self) -> &SourceLocation {
        match self {
            Work::One(task) => task.location(),
            Work::Batch { batch, .. } => &batch.file().location,
        }
    }

    /// Performs the work: one task, or the batch's conversations `jobs` at a time.
    pub async fn perform(
        &self,
        llm: &LlmClient,
        settings: &AgentSettings,
        events: &UnboundedSender<AgentEvent>,
    ) -> RunSummary {
        match self {
            Work::One(task) => super::perform_task(task.as_ref(), llm, settings, events).await,
            Work::Batch { batch, jobs } => {
                perform_batch(batch.as_ref(), *jobs, llm, settings, events).await
            }
        }
    }
}

/// Runs `batch`'s parts, at most `jobs` at a time, then combines what they proposed. A part that
/// produces nothing does not stop the others; the run fails only if none proposes anything.
pub async fn perform_batch(
    batch: &dyn Batched,
    jobs: usize,
    llm: &LlmClient,
    settings: &AgentSettings,
    events: &UnboundedSender<AgentEvent>,
) -> RunSummary {
    let parts = batch.parts();
    let jobs = jobs.max(1);
    let _ = events.send(AgentEvent::Started {
        title: batch.title(),
        max_attempts: settings.max_attempts,
    });
    let _ = events.send(AgentEvent::BatchPlanned {
        parts: parts.iter().map(|p| p.title()).collect(),
        jobs,
    });
    let location = &batch.file().location;
    let sandbox = match SharedSandbox::create(&location.workspace_root, settings, events).await {
        Ok(sandbox) => sandbox,
        Err(message) => return summary(Outcome::SandboxFailed(message), 0, BTreeMap::new()),
    };
    let spend = Spend::default();
    let total = parts.len();
    let lanes = jobs.min(total);
    // Parts run in `lanes` lanes, in order. A part is registered with the batch before it runs,
    // and a lane registers its next part before it lets go of the finished one: a round never
    // closes without a part that is about to start, so no part is validated alone by accident.
    for index in 0..lanes {
        batch.part_started(index);
    }
    let next = AtomicUsize::new(lanes);
    let runs = (0..lanes).map(|first| {
        let (sandbox, spend, next, parts) = (&sandbox, &spend, &next, &parts);
        async move {
            let mut done = Vec::new();
            let mut index = first;
            while let Some(part) = parts.get(index) {
                let (tagged, forwarding) = tag_events(events, index, total);
                let summary = converse(*part, llm, settings, sandbox, spend, &tagged).await;
                let following = next.fetch_add(1, Ordering::SeqCst);
                if following < total {
                    batch.part_started(following);
                }
                batch.part_finished(index);
                drop(tagged);
                let _ = forwarding.await;
                done.push((index, summary));
                index = following;
            }
            done
        }
    });
    let mut summaries: Vec<(usize, RunSummary)> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    summaries.sort_by_key(|(index, _)| *index);

    let mut attempts = 0;
    let mut stats: BTreeMap<Tier, TierStats> = BTreeMap::new();
    let mut ends = Vec::new();
    let mut gave_up = Vec::new();
    for (_, summary) in summaries {
        attempts += summary.attempts;
        for (tier, tier_stats) in summary.stats {
            stats.entry(tier).or_default().absorb(tier_stats);
        }
        let (proposed, failure) = match summary.outcome {
            Outcome::Proposed(proposal) => (Some(proposal.new_text), None),
            Outcome::SandboxFailed(message) => {
                return self::summary(Outcome::SandboxFailed(message), attempts, stats)
            }
            other => {
                let why = describe_failure(&other, summary.attempts);
                gave_up.push(other);
                (None, Some(why))
            }
        };
        ends.push(PartEnd {
            proposed,
            failure,
            attempts: summary.attempts,
        });
    }
    let proposed = ends.iter().filter(|e| e.proposed.is_some()).count();
    if proposed == 0 {
        let outcome = no_part_proposed(gave_up, &ends, spend.total());
        return summary(outcome, attempts, stats);
    }
    let _ = events.send(AgentEvent::Combining { proposed, total });
    let runs = sandbox.lend(&location.relative_path, events);
    let outcome = match batch.combine(&ends, &runs).await {
        Err(message) => Outcome::SandboxFailed(message),
        Ok(validated) => {
            let _ = events.send(AgentEvent::SandboxFinished(Box::new(
                validated.report.clone(),
            )));
            match validated.verdict {
                Verdict::Red(last_failure) => Outcome::Exhausted { last_failure },
                Verdict::Green | Verdict::Improvable(_) => Outcome::Proposed(Box::new(Proposal {
                    file: location.file.clone(),
                    original: batch.file().original.clone(),
                    new_text: validated.placement.new_text,
                    summary: validated.placement.summary,
                    report: validated.report,
                    notes: validated.notes,
                })),
            }
        }
    };
    summary(outcome, attempts, stats)
}

fn summary(outcome: Outcome, attempts: u32, stats: BTreeMap<Tier, TierStats>) -> RunSummary {
    RunSummary {
        outcome,
        attempts,
        stats,
    }
}

/// A part's events, wrapped so front ends can tell the parts apart. The returned task ends
/// once the sender is dropped and everything sent has been passed on.
fn tag_events(
    events: &UnboundedSender<AgentEvent>,
    index: usize,
    total: usize,
) -> (UnboundedSender<AgentEvent>, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let events = events.clone();
    let forwarding = tokio::spawn(async move {
        while let Some(event) = receiver.recv().await {
            let _ = events.send(AgentEvent::Part {
                index,
                total,
                event: Box::new(event),
            });
        }
    });
    (sender, forwarding)
}

/// One line on why a part produced nothing.
fn describe_failure(outcome: &Outcome, attempts: u32) -> String {
    match outcome {
        Outcome::Exhausted { last_failure } => format!(
            "nothing passed after {attempts} attempt(s); last: {}",
            first_line(last_failure)
        ),
        Outcome::BudgetSpent { spent_usd, .. } => {
            format!("stopped at ${spent_usd:.4} (--max-cost)")
        }
        Outcome::ModelFailed(e) => format!("the model failed: {e}"),
        Outcome::SandboxFailed(message) => first_line(message).to_string(),
        Outcome::Proposed(_) => String::new(),
    }
}

/// When no part has tests: a model failure says most about what to do next, then the budget,
/// then the parts' own failures.
fn no_part_proposed(gave_up: Vec<Outcome>, ends: &[PartEnd], spent_usd: f64) -> Outcome {
    let last_failure = ends
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some(format!("batch {}: {}", i + 1, e.failure.as_ref()?)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut budget_spent = false;
    for outcome in gave_up {
        match outcome {
            Outcome::ModelFailed(e) => return Outcome::ModelFailed(e),
            Outcome::BudgetSpent { .. } => budget_spent = true,
            _ => {}
        }
    }
    if budget_spent {
        return Outcome::BudgetSpent {
            spent_usd,
            last_failure,
        };
    }
    Outcome::Exhausted { last_failure }
}
