//! Parsing Rust text into a tree-sitter tree and locating the first syntax error.

use std::fmt;

use tree_sitter::{Node, Parser, Tree};

use super::{CodeError, Result};

/// Longest snippet quoted in a syntax error; enough to recognise the spot, short enough for
/// a one-line message.
const SNIPPET_MAX_CHARS: usize = 40;

/// A Rust source text that is known to parse without errors, together with its syntax tree.
///
/// Keeping the text and the tree together guarantees that byte offsets taken from the tree
/// always index into the text they came from.
#[derive(Clone)]
pub struct SourceFile {
    text: String,
    tree: Tree,
}

impl SourceFile {
    /// Parses Rust text.
    ///
    /// Returns [`CodeError::Syntax`] for the first ERROR or MISSING node, because everything
    /// downstream (splicing, context extraction) is only trustworthy on a clean tree.
    pub fn parse(text: &str) -> Result<SourceFile> {
        let tree = parse_tree(text)?;
        if let Some(err) = first_syntax_error(tree.root_node(), text) {
            return Err(err);
        }
        Ok(SourceFile {
            text: text.to_owned(),
            tree,
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree, for callers that need a query this module does not offer.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub(crate) fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }
}

impl fmt::Debug for SourceFile {
    // The tree's own Debug output is an opaque pointer; the text length is more useful.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// Parses without judging errors; used where a best-effort tree is good enough (e.g. looking
/// up module names in a file the user may be halfway through editing).
pub(crate) fn parse_tree(text: &str) -> Result<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .map_err(|e| CodeError::Parser(e.to_string()))?;
    parser
        .parse(text, None)
        .ok_or_else(|| CodeError::Parser("tree-sitter produced no tree".to_owned()))
}

/// The first (in source order) ERROR or MISSING node, as a user-facing error.
pub(crate) fn first_syntax_error(root: Node<'_>, text: &str) -> Option<CodeError> {
    if !root.has_error() {
        return None;
    }
    let bad = find_first_error(root)?;
    let offset = bad.start_byte();
    let snippet = if bad.is_missing() {
        line_snippet(text, offset)
    } else {
        let own = first_nonempty_line(node_text(bad, text));
        if own.is_empty() {
            line_snippet(text, offset)
        } else {
            truncate_chars(own)
        }
    };
    let (line, column) = line_col(text, offset);
    Some(CodeError::Syntax {
        line,
        column,
        snippet,
    })
}

fn find_first_error(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children.into_iter().find_map(find_first_error)
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The (trimmed, shortened) line containing `offset`, for errors at zero-width positions.
fn line_snippet(text: &str, offset: usize) -> String {
    let start = line_start(text, offset);
    let end = text
        .get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |i| offset + i);
    let line = text.get(start..end).unwrap_or("").trim();
    if line.is_empty() {
        "end of file".to_owned()
    } else {
        truncate_chars(line)
    }
}

fn first_nonempty_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// Shortened, with control characters escaped: a snippet is often a model's text, printed on the
/// user's terminal, where a carriage return or an escape sequence would hide the message around it.
fn truncate_chars(s: &str) -> String {
    let mut snippet = String::new();
    for c in s.chars().take(SNIPPET_MAX_CHARS) {
        if c.is_control() {
            snippet.extend(c.escape_default());
        } else {
            snippet.push(c);
        }
    }
    snippet
}

/// The text a node covers; empty rather than a panic if the offsets are somehow off.
pub(crate) fn node_text<'s>(node: Node<'_>, text: &'s str) -> &'s str {
    text.get(node.byte_range()).unwrap_or("")
}

/// Byte offset where the line containing `offset` starts.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// Where to start copying an item so its first line keeps its indentation: the line start if
/// only whitespace precedes the item on its line, else the item itself.
pub(crate) fn indented_start(text: &str, offset: usize) -> usize {
    let start = line_start(text, offset);
    match text.get(start..offset) {
        Some(prefix) if prefix.chars().all(char::is_whitespace) => start,
        _ => offset,
    }
}

/// The leading whitespace of the line containing `offset`.
pub(crate) fn indentation_at(text: &str, offset: usize) -> String {
    let start = line_start(text, offset);
    text.get(start..)
        .unwrap_or("")
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn syntax(text: &str) -> CodeError {
        SourceFile::parse(text).expect_err("should not parse")
    }

    #[test]
    fn clean_file_parses_and_keeps_text() {
        let src = "fn main() {\n    println!(\"héllo ✓\");\n}\n";
        let file = SourceFile::parse(src).unwrap();
        assert_eq!(file.text(), src);
        assert_eq!(file.tree().root_node().kind(), "source_file");
    }

    #[test]
    fn empty_file_parses() {
        assert_eq!(SourceFile::parse("").unwrap().text(), "");
    }

    #[test]
    fn error_node_reports_line_column_and_snippet() {
        let src = "fn ok() {}\n\nfn broken( {\n}\n";
        assert_eq!(
            syntax(src),
            CodeError::Syntax {
                line: 3,
                column: 11,
                snippet: "fn broken( {".to_owned()
            }
        );
    }

    #[test]
    fn missing_node_reports_its_line() {
        let src = "fn f() {\n    let x = 5\n    let y = 6;\n}\n";
        match syntax(src) {
            CodeError::Syntax { line, snippet, .. } => {
                assert_eq!(line, 2);
                assert_eq!(snippet, "let x = 5");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let src = "const S: &str = \"ééé\"; fn (";
        match syntax(src) {
            CodeError::Syntax { line, column, .. } => {
                assert_eq!(line, 1);
                // "const S: &str = \"ééé\"; " is 23 characters but 26 bytes.
                assert_eq!(column, 24);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn control_characters_in_a_snippet_are_escaped() {
        match syntax("fn f(\u{1b}[2K\r) {}") {
            CodeError::Syntax { snippet, .. } => {
                assert!(!snippet.chars().any(char::is_control), "{snippet:?}");
                assert!(snippet.contains("\\u{1b}[2K\\r"), "{snippet:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn error_message_reads_like_a_diagnostic() {
        let err = CodeError::Syntax {
            line: 12,
            column: 5,
            snippet: "fn".to_owned(),
        };
        assert_eq!(
            format!("src/x.rs:{err}"),
            "src/x.rs:12:5: syntax error near `fn`"
        );
    }

    #[test]
    fn indentation_helpers() {
        let src = "mod m {\n    fn a() {}\n}\n";
        let at = src.find("fn").unwrap();
        assert_eq!(indented_start(src, at), src.find("    fn").unwrap());
        assert_eq!(indentation_at(src, at), "    ");
        assert_eq!(line_col(src, at), (2, 5));
    }
}
