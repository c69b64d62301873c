//! What the gen-tests filter tells the user and the model: per function, the tests kept, the
//! tests dropped and why, the mutants made and killed, and the attempts per tier.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Tier;
use crate::task::ValidationNotes;

/// Why a generated test was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    DoesNotCompile,
    Flaky,
    KillsNoMutant,
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
            DropReason::Duplicate => format!("- `{name}` repeats {detail}."),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutantResult {
    pub description: String,
    pub killed: bool,
}

/// The filter's findings for one target function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionReport {
    pub function: String,
    pub kept: Vec<String>,
    pub dropped: Vec<DroppedTest>,
    /// `None` when mutation was skipped (`--no-mutation`) or no kept test calls the function.
    pub mutants: Option<Vec<MutantResult>>,
    pub mutants_made: usize,
    pub mutants_killed: usize,
    /// Killed over made; `None` without mutants.
    pub mutation_score: Option<f64>,
    /// Model requests whose candidate had tests for this function, per tier.
    pub attempts: BTreeMap<Tier, u32>,
}

impl FunctionReport {
    pub fn new(
        function: String,
        kept: Vec<String>,
        dropped: Vec<DroppedTest>,
        mutants: Option<Vec<MutantResult>>,
        attempts: BTreeMap<Tier, u32>,
    ) -> FunctionReport {
        let made = mutants.as_ref().map_or(0, Vec::len);
        let killed = mutants
            .as_ref()
            .map_or(0, |m| m.iter().filter(|m| m.killed).count());
        FunctionReport {
            function,
            kept,
            dropped,
            mutants,
            mutants_made: made,
            mutants_killed: killed,
            mutation_score: (made > 0).then(|| killed as f64 / made as f64),
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
        match self.mutation_score {
            Some(score) => line.push_str(&format!(
                ", mutants {}/{} killed ({:.0}%)",
                self.mutants_killed,
                self.mutants_made,
                score * 100.0
            )),
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

fn reason_words(reason: DropReason) -> &'static str {
    match reason {
        DropReason::DoesNotCompile => "does not compile",
        DropReason::Flaky => "flaky",
        DropReason::KillsNoMutant => "kills no mutant",
        DropReason::Duplicate => "duplicate",
    }
}

/// The report as notes for the front ends: one line per function, and the JSON list.
pub fn notes(functions: &[FunctionReport]) -> ValidationNotes {
    ValidationNotes {
        lines: functions.iter().map(FunctionReport::line).collect(),
        json: serde_json::json!({ "functions": functions }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_function_line_counts_tests_mutants_and_attempts() {
        let report = FunctionReport::new(
            "adult".to_string(),
            vec!["good".to_string()],
            vec![DroppedTest {
                name: "same".to_string(),
                reason: DropReason::KillsNoMutant,
                detail: "body replaced by `Default::default()`".to_string(),
                functions: vec!["adult".to_string()],
            }],
            Some(vec![
                MutantResult {
                    description: "a".to_string(),
                    killed: true,
                },
                MutantResult {
                    description: "b".to_string(),
                    killed: false,
                },
            ]),
            BTreeMap::from([(Tier::Mini, 2)]),
        );
        assert_eq!(
            report.line(),
            "adult: 1 kept (good), 1 dropped (same: kills no mutant), mutants 1/2 killed (50%), attempts: mini 2"
        );
        assert_eq!(report.mutation_score, Some(0.5));
        let json = notes(&[report]).json;
        assert_eq!(
            json["functions"][0]["dropped"][0]["reason"],
            "kills_no_mutant"
        );
    }
}
