//! Atomic apply: write a temp file beside the target, then rename it over. A reader (or a crash)
//! sees the old file or the new one, never half of each. The file must still hold exactly what
//! kiln read; if the user edited it meanwhile, nothing is written.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "{0} changed since kiln read it; nothing was written. Re-run kiln on the new version."
    )]
    ChangedSinceRead(PathBuf),
    #[error("{0} is read-only; nothing was written. Make it writable (chmod u+w) to apply.")]
    ReadOnly(PathBuf),
    #[error("{0} is in a directory you cannot write; nothing was written.")]
    DirectoryNotWritable(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Whether kiln may replace `path`, refused as git or an editor would refuse it: a file without
/// write permission (the rename that replaces it would ignore its mode, root's included), or one
/// in a directory the user cannot write (the rename needs that). Checked before any model work
/// and again at apply.
pub fn check_writable(path: &Path) -> Result<(), ApplyError> {
    let metadata = std::fs::metadata(path).map_err(|source| ApplyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.permissions().readonly() || !accessible(path, libc::W_OK) {
        return Err(ApplyError::ReadOnly(path.to_path_buf()));
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    if !accessible(dir, libc::W_OK | libc::X_OK) {
        return Err(ApplyError::DirectoryNotWritable(path.to_path_buf()));
    }
    Ok(())
}

/// access(2): the kernel's answer for this user, which sees ACLs and read-only mounts too.
fn accessible(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads a NUL-terminated string we own.
    unsafe { libc::access(c_path.as_ptr(), mode) == 0 }
}

pub fn apply(path: &Path, expected: &str, new_text: &str) -> Result<(), ApplyError> {
    let io_error = |source| ApplyError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_writable(path)?;
    let ensure_unchanged = || -> Result<(), ApplyError> {
        let current = std::fs::read(path).map_err(io_error)?;
        if current != expected.as_bytes() {
            return Err(ApplyError::ChangedSinceRead(path.to_path_buf()));
        }
        Ok(())
    };
    ensure_unchanged()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let permissions = std::fs::metadata(path).map_err(io_error)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".kiln-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error)?;
    temp.write_all(new_text.as_bytes()).map_err(io_error)?;
    temp.as_file().sync_all().map_err(io_error)?;
    std::fs::set_permissions(temp.path(), permissions).map_err(io_error)?;
    // Checked again right before the rename to keep the window for a lost edit as small as it gets.
    ensure_unchanged()?;
    temp.persist(path).map_err(|e| io_error(e.error))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn applies_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        apply(&path, "old\n", "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file may be left behind");
    }

    #[test]
    fn refuses_a_read_only_file_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = apply(&path, "old\n", "new\n").unwrap_err();
        assert!(matches!(err, ApplyError::ReadOnly(_)), "{err}");
        assert!(err.to_string().contains("lib.rs is read-only"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn refuses_when_the_file_changed_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        std::fs::write(&path, "edited by the user\n").unwrap();
        let err = apply(&path, "old\n", "new\n").unwrap_err();
        assert!(matches!(err, ApplyError::ChangedSinceRead(_)));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "edited by the user\n"
        );
    }
}
