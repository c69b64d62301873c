//! A file's public surface: the signatures a refactor must leave alone unless asked.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::decl::{decls, leaves, normalized_tokens};
use super::items::{list_fns, Visibility};
use super::pairs::is_pub;
use super::SourceFile;

/// Public items by path (`parse`, `Parser::new`, `inner::Config`) with their signature: a
/// fn's header, a trait's header, or a type's or constant's whole definition (its fields and
/// variants are part of the API too). Test code is left out.
pub fn public_api(file: &SourceFile) -> BTreeMap<String, String> {
    let mut api: BTreeMap<String, String> = list_fns(file)
        .into_iter()
        .filter(|f| !f.is_test_code && f.visibility == Visibility::Public)
        .map(|f| (f.qualified_name, f.signature))
        .collect();
    collect_items(file.root(), file.text(), "", &mut api);
    api
}

/// How the public surface changed, one line per item, for the model to read.
pub fn api_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, signature) in old {
        match new.get(path) {
            None => changes.push(format!(
                "`{path}` (`{signature}`) was removed or made private"
            )),
            Some(now) if now != signature => {
                changes.push(format!("`{path}` changed from `{signature}` to `{now}`"))
            }
            Some(_) => {}
        }
    }
    for (path, signature) in new {
        if !old.contains_key(path) {
            changes.push(format!(
                "`{path}` (`{signature}`) is new and public; keep new helpers private"
            ));
        }
    }
    changes
}

fn collect_items(container: Node<'_>, src: &str, prefix: &str, api: &mut BTreeMap<String, String>) {
    for decl in decls(container) {
        if decl.is_cfg_test(src) || !is_pub(decl.node, src) {
            continue;
        }
        let Some(name) = decl.name(src) else {
            continue;
        };
        let path = format!("{prefix}{name}");
        let tokens = leaves(decl.node);
        match decl.kind() {
            "mod_item" => {
                if let Some(body) = decl.node.child_by_field_name("body") {
                    collect_items(body, src, &format!("{path}::"), api);
                }
            }
            "trait_item" => {
                let body_start = decl
                    .node
                    .child_by_field_name("body")
                    .map_or(decl.node.end_byte(), |b| b.start_byte());
                let header: Vec<Node<'_>> = tokens
                    .into_iter()
                    .filter(|t| t.end_byte() <= body_start)
                    .collect();
                api.insert(path, normalized_tokens(&header, src));
            }
            "struct_item" | "enum_item" | "union_item" | "type_item" | "const_item"
            | "static_item" => {
                api.insert(path, normalized_tokens(&tokens, src));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn api(src: &str) -> BTreeMap<String, String> {
        public_api(&SourceFile::parse(src).unwrap())
    }

    #[test]
    fn lists_public_fns_types_and_traits_but_not_private_or_test_items() {
        let found = api("pub struct P { pub x: u8 }\nstruct Hidden;\nimpl P {\n    pub fn new() -> P { P { x: 0 } }\n    fn private(&self) {}\n}\npub trait T { fn t(&self); }\npub mod m { pub const C: u8 = 1; }\nfn helper() {}\n#[cfg(test)]\nmod tests { pub fn t() {} }\n");
        let keys: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["P", "P::new", "T", "m::C"]);
        assert_eq!(found["P::new"], "pub fn new() -> P");
        assert_eq!(found["T"], "pub trait T");
    }

    #[test]
    fn changes_name_removed_changed_and_new_public_items() {
        let old = api("pub fn a(x: u8) -> u8 { x }\npub fn b() {}\n");
        let new = api("pub fn a(x: u16) -> u8 { 1 }\npub fn c() {}\n");
        assert_eq!(
            api_changes(&old, &new),
            vec![
                "`a` changed from `pub fn a(x: u8) -> u8` to `pub fn a(x: u16) -> u8`".to_owned(),
                "`b` (`pub fn b()`) was removed or made private".to_owned(),
                "`c` (`pub fn c()`) is new and public; keep new helpers private".to_owned(),
            ]
        );
        let body_only = api("pub fn a(x: u8) -> u8 {\n    x + 0\n}\npub fn b() {}\n");
        assert!(api_changes(&old, &body_only).is_empty());
    }
}
