//! gen-tests validation: the filter's steps in order, for one candidate or for the candidates of
//! several batch parts in one build, what later rounds keep, and the report. These are methods of
//! [`GenTests`] because validating is the task's own step (`Task::validate`); they live apart
//! from `mod.rs` so the task's prompt and placement read on their own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use kiln_sandbox::{RunOutcome, RunReport};

use super::filter::{called, verdict, Filter, Step};
use super::report::{self, DropReason, DroppedTest, FunctionReport, MutantOutcome, MutantResult};
use super::tidy;
use super::{tests_summary, GenTests, Mutation};
use crate::code::{self, FnItem, TestFn};
use crate::config::Tier;
use crate::task::{
    first_line, Placement, ProposedTests, Round, SandboxRuns, Validated, ValidationNotes, Verdict,
};

/// The functions one conversation writes tests for, and what its filter remembers.
#[derive(Debug)]
pub(super) struct Part {
    /// Its place in the batch (0 when the task is not batched).
    pub index: usize,
    pub targets: Vec<FnItem>,
    pub state: Mutex<FilterState>,
}

impl Part {
    pub fn state(&self) -> MutexGuard<'_, FilterState> {
        // The state is plain data; a panic elsewhere cannot leave it half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the filter remembers between rounds of one conversation.
#[derive(Debug, Default)]
pub(super) struct FilterState {
    /// Tests kept by an earlier round, by name with their text: added to every later candidate
    /// so the model only has to replace what was dropped.
    pub carried: Vec<(String, String)>,
    /// Every test dropped so far, for the report.
    pub dropped: Vec<DroppedTest>,
    /// Per target function, the requests per tier whose candidate tested it.
    pub attempts: BTreeMap<String, BTreeMap<Tier, u32>>,
    /// Per target function, the mutants of the last round that judged it.
    pub mutants: BTreeMap<String, Vec<MutantResult>>,
    /// Why the last round could not run mutants, if it could not.
    pub mutation_error: Option<String>,
}

/// One conversation's placed candidate, waiting to be validated.
pub(super) struct Candidate {
    pub part: Arc<Part>,
    pub placement: Placement,
    pub round: Round,
}

impl Candidate {
    /// Its tests, less those the module had before (`existing`).
    fn tests(&self, module: &str, existing: &[String]) -> Vec<TestFn> {
        let mut tests = code::test_fns(&self.placement.new_text, module).unwrap_or_default();
        tests.retain(|t| !existing.contains(&t.name));
        tests
    }

