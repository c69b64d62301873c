//! Proposals the hook could not (or was not asked to) write: saved as patches under
//! `<git-dir>/kiln/`, applied later with `kiln apply PATCH`. The header records a hash of the
//! text the patch was made from, so apply refuses a file that has changed since, exactly like
//! the one-shot commands' atomic apply.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::slow_path::Proposed;
use super::{git, HookError, Result};
use crate::diff::{self, Colour};

const FILE_HEADER: &str = "# kiln-file: ";
const HASH_HEADER: &str = "# kiln-original-sha256: ";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes the patch for the proposal's file (relative to the top of the tree) into `dir`,
/// replacing an older one for the same file, and returns its path. Its header says what it
/// holds and what validation found (the notes, one `#` line each). Atomically (a temp file
/// renamed over it): a hook killed while saving leaves the old patch or the new one, never half
/// of one.
pub fn save(dir: &Path, proposed: &Proposed) -> Result<PathBuf> {
    let Proposed {
        file,
        summary,
        notes,
        original,
        new_text,
    } = proposed;
    let path = dir.join(format!("{}.patch", file.replace('/', "__")));
    let io = |source| HookError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let notes: String = notes.iter().map(|n| format!("# {n}\n")).collect();
    let text = format!(
        "# kiln proposal: {summary}\n{notes}{FILE_HEADER}{file}\n{HASH_HEADER}{}\n{}",
        sha256_hex(original),
        diff::unified(file, original, new_text, Colour::Never)
    );
    let mut temp = tempfile::Builder::new()
        .prefix(".kiln-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.persist(&path).map_err(|e| io(e.error))?;
    Ok(path)
}

/// `kiln apply PATCH`: applies a saved proposal to the working tree, atomically, only if the
/// file still holds the text the patch was made from. The patch is removed once applied.
pub fn apply(patch: &Path) -> Result<PathBuf> {
    let bad = |message: &str| HookError::BadPatch(patch.to_path_buf(), message.to_string());
    let text = std::fs::read_to_string(patch).map_err(|source| HookError::Io {
        path: patch.to_path_buf(),
        source,
    })?;
    let header = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("no `{}` line", prefix.trim())))
    };
    let file = header(FILE_HEADER)?;
    let expected_hash = header(HASH_HEADER)?;
    let target = git::top_level()?.join(&file);
    let current = std::fs::read_to_string(&target).map_err(|source| HookError::Io {
        path: target.clone(),
        source,
    })?;
    if sha256_hex(&current) != expected_hash {
        return Err(diff::ApplyError::ChangedSinceRead(target).into());
    }
    let new_text = apply_hunks(&current, &text).map_err(|m| bad(&m))?;
    diff::apply(&target, &current, &new_text)?;
    let _ = std::fs::remove_file(patch);
    Ok(target)
}

/// Applies the unified diff in `patch` to `original`, checking every context and removed line.
fn apply_hunks(original: &str, patch: &str) -> std::result::Result<String, String> {
    let old: Vec<&str> = original.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next_old = 0;
    let mut in_hunks = false;
    // Whether the previous patch line wrote a line to `out` (a removed line does not).
    let mut wrote_last = false;
    for line in patch.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("@@ -") {
            in_hunks = true;
            let start: usize = header
                .split([',', ' '])
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad hunk header {}", line.trim_end()))?;
            // `-0,0` is an insertion into an empty file; otherwise lines are 1-based.
            let hunk_start = start.saturating_sub(1).max(next_old);
            let skipped = old
                .get(next_old..hunk_start)
                .ok_or("a hunk starts past the end of the file")?;
            out.extend(skipped.iter().copied());
            next_old = hunk_start;
            wrote_last = false;
        } else if !in_hunks {
            // The kiln header and the `---`/`+++` labels.
            continue;
        } else if let Some(added) = line.strip_prefix('+') {
            out.push_str(added);
            wrote_last = true;
        } else if let Some(kept) = line.strip_prefix([' ', '-']) {
            let actual = old
                .get(next_old)
                .ok_or("the patch runs past the end of the file")?;
            if actual.trim_end_matches('\n') != kept.trim_end_matches('\n') {
                return Err(format!("line {} does not match the patch", next_old + 1));
            }
            wrote_last = line.starts_with(' ');
            if wrote_last {
                out.push_str(actual);
            }
            next_old += 1;
        } else if line.starts_with('\\') && wrote_last && out.ends_with('\n') {
            // "\ No newline at end of file" belongs to the line before it.
            out.pop();
        }
    }
    out.extend(old.get(next_old..).unwrap_or_default().iter().copied());
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn round_trip(old: &str, new: &str) {
        let patch = diff::unified("f.rs", old, new, Colour::Never);
        assert_eq!(apply_hunks(old, &patch).unwrap(), new, "{patch}");
    }

    #[test]
    fn unified_diffs_apply_back_to_the_new_text() {
        let long: String = (1..40).map(|n| format!("line {n}\n")).collect();
        round_trip("a\nb\n", "a\nb\n#[cfg(test)]\nmod tests {}\n");
        round_trip(
            &long,
            &long.replace("line 3\n", "").replace("line 30\n", "x\ny\n"),
        );
        round_trip("", "fn f() {}\n");
        round_trip("no newline", "no newline\nmore");
        round_trip("a\nb", "a\nc\n");
    }

    #[test]
    fn a_patch_for_other_text_is_refused() {
        let patch = diff::unified("f.rs", "a\nb\n", "a\nc\n", Colour::Never);
        assert!(apply_hunks("a\nz\n", &patch).is_err());
    }
}
