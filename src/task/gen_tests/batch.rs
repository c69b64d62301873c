//! gen-tests for many functions at once. The targets are split into batches of a few functions;
//! each batch is its own conversation (the agent runs them concurrently), the candidates of a
//! round are validated together in one sandbox build, and the kept tests become one module.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use kiln_sandbox::{RunOutcome, TestArgs};

use super::filter::{Filter, Step, FEEDBACK_MAX_BYTES};
use super::rendezvous::Rendezvous;
use super::report;
use super::tidy;
use super::validate::{add_mutation_error, function_reports, Candidate};
use super::{tests_summary, Chosen, GenTests};
use crate::code::{self, ContextIndex, Merged, TestFn};
use crate::config::WHOLE_FILE_MAX_LINES;
use crate::task::{
    Batched, PartEnd, Placement, ProposedTests, RecheckRule, SandboxRuns, Task, TaskFile,
    Validated, ValidationNotes, Verdict,
};

pub struct GenTestsBatch {
    file: TaskFile,
    module_name: String,
    chosen: Chosen,
    /// The tests the module had before this run (see [`GenTests`]).
    existing_tests: Arc<Vec<String>>,
    parts: Vec<GenTests>,
    shared: Arc<BatchShared>,
}

/// What the parts of a batch share: the validation rounds, and which names each part's tests
/// use, so two parts never give one name to different items of the module.
#[derive(Default)]
pub(super) struct BatchShared {
    pub rounds: Rendezvous<Candidate, Result<Validated, String>>,
    claims: Mutex<BTreeMap<usize, Claim>>,
}

/// A part's module texts that others must fit with.
#[derive(Default)]
struct Claim {
    /// What it keeps so far.
    kept: Option<String>,
    /// Its candidate being validated.
    pending: Option<String>,
}

impl BatchShared {
    fn claims(&self) -> MutexGuard<'_, BTreeMap<usize, Claim>> {
        // Plain bookkeeping: a panic elsewhere cannot leave it half-updated.
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `text` as `part`'s pending candidate, unless its module defines a name that
    /// another part's module gives to a different item. `Err`: that name.
    pub fn claim(&self, part: usize, text: &str, module: &str) -> Result<(), String> {
        let mut claims = self.claims();
        for (other, claim) in claims.iter() {
            if *other == part {
                continue;
            }
            for theirs in [&claim.kept, &claim.pending].into_iter().flatten() {
                if let Ok(Merged::Clash(name)) = code::merge_test_modules(theirs, text, module) {
                    return Err(name);
                }
            }
        }
        claims.entry(part).or_default().pending = Some(text.to_string());
        Ok(())
    }

    /// After validation: a candidate that passed, whole or in part, is what the part keeps.
    pub fn settle(&self, part: usize, result: &Result<Validated, String>) {
        let mut claims = self.claims();
        let claim = claims.entry(part).or_default();
        claim.pending = None;
        if let Ok(validated) = result {
            if !matches!(validated.verdict, Verdict::Red(_)) {
                claim.kept = Some(validated.placement.new_text.clone());
            }
        }
    }
}

/// A gen-tests task as it will run: one conversation, or batches of them.
pub enum Batching {
    Single(GenTests),
    Batches(GenTestsBatch),
}

/// `task` split into batches of at most `batch_size` functions, in file order so each batch's
/// context stays small; a single conversation when one batch holds every target.
pub(super) fn split(task: GenTests, batch_size: usize) -> Batching {
    let size = batch_size.max(1);
    if task.targets().len() <= size {
        return Batching::Single(task);
    }
    // One index of the file for every batch: walking the file once per batch made a
    // 10,000-function file take minutes.
    let index = ContextIndex::new(&task.source);
    let shared = Arc::new(BatchShared::default());
    let parts = task
        .targets()
        .chunks(size)
        .enumerate()
        .map(|(at, chunk)| {
            let context = index.context_for(chunk, WHOLE_FILE_MAX_LINES);
            task.part(chunk.to_vec(), context, shared.clone(), at)
        })
        .collect();
    Batching::Batches(GenTestsBatch {
        file: task.file,
        module_name: task.module_name,
        chosen: task.chosen,
        existing_tests: task.existing_tests,
        parts,
        shared,
    })
}

impl GenTestsBatch {
    pub fn parts(&self) -> &[GenTests] {
        &self.parts
    }

    pub(super) fn chosen(&self) -> &Chosen {
        &self.chosen
    }

    fn function_names(part: &GenTests) -> Vec<String> {
        part.targets()
            .iter()
            .map(|f| f.qualified_name.clone())
            .collect()
    }

