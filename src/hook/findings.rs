//! What a commit adds that needs something: public functions, new or changed since HEAD, with
//! no test in their file or no docs. Pure tree-sitter work, no model: this is the fast path.

use super::staged::StagedFile;
use crate::code::{self, FnItem, SourceFile, Visibility};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the top of the working tree.
    pub file: String,
    pub function: String,
    pub line: usize,
    pub signature: String,
    /// The function's text, for the nano gate.
    pub text: String,
    pub needs_tests: bool,
    pub needs_docs: bool,
}

impl Finding {
    pub fn describe(&self) -> String {
        let missing = match (self.needs_tests, self.needs_docs) {
            (true, true) => "no tests, no docs",
            (true, false) => "no tests",
            _ => "no docs",
        };
        format!("{}:{} `{}`: {missing}", self.file, self.line, self.function)
    }
}

/// Findings in one staged file. A staged file that does not parse yields none: whether it
/// compiles is the compiler's business, not the hook's.
pub fn in_file(file: &StagedFile) -> Vec<Finding> {
    let Ok(staged) = SourceFile::parse(&file.staged) else {
        return Vec::new();
    };
    code::list_fns(&staged)
        .into_iter()
        .filter(|f| !f.is_test_code && f.visibility == Visibility::Public && f.name != "main")
        .filter_map(|f| {
            let text = item_text(staged.text(), &f);
            // The exact item text (docs and attributes included) already at HEAD means the
            // commit did not touch it; a substring search is far cheaper than a second parse.
            let unchanged = file
                .head
                .as_deref()
                .is_some_and(|head| head.contains(&text));
            let needs_tests = !f.has_tests;
            let needs_docs = f.doc.is_none();
            (!unchanged && (needs_tests || needs_docs)).then(|| Finding {
                file: file.path.clone(),
                function: f.qualified_name.clone(),
                line: f.start_line,
                signature: f.signature.clone(),
                text,
                needs_tests,
                needs_docs,
            })
        })
        .collect()
}

fn item_text(source: &str, f: &FnItem) -> String {
    source.get(f.byte_range.clone()).unwrap_or("").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn staged(head: Option<&str>, now: &str) -> StagedFile {
        StagedFile {
            path: "src/lib.rs".to_string(),
            staged: now.to_string(),
            head: head.map(str::to_string),
        }
    }

    fn names(findings: &[Finding]) -> Vec<(&str, bool, bool)> {
        findings
            .iter()
            .map(|f| (f.function.as_str(), f.needs_tests, f.needs_docs))
            .collect()
    }

    #[test]
    fn new_public_functions_without_tests_or_docs_are_found() {
        let found = in_file(&staged(
            Some("/// Old.\npub fn old() -> i32 { 1 }\n"),
            "/// Old.\npub fn old() -> i32 { 1 }\npub fn fresh() -> i32 { 2 }\n\
             /// Documented.\npub fn documented() -> i32 { 3 }\nfn private() {}\npub fn main() {}\n",
        ));
        assert_eq!(
            names(&found),
            vec![("fresh", true, true), ("documented", true, false)]
        );
        assert_eq!(found[0].line, 3);
        assert_eq!(
            found[0].describe(),
            "src/lib.rs:3 `fresh`: no tests, no docs"
        );
    }

    #[test]
    fn unchanged_functions_and_tested_documented_ones_are_not_findings() {
        let head = "pub fn old() -> i32 { 1 }\n";
        let now = "pub fn old() -> i32 { 1 }\n/// Two.\npub fn two() -> i32 { 2 }\n\
                   #[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(super::two(), 2); }\n}\n";
        assert_eq!(names(&in_file(&staged(Some(head), now))), vec![]);
    }

    #[test]
    fn a_changed_body_is_a_finding_again_and_a_new_file_has_no_head() {
        let found = in_file(&staged(
            Some("pub fn f() -> i32 { 1 }\n"),
            "pub fn f() -> i32 { 2 }\n",
        ));
        assert_eq!(names(&found), vec![("f", true, true)]);
        let found = in_file(&staged(None, "impl S { pub fn get(&self) -> i32 { 1 } }\n"));
        assert_eq!(names(&found), vec![("S::get", true, true)]);
    }

    #[test]
    fn a_staged_file_that_does_not_parse_yields_nothing() {
        assert_eq!(in_file(&staged(None, "pub fn broken( {")), vec![]);
    }
}
