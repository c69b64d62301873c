//! The mutant filter: gen-tests validation as a filter over individual tests. A generated test
//! is kept only if it is not a duplicate, builds (a test that breaks the build is removed, the
//! rest kept), passes and passes again on re-runs, and catches at least one mutant of the code
//! it tests (`mutation.rs`; the kill rule, `kill.rs`: a crash inside the mutant is not a catch).

use std::collections::BTreeMap;

use kiln_sandbox::{RunOutcome, RunReport, TestArgs};

use super::report::{DropReason, DroppedTest, MutantResult};
use crate::code::{self, FnItem, TestFn};
use crate::task::{Merit, RunPurpose, SandboxRuns, Verdict};

/// A build failure is narrowed to the tests (or mutants) it blames at most this many times.
pub(super) const BUILD_ROUNDS_MAX: usize = 3;
/// A compiler error quoted back for one test: enough for the span and the hint.
const ERROR_DETAIL_MAX_BYTES: usize = 1_500;
/// Feedback beyond this is noise to a small model and cost to the user.
pub(super) const FEEDBACK_MAX_BYTES: usize = 6_000;

/// How strict the filter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterSettings {
    /// Re-runs after the first pass; a test failing in any of them is flaky.
    pub reruns: u32,
    pub mutation: Mutation,
}

impl Default for FilterSettings {
    fn default() -> Self {
        FilterSettings {
            reruns: 3,
            mutation: Mutation::On,
        }
    }
}

/// Whether kept tests must kill a mutant (`--no-mutation` skips it for speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    On,
    Off,
}

/// How a step ended: the filter goes on with this run, or the module goes back to the model
/// with this run's report and the feedback (`None`: the dropped tests are the feedback).
pub(super) enum Step {
    Ran(RunReport),
    Stop(RunReport, Option<String>),
}

/// One validation of one placed candidate.
pub(super) struct Filter<'a> {
    pub sandbox: &'a dyn SandboxRuns,
    pub args: &'a TestArgs,
    pub module: &'a str,
    /// Tests the module had before this run (kiln's own, from an earlier run): they run with
    /// the new ones but are never judged, dropped or reported.
    pub existing: &'a [String],
    pub relative_path: &'a std::path::Path,
    /// The file as it stands: the candidate minus the tests dropped so far.
    pub text: String,
    pub dropped: Vec<DroppedTest>,
    /// Per target function, its mutants and how the tests took each.
    pub mutants: BTreeMap<String, Vec<MutantResult>>,
}

