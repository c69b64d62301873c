//! Incremental parser for libtest's human-readable output.
//!
//! We parse the default text format rather than `--format=json` because the
//! JSON format is still unstable (nightly only) and the user's toolchain is
//! usually stable. The text format has been steady for years; what we rely on:
//!
//! ```text
//! running 3 tests
//! test tests::a ... ok
//! test tests::b ... FAILED
//! test tests::c ... ignored, slow
//!
//! failures:
//!
//! ---- tests::b stdout ----
//! thread 'tests::b' panicked at src/lib.rs:5:9:
//! assertion `left == right` failed
//!
//! failures:
//!     tests::b
//!
//! test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out
//! ```

use crate::capped::CappedText;

/// Cap on one failing test's captured block: a test printing megabytes
/// before panicking must not blow up memory or the model's context.
pub(crate) const FAILURE_MESSAGE_CAP_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestResult {
    Ok,
    Failed,
    Ignored,
}

/// Counts from a `test result:` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) ignored: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LibtestEvent {
    /// `running N tests`: a new test binary started.
    Started {
        total: usize,
    },
    Finished {
        name: String,
        result: TestResult,
    },
    /// A complete `---- name stdout ----` block.
    FailureBlock {
        name: String,
        message: String,
    },
    /// `test result: ...`: the binary finished normally.
    Summary(Counts),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Test progress lines.
    Progress,
    /// After the first `failures:`: per-test output blocks.
    FailureBlocks,
    /// After the second `failures:`: the bare list of names, ignored.
    FailureList,
}

#[derive(Debug)]
pub(crate) struct LibtestParser {
    section: Section,
    block: Option<(String, CappedText)>,
}

impl LibtestParser {
    pub(crate) fn new() -> Self {
        Self {
            section: Section::Progress,
            block: None,
        }
    }

    /// Feeds one stdout line (without its newline).
    pub(crate) fn line(&mut self, line: &str, emit: &mut impl FnMut(LibtestEvent)) {
        if let Some(total) = parse_running(line) {
            self.flush(emit);
            self.section = Section::Progress;
            emit(LibtestEvent::Started { total });
            return;
        }
        if let Some(counts) = parse_summary(line) {
            self.flush(emit);
            self.section = Section::Progress;
            emit(LibtestEvent::Summary(counts));
            return;
        }
        match self.section {
            Section::Progress => {
                if line == "failures:" {
                    self.section = Section::FailureBlocks;
                } else if let Some((name, result)) = parse_test_line(line) {
                    emit(LibtestEvent::Finished { name, result });
                }
            }
            Section::FailureBlocks => {
                if let Some(name) = parse_block_header(line) {
                    self.flush(emit);
                    let text = CappedText::new(FAILURE_MESSAGE_CAP_BYTES);
                    self.block = Some((name.to_string(), text));
                } else if line == "failures:" {
                    self.flush(emit);
                    self.section = Section::FailureList;
                } else if let Some((_, text)) = &mut self.block {
                    text.push_line(line);
                }
            }
            Section::FailureList => {}
        }
    }

    /// Emits any block still open (output ended mid-section).
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(LibtestEvent)) {
        self.flush(emit);
    }

    fn flush(&mut self, emit: &mut impl FnMut(LibtestEvent)) {
        if let Some((name, text)) = self.block.take() {
            emit(LibtestEvent::FailureBlock {
                name,
                message: text.render().trim().to_string(),
            });
        }
    }
}

fn parse_running(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("running ")?;
    let (count, unit) = rest.split_once(' ')?;
    if unit != "tests" && unit != "test" {
        return None;
    }
    count.parse().ok()
}

/// `test NAME ... ok|FAILED|ignored[, reason]`.
fn parse_test_line(line: &str) -> Option<(String, TestResult)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let result = match result {
        "ok" => TestResult::Ok,
        "FAILED" => TestResult::Failed,
        r if r == "ignored" || r.starts_with("ignored, ") => TestResult::Ignored,
        _ => return None,
    };
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some((name.to_string(), result))
}

/// `---- NAME stdout ----` (older toolchains may say `stderr`).
fn parse_block_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("---- ")?;
    rest.strip_suffix(" stdout ----")
        .or_else(|| rest.strip_suffix(" stderr ----"))
}

