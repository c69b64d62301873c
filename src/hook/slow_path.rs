//! The hook's slow path, taken only when staged functions lack tests or docs: the nano tier
//! decides which findings really need tests, then the normal agent loop (mini, escalating to
//! full) writes them in a sandbox built from the staged tree, and then docs for every public
//! function without them (docs need no gate).
//!
//! Tests and docs for one file become one proposal: the docs run on the staged file with the
//! tests already in it, so the second result is built on the first and the patch (one per
//! file) holds both, made from the staged text.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use super::findings::Finding;
use super::staged;
use crate::agent::{AgentSettings, Outcome, Work};
use crate::config::Config;
use crate::frontend::session::{gen_tests_work, Batches, Session};
use crate::frontend::wording::{describe_outcome, first_line, proposal_headline, usage_line, Form};
use crate::llm::LlmClient;
use crate::prompt::{self, HOOK_GATE};
use crate::task::docstring::{DocScope, Docstring};
use crate::task::gen_tests::GenTests;
use crate::task::TaskError;

const GATE_OPTIONS: [&str; 2] = ["yes", "no"];

/// A validated proposal for one staged file.
#[derive(Debug)]
pub struct Proposed {
    pub file: String,
    /// What it holds, with the mutants its tests caught (see [`proposal_headline`]).
    pub summary: String,
    /// The validation's findings, one line per function, and the model's use (requests,
    /// tokens): the patch's notes.
    pub notes: Vec<String>,
    /// The staged text the tests and docs were written against.
    pub original: String,
    pub new_text: String,
}

#[derive(Debug, Default)]
pub struct Report {
    /// The findings the nano tier said need tests.
    pub needed: Vec<Finding>,
    pub proposals: Vec<Proposed>,
    /// One line per file where no passing tests or docs were found.
    pub failures: Vec<String>,
    /// Why test writing stopped early (the time budget ran out); proposals made before it stay.
    pub interrupted: Option<String>,
}

