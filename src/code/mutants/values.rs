//! Return-value replacements: the values a function's body is replaced by, chosen from its
//! written return type, as cargo-mutants does. They show whether a test tells return values
//! apart, which is the first thing a unit test must do.
//!
//! Only values that certainly type-check are made: `Default::default()` only for types known
//! to implement it (std types, and types of this file that derive or implement `Default`),
//! no `Err` unless the error type has a value, and nothing for `impl Trait` (every mutant lives
//! in the one function behind the dispatcher, and an `impl Trait` function has one concrete
//! return type, so another iterator or closure can never build).

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::super::parse::node_text;

/// Wrappers (`Some`, `Ok`, `vec![..]`) take this many of their inner type's values: the
/// first are the most distinct (`0`, `1`), and the per-function cap leaves no room for more.
const INNER_VALUES_MAX: usize = 2;

/// Std types with a `Default` that kiln has no better values for.
const STD_DEFAULTS: &[&str] = &["PathBuf", "OsString", "Duration", "Cow"];

/// Names of the types of a file that implement `Default` (derived or by hand).
#[derive(Debug, Default)]
pub(super) struct KnownDefaults(BTreeSet<String>);

impl KnownDefaults {
    pub(super) fn of(root: Node<'_>, text: &str) -> KnownDefaults {
        let mut names = BTreeSet::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            match node.kind() {
                "struct_item" | "enum_item" | "union_item" if derives_default(node, text) => {
                    if let Some(name) = node.child_by_field_name("name") {
                        names.insert(node_text(name, text).to_string());
                    }
                }
                "impl_item" => {
                    let is_default = node
                        .child_by_field_name("trait")
                        .is_some_and(|t| last_segment(node_text(t, text)) == "Default");
                    if let (true, Some(ty)) = (is_default, node.child_by_field_name("type")) {
                        names.insert(base_name(ty, text).to_string());
                    }
                }
                _ => {}
            }
        }
        KnownDefaults(names)
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains(name) || STD_DEFAULTS.contains(&name)
    }
}

/// `#[derive(.., Default, ..)]` among the attributes right above `item`.
fn derives_default(item: Node<'_>, text: &str) -> bool {
    let mut sibling = item.prev_named_sibling();
    while let Some(node) = sibling {
        match node.kind() {
            "attribute_item" => {
                let attr = node_text(node, text);
                let derives = attr.contains("derive")
                    && attr
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|word| word == "Default");
                if derives {
                    return true;
                }
            }
            "line_comment" | "block_comment" => {}
            _ => return false,
        }
        sibling = node.prev_named_sibling();
    }
    false
}

