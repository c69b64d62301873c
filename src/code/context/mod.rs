//! Building the minimal slice of a file that a model needs to work on some target functions.
//!
//! Small models lose the thread in long prompts, so instead of the whole file they get: the
//! imports, the targets in full, and only the outlines of what the targets touch (types,
//! traits, constants, called functions, constructors). Everything else is replaced by
//! `// ...` so the model knows code was left out rather than missing.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tree_sitter::Node;

use super::calls::CallSet;
use super::decl::{decls, identifiers, leaves, type_base_name, Decl};
use super::parse::{indentation_at, indented_start};
use super::{FnItem, SourceFile};

/// One level of indentation in rendered output, matching rustfmt.
const INDENT: &str = "    ";

/// The minimal context a model needs to write tests for `targets`: the file's `use` lines,
/// each target in full (with docs), the headers of the impls/traits/modules enclosing them,
/// the definitions of types they mention (transitively through field types), outlines of
/// traits they mention, consts/statics/macros they mention, and the signatures of the file's
/// other fns they call plus constructors of the types involved. Elided parts are marked
/// `// ...`; order follows the file.
///
/// Files of at most `whole_file_max_lines` lines are returned whole, since a short file is
/// its own best context.
pub fn context_for(file: &SourceFile, targets: &[FnItem], whole_file_max_lines: usize) -> String {
    let src = file.text();
    if src.lines().count() <= whole_file_max_lines {
        return src.to_owned();
    }
    let selection = Selection::new(file, targets);
    let renderer = Renderer {
        src,
        sel: &selection,
    };
    let mut out = String::new();
    renderer.container(file.root(), "", BodyMode::Items, &mut out);
    out
}

/// How an item is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Full,
    /// Header and `// ...` instead of the body.
    Signature,
}

/// How the items inside a container body are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    /// Only the selected items.
    Items,
    /// A mentioned trait: every member, with default-method bodies elided.
    TraitOutline,
}

/// A declaration with the context the selection rules need.
struct Entry<'t> {
    decl: Decl<'t>,
    /// Type (for impls) or trait name of the enclosing impl/trait.
    owner: Option<String>,
    /// The enclosing `impl` item, if any.
    enclosing_impl: Option<Node<'t>>,
    in_test: bool,
}

/// What to show, keyed by the start byte of each declaration (unique per item).
struct Selection {
    shown: HashMap<usize, Show>,
    outlined_traits: HashSet<usize>,
}

impl Selection {
    fn new(file: &SourceFile, targets: &[FnItem]) -> Selection {
        let src = file.text();
        let mut entries = Vec::new();
        walk(file.root(), src, &Walk::default(), &mut entries);
        let target_ranges: HashSet<Range<usize>> =
            targets.iter().map(|t| t.byte_range.clone()).collect();

        let mut shown = HashMap::new();
        let mut mentioned: HashSet<String> = HashSet::new();
        let mut calls = CallSet::default();
        for e in entries
            .iter()
            .filter(|e| target_ranges.contains(&e.decl.range()))
        {
            shown.insert(e.decl.start, Show::Full);
            calls.scan(e.decl.node, src);
            mentioned.extend(identifiers(e.decl.node, src).into_iter().map(str::to_owned));
            // Docs often name the constants and types that define the behaviour under test.
            for doc in &e.decl.docs {
                mentioned.extend(words(src.get(doc.byte_range()).unwrap_or("")));
            }
            if let Some(imp) = e.enclosing_impl {
                mentioned.extend(header_identifiers(imp, src));
            }
        }

        let candidates: Vec<&Entry<'_>> = entries.iter().filter(|e| !e.in_test).collect();
        let selected_types = close_over_types(&candidates, src, &mut mentioned);
        let method_owners = method_owner_counts(&candidates, src);
        let mut outlined_traits = HashSet::new();
        for e in &candidates {
            let name = e.decl.name(src).unwrap_or_default();
            let show = match e.decl.kind() {
                "struct_item" | "enum_item" | "union_item" | "type_item"
                    if e.owner.is_none() && selected_types.contains(name) =>
                {
                    Some(Show::Full)
                }
                "trait_item" if mentioned.contains(name) => {
                    outlined_traits.insert(e.decl.start);
                    None
                }
                "const_item" | "static_item" | "macro_definition" if mentioned.contains(name) => {
                    Some(Show::Full)
                }
                "function_item" if is_called(e, name, &calls, &mentioned, &method_owners) => {
                    Some(Show::Signature)
                }
                "function_item" if is_constructor(e, src, &selected_types) => Some(Show::Signature),
                _ => None,
            };
            if let Some(show) = show {
                shown.entry(e.decl.start).or_insert(show);
            }
        }
        Selection {
            shown,
            outlined_traits,
        }
    }
}

