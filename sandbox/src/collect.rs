//! Turns cargo's streamed stdout/stderr lines into progress events and,
//! at the end, a [`RunReport`].
//!
//! Everything here is bounded: untrusted code controls how much is printed,
//! so we keep counting and parsing every line but retain only capped text and
//! a capped number of diagnostics and failures.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Instant;

use crate::capped::CappedText;
use crate::cause::CauseScan;
use crate::clean::{clean_report, Redactor};
use crate::diagnostics::{parse_cargo_line, relativize_text, CargoMessage};
use crate::direct::BuiltTests;
use crate::libtest::{Counts, LibtestEvent, LibtestParser, TestResult};
use crate::report::{CompilerDiagnostic, RunOutcome, RunReport, TestFailure, MAX_PASSED_NAMES};
use crate::Progress;

/// Distinct compiler errors kept; beyond this the model has enough to do.
const MAX_KEPT_ERRORS: usize = 100;
/// Failing tests kept with their messages.
const MAX_KEPT_FAILURES: usize = 100;
/// Cargo-level stderr text kept to explain failures that produce no
/// compiler message or libtest block (bad manifest, crashed test binary).
const STDERR_NOTES_CAP_BYTES: usize = 8 * 1024;

/// How the cargo process ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Termination {
    Exited(ExitStatus),
    /// Killed by us at the wall-clock limit.
    TimedOut,
}

/// A test binary that printed `running N tests` and has not yet printed its
/// `test result:` line.
#[derive(Debug)]
struct OpenBinary {
    label: String,
    counts: Counts,
}

pub(crate) struct Collector {
    crate_dir: PathBuf,
    output: CappedText,
    errors: Vec<CompilerDiagnostic>,
    build_finished_ok: Option<bool>,
    /// When cargo said the build was done, for [`RunReport::build_time`].
    build_finished_at: Option<Instant>,
    /// The run starts binaries built earlier: its build took no time at all.
    prebuilt: bool,
    built: BuiltTests,
    libtest: LibtestParser,
    totals: Counts,
    open_binary: Option<OpenBinary>,
    crashed_binaries: Vec<String>,
    any_binary_started: bool,
    failures: Vec<TestFailure>,
    failed_names: Vec<String>,
    passed_names: Vec<String>,
    /// Label from cargo's latest `Running ...` status line.
    binary_label: String,
    stderr_notes: CappedText,
    first_cargo_error: Option<String>,
    causes: CauseScan,
}

impl Collector {
    pub(crate) fn new(crate_dir: PathBuf, output_cap_bytes: usize) -> Self {
        Self {
            crate_dir,
            output: CappedText::new(output_cap_bytes),
            errors: Vec::new(),
            build_finished_ok: None,
            build_finished_at: None,
            prebuilt: false,
            built: BuiltTests::default(),
            libtest: LibtestParser::new(),
            totals: Counts::default(),
            open_binary: None,
            crashed_binaries: Vec::new(),
            any_binary_started: false,
            failures: Vec::new(),
            failed_names: Vec::new(),
            passed_names: Vec::new(),
            binary_label: String::from("test binary"),
            stderr_notes: CappedText::new(STDERR_NOTES_CAP_BYTES),
            first_cargo_error: None,
            causes: CauseScan::default(),
        }
    }

    pub(crate) fn stdout_line(&mut self, line: &str, on_progress: &mut dyn FnMut(Progress)) {
        if let Some(message) = parse_cargo_line(line, &self.crate_dir) {
            match message {
                CargoMessage::Error(diagnostic) => {
                    self.output.push_str(&diagnostic.rendered);
                    let duplicate = self
                        .errors
                        .iter()
                        .any(|e| e.rendered == diagnostic.rendered);
                    if !duplicate && self.errors.len() < MAX_KEPT_ERRORS {
                        self.errors.push(diagnostic);
                    }
                }
                CargoMessage::OtherDiagnostic { rendered } => self.output.push_str(&rendered),
                CargoMessage::BuildFinished { success } => {
                    self.build_finished_ok = Some(success);
                    self.build_finished_at = Some(Instant::now());
                }
                CargoMessage::TestExecutable(artifact) => self.built.artifact(artifact),
                CargoMessage::BuildScriptRan(output) => self.built.build_script(output),
                CargoMessage::Ignored => {}
            }
            return;
        }
        self.output.push_line(line);
        self.causes.line(line);
        let mut events = Vec::new();
        self.libtest.line(line, &mut |e| events.push(e));
        for event in events {
            self.libtest_event(event, on_progress);
        }
    }