/// What the replaced body may be, for the return type `ty`, most telling first. `self_type`:
/// the type an `impl` is for, so `Self` can be looked up.
pub(super) fn values(
    ty: Node<'_>,
    text: &str,
    defaults: &KnownDefaults,
    self_type: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let values = Values {
        text,
        defaults,
        self_type,
    };
    for value in values.of(ty) {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

struct Values<'a> {
    text: &'a str,
    defaults: &'a KnownDefaults,
    self_type: Option<&'a str>,
}

impl Values<'_> {
    fn of(&self, ty: Node<'_>) -> Vec<String> {
        match ty.kind() {
            "primitive_type" => primitive(node_text(ty, self.text)),
            "unit_type" => vec!["()".to_string()],
            "type_identifier" | "scoped_type_identifier" => self.named(ty),
            "generic_type" => self.generic(ty),
            "reference_type" => self.reference(ty),
            "tuple_type" => self.tuple(ty),
            "array_type" => self.array(ty),
            _ => Vec::new(),
        }
    }

    /// A plain type name: `String`, `Self`, or a type with a known `Default`.
    fn named(&self, ty: Node<'_>) -> Vec<String> {
        let name = base_name(ty, self.text);
        match name {
            "String" => vec!["String::new()".to_string(), "\"xyzzy\".into()".to_string()],
            "Self" if self.self_type.is_some_and(|t| self.defaults.contains(t)) => {
                vec!["Default::default()".to_string()]
            }
            _ if self.defaults.contains(name) => vec!["Default::default()".to_string()],
            _ => Vec::new(),
        }
    }

    fn generic(&self, ty: Node<'_>) -> Vec<String> {
        let Some(head) = ty.child_by_field_name("type") else {
            return Vec::new();
        };
        let path = node_text(head, self.text);
        let args = type_arguments(ty);
        let inner = |i: usize| -> Vec<String> {
            args.get(i).map_or_else(Vec::new, |a| {
                self.of(*a).into_iter().take(INNER_VALUES_MAX).collect()
            })
        };
        let wrap = |i: usize, f: &dyn Fn(&str) -> String| -> Vec<String> {
            inner(i).iter().map(|v| f(v)).collect()
        };
        match base_name(head, self.text) {
            "Option" => std::iter::once("None".to_string())
                .chain(wrap(0, &|v| format!("Some({v})")))
                .collect(),
            "Result" => {
                let mut out = wrap(0, &|v| format!("Ok({v})"));
                // `Result<T>` aliases fix the error type; only a written one can be built.
                out.extend(wrap(1, &|v| format!("Err({v})")).into_iter().take(1));
                out
            }
            "Vec" => std::iter::once("vec![]".to_string())
                .chain(wrap(0, &|v| format!("vec![{v}]")))
                .collect(),
            "HashMap" | "BTreeMap" => {
                let keys = inner(0);
                let values = inner(1);
                let mut out = vec![format!("{path}::new()")];
                if let (Some(k), Some(v)) = (keys.first(), values.first()) {
                    out.push(format!("[({k}, {v})].into_iter().collect()"));
                }
                out
            }
            "HashSet" | "BTreeSet" | "VecDeque" | "BinaryHeap" | "LinkedList" => {
                std::iter::once(format!("{path}::new()"))
                    .chain(wrap(0, &|v| format!("[{v}].into_iter().collect()")))
                    .collect()
            }
            "Box" | "Rc" | "Arc" => wrap(0, &|v| format!("{path}::new({v})")),
            name if self.defaults.contains(name) => vec!["Default::default()".to_string()],
            _ => Vec::new(),
        }
    }

    /// `&str`, and references to values that Rust promotes to `'static` (`&0`, `&[]`, `&[1]`);
    /// a reference to a new `String` or `Vec` would point at a temporary and not build.
    fn reference(&self, ty: Node<'_>) -> Vec<String> {
        let mut cursor = ty.walk();
        let mutable = ty
            .children(&mut cursor)
            .any(|c| c.kind() == "mutable_specifier");
        let Some(inner) = ty.child_by_field_name("type") else {
            return Vec::new();
        };
        if mutable {
            return Vec::new();
        }
        let literals = |node: Node<'_>| match node.kind() {
            "primitive_type" if node_text(node, self.text) != "str" => {
                primitive(node_text(node, self.text))
            }
            _ => Vec::new(),
        };
        match inner.kind() {
            "primitive_type" if node_text(inner, self.text) == "str" => {
                vec!["\"\"".to_string(), "\"xyzzy\"".to_string()]
            }
            "primitive_type" => literals(inner).iter().map(|v| format!("&{v}")).collect(),
            "array_type" if inner.child_by_field_name("length").is_none() => {
                let element = inner.child_by_field_name("element");
                std::iter::once("&[]".to_string())
                    .chain(
                        element
                            .map(literals)
                            .unwrap_or_default()
                            .into_iter()
                            .take(INNER_VALUES_MAX)
                            .map(|v| format!("&[{v}]")),
                    )
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Every element's first values, combined: `(0, false)`, `(1, true)`, ... pairwise, so a
    /// wide tuple does not multiply the count.
    fn tuple(&self, ty: Node<'_>) -> Vec<String> {
        let mut cursor = ty.walk();
        let elements: Vec<Vec<String>> =
            ty.named_children(&mut cursor).map(|e| self.of(e)).collect();
        if elements.iter().any(Vec::is_empty) {
            return Vec::new();
        }
        let widest = elements.iter().map(Vec::len).max().unwrap_or(0);
        (0..widest.min(INNER_VALUES_MAX))
            .map(|i| {
                let parts: Vec<&str> = elements
                    .iter()
                    .map(|values| values[i.min(values.len() - 1)].as_str())
                    .collect();
                format!("({})", parts.join(", "))
            })
            .collect()
    }

    fn array(&self, ty: Node<'_>) -> Vec<String> {
        let (Some(element), Some(length)) = (
            ty.child_by_field_name("element"),
            ty.child_by_field_name("length"),
        ) else {
            return Vec::new();
        };
        let length = node_text(length, self.text);
        self.of(element)
            .into_iter()
            .take(INNER_VALUES_MAX)
            .map(|v| format!("[{v}; {length}]"))
            .collect()
    }
}

fn primitive(name: &str) -> Vec<String> {
    let values: &[&str] = match name {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => &["0", "1", "-1"],
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => &["0", "1"],
        "f32" | "f64" => &["0.0", "1.0", "-1.0"],
        "bool" => &["true", "false"],
        "char" => &["'\\0'", "'x'"],
        _ => &[],
    };
    values.iter().map(|v| v.to_string()).collect()
}

/// The type arguments of a generic type (lifetimes and bindings left out).
fn type_arguments(ty: Node<'_>) -> Vec<Node<'_>> {
    let Some(args) = ty.child_by_field_name("type_arguments") else {
        return Vec::new();
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| !matches!(a.kind(), "lifetime" | "type_binding" | "trait_bounds"))
        .collect()
}

/// `Map` of `std::collections::Map<K, V>`, `Parser` of `Parser<T>`.
fn base_name<'s>(ty: Node<'_>, text: &'s str) -> &'s str {
    let ty = ty.child_by_field_name("type").unwrap_or(ty);
    let ty = ty.child_by_field_name("name").unwrap_or(ty);
    last_segment(node_text(ty, text))
}

fn last_segment(path: &str) -> &str {
    let path = path.split('<').next().unwrap_or(path);
    path.rsplit("::").next().unwrap_or(path).trim()
}
