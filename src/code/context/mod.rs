//! Building the minimal slice of a file that a model needs to work on some target functions.
//!
//! Small models lose the thread in long prompts, so instead of the whole file they get: the
//! imports, the targets in full, and only the outlines of what the targets touch (types,
//! traits, constants, called functions, constructors). Everything else is replaced by
//! `// ...` so the model knows code was left out rather than missing.

mod index;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tree_sitter::Node;

pub use self::index::ContextIndex;
use self::index::{Container, EntryId};
use super::calls::CallSet;
use super::decl::{identifiers, leaves, Decl};
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
/// its own best context. For many calls on one file, build one [`ContextIndex`] instead.
pub fn context_for(file: &SourceFile, targets: &[FnItem], whole_file_max_lines: usize) -> String {
    ContextIndex::new(file).context_for(targets, whole_file_max_lines)
}

impl ContextIndex<'_> {
    /// [`context_for`] on the indexed file: the work is proportional to what the targets
    /// touch and what is shown, not to the size of the file.
    pub fn context_for(&self, targets: &[FnItem], whole_file_max_lines: usize) -> String {
        if self.is_whole_file(whole_file_max_lines) {
            return self.src().to_owned();
        }
        let selection = Selection::new(self, targets);
        let renderer = Renderer {
            index: self,
            src: self.src(),
            sel: &selection,
        };
        let mut out = String::new();
        renderer.container(None, "", BodyMode::Items, &mut out);
        out
    }
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

/// What to show, by entry.
struct Selection {
    shown: HashMap<EntryId, Show>,
    outlined_traits: HashSet<EntryId>,
    /// Per container, the positions of the items to render other than its `use` lines: shown
    /// items, outlined traits, and containers holding either.
    pieces: HashMap<Option<EntryId>, Vec<usize>>,
}

impl Selection {
    fn new(index: &ContextIndex<'_>, targets: &[FnItem]) -> Selection {
        let src = index.src();
        let mut target_ids: Vec<EntryId> = targets
            .iter()
            .filter_map(|t| index.at_range(&t.byte_range))
            .collect();
        target_ids.sort_unstable();
        target_ids.dedup();

        let mut shown = HashMap::new();
        let mut mentioned: HashSet<&str> = HashSet::new();
        let mut calls = CallSet::default();
        let mut target_owners: HashSet<&str> = HashSet::new();
        for &id in &target_ids {
            let e = &index.entries[id];
            shown.insert(id, Show::Full);
            calls.scan(e.decl.node, src);
            mentioned.extend(identifiers(e.decl.node, src));
            // Docs often name the constants and types that define the behaviour under test.
            for doc in &e.decl.docs {
                mentioned.extend(words(src.get(doc.byte_range()).unwrap_or("")));
            }
            if let Some(imp) = e.enclosing_impl {
                mentioned.extend(header_identifiers(imp, src));
            }
            target_owners.extend(e.owner.as_deref());
        }

        let selected_types = close_over_types(index, &mut mentioned);
        let mut show = |ids: Option<&Vec<EntryId>>, how: Show| {
            for &id in ids.into_iter().flatten() {
                shown.entry(id).or_insert(how);
            }
        };
        for name in &selected_types {
            show(index.types.get(name), Show::Full);
            show(index.constructors.get(*name), Show::Signature);
        }
        for name in &mentioned {
            show(index.values.get(name), Show::Full);
        }
        for name in calls.free_names() {
            show(index.free_fns.get(name), Show::Signature);
        }
        for called in called_methods(index, &calls, &mentioned, &target_owners) {
            show(Some(called), Show::Signature);
        }
        let outlined_traits: HashSet<EntryId> = mentioned
            .iter()
            .filter_map(|name| index.traits.get(name))
            .flatten()
            .copied()
            .collect();
        let pieces = pieces(index, shown.keys().chain(&outlined_traits));
        Selection {
            shown,
            outlined_traits,
            pieces,
        }
    }
}

/// The methods and associated fns the targets call. A `.name(..)` call does not say on which
/// type, so a method counts only when its type is one the targets mention, or when no other
/// type in the file has a method of that name: otherwise `x.apply()` would pull in every
/// `apply` in a large file. `Self::name` means the targets' own types.
fn called_methods<'i>(
    index: &'i ContextIndex<'_>,
    calls: &CallSet,
    mentioned: &HashSet<&str>,
    target_owners: &HashSet<&str>,
) -> Vec<&'i Vec<EntryId>> {
    let mut called = Vec::new();
    for (prefix, name) in calls.paths() {
        let Some(by_owner) = index.methods.get(name) else {
            continue;
        };
        if prefix == "Self" {
            called.extend(target_owners.iter().filter_map(|o| by_owner.get(*o)));
        } else {
            called.extend(by_owner.get(prefix));
        }
    }
    for name in calls.method_names() {
        match index.methods.get(name) {
            Some(by_owner) if by_owner.len() == 1 => called.extend(by_owner.values()),
            Some(by_owner) => called.extend(mentioned.iter().filter_map(|o| by_owner.get(*o))),
            None => {}
        }
    }
    called
}

/// Names of the type definitions to show: those mentioned by the targets, plus, transitively,
/// types used in their fields, since a model cannot build a value without them. Traits are
/// not expanded; their outlines could pull in half the file.
fn close_over_types<'f>(
    index: &ContextIndex<'f>,
    mentioned: &mut HashSet<&'f str>,
) -> HashSet<&'f str> {
    let src = index.src();
    let mut selected = HashSet::new();
    let mut queue: Vec<&str> = mentioned.iter().copied().collect();
    while let Some(name) = queue.pop() {
        // Of cfg twins, the first definition says which types the name brings in.
        let Some(&first) = index.types.get(name).and_then(|ids| ids.first()) else {
            continue;
        };
        if !selected.insert(name) {
            continue;
        }
        for id in identifiers(index.entries[first].decl.node, src) {
            if mentioned.insert(id) {
                queue.push(id);
            }
        }
    }
    selected
}

