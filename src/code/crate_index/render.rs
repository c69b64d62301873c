//! How definitions and impls from elsewhere are written into a prompt: the type in full (its
//! derives say whether `PartialEq` and `Debug` exist), a trait as its signatures, constructors as
//! signatures, trait impls as one line.

use tree_sitter::Node;

use super::{Definition, ImplFacts};
use crate::code::decl::{leaves, type_base_name, Decl};
use crate::code::parse::node_text;

/// The definition of a struct, enum, union, trait or type alias; `None` without a name.
pub(super) fn definition(decl: &Decl<'_>, src: &str) -> Option<Definition> {
    let name = decl.name(src)?.to_string();
    let mut text = String::new();
    for attr in &decl.attrs {
        text.push_str(node_text(*attr, src));
        text.push('\n');
    }
    match decl.kind() {
        "trait_item" => text.push_str(&trait_outline(decl.node, src)),
        _ => text.push_str(&without_docs(node_text(decl.node, src))),
    }
    let mut mentions = Vec::new();
    if let Some(body) = decl.node.child_by_field_name("body") {
        for leaf in leaves(body) {
            let mentioned = node_text(leaf, src);
            if leaf.kind() == "type_identifier"
                && mentioned != name
                && !mentions.iter().any(|m| m == mentioned)
            {
                mentions.push(mentioned.to_string());
            }
        }
    }
    Some(Definition {
        name,
        module: Vec::new(),
        file: Default::default(),
        shown_file: String::new(),
        text,
        mentions,
    })
}

/// A trait impl's header, or an inherent impl's constructors (associated fns without a `self`
/// that return `Self` or the type); `None` for an inherent impl without any.
pub(super) fn impl_facts(node: Node<'_>, src: &str, public_only: bool) -> Option<ImplFacts> {
    let type_node = node.child_by_field_name("type")?;
    let type_name = type_base_name(type_node, src);
    if let Some(trait_node) = node.child_by_field_name("trait") {
        return Some(ImplFacts {
            header: format!(
                "impl {} for {}",
                node_text(trait_node, src),
                node_text(type_node, src)
            ),
            type_name,
            shown_file: String::new(),
            constructors: Vec::new(),
        });
    }
    let body = node.child_by_field_name("body")?;
    let mut constructors = Vec::new();
    let mut cursor = body.walk();
    for item in body.named_children(&mut cursor) {
        if item.kind() != "function_item" || (public_only && !super::is_pub(item)) {
            continue;
        }
        let takes_self = item
            .child_by_field_name("parameters")
            .is_some_and(|params| {
                let mut cursor = params.walk();
                let found = params
                    .named_children(&mut cursor)
                    .any(|p| p.kind() == "self_parameter");
                found
            });
        let returns = item
            .child_by_field_name("return_type")
            .map(|r| node_text(r, src))
            .unwrap_or("");
        if !takes_self && (returns.contains("Self") || returns.contains(type_name.as_str())) {
            constructors.push(signature(item, src));
        }
    }
    (!constructors.is_empty()).then(|| ImplFacts {
        header: format!("impl {}", node_text(type_node, src)),
        type_name,
        shown_file: String::new(),
        constructors,
    })
}

/// The chosen definitions, each under the file it comes from, followed by what impls say of it,
/// within `budget` more characters for the impls.
pub(super) fn definitions(chosen: &[(Definition, Vec<ImplFacts>)], mut budget: usize) -> String {
    let mut out = String::new();
    for (definition, impls) in chosen {
        out.push_str(&format!(
            "// from {}\n{}\n",
            definition.shown_file, definition.text
        ));
        let traits: Vec<&str> = impls
            .iter()
            .filter(|facts| facts.constructors.is_empty())
            .map(|facts| facts.header.as_str())
            .collect();
        let mut extra = String::new();
        if !traits.is_empty() {
            extra.push_str(&format!("// also: {}\n", traits.join("; ")));
        }
        for facts in impls.iter().filter(|facts| !facts.constructors.is_empty()) {
            extra.push_str(&format!(
                "// from {}\n{} {{\n",
                facts.shown_file, facts.header
            ));
            for constructor in &facts.constructors {
                extra.push_str(&format!("    {constructor};\n"));
            }
            extra.push_str("}\n");
        }
        if extra.len() <= budget {
            budget -= extra.len();
            out.push_str(&extra);
        }
    }
    out
}

/// A trait's header and its members' signatures, bodies left out.
fn trait_outline(node: Node<'_>, src: &str) -> String {
    let Some(body) = node.child_by_field_name("body") else {
        return without_docs(node_text(node, src));
    };
    let header = src
        .get(node.start_byte()..body.start_byte())
        .unwrap_or("")
        .trim_end();
    let mut out = format!("{header} {{\n");
    let mut cursor = body.walk();
    for member in body.named_children(&mut cursor) {
        match member.kind() {
            "function_item" => out.push_str(&format!("    {};\n", signature(member, src))),
            "function_signature_item" | "associated_type" | "const_item" => {
                out.push_str(&format!("    {}\n", node_text(member, src).trim()));
            }
            _ => {}
        }
    }
    out.push('}');
    out
}

/// An fn item up to its body, on one line.
fn signature(item: Node<'_>, src: &str) -> String {
    let end = item
        .child_by_field_name("body")
        .map_or(item.end_byte(), |body| body.start_byte());
    let text = src.get(item.start_byte()..end).unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` without its `///` and `//!` lines: the prompt shows shapes, the docs cost tokens.
fn without_docs(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let trimmed = line.trim_start();
            !(trimmed.starts_with("///") || trimmed.starts_with("//!"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
