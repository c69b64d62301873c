//! Turning a model's test candidate into exactly one well-formed `#[cfg(test)]` module.
//!
//! Models reply with anything from a few bare `#[test]` fns to a full `mod tests { .. }`
//! with a different name, helpers outside the module, or no `use super::*`. Normalising here
//! means the rest of kiln always appends one module with a known name and known test names.

use std::ops::Range;

use tree_sitter::Node;

use super::decl::{decls, is_inner_doc, leaves, Decl};
use super::parse::{indentation_at, node_text, parse_tree};
use super::{CodeError, Result, SourceFile};

/// One level of indentation, matching rustfmt.
const INDENT: &str = "    ";

/// A normalised test module, ready for [`super::append_module`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestModule {
    /// `#[cfg(test)]\nmod name {\n..}\n`
    pub text: String,
    /// The `#[test]` fns, as paths relative to the module (`it_works`, `nested::edge_case`),
    /// so callers can run or report them as `module::name`.
    pub test_names: Vec<String>,
}

/// Normalises a model's test candidate into exactly one test module named `module_name`.
///
/// - A candidate with a single `mod X { .. }` is renamed to `module_name` and gets
///   `#[cfg(test)]` if missing; anything else at its top level (uses, helpers, impls) is
///   moved inside, because outside the module it would become non-test code of the file.
/// - Otherwise all items are wrapped in `#[cfg(test)] mod module_name { use super::*; .. }`
///   and indented by four spaces (multi-line string literals are left untouched, since
///   indenting them would change expected values).
/// - `use super::*;` is added when the module has no `use super::..` of its own.
///
/// Errors: [`CodeError::Syntax`] if the candidate (or the result) does not parse,
/// [`CodeError::NoTests`] if there is no `#[test]` fn.
pub fn normalize_test_module(candidate: &str, module_name: &str) -> Result<TestModule> {
    let file = SourceFile::parse(candidate)?;
    let src = file.text();
    let root = file.root();
    let items = decls(root);
    let modules: Vec<&Decl<'_>> = items.iter().filter(|d| is_inline_module(d)).collect();
    let text = match modules.as_slice() {
        [module] => rename_module(src, root, module, module_name),
        _ => wrap_items(src, root, module_name),
    };
    let normalized = SourceFile::parse(&text)?;
    let test_names = test_names(&normalized);
    if test_names.is_empty() {
        return Err(CodeError::NoTests);
    }
    Ok(TestModule { text, test_names })
}

/// Names defined at the top level of the test module that also name a top-level item of
/// `original`. Such a definition shadows the real item for the tests (local items beat the
/// `use super::*` glob), so the tests would exercise the model's copy instead of the code.
pub fn shadowed_items(original: &SourceFile, module: &TestModule) -> Vec<String> {
    let orig_src = original.text();
    let originals: Vec<&str> = decls(original.root())
        .iter()
        .filter(|d| !d.is_cfg_test(orig_src) && !d.is_test_fn(orig_src))
        .filter_map(|d| d.name(orig_src))
        .collect();
    let Ok(tree) = parse_tree(&module.text) else {
        return Vec::new();
    };
    let src = module.text.as_str();
    let mut out = Vec::new();
    for module_decl in decls(tree.root_node()) {
        let Some(body) = module_decl.node.child_by_field_name("body") else {
            continue;
        };
        for d in decls(body) {
            if let Some(name) = d.name(src) {
                if originals.contains(&name) && !out.iter().any(|o| o == name) {
                    out.push(name.to_owned());
                }
            }
        }
    }
    out
}

fn is_inline_module(d: &Decl<'_>) -> bool {
    d.kind() == "mod_item" && d.node.child_by_field_name("body").is_some()
}

fn is_inner_item(n: Node<'_>) -> bool {
    n.kind() == "inner_attribute_item" || is_inner_doc(n)
}

fn is_super_use(d: &Decl<'_>, src: &str) -> bool {
    d.kind() == "use_declaration" && node_text(d.node, src).starts_with("use super::")
}

fn rename_module(src: &str, root: Node<'_>, module: &Decl<'_>, name: &str) -> String {
    let node = module.node;
    let (Some(name_node), Some(body)) = (
        node.child_by_field_name("name"),
        node.child_by_field_name("body"),
    ) else {
        return String::new();
    };
    let body_decls = decls(body);
    let indent = body_decls.first().map_or_else(
        || format!("{}{INDENT}", indentation_at(src, node.start_byte())),
        |d| indentation_at(src, d.start),
    );
    // New items go after the module's own inner attributes, which must stay first.
    let mut cursor = body.walk();
    let insert_at = body
        .named_children(&mut cursor)
        .take_while(|c| is_inner_item(*c))
        .last()
        .map_or(body.start_byte() + 1, |c| c.end_byte());

    let strings = multiline_strings(root, src);
    let outside = top_level_segments(root, src)
        .into_iter()
        .filter(|r| r.start < module.start || r.start >= node.end_byte());
    let mut inserted = String::new();
    for seg in outside {
        inserted.push('\n');
        push_indented(&mut inserted, src, seg, &indent, &strings);
    }
    let has_super = body_decls.iter().any(|d| is_super_use(d, src))
        || decls(root).iter().any(|d| is_super_use(d, src));
    if !has_super {
        inserted.push('\n');
        inserted.push_str(&indent);
        inserted.push_str("use super::*;");
    }

    let mut out = String::new();
    if !module.is_cfg_test(src) {
        out.push_str("#[cfg(test)]\n");
    }
    out.push_str(slice(src, module.start..name_node.start_byte()));
    out.push_str(name);
    out.push_str(slice(src, name_node.end_byte()..insert_at));
    out.push_str(&inserted);
    out.push_str(slice(src, insert_at..node.end_byte()));
    out.push('\n');
    out
}

