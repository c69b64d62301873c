#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn module_paths_follow_cargo_layout() {
    assert_eq!(module_path("lib.rs"), "");
    assert_eq!(module_path("parser.rs"), "parser");
    assert_eq!(module_path("a/mod.rs"), "a");
    assert_eq!(module_path("a/b.rs"), "a::b");
}

#[test]
fn module_file_of_a_lib_crate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "src/lib.rs", "pub mod parser;\n");
    write(dir.path(), "src/parser.rs", "pub fn f() {}\n");
    let loc = SourceLocation::find(&dir.path().join("src/parser.rs")).unwrap();
    assert_eq!(loc.package_name, "demo");
    assert_eq!(loc.relative_path, PathBuf::from("src/parser.rs"));
    assert_eq!(loc.cargo_flags(), vec!["-p", "demo@0.1.0", "--lib"]);
    assert_eq!(loc.test_filter("tests"), "parser::tests::");
}

#[test]
fn member_of_a_workspace_copies_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/a\"]\n",
    );
    write(
        dir.path(),
        "crates/a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "crates/a/src/main.rs", "fn main() {}\n");
    let loc = SourceLocation::find(&dir.path().join("crates/a/src/main.rs")).unwrap();
    assert_eq!(loc.workspace_root, dir.path().canonicalize().unwrap());
    assert_eq!(loc.relative_path, PathBuf::from("crates/a/src/main.rs"));
    assert_eq!(loc.cargo_flags(), vec!["-p", "a@0.1.0", "--bins"]);
    assert_eq!(loc.test_filter("tests"), "tests::");
}

#[test]
fn excluded_crate_is_its_own_root() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[workspace]\nexclude = [\"assets\"]\n",
    );
    write(
        dir.path(),
        "assets/demo/Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "assets/demo/src/lib.rs", "");
    let loc = SourceLocation::find(&dir.path().join("assets/demo/src/lib.rs")).unwrap();
    assert_eq!(loc.workspace_root, loc.crate_root);
}

#[test]
fn bad_inputs_have_distinct_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        SourceLocation::find(&dir.path().join("nope.rs")),
        Err(ProjectError::Missing(_))
    ));
    write(dir.path(), "notes.txt", "hi");
    assert!(matches!(
        SourceLocation::find(&dir.path().join("notes.txt")),
        Err(ProjectError::NotRust(_))
    ));
    write(dir.path(), "loose.rs", "fn f() {}");
    assert!(matches!(
        SourceLocation::find(&dir.path().join("loose.rs")),
        Err(ProjectError::NoCrate(_))
    ));
}
