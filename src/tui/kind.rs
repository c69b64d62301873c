//! The task kinds the TUI can start. Adding one is a variant here, an arm in [`build`], and a key
//! in the app's key map.

use std::path::PathBuf;

use super::strings;
use crate::task::gen_tests::GenTests;
use crate::task::{Task, TaskError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    GenTests,
    Docstring,
    FillHole,
    Refactor { instruction: String },
}

impl TaskKind {
    pub fn describe(&self) -> String {
        match self {
            TaskKind::GenTests => "gen-tests".to_string(),
            TaskKind::Docstring => "docstring (d)".to_string(),
            TaskKind::FillHole => "fill the hole (f)".to_string(),
            TaskKind::Refactor { instruction } => format!("refactor (r) \"{instruction}\""),
        }
    }
}

/// What a task works on: the open file, and the selected item if one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub file: PathBuf,
    pub item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// Worth a line in the status bar, not a popup: nothing went wrong.
    Notice(String),
    Failed(String),
}

pub fn build(kind: &TaskKind, target: &Target) -> Result<Box<dyn Task>, BuildError> {
    match kind {
        TaskKind::GenTests => {
            let only: Vec<String> = target.item.iter().cloned().collect();
            GenTests::new(&target.file, &only)
                .map(|task| Box::new(task) as Box<dyn Task>)
                .map_err(|e| match e {
                    TaskError::NothingToDo(m) | TaskError::NoTargets(m) => BuildError::Notice(m),
                    other => BuildError::Failed(other.to_string()),
                })
        }
        // These tasks are being built on another branch; the keys say so honestly until then.
        TaskKind::Docstring | TaskKind::FillHole | TaskKind::Refactor { .. } => {
            Err(BuildError::Notice(strings::not_available(&kind.describe())))
        }
    }
}
