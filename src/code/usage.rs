//! How a function is used in its file: the functions that call it and the tests that exercise it,
//! for a fill-in-the-middle prompt. A hole's callers say what the function must return and which
//! inputs matter; its tests say what is expected, often literally.

use super::calls::CallSet;
use super::items::{FnItem, FnKind};
use super::parse::SourceFile;

/// Callers longer than this are shown by their signature only.
const CALLER_MAX_LINES: usize = 30;

/// The tests (in full) and the other functions (in full when short, else their signature) of
/// `file` that call `target`, tests first, within `budget_chars`. Empty when nothing calls it.
pub fn callers_and_tests(file: &SourceFile, target: &FnItem, budget_chars: usize) -> String {
    let src = file.text();
    let mut tests = Vec::new();
    let mut callers = Vec::new();
    for function in super::list_fns(file) {
        if function.byte_range == target.byte_range {
            continue;
        }
        let Some(node) = function.node(file.root()) else {
            continue;
        };
        let mut calls = CallSet::default();
        calls.scan(node, src);
        let calls_target = match (&target.kind, &target.impl_type) {
            (FnKind::Free, _) | (_, None) => calls.calls_free(&target.name),
            (_, Some(owner)) => calls.calls_member(owner, &target.name),
        };
        if !calls_target {
            continue;
        }
        let text = src
            .get(function.byte_range.clone())
            .unwrap_or("")
            .trim_end();
        if function.is_test_code {
            tests.push(text.to_string());
        } else if text.lines().count() <= CALLER_MAX_LINES {
            callers.push(text.to_string());
        } else {
            callers.push(format!("{} {{ /* ... */ }}", function.signature));
        }
    }
    let mut out = String::new();
    for shown in tests.iter().chain(&callers) {
        if out.len() + shown.len() + 1 > budget_chars {
            continue;
        }
        out.push_str(shown);
        out.push_str("\n\n");
    }
    out.trim_end().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FILE: &str = "pub fn clamp(x: i32) -> i32 {
    todo!()
}

pub fn scaled(x: i32) -> i32 {
    clamp(x) * 2
}

pub fn unrelated() -> i32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_keeps_small_values() {
        assert_eq!(clamp(3), 3);
    }

    #[test]
    fn unrelated_is_one() {
        assert_eq!(unrelated(), 1);
    }
}
";

    #[test]
    fn tests_and_callers_of_the_function_are_shown_and_nothing_else() {
        let file = SourceFile::parse(FILE).unwrap();
        let fns = crate::code::list_fns(&file);
        let clamp = fns.iter().find(|f| f.name == "clamp").unwrap();
        let shown = callers_and_tests(&file, clamp, 10_000);
        assert!(
            shown.starts_with("#[test]\n    fn clamp_keeps_small_values()"),
            "{shown}"
        );
        assert!(shown.contains("clamp(x) * 2"), "{shown}");
        assert!(!shown.contains("unrelated"), "{shown}");
        let unrelated = fns.iter().find(|f| f.name == "unrelated").unwrap();
        assert!(!callers_and_tests(&file, unrelated, 10_000).contains("clamp"));
        assert_eq!(callers_and_tests(&file, clamp, 10), "");
    }
}
