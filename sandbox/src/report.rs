//! The structured result of one `cargo test` run, and its compact rendering
//! for a model's context window.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::capped::{cap_str, truncate_to};
use crate::cause::Cause;

/// How many compiler errors [`RunReport::summary_for_model`] shows in full:
/// models fix the first errors best, later ones are often consequences.
const SUMMARY_MAX_ERRORS: usize = 5;
/// How many failing tests the summary details.
const SUMMARY_MAX_FAILURES: usize = 5;
/// Per-item cap in the summary, so one huge error cannot crowd out the rest.
const SUMMARY_ITEM_CAP_BYTES: usize = 2048;
/// How much of the raw output tail a timed-out summary includes.
const SUMMARY_TIMEOUT_TAIL_BYTES: usize = 1024;
/// Appended when the summary had to be cut to fit.
const SUMMARY_TRUNCATED_MARKER: &str = "\n[... summary truncated ...]";

/// What happened, in order of precedence (see [`crate::Sandbox::cargo_test`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Everything compiled and at least one test ran; none failed.
    Passed,
    /// A compiler error, or cargo failed before any test binary ran
    /// (bad manifest, unresolvable dependency, ...).
    BuildFailed,
    /// At least one test failed, or a test binary crashed.
    TestsFailed,
    /// The wall-clock limit was hit; the whole process group was killed.
    TimedOut,
    /// Cargo ran fine but no test passed or failed (e.g. the filter matched
    /// nothing, or every matching test is `#[ignore]`d).
    NoTestsRan,
}

/// One `error`-level compiler diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompilerDiagnostic {
    /// The one-line message, e.g. "mismatched types".
    pub message: String,
    /// Primary span's file as rustc reported it, relative to the crate root
    /// when it lies inside the sandbox copy. `None` for span-less errors
    /// (linker failures, cargo-level errors).
    pub file: Option<PathBuf>,
    /// 1-based line of the primary span.
    pub line: Option<usize>,
    /// 1-based column of the primary span.
    pub column: Option<usize>,
    /// rustc's full human rendering (code snippet, notes, help), capped.
    pub rendered: String,
}

/// A failed test and what it printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestFailure {
    /// Full libtest name, e.g. `parser::tests::parses_empty`.
    pub name: String,
    /// The test's `---- name stdout ----` block: captured output and the
    /// panic message (e.g. "assertion `left == right` failed" with values),
    /// capped.
    pub message: String,
    /// Where the test's own thread last panicked, if libtest printed it.
    pub panicked_at: Option<PanicSite>,
}

/// `FILE:LINE:COL` of libtest's `thread 'NAME' panicked at FILE:LINE:COL:` line: lets a caller
/// tell an assertion that failed in the test from a crash in the code the test called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanicSite {
    /// As rustc recorded it: relative to the workspace root for the workspace's own files.
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Everything kiln needs to know about one `cargo test` run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub outcome: RunOutcome,
    /// Which sandbox limit or denial the run hit, if any (see [`Cause`]).
    pub cause: Option<Cause>,
    /// Distinct `error`-level diagnostics, in the order rustc emitted them.
    pub compiler_errors: Vec<CompilerDiagnostic>,
    /// Summed over all test binaries that ran.
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub failures: Vec<TestFailure>,
    /// Full libtest names of the tests that passed (at most [`MAX_PASSED_NAMES`]), so a caller
    /// can tell which tests finished in a run that timed out.
    pub passed_tests: Vec<String>,
    /// Human-readable output (rendered diagnostics, cargo status, libtest
    /// text), capped with a `[... N bytes cut ...]` marker in the middle.
    pub output: String,
    pub duration: Duration,
    /// How much of `duration` the build took, up to cargo's `build-finished`; the rest is the
    /// test binaries and cargo starting them. `None`: cargo never said (killed, or crashed).
    pub build_time: Option<Duration>,
    /// How many secrets were replaced with `[redacted]` in this report's text (see
    /// [`crate::Redactor`]).
    pub redactions: usize,
}

