#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

const LIB: &str = "pub struct P;\n\nimpl P {\n    /// Sums.\n    pub fn total(&self, xs: &[u8]) -> u32 {\n        let mut sum = 0;\n        for x in xs {\n            sum += u32::from(*x);\n        }\n        sum\n    }\n}\n\npub fn other() -> u8 {\n    1\n}\n";

fn crate_with(lib: &str) -> tempfile::TempDir {
    crate::task::test_crate::crate_with("t", lib)
}

fn refactor_total(instruction: &str) -> (tempfile::TempDir, Refactor) {
    let dir = crate_with(LIB);
    let task = Refactor::new(&dir.path().join("src/lib.rs"), "total", instruction).unwrap();
    (dir, task)
}

#[test]
fn the_prompt_names_the_item_the_instruction_and_the_public_signatures() {
    let (_dir, task) = refactor_total("use an iterator");
    assert_eq!(task.target_name(), "fn P::total");
    let prompt = task.user_prompt().unwrap();
    assert!(
        prompt.contains("Refactor `fn P::total` in `src/lib.rs`: use an iterator"),
        "{prompt}"
    );
    assert!(
        prompt.contains("- `pub fn total(&self, xs: &[u8]) -> u32`"),
        "{prompt}"
    );
    assert!(!prompt.contains("{{"), "{prompt}");
}

#[test]
fn items_are_replaced_in_place_and_helpers_added_next_to_them() {
    let (_dir, task) = refactor_total("extract the summing into a helper");
    let placement = task
        .place("impl P {\n    pub fn total(&self, xs: &[u8]) -> u32 {\n        sum_all(xs)\n    }\n}\n\nfn sum_all(xs: &[u8]) -> u32 {\n    xs.iter().map(|x| u32::from(*x)).sum()\n}\n")
        .unwrap();
    assert_eq!(
        placement.new_text,
        "pub struct P;\n\nimpl P {\n    /// Sums.\n    pub fn total(&self, xs: &[u8]) -> u32 {\n        sum_all(xs)\n    }\n}\n\nfn sum_all(xs: &[u8]) -> u32 {\n    xs.iter().map(|x| u32::from(*x)).sum()\n}\n\npub fn other() -> u8 {\n    1\n}\n"
    );
    assert_eq!(placement.summary, "refactor of fn P::total, new fn sum_all");
    assert_eq!(
        placement.test_args.target_flags,
        vec!["-p", "t@0.1.0", "--tests"]
    );
    assert_eq!(placement.test_args.filter, None);
}

#[test]
fn a_changed_public_signature_is_rejected_unless_asked_for() {
    let (_dir, task) = refactor_total("use an iterator");
    let changed = "impl P {\n    pub fn total(&self, xs: &[u8]) -> u64 {\n        xs.iter().map(|x| u64::from(*x)).sum()\n    }\n}\n";
    let err = task.place(changed).unwrap_err();
    assert!(err.contains("Public signatures must stay"), "{err}");
    assert!(err.contains("-> u64"), "{err}");
    let new_pub = task
        .place("pub fn helper() {}\nimpl P {\n    pub fn total(&self, xs: &[u8]) -> u32 {\n        xs.iter().map(|x| u32::from(*x)).sum()\n    }\n}\n")
        .unwrap_err();
    assert!(new_pub.contains("keep new helpers private"), "{new_pub}");

    let (_dir, asked) = refactor_total("change the return type to u64");
    assert!(asked.place(changed).is_ok());
}

#[test]
fn unchanged_or_unreadable_candidates_and_unknown_items_are_explained() {
    let (dir, task) = refactor_total("use an iterator");
    assert!(task
        .place("pub fn other() -> u8 {\n    1\n}\n")
        .unwrap_err()
        .contains("nothing was refactored"));
    assert!(task
        .place("fn broken( {")
        .unwrap_err()
        .contains("could not read"));
    let err = Refactor::new(&dir.path().join("src/lib.rs"), "nope", "x")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no item named `nope`") && err.contains("P::total"),
        "{err}"
    );
}
