//! Copying the user's crate into the sandbox, and writing files into the copy.
//!
//! The copy is what untrusted code gets to see and break, so the user's real
//! tree is never touched after this. What the build needs is the manifest, the
//! lock file and the sources with whatever they `include_str!`; so skipped are
//! build output (`target/`), VCS data (`.git`), anything the crate's
//! `.gitignore` excludes, and dotenv files (`.env`, `.env.*`, `.envrc`) even
//! when not ignored: they are slow to copy, useless to cargo, and where secrets
//! live.
//!
//! Nothing in the copy reaches back out of the crate:
//! - every file is a copy (a new inode), so nothing the run writes lands in the
//!   user's file through a hard link;
//! - a file with other hard links outside the copy may *be* a secret placed in
//!   the crate (`ln ~/.aws/credentials notes.txt`): such a file is skipped with
//!   a note, unless it is Rust source or a manifest;
//! - a symlink is copied as a symlink: one that stays inside the crate points
//!   at the same place in the copy; one that points outside is kept as it is
//!   and noted, and the sandbox's read confinement makes it unreadable.

use std::fs::{self, File, FileTimes};
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path};

use crate::gitignore::{is_ignored, EntryKind, IgnoreFile};
use crate::{Error, Result};

/// Names skipped at the crate root regardless of `.gitignore`.
const ROOT_SKIPPED_DIRS: &[&str] = &["target"];
/// Names skipped at any depth regardless of `.gitignore` (`.git` may be a
/// file in worktrees and submodules).
const ALWAYS_SKIPPED: &[&str] = &[".git"];
/// Dotenv files: skipped at any depth, ignored by git or not.
fn is_dotenv(name: &str) -> bool {
    name == ".env" || name == ".envrc" || name.starts_with(".env.")
}
/// Files the build needs even when they are hard-linked elsewhere.
fn is_build_input(name: &str) -> bool {
    name.ends_with(".rs") || name == "Cargo.toml" || name == "Cargo.lock"
}
/// Permissions for files created by [`write_atomic`] that did not exist yet.
const NEW_FILE_MODE: u32 = 0o644;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies the crate at `src` into `dst` (which must exist), preserving file
/// mtimes so cargo's fingerprints computed against a shared target dir stay
/// valid. `Cargo.lock` is copied even when `.gitignore`d, because without it
/// cargo would re-resolve (and possibly need the network). Returns a note for
/// each entry left out or left pointing outside, for the user.
pub(crate) fn copy_crate(src: &Path, dst: &Path) -> Result<Vec<String>> {
    let manifest = src.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::NotACrate(src.to_path_buf()));
    }
    let mut copy = Copy {
        src_root: src,
        dst_root: dst,
        stack: Vec::new(),
        notes: Vec::new(),
    };
    copy.dir(Path::new(""))?;
    let lock = src.join("Cargo.lock");
    if lock.is_file() && !dst.join("Cargo.lock").exists() {
        copy_file(&lock, &dst.join("Cargo.lock"))?;
    }
    Ok(copy.notes)
}

/// One crate copy under way.
struct Copy<'a> {
    src_root: &'a Path,
    dst_root: &'a Path,
    /// The `.gitignore` files of the directory being copied and its ancestors.
    stack: Vec<IgnoreFile>,
    notes: Vec<String>,
}

