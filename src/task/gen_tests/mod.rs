//! gen-tests: a `#[cfg(test)]` module with unit tests for functions that have none.
//!
//! The whole of gen-tests lives in this folder:
//! - `mod.rs`: the task (targets, prompt, placing a candidate);
//! - `validate.rs`: the filter's steps run over one candidate or a round of batch candidates;
//! - `filter.rs`: the mutant filter (duplicates, build, re-runs, confirmation);
//! - `mutation.rs`: its mutant step (one build, rounds, judging each mutant);
//! - `kill.rs`: the kill rule (a caught mutant versus a crash);
//! - `report.rs`: what the filter tells the user and the model;
//! - `batch.rs`: many functions split into concurrent conversations, combined into one module;
//! - `plan.rs`: what a run will ask (functions, batches, estimated tokens) before it asks;
//! - `rendezvous.rs`: where the batch's concurrent candidates meet to share one build;
//! - `tidy.rs`: the proposed module laid out by rustfmt.

mod batch;
mod filter;
mod kill;
mod mutation;
mod plan;
mod rendezvous;
mod report;
mod tidy;
mod validate;

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;
use kiln_sandbox::{RunOutcome, RunReport, TestArgs};

use batch::BatchShared;
pub use batch::{Batching, GenTestsBatch};
use filter::FEEDBACK_MAX_BYTES;
pub use filter::{FilterSettings, Mutation};
pub use plan::{estimated_tokens, Chosen, Plan};
use validate::Part;

use super::{
    source, Placement, RecheckRule, Round, SandboxRuns, Task, TaskError, TaskFile, Validated,
    Verdict,
};
use crate::code::{self, FnItem};
use crate::config::WHOLE_FILE_MAX_LINES;
use crate::llm::Message;
use crate::prompt;

const TOOL_DESCRIPTION: &str = "Compile the crate with your test module appended to the file and \
run those tests. Returns compiler errors or failing tests with their messages, or success.";

pub struct GenTests {
    file: TaskFile,
    /// The file parsed once; the batches of a big file share it.
    source: Arc<code::SourceFile>,
    part: Arc<Part>,
    module_name: String,
    /// The prompt's code context: a batch's is built with the others' from one index of the
    /// file; a task run whole builds its own when it first asks, so a task split into
    /// batches never builds one for all of its targets.
    context: OnceLock<String>,
    /// The tests `mod module_name` already has (kiln's own module from an earlier run): they
    /// stay as they are, never judged or dropped.
    existing_tests: Arc<Vec<String>>,
    context_is_whole_file: bool,
    filter: FilterSettings,
    chosen: Chosen,
    /// Set when this task is one part of a [`GenTestsBatch`].
    batch: Option<Arc<BatchShared>>,
    /// The crate-wide index of definitions, shared by the parts of a batch and built by the
    /// first prompt (a plan that is refused costs none).
    crate_index: Arc<OnceLock<code::CrateIndex>>,
}

