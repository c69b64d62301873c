#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

fn crate_with(lib: &str) -> tempfile::TempDir {
    crate::task::test_crate::crate_with("my-crate", lib)
}

/// The docstring task on a crate whose lib.rs is `LIB`, for the named items.
fn task_for(items: &[&str], scope: DocScope) -> (tempfile::TempDir, Result<Docstring, TaskError>) {
    let dir = crate_with(LIB);
    let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    let task = Docstring::new(&dir.path().join("src/lib.rs"), &items, scope);
    (dir, task)
}

const LIB: &str = "/// Already documented.\npub fn done() {}\n\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn private() {}\n\npub struct P;\n\nimpl P {\n    /// Old doc.\n    #[inline]\n    pub fn get(&self) -> u8 {\n        1\n    }\n}\n";

#[test]
fn public_items_without_docs_are_targets_and_the_prompt_names_them() {
    let dir = crate_with(LIB);
    let task = Docstring::new(&dir.path().join("src/lib.rs"), &[], DocScope::Public).unwrap();
    assert_eq!(task.target_labels(), vec!["fn add", "struct P"]);
    let prompt = task.user_prompt().unwrap();
    assert!(prompt.contains("`fn add` (line 4)"), "{prompt}");
    assert!(prompt.contains("use my_crate::"), "{prompt}");
    assert!(!prompt.contains("{{"), "{prompt}");
    let all = Docstring::new(&dir.path().join("src/lib.rs"), &[], DocScope::All).unwrap();
    assert_eq!(
        all.target_labels(),
        vec!["fn add", "fn private", "struct P"]
    );
}

#[test]
fn unknown_item_lists_the_real_ones() {
    let (_dir, err) = task_for(&["nope"], DocScope::Public);
    let err = err.err().unwrap().to_string();
    assert!(err.contains("no item named `nope`"), "{err}");
    assert!(err.contains("P::get"), "{err}");
}

#[test]
fn docs_are_spliced_as_comments_only_replacing_old_docs() {
    let (_dir, task) = task_for(&["add", "P::get"], DocScope::Public);
    let task = task.unwrap();
    let candidate = "/// Adds with wrapping off: overflows panic in debug builds.\n///\n/// ```\n/// assert_eq!(my_crate::add(1, 2), 3);\n/// ```\npub fn add(a: i32, b: i32) -> i32 { a + b }\nimpl P {\n/// Always 1, whatever the state.\npub fn get(&self) -> u8 { 1 } }\n";
    let placement = task.place(candidate).unwrap();
    assert_eq!(
        placement.new_text,
        LIB.replace(
            "pub fn add",
            "/// Adds with wrapping off: overflows panic in debug builds.\n///\n/// ```\n/// assert_eq!(my_crate::add(1, 2), 3);\n/// ```\npub fn add"
        )
        .replace("    /// Old doc.\n", "    /// Always 1, whatever the state.\n")
    );
    assert_eq!(
        placement.test_args.target_flags,
        vec!["-p", "my-crate@0.1.0", "--doc"]
    );
}

#[test]
fn code_changes_new_items_missing_docs_and_restated_signatures_are_rejected() {
    let (_dir, task) = task_for(&["add"], DocScope::Public);
    let task = task.unwrap();
    let changed = task
        .place("/// Adds, saturating at the bounds.\npub fn add(a: i32, b: i32) -> i32 { a.saturating_add(b) }")
        .unwrap_err();
    assert!(
        changed.contains("You changed the code of `fn add`"),
        "{changed}"
    );
    assert!(changed.contains("`+` became `.`"), "{changed}");
    let added = task
        .place("/// Helps.\nfn helper() {}\n/// Adds two numbers, panicking on overflow in debug builds.\npub fn add(a: i32, b: i32) -> i32 { a + b }")
        .unwrap_err();
    assert!(added.contains("`fn helper` is not in the file"), "{added}");
    let missing = task.place("fn private() {}").unwrap_err();
    assert!(missing.contains("no `///` docs"), "{missing}");
    let restated = task
        .place("/// Returns the result of add.\npub fn add(a: i32, b: i32) -> i32 { a + b }")
        .unwrap_err();
    assert!(
        restated.contains("only restate its signature"),
        "{restated}"
    );
}

#[test]
fn docs_on_items_that_are_no_targets_are_left_as_they_were() {
    let (_dir, task) = task_for(&["add"], DocScope::Public);
    let task = task.unwrap();
    let echo = format!(
        "/// Reworded.\npub fn done() {{}}\n/// Adds; panics on overflow in debug builds.\n{}",
        &LIB[LIB.find("pub fn add").unwrap()..]
    );
    let placement = task.place(&echo).unwrap();
    assert_eq!(
        placement.new_text,
        LIB.replace(
            "pub fn add",
            "/// Adds; panics on overflow in debug builds.\npub fn add"
        )
    );
    assert_eq!(placement.summary, "docs for fn add");
}

#[test]
fn fully_documented_file_is_nothing_to_do() {
    let dir = crate_with("/// One.\npub fn one() -> u8 { 1 }\nfn hidden() {}\n");
    let err = Docstring::new(&dir.path().join("src/lib.rs"), &[], DocScope::Public)
        .err()
        .unwrap();
    assert!(matches!(err, TaskError::NothingToDo(_)), "{err}");
}

#[test]
fn an_associated_type_is_accepted_bare_or_inside_its_trait() {
    let lib = "/// Parses.\npub trait Parse {\n    type Err;\n\n    /// Parses `s`.\n    fn parse(s: &str) -> Result<Self, Self::Err>\n    where\n        Self: Sized;\n}\n";
    let dir = crate_with(lib);
    let task = Docstring::new(&dir.path().join("src/lib.rs"), &[], DocScope::Public).unwrap();
    assert_eq!(task.target_labels(), vec!["type Parse::Err"]);
    let want = lib.replace(
        "    type Err;",
        "    /// Why parsing failed.\n    type Err;",
    );
    for (shape, reply) in [
        ("bare", "/// Why parsing failed.\ntype Err;\n".to_string()),
        (
            "inside its trait",
            "pub trait Parse {\n    /// Why parsing failed.\n    type Err;\n}\n".to_string(),
        ),
    ] {
        let placement = task
            .place(&reply)
            .unwrap_or_else(|e| panic!("{shape}: {e}"));
        assert_eq!(placement.new_text, want, "{shape}");
    }
}
