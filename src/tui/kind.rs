//! The task kinds the TUI can start. Adding one is a variant here, an arm in [`build`], and a key
//! in the app's key map.

use std::path::PathBuf;

use super::strings;
use crate::agent::Work;
use crate::frontend::session::{gen_tests_work, Batches, Planned};
use crate::task::docstring::{DocScope, Docstring};
use crate::task::fim::{Fim, HoleChoice};
use crate::task::gen_tests::GenTests;
use crate::task::refactor::Refactor;
use crate::task::{Task, TaskError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    GenTests,
    Docstring,
    FillHole,
    Refactor { instruction: String },
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

/// The work for `kind` on `target`, with gen-tests' plan. gen-tests on a whole file is split
/// into `batches`; everything else is one conversation.
pub fn build(kind: &TaskKind, target: &Target, batches: Batches) -> Result<Planned, BuildError> {
    let only: Vec<String> = target.item.iter().cloned().collect();
    let built: Result<Planned, TaskError> = match kind {
        TaskKind::GenTests => {
            GenTests::new(&target.file, &only).map(|task| gen_tests_work(task, batches))
        }
        TaskKind::Docstring => Docstring::new(&target.file, &only, DocScope::Public).map(one),
        TaskKind::FillHole => Fim::new(&target.file, HoleChoice::Found).map(one),
        TaskKind::Refactor { instruction } => match &target.item {
            Some(item) => Refactor::new(&target.file, item, instruction).map(one),
            None => return Err(BuildError::Notice(strings::SELECT_AN_ITEM.to_string())),
        },
    };
    built.map_err(|e| match e {
        TaskError::NothingToDo(m) | TaskError::NoTargets(m) => BuildError::Notice(m),
        other => BuildError::Failed(other.to_string()),
    })
}

fn one<T: Task + 'static>(task: T) -> Planned {
    Planned::unplanned(Work::One(Box::new(task)))
}