impl Copy<'_> {
    /// Recursively copies `src_root/rel` to `dst_root/rel`.
    fn dir(&mut self, rel: &Path) -> Result<()> {
        let src_dir = self.src_root.join(rel);
        let pushed = match fs::read_to_string(src_dir.join(".gitignore")) {
            Ok(contents) => {
                self.stack
                    .push(IgnoreFile::parse(rel.to_path_buf(), &contents));
                true
            }
            Err(_) => false,
        };
        let entries = fs::read_dir(&src_dir).map_err(io_err(&src_dir))?;
        for entry in entries {
            let entry = entry.map_err(io_err(&src_dir))?;
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            if ALWAYS_SKIPPED.contains(&name_str.as_ref())
                || is_dotenv(&name_str)
                || (rel.as_os_str().is_empty() && ROOT_SKIPPED_DIRS.contains(&name_str.as_ref()))
            {
                continue;
            }
            let file_type = entry.file_type().map_err(io_err(&entry.path()))?;
            self.entry(&rel.join(&name), &name_str, file_type)?;
        }
        if pushed {
            self.stack.pop();
        }
        Ok(())
    }

    fn entry(&mut self, rel: &Path, name: &str, file_type: fs::FileType) -> Result<()> {
        let src_path = self.src_root.join(rel);
        let dst_path = self.dst_root.join(rel);
        if file_type.is_dir() {
            if !is_ignored(&self.stack, rel, EntryKind::Dir) {
                fs::create_dir(&dst_path).map_err(io_err(&dst_path))?;
                self.dir(rel)?;
            }
        } else if file_type.is_file() {
            if is_ignored(&self.stack, rel, EntryKind::File) {
                return Ok(());
            }
            let links = fs::metadata(&src_path).map_err(io_err(&src_path))?.nlink();
            if links > 1 && !is_build_input(name) {
                self.notes.push(format!(
                    "{} is not copied into the sandbox: it has {links} hard links, so it may be \
                     a file from outside the crate",
                    rel.display()
                ));
            } else {
                copy_file(&src_path, &dst_path)?;
            }
        } else if file_type.is_symlink() && !is_ignored(&self.stack, rel, EntryKind::File) {
            self.symlink(rel, &src_path, &dst_path)?;
        }
        // Sockets, FIFOs and devices are never useful to cargo: skipped.
        Ok(())
    }

    /// Copies a symlink as a symlink: into the crate, it points at the same place in the copy;
    /// out of it, it keeps its target, which the run cannot read.
    fn symlink(&mut self, rel: &Path, src_path: &Path, dst_path: &Path) -> Result<()> {
        let target = fs::read_link(src_path).map_err(io_err(src_path))?;
        let canonical_root = fs::canonicalize(self.src_root).map_err(io_err(self.src_root))?;
        let inside = fs::canonicalize(src_path).ok().and_then(|resolved| {
            resolved
                .strip_prefix(&canonical_root)
                .ok()
                .map(Path::to_path_buf)
        });
        let copied_target = match inside {
            // Relative from the link's own directory, so it resolves inside the copy.
            Some(inside) => relative_from(rel.parent().unwrap_or(Path::new("")), &inside),
            None => {
                self.notes.push(format!(
                    "{} links outside the crate ({}): the sandbox cannot read through it",
                    rel.display(),
                    target.display()
                ));
                target
            }
        };
        std::os::unix::fs::symlink(&copied_target, dst_path).map_err(io_err(dst_path))
    }
}

/// The relative path from directory `from` to `to`, both relative to one root.
fn relative_from(from: &Path, to: &Path) -> std::path::PathBuf {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut path = std::path::PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to_parts[common..] {
        path.push(part);
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// Copies contents and permissions, then restores the source's mtime/atime.
fn copy_file(src: &Path, dst: &Path) -> Result<()> {
    fs::copy(src, dst).map_err(io_err(src))?;
    let meta = fs::metadata(src).map_err(io_err(src))?;
    let mut times = FileTimes::new();
    if let Ok(modified) = meta.modified() {
        times = times.set_modified(modified);
    }
    if let Ok(accessed) = meta.accessed() {
        times = times.set_accessed(accessed);
    }
    // A read-only handle suffices: we own the file, and futimens with
    // explicit times only requires ownership (the copy may be read-only).
    File::open(dst)
        .and_then(|f| f.set_times(times))
        .map_err(io_err(dst))
}

/// Checks that `relative` is a plain relative path that stays inside the
/// copy: no root, no prefix, no `..`.
pub(crate) fn validate_relative(relative: &Path) -> Result<()> {
    let mut has_normal = false;
    for component in relative.components() {
        match component {
            Component::Normal(_) => has_normal = true,
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::PathEscapes(relative.to_path_buf()));
            }
        }
    }
    if has_normal {
        Ok(())
    } else {
        Err(Error::PathEscapes(relative.to_path_buf()))
    }
}

