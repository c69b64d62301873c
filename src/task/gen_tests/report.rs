//! What the gen-tests filter tells the user and the model: per function, the tests kept, the
//! tests dropped and why, each mutant and how the tests took it (unviable, caught and by
//! which test, crashed only, survived), and the attempts per tier.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Tier;
use crate::task::{KeptTests, ValidationNotes};

/// Why a generated test was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    DoesNotCompile,
    Flaky,
    KillsNoMutant,
    /// It failed against mutants only by crashing inside the code, never at its own check.
    OnlyCrashes,
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedTest {
    pub name: String,
    pub reason: DropReason,
    /// The compiler error, the failing re-run's message, the mutants it let through, or the
    /// test it repeats.
    pub detail: String,
    /// The target functions it called (by name in its body).
    #[serde(skip)]
    pub functions: Vec<String>,
}

impl DroppedTest {
    /// One bullet of feedback for the model.
    pub fn feedback(&self) -> String {
        let name = &self.name;
        let detail = self.detail.trim_end();
        match self.reason {
            DropReason::DoesNotCompile => format!("- `{name}` does not compile:\n{detail}"),
            DropReason::Flaky => format!(
                "- `{name}` passed, then failed when run again: it is flaky. Tests must not \
                 depend on state, time or order.\n{detail}"
            ),
            DropReason::KillsNoMutant => format!(
                "- `{name}`: this test does not detect a changed implementation. It still \
                 passes with {detail}. Assert exact results for inputs where a wrong \
                 implementation would differ (edges, boundaries)."
            ),
            DropReason::OnlyCrashes => format!(
                "- `{name}`: this test failed against changed implementations only because the \
                 code crashed (a panic inside the function: index out of bounds, overflow, \
                 unwrap), never at its own assertion: {detail}. A crash is no check; compare \
                 the result with the exact expected value (`assert_eq!(f(x), expected)`), not \
                 with another call of the function."
            ),
            DropReason::Duplicate => format!("- `{name}` repeats {detail}."),
        }
    }
}

/// How the tests took one mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutantOutcome {
    /// It did not build (e.g. `-` on a type without subtraction): it judges no test.
    Unviable,
    /// A test that calls its function failed at its own check.
    Caught,
    /// Tests failed against it only by crashing inside the code (or timing out).
    Crashed,
    /// Every test that calls its function passed.
    Survived,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutantResult {
    pub description: String,
    pub outcome: MutantOutcome,
    /// The tests that caught it: the proof of a catch.
    pub caught_by: Vec<String>,
    /// The tests that crashed on it; whether or not another caught it.
    pub crashed_in: Vec<String>,
}

/// The filter's findings for one target function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionReport {
    pub function: String,
    pub kept: Vec<String>,
    pub dropped: Vec<DroppedTest>,
    /// `None` when mutation was skipped (`--no-mutation`) or no kept test calls the function.
    pub mutants: Option<Vec<MutantResult>>,
    #[serde(flatten)]
    pub counts: MutantCounts,
    /// The survivors' descriptions: what no test noticed.
    pub survivors: Vec<String>,
    /// Caught over viable; `None` without a viable mutant (no score is claimed then).
    pub mutation_score: Option<f64>,
    /// Model requests whose candidate had tests for this function, per tier.
    pub attempts: BTreeMap<Tier, u32>,
}

/// Mutants by outcome; `made` counts the unviable ones too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MutantCounts {
    #[serde(rename = "mutants_made")]
    pub made: usize,
    #[serde(rename = "mutants_unviable")]
    pub unviable: usize,
    #[serde(rename = "mutants_caught")]
    pub caught: usize,
    #[serde(rename = "mutants_crashed")]
    pub crashed: usize,
    #[serde(rename = "mutants_survived")]
    pub survived: usize,
}

impl MutantCounts {
    fn of(mutants: &[MutantResult]) -> MutantCounts {
        let count = |o| mutants.iter().filter(|m| m.outcome == o).count();
        MutantCounts {
            made: mutants.len(),
            unviable: count(MutantOutcome::Unviable),
            caught: count(MutantOutcome::Caught),
            crashed: count(MutantOutcome::Crashed),
            survived: count(MutantOutcome::Survived),
        }
    }

