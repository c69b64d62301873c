//! A batched task: its parts are separate conversations, run concurrently (at most `jobs` at a
//! time) in one sandbox copy under one cost budget, then combined into one proposal.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::UnboundedSender;

use super::conversation::converse;
use super::sandbox::SharedSandbox;
use super::{AgentEvent, AgentSettings, Cost, Outcome, Proposal, RunSummary, Spend, TierStats};
use crate::config::Tier;
use crate::llm::LlmClient;
use crate::project::SourceLocation;
use crate::task::{first_line, Batched, PartEnd, Recheck, Task, Verdict};

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
    let sandbox = match SharedSandbox::create(location, settings, events).await {
        Ok(sandbox) => sandbox,
        Err(message) => return summary(Outcome::SandboxFailed(message), 0, BTreeMap::new()),
    };
    let shared = Shared {
        batch,
        llm,
        settings,
        sandbox,
        spend: Spend::default(),
        events,
    };
    let summaries = shared.converse_in_lanes(&parts, jobs).await;
    let tally = match tally(summaries) {
        Ok(tally) => tally,
        Err(sandbox_failed) => return sandbox_failed,
    };
    let proposed = tally.ends.iter().filter(|e| e.proposed.is_some()).count();
    let outcome = if proposed == 0 {
        no_part_proposed(tally.gave_up, &tally.ends, shared.spend.total())
    } else {
        let total = parts.len();
        let _ = events.send(AgentEvent::Combining { proposed, total });
        shared.combine(&tally.ends).await
    };
    summary(outcome, tally.attempts, tally.stats)
}

/// What every part of one batch shares: one sandbox copy and one cost budget.
struct Shared<'a> {
    batch: &'a dyn Batched,
    llm: &'a LlmClient,
    settings: &'a AgentSettings,
    sandbox: SharedSandbox,
    spend: Spend,
    events: &'a UnboundedSender<AgentEvent>,
}

impl Shared<'_> {
    /// Runs `parts` in at most `jobs` lanes; the summaries come back in the parts' order.
    async fn converse_in_lanes(&self, parts: &[&dyn Task], jobs: usize) -> Vec<RunSummary> {
        let lanes = jobs.min(parts.len());
        // Parts run in `lanes` lanes, in order. A part is registered with the batch before it
        // runs, and a lane registers its next part before it lets go of the finished one: a
        // round never closes without a part that is about to start, so no part is validated
        // alone by accident.
        for index in 0..lanes {
            self.batch.part_started(index);
        }
        let next = AtomicUsize::new(lanes);
        let runs = (0..lanes).map(|first| self.lane(parts, first, &next));
        let mut summaries: Vec<(usize, RunSummary)> = futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect();
        summaries.sort_by_key(|(index, _)| *index);
        summaries.into_iter().map(|(_, summary)| summary).collect()
    }

    /// One lane: part `first`, then whichever part is next each time one finishes.
    async fn lane(
        &self,
        parts: &[&dyn Task],
        first: usize,
        next: &AtomicUsize,
    ) -> Vec<(usize, RunSummary)> {
        let total = parts.len();
        let mut done = Vec::new();
        let mut index = first;
        while let Some(part) = parts.get(index) {
            let (tagged, forwarding) = tag_events(self.events, index, total);
            let summary = converse(
                *part,
                self.llm,
                self.settings,
                &self.sandbox,
                &self.spend,
                &tagged,
            )
            .await;
            let following = next.fetch_add(1, Ordering::SeqCst);
            if following < total {
                self.batch.part_started(following);
            }
            self.batch.part_finished(index);
            drop(tagged);
            let _ = forwarding.await;
            done.push((index, summary));
            index = following;
        }
        done
    }

    /// The parts' results as one proposal, validated together in the shared sandbox.
    async fn combine(&self, ends: &[PartEnd]) -> Outcome {
        let file = self.batch.file();
        let runs = self.sandbox.lend(&file.location.relative_path, self.events);
        let validated = match self.batch.combine(ends, &runs).await {
            Ok(validated) => validated,
            Err(message) => return Outcome::SandboxFailed(message),
        };
        let _ = self.events.send(AgentEvent::SandboxFinished {
            report: Box::new(validated.report.clone()),
            proposed_tests: validated.proposed_tests,
        });
        match validated.verdict {
            Verdict::Red(last_failure) => Outcome::Exhausted { last_failure },
            Verdict::Green | Verdict::Improvable { .. } => Outcome::Proposed(Box::new(Proposal {
                file: file.location.file.clone(),
                original: file.original.to_string(),
                new_text: validated.placement.new_text,
                summary: validated.placement.summary,
                report: validated.report,
                notes: validated.notes,
                recheck: Recheck {
                    location: file.location.clone(),
                    test_args: validated.placement.test_args,
                    rule: self.batch.recheck_rule(),
                },
            })),
        }
    }
}

/// What the parts did, added up.
#[derive(Default)]
struct Tally {
    attempts: u32,
    stats: BTreeMap<Tier, TierStats>,
    ends: Vec<PartEnd>,
    /// The outcomes of the parts that proposed nothing.
    gave_up: Vec<Outcome>,
}

/// Adds up the parts' summaries. `Err`: a part's sandbox failed, which ends the whole run, with
/// what was counted up to that part.
fn tally(summaries: Vec<RunSummary>) -> Result<Tally, RunSummary> {
    let mut tally = Tally::default();
    for summary in summaries {
        tally.attempts += summary.attempts;
        for (tier, tier_stats) in summary.stats {
            tally.stats.entry(tier).or_default().absorb(tier_stats);
        }
        let (proposed, failure) = match summary.outcome {
            Outcome::Proposed(proposal) => (Some(proposal.new_text), None),
            Outcome::SandboxFailed(message) => {
                let outcome = Outcome::SandboxFailed(message);
                return Err(self::summary(outcome, tally.attempts, tally.stats));
            }
            other => {
                let why = describe_failure(&other, summary.attempts);
                tally.gave_up.push(other);
                (None, Some(why))
            }
        };
        tally.ends.push(PartEnd {
            proposed,
            failure,
            attempts: summary.attempts,
        });
    }
    Ok(tally)
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
        Outcome::BudgetSpent { spent, .. } => format!("stopped at {spent} (--max-cost)"),
        Outcome::ModelFailed(e) => format!("the model failed: {e}"),
        Outcome::SandboxFailed(message) => first_line(message).to_string(),
        Outcome::Proposed(_) => String::new(),
    }
}

/// When no part has tests: a model failure says most about what to do next, then the budget,
/// then the parts' own failures.
fn no_part_proposed(gave_up: Vec<Outcome>, ends: &[PartEnd], spent: Option<Cost>) -> Outcome {
    let last_failure = ends
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some(format!("batch {}: {}", i + 1, e.failure.as_ref()?)))
        .collect::<Vec<_>>()
        .join("\n");
    let mut budget_spent = None;
    for outcome in gave_up {
        match outcome {
            Outcome::ModelFailed(e) => return Outcome::ModelFailed(e),
            Outcome::BudgetSpent { spent, .. } => budget_spent = Some(spent),
            _ => {}
        }
    }
    if let Some(part_saw) = budget_spent {
        // What the whole batch spent, which is at least what the part saw when it stopped.
        return Outcome::BudgetSpent {
            spent: spent.unwrap_or(part_saw),
            last_failure,
        };
    }
    Outcome::Exhausted { last_failure }
}