    fn test_names(&self, module: &str, existing: &[String]) -> Vec<String> {
        self.tests(module, existing)
            .into_iter()
            .map(|t| t.name)
            .collect()
    }
}

/// How validating candidates together went.
enum Together {
    Done(Vec<Validated>),
    /// The module failed as a whole (an error outside any test, a crash): each candidate must
    /// be validated alone to know whose fault it was.
    Apart,
}

/// Why a candidate goes back whole: the build or one of its tests failed.
type SentBack = BTreeMap<usize, String>;

/// How the candidate's own runs went: done with it, or on to the mutants with what passed.
enum Flow {
    Done(Together),
    Mutants(Box<Passed>),
}

/// The candidate's runs, passed by at least some of its tests.
struct Passed {
    /// Its first run.
    report: RunReport,
    /// The file as that run had it.
    text: String,
    sent_back: SentBack,
    /// The run in which the members sent back failed.
    sent_back_report: Option<RunReport>,
}

/// Runs `runs` with `ahead` (the mutant build made ahead) beside it. When the runs end on the
/// way to the mutants, the build ahead is waited for, since the mutant build is next and would
/// wait for it anyway; otherwise it is stopped: those mutants will not be run.
async fn beside(
    runs: impl std::future::Future<Output = Result<Flow, String>>,
    ahead: impl std::future::Future<Output = ()>,
) -> Result<Flow, String> {
    let (runs, ahead) = (std::pin::pin!(runs), std::pin::pin!(ahead));
    match futures::future::select(runs, ahead).await {
        futures::future::Either::Left((flow, ahead)) => {
            if matches!(flow, Ok(Flow::Mutants(_))) {
                ahead.await;
            }
            flow
        }
        futures::future::Either::Right(((), runs)) => runs.await,
    }
}

impl GenTests {
    /// Runs the filter (duplicates, build, re-runs, mutants) over one candidate; a batch part's
    /// candidate waits for the other parts' and is validated with them.
    pub(super) async fn filter_tests(
        &self,
        placement: Placement,
        round: Round,
        sandbox: &dyn SandboxRuns,
    ) -> Result<Validated, String> {
        let candidate = Candidate {
            part: self.part.clone(),
            placement,
            round,
        };
        match &self.batch {
            None => {
                let mut result = self
                    .validate_round(vec![candidate], sandbox)
                    .await
                    .pop()
                    .unwrap_or_else(|| Err(lost()));
                // A batch's parts are laid out once combined; a lone one here, as proposed.
                if let Ok(validated) = &mut result {
                    let text = &validated.placement.new_text;
                    validated.placement.new_text =
                        tidy::formatted(text, &self.module_name, &self.file.location).await;
                }
                result
            }
            Some(batch) => {
                let result = batch
                    .rounds
                    .submit(self.part.index, candidate, |candidates| {
                        self.validate_round(candidates, sandbox)
                    })
                    .await;
                batch.settle(self.part.index, &result);
                result
            }
        }
    }

