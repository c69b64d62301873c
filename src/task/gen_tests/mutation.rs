//! The mutant step of the filter: every mutant of the tested functions in one build, one test
//! run per round, each test's reaction judged by the kill rule (`kill.rs`), and the tests that
//! caught nothing dropped.

use std::collections::BTreeMap;
use std::ops::Range;

use kiln_sandbox::{RunOutcome, RunReport};

use super::filter::{Filter, BUILD_ROUNDS_MAX, FEEDBACK_MAX_BYTES};
use super::kill::{self, OwnCode, Reaction};
use super::report::{DropReason, MutantOutcome, MutantResult};
use crate::code::{self, FnItem, Mutant, TestFn};
use crate::task::RunPurpose;

/// The mutants of the tested functions, and in which round each runs.
struct Plan<'a> {
    tested: Vec<&'a FnItem>,
    /// Per tested function, its mutants.
    sets: Vec<Vec<Mutant>>,
    /// Per tested function, the round before its first mutant's: mutant `k` runs in round
    /// `first[s] + k + 1`.
    first: Vec<usize>,
    /// Per tested function and mutant, whether it built (a compile error blamed on it).
    viable: Vec<Vec<bool>>,
    reach: Reach,
}

impl Plan<'_> {
    fn round(&self, set: usize, mutant: usize) -> usize {
        self.first[set] + mutant + 1
    }

    /// The rounds with a viable mutant in them, in order.
    fn rounds(&self) -> Vec<usize> {
        let mut rounds: Vec<usize> = self
            .viable
            .iter()
            .enumerate()
            .flat_map(|(s, v)| {
                v.iter()
                    .enumerate()
                    .filter(|(_, ok)| **ok)
                    .map(move |(k, _)| (s, k))
            })
            .map(|(s, k)| self.round(s, k))
            .collect();
        rounds.sort_unstable();
        rounds.dedup();
        rounds
    }
}

/// Per test, which tested functions it exercises: those its body names, and those these call
/// (a mutant of `g` changes what `f` returns when `f` calls `g`, so a test of `f` judges it).
struct Reach(Vec<Vec<bool>>);

impl Reach {
    fn of(text: &str, tested: &[&FnItem], tests: &[TestFn]) -> Reach {
        let calls: Vec<Vec<bool>> = tested
            .iter()
            .map(|f| {
                let names = code::names_in_body(text, f).unwrap_or_default();
                tested
                    .iter()
                    .map(|g| g.name != f.name && names.contains(&g.name))
                    .collect()
            })
            .collect();
        Reach(
            tests
                .iter()
                .map(|t| {
                    let mut reached: Vec<bool> = tested.iter().map(|f| t.exercises(f)).collect();
                    // What a reached function calls is reached too, until nothing is added.
                    let mut grew = true;
                    while grew {
                        grew = false;
                        for (s, row) in calls.iter().enumerate() {
                            for (o, called) in row.iter().enumerate() {
                                if reached[s] && *called && !reached[o] {
                                    reached[o] = true;
                                    grew = true;
                                }
                            }
                        }
                    }
                    reached
                })
                .collect(),
        )
    }

    fn reaches(&self, test: usize, set: usize) -> bool {
        self.0
            .get(test)
            .and_then(|row| row.get(set))
            .copied()
            .unwrap_or(false)
    }
}

/// Round `n` activates mutants of several functions at once, which is what keeps the runs few.
/// But a test that exercises two of them would then fail against two mutants at once, and which
/// one it caught could not be told; so functions that one test exercises get rounds apart
/// (placed greedily, in order). Functions no test exercises together share rounds, as before.
fn first_rounds(sets: &[Vec<Mutant>], reach: &Reach) -> Vec<usize> {
    let mut first = vec![0; sets.len()];
    for s in 0..sets.len() {
        let together: Vec<usize> = (0..s)
            .filter(|o| (0..reach.0.len()).any(|t| reach.reaches(t, s) && reach.reaches(t, *o)))
            .collect();
        let mut start = 0;
        while let Some(o) = together.iter().find(|o| {
            let theirs = first[**o]..first[**o] + sets[**o].len();
            theirs.start < start + sets[s].len() && start < theirs.end
        }) {
            start = first[*o] + sets[*o].len();
        }
        first[s] = start;
    }
    first
}

