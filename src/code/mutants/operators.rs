//! Operator mutants, as cargo-mutants makes them: a binary or compound-assignment operator
//! replaced, a unary `!` or `-` deleted, a match arm deleted where a wildcard arm still makes
//! the match exhaustive, an `if` condition negated, a compared integer moved by one. They show
//! whether a test pins the edges of the logic (boundaries, the other branch), which a
//! replaced return value cannot.

use std::ops::Range;

use tree_sitter::Node;

use super::super::parse::node_text;

/// The kinds of operator mutant, in the order the per-function cap takes them round-robin:
/// each kind judges something different, so the cap keeps one of each before a second of any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Comparison,
    Logical,
    Arithmetic,
    Assignment,
    UnaryDeleted,
    ArmDeleted,
    ConditionNegated,
    BoundaryMoved,
}

/// One edit of the body: replace `range` (absolute bytes in the file) by `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Edit {
    pub kind: Kind,
    pub description: String,
    pub range: Range<usize>,
    pub with: String,
}

/// Every operator edit in `body`, in source order within each kind.
pub(super) fn edits(body: Node<'_>, text: &str) -> Vec<Edit> {
    let mut out = Vec::new();
    for node in descendants(body) {
        let at = at(node);
        match node.kind() {
            "binary_expression" => {
                binary(node, text, &mut out);
                out.extend(boundary_moves(node, text));
            }
            "compound_assignment_expr" => {
                let Some(op) = node.child_by_field_name("operator") else {
                    continue;
                };
                let from = node_text(op, text);
                if let Some(to) = assignment_replacement(from) {
                    out.push(replace_operator(Kind::Assignment, op, from, to));
                }
            }
            "unary_expression" => out.extend(unary_deleted(node, text, &at)),
            "match_block" => out.extend(arms_deleted(node, text)),
            "if_expression" => out.extend(condition_negated(node, text, &at)),
            _ => {}
        }
    }
    out.sort_by_key(|e| e.kind);
    out
}

fn binary(node: Node<'_>, text: &str, out: &mut Vec<Edit>) {
    let Some(op) = node.child_by_field_name("operator") else {
        return;
    };
    let from = node_text(op, text);
    let (kind, replacements): (Kind, &[&str]) = match from {
        // The boundary first: it is the mistake people make, and the one a test misses.
        "<" => (Kind::Comparison, &["<=", ">"]),
        "<=" => (Kind::Comparison, &["<", ">"]),
        ">" => (Kind::Comparison, &[">=", "<"]),
        ">=" => (Kind::Comparison, &[">", "<"]),
        "==" => (Kind::Comparison, &["!="]),
        "!=" => (Kind::Comparison, &["=="]),
        "&&" => (Kind::Logical, &["||"]),
        "||" => (Kind::Logical, &["&&"]),
        "+" => (Kind::Arithmetic, &["-", "*"]),
        "-" => (Kind::Arithmetic, &["+", "/"]),
        "*" => (Kind::Arithmetic, &["+", "/"]),
        "/" => (Kind::Arithmetic, &["*", "%"]),
        "%" => (Kind::Arithmetic, &["/", "+"]),
        _ => return,
    };
    for to in replacements {
        out.push(replace_operator(kind, op, from, to));
    }
}

fn assignment_replacement(op: &str) -> Option<&'static str> {
    Some(match op {
        "+=" => "-=",
        "-=" => "+=",
        "*=" => "/=",
        "/=" => "*=",
        "|=" => "&=",
        "&=" => "|=",
        _ => return None,
    })
}

/// `from` replaced by `to` in place: the text around it is reparsed as it stands, so
/// `a && b && c` with its second `&&` replaced reads `a && b || c`, as the description says.
fn replace_operator(kind: Kind, op: Node<'_>, from: &str, to: &str) -> Edit {
    Edit {
        kind,
        description: format!("`{from}` -> `{to}` at {}", at(op)),
        range: op.byte_range(),
        with: to.to_string(),
    }
}

/// `!x` -> `x` and `-x` -> `x` (`*x` is a dereference, not a value change).
fn unary_deleted(node: Node<'_>, text: &str, at: &str) -> Option<Edit> {
    let op = node.child(0)?;
    let operand = node.named_child(0)?;
    let op_text = node_text(op, text);
    if !matches!(op_text, "!" | "-") {
        return None;
    }
    Some(Edit {
        kind: Kind::UnaryDeleted,
        description: format!("`{op_text}` deleted at {at}"),
        range: node.byte_range(),
        with: node_text(operand, text).to_string(),
    })
}

/// Each arm but the wildcard deleted, when a `_ =>` arm exists (so the match still covers every
/// value and builds).
fn arms_deleted(block: Node<'_>, text: &str) -> Vec<Edit> {
    let mut cursor = block.walk();
    let arms: Vec<Node<'_>> = block
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "match_arm")
        .collect();
    let is_wildcard = |arm: &Node<'_>| {
        arm.child_by_field_name("pattern")
            .is_some_and(|p| node_text(p, text).trim() == "_")
    };
    if !arms.iter().any(is_wildcard) {
        return Vec::new();
    }
    arms.iter()
        .filter(|arm| !is_wildcard(arm))
        .map(|arm| {
            let pattern = arm
                .child_by_field_name("pattern")
                .map_or("", |p| node_text(p, text));
            Edit {
                kind: Kind::ArmDeleted,
                description: format!("match arm `{}` deleted at {}", one_line(pattern), at(*arm)),
                range: arm.byte_range(),
                with: String::new(),
            }
        })
        .collect()
}

fn condition_negated(node: Node<'_>, text: &str, at: &str) -> Option<Edit> {
    let cond = node.child_by_field_name("condition")?;
    if matches!(cond.kind(), "let_condition" | "let_chain") {
        return None;
    }
    Some(Edit {
        kind: Kind::ConditionNegated,
        description: format!("`if` condition negated at {at}"),
        range: cond.byte_range(),
        with: format!("!({})", node_text(cond, text)),
    })
}

/// For a comparison with an integer literal operand: the literal moved up and down by one
/// (down only above zero, so unsigned code still compiles).
fn boundary_moves(node: Node<'_>, text: &str) -> Vec<Edit> {
    let is_comparison = node
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
        let mut moved = vec![value.checked_add(1)];
        if value > 0 {
            moved.push(Some(value - 1));
        }
        for to in moved.into_iter().flatten() {
            out.push(Edit {
                kind: Kind::BoundaryMoved,
                description: format!("`{raw}` -> `{to}{suffix}` at {}", at(literal)),
                range: literal.byte_range(),
                with: format!("{to}{suffix}"),
            });
        }
    }
    out
}

/// "LINE:COLUMN" of `node`, 1-based, as editors and rustc show a position.
fn at(node: Node<'_>) -> String {
    let p = node.start_position();
    format!("{}:{}", p.row + 1, p.column + 1)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