    /// Validates `candidates` in as few builds as they allow: together, unless their module
    /// fails as a whole, then one by one. One result per candidate, in order.
    pub(super) async fn validate_round(
        &self,
        candidates: Vec<Candidate>,
        sandbox: &dyn SandboxRuns,
    ) -> Vec<Result<Validated, String>> {
        for candidate in &candidates {
            count_attempt(candidate, &self.module_name, &self.existing_tests);
        }
        let mut results: Vec<Option<Result<Validated, String>>> =
            candidates.iter().map(|_| None).collect();
        for (members, text) in self.groups(&candidates) {
            let together = self
                .validate_together(&candidates, &members, text, sandbox)
                .await;
            let alone = match together {
                Ok(Together::Done(validated)) => {
                    for (m, v) in members.iter().zip(validated) {
                        results[*m] = Some(Ok(v));
                    }
                    continue;
                }
                Ok(Together::Apart) => members,
                Err(e) => {
                    for m in members {
                        results[m] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            for m in alone {
                let text = candidates[m].placement.new_text.clone();
                results[m] = Some(
                    match self
                        .validate_together(&candidates, &[m], text, sandbox)
                        .await
                    {
                        Ok(Together::Done(mut v)) => v.pop().ok_or_else(lost),
                        Ok(Together::Apart) => Err(lost()),
                        Err(e) => Err(e),
                    },
                );
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(lost())))
            .collect()
    }

    /// Candidates whose modules merge into one, with the merged file text. Batch parts claim
    /// their names when placing, so a clash here is rare; a clashing candidate goes alone.
    fn groups(&self, candidates: &[Candidate]) -> Vec<(Vec<usize>, String)> {
        let mut groups: Vec<(Vec<usize>, String)> = Vec::new();
        'candidates: for (i, c) in candidates.iter().enumerate() {
            for (members, text) in &mut groups {
                let merged =
                    code::merge_test_modules(text, &c.placement.new_text, &self.module_name);
                if let Ok(code::Merged::Text(merged)) = merged {
                    members.push(i);
                    *text = merged;
                    continue 'candidates;
                }
            }
            groups.push((vec![i], c.placement.new_text.clone()));
        }
        groups
    }

    /// The filter's steps, in order: duplicates, build, re-runs, mutants, over the merged
    /// module of `members`. A member whose test fails goes back whole, as a lone candidate would.
    async fn validate_together(
        &self,
        candidates: &[Candidate],
        members: &[usize],
        text: String,
        sandbox: &dyn SandboxRuns,
    ) -> Result<Together, String> {
        let members: Vec<&Candidate> = members.iter().map(|m| &candidates[*m]).collect();
        let Some(first) = members.first() else {
            return Ok(Together::Done(Vec::new()));
        };
        let targets: Vec<FnItem> = members
            .iter()
            .flat_map(|c| c.part.targets.iter().cloned())
            .collect();
        let owned: Vec<Vec<String>> = members
            .iter()
            .map(|c| c.test_names(&self.module_name, &self.existing_tests))
            .collect();
        let mut filter = Filter {
            sandbox,
            args: &first.placement.test_args,
            module: &self.module_name,
            existing: &self.existing_tests,
            relative_path: &self.file.location.relative_path,
            text,
            dropped: Vec::new(),
            mutants: BTreeMap::new(),
        };
        filter.drop_duplicates(&targets);
        let alone = members.len() == 1;
        if !alone {
            sandbox.step(&format!(
                "testing the candidates of {} batches together in one build",
                members.len()
            ));
        }
        let ahead = (self.filter.mutation == Mutation::On)
            .then(|| filter.mutant_text_ahead(&targets))
            .flatten();
        let runs = self.candidate_runs(&mut filter, &members, &owned, &targets);
        let flow = match &ahead {
            Some(text) => {
                let ahead = sandbox.build_mutants_ahead(text, &first.placement.test_args);
                beside(runs, ahead).await?
            }
            None => runs.await?,
        };
        let Passed {
            report,
            text: passed_text,
            sent_back,
            sent_back_report,
        } = match flow {
            Flow::Done(together) => return Ok(together),
            Flow::Mutants(passed) => *passed,
        };
        let mutation_error = self.drop_survivors(&mut filter, &targets).await?;
        let mut report = report;
        let changed = filter.text != passed_text || !sent_back.is_empty();
        if changed && !filter.tests().is_empty() {
            match filter.confirm().await? {
                Step::Ran(confirmed) => report = confirmed,
                Step::Stop(_, _) if !alone => return Ok(Together::Apart),
                Step::Stop(report, feedback) => {
                    let all = feedback.map(|f| (0, f)).into_iter().collect();
                    return Ok(Together::Done(
                        self.finish(&members, &owned, &filter, report, &all, None),
                    ));
                }
            }
        }
        let mut validated = self.finish(
            &members,
            &owned,
            &filter,
            report,
            &sent_back,
            mutation_error,
        );
        if let Some(failed) = sent_back_report {
            show_failed_run(&mut validated, &sent_back, &failed);
        }
        Ok(Together::Done(validated))
    }

    /// The candidate's build and run, then the re-runs of the tests that passed: everything
    /// before the mutants, which may be building beside it (see [`beside`]).
    async fn candidate_runs(
        &self,
        filter: &mut Filter<'_>,
        members: &[&Candidate],
        owned: &[Vec<String>],
        targets: &[FnItem],
    ) -> Result<Flow, String> {
        let alone = members.len() == 1;
        let report = match filter.build(targets).await? {
            Step::Ran(report) => report,
            Step::Stop(_, Some(_)) if !alone => return Ok(Flow::Done(Together::Apart)),
            Step::Stop(report, feedback) => {
                let all = (0..members.len())
                    .filter_map(|i| Some((i, feedback.clone()?)))
                    .collect();
                return Ok(Flow::Done(Together::Done(
                    self.finish(members, owned, filter, report, &all, None),
                )));
            }
        };
        let passed_text = filter.text.clone();
        let mut sent_back = SentBack::new();
        let mut sent_back_report = None;
        if report.outcome != RunOutcome::Passed {
            sent_back = match self.send_back_failing(filter, &report, owned, alone)? {
                Some(sent_back) => sent_back,
                None => return Ok(Flow::Done(Together::Apart)),
            };
            if filter.tests().is_empty() {
                return Ok(Flow::Done(Together::Done(
                    self.finish(members, owned, filter, report, &sent_back, None),
                )));
            }
            sent_back_report = Some(report.clone());
            // The others passed in this run; the re-runs and the confirmation run without the
            // failing ones.
        }
        filter.drop_flaky(targets, self.filter.reruns).await?;
        Ok(Flow::Mutants(Box::new(Passed {
            report,
            text: passed_text,
            sent_back,
            sent_back_report,
        })))
    }

    /// Mutants over the tests that passed, where mutation is on. Returns why it could not run.
    async fn drop_survivors(
        &self,
        filter: &mut Filter<'_>,
        targets: &[FnItem],
    ) -> Result<Option<String>, String> {
        if self.filter.mutation == Mutation::On && !filter.tests().is_empty() {
            return filter.drop_survivors(targets).await;
        }
        Ok(None)
    }

    /// After a run in which tests failed: the members whose own tests failed (a lone
    /// candidate: always) go back whole, each told its own failures, and their tests leave
    /// `filter`'s module. `None`: no member's test failed, so the module failed as a whole.
    fn send_back_failing(
        &self,
        filter: &mut Filter<'_>,
        report: &RunReport,
        owned: &[Vec<String>],
        alone: bool,
    ) -> Result<Option<SentBack>, String> {
        let failed = filter.failed_tests(report);
        let mut sent_back = SentBack::new();
        for (i, names) in owned.iter().enumerate() {
            if alone || names.iter().any(|n| failed.contains(n)) {
                sent_back.insert(i, self.failure_feedback(filter, report, names, alone));
            }
        }
        if sent_back.is_empty() {
            return Ok(None);
        }
        let doomed: Vec<String> = sent_back
            .keys()
            .flat_map(|i| owned[*i].iter().cloned())
            .collect();
        filter.text = code::without_tests(&filter.text, &self.module_name, &doomed)
            .map_err(|e| format!("kiln could not set failing tests aside: {e}"))?;
        Ok(Some(sent_back))
    }

    /// What a candidate whose tests failed is told: a lone candidate the whole run, a member
    /// of a merged run only its own failures.
    fn failure_feedback(
        &self,
        filter: &Filter<'_>,
        report: &RunReport,
        names: &[String],
        alone: bool,
    ) -> String {
        let mut own = report.clone();
        if !alone {
            own.failures
                .retain(|f| names.iter().any(|n| filter.is_test(&f.name, n)));
            own.failed = own.failures.len();
        }
        match self.run_verdict(&own) {
            Verdict::Red(text) | Verdict::Improvable { feedback: text, .. } => text,
            Verdict::Green => String::new(),
        }
    }

    /// Each member's verdict, placement and notes from the merged run, and what its later
    /// rounds keep. `sent_back`: members that go back whole, with why.
    fn finish(
        &self,
        members: &[&Candidate],
        owned: &[Vec<String>],
        filter: &Filter<'_>,
        report: RunReport,
        sent_back: &SentBack,
        mutation_error: Option<String>,
    ) -> Vec<Validated> {
        let tests = filter.tests();
        members
            .iter()
            .zip(owned)
            .enumerate()
            .map(|(i, (candidate, names))| {
                let part = &candidate.part;
                let mine = |name: &String| names.contains(name);
                let dropped: Vec<DroppedTest> = filter
                    .dropped
                    .iter()
                    .filter(|d| mine(&d.name))
                    .cloned()
                    .collect();
                let kept: Vec<TestFn> = tests.iter().filter(|t| mine(&t.name)).cloned().collect();
                let kept_names: Vec<String> = kept.iter().map(|t| t.name.clone()).collect();
                let worthy: Vec<DroppedTest> = dropped
                    .iter()
                    .filter(|d| d.reason != DropReason::Duplicate)
                    .cloned()
                    .collect();
                let caught = part
                    .targets
                    .iter()
                    .filter_map(|f| filter.mutants.get(&f.qualified_name))
                    .flatten()
                    .filter(|m| m.outcome == MutantOutcome::Caught)
                    .count();
                let verdict = match sent_back.get(&i) {
                    Some(text) if !text.is_empty() => Verdict::Red(text.clone()),
                    _ => verdict(&kept_names, &worthy, caught),
                };
                let dropped_names: Vec<String> = dropped.iter().map(|d| d.name.clone()).collect();
                let text = code::without_tests(
                    &candidate.placement.new_text,
                    &self.module_name,
                    &dropped_names,
                )
                .unwrap_or_else(|_| candidate.placement.new_text.clone());
                let mut state = part.state();
                if !matches!(verdict, Verdict::Red(_)) {
                    state.carried = kept
                        .iter()
                        .map(|t| (t.name.clone(), code::test_text(&filter.text, t).to_string()))
                        .collect();
                }
                state.dropped.extend(dropped);
                for f in &part.targets {
                    match filter.mutants.get(&f.qualified_name) {
                        Some(m) => state.mutants.insert(f.qualified_name.clone(), m.clone()),
                        None => state.mutants.remove(&f.qualified_name),
                    };
                }
                state.mutation_error = mutation_error.clone();
                let notes = part_notes(&part.targets, &state, &kept);
                drop(state);
                Validated {
                    verdict,
                    placement: Placement {
                        summary: tests_summary(&kept_names),
                        new_text: text,
                        test_args: candidate.placement.test_args.clone(),
                    },
                    report: report.clone(),
                    notes: Some(notes),
                    proposed_tests: Some(ProposedTests {
                        written: names.len(),
                        kept: kept_names.len(),
                    }),
                }
            })
            .collect()
    }
}

/// A member sent back is shown the run its tests failed in, not the later ones.
fn show_failed_run(validated: &mut [Validated], sent_back: &SentBack, failed: &RunReport) {
    for i in sent_back.keys() {
        if let Some(member) = validated.get_mut(*i) {
            member.report = failed.clone();
        }
    }
}

fn count_attempt(candidate: &Candidate, module: &str, existing: &[String]) {
    let tests = candidate.tests(module, existing);
    let part = &candidate.part;
    let mut state = part.state();
    for f in &part.targets {
        if tests.iter().any(|t| t.exercises(f)) {
            *state
                .attempts
                .entry(f.qualified_name.clone())
                .or_default()
                .entry(candidate.round.tier)
                .or_default() += 1;
        }
    }
}

/// Per target: the tests in `kept` that call it, and the state's drops, mutants and attempts.
pub(super) fn function_reports(
    targets: &[FnItem],
    state: &FilterState,
    kept: &[TestFn],
) -> Vec<FunctionReport> {
    targets
        .iter()
        .map(|f| {
            let name = &f.qualified_name;
            FunctionReport::new(
                name.clone(),
                kept.iter()
                    .filter(|t| called(targets, t).contains(name))
                    .map(|t| t.name.clone())
                    .collect(),
                state
                    .dropped
                    .iter()
                    .filter(|d| d.functions.contains(name))
                    .cloned()
                    .collect(),
                state.mutants.get(name).cloned(),
                state.attempts.get(name).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

fn part_notes(targets: &[FnItem], state: &FilterState, kept: &[TestFn]) -> ValidationNotes {
    let mut notes = report::notes(&function_reports(targets, state, kept));
    add_mutation_error(&mut notes, state.mutation_error.as_deref());
    notes
}

/// Says in `notes` that mutation testing was skipped, and why, if it was.
pub(super) fn add_mutation_error(notes: &mut ValidationNotes, error: Option<&str>) {
    if let Some(error) = error {
        notes.lines.push(format!(
            "mutation testing was skipped: {}",
            first_line(error)
        ));
        notes.json["mutation_error"] = serde_json::Value::String(error.to_string());
    }
}

fn lost() -> String {
    "kiln lost track of a validation result (a bug in kiln)".to_string()
}
