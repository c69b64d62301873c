//! Runs tasks through the agent loop in a bounded pool, forwarding each task's events to the app
//! tagged with its id. A batched task takes one place in the pool; its own `jobs` bound how many
//! of its conversations run at once. Cancelling aborts the task's future, which drops the sandbox
//! and so kills its cargo process group.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use super::app::{Effect, Msg};
use super::task_view::TaskId;
use super::workspace;
use crate::agent::{self, AgentEvent, AgentSettings, Work};
use crate::llm::LlmClient;

/// Each task runs cargo; with more at once than this they mostly wait on each other for CPU. A
/// batch counts once: its parts share one sandbox and build their candidates together.
pub const MAX_CONCURRENT_TASKS: usize = 2;

pub struct TaskPool {
    llm: Arc<LlmClient>,
    settings: Arc<AgentSettings>,
    pool: Arc<Semaphore>,
    running: HashMap<TaskId, AbortHandle>,
    messages: UnboundedSender<Msg>,
}

impl TaskPool {
    pub fn new(
        llm: LlmClient,
        settings: AgentSettings,
        messages: UnboundedSender<Msg>,
    ) -> TaskPool {
        TaskPool {
            llm: Arc::new(llm),
            settings: Arc::new(settings),
            pool: Arc::new(Semaphore::new(MAX_CONCURRENT_TASKS)),
            running: HashMap::new(),
            messages,
        }
    }

    pub fn carry_out(&mut self, effect: Effect) {
        self.running.retain(|_, handle| !handle.is_finished());
        match effect {
            Effect::Start { id, work } => {
                let job = perform_and_forward(
                    id,
                    work,
                    self.llm.clone(),
                    self.settings.clone(),
                    self.pool.clone(),
                    self.messages.clone(),
                );
                self.running.insert(id, tokio::spawn(job).abort_handle());
            }
            Effect::Recheck { id, proposal, text } => {
                let settings = self.settings.clone();
                let messages = self.messages.clone();
                // Outside the pool's bound: the user waits at the review for this one.
                let job = async move {
                    let result = forwarded(id, &messages, |sender| async move {
                        let result = agent::recheck(&proposal, &text, &settings, &sender).await;
                        drop(sender);
                        result.map(drop)
                    })
                    .await;
                    let _ = messages.send(Msg::Rechecked(id, result));
                };
                self.running.insert(id, tokio::spawn(job).abort_handle());
            }
            Effect::Cancel(id) => {
                if let Some(handle) = self.running.remove(&id) {
                    handle.abort();
                }
            }
            Effect::Outline {
                opened,
                relative,
                text,
            } => {
                let messages = self.messages.clone();
                tokio::task::spawn_blocking(move || {
                    let (items, problem) = workspace::outline(&relative, &text);
                    let _ = messages.send(Msg::Outline {
                        opened,
                        items,
                        problem,
                    });
                });
            }
        }
    }
}

async fn perform_and_forward(
    id: TaskId,
    work: Work,
    llm: Arc<LlmClient>,
    settings: Arc<AgentSettings>,
    pool: Arc<Semaphore>,
    messages: UnboundedSender<Msg>,
) {
    // The semaphore is never closed, so this only fails if the app is going away anyway.
    let Ok(_permit) = pool.acquire_owned().await else {
        return;
    };
    let summary = forwarded(id, &messages, |sender| async move {
        let summary = work.perform(&llm, &settings, &sender).await;
        drop(sender);
        summary
    })
    .await;
    let _ = messages.send(Msg::Finished(id, summary));
}

/// Runs what `work` makes of an event sender, forwarding its events to the app as `id`'s until
/// the sender is dropped, which `work` does when it is done.
async fn forwarded<T, F>(
    id: TaskId,
    messages: &UnboundedSender<Msg>,
    work: impl FnOnce(UnboundedSender<AgentEvent>) -> F,
) -> T
where
    F: std::future::Future<Output = T>,
{
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let work = work(sender);
    let forward = async {
        while let Some(event) = receiver.recv().await {
            let _ = messages.send(Msg::Agent(id, event));
        }
    };
    let (out, ()) = tokio::join!(work, forward);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::agent::{AgentEvent, BuildCache, Outcome};
    use crate::config::{Config, Tier};
    use crate::task::gen_tests::GenTests;

    /// Tasks that fail fast and for real: the model server refuses connections.
    fn pool_and_task() -> (
        TaskPool,
        tokio::sync::mpsc::UnboundedReceiver<Msg>,
        tempfile::TempDir,
    ) {
        let demo = tempfile::tempdir().unwrap();
        let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        std::fs::create_dir_all(demo.path().join("src")).unwrap();
        std::fs::copy(assets.join("Cargo.toml"), demo.path().join("Cargo.toml")).unwrap();
        std::fs::copy(assets.join("src/lib.rs"), demo.path().join("src/lib.rs")).unwrap();
        let config = Config {
            base_url: "http://127.0.0.1:9/v1".to_string(),
            max_retries: 0,
            ..Config::default()
        };
        let settings = AgentSettings {
            max_attempts: 1,
            build_cache: BuildCache::AsConfigured,
            ..AgentSettings::from_config(&config, Some(Tier::Mini))
        };
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let pool = TaskPool::new(LlmClient::new(&config).unwrap(), settings, sender);
        (pool, receiver, demo)
    }

    fn task(demo: &Path) -> Work {
        Work::One(Box::new(
            GenTests::new(&demo.join("src/lib.rs"), &[]).unwrap(),
        ))
    }

    #[tokio::test]
    async fn the_pool_bounds_running_tasks_and_cancel_stops_a_queued_one() {
        let (mut pool, mut receiver, demo) = pool_and_task();
        for id in 1..=4 {
            pool.carry_out(Effect::Start {
                id: TaskId(id),
                work: task(demo.path()),
            });
        }
        // Nothing has run yet on this single-threaded runtime, so task 4 is still queued.
        pool.carry_out(Effect::Cancel(TaskId(4)));
        let mut running = 0;
        let mut most_at_once = 0;
        let mut finished = Vec::new();
        while finished.len() < 3 {
            match receiver.recv().await.unwrap() {
                Msg::Agent(id, AgentEvent::Started { .. }) => {
                    assert_ne!(id, TaskId(4), "a cancelled task started");
                    running += 1;
                    most_at_once = most_at_once.max(running);
                }
                Msg::Finished(id, summary) => {
                    assert!(matches!(summary.outcome, Outcome::ModelFailed(_)));
                    running -= 1;
                    finished.push(id);
                }
                _ => {}
            }
        }
        assert_eq!(most_at_once, MAX_CONCURRENT_TASKS);
        finished.sort();
        assert_eq!(finished, vec![TaskId(1), TaskId(2), TaskId(3)]);
    }
}