/// Gates the `findings` that lack tests and writes tests for the ones that need them, then docs
/// for those that lack docs. `Err` is one line saying why
/// the model could not do its part (no key, server down, a model error); the caller decides
/// whether that may stop the commit. Everything must finish within `budget`; the caller removes
/// `checkout_dir` afterwards.
pub async fn write_tests_and_docs(
    findings: Vec<Finding>,
    config: &Config,
    session: &Session,
    checkout_dir: &Path,
    budget: Duration,
) -> Result<Report, String> {
    let deadline = Instant::now() + budget;
    let out_of_time = || format!("ran out of its {} s budget", budget.as_secs());
    let llm = &session.llm;
    let mut report = Report::default();
    let undocumented: Vec<Finding> = findings.iter().filter(|f| f.needs_docs).cloned().collect();
    for finding in findings.into_iter().filter(|f| f.needs_tests) {
        let question = prompt::render(
            HOOK_GATE,
            &[("file", &finding.file), ("function", &finding.text)],
        )
        .map_err(|e| e.to_string())?;
        let answer = timeout_at(
            deadline,
            llm.classify(&question, &GATE_OPTIONS, &mut |_| {}),
        )
        .await
        .map_err(|_| out_of_time())?
        .map_err(|e| format!("the nano model failed: {}", first_line(&e.to_string())))?;
        if answer.answer == "yes" {
            report.needed.push(finding);
        }
    }
    if report.needed.is_empty() && undocumented.is_empty() {
        return Ok(report);
    }

    staged::checkout_index(checkout_dir).map_err(|e| e.to_string())?;
    let agent = TimedAgent {
        llm,
        settings: &session.settings,
        deadline,
        out_of_time: out_of_time(),
    };
    for (file, functions) in by_file(&report.needed) {
        if report.interrupted.is_some() {
            break;
        }
        // Many changed functions go in concurrent batches, as `kiln gen-tests` sends them.
        let work = GenTests::new(&checkout_dir.join(&file), &functions)
            // The hook works on what a commit changed, within its time budget: no plan to ask about.
            .map(|task| gen_tests_work(task, Batches::from_config(config)).work);
        eprintln!("kiln: writing tests for {} in {file}", functions.join(", "));
        if let Some(p) = agent.propose(work, &file, "tests", &mut report).await? {
            report.proposals.push(p);
        }
    }
    for (file, functions) in by_file(&undocumented) {
        if report.interrupted.is_some() {
            break;
        }
        let path = checkout_dir.join(&file);
        let tests = report.proposals.iter().position(|p| p.file == file);
        if let Some(i) = tests {
            // Docs are written on top of the proposed tests, so both fit in one patch.
            std::fs::write(&path, &report.proposals[i].new_text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let work = Docstring::new(&path, &functions, DocScope::Public)
            .map(|task| Work::One(Box::new(task)));
        eprintln!("kiln: writing docs for {} in {file}", functions.join(", "));
        let Some(docs) = agent.propose(work, &file, "docs", &mut report).await? else {
            continue;
        };
        match tests {
            Some(i) => {
                let both = &mut report.proposals[i];
                both.summary = format!("{} and {}", both.summary, docs.summary);
                both.notes.extend(docs.notes);
                both.new_text = docs.new_text;
            }
            None => report.proposals.push(docs),
        }
    }
    Ok(report)
}

/// The functions to work on, by file.
fn by_file(findings: &[Finding]) -> BTreeMap<String, Vec<String>> {
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in findings {
        by_file
            .entry(f.file.clone())
            .or_default()
            .push(f.function.clone());
    }
    by_file
}

/// The agent as the hook uses it: one client and settings, and one deadline for every task.
struct TimedAgent<'a> {
    llm: &'a LlmClient,
    settings: &'a AgentSettings,
    deadline: Instant,
    out_of_time: String,
}

impl TimedAgent<'_> {
    /// Runs `work` for `file` within the deadline. Work that could not start or found nothing
    /// passing adds a failure line; running out of time sets `interrupted`; `Err` is a model
    /// failure, which ends the hook's model work.
    async fn propose(
        &self,
        work: Result<Work, TaskError>,
        file: &str,
        what: &str,
        report: &mut Report,
    ) -> Result<Option<Proposed>, String> {
        let work = match work {
            Ok(work) => work,
            Err(e) => {
                let why = e.to_string();
                report
                    .failures
                    .push(format!("{file}: {}", first_line(&why)));
                return Ok(None);
            }
        };
        // Progress is not shown: a hook's output stays short. Sends to a closed channel are fine.
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let Ok(summary) = timeout_at(
            self.deadline,
            work.perform(self.llm, self.settings, &events),
        )
        .await
        else {
            report.interrupted = Some(self.out_of_time.clone());
            return Ok(None);
        };
        let words = describe_outcome(&summary.outcome, summary.attempts, what, Form::Brief);
        match summary.outcome {
            Outcome::Proposed(p) => {
                // What the model work took, estimates labelled, as the one-shot commands end.
                let headline = proposal_headline(&p);
                let mut notes = p.notes.map(|n| n.lines).unwrap_or_default();
                notes.push(format!(
                    "{what}: {}",
                    usage_line(summary.attempts, &summary.stats)
                ));
                Ok(Some(Proposed {
                    file: file.to_string(),
                    summary: headline,
                    notes,
                    original: p.original,
                    new_text: p.new_text,
                }))
            }
            Outcome::ModelFailed(_) => Err(format!("the model failed: {}", first_line(&words))),
            Outcome::Exhausted { .. } | Outcome::BudgetSpent { .. } | Outcome::SandboxFailed(_) => {
                report
                    .failures
                    .push(format!("{file}: {}", first_line(&words)));
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_prompt_renders() {
        let text = prompt::render(
            HOOK_GATE,
            &[("file", "src/a.rs"), ("function", "pub fn f() {}")],
        )
        .unwrap();
        assert!(text.contains("`src/a.rs`") && text.contains("pub fn f() {}"));
    }
}