impl GenTests {
    /// Reads `file` and picks the functions to test: the named ones, or every non-test function
    /// that no test in the file calls yet.
    pub fn new(file: &Path, only: &[String]) -> Result<GenTests, TaskError> {
        let source::Loaded {
            location,
            original,
            source,
        } = source::load(file)?;
        let functions: Vec<FnItem> = code::list_fns(&source)
            .into_iter()
            .filter(|f| !f.is_test_code)
            .collect();
        let targets = pick_targets(file, &functions, only)?;
        let chosen = if only.is_empty() {
            Chosen::Untested
        } else {
            Chosen::Named
        };
        let module_name = match code::module_lines(&original, KILN_MODULE) {
            Ok(Some(_)) => KILN_MODULE.to_string(),
            _ => free_module_name(&code::top_level_module_names(&source)),
        };
        let existing_tests = code::test_fns(&original, &module_name)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.name)
            .collect();
        let context_is_whole_file = original.lines().count() <= WHOLE_FILE_MAX_LINES;
        Ok(GenTests {
            file: TaskFile {
                location,
                original: original.into(),
            },
            context_is_whole_file,
            source: Arc::new(source),
            part: Arc::new(Part {
                index: 0,
                targets,
                state: Mutex::default(),
            }),
            module_name,
            existing_tests: Arc::new(existing_tests),
            context: OnceLock::new(),
            filter: FilterSettings::default(),
            chosen,
            batch: None,
            crate_index: Arc::default(),
        })
    }

    /// Only the first `count` targets, in file order (`--max-functions`): a bound the user
    /// chose, so the run needs no further consent.
    pub fn first_functions(mut self, count: usize) -> GenTests {
        let of = self.targets().len();
        let mut targets = self.part.targets.clone();
        targets.truncate(count.max(1));
        self.part = Arc::new(Part {
            index: 0,
            targets,
            state: Mutex::default(),
        });
        self.chosen = Chosen::First { of };
        self
    }

    /// Part `index` of this task's batch, for `targets`, with their `context`.
    fn part(
        &self,
        targets: Vec<FnItem>,
        context: String,
        shared: Arc<BatchShared>,
        index: usize,
    ) -> GenTests {
        GenTests {
            file: self.file.clone(),
            source: self.source.clone(),
            part: Arc::new(Part {
                index,
                targets,
                state: Mutex::default(),
            }),
            module_name: self.module_name.clone(),
            context: OnceLock::from(context),
            context_is_whole_file: self.context_is_whole_file,
            filter: self.filter,
            chosen: self.chosen.clone(),
            batch: Some(shared),
            crate_index: self.crate_index.clone(),
            existing_tests: self.existing_tests.clone(),
        }
    }

    fn context(&self) -> &str {
        self.context
            .get_or_init(|| code::context_for(&self.source, self.targets(), WHOLE_FILE_MAX_LINES))
    }

    /// How strictly generated tests are filtered (default: 3 re-runs, mutation on).
    pub fn with_filter(mut self, filter: FilterSettings) -> GenTests {
        self.filter = filter;
        self
    }

    /// This task split into batches of at most `batch_size` functions, in file order so each
    /// batch's context stays small; a single conversation when one batch holds every target.
    pub fn batched(self, batch_size: usize) -> Batching {
        batch::split(self, batch_size)
    }

    pub fn targets(&self) -> &[FnItem] {
        &self.part.targets
    }

    pub fn module_name(&self) -> &str {
        &self.module_name
    }

    fn user_prompt(&self) -> Result<String, TaskError> {
        let targets: String = self
            .targets()
            .iter()
            .map(|f| {
                format!(
                    "- `{}` (line {}): `{}`\n",
                    f.qualified_name, f.start_line, f.signature
                )
            })
            .collect();
        let targets = match self.targets().iter().any(|f| f.is_async) {
            true => format!("{targets}\n{}", async_note(&self.file.location)),
            false => targets,
        };
        let file = self.file.location.relative_path.display().to_string();
        let crate_index = self
            .crate_index
            .get_or_init(|| source::crate_index(&self.file.location));
        let context = source::with_definitions(
            self.context().to_string(),
            crate_index,
            &self.file.location,
            &self.source,
            self.targets(),
        );
        let context_kind = if self.context_is_whole_file {
            "the whole file"
        } else {
            "the parts of the file they need; `// ...` marks code left out"
        };
        Ok(prompt::render(
            prompt::GEN_TESTS,
            &[
                ("file", &file),
                ("targets", targets.trim_end()),
                ("context_kind", context_kind),
                ("context", context.trim_end()),
                ("module", &self.module_name),
            ],
        )?)
    }

    /// The file with `module_text`: added to the module it names when the file has it (kiln's
    /// own, from an earlier run), else appended as a new module.
    fn file_with_module(&self, module_text: &str) -> Result<String, String> {
        if !matches!(
            code::module_lines(&self.file.original, &self.module_name),
            Ok(Some(_))
        ) {
            return code::append_module(&self.file.original, module_text)
                .map_err(|e| format!("kiln could not add the module to the file: {e}"));
        }
        match code::merge_test_modules(&self.file.original, module_text, &self.module_name) {
            Ok(code::Merged::Text(text)) => Ok(text),
            Ok(code::Merged::Clash(name)) => Err(format!(
                "`{name}` is already defined in the file's `mod {}`, with different code. Give \
                 yours another name.",
                self.module_name
            )),
            Err(e) => Err(format!(
                "kiln could not add the tests to `mod {}`: {e}",
                self.module_name
            )),
        }
    }

    /// Green if the module's tests passed, else what the model is told about the run.
    fn run_verdict(&self, report: &RunReport) -> Verdict {
        match report.outcome {
            RunOutcome::Passed => Verdict::Green,
            RunOutcome::NoTestsRan => Verdict::Red(format!(
                "No tests ran. Put `#[test]` functions inside `mod {}`.",
                self.module_name
            )),
            _ => Verdict::Red(report.summary_for_model(FEEDBACK_MAX_BYTES)),
        }
    }
}

