//! Declaration-level helpers shared by the analyses: grouping items with their attributes and
//! doc comments, reading attributes, and flattening nodes into tokens.
//!
//! tree-sitter-rust makes attributes and doc comments *siblings* of the item they belong to,
//! so every analysis that wants "the whole item" needs the same grouping; it lives here.

use std::ops::Range;

use tree_sitter::Node;

use super::parse::node_text;

/// An item in a container (file, `mod` body, `impl`/`trait` body) with its outer attributes
/// and doc comments.
#[derive(Debug, Clone)]
pub(crate) struct Decl<'t> {
    pub node: Node<'t>,
    /// Start of the first attribute or doc comment, or of the item if it has none.
    pub start: usize,
    pub attrs: Vec<Node<'t>>,
    pub docs: Vec<Node<'t>>,
}

impl Decl<'_> {
    /// The whole item including its attributes and doc comments.
    pub fn range(&self) -> Range<usize> {
        self.start..self.node.end_byte()
    }

    pub fn kind(&self) -> &'static str {
        self.node.kind()
    }

    pub fn name<'s>(&self, src: &'s str) -> Option<&'s str> {
        self.node
            .child_by_field_name("name")
            .map(|n| node_text(n, src))
    }

    /// `#[cfg(test)]` (or `#[cfg(all(test, ..))]`) is among the item's attributes.
    pub fn is_cfg_test(&self, src: &str) -> bool {
        self.attrs.iter().any(|a| is_cfg_test_attr(*a, src))
    }

    /// The item is marked as a test function (`#[test]`, `#[tokio::test]`, ...).
    pub fn is_test_fn(&self, src: &str) -> bool {
        self.node.kind() == "function_item" && self.attrs.iter().any(|a| is_test_attr(*a, src))
    }
}

/// The items of a container node, each with the attributes and doc comments above it.
///
/// Plain comments neither attach nor break attachment (rustc ignores them too); inner
/// attributes and inner doc comments (`#![..]`, `//!`) belong to the container and are skipped.
pub(crate) fn decls(container: Node<'_>) -> Vec<Decl<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut attrs = Vec::new();
    let mut docs = Vec::new();
    let mut cursor = container.walk();
    for child in container.named_children(&mut cursor) {
        match child.kind() {
            "attribute_item" => {
                start.get_or_insert(child.start_byte());
                attrs.push(child);
            }
            "line_comment" | "block_comment" => {
                if is_outer_doc(child) {
                    start.get_or_insert(child.start_byte());
                    docs.push(child);
                }
            }
            "inner_attribute_item" => {}
            _ => out.push(Decl {
                node: child,
                start: start.take().unwrap_or(child.start_byte()),
                attrs: std::mem::take(&mut attrs),
                docs: std::mem::take(&mut docs),
            }),
        }
    }
    out
}

pub(crate) fn is_comment(node: Node<'_>) -> bool {
    matches!(node.kind(), "line_comment" | "block_comment")
}

pub(crate) fn is_outer_doc(node: Node<'_>) -> bool {
    is_comment(node) && node.child_by_field_name("outer").is_some()
}

pub(crate) fn is_inner_doc(node: Node<'_>) -> bool {
    is_comment(node) && node.child_by_field_name("inner").is_some()
}

/// The text of doc comments with the comment markers removed, lines joined by `\n`.
pub(crate) fn doc_text(docs: &[Node<'_>], src: &str) -> Option<String> {
    if docs.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for doc in docs {
        let body = doc
            .child_by_field_name("doc")
            .map_or("", |d| node_text(d, src));
        if doc.kind() == "line_comment" {
            let line = body.trim_end_matches(['\n', '\r']);
            lines.push(line.strip_prefix(' ').unwrap_or(line).to_owned());
        } else {
            lines.extend(block_doc_lines(body));
        }
    }
    Some(lines.join("\n"))
}

/// Lines of a `/** .. */` body without the conventional leading ` * ` decoration.
fn block_doc_lines(body: &str) -> Vec<String> {
    let mut lines: Vec<String> = body
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix('*') {
                Some(rest) => rest.strip_prefix(' ').unwrap_or(rest).trim_end().to_owned(),
                None => line.trim().to_owned(),
            }
        })
        .collect();
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The path of an attribute, e.g. `cfg`, `tokio::test`.
pub(crate) fn attr_path<'s>(attr_item: Node<'_>, src: &'s str) -> &'s str {
    let mut cursor = attr_item.walk();
    let attr = attr_item
        .named_children(&mut cursor)
        .find(|n| n.kind() == "attribute");
    attr.and_then(|a| a.named_child(0))
        .map_or("", |p| node_text(p, src))
}

/// `#[test]` and the common async/parametrised test attributes.
pub(crate) fn is_test_attr(attr_item: Node<'_>, src: &str) -> bool {
    let path = attr_path(attr_item, src);
    let last = path.rsplit("::").next().unwrap_or(path);
    last == "test" || matches!(path, "rstest" | "test_case")
}

/// `#[cfg(test)]`, also inside `all(..)`/`any(..)`, but not `#[cfg(not(test))]`.
pub(crate) fn is_cfg_test_attr(attr_item: Node<'_>, src: &str) -> bool {
    if attr_path(attr_item, src) != "cfg" {
        return false;
    }
    let words: Vec<&str> = leaves(attr_item)
        .into_iter()
        .filter(|n| n.kind() == "identifier")
        .map(|n| node_text(n, src))
        .collect();
    words.contains(&"test") && !words.contains(&"not")
}

/// Kinds treated as single tokens: their inner structure (string contents) is never code.
const ATOMIC_KINDS: &[&str] = &["string_literal", "raw_string_literal", "char_literal"];

