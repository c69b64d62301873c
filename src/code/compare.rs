//! Comparing code while ignoring comments and layout: the check that a docstring candidate
//! changed comments only, and the building block for matching items across two versions.

use tree_sitter::Node;

use super::decl::leaves;
use super::parse::{line_col, node_text};
use super::SourceFile;

/// Where two texts first differ in code (not in comments or whitespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChange {
    /// 1-based line in the new text (its last line when the new text ended early).
    pub line: usize,
    /// The differing token in the old text, or `None` where the old text had already ended.
    pub old: Option<String>,
    /// The differing token in the new text, or `None` where the new text had ended.
    pub new: Option<String>,
}

impl std::fmt::Display for CodeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "line {}: `{old}` became `{new}`", self.line),
            (Some(old), None) => write!(f, "line {}: code from `{old}` on was removed", self.line),
            (None, Some(new)) => write!(f, "line {}: `{new}` was added", self.line),
            (None, None) => write!(f, "line {}", self.line),
        }
    }
}

/// The code tokens under `node`: comments are skipped and strings stay whole, so two versions
/// of an item that differ only in comments or formatting give equal streams.
pub(crate) fn code_tokens<'s>(node: Node<'_>, src: &'s str) -> Vec<&'s str> {
    significant(node, src)
        .into_iter()
        .map(|n| node_text(n, src))
        .collect()
}

/// The code tokens without trailing commas (`a,)`), which formatters add and remove freely.
fn significant<'t>(node: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let all = leaves(node);
    all.iter()
        .enumerate()
        .filter(|(i, n)| {
            let next = all.get(i + 1).map(|m| node_text(*m, src));
            !(node_text(**n, src) == "," && matches!(next, Some(")" | "]" | "}" | ">")))
        })
        .map(|(_, n)| *n)
        .collect()
}

/// The first code difference between `old` and `new`, or `None` when they differ only in
/// comments and whitespace.
pub fn first_code_change(old: &SourceFile, new: &SourceFile) -> Option<CodeChange> {
    let old_leaves = significant(old.root(), old.text());
    let new_leaves = significant(new.root(), new.text());
    let index = (0..old_leaves.len().max(new_leaves.len())).find(|&i| {
        old_leaves.get(i).map(|n| node_text(*n, old.text()))
            != new_leaves.get(i).map(|n| node_text(*n, new.text()))
    })?;
    let token =
        |leaves: &[Node<'_>], src: &str| leaves.get(index).map(|n| node_text(*n, src).to_owned());
    let offset = new_leaves
        .get(index)
        .map_or(new.text().len(), |n| n.start_byte());
    Some(CodeChange {
        line: line_col(new.text(), offset).0,
        old: token(&old_leaves, old.text()),
        new: token(&new_leaves, new.text()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn change(old: &str, new: &str) -> Option<CodeChange> {
        first_code_change(
            &SourceFile::parse(old).unwrap(),
            &SourceFile::parse(new).unwrap(),
        )
    }

    #[test]
    fn comments_and_layout_are_not_code() {
        let old = "pub fn add(a: i32, b: i32) -> i32 { a + b }\n";
        let new = "/// Adds.\n///\n/// ```\n/// assert_eq!(x, 1);\n/// ```\npub fn add(\n    a: i32, // left\n    b: i32,\n) -> i32 {\n    /* sum */ a + b\n}\n";
        assert_eq!(change(old, new), None);
    }

    #[test]
    fn a_changed_token_is_found_with_its_line() {
        let old = "/// Doc.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n";
        let new = "/// Doc.\npub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";
        assert_eq!(
            change(old, new),
            Some(CodeChange {
                line: 3,
                old: Some("+".to_owned()),
                new: Some("-".to_owned()),
            })
        );
    }

    #[test]
    fn strings_are_code_even_when_they_look_like_comments() {
        let old = "const S: &str = \"a // b\";\n";
        let new = "const S: &str = \"a // c\";\n";
        let found = change(old, new).unwrap();
        assert_eq!(found.new.as_deref(), Some("\"a // c\""));
    }

    #[test]
    fn added_and_removed_code_is_a_change() {
        let old = "fn a() {}\n";
        let new = "fn a() {}\nfn b() {}\n";
        let added = change(old, new).unwrap();
        assert_eq!((added.old, added.new.as_deref()), (None, Some("fn")));
        assert_eq!(added.line, 2);
        let removed = change(new, old).unwrap();
        assert_eq!(removed.to_string(), "line 2: code from `fn` on was removed");
    }

    #[test]
    fn a_comment_turned_into_code_is_a_change() {
        assert!(change("fn a() { // x();\n}\n", "fn a() { x();\n}\n").is_some());
    }
}