/// How this crate's tests can await: by the runtime its manifest has.
fn async_note(location: &crate::project::SourceLocation) -> &'static str {
    use crate::project::AsyncRuntime;
    match crate::project::async_runtime(location) {
        AsyncRuntime::TokioTest => prompt::ASYNC_TOKIO,
        AsyncRuntime::AsyncStdTest => prompt::ASYNC_ASYNC_STD,
        AsyncRuntime::FuturesBlockOn => prompt::ASYNC_FUTURES,
        AsyncRuntime::None => prompt::ASYNC_NONE,
    }
    .trim_end()
}

fn pick_targets(
    file: &Path,
    functions: &[FnItem],
    only: &[String],
) -> Result<Vec<FnItem>, TaskError> {
    if functions.is_empty() {
        return Err(TaskError::NoTargets(format!(
            "{}: no functions found to test",
            file.display()
        )));
    }
    if !only.is_empty() {
        let mut picked = Vec::new();
        for name in only {
            let matches: Vec<&FnItem> = functions
                .iter()
                .filter(|f| &f.name == name || &f.qualified_name == name)
                .collect();
            if matches.is_empty() {
                let known: Vec<String> =
                    functions.iter().map(|f| f.qualified_name.clone()).collect();
                return Err(source::unknown_name(file, "function", name, &known));
            }
            picked.extend(matches.into_iter().cloned());
        }
        picked.dedup();
        return Ok(picked);
    }
    let untested: Vec<FnItem> = functions
        .iter()
        .filter(|f| !f.has_tests && f.name != "main")
        .cloned()
        .collect();
    if untested.is_empty() {
        return Err(TaskError::NothingToDo(format!(
            "{}: every function already has tests (name one with --fn to add more)",
            file.display()
        )));
    }
    Ok(untested)
}

/// kiln's own test module: a file that has it inline gets later runs' tests added to it, where
/// any other module (`tests` included: kiln cannot tell its own from the user's) is left alone.
const KILN_MODULE: &str = "kiln_tests";

/// `tests` unless the file already has a module of that name, so the user's tests are never replaced.
fn free_module_name(existing: &[String]) -> String {
    ["tests", "kiln_tests"]
        .into_iter()
        .map(str::to_string)
        .chain((2..).map(|n| format!("kiln_tests_{n}")))
        .find(|name| !existing.contains(name))
        .unwrap_or_else(|| "kiln_tests".to_string())
}

impl Task for GenTests {
    fn title(&self) -> String {
        format!(
            "gen-tests for {} in {}",
            listed_names(self.targets()).join(", "),
            self.file.location.relative_path.display()
        )
    }

    fn file(&self) -> &TaskFile {
        &self.file
    }

    fn messages(&self) -> Vec<Message> {
        super::conversation(prompt::GEN_TESTS, self.user_prompt())
    }

    fn tool_description(&self) -> &str {
        TOOL_DESCRIPTION
    }

    fn place(&self, candidate: &str) -> Result<Placement, String> {
        let module = code::normalize_test_module(candidate, &self.module_name).map_err(|e| {
            format!(
                "kiln could not use that code: {e}. Send one `#[cfg(test)] mod {} {{ use super::*; ... }}` \
                 module with `#[test]` functions.",
                self.module_name
            )
        })?;
        let carried: Vec<String> = self
            .part
            .state()
            .carried
            .iter()
            .filter(|(name, _)| !module.test_names.contains(name))
            .map(|(_, text)| text.clone())
            .collect();
        let module_text = code::with_tests(&module.text, &self.module_name, &carried)
            .map_err(|e| format!("kiln could not add the tests kept so far: {e}"))?;
        let new_text = self.file_with_module(&module_text)?;
        let names: Vec<String> = code::test_fns(&new_text, &self.module_name)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.name)
            .filter(|name| !self.existing_tests.contains(name))
            .collect();
        if let Some(batch) = &self.batch {
            batch
                .claim(self.part.index, &new_text, &self.module_name)
                .map_err(|name| {
                    format!(
                        "`{name}` is already defined in `mod {}`, with different code, by the tests \
                         kiln is writing for other functions of this file. Give yours another name.",
                        self.module_name
                    )
                })?;
        }
        Ok(Placement {
            new_text,
            summary: tests_summary(&names),
            test_args: TestArgs {
                target_flags: self.file.location.cargo_flags(),
                filter: Some(self.file.location.test_filter(&self.module_name)),
            },
        })
    }

    fn judge(&self, _placement: &Placement, report: &RunReport) -> Verdict {
        self.run_verdict(report)
    }

    /// The tests that remain must run and pass, as [`GenTests::run_verdict`] asks; re-runs and
    /// mutants judged the tests already, and a hunk choice does not change a test.
    fn recheck_rule(&self) -> RecheckRule {
        RecheckRule::TestsPass
    }

    fn validate<'a>(
        &'a self,
        placement: Placement,
        round: Round,
        sandbox: &'a dyn SandboxRuns,
    ) -> BoxFuture<'a, Result<Validated, String>> {
        Box::pin(self.filter_tests(placement, round, sandbox))
    }
}

