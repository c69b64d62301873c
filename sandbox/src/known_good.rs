//! Whether the untouched crate is known to build: the untouched build of a crate whose copy is
//! exactly as it was the last time that build passed will pass again, so a caller can overlap it
//! with other work instead of waiting for it (the build is then a fingerprint check).
//!
//! The record is one file in the shared build cache: a fingerprint of every copied file (path,
//! size, modification time; the lockfile by content) and of the caller's cargo arguments, written when the untouched build
//! passes and removed when it fails. What it cannot see (a toolchain update, an environment
//! variable a build script reads) can still make the build fail; the caller must still check the
//! build's result, it only need not wait for it.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

const RECORD: &str = ".kiln-untouched-builds";

/// The fingerprint of the copy at `crate_dir` built with `cargo_args`; `None` if it cannot be
/// read whole.
pub(crate) fn fingerprint(crate_dir: &Path, cargo_args: &[String]) -> Option<String> {
    let mut files = Vec::new();
    let mut pending = vec![crate_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()? {
            let entry = entry.ok()?;
            let meta = entry.path().symlink_metadata().ok()?;
            if meta.is_dir() {
                pending.push(entry.path());
                continue;
            }
            let relative = entry.path().strip_prefix(crate_dir).ok()?.to_path_buf();
            // The copy keeps every source's mtime, but a lockfile `cargo fetch` wrote into the
            // copy is new each time: it counts by its content.
            let stamp = match relative
                .file_name()
                .is_some_and(|name| name == "Cargo.lock")
            {
                true => Stamp::Content(std::fs::read(entry.path()).ok()?),
                false => Stamp::Modified(meta.len(), meta.modified().ok()?),
            };
            files.push((relative, stamp));
        }
    }
    files.sort();
    // `DefaultHasher::new` is the same hash in every process of one kiln build, which is all a
    // cache record needs (a different hash after an upgrade only costs one wait).
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut hasher);
    cargo_args.hash(&mut hasher);
    Some(format!("{:016x}", hasher.finish()))
}

#[derive(Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
enum Stamp {
    Modified(u64, std::time::SystemTime),
    Content(Vec<u8>),
}

fn record(target_dir: &Path) -> PathBuf {
    target_dir.join(RECORD)
}

/// Whether the untouched build passed for exactly this `fingerprint`.
pub(crate) fn is_known_good(target_dir: &Path, fingerprint: &str) -> bool {
    std::fs::read_to_string(record(target_dir))
        .is_ok_and(|text| text.lines().any(|line| line == fingerprint))
}

/// Records the untouched build's result for `fingerprint`: kept when it passed, dropped when it
/// failed. A few fingerprints are kept, so switching features back and forth stays known.
pub(crate) fn remember(target_dir: &Path, fingerprint: &str, passed: bool) {
    const KEPT: usize = 8;
    let text = std::fs::read_to_string(record(target_dir)).unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().filter(|line| *line != fingerprint).collect();
    if passed {
        lines.push(fingerprint);
    }
    let start = lines.len().saturating_sub(KEPT);
    let mut kept = lines[start..].join("\n");
    kept.push('\n');
    // Best effort: without the record the next run only waits for its build.
    let temp = record(target_dir).with_extension("tmp");
    if std::fs::write(&temp, kept).is_ok() {
        let _ = std::fs::rename(&temp, record(target_dir));
    }
}
