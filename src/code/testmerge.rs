//! One test module from several. The parts of a batched gen-tests run each write a module for
//! the same file; they are validated, and proposed, as one.

use super::decl::{decls, leaves, normalized_tokens};
use super::parse::{indented_start, parse_tree};
use super::testfns::{module_body, with_tests};
use super::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Text(String),
    /// `from` defines an item under a name `into` already gives to a different item. Renaming
    /// a helper would break the tests that call it, so the modules cannot be merged.
    Clash(String),
}

/// `into` with the items of `from`'s `mod module_name` added to its own. Items equal apart from
/// layout and comments (a shared `use`, the same helper) are kept once.
pub fn merge_test_modules(into: &str, from: &str, module_name: &str) -> Result<Merged> {
    let have = module_items(into, module_name)?;
    let mut added: Vec<String> = Vec::new();
    for item in module_items(from, module_name)? {
        if have.iter().any(|h| h.tokens == item.tokens) {
            continue;
        }
        if let Some(name) = &item.name {
            if have.iter().any(|h| h.name.as_ref() == Some(name)) {
                return Ok(Merged::Clash(name.clone()));
            }
        }
        added.push(item.text);
    }
    Ok(Merged::Text(with_tests(into, module_name, &added)?))
}

struct ModuleItem {
    name: Option<String>,
    text: String,
    tokens: String,
}

fn module_items(text: &str, module_name: &str) -> Result<Vec<ModuleItem>> {
    let tree = parse_tree(text)?;
    let Some(body) = module_body(tree.root_node(), text, module_name) else {
        return Ok(Vec::new());
    };
    Ok(decls(body)
        .iter()
        .map(|d| {
            let tokens: Vec<_> = d
                .attrs
                .iter()
                .chain(d.docs.iter())
                .chain(std::iter::once(&d.node))
                .flat_map(|n| leaves(*n))
                .collect();
            ModuleItem {
                name: d.name(text).map(str::to_string),
                text: text
                    .get(indented_start(text, d.start)..d.node.end_byte())
                    .unwrap_or("")
                    .to_string(),
                tokens: normalized_tokens(&tokens, text),
            }
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::code::test_fns;

    fn file(items: &str) -> String {
        format!("pub fn f(x: i32) -> i32 {{ x }}\n\n#[cfg(test)]\nmod tests {{\n    use super::*;\n{items}}}\n")
    }

    fn names(text: &str) -> Vec<String> {
        test_fns(text, "tests")
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect()
    }

    #[test]
    fn tests_of_both_modules_end_up_in_one() {
        let a = file("    #[test]\n    fn a() { assert_eq!(f(1), 1); }\n");
        let b = file("    #[test]\n    fn b() { assert_eq!(f(2), 2); }\n");
        let Merged::Text(merged) = merge_test_modules(&a, &b, "tests").unwrap() else {
            panic!("clash")
        };
        assert_eq!(names(&merged), vec!["a", "b"]);
        assert_eq!(merged.matches("use super::*;").count(), 1, "{merged}");
        assert_eq!(merged.matches("mod tests").count(), 1, "{merged}");
    }

    #[test]
    fn the_same_helper_is_kept_once_and_a_different_one_clashes() {
        let helper = "    fn two() -> i32 { 2 }\n";
        let a = file(&format!(
            "{helper}    #[test]\n    fn a() {{ assert_eq!(f(two()), 2); }}\n"
        ));
        let b = file(&format!(
            "{helper}    #[test]\n    fn b() {{ assert_eq!(f(two()), two()); }}\n"
        ));
        let Merged::Text(merged) = merge_test_modules(&a, &b, "tests").unwrap() else {
            panic!("clash")
        };
        assert_eq!(merged.matches("fn two()").count(), 1, "{merged}");
        assert_eq!(names(&merged), vec!["a", "b"]);
        let c = file(
            "    fn two() -> i32 { 3 }\n    #[test]\n    fn c() { assert_eq!(f(two()), 3); }\n",
        );
        assert_eq!(
            merge_test_modules(&a, &c, "tests").unwrap(),
            Merged::Clash("two".to_string())
        );
    }
}
