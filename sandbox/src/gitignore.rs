//! A minimal `.gitignore` matcher, enough to keep build junk, secrets and big
//! data directories out of the sandbox copy.
//!
//! Why not the `ignore` crate: we only need the pattern language (not git
//! config, global excludes or parallel walking), and keeping the dependency
//! tree small matters for a crate whose job is to run untrusted code.
//!
//! Supported: comments, blank lines, `!` negation, trailing `/` (directories
//! only), anchoring by a leading or inner `/`, `*`, `?`, `**`, `[...]` classes
//! and backslash escapes; one `.gitignore` per directory, scoped to that
//! directory, with deeper files taking precedence. Not supported:
//! `.git/info/exclude`, `core.excludesFile`, and a parent repository's
//! `.gitignore` above the crate root.

use std::path::{Path, PathBuf};

/// One parsed pattern line.
#[derive(Debug, Clone)]
struct Pattern {
    glob: Vec<u8>,
    negated: bool,
    dir_only: bool,
    /// Anchored patterns match the whole path relative to the `.gitignore`'s
    /// directory; unanchored ones match the file name at any depth.
    anchored: bool,
}

/// The patterns of one `.gitignore` file.
#[derive(Debug, Clone)]
pub(crate) struct IgnoreFile {
    /// Directory holding the `.gitignore`, relative to the crate root.
    base: PathBuf,
    patterns: Vec<Pattern>,
}

/// Whether the path being checked is a directory (dir-only patterns need it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    File,
}

impl IgnoreFile {
    pub(crate) fn parse(base: PathBuf, contents: &str) -> Self {
        let patterns = contents.lines().filter_map(parse_line).collect();
        Self { base, patterns }
    }
}

fn parse_line(line: &str) -> Option<Pattern> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // Trailing spaces are ignored unless escaped with a backslash.
    let mut text = line.trim_end_matches(' ');
    if text.ends_with('\\') && line.len() > text.len() {
        text = &line[..text.len() + 1];
    }
    let (negated, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (dir_only, text) = match text.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let anchored = text.contains('/');
    let text = text.strip_prefix('/').unwrap_or(text);
    if text.is_empty() {
        return None;
    }
    Some(Pattern {
        glob: text.as_bytes().to_vec(),
        negated,
        dir_only,
        anchored,
    })
}

/// Decides whether `relative` (a path relative to the crate root, using the
/// stack of `.gitignore` files from the root down to its parent directory) is
/// ignored. Later patterns and deeper files win, as in git.
pub(crate) fn is_ignored(stack: &[IgnoreFile], relative: &Path, kind: EntryKind) -> bool {
    let mut ignored = false;
    for file in stack {
        let Ok(rel) = relative.strip_prefix(&file.base) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        for pattern in &file.patterns {
            if pattern.dir_only && kind != EntryKind::Dir {
                continue;
            }
            let subject = if pattern.anchored { rel.as_ref() } else { name };
            if glob_match(&pattern.glob, subject.as_bytes()) {
                ignored = !pattern.negated;
            }
        }
    }
    ignored
}

