//! The individual `#[test]` functions of a generated test module, so validation can judge, drop
//! and report them one by one instead of keeping or throwing away the whole module.

use std::ops::{Range, RangeInclusive};

use tree_sitter::Node;

use super::calls::CallSet;
use super::decl::{decls, distinct_identifiers, leaves, Decl};
use super::items::FnItem;
use super::parse::{indented_start, node_text, parse_tree};
use super::{CodeError, Result};

/// One `#[test]` fn of the module, located in the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFn {
    pub name: String,
    /// The whole fn with its attributes and docs, from the start of its first line.
    pub byte_range: Range<usize>,
    /// 1-based, inclusive: compiler errors on these lines belong to this test.
    pub first_line: usize,
    pub last_line: usize,
    /// The body's tokens joined by single spaces: equal for bodies that differ only in layout
    /// and comments.
    pub normalized_body: String,
    /// Identifiers used in the body: a free fn passed by name (`.map(parse)`) is exercised too.
    pub identifiers: Vec<String>,
    /// The calls the body makes, to tell which methods it exercises by their owner.
    pub(crate) calls: CallSet,
}

impl TestFn {
    /// Whether this test exercises `f`, by the rules of [`CallSet::exercises`]; a free fn also
    /// when it is only named, as an argument.
    pub fn exercises(&self, f: &FnItem) -> bool {
        self.calls.exercises(f) || (f.impl_type.is_none() && self.identifiers.contains(&f.name))
    }
}

/// The `#[test]` fns directly inside the top-level `mod module_name` of `text`.
pub fn test_fns(text: &str, module_name: &str) -> Result<Vec<TestFn>> {
    let tree = parse_tree(text)?;
    let Some(body) = module_body(tree.root_node(), text, module_name) else {
        return Ok(Vec::new());
    };
    Ok(decls(body)
        .iter()
        .filter(|d| d.is_test_fn(text))
        .filter_map(|d| test_fn(d, text))
        .collect())
}

/// `text` without the named tests of `mod module_name`: whole lines, and the blank line that
/// separated a test from its neighbour goes with it, so no run of blank lines is left where a
/// test was (rustfmt keeps at most one, and none after `{` or before `}`).
pub fn without_tests(text: &str, module_name: &str, names: &[String]) -> Result<String> {
    let mut out = text.to_string();
    let mut doomed: Vec<TestFn> = test_fns(text, module_name)?
        .into_iter()
        .filter(|t| names.contains(&t.name))
        .collect();
    doomed.sort_by_key(|t| std::cmp::Reverse(t.byte_range.start));
    for test in doomed {
        let end = line_end(text, test.byte_range.end);
        out.replace_range(test.byte_range.start..end, "");
        close_gap(&mut out, test.byte_range.start);
    }
    Ok(out)
}

/// Removes the blank line a removal at `at` (a line start) left doubled: the one before `at`
/// when `at` is now blank or closes the block, the one at `at` when it follows an opening `{`.
fn close_gap(text: &mut String, at: usize) {
    let (Some(before), Some(after)) = (text.get(..at), text.get(at..)) else {
        return;
    };
    let previous = before.strip_suffix('\n').unwrap_or(before);
    let previous_start = previous.rfind('\n').map_or(0, |i| i + 1);
    let previous_line = &before[previous_start..];
    let next_line = after.split_inclusive('\n').next().unwrap_or("");
    let next_blank = next_line.trim().is_empty() && !next_line.is_empty();
    if previous_line.trim().is_empty() && (next_blank || next_line.trim_start().starts_with('}')) {
        text.replace_range(previous_start..at, "");
    } else if next_blank && previous_line.trim_end().ends_with('{') {
        text.replace_range(at..at + next_line.len(), "");
    }
}

/// `text` with `tests` (fn texts, attributes included) added at the end of `mod module_name`.
pub fn with_tests(text: &str, module_name: &str, tests: &[String]) -> Result<String> {
    if tests.is_empty() {
        return Ok(text.to_string());
    }
    let tree = parse_tree(text)?;
    let body = module_body(tree.root_node(), text, module_name)
        .ok_or_else(|| CodeError::Parser(format!("no module `{module_name}` to add tests to")))?;
    // Just before the closing brace, on a line of its own.
    let close = body.end_byte().saturating_sub(1);
    let insert_at = indented_start(text, close);
    let added: String = tests
        .iter()
        .map(|t| format!("\n    {}\n", t.trim()))
        .collect();
    let mut out = text.to_string();
    out.insert_str(insert_at, &added);
    Ok(out)
}

/// The 1-based first and last lines of the top-level `mod module_name`, if `text` has it.
pub fn module_lines(text: &str, module_name: &str) -> Result<Option<RangeInclusive<usize>>> {
    let tree = parse_tree(text)?;
    Ok(module_body(tree.root_node(), text, module_name)
        .and_then(|body| body.parent())
        .map(|module| module.start_position().row + 1..=module.end_position().row + 1))
}

/// The text of one test fn as found by [`test_fns`].
pub fn test_text<'s>(text: &'s str, test: &TestFn) -> &'s str {
    text.get(test.byte_range.clone()).unwrap_or("")
}

pub(super) fn module_body<'t>(root: Node<'t>, text: &str, module_name: &str) -> Option<Node<'t>> {
    decls(root)
        .into_iter()
        .filter(|d| d.kind() == "mod_item" && d.name(text) == Some(module_name))
        .find_map(|d| d.node.child_by_field_name("body"))
}

