#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

const LIB: &str = "/// Doubles.\npub fn double(x: i32) -> i32 {\n    todo!()\n}\n\npub fn triple(x: i32) -> i32 {\n    let y = x * 2;\n    // kiln: fill\n}\n";

fn crate_with(lib: &str) -> tempfile::TempDir {
    crate::task::test_crate::crate_with("t", lib)
}

#[test]
fn the_first_hole_is_filled_and_the_prompt_marks_it() {
    let dir = crate_with(LIB);
    let task = Fim::new(&dir.path().join("src/lib.rs"), HoleChoice::Found).unwrap();
    assert_eq!(task.hole().line, 3);
    assert!(
        task.title().contains("(1 more hole(s) after this one)"),
        "{}",
        task.title()
    );
    let prompt = task.user_prompt().unwrap();
    assert!(
        prompt.contains("`fn double` (`src/lib.rs`, line 3)"),
        "{prompt}"
    );
    assert!(
        prompt.contains("pub fn double(x: i32) -> i32 {\n    <FILL_ME>\n}"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("triple"),
        "only the enclosing item:\n{prompt}"
    );
    assert!(!prompt.contains("{{"), "{prompt}");

    let placement = task.place("x * 2").unwrap();
    assert_eq!(placement.new_text, LIB.replace("todo!()", "x * 2"));
    let whole_fn = task
        .place("pub fn double(x: i32) -> i32 {\n    x + x\n}")
        .unwrap();
    assert_eq!(whole_fn.new_text, LIB.replace("todo!()", "x + x"));
}

#[test]
fn fills_that_do_not_parse_or_keep_the_hole_are_rejected() {
    let dir = crate_with(LIB);
    let task = Fim::new(&dir.path().join("src/lib.rs"), HoleChoice::Found).unwrap();
    assert!(task.place("x * (2").unwrap_err().contains("does not parse"));
    assert!(task.place("todo!()").unwrap_err().contains("todo!()"));
    assert!(task
        .place("<FILL_ME>")
        .unwrap_err()
        .contains("still contains"));
    assert!(task.place("  ").unwrap_err().contains("empty"));
}

#[test]
fn line_holes_show_the_lines_they_replace() {
    let dir = crate_with(LIB);
    let task = Fim::new(
        &dir.path().join("src/lib.rs"),
        HoleChoice::Lines { first: 7, last: 8 },
    )
    .unwrap();
    let prompt = task.user_prompt().unwrap();
    assert!(
        prompt.contains("```rust\nlet y = x * 2;\n    // kiln: fill\n```"),
        "{prompt}"
    );
    assert!(task.place("x * 3").is_ok());
}

#[test]
fn no_hole_lines_outside_the_file_and_holes_outside_functions_are_input_errors() {
    let dir = crate_with("pub fn one() -> u8 {\n    1\n}\n");
    let file = dir.path().join("src/lib.rs");
    let none = Fim::new(&file, HoleChoice::Found)
        .err()
        .unwrap()
        .to_string();
    assert!(none.contains("no hole found"), "{none}");
    let outside = Fim::new(&file, HoleChoice::Lines { first: 9, last: 9 })
        .err()
        .unwrap()
        .to_string();
    assert!(outside.contains("has 3 lines"), "{outside}");
    let dir = crate_with("const A: u8 = 1;\n\npub fn one() -> u8 {\n    A\n}\n");
    let top = Fim::new(
        &dir.path().join("src/lib.rs"),
        HoleChoice::Lines { first: 1, last: 1 },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(top.contains("not inside a function"), "{top}");
}

#[test]
fn the_completion_prompt_splits_at_the_hole_and_carries_feedback() {
    let dir = crate_with(LIB);
    let task = Fim::new(&dir.path().join("src/lib.rs"), HoleChoice::Found).unwrap();
    let first = task.fim_prompt(None).unwrap();
    assert!(
        first
            .prompt
            .ends_with("pub fn double(x: i32) -> i32 {\n    "),
        "{first:?}"
    );
    assert!(first.suffix.starts_with("\n}"), "{first:?}");
    let again = task
        .fim_prompt(Some(
            "error[E0308]: mismatched types\n\n  --> src/lib.rs:3:5",
        ))
        .unwrap();
    assert!(again.prompt.starts_with(
        "// kiln: the previous fill for the hole below failed:\n// error[E0308]: mismatched types\n//   --> src/lib.rs:3:5\n\n"
    ), "{again:?}");
    assert_eq!(again.suffix, first.suffix);
}
