//! gen-tests validation: the filter's steps in order, what later rounds keep, and the report.

use std::collections::BTreeMap;

use kiln_sandbox::{RunOutcome, RunReport};

use super::{tests_summary, GenTests, Mutation};
use crate::code::{self, TestFn};
use crate::config::Tier;
use crate::task::gen_tests_filter::{called, Filter, Step};
use crate::task::gen_tests_report::{self, DropReason, DroppedTest, FunctionReport};
use crate::task::{Placement, Round, SandboxRuns, Task, Validated, ValidationNotes, Verdict};

/// What the filter remembers between rounds of one run.
#[derive(Debug, Default)]
pub(super) struct FilterState {
    /// Tests kept by an earlier round, by name with their text: added to every later candidate
    /// so the model only has to replace what was dropped.
    pub carried: Vec<(String, String)>,
    /// Every test dropped so far, for the report.
    pub dropped: Vec<DroppedTest>,
    /// Per target function, the requests per tier whose candidate tested it.
    pub attempts: BTreeMap<String, BTreeMap<Tier, u32>>,
}

impl GenTests {
    /// The filter of issue 8, step by step: duplicates, build, re-runs, mutants.
    pub(super) async fn filter_tests(
        &self,
        placement: Placement,
        round: Round,
        sandbox: &dyn SandboxRuns,
    ) -> Result<Validated, String> {
        let mut filter = Filter {
            sandbox,
            args: &placement.test_args,
            module: &self.module_name,
            relative_path: &self.file.location.relative_path,
            text: placement.new_text.clone(),
            dropped: Vec::new(),
            mutants: BTreeMap::new(),
        };
        self.count_attempt(&filter.tests(), round);
        filter.drop_duplicates(&self.targets);
        let report = match filter.build(&self.targets).await? {
            Step::Ran(report) => report,
            Step::Stop(report, feedback) => {
                return Ok(self.finish(filter, &placement, report, feedback, None))
            }
        };
        if report.outcome != RunOutcome::Passed {
            let feedback = self.judge(&placement, &report);
            let feedback = match feedback {
                Verdict::Red(text) | Verdict::Improvable(text) => text,
                Verdict::Green => String::new(),
            };
            return Ok(self.finish(filter, &placement, report, Some(feedback), None));
        }
        let passed_text = filter.text.clone();
        filter.drop_flaky(&self.targets, self.filter.reruns).await?;
        let mut mutation_error = None;
        if self.filter.mutation == Mutation::On && !filter.tests().is_empty() {
            mutation_error = filter.drop_survivors(&self.targets).await?;
        }
        let mut report = report;
        if filter.text != passed_text && !filter.tests().is_empty() {
            match filter.confirm().await? {
                Step::Ran(confirmed) => report = confirmed,
                Step::Stop(report, feedback) => {
                    return Ok(self.finish(filter, &placement, report, feedback, None))
                }
            }
        }
        Ok(self.finish(filter, &placement, report, None, mutation_error))
    }

    fn count_attempt(&self, tests: &[TestFn], round: Round) {
        let mut state = self.state();
        for f in &self.targets {
            if tests.iter().any(|t| t.identifiers.contains(&f.name)) {
                *state
                    .attempts
                    .entry(f.qualified_name.clone())
                    .or_default()
                    .entry(round.tier)
                    .or_default() += 1;
            }
        }
    }

    /// The verdict, the report, and what later rounds keep. `feedback`: the module goes back
    /// whole with this text (the build or a test failed) instead of the filter's verdict.
    fn finish(
        &self,
        filter: Filter<'_>,
        placement: &Placement,
        report: RunReport,
        feedback: Option<String>,
        mutation_error: Option<String>,
    ) -> Validated {
        let worthy: Vec<DroppedTest> = filter
            .dropped
            .iter()
            .filter(|d| d.reason != DropReason::Duplicate)
            .cloned()
            .collect();
        let verdict = match feedback {
            Some(text) if !text.is_empty() => Verdict::Red(text),
            _ => filter.verdict(&worthy),
        };
        let kept = filter.tests();
        let mut state = self.state();
        if !matches!(verdict, Verdict::Red(_)) {
            state.carried = kept
                .iter()
                .map(|t| (t.name.clone(), code::test_text(&filter.text, t).to_string()))
                .collect();
        }
        state.dropped.extend(filter.dropped.iter().cloned());
        let notes = self.notes(&state, &kept, &filter, mutation_error);
        drop(state);
        let names: Vec<String> = kept.iter().map(|t| t.name.clone()).collect();
        Validated {
            verdict,
            placement: Placement {
                summary: tests_summary(&names),
                new_text: filter.text,
                test_args: placement.test_args.clone(),
            },
            report,
            notes: Some(notes),
        }
    }

    fn notes(
        &self,
        state: &FilterState,
        kept: &[TestFn],
        filter: &Filter<'_>,
        mutation_error: Option<String>,
    ) -> ValidationNotes {
        let functions: Vec<FunctionReport> = self
            .targets
            .iter()
            .map(|f| {
                let name = &f.qualified_name;
                FunctionReport::new(
                    name.clone(),
                    kept.iter()
                        .filter(|t| called(&self.targets, t).contains(name))
                        .map(|t| t.name.clone())
                        .collect(),
                    state
                        .dropped
                        .iter()
                        .filter(|d| d.functions.contains(name))
                        .cloned()
                        .collect(),
                    filter.mutants.get(name).cloned(),
                    state.attempts.get(name).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let mut notes = gen_tests_report::notes(&functions);
        if let Some(error) = mutation_error {
            notes.lines.push(format!(
                "mutation testing was skipped: {}",
                error.lines().next().unwrap_or("")
            ));
            notes.json["mutation_error"] = serde_json::Value::String(error);
        }
        notes
    }
}