    pub(crate) fn stderr_line(&mut self, line: &str, on_progress: &mut dyn FnMut(Progress)) {
        self.output.push_line(line);
        self.causes.line(line);
        if let Some((verb, rest)) = cargo_status(line) {
            match verb {
                "Compiling" => on_progress(Progress::Compiling {
                    unit: strip_paren_suffix(rest).to_string(),
                }),
                "Running" => self.binary_label = strip_paren_suffix(rest).to_string(),
                "Doc-tests" => self.binary_label = format!("doc-tests {rest}"),
                _ => {}
            }
            return;
        }
        self.note(line);
    }

    /// Cargo-level stderr text, which explains a failure that has no compiler message or
    /// libtest block.
    fn note(&mut self, line: &str) {
        if self.first_cargo_error.is_none() && line.starts_with("error") {
            self.first_cargo_error = Some(line.to_string());
        }
        self.stderr_notes.push_line(line);
    }

    /// For a run of binaries built earlier: its report says the build took no time.
    pub(crate) fn nothing_to_build(&mut self) {
        self.prebuilt = true;
        self.build_finished_ok = Some(true);
    }

    /// A test binary is started, as cargo's `Running DISPLAY` line would say; `display` is
    /// e.g. `unittests src/lib.rs (/t/debug/deps/x-1a)`.
    pub(crate) fn binary_running(&mut self, display: &str) {
        self.output
            .push_line(&format!("{:>12} {display}", "Running"));
        self.binary_label = strip_paren_suffix(display).to_string();
    }

    /// What cargo would print on stderr when a test binary failed (see [`crate::direct`]).
    pub(crate) fn cargo_error(&mut self, text: &str) {
        for line in text.lines() {
            self.output.push_line(line);
            self.causes.line(line);
            self.note(line);
        }
    }

    /// The test executables of a build that succeeded; `None` if it did not.
    pub(crate) fn take_built(&mut self) -> Option<BuiltTests> {
        let built = std::mem::take(&mut self.built);
        (self.build_finished_ok == Some(true) && self.errors.is_empty()).then_some(built)
    }

    fn libtest_event(&mut self, event: LibtestEvent, on_progress: &mut dyn FnMut(Progress)) {
        match event {
            LibtestEvent::Started { total } => {
                self.close_binary();
                self.any_binary_started = true;
                self.open_binary = Some(OpenBinary {
                    label: self.binary_label.clone(),
                    counts: Counts::default(),
                });
                on_progress(Progress::TestsStarted { total });
            }
            LibtestEvent::Finished { name, result } => {
                if let Some(open) = &mut self.open_binary {
                    match result {
                        TestResult::Ok => open.counts.passed += 1,
                        TestResult::Failed => open.counts.failed += 1,
                        TestResult::Ignored => open.counts.ignored += 1,
                    }
                }
                if result == TestResult::Failed && self.failed_names.len() < MAX_KEPT_FAILURES {
                    self.failed_names.push(name.clone());
                }
                if result == TestResult::Ok && self.passed_names.len() < MAX_PASSED_NAMES {
                    self.passed_names.push(name.clone());
                }
                // Ignored tests neither passed nor failed: no event for them.
                if result != TestResult::Ignored {
                    let passed = result == TestResult::Ok;
                    on_progress(Progress::TestFinished { name, passed });
                }
            }
            LibtestEvent::FailureBlock {
                name,
                message,
                panicked_at,
            } => {
                if self.failures.len() < MAX_KEPT_FAILURES {
                    self.failures.push(TestFailure {
                        name,
                        message,
                        panicked_at,
                    });
                }
            }
            LibtestEvent::Summary(counts) => {
                // The summary is authoritative over our per-line counting.
                self.open_binary = None;
                self.add_counts(counts);
            }
        }
    }

    /// Called when a new binary starts or output ends. A binary still open
    /// then never printed its summary: it crashed, aborted or called
    /// `process::exit`, and that must count as a failure.
    fn close_binary(&mut self) {
        if let Some(open) = self.open_binary.take() {
            self.add_counts(open.counts);
            self.crashed_binaries.push(open.label);
        }
    }

    fn add_counts(&mut self, counts: Counts) {
        self.totals.passed += counts.passed;
        self.totals.failed += counts.failed;
        self.totals.ignored += counts.ignored;
    }