fn test_fn(d: &Decl<'_>, text: &str) -> Option<TestFn> {
    let name = d.name(text)?.to_string();
    let body = d.node.child_by_field_name("body")?;
    let start = indented_start(text, d.start);
    let normalized_body = leaves(body)
        .into_iter()
        .map(|n| node_text(n, text))
        .collect::<Vec<_>>()
        .join(" ");
    let names = distinct_identifiers(body, text);
    let mut calls = CallSet::default();
    calls.scan(body, text);
    Some(TestFn {
        name,
        byte_range: start..d.node.end_byte(),
        first_line: d.node.start_position().row + 1 - attr_lines(d),
        last_line: d.node.end_position().row + 1,
        normalized_body,
        identifiers: names,
        calls,
    })
}

/// Lines taken by the attributes and docs above the fn (an error in `#[should_panic(..)]`
/// belongs to the test too).
fn attr_lines(d: &Decl<'_>) -> usize {
    let first = d
        .attrs
        .iter()
        .chain(d.docs.iter())
        .map(|n| n.start_position().row)
        .min()
        .unwrap_or(d.node.start_position().row);
    d.node.start_position().row - first
}

/// The offset just past the newline that ends the line containing `offset - 1`.
fn line_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |i| offset + i + 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const FILE: &str = "pub fn f(x: i32) -> i32 { x }\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn a() {\n        assert_eq!(f(1), 1);\n    }\n\n    /// Docs.\n    #[test]\n    fn b() { assert_eq!( f(1),1 ); // same\n    }\n\n    fn helper() {}\n}\n";

    #[test]
    fn finds_tests_with_lines_and_normalized_bodies() {
        let tests = test_fns(FILE, "tests").unwrap();
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!((tests[0].first_line, tests[0].last_line), (7, 10));
        assert_eq!((tests[1].first_line, tests[1].last_line), (12, 15));
        assert_eq!(tests[0].normalized_body, tests[1].normalized_body);
        assert!(tests[0].identifiers.contains(&"f".to_string()));
        assert!(test_fns(FILE, "other").unwrap().is_empty());
    }

    #[test]
    fn removes_and_adds_whole_tests() {
        let removed = without_tests(FILE, "tests", &["a".to_string()]).unwrap();
        assert!(!removed.contains("fn a()"), "{removed}");
        assert!(removed.contains("fn b()") && removed.contains("fn helper()"));
        let tests = test_fns(FILE, "tests").unwrap();
        let a = test_text(FILE, &tests[0]).to_string();
        let back = with_tests(&removed, "tests", &[a]).unwrap();
        let names: Vec<String> = test_fns(&back, "tests")
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, vec!["b", "a"]);
        assert!(back.ends_with("}\n"), "{back}");
    }

    #[test]
    fn a_path_call_exercises_only_the_type_it_names() {
        let file = "pub struct A;\npub struct B;\nimpl A {\n    pub fn new() -> A { A }\n    pub fn len(&self) -> usize { 1 }\n}\n\
                    impl B {\n    pub fn new() -> B { B }\n    pub fn len(&self) -> usize { 2 }\n}\n\
                    pub fn twice(x: usize) -> usize { 2 * x }\n\
                    #[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n        \
                    assert_eq!([A::new().len()].map(twice), [2]);\n    }\n}\n";
        let source = crate::code::SourceFile::parse(file).unwrap();
        let fns = crate::code::list_fns(&source);
        let test = &test_fns(file, "tests").unwrap()[0];
        let exercised: Vec<&str> = fns
            .iter()
            .filter(|f| !f.is_test_code && test.exercises(f))
            .map(|f| f.qualified_name.as_str())
            .collect();
        // `.len()` has no owner in the text: both types' `len` are credited (the known limit).
        assert_eq!(exercised, vec!["A::new", "A::len", "B::len", "twice"]);
        let has_tests = |name: &str| fns.iter().any(|f| f.qualified_name == name && f.has_tests);
        assert!(has_tests("A::new") && !has_tests("B::new"));
    }

    #[test]
    fn removing_tests_leaves_no_run_of_blank_lines() {
        let tests = |names: &[&str]| {
            names
                .iter()
                .map(|n| {
                    format!("    #[test]\n    fn {n}() {{\n        assert_eq!(f(1), 1);\n    }}\n")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let file = |body: String| {
            format!("pub fn f(x: i32) -> i32 {{ x }}\n\n#[cfg(test)]\nmod tests {{\n{body}}}\n")
        };
        let all = file(format!("    use super::*;\n\n{}", tests(&["a", "b", "c"])));
        let drop = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            without_tests(&all, "tests", &names).unwrap()
        };
        let use_then = |body: String| file(format!("    use super::*;\n\n{body}"));
        assert_eq!(drop(&["b"]), use_then(tests(&["a", "c"])));
        assert_eq!(drop(&["c"]), use_then(tests(&["a", "b"])));
        assert_eq!(drop(&["a"]), use_then(tests(&["b", "c"])));
        assert_eq!(
            drop(&["a", "b", "c"]),
            file("    use super::*;\n".to_string())
        );
        let bare = file(tests(&["a", "b"]));
        let names = vec!["a".to_string()];
        assert_eq!(
            without_tests(&bare, "tests", &names).unwrap(),
            file(tests(&["b"]))
        );
    }
}