/// The targets' names as a title or a line lists them: cfg-gated twins (`#[cfg(unix)] fn weight`
/// beside `#[cfg(not(unix))] fn weight`) share a qualified name and are listed once, with their
/// count, rather than as `weight, weight`.
fn listed_names(targets: &[FnItem]) -> Vec<String> {
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for f in targets {
        match counted
            .iter_mut()
            .find(|(name, _)| *name == f.qualified_name)
        {
            Some((_, count)) => *count += 1,
            None => counted.push((&f.qualified_name, 1)),
        }
    }
    counted
        .into_iter()
        .map(|(name, count)| match count {
            1 => name.to_string(),
            n => format!("{name} ({n} cfg variants)"),
        })
        .collect()
}

/// "2 tests: a, b" for progress and the result.
fn tests_summary(names: &[String]) -> String {
    format!(
        "{} test{}: {}",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn crate_with(lib: &str) -> tempfile::TempDir {
        crate::task::test_crate::crate_with("t", lib)
    }

    #[test]
    fn untested_functions_are_targets_and_the_prompt_names_them() {
        let dir = crate_with(
            "pub fn add(a: i32, b: i32) -> i32 { a + b }\npub fn neg(a: i32) -> i32 { -a }\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn n() { assert_eq!(neg(1), -1); }\n}\n",
        );
        let task = GenTests::new(&dir.path().join("src/lib.rs"), &[]).unwrap();
        let names: Vec<&str> = task.targets().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["add"]);
        assert_eq!(task.module_name(), "kiln_tests");
        let prompt = task.user_prompt().unwrap();
        assert!(prompt.contains("`add` (line 1)"), "{prompt}");
        assert!(prompt.contains("mod kiln_tests"), "{prompt}");
        assert!(!prompt.contains("{{"), "{prompt}");
    }

    #[test]
    fn named_function_that_does_not_exist_lists_the_real_ones() {
        let dir = crate_with("pub fn add(a: i32, b: i32) -> i32 { a + b }\n");
        let err = GenTests::new(&dir.path().join("src/lib.rs"), &["sub".to_string()])
            .err()
            .unwrap();
        assert!(err.to_string().contains("no function named `sub`"));
        assert!(err.to_string().contains("add"));
    }

    #[test]
    fn fully_tested_file_is_nothing_to_do() {
        let dir = crate_with(
            "pub fn one() -> i32 { 1 }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(super::one(), 1); }\n}\n",
        );
        let err = GenTests::new(&dir.path().join("src/lib.rs"), &[])
            .err()
            .unwrap();
        assert!(matches!(err, TaskError::NothingToDo(_)), "{err}");
    }

    #[test]
    fn placement_appends_a_module_and_filters_its_tests() {
        let dir = crate_with("pub fn add(a: i32, b: i32) -> i32 { a + b }\n");
        let task = GenTests::new(&dir.path().join("src/lib.rs"), &[]).unwrap();
        let placement = task
            .place("#[test]\nfn adds() { assert_eq!(add(1, 2), 3); }")
            .unwrap();
        assert!(placement.new_text.starts_with("pub fn add"));
        assert!(placement.new_text.contains("mod tests {"));
        assert_eq!(placement.summary, "1 test: adds");
        assert_eq!(placement.test_args.filter.as_deref(), Some("tests::"));
        assert!(task.place("this is not rust").is_err());
    }

    #[test]
    fn cfg_twins_are_listed_once_with_their_count() {
        let dir = crate_with(
            "#[cfg(unix)]\npub fn weight() -> u32 { 1 }\n#[cfg(not(unix))]\npub fn weight() -> u32 { 2 }\npub fn other() {}\n",
        );
        let task = GenTests::new(&dir.path().join("src/lib.rs"), &[]).unwrap();
        assert_eq!(
            task.title(),
            "gen-tests for weight (2 cfg variants), other in src/lib.rs"
        );
    }

    #[test]
    fn free_module_names_skip_taken_ones() {
        assert_eq!(free_module_name(&[]), "tests");
        assert_eq!(
            free_module_name(&["tests".to_string(), "kiln_tests".to_string()]),
            "kiln_tests_2"
        );
    }
}
