//! Matching the items of a model's candidate (some items of a file, rewritten) with the items
//! of the file they came from, so a task can check what changed item by item and splice only
//! what it allows: docs for the docstring task, whole items for a refactor.

use std::ops::Range;

use tree_sitter::Node;

use super::compare::code_tokens;
use super::decl::{decls, doc_text, leaves, normalized_tokens, type_base_name, Decl};
use super::parse::{indentation_at, indented_start};
use super::SourceFile;

/// One item as it appears in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemText {
    /// The whole item with its docs and attributes, from the start of its first line.
    pub range: Range<usize>,
    /// Where the item itself starts, after its docs and attributes.
    pub item_start: usize,
    /// Each outer doc comment, from the start of its line.
    pub doc_ranges: Vec<Range<usize>>,
    pub doc: Option<String>,
    /// Code tokens of the item (for a matched container: of its header only).
    pub tokens: Vec<String>,
    pub indent: String,
}

/// A candidate item and its counterpart in the original, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMatch {
    /// The item's path for people and `--item`: `mean_floor`, `Parser::parse`,
    /// `impl Display for Parser`.
    pub label: String,
    /// `fn`, `struct`, `trait`, ... (empty for impls, `use` lines and macro calls).
    pub keyword: &'static str,
    /// Visible outside the crate: `pub`, or a member of a `pub trait`.
    pub public: bool,
    /// Inside `#[cfg(test)]` or a `#[test]` fn itself.
    pub test_code: bool,
    /// The tree-sitter kind, e.g. `function_item`.
    pub kind: &'static str,
    /// A module, impl or trait found in both texts: its members are matched separately.
    pub container: bool,
    pub candidate: ItemText,
    pub original: Option<ItemText>,
    /// Where a candidate item without a counterpart goes in the original: just after the
    /// counterpart of the candidate item before it, else at the end of the container.
    pub insert_at: usize,
    /// Indentation for an inserted item.
    pub insert_indent: String,
}

/// Matches `candidate`'s items with `original`'s, recursing into modules, impls and traits
/// present in both. Items match by kind and name; impls by their header; anything else (`use`
/// lines, macro calls) by its code.
pub fn match_items(original: &SourceFile, candidate: &SourceFile) -> Vec<ItemMatch> {
    let mut out = Vec::new();
    let root_end = original.text().len();
    match_container(
        Side::new(original.root(), original.text()),
        Side::new(candidate.root(), candidate.text()),
        &Container {
            path: String::new(),
            public_members: false,
            test_code: false,
            end: root_end,
            indent: String::new(),
        },
        &mut out,
    );
    out
}