fn wrap_items(src: &str, root: Node<'_>, name: &str) -> String {
    let strings = multiline_strings(root, src);
    let mut head = String::new();
    let mut cursor = root.walk();
    for inner in root
        .named_children(&mut cursor)
        .filter(|c| is_inner_item(*c))
    {
        push_indented(&mut head, src, trimmed_range(inner, src), INDENT, &strings);
        head.push('\n');
    }
    if !decls(root).iter().any(|d| is_super_use(d, src)) {
        head.push_str(INDENT);
        head.push_str("use super::*;\n");
    }

    let mut body = String::new();
    let mut prev_end: Option<usize> = None;
    for seg in top_level_segments(root, src) {
        if let Some(end) = prev_end {
            let gap = slice(src, end..seg.start);
            body.push_str(match gap.matches('\n').count() {
                0 => " ",
                1 => "\n",
                _ => "\n\n",
            });
        }
        prev_end = Some(seg.end);
        push_indented(&mut body, src, seg, INDENT, &strings);
    }

    let separator = if body.is_empty() { "" } else { "\n" };
    format!("#[cfg(test)]\nmod {name} {{\n{head}{separator}{body}\n}}\n")
}

/// The ranges of the top-level content to move: items with their attributes and docs, and
/// free-standing comments, without inner attributes (handled separately, they must lead).
fn top_level_segments(root: Node<'_>, src: &str) -> Vec<Range<usize>> {
    let items = decls(root);
    let mut segs: Vec<Range<usize>> = items.iter().map(Decl::range).collect();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        let covered = items
            .iter()
            .any(|d| d.range().contains(&child.start_byte()));
        if !covered && !is_inner_item(child) {
            segs.push(trimmed_range(child, src));
        }
    }
    segs.sort_by_key(|r| r.start);
    segs
}

/// A node's range without the newline that line comments include.
fn trimmed_range(node: Node<'_>, src: &str) -> Range<usize> {
    let text = node_text(node, src);
    let trimmed = text.trim_end_matches(['\n', '\r']);
    node.start_byte()..node.start_byte() + trimmed.len()
}

/// Ranges of string literals spanning lines: lines starting inside them must not be indented.
fn multiline_strings(root: Node<'_>, src: &str) -> Vec<Range<usize>> {
    leaves(root)
        .into_iter()
        .filter(|n| matches!(n.kind(), "string_literal" | "raw_string_literal"))
        .filter(|n| node_text(*n, src).contains('\n'))
        .map(|n| n.byte_range())
        .collect()
}

/// Appends `src[range]` with `indent` added to each non-blank line that does not start
/// inside a multi-line string literal.
fn push_indented(
    out: &mut String,
    src: &str,
    range: Range<usize>,
    indent: &str,
    strings: &[Range<usize>],
) {
    let mut pos = range.start;
    for line in slice(src, range).split_inclusive('\n') {
        let in_string = strings.iter().any(|s| s.start < pos && pos < s.end);
        if !in_string && !line.trim().is_empty() {
            out.push_str(indent);
        }
        out.push_str(line);
        pos += line.len();
    }
}

fn slice(src: &str, range: Range<usize>) -> &str {
    src.get(range).unwrap_or("")
}

/// `#[test]` fns inside the (single) top-level module, with paths relative to it.
fn test_names(file: &SourceFile) -> Vec<String> {
    let src = file.text();
    let mut out = Vec::new();
    for module in decls(file.root()) {
        if let Some(body) = module.node.child_by_field_name("body") {
            collect_tests(body, src, "", &mut out);
        }
    }
    out
}

fn collect_tests(container: Node<'_>, src: &str, prefix: &str, out: &mut Vec<String>) {
    for d in decls(container) {
        let name = d.name(src).unwrap_or_default();
        if d.is_test_fn(src) {
            out.push(format!("{prefix}{name}"));
        } else if d.kind() == "mod_item" {
            if let Some(body) = d.node.child_by_field_name("body") {
                collect_tests(body, src, &format!("{prefix}{name}::"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
