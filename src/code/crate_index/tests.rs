#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use super::*;
use crate::code::list_fns;

fn write(root: &Path, relative: &str, text: &str) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn own(root: &Path) -> CrateSources {
    CrateSources {
        roots: vec![root.join("src/lib.rs")],
        shown_from: root.to_path_buf(),
        public_only: false,
    }
}

/// What the prompt gets for function `name` of `file` (module `module`).
fn definitions(index: &CrateIndex, file: &Path, module: &[&str], name: &str) -> String {
    let source = SourceFile::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
    let target: Vec<FnItem> = list_fns(&source)
        .into_iter()
        .filter(|f| f.qualified_name == name)
        .collect();
    assert_eq!(target.len(), 1, "{name}");
    let module: Vec<String> = module.iter().map(|m| m.to_string()).collect();
    index.definitions_for(&source, file, &module, &target, DEFINITIONS_BUDGET_CHARS)
}

/// semver's shape: `parse.rs` takes a `Position` defined in `error.rs`, imported by `use`.
fn semver_like(root: &Path) -> PathBuf {
    write(
        root,
        "src/lib.rs",
        "mod error;\nmod parse;\n\n/// A pre-release.\n#[derive(Debug, Clone, PartialEq, Eq)]\npub struct Prerelease {\n    identifier: String,\n}\n\nimpl Prerelease {\n    pub fn new(text: &str) -> Result<Self, error::Error> {\n        Ok(Prerelease { identifier: text.to_string() })\n    }\n    pub fn as_str(&self) -> &str {\n        &self.identifier\n    }\n}\n",
    );
    write(
        root,
        "src/error.rs",
        "#[derive(Debug)]\npub struct Error {\n    pub(crate) kind: ErrorKind,\n}\n\n#[derive(Debug)]\npub(crate) enum ErrorKind {\n    Empty,\n    Leading(Position),\n}\n\n/// Where in the version.\n#[derive(Copy, Clone, Eq, PartialEq, Debug)]\npub(crate) enum Position {\n    Major,\n    Minor,\n    Patch,\n}\n",
    );
    write(
        root,
        "src/parse.rs",
        "use crate::error::{Error, ErrorKind, Position};\nuse crate::Prerelease;\n\npub(crate) fn numeric_identifier(input: &str, pos: Position) -> Result<u64, Error> {\n    if input.is_empty() {\n        return Err(Error { kind: ErrorKind::Leading(pos) });\n    }\n    input.parse().map_err(|_| Error { kind: ErrorKind::Empty })\n}\n\npub(crate) fn pre(text: &str) -> Prerelease {\n    Prerelease::new(text).unwrap()\n}\n",
    )
}

#[test]
fn a_type_imported_from_another_file_comes_with_its_derives_and_variants() {
    let dir = tempfile::tempdir().unwrap();
    let parse = semver_like(dir.path());
    let index = CrateIndex::build(&own(dir.path()), Vec::new());
    let shown = definitions(&index, &parse, &["parse"], "numeric_identifier");
    assert!(shown.contains("// from src/error.rs"), "{shown}");
    assert!(
        shown.contains("#[derive(Copy, Clone, Eq, PartialEq, Debug)]\npub(crate) enum Position {"),
        "{shown}"
    );
    assert!(shown.contains("Patch,"), "{shown}");
    // Through the fields: `Error` holds an `ErrorKind`, which the function also names.
    assert!(shown.contains("pub(crate) enum ErrorKind"), "{shown}");
    // Docs cost tokens and say nothing about the shape.
    assert!(!shown.contains("Where in the version"), "{shown}");
    // Nothing of the target's own file is repeated.
    assert!(!shown.contains("numeric_identifier"), "{shown}");
}

#[test]
fn a_type_from_elsewhere_comes_with_its_constructors_not_its_methods() {
    let dir = tempfile::tempdir().unwrap();
    let parse = semver_like(dir.path());
    let index = CrateIndex::build(&own(dir.path()), Vec::new());
    let shown = definitions(&index, &parse, &["parse"], "pre");
    assert!(shown.contains("pub struct Prerelease"), "{shown}");
    assert!(
        shown.contains(
            "impl Prerelease {\n    pub fn new(text: &str) -> Result<Self, error::Error>;\n}"
        ),
        "{shown}"
    );
    assert!(!shown.contains("as_str"), "{shown}");
}

