//! Whether the untouched crate is known to build: the untouched build of a crate whose copy is
//! exactly as it was the last time that build passed will pass again, so a caller can overlap it
//! with other work instead of waiting for it (the build is then a fingerprint check). And whether
//! a copy's dependencies were fetched: a copy whose manifests, lockfile and cargo configs are
//! those of a fetch that succeeded needs no `cargo fetch` before its runs.
//!
//! Each record is one file in the shared build cache. The untouched builds' fingerprint is of
//! every copied file (path, size, modification time; the lockfile by content) and of the
//! caller's cargo arguments, written when the untouched build passes and removed when it fails;
//! the dependencies' fingerprint is of the files that decide what cargo needs, by content. What
//! they cannot see (a toolchain update, an environment variable a build script reads, a crate
//! removed from cargo's registry) can still make the build fail; the caller must still check the
//! build's result, it only need not wait for it.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

const UNTOUCHED_BUILDS: &str = ".kiln-untouched-builds";
const FETCHED_DEPENDENCIES: &str = ".kiln-fetched-dependencies";

/// A copy's two fingerprints, taken in one walk of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprints {
    /// Every file, by size and modification time (the lockfile by content), and the caller's
    /// cargo arguments: what an untouched build that passed is remembered by.
    pub(crate) all_files: String,
    /// The files that decide which dependencies cargo needs (every `Cargo.toml`, the lockfile,
    /// cargo's configs), by content: what a fetch that succeeded is remembered by. `cargo
    /// fetch` fetches every dependency whatever the features, so the arguments do not count.
    pub(crate) dependencies: String,
}

/// The fingerprints of the copy at `crate_dir`, built with `cargo_args`; `None` if it cannot be
/// read whole.
pub(crate) fn fingerprints(crate_dir: &Path, cargo_args: &[String]) -> Option<Fingerprints> {
    let mut files = Vec::new();
    let mut manifests = Vec::new();
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
            let name = relative.file_name().and_then(|name| name.to_str());
            let lockfile = name == Some("Cargo.lock");
            let decides_dependencies = lockfile
                || name == Some("Cargo.toml")
                || relative.parent().is_some_and(|dir| dir.ends_with(".cargo"));
            let content = match decides_dependencies {
                true => Some(std::fs::read(entry.path()).ok()?),
                false => None,
            };
            // The copy keeps every source's mtime, but a lockfile `cargo fetch` wrote into the
            // copy is new each time: it counts by its content.
            let stamp = match (lockfile, &content) {
                (true, Some(content)) => Stamp::Content(content.clone()),
                _ => Stamp::Modified(meta.len(), meta.modified().ok()?),
            };
            if let Some(content) = content {
                manifests.push((relative.clone(), Stamp::Content(content)));
            }
            files.push((relative, stamp));
        }
    }
    // `DefaultHasher::new` is the same hash in every process of one kiln build, which is all a
    // cache record needs (a different hash after an upgrade only costs one wait).
    let hash = |mut stamps: Vec<(PathBuf, Stamp)>, cargo_args: &[String]| {
        stamps.sort();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        stamps.hash(&mut hasher);
        cargo_args.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    };
    Some(Fingerprints {
        all_files: hash(files, cargo_args),
        dependencies: hash(manifests, &[]),
    })
}

#[derive(Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
enum Stamp {
    Modified(u64, std::time::SystemTime),
    Content(Vec<u8>),
}

/// A few fingerprints remembered in one file of the shared build cache.
pub(crate) struct Record(PathBuf);

impl Record {
    /// The copies whose untouched build passed.
    pub(crate) fn untouched_builds(target_dir: &Path) -> Record {
        Record(target_dir.join(UNTOUCHED_BUILDS))
    }

    /// The dependency sets (see [`Covering::Dependencies`]) a `cargo fetch` made available.
    pub(crate) fn fetched_dependencies(target_dir: &Path) -> Record {
        Record(target_dir.join(FETCHED_DEPENDENCIES))
    }

    /// Whether `fingerprint` is remembered.
    pub(crate) fn holds(&self, fingerprint: &str) -> bool {
        std::fs::read_to_string(&self.0)
            .is_ok_and(|text| text.lines().any(|line| line == fingerprint))
    }

    /// Remembers `fingerprint` (`held`) or forgets it. A few are kept, so switching features
    /// back and forth stays known.
    pub(crate) fn set(&self, fingerprint: &str, held: bool) {
        const KEPT: usize = 8;
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        let mut lines: Vec<&str> = text.lines().filter(|line| *line != fingerprint).collect();
        if held {
            lines.push(fingerprint);
        }
        let start = lines.len().saturating_sub(KEPT);
        let mut kept = lines[start..].join("\n");
        kept.push('\n');
        // Best effort: without the record the next run only waits for its build or its fetch.
        let temp = self.0.with_extension("tmp");
        if std::fs::write(&temp, kept).is_ok() {
            let _ = std::fs::rename(&temp, &self.0);
        }
    }
}
