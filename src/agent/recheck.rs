//! A proposal of which the user accepted only some hunks, judged again before it is written.
//!
//! Only the whole proposal was validated. Its hunks may depend on each other (a refactor's
//! helper in one, its call in another; a test helper beside the tests), so the text with the
//! accepted hunks alone gets the task's own run again, in a fresh sandbox copy on the warm build
//! cache, and is written only when that passes.

use kiln_sandbox::{RunOutcome, RunReport};
use tokio::sync::mpsc::UnboundedSender;

use super::sandbox::SharedSandbox;
use super::{AgentEvent, AgentSettings, Proposal};
use crate::code::{self, SourceFile};
use crate::task::{first_line, RecheckRule, RunPurpose, SandboxRuns};

#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    /// kiln could not run the check: a local problem, not the code's.
    #[error("{0}")]
    Sandbox(String),
    /// The accepted hunks do not hold up on their own.
    #[error("{}", .0.message)]
    Failed(SubsetFailure),
}

/// Why the text with the accepted hunks was refused, with where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsetFailure {
    /// The first compiler error or failing test, in one line.
    pub message: String,
    /// Its line (1-based) in the checked text, when it lies in the proposal's file: the line a
    /// front end maps to the hunk that covers it.
    pub line: Option<usize>,
}

/// Runs the proposal's own validation on `text` (its file with only the accepted hunks): the
/// comment check for docs, then the run the proposal passed (the tests that remain for
/// gen-tests, doctests for docs, the package's suite for fim and refactor). `Ok`: the run
/// passed, and `text` may be written. Every step is an event, as in a task's run.
pub async fn recheck(
    proposal: &Proposal,
    text: &str,
    settings: &AgentSettings,
    events: &UnboundedSender<AgentEvent>,
) -> Result<RunReport, RecheckError> {
    let check = &proposal.recheck;
    if check.rule == RecheckRule::CommentsOnly {
        comments_only(&proposal.original, text)?;
    }
    // The untouched crate built when the task ran, and that build filled the shared cache:
    // building it again would only double the wait for a user at the review.
    let settings = AgentSettings {
        build_first: false,
        ..settings.clone()
    };
    let sandbox = SharedSandbox::create(&check.location, &settings, events)
        .await
        .map_err(RecheckError::Sandbox)?;
    let runs = sandbox.lend(&check.location.relative_path, events);
    let report = runs
        .run(RunPurpose::Subset, text, &check.test_args, &[])
        .await
        .map_err(RecheckError::Sandbox)?;
    let _ = events.send(AgentEvent::SandboxFinished {
        report: Box::new(report.clone()),
        proposed_tests: None,
    });
    if check.rule.accepts(report.outcome) {
        return Ok(report);
    }
    Err(RecheckError::Failed(failure(
        &report,
        &check.location.relative_path,
    )))
}

/// `Err` when the accepted hunks of a docs proposal change code after all.
fn comments_only(original: &str, text: &str) -> Result<(), RecheckError> {
    let refused = |message: String| {
        RecheckError::Failed(SubsetFailure {
            message,
            line: None,
        })
    };
    let old = SourceFile::parse(original).map_err(|e| refused(format!("{e}")))?;
    let new = SourceFile::parse(text)
        .map_err(|e| refused(format!("the accepted hunks do not parse: {e}")))?;
    match code::first_code_change(&old, &new) {
        Some(change) => Err(refused(format!(
            "the accepted hunks change code ({change})"
        ))),
        None => Ok(()),
    }
}

/// The first thing that failed, and its line when it is in `file` (as the sandbox names files:
/// relative to the copied workspace).
fn failure(report: &RunReport, file: &std::path::Path) -> SubsetFailure {
    let in_file = |reported: &std::path::Path| reported.ends_with(file) || file.ends_with(reported);
    match report.outcome {
        RunOutcome::BuildFailed => {
            // An error in the file is the one a hunk can explain; others may follow from it.
            let first = report
                .compiler_errors
                .iter()
                .find(|e| e.file.as_deref().is_some_and(in_file))
                .or(report.compiler_errors.first());
            match first {
                Some(error) => SubsetFailure {
                    message: format!("does not compile: {}", error.message),
                    line: error
                        .line
                        .filter(|_| error.file.as_deref().is_some_and(in_file)),
                },
                None => SubsetFailure {
                    message: format!("does not build: {}", first_line(&report.output)),
                    line: None,
                },
            }
        }
        RunOutcome::TestsFailed => match report.failures.first() {
            Some(test) => SubsetFailure {
                message: format!(
                    "test {} fails: {}",
                    test.name,
                    first_line(panic_message(&test.message))
                ),
                line: test
                    .panicked_at
                    .as_ref()
                    .filter(|site| in_file(std::path::Path::new(&site.file)))
                    .map(|site| site.line),
            },
            None => SubsetFailure {
                message: format!("tests fail: {}", first_line(&report.output)),
                line: None,
            },
        },
        RunOutcome::TimedOut => SubsetFailure {
            message: "the check timed out".to_string(),
            line: None,
        },
        RunOutcome::NoTestsRan => SubsetFailure {
            message: "no test remains in the accepted hunks".to_string(),
            line: None,
        },
        // Only a rule that refused a passing run gets here, and none does.
        RunOutcome::Passed => SubsetFailure {
            message: "the check did not pass".to_string(),
            line: None,
        },
    }
}

/// libtest's block after the `panicked at FILE:LINE:COL:` line: the message itself.
fn panic_message(block: &str) -> &str {
    match block.find("panicked at ") {
        Some(at) => block[at..].split_once('\n').map_or("", |(_, rest)| rest),
        None => block,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_failing_test_names_itself_its_message_and_its_line_in_the_file() {
        let report = RunReport {
            failures: kiln_sandbox::failures_in(
                "failures:\n\n---- tests::adds stdout ----\n\nthread 'tests::adds' (7) panicked at src/lib.rs:12:9:\n\
                 assertion `left == right` failed\n  left: 1\n right: 2\n\n\nfailures:\n    tests::adds\n",
            ),
            ..crate::task::test_crate::run_report(RunOutcome::TestsFailed, 0)
        };
        assert_eq!(
            failure(&report, std::path::Path::new("src/lib.rs")),
            SubsetFailure {
                message: "test tests::adds fails: assertion `left == right` failed".to_string(),
                line: Some(12),
            }
        );
        // A panic in another file has no line in this one.
        assert_eq!(
            failure(&report, std::path::Path::new("src/other.rs")).line,
            None
        );
    }

    #[test]
    fn comment_only_hunks_pass_the_comment_check_and_code_fails_it() {
        let original = "pub fn f() -> u8 {\n    1\n}\n";
        assert!(comments_only(original, &format!("/// One.\n{original}")).is_ok());
        let err = comments_only(original, "pub fn f() -> u8 {\n    2\n}\n").unwrap_err();
        assert!(err.to_string().contains("change code"), "{err}");
    }
}
