//! The execute-and-repair loop: ask the model for a candidate, run it in the sandbox, feed the
//! failure back, and repeat until it is green or the attempt budget is spent.
//!
//! One attempt is one model request. Every step is reported as an [`AgentEvent`]; the loop never
//! prints and never asks the user anything.

mod batch;
mod conversation;
mod event;
mod failure;
mod per_result;
mod sandbox;

use kiln_sandbox::SandboxConfig;
use std::collections::BTreeMap;
use tokio::sync::mpsc::UnboundedSender;

pub use batch::{perform_batch, Work};
pub use event::{
    AgentEvent, Cost, Outcome, Proposal, ReplyKind, RequestStats, RunSummary, TierStats,
};
pub use per_result::{cost_per_result, CostPerResult, PerResult, Produced};

use crate::config::{Config, FimMode, Tier};
use crate::llm::{LlmClient, UsageSource};
use crate::task::Task;
use conversation::converse;
use sandbox::SharedSandbox;

#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub max_attempts: u32,
    /// The tier the first attempt uses.
    pub tier: Tier,
    pub escalation: Escalation,
    /// Stop before the next request once this many dollars are spent (needs prices in config);
    /// reckoned from kiln's estimate of the tokens where the server reports none.
    pub max_cost_usd: Option<f64>,
    pub sandbox: SandboxConfig,
    pub build_cache: BuildCache,
    /// Build the untouched crate before the first request: a crate that does not build ends
    /// the task there, before any token is spent, and the build is the one that fills the shared
    /// cache. The front ends always do; a harness that exercises the loop alone may skip it.
    pub build_first: bool,
    /// How tasks that fill a hole are asked (chat for everything else).
    pub fim: FimMode,
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
                redact: config.api_keys(),
                ..SandboxConfig::default()
            },
            build_cache: BuildCache::PerCrate,
            build_first: true,
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
    let sandbox = match SharedSandbox::create(task.location(), settings, events).await {
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

/// Dollars spent by every conversation of a run, so `--max-cost` bounds the whole run; `None`
/// until a priced reply was counted.
#[derive(Debug, Default)]
pub(crate) struct Spend(std::sync::Mutex<Option<Cost>>);

impl Spend {
    fn add(&self, usd: f64, source: UsageSource) {
        let mut spent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *spent = Some(Cost::add(*spent, usd, source));
    }

    fn total(&self) -> Option<Cost> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
}
