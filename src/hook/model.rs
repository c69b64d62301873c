//! The slow path: the nano tier decides which findings really need tests, then the normal
//! agent loop (mini, escalating to full) writes them in a sandbox built from the staged tree.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use super::findings::Finding;
use super::staged;
use crate::agent::{self, AgentSettings, Outcome};
use crate::config::Config;
use crate::llm::LlmClient;
use crate::task::gen_tests::GenTests;
use crate::task::prompt;

const GATE: &str = include_str!("../../prompts/hook_gate.md");
const GATE_OPTIONS: [&str; 2] = ["yes", "no"];

/// A validated proposal for one staged file.
#[derive(Debug)]
pub struct Proposed {
    pub file: String,
    pub summary: String,
    /// The staged text the tests were written against.
    pub original: String,
    pub new_text: String,
}

#[derive(Debug, Default)]
pub struct Report {
    /// The findings the nano tier said need tests.
    pub needed: Vec<Finding>,
    pub proposals: Vec<Proposed>,
    /// One line per file where no passing tests were found.
    pub failures: Vec<String>,
    /// Why test writing stopped early (the time budget ran out); proposals made before it stay.
    pub interrupted: Option<String>,
}

/// Gates `findings` and writes tests for the ones that need them. `Err` is one line saying why
/// the model could not do its part (no key, server down, a model error); the caller decides
/// whether that may stop the commit. Everything must finish within `budget`; the caller removes
/// `checkout_dir` afterwards.
pub async fn work(
    findings: Vec<Finding>,
    config: &Config,
    checkout_dir: &Path,
    budget: Duration,
) -> Result<Report, String> {
    let deadline = Instant::now() + budget;
    let out_of_time = || format!("ran out of its {} s budget", budget.as_secs());
    let llm = LlmClient::new(config).map_err(|e| first_line(&e.to_string()))?;
    let mut report = Report::default();
    for finding in findings {
        let question = prompt::render(
            GATE,
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
    if report.needed.is_empty() {
        return Ok(report);
    }

    staged::checkout_index(checkout_dir).map_err(|e| e.to_string())?;
    let mut by_file: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in &report.needed {
        by_file
            .entry(f.file.as_str())
            .or_default()
            .push(f.function.clone());
    }
    let settings = AgentSettings::from_config(config, None);
    // Progress is not shown: a hook's output stays short. Sends to a closed channel are fine.
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    for (file, functions) in by_file {
        let task = match GenTests::new(&checkout_dir.join(file), &functions) {
            Ok(task) => task,
            Err(e) => {
                report
                    .failures
                    .push(format!("{file}: {}", first_line(&e.to_string())));
                continue;
            }
        };
        eprintln!("kiln: writing tests for {} in {file}", functions.join(", "));
        let Ok(summary) = timeout_at(deadline, agent::run(&task, &llm, &settings, &events)).await
        else {
            report.interrupted = Some(out_of_time());
            break;
        };
        match summary.outcome {
            Outcome::Proposed(p) => report.proposals.push(Proposed {
                file: file.to_string(),
                summary: p.summary,
                original: p.original,
                new_text: p.new_text,
            }),
            Outcome::ModelFailed(e) => {
                return Err(format!("the model failed: {}", first_line(&e.to_string())))
            }
            Outcome::Exhausted { .. } | Outcome::BudgetSpent { .. } => {
                report.failures.push(format!(
                    "{file}: no passing tests after {} attempt(s)",
                    summary.attempts
                ))
            }
            Outcome::SandboxFailed(message) => report
                .failures
                .push(format!("{file}: {}", first_line(&message))),
        }
    }
    Ok(report)
}

/// Hook output stays one line per fact.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_prompt_renders() {
        let text =
            prompt::render(GATE, &[("file", "src/a.rs"), ("function", "pub fn f() {}")]).unwrap();
        assert!(text.contains("`src/a.rs`") && text.contains("pub fn f() {}"));
    }
}