    fn add(self, other: MutantCounts) -> MutantCounts {
        MutantCounts {
            made: self.made + other.made,
            unviable: self.unviable + other.unviable,
            caught: self.caught + other.caught,
            crashed: self.crashed + other.crashed,
            survived: self.survived + other.survived,
        }
    }

    fn viable(&self) -> usize {
        self.made - self.unviable
    }

    /// "mutants 6/8 caught (75%), 1 crashed only, 1 survived, 2 unviable", or why there is no
    /// score; `by` ("good 4, edge 2") goes into the parentheses.
    fn words(&self, by: &str) -> String {
        if self.made == 0 {
            return "no mutant could be made: no score".to_string();
        }
        if self.viable() == 0 {
            return format!("mutants: {} made, none viable: no score", self.made);
        }
        let by = if by.is_empty() {
            String::new()
        } else {
            format!("; by {by}")
        };
        let mut words = format!(
            "mutants {}/{} caught ({:.0}%{by})",
            self.caught,
            self.viable(),
            self.caught as f64 * 100.0 / self.viable() as f64
        );
        for (n, what) in [
            (self.crashed, "crashed only"),
            (self.survived, "survived"),
            (self.unviable, "unviable"),
        ] {
            if n > 0 {
                words.push_str(&format!(", {n} {what}"));
            }
        }
        words
    }
}

impl FunctionReport {
    pub fn new(
        function: String,
        kept: Vec<String>,
        dropped: Vec<DroppedTest>,
        mutants: Option<Vec<MutantResult>>,
        attempts: BTreeMap<Tier, u32>,
    ) -> FunctionReport {
        let counts = mutants.as_deref().map(MutantCounts::of).unwrap_or_default();
        let survivors = mutants
            .iter()
            .flatten()
            .filter(|m| m.outcome == MutantOutcome::Survived)
            .map(|m| m.description.clone())
            .collect();
        FunctionReport {
            function,
            kept,
            dropped,
            mutants,
            mutation_score: (counts.viable() > 0)
                .then(|| counts.caught as f64 / counts.viable() as f64),
            counts,
            survivors,
            attempts,
        }
    }

    fn line(&self) -> String {
        let mut line = format!("{}: {} kept", self.function, self.kept.len());
        if !self.kept.is_empty() {
            line.push_str(&format!(" ({})", self.kept.join(", ")));
        }
        if !self.dropped.is_empty() {
            let dropped: Vec<String> = self
                .dropped
                .iter()
                .map(|d| format!("{}: {}", d.name, reason_words(d.reason)))
                .collect();
            line.push_str(&format!(
                ", {} dropped ({})",
                self.dropped.len(),
                dropped.join("; ")
            ));
        }
        match &self.mutants {
            Some(mutants) => {
                let by = catches_by_test(mutants);
                line.push_str(&format!(", {}", self.counts.words(&by)));
                if !self.survivors.is_empty() {
                    line.push_str(&format!("; survivors: {}", self.survivors.join("; ")));
                }
            }
            None => line.push_str(", no mutants"),
        }
        let attempts: Vec<String> = self
            .attempts
            .iter()
            .map(|(tier, n)| format!("{tier} {n}"))
            .collect();
        if !attempts.is_empty() {
            line.push_str(&format!(", attempts: {}", attempts.join(", ")));
        }
        line
    }
}

/// "good 3, edge 1": how many mutants each test caught.
fn catches_by_test(mutants: &[MutantResult]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for name in mutants.iter().flat_map(|m| &m.caught_by) {
        *by.entry(name).or_default() += 1;
    }
    by.iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn reason_words(reason: DropReason) -> &'static str {
    match reason {
        DropReason::DoesNotCompile => "does not compile",
        DropReason::Flaky => "flaky",
        DropReason::KillsNoMutant => "kills no mutant",
        DropReason::OnlyCrashes => "only crashes, catches no mutant",
        DropReason::Duplicate => "duplicate",
    }
}