    /// The report of the run, its text made safe to show and send (see [`crate::clean`]).
    pub(crate) fn finish(
        mut self,
        termination: Termination,
        started: Instant,
        redactor: &Redactor,
    ) -> RunReport {
        let duration = started.elapsed();
        let mut events = Vec::new();
        self.libtest.finish(&mut |e| events.push(e));
        for event in events {
            self.libtest_event(event, &mut |_| {});
        }
        let timed_out = matches!(termination, Termination::TimedOut);
        if timed_out {
            // Killed by us mid-run: not a crash, and the counts so far stand.
            if let Some(open) = self.open_binary.take() {
                self.add_counts(open.counts);
            }
        } else {
            self.close_binary();
        }
        for label in std::mem::take(&mut self.crashed_binaries) {
            self.totals.failed += 1;
            self.failures.push(TestFailure {
                name: label,
                message: format!(
                    "the test binary exited before reporting its results (crash, abort, \
                     stack overflow or process::exit)\n{}",
                    self.stderr_notes.render().trim()
                ),
                panicked_at: None,
            });
        }
        for name in std::mem::take(&mut self.failed_names) {
            if !self.failures.iter().any(|f| f.name == name) {
                self.failures.push(TestFailure {
                    name,
                    message: String::new(),
                    panicked_at: None,
                });
            }
        }
        let exit_ok = matches!(termination, Termination::Exited(status) if status.success());
        let outcome = if !self.errors.is_empty() {
            RunOutcome::BuildFailed
        } else if timed_out {
            RunOutcome::TimedOut
        } else if self.build_finished_ok == Some(false) || (!exit_ok && !self.any_binary_started) {
            self.errors.push(self.cargo_level_error());
            RunOutcome::BuildFailed
        } else if self.totals.failed > 0 {
            RunOutcome::TestsFailed
        } else if self.totals.passed == 0 {
            RunOutcome::NoTestsRan
        } else {
            RunOutcome::Passed
        };
        let cause = self.causes.finish(
            outcome == RunOutcome::Passed,
            timed_out,
            self.output.is_cut(),
        );
        let mut report = RunReport {
            outcome,
            cause,
            compiler_errors: self.errors,
            passed: self.totals.passed,
            failed: self.totals.failed,
            ignored: self.totals.ignored,
            failures: self.failures,
            passed_tests: self.passed_names,
            output: self.output.render(),
            duration,
            build_time: if self.prebuilt {
                Some(std::time::Duration::ZERO)
            } else {
                self.build_finished_at
                    .map(|at| at.saturating_duration_since(started))
            },
            redactions: 0,
        };
        clean_report(&mut report, redactor);
        report
    }

    /// A build failure without any rustc error (bad manifest, resolution
    /// failure, killed rustc): explained by cargo's own stderr.
    fn cargo_level_error(&self) -> CompilerDiagnostic {
        let message = self
            .first_cargo_error
            .as_deref()
            .map(|line| line.strip_prefix("error: ").unwrap_or(line).to_string())
            .unwrap_or_else(|| "cargo failed without a compiler error".to_string());
        let rendered = if self.stderr_notes.is_empty() {
            message.clone()
        } else {
            self.stderr_notes.render().trim().to_string()
        };
        CompilerDiagnostic {
            message: relativize_text(&message, &self.crate_dir),
            file: None,
            line: None,
            column: None,
            rendered: relativize_text(&rendered, &self.crate_dir),
        }
    }
}

/// Splits a cargo status line (`"{verb:>12} {rest}"`, e.g.
/// `"   Compiling foo v0.1.0 (/path)"`) into verb and rest.
fn cargo_status(line: &str) -> Option<(&str, &str)> {
    let head = line.get(..12)?;
    let rest = line.get(12..)?.strip_prefix(' ')?;
    let verb = head.trim_start();
    let is_status = line.starts_with(' ')
        && verb.starts_with(|c: char| c.is_ascii_uppercase())
        && verb.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
    is_status.then_some((verb, rest))
}

