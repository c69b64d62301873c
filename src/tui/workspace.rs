//! The crate on disk as the TUI shows it: its Rust files, and for an open file its items with
//! what they lack (its outline). Read-only; writing goes through `diff::apply` after a review.

use std::path::{Path, PathBuf};

use crate::code::{self, SourceFile};

/// Enough for any crate a person browses in a list; a monorepo root gets a clear cut-off.
const MAX_LISTED_FILES: usize = 5_000;
/// Started in a home directory by mistake, kiln must still open promptly.
const MAX_VISITED_DIRS: usize = 20_000;
/// Directories that never hold the user's sources.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// A function as a row of the item list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub name: String,
    /// 0-based lines of the whole item, for the code view.
    pub lines: std::ops::Range<usize>,
    pub no_tests: bool,
    pub no_docs: bool,
    pub hole: bool,
}

#[derive(Debug, Clone)]
pub struct OpenFile {
    /// Relative to the browsed root, for display and task titles.
    pub relative: PathBuf,
    pub path: PathBuf,
    pub text: String,
    pub items: Vec<ItemRow>,
    /// Why no items are listed (the file does not parse, e.g. mid-edit).
    pub problem: Option<String>,
}

/// `.rs` files under `root`, relative and sorted; hidden, build and unreadable directories are
/// skipped.
pub fn list_rs_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        visited += 1;
        if visited > MAX_VISITED_DIRS {
            break;
        }
        // An unreadable subdirectory is skipped; only an unreadable root is an error.
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if dir == root => return Err(e),
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_ref()) {
                continue;
            }
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                if found.len() >= MAX_LISTED_FILES {
                    pending.clear();
                    break;
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The file at `relative`, read but not yet outlined: its items come from [`outline`], which
/// parses it (tens of milliseconds on a 10,000-line file, so the TUI runs it off the draw path).
pub fn read(root: &Path, relative: &Path) -> Result<OpenFile, String> {
    let path = root.join(relative);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", relative.display()))?;
    Ok(OpenFile {
        relative: relative.to_path_buf(),
        path,
        text,
        items: Vec::new(),
        problem: None,
    })
}

/// The items of `text` (the file at `relative`), or why there are none.
pub fn outline(relative: &Path, text: &str) -> (Vec<ItemRow>, Option<String>) {
    match SourceFile::parse(text) {
        Ok(source) => (items(&source), None),
        Err(e) => (Vec::new(), Some(format!("{}:{e}", relative.display()))),
    }
}

fn items(source: &SourceFile) -> Vec<ItemRow> {
    let text = source.text();
    // One pass over the text: counting newlines again for every item was quadratic, 190 ms of a
    // 10,000-line file's first frame.
    let newlines: Vec<usize> = text.match_indices('\n').map(|(at, _)| at).collect();
    let line_of = |byte: usize| newlines.partition_point(|&at| at < byte);
    code::list_fns(source)
        .into_iter()
        .map(|f| {
            let body = text.get(f.byte_range.clone()).unwrap_or("");
            ItemRow {
                lines: line_of(f.byte_range.start)..line_of(f.byte_range.end) + 1,
                no_tests: !f.has_tests && !f.is_test_code,
                no_docs: f.doc.is_none() && !f.is_test_code,
                hole: body.contains("todo!("),
                name: f.qualified_name,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn lists_sources_and_marks_what_items_lack() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("target/debug")).unwrap();
        std::fs::write(dir.path().join("target/debug/build.rs"), "").unwrap();
        let lib = "/// Adds.\npub fn add(a: u8, b: u8) -> u8 {\n    a + b\n}\n\nfn later() {\n    todo!()\n}\n\n#[test]\nfn adds() {\n    assert_eq!(add(1, 1), 2);\n}\n";
        std::fs::write(dir.path().join("src/lib.rs"), lib).unwrap();
        std::fs::write(dir.path().join("src/broken.rs"), "fn (").unwrap();

        let files = list_rs_files(dir.path()).unwrap();
        assert_eq!(
            files,
            vec![PathBuf::from("src/broken.rs"), PathBuf::from("src/lib.rs")]
        );

        let open_lib = read(dir.path(), Path::new("src/lib.rs")).unwrap();
        let (items, problem) = outline(&open_lib.relative, &open_lib.text);
        assert_eq!(problem, None);
        let names: Vec<(&str, bool, bool, bool)> = items
            .iter()
            .map(|i| (i.name.as_str(), i.no_tests, i.no_docs, i.hole))
            .collect();
        assert_eq!(
            names,
            vec![
                ("add", false, false, false),
                ("later", true, true, true),
                ("adds", false, false, false)
            ]
        );
        assert_eq!(items[0].lines, 0..4);

        let broken = read(dir.path(), Path::new("src/broken.rs")).unwrap();
        let (items, problem) = outline(&broken.relative, &broken.text);
        assert!(items.is_empty());
        assert!(problem.unwrap().starts_with("src/broken.rs:1:"));
    }
}
