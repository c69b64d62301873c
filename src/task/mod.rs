//! Task kinds. A task says what to ask the model, where a candidate goes in the user's file, and
//! what must hold before the result is proposed. The agent loop is the same for every kind.

pub mod docstring;
pub mod fim;
pub mod gen_tests;
pub mod refactor;
mod source;
#[cfg(test)]
pub(crate) mod test_crate;

use std::sync::Arc;

use futures::future::BoxFuture;
use kiln_sandbox::{RunOutcome, RunReport, TestArgs};

use crate::config::Tier;
use crate::llm::Message;
use crate::project::SourceLocation;
use crate::prompt;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: the file does not parse as Rust (near `{snippet}`); fix it or point kiln at another file")]
    Syntax {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        snippet: String,
    },
    #[error("{0}")]
    NoTargets(String),
    /// Not a failure: every target is already covered.
    #[error("{0}")]
    NothingToDo(String),
    #[error("internal prompt error: {0}")]
    Prompt(#[from] prompt::PromptError),
}

/// What every task holds about its file: where it is, and its text when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFile {
    pub location: SourceLocation,
    /// Shared: every batch of a big file holds the same text, which it never changes.
    pub original: Arc<str>,
}

/// A candidate placed into the user's file: what the sandbox runs and, if green, what is proposed.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub new_text: String,
    /// One line for people, e.g. "3 tests: add_handles_zero, ...".
    pub summary: String,
    pub test_args: TestArgs,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Green,
    /// Not good enough yet; the text goes back to the model.
    Red(String),
    /// Good enough to propose, but parts were dropped: the feedback goes back to the model
    /// while attempts remain, and the placement of most merit is proposed if none is green.
    Improvable {
        feedback: String,
        merit: Merit,
    },
}

/// How much an improvable placement achieves, to propose the best of several: compared
/// field by field, `caught` first (gen-tests: the mutants its tests catch, then its tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Merit {
    pub caught: usize,
    pub kept: usize,
}

/// Which model request produced the candidate being validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub attempt: u32,
    pub tier: Tier,
}

/// What a sandbox run is for, so a front end can say where a validation's time went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunPurpose {
    /// The crate before any change, built once per sandbox.
    Untouched,
    /// A candidate's first build and run (and the rebuilds after dropping tests that do not
    /// compile).
    Candidate,
    /// The same build run again, to catch flaky tests.
    Rerun,
    /// The build with every mutant behind a dispatcher.
    MutantBuild,
    /// The same build made ahead, beside the candidate's build and runs rather than after them
    /// (see [`SandboxRuns::build_mutants_ahead`]); its time overlaps theirs.
    MutantBuildAhead,
    /// One run against a round of mutants.
    MutantRound,
    /// The module as it will be proposed, once tests were dropped after the last passing run.
    Confirm,
    /// The file with only the hunks the user accepted, checked before it is written.
    Subset,
}

/// The sandbox as a task's validation sees it. The agent owns the sandbox and its events; a task
/// that needs more than one run (re-runs, mutants) asks through this.
pub trait SandboxRuns: Send + Sync {
    /// Says what the next runs are for ("re-running 3 tests 3 more times"), so a long
    /// validation shows progress beyond "compiling".
    fn step(&self, what: &str);
    /// Writes `text` as the task's file in the sandbox copy and runs `cargo test` with `args`,
    /// adding `env` to the scrubbed environment. `Err`: the sandbox itself failed, not the code.
    fn run<'a>(
        &'a self,
        purpose: RunPurpose,
        text: &'a str,
        args: &'a TestArgs,
        env: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<RunReport, String>>;
    /// Builds `text`, the file with the mutants behind their dispatcher, where the
    /// [`RunPurpose::MutantBuild`] run will be made, without running it, while the caller goes on
    /// with the candidate's runs: when the candidate passes, that run finds its build done.
    /// Only a speed-up: the later run still builds whatever this did not, and failures are
    /// that run's to report. Dropping the future stops the build. The default does nothing, for
    /// a sandbox whose mutant runs share the candidate's copy and would only wait for its turn.
    fn build_mutants_ahead<'a>(&'a self, _text: &'a str, _args: &'a TestArgs) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// What validation found: the verdict on a placement, which may be smaller than the candidate
