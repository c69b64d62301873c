//! Simple mutants of a function, to show that a test catches a changed implementation.
//!
//! All mutants go into ONE build: each mutated function starts with a dispatcher that reads
//! [`MUTANT_ENV`] at run time and returns the result of its `n`-th mutant body when the variable
//! is `n`. Round `n` thus activates the `n`-th mutant of every function at once, so a file with
//! many functions needs as many test runs as its most-mutated function, not the sum. One build
//! plus cheap test-binary runs beats one build per mutant (each a recompile of the crate).

//! Mutants of a function, to show that a test catches a changed implementation: its body
//! replaced by values of its return type (`values.rs`), and its operators changed
//! (`operators.rs`), as cargo-mutants makes them.
//!
//! All mutants go into ONE build: each mutated function starts with a dispatcher that reads
//! [`MUTANT_ENV`] at run time and returns the result of its `n`-th mutant body when the variable
//! is `n`. Round `n` thus activates the `n`-th mutant of every function at once, so a file with
//! many functions needs as many test runs as its most-mutated function, not the sum. One build
//! plus cheap test-binary runs beats one build per mutant (each a recompile of the crate).

mod operators;
mod values;

use std::ops::Range;

use tree_sitter::Node;

use super::decl::{distinct_identifiers, leaves};
use super::items::FnItem;
use super::parse::{node_text, parse_tree};
use super::{CodeError, Result};
use values::KnownDefaults;

/// The variable the dispatcher reads; unset or `0` runs the real code.
pub const MUTANT_ENV: &str = "KILN_MUTANT";

/// More mutants per function cost test runs (one round each) and rarely judge a test the
/// first ones did not.
pub const MUTANTS_PER_FN_MAX: usize = 8;

/// Of the cap, return-value replacements take at most this many, so operator mutants, which
/// judge the edges of the logic, always get the rest.
const VALUE_MUTANTS_MAX: usize = MUTANTS_PER_FN_MAX / 2;

/// One mutant: the function's body block as it reads after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    /// For people: "`>=` -> `>` at 3:9" (line and column, so two on one line differ).
    pub description: String,
    pub body: String,
}

/// Mutants of `f` (an item of `text`), at most [`MUTANTS_PER_FN_MAX`]: first the body replaced
/// by values of its return type (the cheapest for a test to tell apart, so a test that cannot
/// is surely useless), then operator mutants, one of each kind in turn. `const fn`s get none:
/// the dispatcher reads the environment.
pub fn mutants(text: &str, f: &FnItem) -> Result<Vec<Mutant>> {
    if f.is_const {
        return Ok(Vec::new());
    }
    let tree = parse_tree(text)?;
    let Some((item, body)) = fn_nodes(tree.root_node(), f) else {
        return Ok(Vec::new());
    };
    let defaults = KnownDefaults::of(tree.root_node(), text);
    let mut out: Vec<Mutant> = replaced_bodies(item, text, body, &defaults, f)
        .into_iter()
        .take(VALUE_MUTANTS_MAX)
        .collect();
    let body_text = node_text(body, text);
    let base = body.start_byte();
    let edited = operators::edits(body, text).into_iter().map(|e| {
        let mut body = body_text.to_string();
        body.replace_range(e.range.start - base..e.range.end - base, &e.with);
        (
            e.kind,
            Mutant {
                description: e.description,
                body,
            },
        )
    });
    out.extend(round_robin(
        edited.collect(),
        MUTANTS_PER_FN_MAX - out.len(),
    ));
    Ok(out)
}

/// At most `room` of `mutants` (sorted by kind), taking one of each kind in turn.
fn round_robin(mutants: Vec<(operators::Kind, Mutant)>, room: usize) -> Vec<Mutant> {
    let mut by_kind: Vec<std::collections::VecDeque<Mutant>> = Vec::new();
    let mut last = None;
    for (kind, mutant) in mutants {
        if last != Some(kind) {
            by_kind.push(std::collections::VecDeque::new());
            last = Some(kind);
        }
        if let Some(queue) = by_kind.last_mut() {
            queue.push_back(mutant);
        }
    }
    let mut out = Vec::new();
    while out.len() < room && by_kind.iter().any(|q| !q.is_empty()) {
        for queue in &mut by_kind {
            if out.len() < room {
                out.extend(queue.pop_front());
            }
        }
    }
    out
}

