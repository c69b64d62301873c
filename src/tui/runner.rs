//! Runs tasks through the agent loop in a bounded pool, forwarding each task's events to the app
//! tagged with its id. Cancelling aborts the task's future, which drops the sandbox and so kills
//! its cargo process group.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use super::app::{Effect, Msg};
use super::task::TaskId;
use crate::agent::{self, AgentSettings};
use crate::llm::LlmClient;
use crate::task::Task;

/// Each task runs cargo; with more at once than this they mostly wait on each other for CPU.
pub const MAX_CONCURRENT_TASKS: usize = 2;

pub struct Runner {
    llm: Arc<LlmClient>,
    settings: Arc<AgentSettings>,
    pool: Arc<Semaphore>,
    running: HashMap<TaskId, AbortHandle>,
    messages: UnboundedSender<Msg>,
}

impl Runner {
    pub fn new(llm: LlmClient, settings: AgentSettings, messages: UnboundedSender<Msg>) -> Runner {
        Runner {
            llm: Arc::new(llm),
            settings: Arc::new(settings),
            pool: Arc::new(Semaphore::new(MAX_CONCURRENT_TASKS)),
            running: HashMap::new(),
            messages,
        }
    }

    pub fn execute(&mut self, effect: Effect) {
        self.running.retain(|_, handle| !handle.is_finished());
        match effect {
            Effect::Start { id, task } => {
                let job = run_one(
                    id,
                    task,
                    self.llm.clone(),
                    self.settings.clone(),
                    self.pool.clone(),
                    self.messages.clone(),
                );
                self.running.insert(id, tokio::spawn(job).abort_handle());
            }
            Effect::Cancel(id) => {
                if let Some(handle) = self.running.remove(&id) {
                    handle.abort();
                }
            }
        }
    }
}

async fn run_one(
    id: TaskId,
    task: Box<dyn Task>,
    llm: Arc<LlmClient>,
    settings: Arc<AgentSettings>,
    pool: Arc<Semaphore>,
    messages: UnboundedSender<Msg>,
) {
    // The semaphore is never closed, so this only fails if the app is going away anyway.
    let Ok(_permit) = pool.acquire_owned().await else {
        return;
    };
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let work = async {
        let summary = agent::run(task.as_ref(), &llm, &settings, &sender).await;
        drop(sender);
        summary
    };
    let forward = async {
        while let Some(event) = receiver.recv().await {
            let _ = messages.send(Msg::Agent(id, event));
        }
    };
    let (summary, ()) = tokio::join!(work, forward);
    let _ = messages.send(Msg::Finished(id, summary));
}
