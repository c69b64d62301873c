//! The staged content: which Rust files the commit changes, their text in the index and at
//! HEAD, and a checkout of the whole index to build the sandbox from. The working tree is never
//! read here, so unstaged edits neither leak into the check nor get touched.

use std::path::Path;

use super::{git, HookError, Result};

/// One staged Rust file: its text in the index and, if it existed, at HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// Relative to the top of the working tree, with `/`.
    pub path: String,
    pub staged: String,
    pub head: Option<String>,
}

/// The `.rs` files the commit adds, copies, modifies or renames (deletions need no tests),
/// limited to `only` when the caller named files (pre-commit passes them). One git process.
pub fn changed_rust_files(only: &[String]) -> Result<Vec<String>> {
    let out = git::output(&[
        "diff",
        "--cached",
        "--name-only",
        "-z",
        "--diff-filter=ACMR",
    ])?;
    let wanted: Vec<&str> = only
        .iter()
        .map(|f| f.strip_prefix("./").unwrap_or(f))
        .collect();
    Ok(out
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .filter(|name| name.ends_with(".rs"))
        .filter(|name| wanted.is_empty() || wanted.contains(&name.as_str()))
        .collect())
}

/// The index and HEAD versions of `paths`, read with one `git cat-file --batch`.
pub fn read(paths: &[String]) -> Result<Vec<StagedFile>> {
    let mut request = String::new();
    for path in paths {
        // `:path` is the index (stage 0); both forms are relative to the top of the tree.
        request.push_str(&format!(":{path}\nHEAD:{path}\n"));
    }
    let out = git::output_with_input(&["cat-file", "--batch"], Some(request.as_bytes()))?;
    let mut blobs = BatchReader { out: &out, at: 0 };
    let mut files = Vec::new();
    for path in paths {
        let staged = blobs.next_blob()?.ok_or_else(|| HookError::Git {
            command: "cat-file --batch".to_string(),
            message: format!("{path} is not in the index"),
        })?;
        let head = blobs.next_blob()?;
        files.push(StagedFile {
            path: path.clone(),
            staged,
            head,
        });
    }
    Ok(files)
}

/// Reads `<oid> blob <size>\n<content>\n` or `<name> missing\n` records.
struct BatchReader<'a> {
    out: &'a [u8],
    at: usize,
}

impl BatchReader<'_> {
    fn next_blob(&mut self) -> Result<Option<String>> {
        let malformed = || HookError::Git {
            command: "cat-file --batch".to_string(),
            message: "unexpected output".to_string(),
        };
        let rest = &self.out[self.at..];
        let line_end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(malformed)?;
        let header = String::from_utf8_lossy(&rest[..line_end]).into_owned();
        self.at += line_end + 1;
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            return Ok(None);
        }
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(malformed)?;
        let body = self
            .out
            .get(self.at..self.at + size)
            .ok_or_else(malformed)?;
        self.at += size + 1;
        Ok(Some(String::from_utf8_lossy(body).into_owned()))
    }
}

/// Writes every file of the index into `dir` (emptied first): the tree being committed, which
/// the sandbox copies. A fixed place under the git dir keeps the per-crate build cache warm
/// from one commit to the next.
pub fn checkout_index(dir: &Path) -> Result<()> {
    let io = |source| HookError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    let prefix = format!("--prefix={}/", dir.display());
    git::output(&["checkout-index", "--all", "--force", &prefix])?;
    Ok(())
}