/// Glob matching with git's rules: `*` and `?` never cross `/`, `**` does,
/// and `**/` may match zero directories.
fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    match pat.first() {
        None => text.is_empty(),
        Some(b'*') if pat.get(1) == Some(&b'*') => {
            let mut rest = &pat[2..];
            while rest.first() == Some(&b'*') {
                rest = &rest[1..];
            }
            if let Some(after_slash) = rest.strip_prefix(b"/") {
                // `**/x`: zero directories, or any prefix ending in `/`.
                if glob_match(after_slash, text) {
                    return true;
                }
                return (0..text.len())
                    .filter(|&i| text[i] == b'/')
                    .any(|i| glob_match(after_slash, &text[i + 1..]));
            }
            (0..=text.len()).any(|i| glob_match(rest, &text[i..]))
        }
        Some(b'*') => {
            let rest = &pat[1..];
            for i in 0..=text.len() {
                if glob_match(rest, &text[i..]) {
                    return true;
                }
                if text.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some(b'?') => match text.first() {
            Some(&c) if c != b'/' => glob_match(&pat[1..], &text[1..]),
            _ => false,
        },
        Some(b'[') => match (text.first(), parse_class(&pat[1..])) {
            (Some(&c), Some((matches, consumed))) if c != b'/' => {
                matches(c) && glob_match(&pat[1 + consumed..], &text[1..])
            }
            // An unterminated class is matched literally, like git.
            (Some(&c), None) => c == b'[' && glob_match(&pat[1..], &text[1..]),
            _ => false,
        },
        Some(b'\\') if pat.len() > 1 => {
            text.first() == Some(&pat[1]) && glob_match(&pat[2..], &text[1..])
        }
        Some(&c) => text.first() == Some(&c) && glob_match(&pat[1..], &text[1..]),
    }
}

/// Parses a class body (after `[`). Returns a matcher and the bytes consumed
/// including the closing `]`.
fn parse_class(body: &[u8]) -> Option<(impl Fn(u8) -> bool, usize)> {
    let (negated, start) = match body.first() {
        Some(b'!') | Some(b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut ranges: Vec<(u8, u8)> = Vec::new();
    let mut i = start;
    loop {
        let c = *body.get(i)?;
        // A `]` right at the start is a literal member.
        if c == b']' && i > start {
            break;
        }
        let (lo, next) = if c == b'\\' {
            (*body.get(i + 1)?, i + 2)
        } else {
            (c, i + 1)
        };
        if body.get(next) == Some(&b'-') && body.get(next + 1).is_some_and(|&b| b != b']') {
            let hi = *body.get(next + 1)?;
            ranges.push((lo, hi));
            i = next + 2;
        } else {
            ranges.push((lo, lo));
            i = next;
        }
    }
    let matcher = move |c: u8| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negated;
    Some((matcher, i + 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn root(contents: &str) -> Vec<IgnoreFile> {
        vec![IgnoreFile::parse(PathBuf::new(), contents)]
    }

    fn file_ignored(stack: &[IgnoreFile], path: &str) -> bool {
        is_ignored(stack, Path::new(path), EntryKind::File)
    }

    fn dir_ignored(stack: &[IgnoreFile], path: &str) -> bool {
        is_ignored(stack, Path::new(path), EntryKind::Dir)
    }

    #[test]
    fn simple_names_match_at_any_depth() {
        let s = root("*.log\nsecret.txt\n# comment\n\n");
        assert!(file_ignored(&s, "a.log"));
        assert!(file_ignored(&s, "deep/dir/b.log"));
        assert!(file_ignored(&s, "x/secret.txt"));
        assert!(!file_ignored(&s, "a.logx"));
        assert!(!file_ignored(&s, "src/lib.rs"));
    }

    #[test]
    fn dir_only_patterns_skip_files() {
        let s = root("build/\n");
        assert!(dir_ignored(&s, "build"));
        assert!(dir_ignored(&s, "sub/build"));
        assert!(!file_ignored(&s, "build"));
    }

    #[test]
    fn anchored_patterns_match_from_the_base() {
        let s = root("/data\nsrc/gen/*.rs\n");
        assert!(dir_ignored(&s, "data"));
        assert!(!dir_ignored(&s, "src/data"));
        assert!(file_ignored(&s, "src/gen/a.rs"));
        assert!(!file_ignored(&s, "src/gen/sub/a.rs"));
        assert!(!file_ignored(&s, "other/src/gen/a.rs"));
    }

    #[test]
    fn double_star_crosses_directories() {
        let s = root("**/cache\nlogs/**/*.txt\n");
        assert!(dir_ignored(&s, "cache"));
        assert!(dir_ignored(&s, "a/b/cache"));
        assert!(file_ignored(&s, "logs/x.txt"));
        assert!(file_ignored(&s, "logs/a/b/x.txt"));
        assert!(!file_ignored(&s, "other/x.txt"));
    }

    #[test]
    fn negation_reincludes_and_last_match_wins() {
        let s = root("*.env\n!example.env\n");
        assert!(file_ignored(&s, "prod.env"));
        assert!(!file_ignored(&s, "example.env"));
    }

    #[test]
    fn classes_and_question_marks() {
        let s = root("file[0-9].txt\n?.tmp\n[!a]b\n");
        assert!(file_ignored(&s, "file7.txt"));
        assert!(!file_ignored(&s, "fileX.txt"));
        assert!(file_ignored(&s, "x.tmp"));
        assert!(!file_ignored(&s, "xy.tmp"));
        assert!(file_ignored(&s, "cb"));
        assert!(!file_ignored(&s, "ab"));
    }

    #[test]
    fn nested_gitignore_is_scoped_and_overrides() {
        let stack = vec![
            IgnoreFile::parse(PathBuf::new(), "*.dat\n"),
            IgnoreFile::parse(PathBuf::from("keep"), "!*.dat\nlocal\n"),
        ];
        assert!(file_ignored(&stack, "a.dat"));
        assert!(!file_ignored(&stack, "keep/a.dat"));
        assert!(file_ignored(&stack, "keep/local"));
        assert!(!file_ignored(&stack, "local"));
    }

    #[test]
    fn escapes_and_trailing_spaces() {
        let s = root("\\#notcomment\nspaced   \n\\!bang\n");
        assert!(file_ignored(&s, "#notcomment"));
        assert!(file_ignored(&s, "spaced"));
        assert!(file_ignored(&s, "!bang"));
    }
}