impl Filter<'_> {
    /// Builds every mutant of the tested targets into one binary and runs the tests once per
    /// mutant round; a test that catches no mutant (by the kill rule) is dropped. Mutants that
    /// do not compile (e.g. `-` on a type without it) are unviable: reported, never run.
    /// Returns why mutation could not run, if so.
    pub async fn drop_survivors(&mut self, targets: &[FnItem]) -> Result<Option<String>, String> {
        let tests = self.tests();
        let Some(mut plan) = self.plan(targets, &tests) else {
            // Nothing to kill (e.g. only `const fn`s): the tests stay, unjudged.
            return Ok(Some(
                "no mutants could be made of the functions under test".to_string(),
            ));
        };
        let made: usize = plan.sets.iter().map(Vec::len).sum();
        self.sandbox.step(&format!(
            "building {made} mutant(s) of {} function(s) in one binary",
            plan.tested.len()
        ));
        let text = match self.build_mutants(&mut plan).await? {
            Ok(text) => text,
            Err(why) => return Ok(Some(why)),
        };
        let results = self.run_mutants(&text, &plan, &tests).await?;
        for (f, results) in plan.tested.iter().zip(&results) {
            self.mutants
                .insert(f.qualified_name.clone(), results.clone());
        }
        let doomed = verdicts(&tests, &plan, &results);
        self.drop_tests(targets, doomed);
        Ok(None)
    }

    /// The file [`Filter::drop_survivors`] will build if every test of the file as it stands
    /// passes and every mutant compiles: the text to build ahead (see
    /// [`crate::task::SandboxRuns::build_mutants_ahead`]). `None`: there is nothing to mutate.
    pub fn mutant_text_ahead(&self, targets: &[FnItem]) -> Option<String> {
        let plan = self.plan(targets, &self.tests())?;
        mutant_text(&self.text, &plan).ok().map(|(text, _)| text)
    }

    /// The mutants of the functions `tests` exercise, every one taken as viable until a build
    /// says otherwise. `None`: no mutant can be made of them.
    fn plan<'t>(&self, targets: &'t [FnItem], tests: &[TestFn]) -> Option<Plan<'t>> {
        let tested: Vec<&FnItem> = targets
            .iter()
            .filter(|f| tests.iter().any(|t| t.exercises(f)))
            .collect();
        let sets: Vec<Vec<Mutant>> = tested
            .iter()
            .map(|f| code::mutants(&self.text, f).unwrap_or_default())
            .collect();
        if sets.iter().all(Vec::is_empty) {
            return None;
        }
        let reach = Reach::of(&self.text, &tested, tests);
        Some(Plan {
            first: first_rounds(&sets, &reach),
            viable: sets.iter().map(|s| vec![true; s.len()]).collect(),
            tested,
            sets,
            reach,
        })
    }

    /// The file with every viable mutant behind a dispatcher, built with the tests. A mutant a
    /// compile error blames is marked unviable and the build tried again; one failed build
    /// finds every type error at once, so unviable mutants cost one quick retry, not a build
    /// each. `Ok(Err)`: why the mutants could not be built.
    async fn build_mutants(&self, plan: &mut Plan<'_>) -> Result<Result<String, String>, String> {
        for _ in 0..BUILD_ROUNDS_MAX {
            let (text, arms) = mutant_text(&self.text, plan)?;
            let report = self.run(RunPurpose::MutantBuild, &text, &[]).await?;
            if report.outcome == RunOutcome::Passed {
                return Ok(Ok(text));
            }
            let mut blamed: Vec<(usize, usize)> = Vec::new();
            for error in &report.compiler_errors {
                let arm = error
                    .line
                    .filter(|_| self.is_our_file(error.file.as_deref()))
                    .and_then(|line| arms.iter().find(|a| a.lines.contains(&line)));
                match arm {
                    Some(arm) => blamed.push((arm.set, arm.mutant)),
                    None => return Ok(Err(report.summary_for_model(FEEDBACK_MAX_BYTES))),
                }
            }
            if blamed.is_empty() {
                return Ok(Err(report.summary_for_model(FEEDBACK_MAX_BYTES)));
            }
            for (set, mutant) in blamed {
                plan.viable[set][mutant] = false;
            }
        }
        Ok(Err("the mutants did not build".to_string()))
    }

    /// Runs the tests once per round and judges every viable mutant by how the tests that call
    /// its function took it. Per tested function, its mutants' results.
    async fn run_mutants(
        &self,
        text: &str,
        plan: &Plan<'_>,
        tests: &[TestFn],
    ) -> Result<Vec<Vec<MutantResult>>, String> {
        let rounds = plan.rounds();
        self.sandbox.step(&format!(
            "running the tests against the mutants: {} round(s)",
            rounds.len()
        ));
        let lines = code::module_lines(text, self.module)
            .ok()
            .flatten()
            .unwrap_or(0..=0);
        let own = OwnCode {
            file: self.relative_path,
            lines,
        };
        let mut reactions: BTreeMap<usize, Vec<Reaction>> = BTreeMap::new();
        for round in rounds {
            let env = [(code::MUTANT_ENV.to_string(), round.to_string())];
            let report = self.run(RunPurpose::MutantRound, text, &env).await?;
            let each = tests.iter().map(|t| self.reaction(&report, t, &own));
            reactions.insert(round, each.collect());
        }
        Ok(plan
            .sets
            .iter()
            .enumerate()
            .map(|(s, set)| {
                set.iter()
                    .enumerate()
                    .map(|(k, m)| {
                        let took = plan.viable[s][k]
                            .then(|| reactions.get(&plan.round(s, k)))
                            .flatten();
                        judged(m, took, tests, |t| plan.reach.reaches(t, s))
                    })
                    .collect()
            })
            .collect())
    }

    /// How `test` took the round that `report` is of.
    fn reaction(&self, report: &RunReport, test: &TestFn, own: &OwnCode<'_>) -> Reaction {
        if let Some(failure) = report
            .failures
            .iter()
            .find(|f| self.is_test(&f.name, &test.name))
        {
            return kill::judge(failure, own);
        }
        let passed = report
            .passed_tests
            .iter()
            .any(|p| self.is_test(p, &test.name));
        // Not passed and not failed: it had not finished when the round timed out, or its
        // binary died before reporting it. Either way the mutant broke the run, not the test.
        match (passed, report.outcome) {
            (true, _) | (false, RunOutcome::Passed) => Reaction::Passed,
            (false, _) => Reaction::Crashed,
        }
    }
}