/// The function's text with a dispatcher prepended to its body: in round `n` (the value of
/// [`MUTANT_ENV`]) it runs the mutant given with `n`, in any other the real body. Returns the
/// new text and, per mutant, the byte range of its arm (to blame a compile error on one mutant).
pub fn with_dispatcher(
    text: &str,
    f: &FnItem,
    rounds: &[(usize, &Mutant)],
) -> Result<(String, Vec<Range<usize>>)> {
    let tree = parse_tree(text)?;
    let (_, body) = fn_nodes(tree.root_node(), f)
        .ok_or_else(|| CodeError::Parser(format!("`{}` has no body", f.qualified_name)))?;
    let at = body.start_byte() + 1;
    let mut dispatcher = format!("\nmatch ::std::env::var(\"{MUTANT_ENV}\").as_deref() {{\n");
    let mut arms = Vec::new();
    for (round, mutant) in rounds {
        let start = at + dispatcher.len();
        dispatcher.push_str(&format!("Ok(\"{round}\") => return {},\n", mutant.body));
        arms.push(start..at + dispatcher.len());
    }
    dispatcher.push_str("_ => {}\n}\n");
    let mut out = text.to_string();
    out.insert_str(at, &dispatcher);
    Ok((out, arms))
}

/// The names `f`'s body uses (calls among them): a mutant of a function it calls changes what
/// `f` returns, so a test of `f` judges that mutant too.
pub fn names_in_body(text: &str, f: &FnItem) -> Result<Vec<String>> {
    let tree = parse_tree(text)?;
    let Some((_, body)) = fn_nodes(tree.root_node(), f) else {
        return Ok(Vec::new());
    };
    Ok(distinct_identifiers(body, text))
}

/// The `function_item` node of `f` and its body block.
fn fn_nodes<'t>(root: Node<'t>, f: &FnItem) -> Option<(Node<'t>, Node<'t>)> {
    let node = f.node(root)?;
    let body = node.child_by_field_name("body")?;
    Some((node, body))
}

