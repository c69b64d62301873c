//! The kill rule: a test catches a mutant only when it fails at its own code.
//!
//! A test that calls a mutant can fail in two ways. It can fail at its own check: an
//! `assert!`, an `unwrap`/`expect` it wrote, an `Err` it returned, or a `#[should_panic]` that
//! the mutant made wrong (no panic, or another message). That is a catch: the test noticed the
//! changed behaviour. Or the mutant can crash inside itself or what it calls (an index out of
//! bounds, an overflow, an `unwrap` in the function, a hang). That is no catch: the test would
//! have failed however little it checked, even `assert_eq!(f(x), f(x))` or `let _ = f(x);`.
//!
//! Where the test thread panicked tells the two apart: libtest prints
//! `thread 'NAME' panicked at FILE:LINE:COL:`, and `assert!`, `unwrap` and `expect` report the
//! line that called them (they are `#[track_caller]`), so a failed check points into the test
//! module, a crash into the code under test (or into std, for what it calls). This is robust
//! where reading the message would not be: messages are whatever the code chose to print,
//! while the location is the compiler's. The whole module counts as the test's own code, not
//! only the test function: a helper that asserts is how tests share checks. libtest's notes
//! for `#[should_panic]` and the `Error:` line of a test returning `Err` carry no location of
//! a panic but are the test's own verdict.

use std::ops::RangeInclusive;
use std::path::Path;

use kiln_sandbox::TestFailure;

/// How one test took one mutant round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reaction {
    Passed,
    /// It failed at its own check.
    Caught,
    /// It failed inside the code it called, or did not finish.
    Crashed,
}

/// Where the test module lies in the file the mutant round ran.
pub(super) struct OwnCode<'a> {
    pub file: &'a Path,
    pub lines: RangeInclusive<usize>,
}

impl OwnCode<'_> {
    fn contains(&self, file: &str, line: usize) -> bool {
        let file = Path::new(file);
        let same_file = self.file.ends_with(file) || file.ends_with(self.file);
        same_file && self.lines.contains(&line)
    }
}

/// The libtest notes of a `#[should_panic]` test whose expectation failed.
const SHOULD_PANIC_NOTES: [&str; 2] = [
    "note: test did not panic as expected",
    "note: panic did not contain expected string",
];

/// Whether a test's `failure` was a catch or a crash.
pub(super) fn judge(failure: &TestFailure, own: &OwnCode<'_>) -> Reaction {
    let lines = || failure.message.lines().map(str::trim_start);
    if lines().any(|l| SHOULD_PANIC_NOTES.iter().any(|note| l.starts_with(note))) {
        return Reaction::Caught;
    }
    match &failure.panicked_at {
        Some(site) if own.contains(&site.file, site.line) => Reaction::Caught,
        Some(_) => Reaction::Crashed,
        // A test returning `Err` prints it with `Error: ` and does not panic.
        None if lines().any(|l| l.starts_with("Error: ")) => Reaction::Caught,
        // No panic of the test's thread: the binary died (abort, stack overflow) or libtest
        // said nothing we know; nothing shows the test noticed anything.
        None => Reaction::Crashed,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A crate whose tests fail in every shape, and what real `cargo test` printed on it.
    const SHAPES_LIB: &str = include_str!("../../../tests/fixtures/libtest_shapes/src/lib.rs");
    const SHAPES_OUTPUT: &str = include_str!("../../../tests/fixtures/libtest_shapes/output.txt");

    #[test]
    fn a_failed_check_in_the_test_module_is_caught_and_a_panic_in_the_code_crashed() {
        let lines = crate::code::module_lines(SHAPES_LIB, "tests")
            .unwrap()
            .unwrap();
        let own = OwnCode {
            file: Path::new("src/lib.rs"),
            lines,
        };
        let failures = kiln_sandbox::failures_in(SHAPES_OUTPUT);
        assert_eq!(failures.len(), 12);
        let judged: Vec<(String, Reaction)> = failures
            .iter()
            .map(|f| {
                (
                    f.name.trim_start_matches("tests::").to_string(),
                    judge(f, &own),
                )
            })
            .collect();
        // Each test's name says how it failed.
        let expected: Vec<(String, Reaction)> = judged
            .iter()
            .map(|(name, _)| {
                let reaction = if name.starts_with("caught_") {
                    Reaction::Caught
                } else {
                    Reaction::Crashed
                };
                (name.clone(), reaction)
            })
            .collect();
        assert_eq!(judged, expected);
        assert_eq!(
            judged
                .iter()
                .filter(|(_, r)| *r == Reaction::Crashed)
                .count(),
            4
        );
    }

    #[test]
    fn another_file_or_no_panic_at_all_is_a_crash() {
        let own = OwnCode {
            file: Path::new("member/src/lib.rs"),
            lines: 20..=40,
        };
        let failure = |file: &str, line, message: &str| TestFailure {
            name: "tests::t".to_string(),
            message: message.to_string(),
            panicked_at: Some(kiln_sandbox::PanicSite {
                file: file.to_string(),
                line,
                column: 9,
            }),
        };
        assert_eq!(
            judge(&failure("src/lib.rs", 30, ""), &own),
            Reaction::Caught
        );
        assert_eq!(
            judge(&failure("src/other.rs", 30, ""), &own),
            Reaction::Crashed
        );
        assert_eq!(
            judge(&failure("src/lib.rs", 41, ""), &own),
            Reaction::Crashed
        );
        let binary_died = TestFailure {
            panicked_at: None,
            ..failure("", 0, "the test binary exited before reporting its results")
        };
        assert_eq!(judge(&binary_died, &own), Reaction::Crashed);
    }
}