/// For each container to render, the sorted positions of its items to render: `visible`
/// items, and every container that holds one (a module, impl or trait is shown when anything
/// in it is).
fn pieces<'a>(
    index: &ContextIndex<'_>,
    visible: impl Iterator<Item = &'a EntryId>,
) -> HashMap<Option<EntryId>, Vec<usize>> {
    let mut pieces: HashMap<Option<EntryId>, Vec<usize>> = HashMap::new();
    let mut seen = HashSet::new();
    for &id in visible {
        let mut at = Some(id);
        while let Some(id) = at.filter(|id| seen.insert(*id)) {
            let entry = &index.entries[id];
            pieces.entry(entry.parent).or_default().push(entry.position);
            at = entry.parent;
        }
    }
    for positions in pieces.values_mut() {
        positions.sort_unstable();
    }
    pieces
}

/// Identifier-shaped words of free text.
fn words(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Identifiers in an impl/trait header (everything before the body), e.g. the type and trait
/// of `impl<T: Display> Describe for Parser<T>`.
fn header_identifiers<'s>(node: Node<'_>, src: &'s str) -> Vec<&'s str> {
    let body_start = node
        .child_by_field_name("body")
        .map_or(node.end_byte(), |b| b.start_byte());
    leaves(node)
        .into_iter()
        .filter(|t| t.end_byte() <= body_start)
        .filter(|t| matches!(t.kind(), "identifier" | "type_identifier"))
        .filter_map(|t| src.get(t.byte_range()))
        .collect()
}

/// A piece of output and how it separates from its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Use,
    Item,
    Elision,
}

struct Renderer<'a> {
    index: &'a ContextIndex<'a>,
    src: &'a str,
    sel: &'a Selection,
}

impl Renderer<'_> {
    /// Renders the chosen items of a container body into `out`; returns how many items other
    /// than `use` lines were shown, so the caller can drop containers with nothing to show.
    /// Only the positions to render are visited: a gap between two of them is `// ...`.
    fn container(
        &self,
        container: Option<EntryId>,
        indent: &str,
        mode: BodyMode,
        out: &mut String,
    ) -> usize {
        let Some(body) = self.index.containers.get(&container) else {
            return 0;
        };
        let positions = self.positions(container, body, mode);
        let mut substantive = 0;
        let mut last: Option<Piece> = None;
        let mut next = 0;
        for position in positions {
            let Some(&id) = body.items.get(position) else {
                continue;
            };
            let decl = &self.index.entries[id].decl;
            let rendered = match decl.kind() {
                "use_declaration" | "extern_crate_declaration" => {
                    Some((Piece::Use, self.full(decl)))
                }
                _ => self.item(id, mode).map(|text| (Piece::Item, text)),
            };
            let Some((piece, text)) = rendered else {
                continue;
            };
            if position > next {
                push_piece(out, &mut last, Piece::Elision, &format!("{indent}// ...\n"));
            }
            next = position + 1;
            if piece == Piece::Item {
                substantive += 1;
            }
            push_piece(out, &mut last, piece, &text);
        }
        if body.items.len() > next {
            push_piece(out, &mut last, Piece::Elision, &format!("{indent}// ...\n"));
        }
        substantive
    }

    /// The positions of `body` to render, in order: every item of a trait outline; otherwise
    /// the `use` lines and the selected pieces.
    fn positions(
        &self,
        container: Option<EntryId>,
        body: &Container,
        mode: BodyMode,
    ) -> Vec<usize> {
        if mode == BodyMode::TraitOutline {
            return (0..body.items.len()).collect();
        }
        let chosen = self
            .sel
            .pieces
            .get(&container)
            .map_or(&[][..], Vec::as_slice);
        let mut positions: Vec<usize> = body.uses.iter().chain(chosen).copied().collect();
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    fn item(&self, id: EntryId, mode: BodyMode) -> Option<String> {
        let decl = &self.index.entries[id].decl;
        let body = decl.node.child_by_field_name("body");
        match (decl.kind(), body) {
            ("mod_item" | "impl_item" | "trait_item", Some(body)) => {
                let outline = self.sel.outlined_traits.contains(&id);
                let inner_mode = if outline {
                    BodyMode::TraitOutline
                } else {
                    BodyMode::Items
                };
                let indent = indentation_at(self.src, decl.node.start_byte());
                let mut inner = String::new();
                let shown = self.container(
                    Some(id),
                    &format!("{indent}{INDENT}"),
                    inner_mode,
                    &mut inner,
                );
                (shown > 0 || outline).then(|| {
                    let header =
                        self.slice(indented_start(self.src, decl.start)..body.start_byte() + 1);
                    format!("{header}\n{inner}{indent}}}\n")
                })
            }
            _ => {
                let show = match (mode, decl.kind()) {
                    (_, _) if self.sel.shown.get(&id) == Some(&Show::Full) => Some(Show::Full),
                    (BodyMode::TraitOutline, "function_item") => Some(Show::Signature),
                    (BodyMode::TraitOutline, _) => Some(Show::Full),
                    (BodyMode::Items, _) => self.sel.shown.get(&id).copied(),
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