    /// Every part's kept tests in one module, built and run once more since parts that
    /// finished in different rounds were never validated side by side.
    async fn combine_parts(
        &self,
        ends: &[PartEnd],
        sandbox: &dyn SandboxRuns,
    ) -> Result<Validated, String> {
        let (text, lines) = self.merge_parts(ends)?;
        let targets: Vec<_> = self
            .parts
            .iter()
            .flat_map(|p| p.targets().iter().cloned())
            .collect();
        let location = &self.file.location;
        let args = TestArgs {
            target_flags: location.cargo_flags(),
            filter: Some(location.test_filter(&self.module_name)),
        };
        let mut filter = Filter {
            sandbox,
            args: &args,
            module: &self.module_name,
            existing: &self.existing_tests,
            relative_path: &location.relative_path,
            text,
            dropped: Vec::new(),
            mutants: BTreeMap::new(),
        };
        let written = filter.tests().len();
        let (verdict, report) = match filter.build(&targets).await? {
            Step::Ran(report) if report.outcome == RunOutcome::Passed => (Verdict::Green, report),
            Step::Ran(report) => {
                let why = report.summary_for_model(FEEDBACK_MAX_BYTES);
                (
                    Verdict::Red(format!("the batches' tests fail together:\n{why}")),
                    report,
                )
            }
            Step::Stop(report, why) => {
                let why = why.unwrap_or_else(|| "every test broke the build".to_string());
                (
                    Verdict::Red(format!("the batches' tests do not build together:\n{why}")),
                    report,
                )
            }
        };
        let kept = filter.tests();
        let mut notes = self.notes(&filter, &kept, ends);
        notes.lines.extend(lines);
        let names: Vec<String> = kept.iter().map(|t| t.name.clone()).collect();
        Ok(Validated {
            verdict,
            placement: Placement {
                new_text: tidy::formatted(&filter.text, &self.module_name, location).await,
                summary: tests_summary(&names),
                test_args: args.clone(),
            },
            report,
            notes: Some(notes),
            proposed_tests: Some(ProposedTests {
                written,
                kept: names.len(),
            }),
        })
    }

    /// The parts' proposed files merged into one module, and a line for each part left out.
    /// `Err`: no part proposed anything.
    fn merge_parts(&self, ends: &[PartEnd]) -> Result<(String, Vec<String>), String> {
        let mut merged: Option<String> = None;
        let mut lines = Vec::new();
        for (part, end) in self.parts.iter().zip(ends) {
            let names = super::listed_names(part.targets()).join(", ");
            let Some(text) = &end.proposed else {
                let why = end.failure.as_deref().unwrap_or("no result");
                lines.push(format!("no tests for {names}: {why}"));
                continue;
            };
            merged = Some(match merged {
                None => text.clone(),
                Some(so_far) => match code::merge_test_modules(&so_far, text, &self.module_name) {
                    Ok(Merged::Text(both)) => both,
                    Ok(Merged::Clash(name)) => {
                        lines.push(format!("tests for {names} left out: their `{name}` clashes with another batch's"));
                        so_far
                    }
                    Err(e) => {
                        lines.push(format!("tests for {names} left out: {e}"));
                        so_far
                    }
                },
            });
        }
        let text = merged.ok_or_else(|| "no batch produced tests to combine".to_string())?;
        Ok((text, lines))
    }

    /// The report of the combined run: per function what each part's filter found plus what
    /// the combined build dropped, and per batch its attempts and failure.
    fn notes(&self, filter: &Filter<'_>, kept: &[TestFn], ends: &[PartEnd]) -> ValidationNotes {
        let mut functions = Vec::new();
        let mut mutation_errors = Vec::new();
        for part in &self.parts {
            let mut state = part.part.state();
            let names = Self::function_names(part);
            state.dropped.extend(
                filter
                    .dropped
                    .iter()
                    .filter(|d| d.functions.iter().any(|f| names.contains(f)))
                    .cloned(),
            );
            functions.extend(function_reports(part.targets(), &state, kept));
            mutation_errors.push(state.mutation_error.clone());
        }
        let mut notes = report::notes(&functions);
        for error in mutation_errors.iter().flatten() {
            add_mutation_error(&mut notes, Some(error));
        }
        notes.json["batches"] = self
            .parts
            .iter()
            .zip(ends)
            .map(|(part, end)| {
                serde_json::json!({
                    "functions": Self::function_names(part),
                    "attempts": end.attempts,
                    "failure": end.failure,
                })
            })
            .collect();
        notes
    }
}

impl Batched for GenTestsBatch {
    fn title(&self) -> String {
        let functions: usize = self.parts.iter().map(|p| p.targets().len()).sum();
        format!(
            "gen-tests for {functions} functions in {}, in {} batches",
            self.file.location.relative_path.display(),
            self.parts.len()
        )
    }

    fn file(&self) -> &TaskFile {
        &self.file
    }

    fn parts(&self) -> Vec<&dyn Task> {
        self.parts.iter().map(|p| p as &dyn Task).collect()
    }

    fn recheck_rule(&self) -> RecheckRule {
        RecheckRule::TestsPass
    }

    fn part_started(&self, part: usize) {
        self.shared.rounds.started(part);
    }

    fn part_finished(&self, part: usize) {
        self.shared.rounds.finished(part);
    }

    fn combine<'a>(
        &'a self,
        ends: &'a [PartEnd],
        sandbox: &'a dyn SandboxRuns,
    ) -> BoxFuture<'a, Result<Validated, String>> {
        Box::pin(self.combine_parts(ends, sandbox))
    }
}