/// `"foo v0.1.0 (/tmp/x)"` → `"foo v0.1.0"`.
fn strip_paren_suffix(text: &str) -> &str {
    match text.rfind(" (") {
        Some(pos) if text.ends_with(')') => &text[..pos],
        _ => text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn exited(code: i32) -> Termination {
        Termination::Exited(ExitStatus::from_raw(code << 8))
    }

    fn run(stdout: &str, stderr: &str, termination: Termination) -> (RunReport, Vec<Progress>) {
        let mut c = Collector::new(PathBuf::from("/sb/crate"), 64 * 1024);
        let mut progress = Vec::new();
        let mut on_progress = |p| progress.push(p);
        for line in stderr.lines() {
            c.stderr_line(line, &mut on_progress);
        }
        for line in stdout.lines() {
            c.stdout_line(line, &mut on_progress);
        }
        (
            c.finish(termination, Instant::now(), &Redactor::default()),
            progress,
        )
    }

    #[test]
    fn status_lines_are_recognised() {
        assert_eq!(
            cargo_status("   Compiling exp v0.1.0 (/tmp/exp)"),
            Some(("Compiling", "exp v0.1.0 (/tmp/exp)"))
        );
        assert_eq!(cargo_status("   Doc-tests exp"), Some(("Doc-tests", "exp")));
        assert_eq!(
            cargo_status("error: test failed, to rerun pass `--lib`"),
            None
        );
        assert_eq!(cargo_status("  process didn't exit successfully: x"), None);
        assert_eq!(strip_paren_suffix("exp v0.1.0 (/tmp/exp)"), "exp v0.1.0");
    }

    #[test]
    fn sums_counts_over_binaries_and_reports_progress() {
        let stdout = "running 2 tests\ntest a ... ok\ntest b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\nrunning 1 test\ntest c ... ignored\n\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n";
        let (r, progress) = run(stdout, "   Compiling exp v0.1.0 (/x)\n", exited(0));
        assert_eq!(
            (r.outcome, r.passed, r.failed, r.ignored),
            (RunOutcome::Passed, 2, 0, 1)
        );
        assert_eq!(
            progress[0],
            Progress::Compiling {
                unit: "exp v0.1.0".into()
            }
        );
        assert!(progress.contains(&Progress::TestsStarted { total: 2 }));
        assert!(progress.contains(&Progress::TestFinished {
            name: "b".into(),
            passed: true
        }));
        assert_eq!(r.passed_tests, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn crashed_binary_counts_as_a_failure() {
        let stdout = "running 2 tests\ntest a ... ok\n";
        let stderr = "     Running unittests src/lib.rs (target/debug/deps/exp-1)\nthread 'b' has overflowed its stack\nerror: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit successfully: `x` (signal: 6, SIGABRT: process abort signal)\n";
        let (r, _) = run(stdout, stderr, exited(101));
        assert_eq!(r.outcome, RunOutcome::TestsFailed);
        assert_eq!((r.passed, r.failed), (1, 1));
        assert_eq!(r.failures[0].name, "unittests src/lib.rs");
        assert!(
            r.failures[0].message.contains("SIGABRT"),
            "{}",
            r.failures[0].message
        );
        assert!(r.failures[0].message.contains("overflowed its stack"));
    }

    #[test]
    fn cargo_error_without_compiler_message_is_a_build_failure() {
        let stderr = "error: failed to parse manifest at `/sb/crate/Cargo.toml`\n\nCaused by:\n  missing field `name`\n";
        let (r, _) = run("", stderr, exited(101));
        assert_eq!(r.outcome, RunOutcome::BuildFailed);
        assert_eq!(r.compiler_errors.len(), 1);
        assert_eq!(
            r.compiler_errors[0].message,
            "failed to parse manifest at `Cargo.toml`"
        );
        assert!(r.compiler_errors[0]
            .rendered
            .contains("missing field `name`"));
        assert!(r.compiler_errors[0].rendered.contains("`Cargo.toml`"));
    }

    #[test]
    fn failed_test_without_block_still_listed_and_nothing_run_is_no_tests() {
        let (r, _) = run("running 1 test\ntest x ... FAILED\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n", "", exited(101));
        assert_eq!(
            r.failures,
            vec![TestFailure {
                name: "x".into(),
                message: String::new(),
                panicked_at: None,
            }]
        );
        let (r, _) = run("running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out\n", "", exited(0));
        assert_eq!(r.outcome, RunOutcome::NoTestsRan);
    }

    #[test]
    fn timeout_is_not_a_crash() {
        let (r, _) = run(
            "running 2 tests\ntest a ... ok\n",
            "",
            Termination::TimedOut,
        );
        assert_eq!(
            (r.outcome, r.passed, r.failed),
            (RunOutcome::TimedOut, 1, 0)
        );
        assert!(r.failures.is_empty());
    }
}