/// Names of the type definitions to show: those mentioned by the targets, plus, transitively,
/// types used in their fields, since a model cannot build a value without them. Traits are
/// not expanded; their outlines could pull in half the file.
fn close_over_types(
    entries: &[&Entry<'_>],
    src: &str,
    mentioned: &mut HashSet<String>,
) -> HashSet<String> {
    let defs: Vec<(&str, Node<'_>)> = entries
        .iter()
        .filter(|e| e.owner.is_none())
        .filter(|e| {
            matches!(
                e.decl.kind(),
                "struct_item" | "enum_item" | "union_item" | "type_item"
            )
        })
        .filter_map(|e| e.decl.name(src).map(|n| (n, e.decl.node)))
        .collect();
    let mut selected = HashSet::new();
    let mut changed = true;
    while changed {
        changed = false;
        for (name, node) in &defs {
            if mentioned.contains(*name) && selected.insert((*name).to_owned()) {
                mentioned.extend(identifiers(*node, src).into_iter().map(str::to_owned));
                changed = true;
            }
        }
    }
    selected
}

/// Whether the targets call this function. A `.name(..)` call does not say on which type, so a
/// method counts only when its type is one the targets mention, or when no other type in the
/// file has a method of that name: otherwise `x.apply()` would pull in every `apply` in a
/// large file.
fn is_called(
    e: &Entry<'_>,
    name: &str,
    calls: &CallSet,
    mentioned: &HashSet<String>,
    method_owners: &HashMap<String, usize>,
) -> bool {
    match &e.owner {
        None => calls.calls_free(name),
        Some(owner) => {
            calls.calls_by_path(owner, name)
                || (calls.calls_method(name)
                    && (mentioned.contains(owner) || method_owners.get(name) == Some(&1)))
        }
    }
}

/// For each method name, how many types (or traits) in the file define one.
fn method_owner_counts(entries: &[&Entry<'_>], src: &str) -> HashMap<String, usize> {
    let mut owners: HashMap<String, HashSet<&str>> = HashMap::new();
    for e in entries {
        if let (Some(owner), "function_item") = (&e.owner, e.decl.kind()) {
            if let Some(name) = e.decl.name(src) {
                owners.entry(name.to_owned()).or_default().insert(owner);
            }
        }
    }
    owners
        .into_iter()
        .map(|(name, set)| (name, set.len()))
        .collect()
}

/// An associated fn without `self` in an inherent impl of a shown type that returns `Self`
/// or the type: how a test gets hold of a value.
fn is_constructor(e: &Entry<'_>, src: &str, types: &HashSet<String>) -> bool {
    let (Some(owner), Some(imp)) = (&e.owner, e.enclosing_impl) else {
        return false;
    };
    if !types.contains(owner) || imp.child_by_field_name("trait").is_some() {
        return false;
    }
    let node = e.decl.node;
    let takes_self = node
        .child_by_field_name("parameters")
        .and_then(|p| p.named_child(0))
        .is_some_and(|first| {
            first.kind() == "self_parameter"
                || first
                    .child_by_field_name("pattern")
                    .is_some_and(|p| p.kind() == "self")
        });
    let returns_type = node.child_by_field_name("return_type").is_some_and(|r| {
        identifiers(r, src)
            .into_iter()
            .any(|id| id == "Self" || id == owner)
    });
    !takes_self && returns_type
}

/// Identifier-shaped words of free text.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

/// Identifiers in an impl/trait header (everything before the body), e.g. the type and trait
/// of `impl<T: Display> Describe for Parser<T>`.
fn header_identifiers(node: Node<'_>, src: &str) -> Vec<String> {
    let body_start = node
        .child_by_field_name("body")
        .map_or(node.end_byte(), |b| b.start_byte());
    leaves(node)
        .into_iter()
        .filter(|t| t.end_byte() <= body_start)
        .filter(|t| matches!(t.kind(), "identifier" | "type_identifier"))
        .filter_map(|t| src.get(t.byte_range()))
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Default, Clone)]
struct Walk<'t> {
    owner: Option<String>,
    enclosing_impl: Option<Node<'t>>,
    in_test: bool,
}

/// Every declaration in the file's containers (modules, impls, traits), depth first.
fn walk<'t>(container: Node<'t>, src: &str, ctx: &Walk<'t>, out: &mut Vec<Entry<'t>>) {
    for decl in decls(container) {
        let in_test = ctx.in_test || decl.is_cfg_test(src) || decl.is_test_fn(src);
        if let Some(body) = decl.node.child_by_field_name("body") {
            let inner = match decl.kind() {
                "mod_item" => Some(Walk {
                    owner: None,
                    enclosing_impl: None,
                    in_test,
                }),
                "impl_item" => Some(Walk {
                    owner: decl
                        .node
                        .child_by_field_name("type")
                        .map(|t| type_base_name(t, src)),
                    enclosing_impl: Some(decl.node),
                    in_test,
                }),
                "trait_item" => Some(Walk {
                    owner: decl.name(src).map(str::to_owned),
                    enclosing_impl: None,
                    in_test,
                }),
                _ => None,
            };
            if let Some(inner) = inner {
                walk(body, src, &inner, out);
            }
        }
        out.push(Entry {
            decl,
            owner: ctx.owner.clone(),
            enclosing_impl: ctx.enclosing_impl,
            in_test,
        });
    }
}

