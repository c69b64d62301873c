//! Enumerating the functions of a file: the targets kiln can write tests, docs or fills for.

use std::ops::Range;

use tree_sitter::Node;

use super::calls::CallSet;
use super::decl::{decls, doc_text, leaves, normalized_tokens, type_base_name, Decl};
use super::parse::node_text;
use super::SourceFile;

/// Visibility as written on the item. Trait-impl methods carry no modifier and so are
/// `Private` here even though callers reach them through the trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// `pub`
    Public,
    /// `pub(crate)`, `pub(super)`, `pub(in path)`
    Restricted,
    /// no modifier
    Private,
}

/// How a function is called, which decides how a test must invoke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FnKind {
    /// Not inside an `impl` or `trait`.
    Free,
    /// Inside an `impl` or `trait`, takes `self`.
    Method,
    /// Inside an `impl` or `trait`, no `self` (constructors and the like).
    AssociatedFn,
}

/// A function with a body, as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnItem {
    pub name: String,
    /// The implemented type (or trait, for default methods), without generics.
    pub impl_type: Option<String>,
    /// Inline module path, impl type and name joined by `::`, e.g. `inner::Parser::parse`.
    pub qualified_name: String,
    /// From the visibility/`fn` keyword to just before the body, on one line, incl. where-clause.
    pub signature: String,
    pub doc: Option<String>,
    pub visibility: Visibility,
    /// The whole item including doc comments and attributes, in bytes.
    pub byte_range: Range<usize>,
    /// 1-based line of the item itself (after its docs and attributes).
    pub start_line: usize,
    pub kind: FnKind,
    /// A `#[test]` fn or anything inside `#[cfg(test)]`.
    pub is_test_code: bool,
    /// Some test code in this file appears to call it.
    pub has_tests: bool,
    pub is_unsafe: bool,
    pub is_async: bool,
    pub is_const: bool,
}

impl FnItem {
    /// Its `function_item` node in `root`, the tree it was listed from. Found from the end of
    /// its range: the range starts at its attributes and docs, which are the item's siblings.
    pub(crate) fn node<'t>(&self, root: Node<'t>) -> Option<Node<'t>> {
        let end = self.byte_range.end;
        let mut node = root.descendant_for_byte_range(end.checked_sub(1)?, end)?;
        while node.kind() != "function_item" {
            node = node.parent()?;
        }
        Some(node)
    }
}

/// All functions with bodies: free fns, methods in inherent and trait impls, trait default
/// methods, at any depth of inline modules. Fns nested in fn bodies and anything inside
/// `macro_rules!` are left out: they cannot be called from a test by path.
pub fn list_fns(file: &SourceFile) -> Vec<FnItem> {
    let mut collector = Collector {
        src: file.text(),
        fns: Vec::new(),
        test_calls: CallSet::default(),
    };
    collector.container(file.root(), &Scope::default());
    let Collector {
        mut fns,
        test_calls,
        ..
    } = collector;
    for f in &mut fns {
        f.has_tests = test_calls.exercises(f);
    }
    fns
}

/// Names of the modules declared at the top level of the file, inline or not (`mod x;`), so
/// callers can pick a test-module name that will not collide.
pub fn top_level_module_names(file: &SourceFile) -> Vec<String> {
    module_names(file.root(), file.text())
}

pub(crate) fn module_names(root: Node<'_>, src: &str) -> Vec<String> {
    decls(root)
        .iter()
        .filter(|d| d.kind() == "mod_item")
        .filter_map(|d| d.name(src))
        .map(str::to_owned)
        .collect()
}

/// Where a declaration sits: which affects its qualified name, kind and test status.
#[derive(Debug, Default, Clone)]
struct Scope {
    module_path: Vec<String>,
    /// The impl's type or the trait's name.
    owner: Option<String>,
    in_test: bool,
}

struct Collector<'s> {
    src: &'s str,
    fns: Vec<FnItem>,
    /// Calls made from test code anywhere in the file.
    test_calls: CallSet,
}

