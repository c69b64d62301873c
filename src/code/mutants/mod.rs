//! Simple mutants of a function, to show that a test catches a changed implementation.
//!
//! All mutants go into ONE build: each mutated function starts with a dispatcher that reads
//! [`MUTANT_ENV`] at run time and returns the result of its `n`-th mutant body when the variable
//! is `n`. Round `n` thus activates the `n`-th mutant of every function at once, so a file with
//! many functions needs as many test runs as its most-mutated function, not the sum. One build
//! plus cheap test-binary runs beats one build per mutant (each a recompile of the crate).

use std::ops::Range;

use tree_sitter::Node;

use super::decl::leaves;
use super::items::FnItem;
use super::parse::{node_text, parse_tree};
use super::{CodeError, Result};

/// The variable the dispatcher reads; unset or `0` runs the real code.
pub const MUTANT_ENV: &str = "KILN_MUTANT";

/// More mutants per function cost test runs and rarely kill a test the first ones spared.
pub const MUTANTS_PER_FN_MAX: usize = 8;

/// One mutant: the function's body block as it reads after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    /// For people: "`>=` -> `<` on line 3".
    pub description: String,
    pub body: String,
}

/// Mutants of `f` (an item of `text`), at most [`MUTANTS_PER_FN_MAX`]: the body replaced by
/// `Default::default()` where the return type has one (else `panic!`), each comparison
/// flipped, each `if` condition negated, each `+`/`-` swapped, each integer compared against
/// moved by one. `const fn`s get none: the dispatcher reads the environment.
pub fn mutants(text: &str, f: &FnItem) -> Result<Vec<Mutant>> {
    if f.is_const {
        return Ok(Vec::new());
    }
    let tree = parse_tree(text)?;
    let Some((item, body)) = fn_nodes(tree.root_node(), f) else {
        return Ok(Vec::new());
    };
    let body_text = node_text(body, text);
    let base = body.start_byte();
    let edit = |range: Range<usize>, with: &str| {
        let mut out = body_text.to_string();
        out.replace_range(range.start - base..range.end - base, with);
        out
    };
    let mut out = Vec::new();
    if let Some(replaced) = replaced_body(item, text, body) {
        out.push(replaced);
    }
    let nodes = descendants(body);
    for node in &nodes {
        let line = node.start_position().row + 1;
        match node.kind() {
            "binary_expression" => {
                let Some(op) = node.child_by_field_name("operator") else {
                    continue;
                };
                let op_text = node_text(op, text);
                if let Some(flipped) = flipped_operator(op_text) {
                    out.push(Mutant {
                        description: format!("`{op_text}` -> `{flipped}` on line {line}"),
                        body: edit(op.byte_range(), flipped),
                    });
                }
            }
            "if_expression" => {
                let Some(cond) = node.child_by_field_name("condition") else {
                    continue;
                };
                if matches!(cond.kind(), "let_condition" | "let_chain") {
                    continue;
                }
                out.push(Mutant {
                    description: format!("`if` condition negated on line {line}"),
                    body: edit(cond.byte_range(), &format!("!({})", node_text(cond, text))),
                });
            }
            _ => {}
        }
    }
    for node in &nodes {
        for (literal, moved) in boundary_moves(*node, text) {
            out.push(Mutant {
                description: format!(
                    "`{}` -> `{moved}` on line {}",
                    node_text(literal, text),
                    literal.start_position().row + 1
                ),
                body: edit(literal.byte_range(), &moved),
            });
        }
    }
    out.truncate(MUTANTS_PER_FN_MAX);
    Ok(out)
}

/// The function's text with a dispatcher over `mutants` prepended to its body. Returns the new
/// text and, per mutant, the byte range of its arm (to blame a compile error on one mutant).
pub fn with_dispatcher(
    text: &str,
    f: &FnItem,
    mutants: &[Mutant],
) -> Result<(String, Vec<Range<usize>>)> {
    let tree = parse_tree(text)?;
    let (_, body) = fn_nodes(tree.root_node(), f)
        .ok_or_else(|| CodeError::Parser(format!("`{}` has no body", f.qualified_name)))?;
    let at = body.start_byte() + 1;
    let mut dispatcher = format!("\nmatch ::std::env::var(\"{MUTANT_ENV}\").as_deref() {{\n");
    let mut arms = Vec::new();
    for (i, mutant) in mutants.iter().enumerate() {
        let start = at + dispatcher.len();
        dispatcher.push_str(&format!("Ok(\"{}\") => return {},\n", i + 1, mutant.body));
        arms.push(start..at + dispatcher.len());
    }
    dispatcher.push_str("_ => {}\n}\n");
    let mut out = text.to_string();
    out.insert_str(at, &dispatcher);
    Ok((out, arms))
}

/// The `function_item` node of `f` and its body block.
fn fn_nodes<'t>(root: Node<'t>, f: &FnItem) -> Option<(Node<'t>, Node<'t>)> {
    let end = f.byte_range.end;
    let mut node = root.descendant_for_byte_range(end.checked_sub(1)?, end)?;
    while node.kind() != "function_item" {
        node = node.parent()?;
    }
    let body = node.child_by_field_name("body")?;
    Some((node, body))
}

