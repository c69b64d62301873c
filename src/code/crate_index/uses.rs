//! A file's `use` lines, flattened into what each brings into scope.

use tree_sitter::Node;

use crate::code::parse::node_text;

/// One name (or glob) a `use` line brings into scope, with its path made absolute where the
/// file says how: `crate::…`, `self::…` and `super::…` become `crate::` paths; a path that starts
/// with any other name (a dependency, or a module in scope) is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Import {
    Named {
        /// The modules before the name.
        path: Vec<String>,
        /// The name as defined.
        original: String,
        /// The name in this file (`as` renames it).
        local: String,
    },
    Glob {
        path: Vec<String>,
    },
}

impl Import {
    pub(super) fn local_name(&self) -> Option<&str> {
        match self {
            Import::Named { local, .. } => Some(local),
            Import::Glob { .. } => None,
        }
    }
}

/// Every import of the file's top level, and of inline modules on the way (a test module's are
/// left out: targets do not see them).
pub(super) fn imports_of(root: Node<'_>, src: &str, module: &[String]) -> Vec<Import> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for item in root.children(&mut cursor) {
        if item.kind() == "use_declaration" {
            if let Some(argument) = item.child_by_field_name("argument") {
                flatten(argument, src, &[], &mut out);
            }
        }
    }
    for import in &mut out {
        match import {
            Import::Named { path, .. } | Import::Glob { path } => *path = absolute(path, module),
        }
    }
    out
}

fn flatten(node: Node<'_>, src: &str, prefix: &[String], out: &mut Vec<Import>) {
    match node.kind() {
        "scoped_identifier" | "identifier" => {
            let mut path = prefix.to_vec();
            path.extend(segments(node, src));
            if let Some(name) = path.pop() {
                if name != "self" {
                    out.push(Import::Named {
                        path,
                        local: name.clone(),
                        original: name,
                    });
                }
            }
        }
        "use_as_clause" => {
            let (Some(target), Some(alias)) = (
                node.child_by_field_name("path"),
                node.child_by_field_name("alias"),
            ) else {
                return;
            };
            let mut path = prefix.to_vec();
            path.extend(segments(target, src));
            if let Some(original) = path.pop() {
                out.push(Import::Named {
                    path,
                    original,
                    local: node_text(alias, src).to_string(),
                });
            }
        }
        "scoped_use_list" => {
            let mut path = prefix.to_vec();
            if let Some(head) = node.child_by_field_name("path") {
                path.extend(segments(head, src));
            }
            if let Some(list) = node.child_by_field_name("list") {
                flatten(list, src, &path, out);
            }
        }
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                flatten(child, src, prefix, out);
            }
        }
        "use_wildcard" => {
            let mut path = prefix.to_vec();
            if let Some(head) = node.named_child(0) {
                path.extend(segments(head, src));
            }
            out.push(Import::Glob { path });
        }
        _ => {}
    }
}

/// `a::b::c` as `["a", "b", "c"]`.
fn segments(node: Node<'_>, src: &str) -> Vec<String> {
    match node.kind() {
        "scoped_identifier" => {
            let mut out = node
                .child_by_field_name("path")
                .map(|path| segments(path, src))
                .unwrap_or_default();
            if let Some(name) = node.child_by_field_name("name") {
                out.push(node_text(name, src).to_string());
            }
            out
        }
        _ => vec![node_text(node, src).to_string()],
    }
}

/// `path` as a `crate::` path when it starts with `crate`, `self` or `super`.
fn absolute(path: &[String], module: &[String]) -> Vec<String> {
    let Some(head) = path.first() else {
        return Vec::new();
    };
    match head.as_str() {
        "crate" => path.to_vec(),
        "self" => std::iter::once("crate".to_string())
            .chain(module.iter().cloned())
            .chain(path[1..].iter().cloned())
            .collect(),
        "super" => {
            let climbs = path.iter().take_while(|s| *s == "super").count();
            let kept = module.len().saturating_sub(climbs);
            std::iter::once("crate".to_string())
                .chain(module[..kept].iter().cloned())
                .chain(path[climbs..].iter().cloned())
                .collect()
        }
        _ => path.to_vec(),
    }
}