/// More passed names than this say nothing more to a caller, who looks for its own few tests.
pub const MAX_PASSED_NAMES: usize = 10_000;

impl RunReport {
    /// Compact text for feeding back to a model: an outcome line with counts,
    /// the first few compiler errors (rendered, each trimmed), the failing
    /// tests with their messages. Never longer than `max_bytes`.
    pub fn summary_for_model(&self, max_bytes: usize) -> String {
        let mut out = self.outcome_line();
        match self.outcome {
            RunOutcome::BuildFailed => self.push_errors(&mut out),
            RunOutcome::TestsFailed => self.push_failures(&mut out),
            RunOutcome::TimedOut => {
                self.push_failures(&mut out);
                let tail_start = self.output.len().saturating_sub(SUMMARY_TIMEOUT_TAIL_BYTES);
                let tail_start = crate::capped::ceil_char_boundary(&self.output, tail_start);
                let tail = self.output[tail_start..].trim();
                if !tail.is_empty() {
                    let _ = write!(out, "\n\nLast output before the timeout:\n{tail}");
                }
            }
            RunOutcome::Passed | RunOutcome::NoTestsRan => {}
        }
        if out.len() > max_bytes {
            let keep = max_bytes.saturating_sub(SUMMARY_TRUNCATED_MARKER.len());
            truncate_to(&mut out, keep);
            if out.len() + SUMMARY_TRUNCATED_MARKER.len() <= max_bytes {
                out.push_str(SUMMARY_TRUNCATED_MARKER);
            }
        }
        out
    }

    fn outcome_line(&self) -> String {
        let line = self.outcome_counts_line();
        match self.cause {
            // A cut output is visible in the text itself; no need to say it.
            Some(cause) if cause != Cause::OutputCap => {
                format!("{line}\nSandbox: {}.", cause.describe())
            }
            _ => line,
        }
    }

    fn outcome_counts_line(&self) -> String {
        let counts = format!(
            "{} passed, {} failed, {} ignored",
            self.passed, self.failed, self.ignored
        );
        match self.outcome {
            RunOutcome::Passed => format!("PASSED: {counts}."),
            RunOutcome::BuildFailed => format!(
                "BUILD FAILED: {} compiler error(s); no tests ran.",
                self.compiler_errors.len()
            ),
            RunOutcome::TestsFailed => format!("TESTS FAILED: {counts}."),
            RunOutcome::TimedOut => format!(
                "TIMED OUT after {:.1} s (killed); before that: {counts}.",
                self.duration.as_secs_f64()
            ),
            RunOutcome::NoTestsRan => {
                format!("NO TESTS RAN: the build succeeded but no test matched ({counts}).")
            }
        }
    }

    fn push_errors(&self, out: &mut String) {
        for diagnostic in self.compiler_errors.iter().take(SUMMARY_MAX_ERRORS) {
            let text = if diagnostic.rendered.trim().is_empty() {
                diagnostic.message.as_str()
            } else {
                diagnostic.rendered.trim()
            };
            let _ = write!(out, "\n\n{}", cap_str(text, SUMMARY_ITEM_CAP_BYTES));
        }
        let hidden = self
            .compiler_errors
            .len()
            .saturating_sub(SUMMARY_MAX_ERRORS);
        if hidden > 0 {
            let _ = write!(out, "\n\n({hidden} more error(s) not shown.)");
        }
    }

    fn push_failures(&self, out: &mut String) {
        for failure in self.failures.iter().take(SUMMARY_MAX_FAILURES) {
            let message = strip_noise(&failure.message);
            let _ = write!(
                out,
                "\n\n---- {} ----\n{}",
                failure.name,
                cap_str(message.trim(), SUMMARY_ITEM_CAP_BYTES)
            );
        }
        let hidden = self.failures.len().saturating_sub(SUMMARY_MAX_FAILURES);
        if hidden > 0 {
            let _ = write!(out, "\n\n({hidden} more failing test(s) not shown.)");
        }
    }
}