/// Re-indents an item's text from `from` to `to`: lines starting with `from` get `to` instead.
pub fn reindent(text: &str, from: &str, to: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix(from) {
            Some(rest) if !line.trim().is_empty() => format!("{to}{rest}"),
            _ if line.trim().is_empty() => String::new(),
            _ => format!("{to}{}", line.trim_start()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Clone, Copy)]
struct Side<'t, 's> {
    node: Node<'t>,
    src: &'s str,
}

impl<'t, 's> Side<'t, 's> {
    fn new(node: Node<'t>, src: &'s str) -> Self {
        Side { node, src }
    }
}

struct Container {
    /// `Parser::` style prefix for labels.
    path: String,
    /// A `pub trait`: its members are public without a modifier.
    public_members: bool,
    test_code: bool,
    /// Where to insert at the end of this container's body.
    end: usize,
    indent: String,
}

fn match_container(
    original: Side<'_, '_>,
    candidate: Side<'_, '_>,
    container: &Container,
    out: &mut Vec<ItemMatch>,
) {
    let originals = decls(original.node);
    let original_keys: Vec<String> = originals.iter().map(|d| key(d, original.src)).collect();
    let mut insert_at = container.end;
    let mut insert_indent = container.indent.clone();
    // An unmatched item before any matched one goes before the first matched item instead.
    let first_match = decls(candidate.node).iter().find_map(|d| {
        let k = key(d, candidate.src);
        original_keys.iter().position(|o| *o == k)
    });
    if let Some(first) = first_match.and_then(|i| originals.get(i)) {
        insert_at = indented_start(original.src, first.start);
        insert_indent = indentation_at(original.src, first.node.start_byte());
    }
    for decl in decls(candidate.node) {
        let k = key(&decl, candidate.src);
        let counterpart = original_keys
            .iter()
            .position(|o| *o == k)
            .and_then(|i| originals.get(i));
        let label = format!("{}{}", container.path, label_of(&decl, candidate.src));
        let keyword = keyword_of(decl.kind());
        let public = container.public_members || is_pub(decl.node, candidate.src);
        let test_code = container.test_code
            || decl.is_cfg_test(candidate.src)
            || decl.is_test_fn(candidate.src);
        let bodies = counterpart.and_then(|o| {
            Some((
                o.node.child_by_field_name("body")?,
                decl.node.child_by_field_name("body")?,
            ))
        });
        let nested =
            bodies.filter(|_| matches!(decl.kind(), "mod_item" | "impl_item" | "trait_item"));
        if let Some(o) = counterpart {
            insert_at = o.node.end_byte();
            insert_indent = indentation_at(original.src, o.node.start_byte());
        }
        let header_only = if nested.is_some() {
            HeaderOnly::Yes
        } else {
            HeaderOnly::No
        };
        out.push(ItemMatch {
            label,
            keyword,
            public,
            test_code,
            kind: decl.kind(),
            container: nested.is_some(),
            candidate: item_text(&decl, candidate.src, header_only),
            original: counterpart.map(|o| item_text(o, original.src, header_only)),
            insert_at,
            insert_indent: insert_indent.clone(),
        });
        if let (Some((o_body, c_body)), Some(o)) = (nested, counterpart) {
            let end = o_body.end_byte().saturating_sub(1);
            match_container(
                Side::new(o_body, original.src),
                Side::new(c_body, candidate.src),
                &Container {
                    path: format!("{}{}::", container.path, path_segment(o, original.src)),
                    public_members: decl.kind() == "trait_item" && public,
                    test_code,
                    end: indented_start(original.src, end),
                    indent: format!("{insert_indent}    "),
                },
                out,
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HeaderOnly {
    Yes,
    No,
}

fn item_text(decl: &Decl<'_>, src: &str, header_only: HeaderOnly) -> ItemText {
    let node = decl.node;
    let tokens = match (header_only, node.child_by_field_name("body")) {
        (HeaderOnly::Yes, Some(body)) => leaves(node)
            .into_iter()
            .filter(|t| t.end_byte() <= body.start_byte())
            .filter_map(|t| src.get(t.byte_range()))
            .map(str::to_owned)
            .collect(),
        _ => code_tokens(node, src)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    ItemText {
        range: indented_start(src, decl.start)..node.end_byte(),
        item_start: node.start_byte(),
        doc_ranges: decl
            .docs
            .iter()
            .map(|d| indented_start(src, d.start_byte())..d.end_byte())
            .collect(),
        doc: doc_text(&decl.docs, src),
        tokens,
        indent: indentation_at(src, node.start_byte()),
    }
}

/// What identifies an item across two versions of a file.
fn key(decl: &Decl<'_>, src: &str) -> String {
    match (decl.kind(), decl.name(src)) {
        ("impl_item", _) => format!("impl {}", header(decl.node, src)),
        (kind, Some(name)) => format!("{kind} {name}"),
        (_, None) => normalized_tokens(&leaves(decl.node), src),
    }
}

fn label_of(decl: &Decl<'_>, src: &str) -> String {
    match (decl.kind(), decl.name(src)) {
        ("impl_item", _) => format!("impl {}", header(decl.node, src)),
        (_, Some(name)) => name.to_owned(),
        (_, None) => normalized_tokens(&leaves(decl.node), src),
    }
}

fn keyword_of(kind: &str) -> &'static str {
    match kind {
        "function_item" | "function_signature_item" => "fn",
        "struct_item" => "struct",
        "enum_item" => "enum",
        "union_item" => "union",
        "trait_item" => "trait",
        "type_item" | "associated_type" => "type",
        "const_item" => "const",
        "static_item" => "static",
        "mod_item" => "mod",
        "macro_definition" => "macro_rules!",
        _ => "",
    }
}

pub(crate) fn is_pub(node: Node<'_>, src: &str) -> bool {
    let mut cursor = node.walk();
    let visible = node
        .children(&mut cursor)
        .find(|c| c.kind() == "visibility_modifier")
        .and_then(|m| src.get(m.byte_range()));
    visible == Some("pub")
}

/// The tokens of an item before its body, e.g. `<T> Display for Parser<T>` for an impl.
fn header(node: Node<'_>, src: &str) -> String {
    let body_start = node
        .child_by_field_name("body")
        .map_or(node.end_byte(), |b| b.start_byte());
    let tokens: Vec<Node<'_>> = leaves(node)
        .into_iter()
        .filter(|t| t.end_byte() <= body_start)
        .skip(1)
        .collect();
    normalized_tokens(&tokens, src)
}

fn path_segment(decl: &Decl<'_>, src: &str) -> String {
    match decl.kind() {
        "impl_item" => decl
            .node
            .child_by_field_name("type")
            .map_or_else(String::new, |t| type_base_name(t, src)),
        _ => decl.name(src).unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const ORIGINAL: &str = "use std::fmt;\n\npub struct P;\n\nimpl P {\n    pub fn new() -> P { P }\n\n    pub fn go(&self) -> u8 { 1 }\n}\n\npub fn free() -> u8 { 2 }\n";

    fn matches(candidate: &str) -> Vec<ItemMatch> {
        match_items(
            &SourceFile::parse(ORIGINAL).unwrap(),
            &SourceFile::parse(candidate).unwrap(),
        )
    }

    #[test]
    fn items_match_by_kind_and_name_inside_impls() {
        let found = matches("impl P {\n    /// Goes.\n    pub fn go(&self) -> u8 { 1 }\n}\n/// Free.\npub fn free() -> u8 { 2 }\n");
        let labels: Vec<(&str, bool, bool)> = found
            .iter()
            .map(|m| (m.label.as_str(), m.container, m.original.is_some()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("impl P", true, true),
                ("P::go", false, true),
                ("free", false, true),
            ]
        );
        let go = &found[1];
        assert_eq!(go.candidate.doc.as_deref(), Some("Goes."));
        assert_eq!(go.candidate.tokens, go.original.as_ref().unwrap().tokens);
        assert_eq!(go.original.as_ref().unwrap().indent, "    ");
    }

    #[test]
    fn new_items_go_after_the_previous_match_or_before_the_first() {
        let found =
            matches("fn helper() -> u8 { 3 }\npub fn free() -> u8 { helper() }\nfn after() {}\n");
        assert_eq!(found[0].label, "helper");
        assert!(!found[0].public);
        assert!(found[1].public);
        assert!(found[0].original.is_none());
        assert_eq!(found[0].insert_at, ORIGINAL.find("pub fn free").unwrap());
        assert_eq!(found[2].label, "after");
        assert_eq!(found[2].insert_at, ORIGINAL.len() - 1);
        assert!(found[1].candidate.tokens != found[1].original.as_ref().unwrap().tokens);
    }

    #[test]
    fn reindent_moves_lines_between_levels() {
        assert_eq!(
            reindent("fn a() {\n    x();\n\n}", "", "    "),
            "    fn a() {\n        x();\n\n    }"
        );
        assert_eq!(reindent("    fn a() {}", "    ", ""), "fn a() {}");
    }
}