/// The tokens under `node` in source order, without comments. Macro bodies come out as
/// plain token sequences, which is what the call scanners want.
pub(crate) fn leaves(node: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    let mut cursor = node.walk();
    while let Some(n) = stack.pop() {
        if is_comment(n) || n.is_missing() {
            continue;
        }
        if n.child_count() == 0 || ATOMIC_KINDS.contains(&n.kind()) {
            out.push(n);
            continue;
        }
        let children: Vec<Node<'_>> = n.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

/// Identifier-like tokens under `node`: everything that could name a type, fn, const or macro.
pub(crate) fn identifiers<'s>(node: Node<'_>, src: &'s str) -> Vec<&'s str> {
    leaves(node)
        .into_iter()
        .filter(|n| {
            matches!(
                n.kind(),
                "identifier" | "type_identifier" | "field_identifier"
            )
        })
        .map(|n| node_text(n, src))
        .collect()
}

/// The identifiers under `node`, each once, sorted: the names a body uses.
pub(crate) fn distinct_identifiers(node: Node<'_>, src: &str) -> Vec<String> {
    let mut names: Vec<String> = identifiers(node, src)
        .into_iter()
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The bare name of a type as written in an impl header: `Parser` for `Parser<T>`,
/// `io::Parser`, `&Parser` or `[Parser]`, so methods can be matched against the type.
pub(crate) fn type_base_name(node: Node<'_>, src: &str) -> String {
    match node.kind() {
        "generic_type" | "reference_type" | "pointer_type" | "array_type" => node
            .child_by_field_name("type")
            .or_else(|| node.child_by_field_name("element"))
            .map_or_else(
                || node_text(node, src).to_owned(),
                |t| type_base_name(t, src),
            ),
        "scoped_type_identifier" => node.child_by_field_name("name").map_or_else(
            || node_text(node, src).to_owned(),
            |n| type_base_name(n, src),
        ),
        _ => node_text(node, src).to_owned(),
    }
}

/// Tokens joined with single spaces where the source had any whitespace, so multi-line
/// signatures collapse to one line without comments.
pub(crate) fn normalized_tokens(tokens: &[Node<'_>], src: &str) -> String {
    let mut out = String::new();
    let mut prev_end: Option<usize> = None;
    for tok in tokens {
        if prev_end.is_some_and(|end| end < tok.start_byte()) {
            out.push(' ');
        }
        out.push_str(node_text(*tok, src));
        prev_end = Some(tok.end_byte());
    }
    out.replace("( ", "(")
        .replace(" )", ")")
        .replace(",)", ")")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(",>", ">")
        .trim_end_matches(',')
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::code::SourceFile;
    use pretty_assertions::assert_eq;

    #[test]
    fn groups_attributes_and_docs_with_their_item() {
        let src =
            "//! crate doc\n#![allow(x)]\n// plain\n/// doc\n#[inline]\nfn a() {}\n\nstruct S;\n";
        let file = SourceFile::parse(src).unwrap();
        let ds = decls(file.root());
        let summary: Vec<(&str, &str, usize, usize)> = ds
            .iter()
            .map(|d| (d.kind(), &src[d.range()], d.attrs.len(), d.docs.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("function_item", "/// doc\n#[inline]\nfn a() {}", 1, 1),
                ("struct_item", "struct S;", 0, 0),
            ]
        );
    }

    #[test]
    fn doc_text_of_both_styles() {
        let src =
            "/// One.\n///\n///  Indented.\nfn a() {}\n/**\n * Block.\n * More.\n */\nfn b() {}\n";
        let file = SourceFile::parse(src).unwrap();
        let ds = decls(file.root());
        assert_eq!(
            doc_text(&ds[0].docs, src).as_deref(),
            Some("One.\n\n Indented.")
        );
        assert_eq!(doc_text(&ds[1].docs, src).as_deref(), Some("Block.\nMore."));
    }

    #[test]
    fn recognises_test_attributes() {
        let src = "#[test] fn a() {}\n#[tokio::test] async fn b() {}\n#[inline] fn c() {}\n\
                   #[cfg(test)] mod t {}\n#[cfg(all(test, feature = \"x\"))] mod u {}\n\
                   #[cfg(not(test))] mod v {}\n#[cfg(feature = \"test\")] mod w {}\n";
        let file = SourceFile::parse(src).unwrap();
        let flags: Vec<(bool, bool)> = decls(file.root())
            .iter()
            .map(|d| (d.is_test_fn(src), d.is_cfg_test(src)))
            .collect();
        assert_eq!(
            flags,
            vec![
                (true, false),
                (true, false),
                (false, false),
                (false, true),
                (false, true),
                (false, false),
                (false, false),
            ]
        );
    }

    #[test]
    fn type_base_names() {
        let src = "impl<T> a::Parser<T> {}\nimpl Tr for &Foo {}\nimpl Bar {}\n";
        let file = SourceFile::parse(src).unwrap();
        let names: Vec<String> = decls(file.root())
            .iter()
            .map(|d| type_base_name(d.node.child_by_field_name("type").unwrap(), src))
            .collect();
        assert_eq!(names, vec!["Parser", "Foo", "Bar"]);
    }

    #[test]
    fn leaves_skip_comments_and_keep_strings_whole() {
        let src = "fn f() { g(\"a b\" /* c */, 'x'); }";
        let file = SourceFile::parse(src).unwrap();
        let toks: Vec<&str> = leaves(file.root())
            .into_iter()
            .map(|n| &src[n.byte_range()])
            .collect();
        assert_eq!(
            toks,
            vec!["fn", "f", "(", ")", "{", "g", "(", "\"a b\"", ",", "'x'", ")", ";", "}"]
        );
    }
}