impl Collector<'_> {
    fn container(&mut self, container: Node<'_>, scope: &Scope) {
        for decl in decls(container) {
            let enters_test = !scope.in_test && decl.is_cfg_test(self.src);
            if enters_test || (!scope.in_test && decl.is_test_fn(self.src)) {
                self.test_calls.scan(decl.node, self.src);
            }
            let in_test = scope.in_test || enters_test;
            let body = decl.node.child_by_field_name("body");
            match (decl.kind(), body) {
                ("function_item", Some(body)) => {
                    let item = self.fn_item(&decl, body, scope, in_test);
                    self.fns.push(item);
                }
                ("mod_item", Some(body)) => {
                    let mut module_path = scope.module_path.clone();
                    module_path.extend(decl.name(self.src).map(str::to_owned));
                    let inner = Scope {
                        module_path,
                        owner: None,
                        in_test,
                    };
                    self.container(body, &inner);
                }
                ("impl_item" | "trait_item", Some(body)) => {
                    let owner = if decl.kind() == "impl_item" {
                        impl_owner(decl.node, self.src)
                    } else {
                        decl.name(self.src).map(str::to_owned)
                    };
                    let inner = Scope {
                        module_path: scope.module_path.clone(),
                        owner,
                        in_test,
                    };
                    self.container(body, &inner);
                }
                _ => {}
            }
        }
    }

    fn fn_item(&self, decl: &Decl<'_>, body: Node<'_>, scope: &Scope, in_test: bool) -> FnItem {
        let src = self.src;
        let node = decl.node;
        let name = decl.name(src).unwrap_or_default().to_owned();
        let qualified_name = scope
            .module_path
            .iter()
            .map(String::as_str)
            .chain(scope.owner.as_deref())
            .chain(std::iter::once(name.as_str()))
            .collect::<Vec<_>>()
            .join("::");
        let kind = match (&scope.owner, node.child_by_field_name("parameters")) {
            (None, _) => FnKind::Free,
            (Some(_), Some(params)) if takes_self(params, src) => FnKind::Method,
            (Some(_), _) => FnKind::AssociatedFn,
        };
        let modifiers = modifier_keywords(node);
        FnItem {
            name,
            impl_type: scope.owner.clone(),
            qualified_name,
            signature: signature(node, body, src),
            doc: doc_text(&decl.docs, src),
            visibility: visibility(node, src),
            byte_range: decl.range(),
            start_line: node.start_position().row + 1,
            kind,
            is_test_code: in_test || decl.is_test_fn(src),
            has_tests: false,
            is_unsafe: modifiers.contains(&"unsafe"),
            is_async: modifiers.contains(&"async"),
            is_const: modifiers.contains(&"const"),
        }
    }
}

/// `self`, `&self`, `&mut self`, `mut self` and `self: Box<Self>` style receivers.
fn takes_self(params: Node<'_>, src: &str) -> bool {
    params.named_child(0).is_some_and(|first| {
        first.kind() == "self_parameter"
            || first
                .child_by_field_name("pattern")
                .is_some_and(|p| node_text(p, src) == "self")
    })
}

fn modifier_keywords(node: Node<'_>) -> Vec<&'static str> {
    let mut cursor = node.walk();
    let Some(mods) = node
        .children(&mut cursor)
        .find(|c| c.kind() == "function_modifiers")
    else {
        return Vec::new();
    };
    let mut inner = mods.walk();
    mods.children(&mut inner).map(|c| c.kind()).collect()
}

fn visibility(node: Node<'_>, src: &str) -> Visibility {
    let mut cursor = node.walk();
    let modifier = node
        .children(&mut cursor)
        .find(|c| c.kind() == "visibility_modifier");
    match modifier.map(|m| node_text(m, src)) {
        None => Visibility::Private,
        Some("pub") => Visibility::Public,
        Some(_) => Visibility::Restricted,
    }
}

/// The fn header up to the body, as one whitespace-normalised line.
fn signature(node: Node<'_>, body: Node<'_>, src: &str) -> String {
    let tokens: Vec<Node<'_>> = leaves(node)
        .into_iter()
        .filter(|t| t.end_byte() <= body.start_byte())
        .collect();
    normalized_tokens(&tokens, src)
}

/// Whose methods an impl holds: its type, or, for a blanket impl (`impl<T: AsRef<[u8]>> ToHex
/// for T`), its trait: `T::encode_hex` would name no type a reader could look up.
fn impl_owner(impl_node: Node<'_>, src: &str) -> Option<String> {
    let self_type = type_base_name(impl_node.child_by_field_name("type")?, src);
    let is_parameter = impl_node
        .child_by_field_name("type_parameters")
        .is_some_and(|params| {
            leaves(params)
                .iter()
                .any(|leaf| leaf.kind() == "type_identifier" && node_text(*leaf, src) == self_type)
        });
    match impl_node.child_by_field_name("trait") {
        Some(trait_node) if is_parameter => Some(type_base_name(trait_node, src)),
        _ => Some(self_type),
    }
}

#[cfg(test)]
mod tests;