impl Filter<'_> {
    /// The tests under judgement: the module's, less those it already had.
    pub fn tests(&self) -> Vec<TestFn> {
        let mut tests = code::test_fns(&self.text, self.module).unwrap_or_default();
        tests.retain(|t| !self.existing.contains(&t.name));
        tests
    }

    pub(super) async fn run(
        &self,
        purpose: RunPurpose,
        text: &str,
        env: &[(String, String)],
    ) -> Result<RunReport, String> {
        self.sandbox.run(purpose, text, self.args, env).await
    }

    pub(super) fn drop_tests(
        &mut self,
        targets: &[FnItem],
        doomed: Vec<(String, DropReason, String)>,
    ) {
        let tests = self.tests();
        let names: Vec<String> = doomed.iter().map(|(n, _, _)| n.clone()).collect();
        for (name, reason, detail) in doomed {
            let functions = tests
                .iter()
                .find(|t| t.name == name)
                .map(|t| called(targets, t))
                .unwrap_or_default();
            self.dropped.push(DroppedTest {
                name,
                reason,
                detail,
                functions,
            });
        }
        if let Ok(text) = code::without_tests(&self.text, self.module, &names) {
            self.text = text;
        }
    }

    /// Drops tests whose body repeats an earlier one (the later copies go). Done first because
    /// it needs no build.
    pub fn drop_duplicates(&mut self, targets: &[FnItem]) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut doomed = Vec::new();
        for test in self.tests() {
            match seen.get(&test.normalized_body) {
                Some(first) => doomed.push((
                    test.name.clone(),
                    DropReason::Duplicate,
                    format!("`{first}`"),
                )),
                None => {
                    seen.insert(test.normalized_body.clone(), test.name.clone());
                }
            }
        }
        self.drop_tests(targets, doomed);
    }

    /// Builds and runs the tests; a compile error inside a test drops that test and builds again.
    pub async fn build(&mut self, targets: &[FnItem]) -> Result<Step, String> {
        for _ in 0..BUILD_ROUNDS_MAX {
            let report = self
                .run(RunPurpose::Candidate, &self.text.clone(), &[])
                .await?;
            if report.outcome != RunOutcome::BuildFailed {
                return Ok(Step::Ran(report));
            }
            let tests = self.tests();
            let mut blamed: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for error in &report.compiler_errors {
                let test = error
                    .line
                    .filter(|_| self.is_our_file(error.file.as_deref()))
                    .and_then(|line| {
                        tests
                            .iter()
                            .find(|t| (t.first_line..=t.last_line).contains(&line))
                    });
                match test {
                    Some(test) => blamed
                        .entry(test.name.clone())
                        .or_default()
                        .push(capped(&error.rendered, ERROR_DETAIL_MAX_BYTES)),
                    // An error outside the tests (a helper, a `use`): the module goes back whole.
                    None => return Ok(stop_with_summary(report)),
                }
            }
            if blamed.is_empty() {
                return Ok(stop_with_summary(report));
            }
            let doomed = blamed
                .into_iter()
                .map(|(name, errors)| (name, DropReason::DoesNotCompile, errors.join("\n")))
                .collect();
            self.drop_tests(targets, doomed);
            if self.tests().is_empty() {
                return Ok(Step::Stop(report, None));
            }
        }
        let report = self
            .run(RunPurpose::Candidate, &self.text.clone(), &[])
            .await?;
        Ok(match report.outcome {
            RunOutcome::BuildFailed => stop_with_summary(report),
            _ => Step::Ran(report),
        })
    }

    /// Runs the file as it stands, once the filter dropped tests after the last passing run, so
    /// what is proposed is exactly what passed.
    pub async fn confirm(&self) -> Result<Step, String> {
        self.sandbox
            .step("running the kept tests once more, as they will be proposed");
        let report = self.run(RunPurpose::Confirm, &self.text, &[]).await?;
        Ok(match report.outcome {
            RunOutcome::Passed => Step::Ran(report),
            _ => stop_with_summary(report),
        })
    }

    /// Runs the passing tests `reruns` more times; a test that fails in any run is flaky, and
    /// so is one that had not finished when a run timed out (it hangs sometimes).
    pub async fn drop_flaky(&mut self, targets: &[FnItem], reruns: u32) -> Result<(), String> {
        let mut flaky: BTreeMap<String, String> = BTreeMap::new();
        if reruns > 0 {
            self.sandbox.step(&format!(
                "re-running {} test(s) {reruns} more time(s) to catch flaky ones",
                self.tests().len()
            ));
        }
        for _ in 0..reruns {
            let report = self.run(RunPurpose::Rerun, &self.text.clone(), &[]).await?;
            for test in self.failed_tests(&report) {
                let message = report
                    .failures
                    .iter()
                    .find(|f| self.is_test(&f.name, &test))
                    .map(|f| capped(&f.message, ERROR_DETAIL_MAX_BYTES))
                    .unwrap_or_default();
                flaky.entry(test).or_insert(message);
            }
            if report.outcome == RunOutcome::TimedOut {
                for test in self.tests() {
                    let passed = report
                        .passed_tests
                        .iter()
                        .any(|p| self.is_test(p, &test.name));
                    if !passed {
                        flaky.entry(test.name).or_insert_with(|| {
                            format!(
                                "It had not finished when a re-run was stopped after {:.0} s.",
                                report.duration.as_secs_f64()
                            )
                        });
                    }
                }
            }
        }
        let doomed = flaky
            .into_iter()
            .map(|(name, message)| (name, DropReason::Flaky, message))
            .collect();
        self.drop_tests(targets, doomed);
        Ok(())
    }

    /// Names of this module's tests that failed in `report`.
    pub fn failed_tests(&self, report: &RunReport) -> Vec<String> {
        self.tests()
            .into_iter()
            .filter(|t| {
                report
                    .failures
                    .iter()
                    .any(|f| self.is_test(&f.name, &t.name))
            })
            .map(|t| t.name)
            .collect()
    }

    /// libtest's full name (`a::tests::name`) belongs to the module's test `name`.
    pub fn is_test(&self, full: &str, name: &str) -> bool {
        full == format!("{}::{name}", self.module)
            || full.ends_with(&format!("::{}::{name}", self.module))
    }

    pub(super) fn is_our_file(&self, file: Option<&std::path::Path>) -> bool {
        file.is_some_and(|f| self.relative_path.ends_with(f) || f.ends_with(self.relative_path))
    }
}

/// The verdict on a candidate once filtering is done: `kept` tests (which caught `caught`
/// mutants) and the drops worth telling the model about.
pub(super) fn verdict(kept: &[String], feedback_worthy: &[DroppedTest], caught: usize) -> Verdict {
    if kept.is_empty() {
        return Verdict::Red(feedback(&[], feedback_worthy));
    }
    if feedback_worthy.is_empty() {
        return Verdict::Green;
    }
    Verdict::Improvable {
        feedback: feedback(kept, feedback_worthy),
        merit: Merit {
            caught,
            kept: kept.len(),
        },
    }
}

fn feedback(kept: &[String], dropped: &[DroppedTest]) -> String {
    let kept = if kept.is_empty() {
        "No test was kept.".to_string()
    } else {
        format!("Kept: {}.", kept.join(", "))
    };
    let dropped: Vec<String> = dropped.iter().map(DroppedTest::feedback).collect();
    let text = crate::prompt::render(
        crate::prompt::GEN_TESTS_FILTER,
        &[("kept", &kept), ("dropped", &dropped.join("\n"))],
    )
    .unwrap_or_else(|_| dropped.join("\n"));
    capped(&text, FEEDBACK_MAX_BYTES)
}

fn stop_with_summary(report: RunReport) -> Step {
    let summary = report.summary_for_model(FEEDBACK_MAX_BYTES);
    Step::Stop(report, Some(summary))
}

/// Which targets a test exercises ([`TestFn::exercises`]: by owner where the call names one).
pub(super) fn called(targets: &[FnItem], test: &TestFn) -> Vec<String> {
    targets
        .iter()
        .filter(|f| test.exercises(f))
        .map(|f| f.qualified_name.clone())
        .collect()
}

fn capped(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[...]", &text[..end])
}