/// The report as notes for the front ends: one line per function, the JSON list, and the
/// mutants of all functions summed up in one line for a header.
pub fn notes(functions: &[FunctionReport]) -> ValidationNotes {
    let judged: Vec<&FunctionReport> = functions.iter().filter(|f| f.mutants.is_some()).collect();
    let headline = (!judged.is_empty()).then(|| {
        judged
            .iter()
            .map(|f| f.counts)
            .fold(MutantCounts::default(), MutantCounts::add)
            .words("")
    });
    // A test may exercise several functions and be kept for each: counted once.
    let kept: BTreeSet<&str> = functions
        .iter()
        .flat_map(|f| f.kept.iter().map(String::as_str))
        .collect();
    let tests = KeptTests {
        kept: kept.len(),
        mutants_caught: (!judged.is_empty()).then(|| judged.iter().map(|f| f.counts.caught).sum()),
    };
    ValidationNotes {
        lines: functions.iter().map(FunctionReport::line).collect(),
        json: serde_json::json!({ "functions": functions }),
        headline,
        tests: Some(tests),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn mutant(description: &str, outcome: MutantOutcome, caught_by: &[&str]) -> MutantResult {
        MutantResult {
            description: description.to_string(),
            outcome,
            caught_by: caught_by.iter().map(|s| s.to_string()).collect(),
            crashed_in: Vec::new(),
        }
    }

    #[test]
    fn a_function_line_counts_each_outcome_and_names_survivors_and_catchers() {
        let report = FunctionReport::new(
            "adult".to_string(),
            vec!["good".to_string()],
            vec![DroppedTest {
                name: "same".to_string(),
                reason: DropReason::OnlyCrashes,
                detail: "`adult`: `>=` -> `<` on line 2".to_string(),
                functions: vec!["adult".to_string()],
            }],
            Some(vec![
                mutant("a", MutantOutcome::Caught, &["good"]),
                mutant("b", MutantOutcome::Survived, &[]),
                mutant("c", MutantOutcome::Crashed, &[]),
                mutant("d", MutantOutcome::Unviable, &[]),
                mutant("e", MutantOutcome::Caught, &["good"]),
            ]),
            BTreeMap::from([(Tier::Mini, 2)]),
        );
        assert_eq!(
            report.line(),
            "adult: 1 kept (good), 1 dropped (same: only crashes, catches no mutant), \
             mutants 2/4 caught (50%; by good 2), 1 crashed only, 1 survived, 1 unviable; \
             survivors: b, attempts: mini 2"
        );
        assert_eq!(report.mutation_score, Some(0.5));
        let notes = notes(&[report]);
        assert_eq!(
            notes.headline.as_deref(),
            Some("mutants 2/4 caught (50%), 1 crashed only, 1 survived, 1 unviable")
        );
        let json = notes.json;
        let function = &json["functions"][0];
        assert_eq!(function["dropped"][0]["reason"], "only_crashes");
        assert_eq!(function["mutants_made"], 5);
        assert_eq!(function["mutants_unviable"], 1);
        assert_eq!(function["mutants_crashed"], 1);
        assert_eq!(function["survivors"], serde_json::json!(["b"]));
        assert_eq!(
            function["mutants"][0],
            serde_json::json!({"description": "a", "outcome": "caught", "caught_by": ["good"], "crashed_in": []})
        );
    }

    #[test]
    fn no_viable_mutant_claims_no_score() {
        let all_unviable = FunctionReport::new(
            "f".to_string(),
            vec!["t".to_string()],
            Vec::new(),
            Some(vec![mutant("a", MutantOutcome::Unviable, &[])]),
            BTreeMap::new(),
        );
        assert_eq!(all_unviable.mutation_score, None);
        assert_eq!(
            all_unviable.line(),
            "f: 1 kept (t), mutants: 1 made, none viable: no score"
        );
        let none_made = FunctionReport::new(
            "g".to_string(),
            Vec::new(),
            Vec::new(),
            Some(Vec::new()),
            BTreeMap::new(),
        );
        assert_eq!(
            none_made.line(),
            "g: 0 kept, no mutant could be made: no score"
        );
    }
}