/// `test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; ...`.
fn parse_summary(line: &str) -> Option<Counts> {
    let rest = line.strip_prefix("test result: ")?;
    let (_, fields) = rest.split_once(". ")?;
    let mut counts = Counts::default();
    let mut seen_passed = false;
    for field in fields.split(';') {
        let mut words = field.split_whitespace();
        let (Some(number), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<usize>() else {
            continue;
        };
        match label {
            "passed" => {
                counts.passed = number;
                seen_passed = true;
            }
            "failed" => counts.failed = number,
            "ignored" => counts.ignored = number,
            _ => {}
        }
    }
    seen_passed.then_some(counts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<LibtestEvent> {
        let mut parser = LibtestParser::new();
        let mut events = Vec::new();
        let mut emit = |e| events.push(e);
        for line in text.lines() {
            parser.line(line, &mut emit);
        }
        parser.finish(&mut emit);
        events
    }

    const SAMPLE: &str = "
running 5 tests
test tests::ign ... ignored
test tests::ign2 ... ignored, slow
test tests::ok ... ok
test tests::sp - should panic ... FAILED
test tests::bad ... FAILED

failures:

---- tests::sp stdout ----
note: test did not panic as expected at src/lib.rs:8:32
---- tests::bad stdout ----
some output

thread 'tests::bad' (11319) panicked at src/lib.rs:5:49:
assertion `left == right` failed
  left: 3
 right: 4
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::bad
    tests::sp

test result: FAILED. 1 passed; 2 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.08s
";

    #[test]
    fn parses_a_full_failing_run() {
        let events = parse(SAMPLE);
        assert_eq!(events[0], LibtestEvent::Started { total: 5 });
        assert!(events.contains(&LibtestEvent::Finished {
            name: "tests::ign2".into(),
            result: TestResult::Ignored
        }));
        assert!(events.contains(&LibtestEvent::Finished {
            name: "tests::sp".into(),
            result: TestResult::Failed
        }));
        assert!(events.contains(&LibtestEvent::FailureBlock {
            name: "tests::sp".into(),
            message: "note: test did not panic as expected at src/lib.rs:8:32".into()
        }));
        let bad = events
            .iter()
            .find_map(|e| match e {
                LibtestEvent::FailureBlock { name, message } if name == "tests::bad" => {
                    Some(message.clone())
                }
                _ => None,
            })
            .unwrap();
        assert!(
            bad.starts_with("some output\n\nthread 'tests::bad'"),
            "{bad}"
        );
        assert!(bad.contains("  left: 3\n right: 4"), "{bad}");
        assert!(!bad.contains("failures:"), "{bad}");
        assert_eq!(
            events.last(),
            Some(&LibtestEvent::Summary(Counts {
                passed: 1,
                failed: 2,
                ignored: 2
            }))
        );
    }

    #[test]
    fn single_test_and_non_test_lines() {
        let events = parse("running 1 test\ntest it works ... bench: 5 ns\nhello\ntest t ... ok\n");
        assert_eq!(
            events,
            vec![
                LibtestEvent::Started { total: 1 },
                LibtestEvent::Finished {
                    name: "t".into(),
                    result: TestResult::Ok
                }
            ]
        );
    }

    #[test]
    fn doc_test_names_keep_their_spaces() {
        let (name, result) = parse_test_line("test src/lib.rs - add (line 3) ... ok").unwrap();
        assert_eq!(name, "src/lib.rs - add (line 3)");
        assert_eq!(result, TestResult::Ok);
    }

    #[test]
    fn huge_failure_blocks_are_capped() {
        let mut text = String::from(
            "running 1 test\ntest big ... FAILED\n\nfailures:\n\n---- big stdout ----\n",
        );
        for _ in 0..10_000 {
            text.push_str("spam spam spam spam\n");
        }
        text.push_str("assertion failed: false\n\nfailures:\n    big\n");
        let events = parse(&text);
        let message = events
            .iter()
            .find_map(|e| match e {
                LibtestEvent::FailureBlock { message, .. } => Some(message.clone()),
                _ => None,
            })
            .unwrap();
        assert!(message.len() <= FAILURE_MESSAGE_CAP_BYTES);
        assert!(message.ends_with("assertion failed: false"), "{message}");
        assert!(message.contains("bytes cut"));
    }

    #[test]
    fn summary_requires_counts() {
        assert_eq!(parse_summary("test result: nonsense"), None);
        assert_eq!(
            parse_summary("test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s"),
            Some(Counts { passed: 2, failed: 0, ignored: 1 })
        );
    }
}
