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
use crate::report::{PanicSite, TestFailure};

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
        /// The last `thread 'name' panicked at` line of the block.
        panicked_at: Option<PanicSite>,
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

/// A failure block being read.
#[derive(Debug)]
struct Block {
    name: String,
    text: CappedText,
    /// Read from the lines as they pass, not from the capped text: a test that prints a lot
    /// before it panics would push the panic line into the part the cap cuts out.
    panicked_at: Option<PanicSite>,
}

#[derive(Debug)]
pub(crate) struct LibtestParser {
    section: Section,
    block: Option<Block>,
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
                    self.block = Some(Block {
                        name: name.to_string(),
                        text: CappedText::new(FAILURE_MESSAGE_CAP_BYTES),
                        panicked_at: None,
                    });
                } else if line == "failures:" {
                    self.flush(emit);
                    self.section = Section::FailureList;
                } else if let Some(block) = &mut self.block {
                    if let Some(site) = parse_panic_line(line, &block.name) {
                        block.panicked_at = Some(site);
                    }
                    block.text.push_line(line);
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
        if let Some(block) = self.block.take() {
            emit(LibtestEvent::FailureBlock {
                name: block.name,
                message: block.text.render().trim().to_string(),
                panicked_at: block.panicked_at,
            });
        }
    }
}

/// The failing tests a libtest stdout reports, read as a run's report reads them (capped
/// messages, panic sites): for a caller that holds libtest output from elsewhere, such as a
/// fixture captured from a real run.
pub fn failures_in(stdout: &str) -> Vec<TestFailure> {
    let mut parser = LibtestParser::new();
    let mut failures = Vec::new();
    let mut emit = |event| {
        if let LibtestEvent::FailureBlock {
            name,
            message,
            panicked_at,
        } = event
        {
            failures.push(TestFailure {
                name,
                message,
                panicked_at,
            });
        }
    };
    for line in stdout.lines() {
        parser.line(line, &mut emit);
    }
    parser.finish(&mut emit);
    failures
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

/// `thread 'NAME' panicked at FILE:LINE:COL:` for the test `NAME` (toolchains since 1.84 add
/// the thread id: `thread 'NAME' (123) panicked at ...`; before 1.73 the message came first:
/// `panicked at 'MESSAGE', FILE:LINE:COL`). libtest names a test's thread after the test, so a
/// thread the test spawned (named otherwise) does not count.
fn parse_panic_line(line: &str, test: &str) -> Option<PanicSite> {
    let rest = line
        .strip_prefix("thread '")?
        .strip_prefix(test)?
        .strip_prefix('\'')?;
    let (id, at) = rest.split_once(" panicked at ")?;
    let id = id.trim();
    let is_thread_id = id.is_empty()
        || id
            .strip_prefix('(')
            .and_then(|i| i.strip_suffix(')'))
            .is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()));
    if !is_thread_id {
        return None;
    }
    let location = match at.strip_suffix(':') {
        Some(location) => location,
        None => at.rsplit_once("', ")?.1,
    };
    let (rest, column) = location.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some(PanicSite {
        file: file.to_string(),
        line: line.parse().ok()?,
        column: column.parse().ok()?,
    })
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
            message: "note: test did not panic as expected at src/lib.rs:8:32".into(),
            panicked_at: None,
        }));
        let (bad, site) = events
            .iter()
            .find_map(|e| match e {
                LibtestEvent::FailureBlock {
                    name,
                    message,
                    panicked_at,
                } if name == "tests::bad" => Some((message.clone(), panicked_at.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            site,
            Some(PanicSite {
                file: "src/lib.rs".into(),
                line: 5,
                column: 49
            })
        );
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
    fn only_the_test_threads_panic_lines_give_its_panic_site() {
        let site = |file: &str, line, column| {
            Some(PanicSite {
                file: file.into(),
                line,
                column,
            })
        };
        let t = "tests::t";
        assert_eq!(
            parse_panic_line("thread 'tests::t' (11319) panicked at src/lib.rs:5:49:", t),
            site("src/lib.rs", 5, 49)
        );
        assert_eq!(
            parse_panic_line("thread 'tests::t' panicked at crates/a b/src/x.rs:12:3:", t),
            site("crates/a b/src/x.rs", 12, 3)
        );
        assert_eq!(
            parse_panic_line("thread 'tests::t' panicked at 'boom', src/lib.rs:7:5", t),
            site("src/lib.rs", 7, 5)
        );
        for other in [
            "thread '<unnamed>' panicked at src/lib.rs:5:49:",
            "thread 'tests::t2' panicked at src/lib.rs:5:49:",
            "thread 'tests::t' (x) panicked at src/lib.rs:5:49:",
            "thread 'tests::t' panicked at src/lib.rs:five:49:",
            "thread 'tests::t' panicked at nowhere:",
            "my thread 'tests::t' panicked at src/lib.rs:5:49:",
        ] {
            assert_eq!(parse_panic_line(other, t), None, "{other}");
        }
    }

    /// A failing test `big` that printed far more than the cap; the block goes on after it.
    fn big_block() -> String {
        let mut text = String::from(
            "running 1 test\ntest big ... FAILED\n\nfailures:\n\n---- big stdout ----\n",
        );
        for _ in 0..10_000 {
            text.push_str("spam spam spam spam\n");
        }
        text
    }

    #[test]
    fn a_panic_line_past_the_cap_still_gives_the_site() {
        let mut text = big_block();
        text.push_str("thread 'big' panicked at src/lib.rs:9:5:\n");
        for _ in 0..10_000 {
            text.push_str("left: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n");
        }
        text.push_str("\nfailures:\n    big\n");
        let site = parse(&text).into_iter().find_map(|e| match e {
            LibtestEvent::FailureBlock { panicked_at, .. } => panicked_at,
            _ => None,
        });
        assert_eq!(site.map(|s| s.line), Some(9));
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
        let mut text = big_block();
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