/// (e.g. tests dropped), the report of its last run, and task-specific findings for the user.
#[derive(Debug, Clone)]
pub struct Validated {
    pub verdict: Verdict,
    pub placement: Placement,
    pub report: RunReport,
    pub notes: Option<ValidationNotes>,
    /// For a task whose proposal is tests: how many of those written the placement keeps.
    pub proposed_tests: Option<ProposedTests>,
}

/// Of the tests a candidate brought, how many its validation keeps. Counted per candidate: the
/// parts of a batch share one run, whose pass count is every part's tests together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedTests {
    pub written: usize,
    pub kept: usize,
}

/// Task-specific findings for front ends: lines for people and the same facts for `--json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValidationNotes {
    pub lines: Vec<String>,
    pub json: serde_json::Value,
    /// The findings in one line, for a header (gen-tests: the mutants of every function).
    pub headline: Option<String>,
    /// For a task whose proposal is tests: how many it keeps and how many mutants they catch,
    /// what the cost of a run is divided by.
    pub tests: Option<KeptTests>,
}

/// What a proposal of tests holds that a user pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KeptTests {
    pub kept: usize,
    /// `None` when no mutant was judged (`--no-mutation`, or mutation testing was skipped):
    /// zero catches would claim the tests were tried and caught nothing.
    pub mutants_caught: Option<usize>,
}

/// The start of every task's conversation: the system prompt and the task's own prompt. The
/// templates are checked by unit tests, so a render error is a kiln bug; the raw template is
/// sent rather than aborting the user's run.
pub(crate) fn conversation(template: &str, user: Result<String, TaskError>) -> Vec<Message> {
    let user = user.unwrap_or_else(|e| format!("{template}\n(kiln: {e})"));
    vec![
        crate::llm::messages::system(prompt::SYSTEM),
        crate::llm::messages::user(user),
    ]
}

/// The first line of `text` that says something (blank leading lines are skipped): what a
/// one-line display shows of a failure, in the agent's history, a batch part's failure, a
/// progress line, the TUI's task list or the hook's output.
pub fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// Every test target of the package (lib, bins, integration tests), unfiltered.
pub(crate) fn whole_suite(location: &SourceLocation) -> TestArgs {
    TestArgs {
        target_flags: vec![
            "-p".to_string(),
            location.package_spec.clone(),
            "--tests".to_string(),
        ],
        filter: None,
    }
}

/// What a proposal's own validation asks of a file text, so the text with only the hunks a user
/// accepted can be judged again: hunks may depend on each other (a helper in one, its use in
/// another), and only the whole proposal was validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Recheck {
    pub location: SourceLocation,
    /// The run the validation made (gen-tests: the module's tests only; fim, refactor: the
    /// package's suite; doc: the doctests).
    pub test_args: TestArgs,
    pub rule: RecheckRule,
}

/// What the run of a [`Recheck`] must show, as each task's verdict asks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecheckRule {
    /// The run passes, or runs no test: a crate without tests still had to build (fim, refactor).
    Passes,
    /// Tests must run and pass: the text holds the tests that remain (gen-tests).
    TestsPass,
    /// Only comments may differ from the file as read, then as [`RecheckRule::Passes`] (doc).
    CommentsOnly,
}

impl RecheckRule {
    /// Whether a run that ended so satisfies the rule; the comments are checked apart.
    pub fn accepts(self, outcome: RunOutcome) -> bool {
        match self {
            RecheckRule::Passes | RecheckRule::CommentsOnly => {
                matches!(outcome, RunOutcome::Passed | RunOutcome::NoTestsRan)
            }
            RecheckRule::TestsPass => outcome == RunOutcome::Passed,
        }
    }
}

