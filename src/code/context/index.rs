//! The per-file index that context extraction looks things up in: every declaration once, the
//! containers (modules, impls, traits) that hold them, and maps from a name to the declarations
//! it could mean. Built in one walk, so a file split into many batches is walked once and not
//! once per batch (issue 17: 10,000 functions took 49 s when every batch walked the file).

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::Node;

use super::super::decl::{decls, identifiers, type_base_name, Decl};
use super::super::SourceFile;

/// An index into [`ContextIndex::entries`].
pub(super) type EntryId = usize;

/// A declaration with the context the selection rules need.
pub(super) struct Entry<'t> {
    pub decl: Decl<'t>,
    /// Type (for impls) or trait name of the enclosing impl/trait.
    pub owner: Option<String>,
    /// The enclosing `impl` item, if any.
    pub enclosing_impl: Option<Node<'t>>,
    pub in_test: bool,
    /// The module, impl or trait whose body holds it; `None`: the top level of the file.
    pub parent: Option<EntryId>,
    /// Its place among the items of that body.
    pub position: usize,
}

/// The items of one container body, in file order.
#[derive(Default)]
pub(super) struct Container {
    pub items: Vec<EntryId>,
    /// Positions of its `use` and `extern crate` lines, which every context shows.
    pub uses: Vec<usize>,
}

/// Everything context extraction needs to know about one file, found in one walk.
pub struct ContextIndex<'f> {
    pub(super) file: &'f SourceFile,
    line_count: usize,
    pub(super) entries: Vec<Entry<'f>>,
    /// Keyed by the container's entry; `None` is the file's top level.
    pub(super) containers: HashMap<Option<EntryId>, Container>,
    by_range: HashMap<Range<usize>, EntryId>,
    /// The lookups below hold only declarations outside test code.
    /// Top-level (not associated) structs, enums, unions and type aliases by name, in file order.
    pub(super) types: HashMap<&'f str, Vec<EntryId>>,
    pub(super) traits: HashMap<&'f str, Vec<EntryId>>,
    /// Consts, statics and macros by name.
    pub(super) values: HashMap<&'f str, Vec<EntryId>>,
    pub(super) free_fns: HashMap<&'f str, Vec<EntryId>>,
    /// Methods and associated fns by name, then by owner.
    pub(super) methods: HashMap<&'f str, HashMap<String, Vec<EntryId>>>,
    /// Associated fns that build a value of their owner, by owner (see [`is_constructor`]).
    pub(super) constructors: HashMap<String, Vec<EntryId>>,
}

#[derive(Debug, Default, Clone)]
struct Walk<'t> {
    owner: Option<String>,
    enclosing_impl: Option<Node<'t>>,
    in_test: bool,
}

impl<'f> ContextIndex<'f> {
    pub fn new(file: &'f SourceFile) -> ContextIndex<'f> {
        let mut index = ContextIndex {
            file,
            line_count: file.text().lines().count(),
            entries: Vec::new(),
            containers: HashMap::new(),
            by_range: HashMap::new(),
            types: HashMap::new(),
            traits: HashMap::new(),
            values: HashMap::new(),
            free_fns: HashMap::new(),
            methods: HashMap::new(),
            constructors: HashMap::new(),
        };
        index.walk(file.root(), &Walk::default(), None);
        for id in 0..index.entries.len() {
            index.add_lookups(id);
        }
        index
    }

    pub(super) fn src(&self) -> &'f str {
        self.file.text()
    }

    /// Whether a file this long is sent whole: a short file is its own best context.
    pub(super) fn is_whole_file(&self, whole_file_max_lines: usize) -> bool {
        self.line_count <= whole_file_max_lines
    }

    /// The entry of the item that spans exactly `range` (a target's `byte_range`).
    pub(super) fn at_range(&self, range: &Range<usize>) -> Option<EntryId> {
        self.by_range.get(range).copied()
    }

    /// Every declaration in the container `body`, depth first, each before what it contains.
    fn walk(&mut self, body: Node<'f>, ctx: &Walk<'f>, parent: Option<EntryId>) {
        let src = self.src();
        let mut container = Container::default();
        for (position, decl) in decls(body).into_iter().enumerate() {
            let in_test = ctx.in_test || decl.is_cfg_test(src) || decl.is_test_fn(src);
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
            let inner_body = decl.node.child_by_field_name("body");
            if matches!(decl.kind(), "use_declaration" | "extern_crate_declaration") {
                container.uses.push(position);
            }
            let id = self.entries.len();
            container.items.push(id);
            self.by_range.insert(decl.range(), id);
            self.entries.push(Entry {
                decl,
                owner: ctx.owner.clone(),
                enclosing_impl: ctx.enclosing_impl,
                in_test,
                parent,
                position,
            });
            if let (Some(inner), Some(inner_body)) = (inner, inner_body) {
                self.walk(inner_body, &inner, Some(id));
            }
        }
        self.containers.insert(parent, container);
    }

    fn add_lookups(&mut self, id: EntryId) {
        let src = self.src();
        let entry = &self.entries[id];
        let Some(name) = entry.decl.name(src).filter(|_| !entry.in_test) else {
            return;
        };
        match (entry.decl.kind(), &entry.owner) {
            ("struct_item" | "enum_item" | "union_item" | "type_item", None) => {
                self.types.entry(name).or_default().push(id);
            }
            ("trait_item", _) => self.traits.entry(name).or_default().push(id),
            ("const_item" | "static_item" | "macro_definition", _) => {
                self.values.entry(name).or_default().push(id);
            }
            ("function_item", None) => self.free_fns.entry(name).or_default().push(id),
            ("function_item", Some(owner)) => {
                let owner = owner.clone();
                if is_constructor(entry, src) {
                    self.constructors.entry(owner.clone()).or_default().push(id);
                }
                let by_owner = self.methods.entry(name).or_default();
                by_owner.entry(owner).or_default().push(id);
            }
            _ => {}
        }
    }
}

/// An associated fn without `self` in an inherent impl that returns `Self` or its type: how a
/// test gets hold of a value.
fn is_constructor(e: &Entry<'_>, src: &str) -> bool {
    let (Some(owner), Some(imp)) = (&e.owner, e.enclosing_impl) else {
        return false;
    };
    if imp.child_by_field_name("trait").is_some() {
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