/// A mutant's result from the reactions of the round it ran in (`None`: it did not build). Only
/// the tests that exercise its function (`judges`, by test index) judge it.
fn judged(
    mutant: &Mutant,
    took: Option<&Vec<Reaction>>,
    tests: &[TestFn],
    judges: impl Fn(usize) -> bool,
) -> MutantResult {
    let mut result = MutantResult {
        description: mutant.description.clone(),
        outcome: MutantOutcome::Unviable,
        caught_by: Vec::new(),
        crashed_in: Vec::new(),
    };
    let Some(reactions) = took else {
        return result;
    };
    for (i, (test, reaction)) in tests.iter().zip(reactions).enumerate() {
        if !judges(i) {
            continue;
        }
        match reaction {
            Reaction::Caught => result.caught_by.push(test.name.clone()),
            Reaction::Crashed => result.crashed_in.push(test.name.clone()),
            Reaction::Passed => {}
        }
    }
    result.outcome = if !result.caught_by.is_empty() {
        MutantOutcome::Caught
    } else if !result.crashed_in.is_empty() {
        MutantOutcome::Crashed
    } else {
        MutantOutcome::Survived
    };
    result
}

/// The kill rule's verdict per test: kept if it caught a mutant of a function it exercises;
/// dropped if it only crashed some, or caught none; kept unjudged if what it exercises has no
/// viable mutant.
fn verdicts(
    tests: &[TestFn],
    plan: &Plan<'_>,
    results: &[Vec<MutantResult>],
) -> Vec<(String, DropReason, String)> {
    tests
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let mine: Vec<(&FnItem, &MutantResult)> = plan
                .tested
                .iter()
                .zip(results)
                .enumerate()
                .filter(|(s, _)| plan.reach.reaches(i, *s))
                .flat_map(|(_, (f, rs))| rs.iter().map(move |r| (*f, r)))
                .filter(|(_, r)| r.outcome != MutantOutcome::Unviable)
                .collect();
            let calls_a_target = (0..plan.tested.len()).any(|s| plan.reach.reaches(i, s));
            if !calls_a_target {
                let detail = "every mutant: it calls none of the functions under test";
                return Some((
                    t.name.clone(),
                    DropReason::KillsNoMutant,
                    detail.to_string(),
                ));
            }
            if mine.is_empty() || mine.iter().any(|(_, r)| r.caught_by.contains(&t.name)) {
                return None;
            }
            let listed = |of: &dyn Fn(&MutantResult) -> bool| -> String {
                mine.iter()
                    .filter(|(_, r)| of(r))
                    .map(|(f, r)| format!("`{}`: {}", f.name, r.description))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let crashed = listed(&|r| r.crashed_in.contains(&t.name));
            Some(if crashed.is_empty() {
                let survived = listed(&|_| true);
                let detail = format!("these changes: {survived}");
                (t.name.clone(), DropReason::KillsNoMutant, detail)
            } else {
                (t.name.clone(), DropReason::OnlyCrashes, crashed)
            })
        })
        .collect()
}