/// The body replaced by each value of the return type; a unit function whose body does
/// something gets the empty body. Nothing for `!` and `impl Trait` (see `values.rs`).
fn replaced_bodies(
    item: Node<'_>,
    text: &str,
    body: Node<'_>,
    defaults: &KnownDefaults,
    f: &FnItem,
) -> Vec<Mutant> {
    let Some(ret) = item.child_by_field_name("return_type") else {
        let empty = leaves(body).len() <= 2;
        return if empty {
            Vec::new()
        } else {
            vec![Mutant {
                description: "body removed".to_string(),
                body: "{}".to_string(),
            }]
        };
    };
    values::values(ret, text, defaults, f.impl_type.as_deref())
        .into_iter()
        .map(|value| Mutant {
            description: format!("body replaced by `{value}`"),
            body: format!("{{ {value} }}"),
        })
        .collect()
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

    fn descriptions(found: &[Mutant]) -> Vec<&str> {
        found.iter().map(|m| m.description.as_str()).collect()
    }

    #[test]
    fn values_first_then_one_operator_of_each_kind_in_turn() {
        let found = mutants_of("pub fn adult(age: u32) -> bool {\n    age >= 18\n}\n");
        let described: Vec<(&str, &str)> = found
            .iter()
            .map(|m| (m.description.as_str(), m.body.as_str()))
            .collect();
        assert_eq!(
            described,
            vec![
                ("body replaced by `true`", "{ true }"),
                ("body replaced by `false`", "{ false }"),
                ("`>=` -> `>` at 2:9", "{\n    age > 18\n}"),
                ("`18` -> `19` at 2:12", "{\n    age >= 19\n}"),
                ("`>=` -> `<` at 2:9", "{\n    age < 18\n}"),
                ("`18` -> `17` at 2:12", "{\n    age >= 17\n}"),
            ]
        );
    }

    #[test]
    fn result_and_option_returns_get_their_variants_and_never_a_panic() {
        let found = mutants_of(
            "fn f(a: i32) -> Result<i32, String> {\n    if a == 0 { return Err(\"zero\".into()); }\n    Ok(-a)\n}\n",
        );
        assert_eq!(
            descriptions(&found),
            vec![
                "body replaced by `Ok(0)`",
                "body replaced by `Ok(1)`",
                "body replaced by `Err(String::new())`",
                "`==` -> `!=` at 2:10",
                "`-` deleted at 3:8",
                "`if` condition negated at 2:5",
                "`0` -> `1` at 2:13",
            ]
        );
        assert!(found[5].body.contains("if !(a == 0)"));
        assert_eq!(
            descriptions(&mutants_of(
                "fn strip(s: &str) -> Option<&str> {\n    s.strip_prefix('-')\n}\n"
            )),
            vec![
                "body replaced by `None`",
                "body replaced by `Some(\"\")`",
                "body replaced by `Some(\"xyzzy\")`",
            ]
        );
        assert!(mutants_of("fn f() -> impl Iterator<Item = u8> { [1].into_iter() }\n").is_empty());
        assert!(mutants_of("const fn f() -> i32 { 1 + 1 }\n").is_empty());
        assert!(mutants_of("fn f() {}\n").is_empty());
        let all = [
            mutants_of("fn f() -> Vec<u8> { Vec::new() }\n"),
            mutants_of("fn f() -> String { String::from(\"a\") }\n"),
            mutants_of("fn f() -> std::collections::HashMap<u8, bool> { Default::default() }\n"),
            mutants_of("fn f() -> (u8, &'static str) { (1, \"a\") }\n"),
            mutants_of("fn f() -> &'static [u8] { &[1] }\n"),
        ];
        let bodies: Vec<Vec<&str>> = all
            .iter()
            .map(|found| found.iter().map(|m| m.body.as_str()).collect())
            .collect();
        assert_eq!(
            bodies,
            vec![
                vec!["{ vec![] }", "{ vec![0] }", "{ vec![1] }"],
                vec!["{ String::new() }", "{ \"xyzzy\".into() }"],
                vec![
                    "{ std::collections::HashMap::new() }",
                    "{ [(0, true)].into_iter().collect() }",
                ],
                vec!["{ (0, \"\") }", "{ (1, \"xyzzy\") }"],
                vec!["{ &[] }", "{ &[0] }", "{ &[1] }"],
            ]
        );
    }

    #[test]
    fn default_only_for_types_known_to_have_one() {
        let text = "#[derive(Debug, Default)]\npub struct Config { n: u8 }\npub struct Plain;\n\
                    impl Default for Plain { fn default() -> Self { Plain } }\npub struct Other;\n\
                    pub fn config() -> Config { Config { n: 1 } }\n\
                    pub fn plain() -> Option<Plain> { None }\n\
                    pub fn other() -> Other { Other }\n";
        let file = SourceFile::parse(text).unwrap();
        let found: Vec<(String, Vec<String>)> = list_fns(&file)
            .into_iter()
            .filter(|f| f.impl_type.is_none())
            .map(|f| {
                let found = mutants(text, &f).unwrap();
                (f.name, found.into_iter().map(|m| m.description).collect())
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "config".to_string(),
                    vec!["body replaced by `Default::default()`".to_string()]
                ),
                (
                    "plain".to_string(),
                    vec![
                        "body replaced by `None`".to_string(),
                        "body replaced by `Some(Default::default())`".to_string()
                    ]
                ),
                ("other".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn logical_unary_assignment_and_match_arm_mutants() {
        let found = mutants_of(
            "fn f(a: bool, b: bool, mut n: i64) -> i64 {\n    n += 2;\n    if !a && b { n = -n; }\n    match n {\n        1 => 10,\n        _ => n,\n    }\n}\n",
        );
        assert_eq!(
            descriptions(&found),
            vec![
                "body replaced by `0`",
                "body replaced by `1`",
                "body replaced by `-1`",
                "`&&` -> `||` at 3:11",
                "`+=` -> `-=` at 2:7",
                "`!` deleted at 3:8",
                "match arm `1` deleted at 5:9",
                "`if` condition negated at 3:5",
            ]
        );
        let arm = found
            .iter()
            .find(|m| m.description.starts_with("match arm"))
            .unwrap();
        assert_eq!(arm.body, "{\n    n += 2;\n    if !a && b { n = -n; }\n    match n {\n        \n        _ => n,\n    }\n}");
    }

    #[test]
    fn dispatcher_returns_a_mutant_by_round_and_marks_its_arm() {
        let text = "fn f(a: i32) -> i32 {\n    a + 1\n}\n";
        let file = SourceFile::parse(text).unwrap();
        let f = list_fns(&file).into_iter().next().unwrap();
        let found = mutants(text, &f).unwrap();
        let rounds: Vec<(usize, &Mutant)> = vec![(3, &found[0]), (7, &found[3])];
        let (out, arms) = with_dispatcher(text, &f, &rounds).unwrap();
        assert!(SourceFile::parse(&out).is_ok(), "{out}");
        assert_eq!(arms.len(), 2);
        assert_eq!(&out[arms[0].clone()], "Ok(\"3\") => return { 0 },\n");
        assert_eq!(
            &out[arms[1].clone()],
            "Ok(\"7\") => return {\n    a - 1\n},\n"
        );
        assert!(out.ends_with("_ => {}\n}\n\n    a + 1\n}\n"), "{out}");
    }
}