/// Drops lines that cost tokens and never help a fix (backtrace hints).
fn strip_noise(message: &str) -> String {
    message
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn report(outcome: RunOutcome) -> RunReport {
        RunReport {
            outcome,
            cause: None,
            compiler_errors: Vec::new(),
            passed: 0,
            failed: 0,
            ignored: 0,
            failures: Vec::new(),
            passed_tests: Vec::new(),
            output: String::new(),
            duration: Duration::from_secs(1),
            build_time: None,
            redactions: 0,
        }
    }

    fn error(n: usize) -> CompilerDiagnostic {
        CompilerDiagnostic {
            message: format!("mismatched types {n}"),
            file: Some(PathBuf::from("src/lib.rs")),
            line: Some(n),
            column: Some(1),
            rendered: format!(
                "error[E0308]: mismatched types {n}\n --> src/lib.rs:{n}:1\n{}",
                "x".repeat(5000)
            ),
        }
    }

    #[test]
    fn build_failure_summary_shows_first_errors_within_budget() {
        let mut r = report(RunOutcome::BuildFailed);
        r.compiler_errors = (1..=8).map(error).collect();
        let s = r.summary_for_model(100_000);
        assert!(s.starts_with("BUILD FAILED: 8 compiler error(s)"), "{s}");
        assert!(s.contains("mismatched types 1\n --> src/lib.rs:1:1"));
        assert!(s.contains("mismatched types 5"));
        assert!(!s.contains("mismatched types 6"));
        assert!(s.contains("3 more error(s) not shown"));
        assert!(
            s.len() < 6 * SUMMARY_ITEM_CAP_BYTES,
            "items not capped: {}",
            s.len()
        );
    }

    #[test]
    fn summary_never_exceeds_max_bytes() {
        let mut r = report(RunOutcome::BuildFailed);
        r.compiler_errors = (1..=8).map(error).collect();
        for max in [0, 10, 27, 100, 999, 4096] {
            let s = r.summary_for_model(max);
            assert!(s.len() <= max, "max {max} got {}", s.len());
        }
        assert!(r.summary_for_model(300).ends_with(SUMMARY_TRUNCATED_MARKER));
    }

    #[test]
    fn failure_summary_lists_names_messages_and_drops_backtrace_hint() {
        let mut r = report(RunOutcome::TestsFailed);
        r.passed = 3;
        r.failed = 1;
        r.failures.push(TestFailure {
            name: "tests::adds".into(),
            message: "thread 'tests::adds' panicked at src/lib.rs:9:5:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace".into(),
            panicked_at: None,
        });
        let s = r.summary_for_model(10_000);
        assert!(
            s.starts_with("TESTS FAILED: 3 passed, 1 failed, 0 ignored."),
            "{s}"
        );
        assert!(s.contains("---- tests::adds ----\nthread 'tests::adds' panicked"));
        assert!(s.contains(" right: 4"));
        assert!(!s.contains("RUST_BACKTRACE"), "{s}");
    }

    #[test]
    fn timeout_summary_includes_output_tail() {
        let mut r = report(RunOutcome::TimedOut);
        r.output = format!(
            "{}\ntest slow has been running for over 60 seconds\n",
            "a".repeat(5000)
        );
        let s = r.summary_for_model(10_000);
        assert!(s.starts_with("TIMED OUT after 1.0 s"), "{s}");
        assert!(s.contains("has been running for over 60 seconds"));
        assert!(s.len() < 1500);
    }

    #[test]
    fn outcome_serializes_in_snake_case() {
        let json = serde_json::to_string(&report(RunOutcome::NoTestsRan)).unwrap();
        assert!(json.contains("\"outcome\":\"no_tests_ran\""), "{json}");
    }
}