/// How one part of a [`Batched`] task ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PartEnd {
    /// The part's validated file text, if it got one.
    pub proposed: Option<String>,
    /// Why it got none, in one line for people.
    pub failure: Option<String>,
    pub attempts: u32,
}

/// A task too big for one request: its parts are separate conversations that run concurrently,
/// and their results come back as one proposal for the file.
pub trait Batched: Send + Sync {
    /// For progress lines: "gen-tests for 12 functions in src/lib.rs, in 3 batches".
    fn title(&self) -> String;
    fn file(&self) -> &TaskFile;
    fn parts(&self) -> Vec<&dyn Task>;
    /// What a part of the combined proposal must show to be written (see [`Task::recheck_rule`]).
    fn recheck_rule(&self) -> RecheckRule;
    /// Called before a part's first request, so the batch knows whose candidates to wait for.
    fn part_started(&self, part: usize);
    /// Called after a part's last request.
    fn part_finished(&self, part: usize);
    /// The parts' results as one placement, validated through `sandbox`. `Err`: the sandbox
    /// itself failed.
    fn combine<'a>(
        &'a self,
        ends: &'a [PartEnd],
        sandbox: &'a dyn SandboxRuns,
    ) -> BoxFuture<'a, Result<Validated, String>>;
}

/// A hole to fill as a native completion: the model writes what goes between the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimPrompt {
    pub prompt: String,
    pub suffix: String,
}

pub trait Task: Send + Sync {
    /// For progress lines: "gen-tests for add, parse in src/lib.rs".
    fn title(&self) -> String;
    /// The file the task works on, as it was read.
    fn file(&self) -> &TaskFile;
    fn location(&self) -> &SourceLocation {
        &self.file().location
    }
    /// The file's text as it was read: the diff base, and the guard against concurrent edits.
    fn original(&self) -> &str {
        &self.file().original
    }
    /// System and task prompt: the start of the conversation.
    fn messages(&self) -> Vec<Message>;
    fn tool_description(&self) -> &str;
    /// Puts a candidate into the file, or explains to the model why it cannot be placed.
    fn place(&self, candidate: &str) -> Result<Placement, String>;
    fn judge(&self, placement: &Placement, report: &RunReport) -> Verdict;
    /// Runs a placed candidate and judges it. The default is one sandbox run and [`Task::judge`];
    /// a task that filters its candidate (gen-tests drops tests that break the build, are flaky
    /// or catch no mutant) overrides this and drives more runs through `sandbox`.
    fn validate<'a>(
        &'a self,
        placement: Placement,
        _round: Round,
        sandbox: &'a dyn SandboxRuns,
    ) -> BoxFuture<'a, Result<Validated, String>> {
        Box::pin(async move {
            let report = sandbox
                .run(
                    RunPurpose::Candidate,
                    &placement.new_text,
                    &placement.test_args,
                    &[],
                )
                .await?;
            let verdict = self.judge(&placement, &report);
            Ok(Validated {
                verdict,
                placement,
                report,
                notes: None,
                proposed_tests: None,
            })
        })
    }
    /// What the file with only some of the proposal's hunks must show to be written: the part of
    /// [`Task::judge`] that holds for any text. The default is a passing run or one that runs
    /// no test, as fim and refactor judge.
    fn recheck_rule(&self) -> RecheckRule {
        RecheckRule::Passes
    }
    /// For tasks that fill a hole: the hole as prefix and suffix for a server with a native
    /// completions endpoint (`fim = "completions"`). `feedback` says why the previous candidate
    /// failed, since a completion has no conversation to carry it. `None` (the default): the
    /// task is asked through chat only.
    fn fim_prompt(&self, _feedback: Option<&str>) -> Option<FimPrompt> {
        None
    }
}