/// A mutant's dispatcher arm in the mutant build: which set (tested function) and mutant, and
/// its lines, to blame a compile error on it.
struct Arm {
    set: usize,
    mutant: usize,
    lines: Range<usize>,
}

/// `text` with a dispatcher over the viable mutants in every tested function. Functions are
/// edited from the last to the first so each one's byte range is still right when its turn
/// comes.
fn mutant_text(text: &str, plan: &Plan<'_>) -> Result<(String, Vec<Arm>), String> {
    let mut order: Vec<usize> = (0..plan.tested.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(plan.tested[*i].byte_range.start));
    let mut out = text.to_string();
    let mut arms: Vec<(usize, usize, Range<usize>)> = Vec::new();
    for set in order {
        let (indices, rounds): (Vec<usize>, Vec<(usize, &Mutant)>) = plan.sets[set]
            .iter()
            .enumerate()
            .filter(|(k, _)| plan.viable[set][*k])
            .map(|(k, m)| (k, (plan.round(set, k), m)))
            .unzip();
        if rounds.is_empty() {
            continue;
        }
        let before = out.len();
        let (next, ranges) = code::with_dispatcher(&out, plan.tested[set], &rounds)
            .map_err(|e| format!("kiln could not build the mutants: {e}"))?;
        let grown = next.len() - before;
        for (_, _, range) in &mut arms {
            *range = range.start + grown..range.end + grown;
        }
        arms.extend(
            indices
                .into_iter()
                .zip(ranges)
                .map(|(mutant, range)| (set, mutant, range)),
        );
        out = next;
    }
    let line_of = |offset: usize| out.get(..offset).unwrap_or("").matches('\n').count() + 1;
    let arms = arms
        .into_iter()
        .map(|(set, mutant, range)| Arm {
            set,
            mutant,
            lines: line_of(range.start)..line_of(range.end),
        })
        .collect();
    Ok((out, arms))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The functions of `text` outside its `mod tests`, and the tests in it.
    fn functions_and_tests(text: &str) -> (Vec<FnItem>, Vec<TestFn>) {
        let file = code::SourceFile::parse(text).unwrap();
        let fns = code::list_fns(&file)
            .into_iter()
            .filter(|f| !f.is_test_code)
            .collect();
        (fns, code::test_fns(text, "tests").unwrap())
    }

    #[test]
    fn a_test_exercises_what_it_names_and_what_that_calls() {
        let text = "pub fn a(x: u8) -> u8 { b(x) + 1 }\npub fn b(x: u8) -> u8 { c(x) * 2 }\n\
                    pub fn c(x: u8) -> u8 { x + 3 }\npub fn d(x: u8) -> u8 { x }\n\
                    #[cfg(test)]\nmod tests {\n    use super::*;\n\
                    #[test]\n    fn of_a() { assert_eq!(a(0), 7); }\n\
                    #[test]\n    fn of_c() { assert_eq!(c(0), 3); }\n}\n";
        let (fns, tests) = functions_and_tests(text);
        let tested: Vec<&FnItem> = fns.iter().collect();
        let reach = Reach::of(text, &tested, &tests);
        assert_eq!(
            reach.0,
            vec![
                vec![true, true, true, false],
                vec![false, false, true, false]
            ]
        );
    }

    #[test]
    fn functions_one_test_calls_together_get_rounds_apart() {
        let text = "pub fn a(x: u8) -> u8 { x + 1 }\npub fn b(x: u8) -> u8 { x + 2 }\n\
                    pub fn c(x: u8) -> u8 { x + 3 }\n\
                    #[cfg(test)]\nmod tests {\n    use super::*;\n\
                    #[test]\n    fn ab() { assert_eq!(a(b(0)), 3); }\n\
                    #[test]\n    fn c_alone() { assert_eq!(c(0), 3); }\n}\n";
        let (fns, tests) = functions_and_tests(text);
        let tested: Vec<&FnItem> = fns.iter().collect();
        let sets: Vec<Vec<Mutant>> = tested
            .iter()
            .map(|f| code::mutants(text, f).unwrap())
            .collect();
        assert_eq!(sets.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 4]);
        // `a` and `b` share a test, so `b` waits for `a`'s rounds; `c` shares none, so it
        // runs alongside `a`.
        let reach = Reach::of(text, &tested, &tests);
        assert_eq!(first_rounds(&sets, &reach), [0, 4, 0]);
    }
}