/// A piece of output and how it separates from its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Use,
    Item,
    Elision,
}

struct Renderer<'a> {
    src: &'a str,
    sel: &'a Selection,
}

impl Renderer<'_> {
    /// Renders the chosen items of a container body into `out`; returns how many items other
    /// than `use` lines were shown, so the caller can drop containers with nothing to show.
    fn container(&self, body: Node<'_>, indent: &str, mode: BodyMode, out: &mut String) -> usize {
        let mut substantive = 0;
        let mut elided = false;
        let mut last: Option<Piece> = None;
        for decl in decls(body) {
            let rendered = match decl.kind() {
                "use_declaration" | "extern_crate_declaration" => {
                    Some((Piece::Use, self.full(&decl)))
                }
                _ => self.item(&decl, mode).map(|text| (Piece::Item, text)),
            };
            let Some((piece, text)) = rendered else {
                elided = true;
                continue;
            };
            if elided {
                push_piece(out, &mut last, Piece::Elision, &format!("{indent}// ...\n"));
                elided = false;
            }
            if piece == Piece::Item {
                substantive += 1;
            }
            push_piece(out, &mut last, piece, &text);
        }
        if elided {
            push_piece(out, &mut last, Piece::Elision, &format!("{indent}// ...\n"));
        }
        substantive
    }

    fn item(&self, decl: &Decl<'_>, mode: BodyMode) -> Option<String> {
        let body = decl.node.child_by_field_name("body");
        match (decl.kind(), body) {
            ("mod_item" | "impl_item" | "trait_item", Some(body)) => {
                let outline = self.sel.outlined_traits.contains(&decl.start);
                let inner_mode = if outline {
                    BodyMode::TraitOutline
                } else {
                    BodyMode::Items
                };
                let indent = indentation_at(self.src, decl.node.start_byte());
                let mut inner = String::new();
                let shown =
                    self.container(body, &format!("{indent}{INDENT}"), inner_mode, &mut inner);
                (shown > 0 || outline).then(|| {
                    let header =
                        self.slice(indented_start(self.src, decl.start)..body.start_byte() + 1);
                    format!("{header}\n{inner}{indent}}}\n")
                })
            }
            _ => {
                let show = match (mode, decl.kind()) {
                    (_, _) if self.sel.shown.get(&decl.start) == Some(&Show::Full) => {
                        Some(Show::Full)
                    }
                    (BodyMode::TraitOutline, "function_item") => Some(Show::Signature),
                    (BodyMode::TraitOutline, _) => Some(Show::Full),
                    (BodyMode::Items, _) => self.sel.shown.get(&decl.start).copied(),
                };
                match (show?, body) {
                    (Show::Signature, Some(body)) => Some(self.signature(decl, body)),
                    _ => Some(self.full(decl)),
                }
            }
        }
    }

    fn full(&self, decl: &Decl<'_>) -> String {
        let text = self.slice(indented_start(self.src, decl.start)..decl.node.end_byte());
        format!("{text}\n")
    }

    fn signature(&self, decl: &Decl<'_>, body: Node<'_>) -> String {
        let indent = indentation_at(self.src, decl.node.start_byte());
        let header = self.slice(indented_start(self.src, decl.start)..body.start_byte());
        format!(
            "{} {{\n{indent}{INDENT}// ...\n{indent}}}\n",
            header.trim_end()
        )
    }

    fn slice(&self, range: Range<usize>) -> &str {
        self.src.get(range).unwrap_or("")
    }
}

/// Appends a piece, separated from the previous one by a blank line except between
/// consecutive `use` lines.
fn push_piece(out: &mut String, last: &mut Option<Piece>, piece: Piece, text: &str) {
    if last.is_some_and(|prev| !(prev == Piece::Use && piece == Piece::Use)) {
        out.push('\n');
    }
    out.push_str(text);
    *last = Some(piece);
}

#[cfg(test)]
mod tests;