/// Writes `contents` to `root/relative` via a temp file and rename, so a
/// reader (or a cargo run after a crash) never sees a half-written file.
/// Returns whether it wrote: `false` when the file already held exactly these bytes.
///
/// Existing ancestors must be real directories, not symlinks: code that ran
/// in an earlier round could have planted `src -> /home/user` to make this
/// write land outside the copy.
pub(crate) fn write_atomic(root: &Path, relative: &Path, contents: &str) -> Result<bool> {
    validate_relative(relative)?;
    let dest = root.join(relative);
    let parent = dest
        .parent()
        .ok_or_else(|| Error::PathEscapes(relative.to_path_buf()))?;
    let mut current = root.to_path_buf();
    if let Some(rel_parent) = relative.parent() {
        for component in rel_parent.components() {
            if let Component::Normal(name) = component {
                current.push(name);
                match fs::symlink_metadata(&current) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        return Err(Error::PathEscapes(relative.to_path_buf()));
                    }
                    Ok(meta) if !meta.is_dir() => {
                        return Err(Error::Io {
                            path: current.clone(),
                            source: std::io::Error::other("not a directory"),
                        });
                    }
                    Ok(_) => {}
                    Err(_) => fs::create_dir(&current).map_err(io_err(&current))?,
                }
            }
        }
    }
    let existing = fs::symlink_metadata(&dest);
    if let Ok(meta) = &existing {
        // The same bytes again (a re-run, a mutant round, a model resending its code): the file
        // keeps its mtime, so cargo finds the build fresh instead of compiling it again. Safe,
        // since what cargo would build from it is exactly what it built before.
        if meta.is_file()
            && meta.len() == contents.len() as u64
            && fs::read(&dest).is_ok_and(|bytes| bytes == contents.as_bytes())
        {
            return Ok(false);
        }
    }
    let permissions = match existing {
        Ok(meta) if meta.is_file() => meta.permissions(),
        _ => std::os::unix::fs::PermissionsExt::from_mode(NEW_FILE_MODE),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io_err(parent))?;
    tmp.write_all(contents.as_bytes())
        .and_then(|()| tmp.as_file().sync_data())
        .and_then(|()| tmp.as_file().set_permissions(permissions))
        .map_err(io_err(&dest))?;
    // `rename` replaces a symlink at `dest` rather than following it.
    tmp.persist(&dest).map_err(|e| Error::Io {
        path: dest.clone(),
        source: e.error,
    })?;
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_escapes_and_absolute_paths() {
        assert!(validate_relative(Path::new("../x")).is_err());
        assert!(validate_relative(Path::new("src/../../x")).is_err());
        assert!(validate_relative(Path::new("/etc/passwd")).is_err());
        assert!(validate_relative(Path::new("")).is_err());
        assert!(validate_relative(Path::new(".")).is_err());
        assert!(validate_relative(Path::new("src/lib.rs")).is_ok());
        assert!(validate_relative(Path::new("./tests/a.rs")).is_ok());
    }

    #[test]
    fn writing_the_same_bytes_leaves_the_file_and_its_mtime_alone() {
        let dir = tempfile::tempdir().unwrap();
        let rel = Path::new("src/lib.rs");
        assert!(write_atomic(dir.path(), rel, "fn a() {}\n").unwrap());
        let file = dir.path().join(rel);
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(!write_atomic(dir.path(), rel, "fn a() {}\n").unwrap());
        let mtime = |f: &Path| fs::metadata(f).unwrap().modified().unwrap();
        assert_eq!(mtime(&file), old);
        assert!(write_atomic(dir.path(), rel, "fn b() {}\n").unwrap());
        assert_ne!(mtime(&file), old);
        assert_eq!(fs::read_to_string(&file).unwrap(), "fn b() {}\n");
    }

    #[test]
    fn write_atomic_creates_parents_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), Path::new("tests/new/a.rs"), "one").unwrap();
        write_atomic(dir.path(), Path::new("tests/new/a.rs"), "two").unwrap();
        let path = dir.path().join("tests/new/a.rs");
        assert_eq!(fs::read_to_string(path).unwrap(), "two");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("tests/new"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "temp files left behind");
    }

    #[test]
    fn write_atomic_refuses_symlinked_parent() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("src")).unwrap();
        let err = write_atomic(dir.path(), Path::new("src/lib.rs"), "x");
        assert!(matches!(err, Err(Error::PathEscapes(_))), "{err:?}");
        assert!(!outside.path().join("lib.rs").exists());
    }

    #[test]
    fn relative_paths_between_dirs_of_one_tree() {
        let rel = |from: &str, to: &str| relative_from(Path::new(from), Path::new(to));
        assert_eq!(rel("", "src/lib.rs"), Path::new("src/lib.rs"));
        assert_eq!(rel("data", "src/lib.rs"), Path::new("../src/lib.rs"));
        assert_eq!(rel("a/b", "a/c"), Path::new("../c"));
        assert_eq!(rel("a", "a"), Path::new("."));
    }

    #[test]
    fn copy_requires_a_manifest() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let err = copy_crate(src.path(), dst.path());
        assert!(matches!(err, Err(Error::NotACrate(_))), "{err:?}");
    }
}