#[test]
fn a_name_two_modules_define_is_taken_from_the_use_line_or_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/lib.rs",
        "mod a;\nmod b;\nmod user;\nmod guess;\n",
    );
    write(dir.path(), "src/a.rs", "pub struct Point { pub x: i32 }\n");
    write(
        dir.path(),
        "src/b.rs",
        "pub struct Point { pub lat: f64 }\n",
    );
    let user = write(
        dir.path(),
        "src/user.rs",
        "use crate::b::Point;\n\npub fn north(p: Point) -> bool { p.lat > 0.0 }\n",
    );
    let guess = write(
        dir.path(),
        "src/guess.rs",
        "use crate::a::*;\nuse crate::b::*;\n\npub fn either(p: Point) -> Point { p }\n",
    );
    let index = CrateIndex::build(&own(dir.path()), Vec::new());
    let shown = definitions(&index, &user, &["user"], "north");
    assert!(shown.contains("pub lat: f64"), "{shown}");
    assert!(!shown.contains("pub x: i32"), "{shown}");
    // Two globs that both offer `Point`: rustc would call it ambiguous; so does the index.
    let shown = definitions(&index, &guess, &["guess"], "either");
    assert!(!shown.contains("struct Point"), "{shown}");
}

#[test]
fn a_path_dependency_gives_its_public_types_and_constructors() {
    let dir = tempfile::tempdir().unwrap();
    let member = dir.path().join("geo-types");
    write(
        &member,
        "Cargo.toml",
        "[package]\nname = \"geo-types\"\nversion = \"0.1.0\"\n",
    );
    write(
        &member,
        "src/lib.rs",
        "mod point;\npub use point::Point;\nstruct Hidden;\n",
    );
    write(
        &member,
        "src/point.rs",
        "#[derive(Debug, Clone, Copy, PartialEq)]\npub struct Point { pub x: f64, pub y: f64 }\n\nimpl Point {\n    pub fn new(x: f64, y: f64) -> Self { Point { x, y } }\n    fn private() -> Self { Point { x: 0.0, y: 0.0 } }\n}\n",
    );
    let user = dir.path().join("geo");
    let lib = write(
        &user,
        "src/lib.rs",
        "use geo_types::Point;\n\npub fn norm(p: Point) -> f64 { (p.x * p.x + p.y * p.y).sqrt() }\n",
    );
    let dependency = CrateSources {
        roots: vec![member.join("src/lib.rs")],
        shown_from: dir.path().to_path_buf(),
        public_only: true,
    };
    let index = CrateIndex::build(&own(&user), vec![("geo-types".to_string(), dependency)]);
    let shown = definitions(&index, &lib, &[], "norm");
    assert!(shown.contains("// from geo-types/src/point.rs"), "{shown}");
    assert!(
        shown.contains("pub struct Point { pub x: f64, pub y: f64 }"),
        "{shown}"
    );
    assert!(
        shown.contains("pub fn new(x: f64, y: f64) -> Self;"),
        "{shown}"
    );
    assert!(!shown.contains("private"), "{shown}");
}

#[test]
fn the_budget_bounds_what_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let parse = semver_like(dir.path());
    let index = CrateIndex::build(&own(dir.path()), Vec::new());
    let source = SourceFile::parse(&std::fs::read_to_string(&parse).unwrap()).unwrap();
    let targets = list_fns(&source);
    let module = vec!["parse".to_string()];
    let all = index.definitions_for(&source, &parse, &module, &targets, DEFINITIONS_BUDGET_CHARS);
    let small = index.definitions_for(&source, &parse, &module, &targets, 150);
    assert!(
        small.len() <= 150 + 40 && small.len() < all.len(),
        "{small}\n---\n{all}"
    );
}