fn descendants(node: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    let mut cursor = node.walk();
    while let Some(n) = stack.pop() {
        out.push(n);
        let children: Vec<Node<'_>> = n.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

fn replaced_body(item: Node<'_>, text: &str, body: Node<'_>) -> Option<Mutant> {
    let Some(ret) = item.child_by_field_name("return_type") else {
        // A unit fn whose body does something: doing nothing is its default.
        let empty = leaves(body).len() <= 2;
        return (!empty).then(|| Mutant {
            description: "body removed".to_string(),
            body: "{}".to_string(),
        });
    };
    let ty = node_text(ret, text).trim();
    if ty.starts_with("impl ") || ty == "!" {
        return None;
    }
    Some(if has_default(ty) {
        Mutant {
            description: "body replaced by `Default::default()`".to_string(),
            body: "{ Default::default() }".to_string(),
        }
    } else {
        Mutant {
            description: "body replaced by `panic!`".to_string(),
            body: "{ panic!(\"kiln mutant\") }".to_string(),
        }
    })
}

/// Types that certainly implement `Default`; anything else (a user's type, `Result`) gets the
/// `panic!` mutant, which always compiles.
fn has_default(ty: &str) -> bool {
    const PLAIN: &[&str] = &[
        "()", "bool", "char", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
        "u64", "u128", "usize", "f32", "f64", "String", "&str",
    ];
    const GENERIC: &[&str] = &[
        "Option<",
        "Vec<",
        "HashMap<",
        "HashSet<",
        "BTreeMap<",
        "BTreeSet<",
        "VecDeque<",
        "&[",
    ];
    PLAIN.contains(&ty) || GENERIC.iter().any(|p| ty.starts_with(p))
}

fn flipped_operator(op: &str) -> Option<&'static str> {
    Some(match op {
        "<" => ">=",
        "<=" => ">",
        ">" => "<=",
        ">=" => "<",
        "==" => "!=",
        "!=" => "==",
        "+" => "-",
        "-" => "+",
        _ => return None,
    })
}

/// For a comparison with an integer literal operand: the literal moved up and down by one
/// (down only above zero, so unsigned code still compiles).
fn boundary_moves<'t>(node: Node<'t>, text: &str) -> Vec<(Node<'t>, String)> {
    let is_comparison = node.kind() == "binary_expression"
        && node
            .child_by_field_name("operator")
            .is_some_and(|op| matches!(node_text(op, text), "<" | "<=" | ">" | ">=" | "==" | "!="));
    if !is_comparison {
        return Vec::new();
    }
    let mut out = Vec::new();
    for side in ["left", "right"] {
        let Some(literal) = node.child_by_field_name(side) else {
            continue;
        };
        if literal.kind() != "integer_literal" {
            continue;
        }
        let raw = node_text(literal, text);
        let digits_end = raw
            .find(|c: char| !c.is_ascii_digit() && c != '_')
            .unwrap_or(raw.len());
        let (digits, suffix) = raw.split_at(digits_end);
        let Ok(value) = digits.replace('_', "").parse::<u128>() else {
            continue;
        };
        out.push((literal, format!("{}{suffix}", value + 1)));
        if value > 0 {
            out.push((literal, format!("{}{suffix}", value - 1)));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::code::{list_fns, SourceFile};
    use pretty_assertions::assert_eq;

    fn mutants_of(text: &str) -> Vec<Mutant> {
        let file = SourceFile::parse(text).unwrap();
        let f = list_fns(&file).into_iter().next().unwrap();
        mutants(text, &f).unwrap()
    }

    #[test]
    fn comparison_boundary_and_default_mutants() {
        let found = mutants_of("pub fn adult(age: u32) -> bool {\n    age >= 18\n}\n");
        let described: Vec<(&str, &str)> = found
            .iter()
            .map(|m| (m.description.as_str(), m.body.as_str()))
            .collect();
        assert_eq!(
            described,
            vec![
                (
                    "body replaced by `Default::default()`",
                    "{ Default::default() }"
                ),
                ("`>=` -> `<` on line 2", "{\n    age < 18\n}"),
                ("`18` -> `19` on line 2", "{\n    age >= 19\n}"),
                ("`18` -> `17` on line 2", "{\n    age >= 17\n}"),
            ]
        );
    }

    #[test]
    fn negation_swaps_and_panic_for_types_without_default() {
        let found = mutants_of(
            "fn f(a: i32) -> Result<i32, ()> {\n    if a == 0u8 as i32 { return Err(()); }\n    Ok(a + 1)\n}\n",
        );
        let descriptions: Vec<&str> = found.iter().map(|m| m.description.as_str()).collect();
        assert_eq!(
            descriptions,
            vec![
                "body replaced by `panic!`",
                "`if` condition negated on line 2",
                "`==` -> `!=` on line 2",
                "`+` -> `-` on line 3",
            ]
        );
        assert!(found[1].body.contains("if !(a == 0u8 as i32)"));
        assert!(mutants_of("const fn f() -> i32 { 1 + 1 }\n").is_empty());
        assert!(mutants_of("fn f() {}\n").is_empty());
    }

    #[test]
    fn dispatcher_returns_a_mutant_by_number_and_marks_its_arm() {
        let text = "fn f(a: i32) -> i32 {\n    a + 1\n}\n";
        let file = SourceFile::parse(text).unwrap();
        let f = list_fns(&file).into_iter().next().unwrap();
        let found = mutants(text, &f).unwrap();
        let (out, arms) = with_dispatcher(text, &f, &found).unwrap();
        assert!(SourceFile::parse(&out).is_ok(), "{out}");
        assert_eq!(arms.len(), 2);
        assert_eq!(
            &out[arms[1].clone()],
            "Ok(\"2\") => return {\n    a - 1\n},\n"
        );
        assert!(out.ends_with("_ => {}\n}\n\n    a + 1\n}\n"), "{out}");
    }
}
