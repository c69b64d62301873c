//! Token-level detection of which functions a piece of code calls.
//!
//! This works on tokens rather than on `call_expression` nodes because most calls in tests
//! sit inside `assert!`/`assert_eq!`, whose arguments tree-sitter leaves as unparsed token
//! trees. A path call names its owner (`A::new` is never `B::new`), but a method call does not:
//! `.len()` on a receiver whose type a token scan cannot know is credited to every type's `len`.
//! Knowing the receiver's type would take type inference; over-crediting a method only hides
//! it from "untested", which `--fn` overrides.

use std::collections::HashSet;

use tree_sitter::Node;

use super::decl::leaves;
use super::items::{FnItem, FnKind};
use super::parse::node_text;

/// The names called (or referenced by path) somewhere in a set of nodes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CallSet {
    /// `name(..)` with no qualifier.
    bare: HashSet<String>,
    /// `.name(..)`.
    method: HashSet<String>,
    /// `Prefix::name`, called or not (e.g. `.map(Parser::parse)`), as `(Prefix, name)`.
    path: HashSet<(String, String)>,
}

impl CallSet {
    /// Records the calls made anywhere under `node`.
    pub fn scan(&mut self, node: Node<'_>, src: &str) {
        let toks: Vec<&str> = leaves(node)
            .into_iter()
            .map(|n| {
                if matches!(n.kind(), "identifier" | "field_identifier") {
                    node_text(n, src)
                } else {
                    // Keep punctuation, but make sure other tokens never look like names.
                    match node_text(n, src) {
                        t @ ("(" | "." | "::" | "<" | "fn") => t,
                        _ => "",
                    }
                }
            })
            .collect();
        for (i, tok) in toks.iter().enumerate() {
            if !is_name(tok) {
                continue;
            }
            let prev = i.checked_sub(1).and_then(|j| toks.get(j)).copied();
            let next = toks.get(i + 1).copied();
            let called =
                next == Some("(") || (next == Some("::") && toks.get(i + 2).copied() == Some("<"));
            match prev {
                // A definition, not a call.
                Some("fn") => {}
                Some(".") if called => {
                    self.method.insert((*tok).to_owned());
                }
                Some("::") if next != Some("::") || called => {
                    let prefix = i
                        .checked_sub(2)
                        .and_then(|j| toks.get(j))
                        .copied()
                        .unwrap_or("");
                    self.path.insert((prefix.to_owned(), (*tok).to_owned()));
                }
                Some("." | "::") => {}
                _ if called => {
                    self.bare.insert((*tok).to_owned());
                }
                _ => {}
            }
        }
    }

    /// Whether a free function `name` is called, directly or through a module path.
    pub fn calls_free(&self, name: &str) -> bool {
        self.bare.contains(name) || self.path.iter().any(|(_, n)| n == name)
    }

    /// Whether these calls exercise `f`: a free fn by name, an associated fn (no `self`) only
    /// by a path naming its owner, a method by a path or by `.name(..)` on any receiver.
    pub fn exercises(&self, f: &FnItem) -> bool {
        match (&f.kind, &f.impl_type) {
            (FnKind::Free, _) | (_, None) => self.calls_free(&f.name),
            (FnKind::AssociatedFn, Some(owner)) => self.calls_by_path(owner, &f.name),
            (FnKind::Method, Some(owner)) => self.calls_member(owner, &f.name),
        }
    }

    /// Whether a method or associated fn `name` of `owner` is called: as `.name(..)`, or as
    /// `Owner::name` / `Self::name`.
    pub fn calls_member(&self, owner: &str, name: &str) -> bool {
        self.calls_method(name) || self.calls_by_path(owner, name)
    }

    /// `.name(..)` on some receiver, whatever its type.
    pub fn calls_method(&self, name: &str) -> bool {
        self.method.contains(name)
    }

    /// Every name a free function could be called by: bare, or the last segment of a path.
    pub fn free_names(&self) -> impl Iterator<Item = &str> {
        let bare = self.bare.iter().map(String::as_str);
        bare.chain(self.path.iter().map(|(_, name)| name.as_str()))
    }

    /// Every `.name(..)` called.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.method.iter().map(String::as_str)
    }

    /// Every `Prefix::name`, as `(Prefix, name)`.
    pub fn paths(&self) -> impl Iterator<Item = (&str, &str)> {
        self.path.iter().map(|(p, n)| (p.as_str(), n.as_str()))
    }

    /// `Owner::name` or `Self::name`: the owner is certain.
    pub fn calls_by_path(&self, owner: &str, name: &str) -> bool {
        self.path
            .iter()
            .any(|(p, n)| n == name && (p == owner || p == "Self"))
    }
}

fn is_name(tok: &str) -> bool {
    tok.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::code::SourceFile;

    fn scan(src: &str) -> CallSet {
        let file = SourceFile::parse(src).unwrap();
        let mut set = CallSet::default();
        set.scan(file.root(), src);
        set
    }

    #[test]
    fn finds_calls_inside_macros() {
        let set = scan("fn t() { assert_eq!(add(1, 2), p.len()); }");
        assert!(set.calls_free("add"));
        assert!(set.calls_member("Vec", "len"));
        assert!(!set.calls_free("len"));
        assert!(!set.calls_free("assert_eq"));
        assert!(!set.calls_free("p"));
    }

    #[test]
    fn path_calls_match_owner_or_self() {
        let set = scan("fn t() { let p = Parser::new::<u8>(); super::util::helper(); x.iter().map(Other::conv); }");
        assert!(set.calls_member("Parser", "new"));
        assert!(!set.calls_member("Lexer", "new"));
        assert!(set.calls_free("helper"));
        assert!(!set.calls_free("util"));
        assert!(set.calls_member("Other", "conv"));
        assert!(!set.calls_free("t"));
    }

    #[test]
    fn strings_and_comments_are_not_calls() {
        let set = scan("fn t() { let s = \"add(1)\"; // sub(2)\n }");
        assert!(!set.calls_free("add"));
        assert!(!set.calls_free("sub"));
    }
}
