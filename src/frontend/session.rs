//! Session setup, the same for every front end: the config for the place being worked on, the
//! model client and agent settings it gives, the sandbox probe, and how gen-tests work is split
//! into batches. Each front end used to write these steps itself, in slightly different orders.

use std::path::Path;

use kiln_sandbox::Protection;

use crate::agent::{AgentSettings, Work};
use crate::config::{Config, ConfigError, Tier};
use crate::llm::LlmClient;
use crate::project::SourceLocation;
use crate::task::gen_tests::{Batching, GenTests, Plan};
use crate::task::TaskError;

/// Why a session could not be set up. The message is the underlying error's, unchanged.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The file is not in a crate kiln can work on.
    #[error(transparent)]
    Location(#[from] TaskError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The config for work in `dir`: `kiln.toml` found upward from it, the user's config, then the
/// process environment.
pub fn config_at(dir: &Path) -> Result<Config, SetupError> {
    let env = |name: &str| std::env::var(name).ok();
    Ok(Config::load(dir, &env)?)
}

/// The config for work on `file`: found from the root of the crate `file` belongs to.
pub fn config_for_file(file: &Path) -> Result<Config, SetupError> {
    let location = SourceLocation::find(file).map_err(TaskError::from)?;
    config_at(&location.crate_root)
}

/// What a session asks the model with.
pub struct Session {
    pub llm: LlmClient,
    pub settings: AgentSettings,
}

impl Session {
    /// The client for `config`'s endpoint and tiers, and the agent settings: starting on
    /// `pinned` without escalation if the user pinned a tier, else on mini escalating to full.
    pub fn new(config: &Config, pinned: Option<Tier>) -> Result<Session, SetupError> {
        Ok(Session {
            llm: LlmClient::new(config)?,
            settings: AgentSettings::from_config(config, pinned),
        })
    }
}

/// Which sandbox protections this machine provides. Probing spawns a few short-lived processes,
/// so it runs off the async threads; `Err` only if that thread failed.
pub async fn probe_sandbox() -> Result<Vec<Protection>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(kiln_sandbox::probe).await
}

/// How gen-tests on many functions is split: functions per conversation, and how many
/// conversations talk to the model at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batches {
    pub batch_size: u32,
    pub jobs: u32,
}

impl Batches {
    /// The config's `batch_size` and `jobs`, as every front end splits by default.
    pub fn from_config(config: &Config) -> Batches {
        Batches {
            batch_size: config.batch_size,
            jobs: config.jobs,
        }
    }
}

impl Default for Batches {
    fn default() -> Self {
        Batches::from_config(&Config::default())
    }
}

/// Work as the agent runs it and, for gen-tests, what it will ask: shown, and over
/// max_functions agreed to, before the first request.
pub struct Planned {
    pub work: Work,
    pub plan: Option<Plan>,
}

impl Planned {
    /// Work of one conversation whose size needs no plan (doc, fim, refactor).
    pub fn unplanned(work: Work) -> Planned {
        Planned { work, plan: None }
    }
}

/// `task` as the agent runs it: one conversation, or batches that talk to the model `jobs` at a
/// time. `kiln gen-tests`, the TUI and the hook all split gen-tests this way.
pub fn gen_tests_work(task: GenTests, batches: Batches) -> Planned {
    let batching = task.batched(batches.batch_size as usize);
    let plan = batching.plan();
    let work = match batching {
        Batching::Batches(batch) => Work::Batch {
            batch: Box::new(batch),
            jobs: batches.jobs as usize,
        },
        Batching::Single(task) => Work::One(Box::new(task)),
    };
    Planned {
        work,
        plan: Some(plan),
    }
}
